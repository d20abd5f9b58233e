"""Performance statistics of a finished backtest: the specification in code.

`compute_stats` turns the equity curve of a backtest (one value per bar, at the bar's close)
into a flat dictionary of floats. The Rust backend computes the same numbers and must agree
with this module within 1e-12 relative, so every accumulation below is an explicit loop over
the bars in ascending order, in IEEE-754 double precision, with the operations in the order
written here. No `sum()` over floats and no numpy reduction is used for the arithmetic:
pairwise or vectorised summation would round differently. numpy only converts the inputs.

Notation
--------
T       number of bars (timestamps), T >= 1.
C       ``initial_cash``, the equity before the first bar (C > 0).
E[i]    ``equity[i]``, the account equity at the close of bar i, i = 0 .. T-1.
P       ``periods_per_year``: bars per year, given or inferred by `infer_periods_per_year`.
n       number of returns; n = T (the first return is measured against C).
acc     a running float sum, started at 0.0 and added to term by term for i = 0, 1, ... in
        order: ``acc = acc + term``. "mean(x)" below means this loop followed by ``acc / n``.

Ruin (non-positive equity)
--------------------------
A margin account can be wiped out: E[i] <= 0. Let k be the first bar with E[k] <= 0. From k on
the account is *ruined*: every statistic that follows the curve uses the effective equity

    e[i] = E[i]   for i < k,        e[i] = 0.0   for i >= k

whatever E does afterwards (there is nothing left to compound). With no ruin, e = E. The
reported ``final_equity``, ``total_return`` and ``turnover`` use the real values E; everything
else uses e. Nothing raises and nothing takes a logarithm, so the statistics stay defined.

Extreme curves
--------------
The equity is finite (the engine stops a run whose equity leaves the float range), but a curve
may still span it: a return of 1e300 / 1e-300 overflows to inf, and the moments that follow
are inf or NaN. They are kept as IEEE arithmetic gives them, the same bits on both backends;
only ``cagr`` catches the overflow of ``pow`` (+inf). An equity that underflows to 0 is a ruin.

Formulas (each is computed exactly as written, left to right)
-------------------------------------------------------------
Returns, one per bar::

    r[0] = e[0] / C - 1.0
    r[i] = e[i] / e[i-1] - 1.0            for i >= 1 with e[i-1] > 0
    r[i] = 0.0                            for i > k (after ruin; avoids 0 / 0)

so the ruin bar has r[k] = -1.0 exactly and the returns after it are 0.0.

Moments (two passes over r)::

    mean   = (acc of r[i]) / n
    std    = sqrt((acc of (r[i] - mean) * (r[i] - mean)) / (n - 1))    sample, ddof = 1
           = 0.0 exactly when every r[i] equals r[0] (the same rule as empyrical: the
             rounding residue of the mean must not turn an infinite ratio into a finite one)
    std    = NaN when n < 2
    dsq    = (acc of m * m with m = min(r[i], 0.0)) / n                 downside second moment

Statistics::

    start_equity      = C
    final_equity      = E[T-1]
    total_return      = E[T-1] / C - 1.0                 (can be below -1 after a ruin)
    cagr              = pow(e[T-1] / C, P / n) - 1.0     (empyrical annual_return)
                        = -1.0 after a ruin (pow(0, x) = 0); +inf if pow overflows
    annual_volatility = std * sqrt(P)                    NaN when n < 2
    sharpe_ratio      = (mean / std) * sqrt(P)           risk-free rate 0;
                        NaN when n < 2 or std == 0 (empyrical gives +-inf for std == 0)
    downside_risk     = sqrt(dsq) * sqrt(P)              (not returned)
    sortino_ratio     = (mean * P) / downside_risk       required return 0; NaN when n < 2;
                        when downside_risk == 0 (no losing bar) the IEEE quotient is kept,
                        as in empyrical: +inf if mean > 0, NaN if mean == 0
    peak[i]           = max(C, e[0], ..., e[i])          (running, C included)
    dd[i]             = (e[i] - peak[i]) / peak[i]       (<= 0)
    max_drawdown      = min(0.0, dd[0], ..., dd[T-1])    a negative fraction, 0.0 if never
                                                         under water; -1.0 after a ruin
    max_drawdown_duration = the longest run of consecutive bars with e[i] < peak[i-1]
                        (strictly below the peak before the bar, peak[-1] = C), in bars
    calmar_ratio      = cagr / abs(max_drawdown)         NaN when max_drawdown == 0, and NaN
                                                         when the quotient is infinite
                                                         (both as in empyrical)
    n_trades          = len(trade_pnls)
    win_rate          = (number of pnl > 0) / n_trades   a pnl of exactly 0 is not a win;
                                                         NaN when n_trades == 0
    gross_profit      = acc of pnl over pnl > 0          (trade order)
    gross_loss        = acc of -pnl over pnl < 0         (trade order, positive)
    profit_factor     = gross_profit / gross_loss        NaN when n_trades == 0;
                        gross_loss == 0: +inf if gross_profit > 0, NaN if it is 0 too
    exposure          = bars_in_market / T
    average_equity    = (acc of E[i]) / T                (real equity, every bar)
    turnover          = traded_value / average_equity    NaN when average_equity <= 0
    periods_per_year  = P

Every value in the returned dictionary is a Python float, including the whole numbers
``n_trades`` and ``max_drawdown_duration``, so the dictionary has one type throughout.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from quanta_ref.bars import as_series, as_timestamps
from quanta_ref.errors import ConfigError, DataError

NS_PER_DAY = 86_400_000_000_000
"""Nanoseconds in one calendar day."""

STAT_KEYS = (
    "start_equity",
    "final_equity",
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar_ratio",
    "win_rate",
    "profit_factor",
    "n_trades",
    "exposure",
    "turnover",
    "periods_per_year",
)
"""The keys of the dictionary returned by `compute_stats`, in order."""

_NAN = float("nan")
_INF = float("inf")


# ------------------------------------------------------------------------------ validation
def _as_timestamps(timestamps: Any) -> np.ndarray:
    """Validate timestamps and return them as a 1-D int64 nanosecond array.

    Accepts what `Bars` accepts (`bars.as_timestamps`), except that integers are taken as
    nanoseconds as they are: these are a result's timestamps, so the data-entry rule that
    refuses integers all in 1970 does not apply. They must be strictly ascending (which also
    makes them unique).
    """
    try:
        arr = np.asarray(timestamps)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"timestamps: cannot read as an array ({exc})") from None
    if arr.dtype.kind == "i":
        arr = arr.astype("datetime64[ns]")  # still range-checked: int64 min is NaT
    arr = as_timestamps(arr)
    # Neighbours compared, not np.diff, which wraps for steps of more than 292 years.
    bad = arr[1:] <= arr[:-1]
    if bad.any():
        i = int(np.argmax(bad)) + 1
        raise DataError(
            f"timestamps: not strictly ascending at position {i} "
            f"({np.datetime64(int(arr[i - 1]), 'ns')} then "
            f"{np.datetime64(int(arr[i]), 'ns')})"
        )
    return arr


def _positive_finite(name: str, value: Any) -> float:
    """`value` as a float that is finite and > 0, else a `ConfigError` naming `name`."""
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name}: expected a positive number, got {value!r}") from None
    if not math.isfinite(out) or out <= 0.0:
        raise ConfigError(f"{name}: expected a finite number > 0, got {value!r}")
    return out


# ------------------------------------------------------------------------------ frequency
def _weekday(day: np.ndarray) -> np.ndarray:
    """Weekday (Monday = 0 ... Sunday = 6) of day numbers counted from 1970-01-01."""
    # 1970-01-01 was a Thursday (weekday 3); numpy's % is non-negative for a positive divisor.
    return (day + 3) % 7


def infer_periods_per_year(timestamps: np.ndarray) -> float:
    """Guess the number of bars per year from the bar timestamps.

    Parameters
    ----------
    timestamps : numpy.ndarray
        int64 nanoseconds (or datetime64), exchange-local wall-clock time, strictly ascending.

    Returns
    -------
    float
        Bars per year, by the median spacing ``s`` of consecutive timestamps:

        * fewer than 2 timestamps: 252.0;
        * ``s >= 360`` days: 1.0; ``s >= 85`` days: 4.0; ``s >= 28`` days: 12.0;
          ``s >= 5`` days: 52.0;
        * ``1 <= s < 5`` days (daily bars): 252.0, or 365.0 when more than 10% of the
          timestamps fall on a Saturday or Sunday (markets that trade every day, e.g. crypto);
        * ``s < 1`` day (intraday): the median number of bars per calendar day (day number =
          ``floor(ts / 86_400e9)``, counting only days that have bars) times 252.0, or times
          365.0 when more than 10% of those distinct days are Saturdays or Sundays.

        The median is numpy's: the middle value of the sorted values, or the mean of the two
        middle values for an even count; a step too long for an int64 (more than 292 years)
        counts as the largest int64. "More than 10%" is tested exactly in integers as
        ``10 * weekend_count > total``.

    Raises
    ------
    DataError
        If the timestamps are not a 1-D ascending array of int64 / datetime64 values.
    """
    ts = _as_timestamps(timestamps)
    if ts.size < 2:
        return 252.0
    # Steps that do not fit an int64 (more than 292 years) wrap to negative: take them as
    # the largest int64 instead.
    steps = np.diff(ts)
    steps[steps < 0] = np.iinfo(np.int64).max
    median_step = float(np.median(steps))
    day = float(NS_PER_DAY)
    if median_step >= 360.0 * day:
        return 1.0
    if median_step >= 85.0 * day:
        return 4.0
    if median_step >= 28.0 * day:
        return 12.0
    if median_step >= 5.0 * day:
        return 52.0
    days = ts // NS_PER_DAY  # floor division: days before 1970 are negative, still floored
    if median_step >= day:
        weekend = int(np.count_nonzero(_weekday(days) >= 5))
        return 365.0 if 10 * weekend > ts.size else 252.0
    distinct_days, bars_per_day = np.unique(days, return_counts=True)
    weekend = int(np.count_nonzero(_weekday(distinct_days) >= 5))
    days_per_year = 365.0 if 10 * weekend > distinct_days.size else 252.0
    return float(np.median(bars_per_day)) * days_per_year


def checked_inputs(
    timestamps: Any,
    equity: Any,
    initial_cash: Any,
    trade_pnls: Any,
    traded_value: Any,
    bars_in_market: Any,
    periods_per_year: Any,
) -> tuple[np.ndarray, np.ndarray, float, float | None, list[float], float, int]:
    """The inputs of `compute_stats`, checked in order (the first failing check decides the
    error) and converted: (timestamps, equity, initial_cash, periods_per_year or None,
    trade pnls, traded_value, bars_in_market). Both backends call this."""
    if np.iscomplexobj(equity):  # numpy would only warn and drop the imaginary part
        raise DataError("equity: expected real numbers, got complex values")
    eq_arr = as_series("equity", equity)
    if eq_arr.size == 0:
        raise DataError("equity: empty (a backtest has at least one bar)")
    ts = _as_timestamps(timestamps)
    if ts.size != eq_arr.size:
        raise DataError(f"equity: length {eq_arr.size} does not match {ts.size} timestamps")
    bad = ~np.isfinite(eq_arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"equity: non-finite value {eq_arr[i]} at bar {i} ({np.datetime64(int(ts[i]), 'ns')})"
        )
    cash = _positive_finite("initial_cash", initial_cash)
    ppy = (
        None if periods_per_year is None else _positive_finite("periods_per_year", periods_per_year)
    )

    pnls: list[float] = []
    try:
        given = list(trade_pnls)
    except TypeError:
        raise DataError(f"trade_pnls: expected a list of numbers, got {trade_pnls!r}") from None
    for j, p in enumerate(given):
        try:
            value = float(p)
        except (TypeError, ValueError, OverflowError):
            raise DataError(f"trade_pnls: trade {j} is not a number ({p!r})") from None
        if not math.isfinite(value):
            raise DataError(f"trade_pnls: non-finite pnl {value} for trade {j}")
        pnls.append(value)
    try:
        traded = float(traded_value)
    except (TypeError, ValueError, OverflowError):
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
    return ts, eq_arr, cash, ppy, pnls, traded, in_market


# ------------------------------------------------------------------------------ statistics
def compute_stats(
    timestamps: np.ndarray,
    equity: np.ndarray,
    initial_cash: float,
    *,
    trade_pnls: Sequence[float],
    traded_value: float,
    bars_in_market: int,
    periods_per_year: float | None = None,
) -> dict[str, float]:
    """Summary statistics of an equity curve and its closed trades.

    The formulas, their order of evaluation and every edge case are written out in the
    module docstring; this function follows them line by line.

    Parameters
    ----------
    timestamps : numpy.ndarray
        int64 nanoseconds (or datetime64), shape (T,), strictly ascending, T >= 1.
    equity : numpy.ndarray
        float64, shape (T,): the account equity at each bar's close. Must be finite; it may be
        zero or negative (a ruined margin account, see "Ruin" in the module docstring).
    initial_cash : float
        The equity before the first bar; finite and > 0.
    trade_pnls : sequence of float
        Realised profit or loss of every closed trade, in the order the trades closed.
    traded_value : float
        Total absolute traded notional over the backtest (finite, >= 0).
    bars_in_market : int
        Number of bars with an open position, 0 <= bars_in_market <= T.
    periods_per_year : float, optional
        Bars per year for annualisation; inferred with `infer_periods_per_year` when None.

    Returns
    -------
    dict[str, float]
        The keys of `STAT_KEYS`, in that order, every value a Python float.

    Raises
    ------
    DataError
        If `equity` is not 1-D, is empty, does not match the length of `timestamps`, or holds
        a NaN or infinity; if the timestamps are malformed; if a trade pnl is not finite,
        `traded_value` is negative or not finite, or `bars_in_market` is not a whole number
        between 0 and T.
    ConfigError
        If `initial_cash` or a given `periods_per_year` is not a finite number > 0.
    """
    # ---- inputs ---------------------------------------------------------------------
    ts, eq_arr, cash, ppy, pnls, traded, in_market = checked_inputs(
        timestamps, equity, initial_cash, trade_pnls, traded_value, bars_in_market, periods_per_year
    )
    if ppy is None:
        ppy = infer_periods_per_year(ts)
    n_bars = int(eq_arr.size)

    # Python floats are IEEE-754 doubles, the same as Rust's f64.
    real: list[float] = eq_arr.tolist()

    # ---- effective equity: zero from the first non-positive value on (ruin) -------------
    eff: list[float] = []
    ruined = False
    for value in real:
        if ruined or value <= 0.0:
            ruined = True
            eff.append(0.0)
        else:
            eff.append(value)

    # ---- returns ------------------------------------------------------------------------
    returns: list[float] = []
    prev = cash
    for value in eff:
        if prev > 0.0:
            returns.append(value / prev - 1.0)
        else:
            returns.append(0.0)  # already ruined: 0 / 0 would be undefined
        prev = value
    n = len(returns)

    # ---- moments ------------------------------------------------------------------------
    acc = 0.0
    for x in returns:
        acc = acc + x
    mean = acc / n

    if n < 2:
        std = _NAN
    else:
        constant = True
        for x in returns:
            if x != returns[0]:
                constant = False
                break
        if constant:
            std = 0.0
        else:
            acc = 0.0
            for x in returns:
                d = x - mean
                acc = acc + d * d
            std = math.sqrt(acc / (n - 1))

    acc = 0.0
    for x in returns:
        m = min(x, 0.0)
        acc = acc + m * m
    downside_second_moment = acc / n

    sqrt_ppy = math.sqrt(ppy)
    annual_volatility = std * sqrt_ppy  # NaN stays NaN

    if n < 2 or std == 0.0:
        sharpe = _NAN
    else:
        sharpe = (mean / std) * sqrt_ppy

    if n < 2:
        sortino = _NAN
    else:
        downside_risk = math.sqrt(downside_second_moment) * sqrt_ppy
        numerator = mean * ppy
        if downside_risk == 0.0:
            # IEEE x / 0: the sign of x, or NaN for 0 / 0 (what numpy gives empyrical).
            sortino = _NAN if numerator == 0.0 else math.copysign(_INF, numerator)
        else:
            sortino = numerator / downside_risk

    # ---- growth -------------------------------------------------------------------------
    final_real = real[-1]
    total_return = final_real / cash - 1.0
    growth = eff[-1] / cash
    try:
        cagr = math.pow(growth, ppy / n) - 1.0
    except OverflowError:
        cagr = _INF

    # ---- drawdown -----------------------------------------------------------------------
    peak = cash
    max_dd = 0.0
    run = 0
    longest = 0
    for value in eff:
        if value < peak:  # strictly below the peak before this bar
            run += 1
            longest = max(longest, run)
        else:
            run = 0
        peak = max(peak, value)
        dd = (value - peak) / peak
        max_dd = min(max_dd, dd)

    if max_dd == 0.0:
        calmar = _NAN
    else:
        calmar = cagr / abs(max_dd)
        if math.isinf(calmar):
            calmar = _NAN

    # ---- trades -------------------------------------------------------------------------
    n_trades = len(pnls)
    wins = 0
    gross_profit = 0.0
    gross_loss = 0.0
    for p in pnls:
        if p > 0.0:
            wins += 1
            gross_profit = gross_profit + p
        elif p < 0.0:
            gross_loss = gross_loss + (-p)
    if n_trades == 0:
        win_rate = _NAN
        profit_factor = _NAN
    else:
        win_rate = wins / n_trades
        if gross_loss > 0.0:
            profit_factor = gross_profit / gross_loss
        elif gross_profit > 0.0:
            profit_factor = _INF
        else:
            profit_factor = _NAN

    # ---- activity -----------------------------------------------------------------------
    exposure = in_market / n_bars
    acc = 0.0
    for value in real:
        acc = acc + value
    average_equity = acc / n_bars
    turnover = traded / average_equity if average_equity > 0.0 else _NAN

    stats = {
        "start_equity": cash,
        "final_equity": final_real,
        "total_return": total_return,
        "cagr": cagr,
        "annual_volatility": annual_volatility,
        "sharpe_ratio": sharpe,
        "sortino_ratio": sortino,
        "max_drawdown": max_dd,
        "max_drawdown_duration": float(longest),
        "calmar_ratio": calmar,
        "win_rate": win_rate,
        "profit_factor": profit_factor,
        "n_trades": float(n_trades),
        "exposure": exposure,
        "turnover": turnover,
        "periods_per_year": ppy,
    }
    return {key: float(stats[key]) for key in STAT_KEYS}
