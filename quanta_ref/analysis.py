"""A finished run as data a user can use: pandas frames and series, the buy-and-hold
benchmark, the extended statistics and their labels (docs/semantics.md, "Reading a result").

Everything here reads a `BacktestResult` only (its timestamps, equity, fills, orders, trades,
positions, stats, rejections, bars and settings), so one piece of code serves every backend
and the same run gives the same frames and statistics whichever engine ran it. Nothing here
changes a rule of the engine.

Times are the exchange's wall time as stored (int64 ns, no time zone) and come out as
``datetime64[ns]``; symbols, sides, order types and statuses come out as strings. pandas is
imported only by the functions that build frames (``pip install quanta[pandas]``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from quanta_ref import costs
from quanta_ref.bars import Bars, format_timestamp
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError
from quanta_ref.metrics import NS_PER_DAY, STAT_KEYS
from quanta_ref.orders import ORDER_FIELDS, Order


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is in the dev extra
        raise ImportError(
            "pandas is needed for frames and series of a result: pip install quanta[pandas]"
        ) from None
    return pd


def datetimes(timestamps: Any) -> np.ndarray:
    """int64 ns timestamps (or None for "never") as ``datetime64[ns]`` (NaT for None)."""
    array = np.asarray(timestamps)
    if array.dtype == np.int64:  # a result's own times: no None to replace, no copy
        return array.view("datetime64[ns]")
    values = [np.iinfo(np.int64).min if t is None else t for t in array.tolist()]
    return np.asarray(values, dtype=np.int64).view("datetime64[ns]")


def check_result(result: Any, *fields: str) -> None:
    """ConfigError naming `result` unless it has `fields` (and timestamps, equity and stats),
    as a `BacktestResult` (or a `WalkForwardResult`, for its curves) has."""
    missing = [f for f in ("timestamps", "equity", "stats", *fields) if not hasattr(result, f)]
    if missing:
        raise ConfigError(
            f"result: expected a BacktestResult, got {type(result).__name__} "
            f"(without {', '.join(missing)})"
        )


def time_index(result: Any) -> Any:
    """The result's timestamps as a `pandas.DatetimeIndex` named ``timestamp``."""
    check_result(result)
    pd = _pandas()
    return pd.DatetimeIndex(datetimes(result.timestamps), name="timestamp")


# ================================================================================ curves
def effective_equity(equity: np.ndarray) -> np.ndarray:
    """The equity curve with every value from the first non-positive one on set to 0.0: the
    ruin rule of `quanta_ref.metrics` (a wiped-out account has nothing left to compound)."""
    eff = np.array(equity, dtype=np.float64)
    ruined = np.flatnonzero(eff <= 0.0)
    if ruined.size:
        eff[ruined[0] :] = 0.0
    return eff


def bar_returns(equity: np.ndarray, initial_cash: float) -> np.ndarray:
    """One return per bar, as `quanta_ref.metrics` defines them: ``e[0] / C - 1``, then
    ``e[i] / e[i-1] - 1``, and 0.0 after a ruin."""
    eff = effective_equity(equity)
    before = np.concatenate(([initial_cash], eff[:-1]))
    out = np.zeros_like(eff)
    alive = before > 0.0
    with np.errstate(over="ignore"):  # a curve spanning the float range: inf, as metrics
        out[alive] = eff[alive] / before[alive] - 1.0
    return out


def drawdown_curve(equity: np.ndarray, initial_cash: float) -> np.ndarray:
    """``(e[i] - peak[i]) / peak[i]`` with ``peak[i] = max(C, e[0], ..., e[i])``: 0.0 at a new
    high, -0.25 a quarter under the best equity so far (`quanta_ref.metrics`)."""
    eff = effective_equity(equity)
    peak = np.maximum.accumulate(np.concatenate(([initial_cash], eff)))[1:]
    with np.errstate(over="ignore", under="ignore"):
        return (eff - peak) / peak


