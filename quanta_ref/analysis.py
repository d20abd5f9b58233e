"""A finished run as data a user can use: pandas frames and series, and the buy-and-hold
benchmark (docs/semantics.md, section 18).

Everything here reads a `BacktestResult` only (its timestamps, equity, fills, orders, trades,
positions, bars and settings), so one piece of code serves every backend and the same run
gives the same frames whichever engine ran it. Nothing here changes a rule of the engine.

Times are the exchange's wall time as stored (int64 ns, no time zone) and come out as
``datetime64[ns]``; symbols, sides, order types and statuses come out as strings. pandas is
imported only by the functions that build frames (``pip install quanta[pandas]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError
from quanta_ref.orders import Order


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
    values = [np.iinfo(np.int64).min if t is None else t for t in np.asarray(timestamps).tolist()]
    return np.asarray(values, dtype=np.int64).view("datetime64[ns]")


def time_index(result: Any) -> Any:
    """The result's timestamps as a `pandas.DatetimeIndex` named ``timestamp``."""
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
    out[alive] = eff[alive] / before[alive] - 1.0
    return out


def drawdown_curve(equity: np.ndarray, initial_cash: float) -> np.ndarray:
    """``(e[i] - peak[i]) / peak[i]`` with ``peak[i] = max(C, e[0], ..., e[i])``: 0.0 at a new
    high, -0.25 a quarter under the best equity so far (`quanta_ref.metrics`)."""
    eff = effective_equity(equity)
    peak = np.maximum.accumulate(np.concatenate(([initial_cash], eff)))[1:]
    return (eff - peak) / peak


def buy_and_hold_equity(bars: Bars, config: EngineConfig) -> np.ndarray:
    """The equity of buying the whole universe in equal parts and holding it.

    The initial cash is split equally over the symbols of `bars`. Each part buys its symbol
    at the close of the symbol's first bar, moved by ``slippage_bps`` against the buyer as a
    market fill is (and kept inside the bar's range), paying the commission rule of the run
    (``commission_rate`` with ``min_commission``) out of the part; the quantity is fractional
    (no lots) so that the whole part is invested. A part waits as cash until its symbol's
    first bar, and stays cash if the symbol never trades or the part does not cover the
    minimum commission. Nothing is ever sold, so no tax is paid: each holding is valued at
    its last close, as the run's own positions are.

    Returns
    -------
    numpy.ndarray
        float64, (T,): the benchmark's equity at each timestamp's close.
    """
    n_bars, n_symbols = bars.close.shape
    part = config.initial_cash / n_symbols
    slippage = config.slippage_bps / 10_000.0
    equity = np.zeros(n_bars, dtype=np.float64)
    for n in range(n_symbols):
        close = bars.close[:, n]
        seen = np.flatnonzero(~np.isnan(close))
        if seen.size == 0:
            equity += part
            continue
        first = int(seen[0])
        # A market buy's price: moved up by the slippage, no higher than the bar's high.
        price = min(float(close[first]) * (1.0 + slippage), float(bars.high[first, n]))
        # value + max(value x rate, minimum) = part, solved for the value invested.
        value = part / (1.0 + config.commission_rate)
        if value * config.commission_rate < config.min_commission:
            value = part - config.min_commission
        if value <= 0.0 or price <= 0.0:
            equity += part
            continue
        quantity = value / price
        # The last close seen so far at every bar (a missing bar keeps the previous one).
        last = np.maximum.accumulate(np.where(np.isnan(close), -1, np.arange(n_bars)))
        held = quantity * close[np.maximum(last, 0)]
        equity += np.where(np.arange(n_bars) < first, part, held)
    return equity


def benchmark_returns(result: Any, benchmark: Any = None) -> np.ndarray:
    """Per-bar returns of the benchmark, aligned with the result's bars.

    Parameters
    ----------
    benchmark : None, str or sequence of float
        None: the equal-weight buy-and-hold of the universe (`buy_and_hold_equity`). A symbol
        of the bars: that symbol bought and held alone, by the same rule. Otherwise the
        benchmark's own returns, one per bar (a pandas Series is aligned on the result's
        timestamps first; a bar it lacks is a return of 0.0).
    """
    bars = _bars_of(result, "benchmark")
    if benchmark is None:
        curve = buy_and_hold_equity(bars, result.config)
        return bar_returns(curve, result.config.initial_cash)
    if isinstance(benchmark, str):
        if benchmark not in bars.symbols:
            raise ConfigError(
                f"benchmark: {benchmark!r} is not a symbol of the bars ({', '.join(bars.symbols)})"
            )
        curve = buy_and_hold_equity(bars.select([benchmark]), result.config)
        return bar_returns(curve, result.config.initial_cash)
    if hasattr(benchmark, "reindex") and hasattr(benchmark, "index"):
        benchmark = benchmark.reindex(time_index(result)).fillna(0.0).to_numpy()
    try:
        values = np.asarray(benchmark, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"benchmark: expected None, a symbol or returns, got {type(benchmark).__name__}"
        ) from None
    if values.shape != (len(result.timestamps),):
        raise ConfigError(
            f"benchmark: {values.size} returns for {len(result.timestamps)} bars "
            "(give one return per bar, or a pandas Series with a DatetimeIndex)"
        )
    if not np.isfinite(values).all():
        i = int(np.argmax(~np.isfinite(values)))
        raise ConfigError(f"benchmark: return {values[i]} at bar {i} is not a finite number")
    return values


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
    pd = _pandas()
    return pd.Series(np.array(result.equity), index=time_index(result), name="equity")


def returns_series(result: Any) -> Any:
    """Per-bar returns (`bar_returns`) as a Series on a DatetimeIndex, ready for quantstats,
    empyrical or pyfolio."""
    pd = _pandas()
    values = bar_returns(np.asarray(result.equity), result.stats["start_equity"])
    return pd.Series(values, index=time_index(result), name="returns")


def drawdown_series(result: Any) -> Any:
    """The drawdown (`drawdown_curve`, a fraction <= 0) as a Series on a DatetimeIndex."""
    pd = _pandas()
    values = drawdown_curve(np.asarray(result.equity), result.stats["start_equity"])
    return pd.Series(values, index=time_index(result), name="drawdown")


FILL_COLUMNS = ("order_id", "timestamp", "symbol", "side", "quantity", "price", "commission", "tax")
ORDER_COLUMNS = (
    "order_id",
    "symbol",
    "side",
    "quantity",
    "filled_quantity",
    "order_type",
    "limit_price",
    "stop_price",
    "time_in_force",
    "status",
    "reject_reason",
    "created_at",
    "filled_at",
    "target_quantity",
    "target_percent",
    "average_fill_price",
)
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


def orders_frame(result: Any) -> Any:
    """One row per order, by id, in its final state: `ORDER_COLUMNS`. A target order that
    never filled has no side; `reject_reason` says why the engine ended an order."""
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
        elif name in ("created_at", "filled_at"):
            columns[name] = datetimes([getattr(o, name) for o in orders])
        else:
            columns[name] = _numbers([getattr(o, name) for o in orders])
    return _frame(columns)


def trades_frame(result: Any) -> Any:
    """One row per closed round trip, in closing order: `TRADE_COLUMNS` (``side`` "long" or
    "short"; ``return`` the pnl over the entry value; ``duration`` exit minus entry time)."""
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
    last price, 0 when flat)."""
    positions = result.positions
    quantity = _numbers([p.quantity for p in positions])
    last = _numbers([p.last_price for p in positions])
    value = np.where(quantity == 0.0, 0.0, quantity * last)
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
