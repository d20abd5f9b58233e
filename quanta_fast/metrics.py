"""Performance statistics of a finished backtest, computed by the Rust core.

The same functions as `quanta_ref.metrics` (which documents them and is the specification),
with the same signatures, the same validation (the reference's own checks, so the same error
classes and messages) and, after validation, the same numbers: the Rust code follows the
reference's order of floating-point operations and gives bit-identical results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from quanta_fast import _quanta_fast
from quanta_ref.metrics import STAT_KEYS, _as_timestamps, checked_inputs

__all__ = ["STAT_KEYS", "compute_stats", "infer_periods_per_year"]


def infer_periods_per_year(timestamps: Any) -> float:
    """Bars per year from the timestamps; see `quanta_ref.metrics.infer_periods_per_year`."""
    return _quanta_fast.infer_periods_per_year(_as_timestamps(timestamps))


def compute_stats(
    timestamps: Any,
    equity: Any,
    initial_cash: float,
    *,
    trade_pnls: Sequence[float],
    traded_value: float,
    bars_in_market: int,
    periods_per_year: float | None = None,
) -> dict[str, float]:
    """Summary statistics of an equity curve; see `quanta_ref.metrics.compute_stats`."""
    ts, eq_arr, cash, ppy, pnls, traded, in_market = checked_inputs(
        timestamps, equity, initial_cash, trade_pnls, traded_value, bars_in_market, periods_per_year
    )
    # The native side views the arrays without copying; it needs them contiguous and aligned.
    return _quanta_fast.compute_stats(
        ts,
        np.require(eq_arr, np.float64, ["C", "A"]),
        cash,
        trade_pnls=np.array(pnls, dtype=np.float64),
        traded_value=traded,
        bars_in_market=in_market,
        periods_per_year=ppy,
    )