def buy_and_hold_equity(bars: Bars, config: EngineConfig) -> np.ndarray:
    """The equity of buying the whole universe in equal parts and holding it.

    The initial cash is split equally over the symbols of `bars`. Each part buys its symbol
    at the close of the symbol's first bar, moved against the buyer by the run's slippage
    model as a market fill is (and kept inside the bar's range), paying the run's commission
    model (the symbol's own, `EngineConfig.instruments`, when it has one) and the buy levies
    (``buy_tax_rate`` plus ``transfer_fee_rate``) out of the part, at
    the rates in force on the first bar's day; the quantity is fractional (no lots) so that
    the whole part is invested. A slippage model that depends on the quantity
    (`SquareRootImpact`, a callable) sees the quantity the part buys at the unslipped close,
    as a target order does; a commission model other than `PerValue` (no closed form) is
    solved for the largest quantity the part pays for, by bisection. Callable models are
    called here too. A part waits as
    cash until its symbol's first bar, and stays cash if the symbol never trades or the part
    does not cover the minimum commission. Nothing is ever sold, so no sell tax is paid: each
    holding is valued at its last close, as the run's own positions are. A symbol with a
    contract multiplier (`EngineConfig.instruments`) is bought fully paid: a unit costs and
    is worth price x multiplier (no margin, no leverage).

    Returns
    -------
    numpy.ndarray
        float64, (T,): the benchmark's equity at each timestamp's close.
    """
    if not isinstance(bars, Bars) or not isinstance(config, EngineConfig):
        raise ConfigError(
            f"bars, config: expected a Bars panel and an EngineConfig, got "
            f"{type(bars).__name__} and {type(config).__name__}"
        )
    n_bars, n_symbols = bars.close.shape
    part = config.initial_cash / n_symbols
    day = int(bars.timestamps[0]) // NS_PER_DAY
    scheduled = (
        config.rate_on_day("commission_rate", day),
        config.rate_on_day("min_commission", day),
    )
    levies = config.rate_on_day("buy_tax_rate", day) + config.rate_on_day("transfer_fee_rate", day)
    equity = np.zeros(n_bars, dtype=np.float64)
    multipliers = {item.symbol: item.multiplier for item in config.instruments}
    own = {item.symbol: item.commission for item in config.instruments}
    for n in range(n_symbols):
        multiplier = multipliers.get(bars.symbols[n]) or 1.0
        # The symbol's own commission model, else the run's (docs/semantics.md, section 24).
        model = own.get(bars.symbols[n])
        if model is None:
            model = config.commission
        close = bars.close[:, n]
        seen = np.flatnonzero(~np.isnan(close))
        if seen.size == 0:
            equity += part
            continue
        first = int(seen[0])
        price = _benchmark_price(bars, config, first, n, part, multiplier)
        if model is None or isinstance(model, costs.PerValue):
            rate, minimum = scheduled if model is None else (model.rate, model.minimum)
            # value x (1 + levies) + max(value x rate, minimum) = part, solved for the value.
            value = part / (1.0 + rate + levies)
            if value * rate < minimum:
                value = (part - minimum) / (1.0 + levies)
            quantity = value / (price * multiplier) if value > 0.0 and price > 0.0 else 0.0
        else:
            quantity = _benchmark_quantity(bars, model, first, n, part, price, levies, multiplier)
        if not quantity > 0.0:
            equity += part
            continue
        # The last close seen so far at every bar (a missing bar keeps the previous one).
        last = np.maximum.accumulate(np.where(np.isnan(close), -1, np.arange(n_bars)))
        held = quantity * close[np.maximum(last, 0)] * multiplier
        equity += np.where(np.arange(n_bars) < first, part, held)
    return equity


def _benchmark_price(
    bars: Bars, config: EngineConfig, t: int, n: int, part: float, multiplier: float
) -> float:
    """A market buy's price at the close of bar `t` of symbol `n` (a unit worth price x
    `multiplier`): moved up by the run's slippage model, no higher than the bar's high."""
    base, high = float(bars.close[t, n]), float(bars.high[t, n])
    model = config.slippage
    if model is None or isinstance(model, costs.FixedBps):
        bps = config.slippage_bps if model is None else model.bps
        return min(base * (1.0 + bps / 10_000.0), high)
    low, volume = float(bars.low[t, n]), float(bars.volume[t, n])
    if isinstance(model, costs.RangeFraction):
        return costs.range_price(True, base, high, low, model.fraction)
    asked = part / (base * multiplier)  # what the part buys at the unslipped price
    if isinstance(model, costs.SquareRootImpact):
        fraction = costs.impact(model.coefficient, asked, volume)
    else:
        open_, now = float(bars.open[t, n]), int(bars.timestamps[t])
        symbol = bars.symbols[n]
        fraction = costs.call_slippage(
            model, symbol, now, open_, high, low, base, volume, "buy", asked, base, t
        )
    return min(base * (1.0 + fraction), high)


def _benchmark_quantity(
    bars: Bars,
    model: Any,
    t: int,
    n: int,
    part: float,
    price: float,
    levies: float,
    multiplier: float,
) -> float:
    """The largest (fractional) quantity `part` pays for at `price` with the commission
    `model` (not PerValue) and the buy levies: a bisection, the cost rising with the quantity."""

    def cost(quantity: float) -> float:
        value = quantity * price * multiplier
        if isinstance(model, costs.COMMISSION_MODELS):
            commission = model.commission(quantity, value)
        else:
            now, symbol = int(bars.timestamps[t]), bars.symbols[n]
            commission = costs.call_commission(model, symbol, "buy", quantity, price, t, now)
        return value * (1.0 + levies) + commission

    if not price > 0.0:
        return 0.0
    high = part / (price * multiplier * (1.0 + levies))
    if cost(high) <= part:
        return high
    low = 0.0
    for _ in range(200):  # halves the interval to float resolution
        middle = low + (high - low) / 2.0
        if middle <= low or middle >= high:
            break
        if cost(middle) <= part:
            low = middle
        else:
            high = middle
    return low


