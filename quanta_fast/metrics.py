"""Performance statistics of a finished backtest, computed by the Rust core.

The same functions as `quanta_ref.metrics` (which documents them and is the specification),
with the same signatures, the same validation (the reference's own checks, so the same error
classes and messages) and, after validation, the same numbers: the Rust code follows the
reference's order of floating-point operations and gives bit-identical results.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from quanta_fast import _quanta_fast
from quanta_ref.bars import as_series
from quanta_ref.errors import DataError
from quanta_ref.metrics import STAT_KEYS, _as_timestamps, _positive_finite

__all__ = ["STAT_KEYS", "compute_stats", "infer_periods_per_year"]


def infer_periods_per_year(timestamps: Any) -> float:
    """Bars per year from the timestamps; see `quanta_ref.metrics.infer_periods_per_year`."""
    return _quanta_fast.infer_periods_per_year(_as_timestamps(timestamps))


def compute_stats(timestamps: Any, equity: Any, initial_cash: float, *,
                  trade_pnls: Sequence[float], traded_value: float, bars_in_market: int,
                  periods_per_year: float | None = None) -> dict[str, float]:
    """Summary statistics of an equity curve; see `quanta_ref.metrics.compute_stats`."""
    # The checks below are the reference's, in the reference's order: the first failing one
    # decides the error. Those without a helper in quanta_ref.metrics are repeated verbatim
    # (tests/test_metrics_fast.py compares class and message with the reference's).
    eq_arr = as_series("equity", equity)
    if eq_arr.size == 0:
        raise DataError("equity: empty (a backtest has at least one bar)")
    ts = _as_timestamps(timestamps)
    if ts.size != eq_arr.size:
        raise DataError(f"equity: length {eq_arr.size} does not match {ts.size} timestamps")
    bad = ~np.isfinite(eq_arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(f"equity: non-finite value {eq_arr[i]} at bar {i} "
                        f"({np.datetime64(int(ts[i]), 'ns')})")
    cash = _positive_finite("initial_cash", initial_cash)
    ppy = None if periods_per_year is None else _positive_finite("periods_per_year",
                                                                  periods_per_year)
    pnls: list[float] = []
    for j, p in enumerate(trade_pnls):
        try:
            value = float(p)
        except (TypeError, ValueError):
            raise DataError(f"trade_pnls: trade {j} is not a number ({p!r})") from None
        if not math.isfinite(value):
            raise DataError(f"trade_pnls: non-finite pnl {value} for trade {j}")
        pnls.append(value)
    try:
        traded = float(traded_value)
    except (TypeError, ValueError):
        raise DataError(f"traded_value: expected a number, got {traded_value!r}") from None
    if not math.isfinite(traded) or traded < 0.0:
        raise DataError(f"traded_value: expected a finite number >= 0, got {traded_value!r}")
    try:
        in_market = operator.index(bars_in_market)
    except TypeError:
        raise DataError(f"bars_in_market: expected an integer, got {bars_in_market!r}") from None
    n_bars = int(eq_arr.size)
    if in_market < 0 or in_market > n_bars:
        raise DataError(f"bars_in_market: {in_market} is outside 0..{n_bars} (the bar count)")

    # The native side views the arrays without copying; it needs them contiguous.
    return _quanta_fast.compute_stats(
        ts, np.ascontiguousarray(eq_arr), cash,
        trade_pnls=np.array(pnls, dtype=np.float64), traded_value=traded,
        bars_in_market=in_market, periods_per_year=ppy)
