# Hand-written stub of the native module built from rust/quanta-py. It is the contract of the
# private native surface: keep it in step with the #[pymodule] in rust/quanta-py/src/lib.rs,
# and check it with `python -m mypy.stubtest quanta_fast._quanta_fast`.

import numpy as np
from numpy.typing import NDArray

__all__ = ["version", "__version__", "compute_stats", "infer_periods_per_year"]

__version__: str
"""Version of the extension crate (the workspace version in rust/Cargo.toml)."""

def version() -> str:
    """Version of the Rust engine core, `quanta_core::version()`."""

# ---------------------------------------------------------------------------------- metrics
# rust/quanta-py/src/metrics.rs over quanta_core::metrics. The inputs must already be valid
# (quanta_fast.metrics checks them with the reference's messages); only an empty or mismatched
# equity curve, or a non-contiguous array, is refused here, with quanta_ref.errors.DataError.

def infer_periods_per_year(timestamps: NDArray[np.int64]) -> float:
    """Bars per year from strictly ascending int64 nanosecond timestamps."""

def compute_stats(
    timestamps: NDArray[np.int64],
    equity: NDArray[np.float64],
    initial_cash: float,
    *,
    trade_pnls: NDArray[np.float64],
    traded_value: float,
    bars_in_market: int,
    periods_per_year: float | None = None,
) -> dict[str, float]:
    """The statistics of quanta_ref.metrics.compute_stats, keys in STAT_KEYS order."""