def benchmark_returns(result: Any, benchmark: Any = None) -> np.ndarray:
    """Per-bar returns of the benchmark, aligned with the result's bars.

    Parameters
    ----------
    benchmark : None, str or sequence of float
        None: the equal-weight buy-and-hold of the universe (`buy_and_hold_equity`). A symbol
        of the bars: that symbol bought and held alone, by the same rule. Otherwise the
        benchmark's own returns: one per bar, or a pandas Series on a DatetimeIndex of its
        own calendar, compounded into each bar's interval (`_series_returns`; it must cover
        the run).

    Raises
    ------
    ConfigError
        Naming `benchmark`: an unknown symbol, returns of the wrong length, not finite or
        below -1, a Series that does not cover the run (or has a zoned or duplicated index),
        something else, or None or a symbol for a result that carries no bars.
    """
    check_result(result, "bars", "config")
    return _benchmark(result, benchmark)[0]


def _benchmark(result: Any, benchmark: Any) -> tuple[np.ndarray, float]:
    """The benchmark's per-bar returns and its total return: the curve's last value over the
    initial cash for a buy-and-hold, the compounded returns otherwise."""
    if benchmark is None or isinstance(benchmark, str):
        bars = _bars_of(result, "benchmark")
        if benchmark is not None:
            if benchmark not in bars.symbols:
                raise ConfigError(
                    f"benchmark: {benchmark!r} is not a symbol of the bars "
                    f"({', '.join(bars.symbols)})"
                )
            bars = bars.select([benchmark])
        curve = buy_and_hold_equity(bars, result.config)
        cash = result.config.initial_cash
        return bar_returns(curve, cash), float(curve[-1] / cash - 1.0)
    if hasattr(benchmark, "index") and hasattr(benchmark, "sort_index"):  # pandas
        values = _series_returns(result, benchmark)
        with np.errstate(over="ignore"):  # compounding past the float range is inf
            total = float(np.prod(1.0 + values) - 1.0)
        return values, total
    if isinstance(benchmark, (dict, set, bytes)) or not hasattr(benchmark, "__len__"):
        raise ConfigError(
            f"benchmark: expected None, a symbol or returns, got {type(benchmark).__name__}"
        )
    values = _real_returns(benchmark)
    if values.shape != (len(result.timestamps),):
        raise ConfigError(
            f"benchmark: {values.size} returns for {len(result.timestamps)} bars "
            "(give one return per bar, or a pandas Series with a DatetimeIndex)"
        )
    _check_returns(values, lambda i: f"bar {i}")
    with np.errstate(over="ignore"):  # compounding past the float range is inf
        total = float(np.prod(1.0 + values) - 1.0)
    return values, total


def _check_returns(values: np.ndarray, where: Callable[[int], str]) -> None:
    """ConfigError naming `benchmark` for a return that is not finite or is below -100 %, or
    for returns that are all above +100 % (prices given where returns are meant)."""
    if values.size > 1 and (values > 1.0).all():
        raise ConfigError(
            "benchmark: every return is above 100 %: prices, not returns? give returns, "
            "e.g. prices.pct_change().fillna(0.0)"
        )
    bad = ~np.isfinite(values) | (values < -1.0)
    if bad.any():
        i = int(np.argmax(bad))
        hint = (
            " (a first NaN of pct_change()? fill it: .fillna(0.0))"
            if np.isnan(values[i])
            else ""
            if not np.isfinite(values[i])
            else " (prices? give returns: prices.pct_change().fillna(0.0))"
        )
        raise ConfigError(
            f"benchmark: return {values[i]} at {where(i)} is not a finite number >= -1{hint}"
        )


