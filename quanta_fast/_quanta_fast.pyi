# Hand-written stub of the native module built from rust/quanta-py. It is the contract of the
# private native surface: keep it in step with the #[pymodule] in rust/quanta-py/src/lib.rs,
# and check it with `python -m mypy.stubtest quanta_fast._quanta_fast`.

from typing import Any, final

import numpy as np
from numpy.typing import NDArray

__all__ = ["version", "__version__", "Engine", "Context", "Bar", "_debug_panic", "compute_stats",
           "infer_periods_per_year"]

__version__: str
"""Version of the extension crate (the workspace version in rust/Cargo.toml)."""

def version() -> str:
    """Version of the Rust engine core, `quanta_core::version()`."""

# ---------------------------------------------------------------- the engine (engine.rs)
def _debug_panic() -> None:
    """Panics inside the engine's panic guard (raises QuantaError); for the test suite."""

@final
class Engine:
    """Validated settings (`EngineConfig.as_dict()`); `run` drives one backtest."""

    def __new__(cls, settings: dict[str, Any]) -> Engine: ...
    def run(self, bars: Any, glue: Any, on_start: Any, on_bar: Any, on_fill: Any,
            on_order: Any, on_end: Any) -> Context:
        """Run over a `quanta_ref.Bars` panel; returns the finished context."""

@final
class Bar:
    """One bar as `on_bar` sees it (the fields of `quanta_ref.events.BarEvent`)."""

    @property
    def timestamp(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...

@final
class Context:
    """The `ctx` of a native run; see `quanta_ref.api.Context`."""

    def submit_order(self, symbol: Any, side: Any, quantity: Any, order_type: Any = "market",
                     limit_price: Any = None, stop_price: Any = None,
                     time_in_force: Any = "gtc") -> int: ...
    def buy(self, symbol: Any, quantity: Any, order_type: Any = "market", limit_price: Any = None,
            stop_price: Any = None, time_in_force: Any = "gtc") -> int: ...
    def sell(self, symbol: Any, quantity: Any, order_type: Any = "market", limit_price: Any = None,
             stop_price: Any = None, time_in_force: Any = "gtc") -> int: ...
    def cancel(self, order_id: Any) -> bool: ...
    def order_target_quantity(self, symbol: Any, quantity: Any,
                              time_in_force: Any = "gtc") -> int: ...
    def order_target_percent(self, symbol: Any, weight: Any,
                             time_in_force: Any = "gtc") -> int: ...
    def open_orders(self) -> list[Any]: ...
    def get_order(self, order_id: Any) -> Any: ...
    def position(self, symbol: Any) -> float: ...
    def get_position(self, symbol: Any) -> Any: ...
    @property
    def cash(self) -> float: ...
    @property
    def equity(self) -> float: ...
    @property
    def now(self) -> int | None: ...
    @property
    def bar_index(self) -> int: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    def history(self, symbol: Any, field: Any = "close", length: Any = None) -> Any: ...
    def signal(self, name: Any, value: Any, symbol: Any = None) -> None: ...
    def _take_equity(self) -> NDArray[np.float64]: ...
    def _take_cash(self) -> NDArray[np.float64]: ...
    def _fills(self) -> list[Any]: ...
    def _orders(self) -> list[Any]: ...
    def _trades(self) -> list[Any]: ...
    def _signals(self) -> list[Any]: ...
    def _stats(self, timestamps: NDArray[np.int64]) -> dict[str, float]: ...
    def _totals(self) -> tuple[int, float, float, float]: ...

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