def _series_returns(result: Any, series: Any) -> np.ndarray:
    """A pandas Series of returns on its own calendar as one return per bar of the result.

    Each bar gets the returns of the Series compounded over the bar's interval: the entries
    after the previous bar's time, up to and including the bar's own (the first bar: the
    entry at its time, if any). A Series on the result's own timestamps is taken as it is.
    A Series of dates (every time at midnight) against bars within the day (or stamped at
    another hour) gives each day's return to that day's last bar, and 0 to the others. It
    must cover the run: its first entry at or before the first bar, its last at or after the
    last bar; a return that did not happen cannot be assumed to be 0.
    """
    pd = _pandas()
    if getattr(series, "ndim", 1) != 1 or hasattr(series, "columns"):
        raise ConfigError("benchmark: a DataFrame; give one column of returns, e.g. frame['SPY']")
    index = series.index
    if not isinstance(index, pd.DatetimeIndex):
        raise ConfigError(
            f"benchmark: a Series of returns needs a DatetimeIndex, got {type(index).__name__}"
        )
    if index.tz is not None:
        raise ConfigError(
            f"benchmark: the Series' times are in the time zone {index.tz}, a result's are the "
            "exchange's wall time without one: give series.tz_convert(exchange zone)"
            ".tz_localize(None)"
        )
    if index.has_duplicates:
        raise ConfigError(
            f"benchmark: the Series has the time {index[index.duplicated()][0]} twice"
        )
    series = series.sort_index()
    values = _real_returns(series.to_numpy())
    times = series.index.as_unit("ns").asi8
    _check_returns(values, lambda i: str(series.index[i]))
    bars = np.asarray(result.timestamps, dtype=np.int64)
    if np.array_equal(times, bars):
        return values
    if len(times) and (times % NS_PER_DAY == 0).all() and (bars % NS_PER_DAY != 0).any():
        days = bars // NS_PER_DAY  # floor: days before 1970 too
        last = np.flatnonzero(np.append(days[1:] != days[:-1], True))  # each day's last bar
        out = np.zeros(len(bars), dtype=np.float64)
        out[last] = _compounded(times, values, days[last] * NS_PER_DAY, series.index, bars)
        return out
    return _compounded(times, values, bars, series.index, bars)


def _compounded(
    times: np.ndarray, values: np.ndarray, targets: np.ndarray, index: Any, bars: np.ndarray
) -> np.ndarray:
    """The returns at `times` compounded into the intervals ending at each of `targets`
    (after the previous target, up to and including this one; the first: the entry at its
    own time). An interval with one entry keeps that return exactly; one with none is 0."""
    if len(times) == 0 or times[0] > targets[0] or times[-1] < targets[-1]:
        covered = f"{index[0]} .. {index[-1]}" if len(times) else "nothing"
        raise ConfigError(
            f"benchmark: the Series covers {covered}, the run "
            f"{format_timestamp(int(bars[0]))} .. {format_timestamp(int(bars[-1]))}; give "
            "returns over the whole run"
        )
    high = np.searchsorted(times, targets, side="right")  # entries before high[i]: <= target i
    low = np.concatenate(([np.searchsorted(times, targets[0], side="left")], high[:-1]))
    count = high - low
    out = np.zeros(len(targets), dtype=np.float64)
    single = count == 1
    out[single] = values[low[single]]
    several = count > 1
    if several.any():
        growth = 1.0 + values[low[0] : high[-1]]
        filled = count > 0  # consecutive intervals are contiguous: reduceat over their starts
        with np.errstate(over="ignore"):
            products = np.multiply.reduceat(growth, low[filled] - low[0])
        out[several] = products[several[filled]] - 1.0
    return out


def _real_returns(values: Any) -> np.ndarray:
    """Returns as float64; ConfigError naming `benchmark` for booleans, complex numbers or
    anything that is not numbers."""
    array = np.asarray(values)
    if array.dtype.kind in "bcOSUMm" and not (
        array.dtype.kind == "O" and all(isinstance(v, (int, float)) for v in array.ravel())
    ):
        raise ConfigError(f"benchmark: returns must be real numbers, got {array.dtype} values")
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("benchmark: returns must be real numbers") from None


def _bars_of(result: Any, what: str) -> Bars:
    if result.bars is None or result.config is None:
        raise ConfigError(
            f"{what}: this result has no bars or settings (a result built by hand, or one a "
            "worker sent back without them): give the benchmark's returns instead"
        )
    bars: Bars = result.bars
    return bars


# ================================================================================ frames
def equity_series(result: Any) -> Any:
    """Equity at each bar's close, a float Series on a DatetimeIndex."""
    check_result(result)
    pd = _pandas()
    return pd.Series(np.array(result.equity), index=time_index(result), name="equity")


def returns_series(result: Any) -> Any:
    """Per-bar returns (`bar_returns`) as a Series on a DatetimeIndex, ready for quantstats,
    empyrical or pyfolio."""
    check_result(result)
    pd = _pandas()
    values = bar_returns(np.asarray(result.equity), result.stats["start_equity"])
    return pd.Series(values, index=time_index(result), name="returns")


def drawdown_series(result: Any) -> Any:
    """The drawdown (`drawdown_curve`, a fraction <= 0) as a Series on a DatetimeIndex."""
    check_result(result)
    pd = _pandas()
    values = drawdown_curve(np.asarray(result.equity), result.stats["start_equity"])
    return pd.Series(values, index=time_index(result), name="drawdown")


FILL_COLUMNS = ("order_id", "timestamp", "symbol", "side", "quantity", "price", "commission", "tax")
ORDER_COLUMNS = ORDER_FIELDS
TRADE_COLUMNS = (
    "symbol",
    "side",
    "quantity",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "pnl",
    "return",
    "duration",
)
POSITION_COLUMNS = (
    "symbol",
    "quantity",
    "average_cost",
    "last_price",
    "market_value",
    "realized_pnl",
    "unrealized_pnl",
)


def _frame(columns: dict[str, Any]) -> Any:
    pd = _pandas()
    return pd.DataFrame(columns)


def _numbers(values: list[Any]) -> np.ndarray:
    """Floats with None as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _texts(values: list[Any]) -> Any:
    pd = _pandas()
    return pd.array(values, dtype="string")


def fills_frame(result: Any) -> Any:
    """One row per fill, in booking order: `FILL_COLUMNS`."""
    check_result(result, "fills")
    fills = result.fills
    return _frame(
        {
            "order_id": np.array([f.order_id for f in fills], dtype=np.int64),
            "timestamp": datetimes([f.timestamp for f in fills]),
            "symbol": _texts([f.symbol for f in fills]),
            "side": _texts([f.side.value for f in fills]),
            "quantity": _numbers([f.quantity for f in fills]),
            "price": _numbers([f.price for f in fills]),
            "commission": _numbers([f.commission for f in fills]),
            "tax": _numbers([f.tax for f in fills]),
        }
    )


def corporate_actions_frame(result: Any) -> Any:
    """One row per corporate action applied to a holding, in application order: timestamp,
    symbol, quantity_before, quantity_after, cash (the dividend before tax) and tax."""
    check_result(result, "corporate_actions")
    records = result.corporate_actions
    return _frame(
        {
            "timestamp": datetimes([r.timestamp for r in records]),
            "symbol": _texts([r.symbol for r in records]),
            "quantity_before": _numbers([r.quantity_before for r in records]),
            "quantity_after": _numbers([r.quantity_after for r in records]),
            "cash": _numbers([r.cash for r in records]),
            "tax": _numbers([r.tax for r in records]),
        }
    )


def orders_frame(result: Any) -> Any:
    """One row per order, by id, in its final state: `ORDER_COLUMNS`. A target order that
    never filled has no side, and an order that never filled no `average_fill_price` (NaN);
    `reject_reason` says why the engine ended an order; `oco_group` and `parent_id`
    (nullable integers) are missing for an order in no group and one that is no bracket
    exit."""
    check_result(result, "orders")
    orders: list[Order] = result.orders

    def enum(name: str) -> Any:
        return _texts(
            [None if getattr(o, name) is None else getattr(o, name).value for o in orders]
        )

    columns: dict[str, Any] = {"order_id": np.array([o.order_id for o in orders], dtype=np.int64)}
    for name in ORDER_COLUMNS[1:]:
        if name in ("side", "order_type", "time_in_force", "status"):
            columns[name] = enum(name)
        elif name in ("symbol", "reject_reason"):
            columns[name] = _texts([getattr(o, name) for o in orders])
        elif name in ("created_at", "filled_at", "expire_at"):
            columns[name] = datetimes([getattr(o, name) for o in orders])
        elif name in ("oco_group", "parent_id"):  # ids, missing when None
            columns[name] = _pandas().array([getattr(o, name) for o in orders], dtype="Int64")
        else:
            columns[name] = _numbers([getattr(o, name) for o in orders])
    # An order that never filled has no average fill price (the order object says 0.0).
    columns["average_fill_price"][columns["filled_quantity"] == 0.0] = np.nan
    return _frame(columns)


def trades_frame(result: Any) -> Any:
    """One row per closed round trip, in closing order: `TRADE_COLUMNS` (``side`` "long" or
    "short"; ``return`` the pnl over the entry value; ``duration`` exit minus entry time)."""
    check_result(result, "trades")
    trades = result.trades
    entry = datetimes([t.entry_time for t in trades])
    exit_ = datetimes([t.exit_time for t in trades])
    return _frame(
        {
            "symbol": _texts([t.symbol for t in trades]),
            "side": _texts(["long" if t.direction > 0 else "short" for t in trades]),
            "quantity": _numbers([t.quantity for t in trades]),
            "entry_time": entry,
            "entry_price": _numbers([t.entry_price for t in trades]),
            "exit_time": exit_,
            "exit_price": _numbers([t.exit_price for t in trades]),
            "pnl": _numbers([t.pnl for t in trades]),
            "return": _numbers([t.return_ for t in trades]),
            "duration": exit_ - entry,
        }
    )


def positions_frame(result: Any) -> Any:
    """The final positions, data order: `POSITION_COLUMNS` (``market_value`` = quantity x
    last price x the symbol's contract multiplier, 0 when flat)."""
    check_result(result, "positions")
    positions = result.positions
    quantity = _numbers([p.quantity for p in positions])
    last = _numbers([p.last_price for p in positions])
    multiplier = _numbers([getattr(p, "multiplier", 1.0) for p in positions])
    value = np.where(quantity == 0.0, 0.0, quantity * last * multiplier)
    return _frame(
        {
            "symbol": _texts([p.symbol for p in positions]),
            "quantity": quantity,
            "average_cost": _numbers([p.average_cost for p in positions]),
            "last_price": last,
            "market_value": value,
            "realized_pnl": _numbers([p.realized_pnl for p in positions]),
            "unrealized_pnl": _numbers([p.unrealized_pnl for p in positions]),
        }
    )


# ============================================================================ statistics
#: The keys of `BacktestResult.stats`: `quanta_ref.metrics.STAT_KEYS`, then the account
#: totals both backends add.
CORE_KEYS = STAT_KEYS + ("total_commission", "total_tax", "n_fills")

#: The keys of `extended_stats`, in order; one ``rejected_<reason>`` key follows for each
#: reason that occurred (`BacktestResult.rejections`).
EXTENDED_KEYS = (
    "buy_and_hold_return",
    "benchmark_return",
    "alpha",
    "beta",
    "best_trade",
    "worst_trade",
    "average_trade",
    "average_trade_duration",
    "average_trade_bars",
    "expectancy",
    "sqn",
    "n_rejected",
)

#: key -> (label with its unit, unit, one-line description), for every statistic of
#: `stats_series` (``rejected_<reason>`` keys: `stat_info`). Units: "fraction" (shown in
#: percent; the value stays a fraction), "cash" (the account's currency), "ratio" (a pure
#: number), "bars", "days" (calendar days), "count", "bars per year".
STAT_INFO: dict[str, tuple[str, str, str]] = {
    "start_equity": ("Start equity", "cash", "The initial cash: the equity before the first bar"),
    "final_equity": ("Final equity", "cash", "Equity at the last bar's close"),
    "total_return": ("Total return [%]", "fraction", "Final equity / initial cash - 1"),
    "cagr": ("CAGR [%]", "fraction", "Compound annual growth rate of the equity"),
    "annual_volatility": (
        "Volatility (ann.) [%]",
        "fraction",
        "Standard deviation of the bar returns (ddof 1) x sqrt(periods per year)",
    ),
    "sharpe_ratio": (
        "Sharpe ratio",
        "ratio",
        "Mean / standard deviation of the bar returns x sqrt(periods per year), risk-free 0",
    ),
    "sortino_ratio": (
        "Sortino ratio",
        "ratio",
        "Annualised mean return / annualised downside deviation (required return 0)",
    ),
    "max_drawdown": (
        "Max. drawdown [%]",
        "fraction",
        "Deepest fall of the equity under its running peak (negative, 0 if never under)",
    ),
    "max_drawdown_duration": (
        "Max. drawdown duration [bars]",
        "bars",
        "Longest run of consecutive bars under the running peak",
    ),
    "calmar_ratio": ("Calmar ratio", "ratio", "CAGR / |max. drawdown|"),
    "win_rate": ("Win rate [%]", "fraction", "Share of closed trades with a pnl above 0"),
    "profit_factor": (
        "Profit factor",
        "ratio",
        "Gross profit / gross loss of the closed trades",
    ),
    "n_trades": ("Trades", "count", "Closed round trips"),
    "exposure": (
        "Exposure time [%]",
        "fraction",
        "Share of the bars that end with a position open",
    ),
    "turnover": ("Turnover [x]", "ratio", "Traded value / average equity"),
    "periods_per_year": (
        "Periods per year",
        "bars per year",
        "Bars per year used to annualise (given, or inferred from the timestamps)",
    ),
    "total_commission": ("Commission paid", "cash", "Sum of the commissions of every fill"),
    "total_tax": ("Tax paid", "cash", "Sum of the sell taxes (stamp duty) of every fill"),
    "n_fills": ("Fills", "count", "Number of fills"),
    "buy_and_hold_return": (
        "Buy & hold return [%]",
        "fraction",
        "Total return of buying the universe in equal parts at the first bar and holding it",
    ),
    "benchmark_return": (
        "Benchmark return [%]",
        "fraction",
        "Total return of the benchmark over the run",
    ),
    "alpha": (
        "Alpha (ann.) [%]",
        "fraction",
        "(1 + mean(r - beta x b))^(periods per year) - 1 against the benchmark (empyrical)",
    ),
    "beta": ("Beta", "ratio", "Cov(r, b) / Var(b) of the bar returns against the benchmark"),
    "best_trade": ("Best trade [%]", "fraction", "Highest return of a closed trade"),
    "worst_trade": ("Worst trade [%]", "fraction", "Lowest return of a closed trade"),
    "average_trade": ("Avg. trade [%]", "fraction", "Mean return of the closed trades"),
    "average_trade_duration": (
        "Avg. trade duration [days]",
        "days",
        "Mean time from entry to exit of the closed trades, in calendar days",
    ),
    "average_trade_bars": (
        "Avg. trade duration [bars]",
        "bars",
        "Mean number of bars from entry to exit of the closed trades",
    ),
    "expectancy": ("Expectancy", "cash", "Mean pnl of a closed trade"),
    "sqn": (
        "SQN",
        "ratio",
        "System quality number: sqrt(n) x mean(pnl) / std(pnl, ddof 1) of the closed trades",
    ),
    "n_rejected": ("Rejected orders", "count", "Orders the engine rejected, every reason"),
}


def stat_info(key: str) -> tuple[str, str, str]:
    """(label, unit, description) of a statistic: `STAT_INFO`, or one made for a
    ``rejected_<reason>`` key. KeyError for any other key."""
    if key in STAT_INFO:
        return STAT_INFO[key]
    if key.startswith("rejected_"):
        reason = key[len("rejected_") :]
        return (
            f"Rejected: {reason.replace('_', ' ')}",
            "count",
            f"Orders the engine rejected with reason {reason}",
        )
    raise KeyError(key)


def format_stat(key: str, value: float) -> str:
    """A statistic as text for a table: fractions in percent (without the sign: the label
    has it), cash with separators, counts whole; NaN as "NaN"."""
    unit = stat_info(key)[1]
    if math.isnan(value):
        return "NaN"
    if unit == "fraction":
        return f"{value * 100.0:,.2f}"  # the label says [%]
    if unit in ("count", "bars") and math.isfinite(value) and value == int(value):
        return f"{value:,.0f}"
    if unit == "cash":
        return f"{value:,.2f}"
    return f"{value:,.3f}" if abs(value) < 1e6 else f"{value:,.4g}"


def extended_stats(result: Any, benchmark: Any = None) -> dict[str, float]:
    """Statistics beyond `BacktestResult.stats`: the benchmark, alpha and beta, the trades
    and the rejected orders (`EXTENDED_KEYS`, then ``rejected_<reason>`` for each reason
    that occurred, in name order). Every value is a float; fractions stay fractions (0.05 is
    5 %), `STAT_INFO` has the labels and units. The formulas and NaN cases are in
    docs/semantics.md, "Reading a result".

    Parameters
    ----------
    result : BacktestResult
        A finished run (either backend).
    benchmark : None, str or returns
        What alpha, beta and ``benchmark_return`` compare with (`benchmark_returns`): None,
        the equal-weight buy-and-hold of the universe; a symbol, that symbol bought and held;
        or one return per bar. ``buy_and_hold_return`` is always the universe's.

    Returns
    -------
    dict[str, float]

    Raises
    ------
    ConfigError
        A bad `benchmark` (see `benchmark_returns`), or None or a symbol for a result without
        bars.
    """
    check_result(result, "trades", "rejections", "bars", "config")
    cash = result.stats["start_equity"]
    periods = result.stats["periods_per_year"]
    returns = bar_returns(np.asarray(result.equity), cash)
    factor, benchmark_total = _benchmark(result, benchmark)
    if benchmark is None:
        hold_total = benchmark_total
    elif result.bars is None or result.config is None:
        hold_total = math.nan  # a benchmark given as returns needs no bars; this does
    else:
        hold_total = float(buy_and_hold_equity(result.bars, result.config)[-1] / cash - 1.0)
    alpha, beta = alpha_beta(returns, factor, periods)

    trades = result.trades
    trade_returns = np.array([t.return_ for t in trades], dtype=np.float64)
    pnls = np.array([t.pnl for t in trades], dtype=np.float64)
    entry = np.array([t.entry_time for t in trades], dtype=np.int64)
    exit_ = np.array([t.exit_time for t in trades], dtype=np.int64)
    timestamps = np.asarray(result.timestamps)
    bars_held = np.searchsorted(timestamps, exit_) - np.searchsorted(timestamps, entry)

    def mean(values: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(np.mean(values)) if values.size else math.nan

    out = {
        "buy_and_hold_return": hold_total,
        "benchmark_return": benchmark_total,
        "alpha": alpha,
        "beta": beta,
        "best_trade": float(np.max(trade_returns)) if trades else math.nan,
        "worst_trade": float(np.min(trade_returns)) if trades else math.nan,
        "average_trade": mean(trade_returns),
        # Differences of int64 ns first, exact, then one division into days.
        "average_trade_duration": mean((exit_ - entry) / NS_PER_DAY),
        "average_trade_bars": mean(bars_held.astype(np.float64)),
        "expectancy": mean(pnls),
        "sqn": sqn(pnls),
        "n_rejected": float(sum(result.rejections.values())),
    }
    for reason, count in result.rejections.items():
        out[f"rejected_{reason}"] = float(count)
    return out


def alpha_beta(
    returns: np.ndarray, factor: np.ndarray, periods_per_year: float
) -> tuple[float, float]:
    """Annualised alpha and beta of `returns` against `factor`, as empyrical-reloaded's
    ``alpha_beta`` defines them (risk-free 0, no missing values)::

        beta  = mean((b - mean(b)) * r) / mean((b - mean(b))^2)
        alpha = (1 + mean(r - beta * b)) ^ periods_per_year - 1

    Both NaN with fewer than 2 returns, or when the variance of `factor` is below 1e-30
    (a flat benchmark: nothing to regress on)."""
    if returns.size < 2:
        return math.nan, math.nan
    # Returns near the float range give inf or NaN, kept as IEEE gives them (as the
    # metrics do), without numpy's warnings.
    with np.errstate(all="ignore"):
        residual = factor - np.mean(factor)
        variance = float(np.mean(residual * residual))
        if variance < 1.0e-30:
            return math.nan, math.nan
        beta = float(np.mean(residual * returns)) / variance
        alpha = float(np.power(np.mean(returns - beta * factor) + 1.0, periods_per_year) - 1.0)
    return alpha, beta


def sqn(pnls: np.ndarray) -> float:
    """Van Tharp's system quality number as backtesting.py computes it:
    ``sqrt(n) * mean(pnl) / std(pnl, ddof=1)``; NaN under 2 trades or when every pnl is
    the same (std 0)."""
    if pnls.size < 2:
        return math.nan
    with np.errstate(all="ignore"):
        std = float(np.std(pnls, ddof=1))
        mean = float(np.mean(pnls))
    if std == 0.0:
        return math.nan
    return math.sqrt(pnls.size) * mean / std


def stats_series(result: Any, benchmark: Any = None) -> Any:
    """`result.stats` followed by `extended_stats`, as a float Series indexed by key.

    Values stay in their units: fractions are fractions (0.05 for 5 %), not percent; the
    labels with units are in `STAT_INFO` (`stat_info` for ``rejected_<reason>`` keys).
    """
    check_result(result, "trades", "rejections", "bars", "config")
    pd = _pandas()
    values = {key: float(value) for key, value in result.stats.items()}
    values.update(extended_stats(result, benchmark))
    return pd.Series(values, dtype="float64", name="value")


# ================================================================================= html
#: The statistics `result_html` shows, in order.
HTML_KEYS = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "n_trades",
    "win_rate",
    "profit_factor",
    "exposure",
    "final_equity",
    "total_commission",
)


def sparkline(values: Any, width: int = 240, height: int = 48, points: int = 200) -> str:
    """An inline SVG polyline of `values` (finite floats), downsampled to about `points`
    evenly spaced values, the first and the last always kept."""
    try:
        values = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ConfigError("values: a sparkline draws numbers") from None
    values = values[np.isfinite(values)]  # a gap in the curve, not "nan" in the SVG
    if values.size == 0:
        raise ConfigError("values: a sparkline needs at least one finite value")
    keep = np.unique(np.linspace(0, values.size - 1, min(values.size, points)).round())
    sample = values[keep.astype(np.int64)]
    if sample.size == 1:  # one bar: a flat line across
        sample = np.repeat(sample, 2)
    # Halves, so that a curve spanning the float range does not overflow its span.
    low, high = float(sample.min()) / 2.0, float(sample.max()) / 2.0
    span = high - low
    x = np.linspace(1.0, width - 1.0, sample.size)
    # SVG's y axis points down; a flat curve sits in the middle.
    y = (
        np.full(sample.size, height / 2.0)
        if span == 0.0
        else ((height - 1.0) - (sample / 2.0 - low) / span * (height - 2.0))
    )
    coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="equity">'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{coords}"/></svg>'
    )


def result_html(result: Any) -> str:
    """A compact HTML view of a result for Jupyter: the period, the main statistics
    (`HTML_KEYS`, labelled by `STAT_INFO`) and the rejected orders, beside a sparkline of the
    equity. Needs neither pandas nor plotly."""
    check_result(result, "rejections")
    timestamps = np.asarray(result.timestamps)
    # Wall time to the second; midnight (daily bars) as the date alone.
    first, last = (
        str(np.datetime64(int(t), "ns"))[:19].removesuffix("T00:00:00")
        for t in (timestamps[0], timestamps[-1])
    )
    rows = [(STAT_INFO[key][0], format_stat(key, result.stats[key])) for key in HTML_KEYS]
    rejected = sum(result.rejections.values())
    if rejected:
        reasons = ", ".join(f"{reason} {count}" for reason, count in result.rejections.items())
        rows.append((STAT_INFO["n_rejected"][0], f"{rejected:,} ({reasons})"))
    cells = "".join(
        f'<tr><th style="text-align:left">{html.escape(label)}</th>'
        f'<td style="text-align:right">{html.escape(text)}</td></tr>'
        for label, text in rows
    )
    n = len(timestamps)
    period = first if n == 1 else f"{first} to {last}"
    title = html.escape(f"BacktestResult: {n:,} bar{'' if n == 1 else 's'}, {period}")
    return (
        f'<div class="quanta-result"><p><b>{title}</b></p>'
        f'<div style="display:flex;gap:1.5em;align-items:flex-start">'
        f"<table>{cells}</table>"
        f"<div><div>{html.escape('Equity')}</div>{sparkline(result.equity)}</div>"
        f"</div></div>"
    )
