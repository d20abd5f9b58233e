"""The reference engine: the bar loop and the `ctx` a strategy talks to, in plain Python.

Read `_Run.step` first: it is the whole life of one timestamp, in the order docs/semantics.md
(section 2, steps 1-6) gives. Everything else is a step of it; what happens to an order is
the broker's work (`quanta_ref.execution`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quanta_ref import indicators
from quanta_ref.api import Backend, BacktestResult, Context, Strategy
from quanta_ref.bars import FIELDS, Bars, format_timestamp
from quanta_ref.config import EngineConfig
from quanta_ref.errors import DataError, OrderError
from quanta_ref.events import (
    BarEvent,
    ControlEvent,
    EventBus,
    FillEvent,
    OrderEvent,
    SignalEvent,
    Timeline,
)
from quanta_ref.execution import Broker
from quanta_ref.metrics import compute_stats
from quanta_ref.orders import Order, OrderType, Position, Side, TimeInForce
from quanta_ref.portfolio import Portfolio, PortfolioView
from quanta_ref.risk import RiskManager


class ReferenceBackend(Backend):
    """The pure-Python engine (``backend="python"``)."""

    name = "python"
    indicators = indicators

    def run(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> BacktestResult:
        return _Run(bars, strategy, config).execute()


class _Run(Context):
    """One backtest: the state of the run, and the `ctx` the strategy talks to."""

    def __init__(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> None:
        self.bars = bars
        self.strategy = strategy
        self.cfg = config
        self.timeline = Timeline(bars.timestamps)
        self.bus = EventBus()
        self._portfolio = Portfolio(bars.symbols, config.initial_cash)
        self._view = PortfolioView(self._portfolio)
        self.risk = RiskManager(config)
        self.broker = Broker(config, self._portfolio, self.risk, self.bus, self.timeline)
        self.columns = {s: n for n, s in enumerate(bars.symbols)}
        self.signals: list[SignalEvent] = []

        # Who hears what. The strategy's callbacks are subscribers like any other.
        self.bus.subscribe(ControlEvent, self._on_control)
        self.bus.subscribe(BarEvent, lambda e: strategy.on_bar(self, e))
        self.bus.subscribe(FillEvent, lambda e: strategy.on_fill(self, e.fill))
        self.bus.subscribe(OrderEvent, lambda e: strategy.on_order(self, e.order))
        self.bus.subscribe(SignalEvent, self.signals.append)

    # =============================================================== the loop
    def execute(self) -> BacktestResult:
        n_bars = len(self.timeline)
        equity = np.empty(n_bars)
        cash = np.empty(n_bars)
        bars_in_market = 0
        self.bus.publish(ControlEvent(self.timeline.timestamps[0], "start"))
        for i in range(n_bars):
            self.step(i)
            # 6. Record the bar's equity and cash.
            equity[i] = self._portfolio.equity()
            cash[i] = self._portfolio.cash
            self.risk.record_equity(equity[i])
            if any(p.quantity != 0.0 for p in self._portfolio.positions):
                bars_in_market += 1
        self.bus.publish(ControlEvent(self.timeline.timestamps[-1], "end"))
        return self._result(equity, cash, bars_in_market)

    def step(self, i: int) -> None:
        """Everything that happens at timestamp row `i`."""
        broker = self.broker
        ts, day = self.timeline.timestamps[i], self.timeline.days[i]
        self.bus.advance_time(ts)
        broker.index = i
        broker.now = ts
        if day != broker.day:
            # 1. A new trading day: yesterday's DAY orders expire.
            self.bus.publish(ControlEvent(ts, "day"))
        bars = self.bars
        o, h, lo, c, v = (getattr(bars, f)[i].tolist() for f in FIELDS)
        present = [not math.isnan(x) for x in c]
        for n in range(bars.n_symbols):
            if present[n]:
                broker.open_symbol(n, v[n])

        # 2. Open phase: live orders from earlier bars meet this bar, oldest first.
        for order in list(broker.live):
            n = self.columns[order.symbol]
            if (
                order.status.is_live
                and order.eligible_bar <= i
                and present[n]
                and not broker.waits_for_close(order)
            ):
                broker.match_order(order, n, o[n], h[n], lo[n], c[n], at_close=False)
        # 3. The bar closes: positions are valued at the new closes.
        for n in range(bars.n_symbols):
            if present[n]:
                self._portfolio.positions[n].last_price = c[n]
        # 4. The strategy sees the complete bar, symbol by symbol.
        for n, symbol in enumerate(bars.symbols):
            if present[n]:
                self.bus.publish(BarEvent(ts, symbol, o[n], h[n], lo[n], c[n], v[n]))
        # 5. Close phase (fill_at="close"): market orders up to now trade at this close.
        if broker.close_mode:
            broker.in_close_phase = True
            for order in list(broker.live):
                n = self.columns[order.symbol]
                if (
                    order.status.is_live
                    and order.eligible_bar <= i
                    and present[n]
                    and broker.waits_for_close(order)
                ):
                    broker.match_order(order, n, o[n], h[n], lo[n], c[n], at_close=True)
            broker.in_close_phase = False

    def _on_control(self, event: ControlEvent) -> None:
        if event.kind == "start":
            self.strategy.on_start(self)
        elif event.kind == "end":
            self.strategy.on_end(self)
        elif event.kind == "day":
            self.broker.expire_day(event.timestamp // Timeline.NS_PER_DAY)

    # =============================================================== ctx: orders
    @property
    def index(self) -> int:
        """The current bar row; -1 before the first bar."""
        return self.broker.index

    def _now(self) -> int:
        return self.broker.now

    def _column(self, symbol: Any) -> int:
        return check_symbol(symbol, self.columns, self.bars.symbols, self.index, self._now())

    def _parse(self, enum: Any, value: Any, field: str, symbol: str) -> Any:
        return check_choice(enum, value, field, symbol, self.index, self._now())

    def _number(self, field: str, value: Any, symbol: str, positive: bool) -> float:
        return check_number(field, value, symbol, positive, self.index, self._now())

    def submit_order(
        self,
        symbol: str,
        side: Any,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
    ) -> int:
        n = self._column(symbol)
        side = self._parse(Side, side, "side", symbol)
        kind = self._parse(OrderType, order_type, "order_type", symbol)
        tif = self._parse(TimeInForce, time_in_force, "time_in_force", symbol)
        quantity = self._number("quantity", quantity, symbol, positive=True)
        check_prices(kind, limit_price, stop_price, symbol, self.index, self._now())
        limit_price = (
            None
            if limit_price is None
            else self._number("limit_price", limit_price, symbol, positive=True)
        )
        stop_price = (
            None
            if stop_price is None
            else self._number("stop_price", stop_price, symbol, positive=True)
        )
        return self.broker.submit_order(
            n, symbol, side, quantity, kind, limit_price, stop_price, tif
        )

    def _submit_target(self, symbol: str, field: str, value: Any, tif: Any) -> int:
        n = self._column(symbol)
        tif = self._parse(TimeInForce, tif, "time_in_force", symbol)
        value = self._number(field, value, symbol, positive=False)
        return self.broker.submit_target(n, symbol, field, value, tif)

    def order_target_quantity(
        self, symbol: str, quantity: float, time_in_force: Any = "gtc"
    ) -> int:
        return self._submit_target(symbol, "target_quantity", quantity, time_in_force)

    def order_target_percent(self, symbol: str, weight: float, time_in_force: Any = "gtc") -> int:
        return self._submit_target(symbol, "target_percent", weight, time_in_force)

    def cancel(self, order_id: int) -> bool:
        return self.broker.cancel(self._order(order_id))

    def _order(self, order_id: Any) -> Order:
        return self.broker.orders[
            check_order_id(order_id, len(self.broker.orders), self.index, self._now()) - 1
        ]

    def get_order(self, order_id: int) -> Order:
        return self._order(order_id).snapshot()

    def open_orders(self) -> list[Order]:
        return [order.snapshot() for order in self.broker.live]

    # =============================================================== ctx: account and data
    def position(self, symbol: str) -> float:
        return self._portfolio.positions[self._column(symbol)].quantity

    def get_position(self, symbol: str) -> Position:
        pos = self._portfolio.positions[self._column(symbol)]
        return Position(
            pos.symbol, pos.quantity, pos.average_cost, pos.realized_pnl, pos.last_price
        )

    @property
    def cash(self) -> float:
        return self._portfolio.cash

    @property
    def equity(self) -> float:
        return self._portfolio.equity()

    @property
    def portfolio(self) -> PortfolioView:
        return self._view

    @property
    def now(self) -> int | None:
        return None if self.index < 0 else self.timeline.timestamps[self.index]

    @property
    def bar_index(self) -> int:
        return self.index

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.bars.symbols

    def history(self, symbol: str, field: str = "close", length: int | None = None) -> np.ndarray:
        return history_view(self.bars, self._column(symbol), self.index, field, length)

    def signal(self, name: str, value: float, symbol: str | None = None) -> None:
        if symbol is not None:
            self._column(symbol)
        self.bus.publish(make_signal(name, value, symbol, self._now()))

    # =============================================================== result
    def _result(self, equity: np.ndarray, cash: np.ndarray, bars_in_market: int) -> BacktestResult:
        pf = self._portfolio
        stats = compute_stats(
            self.bars.timestamps,
            equity,
            self.cfg.initial_cash,
            trade_pnls=[t.pnl for t in pf.trades],
            traded_value=pf.traded_value,
            bars_in_market=bars_in_market,
            periods_per_year=self.cfg.periods_per_year,
        )
        stats["total_commission"] = pf.total_commission
        stats["total_tax"] = pf.total_tax
        stats["n_fills"] = float(len(pf.transactions))
        return BacktestResult(
            timestamps=self.bars.timestamps,
            equity=equity,
            cash=cash,
            fills=list(pf.transactions),
            orders=[o.snapshot() for o in self.broker.orders],
            trades=list(pf.trades),
            positions=[self.get_position(s) for s in self.bars.symbols],
            stats=stats,
            signals=list(self.signals),
        )


# =================================================================== ctx argument checks
# Shared by both backends: the Rust context handles the common well-formed arguments itself
# and calls these for anything else, so every message is written once.
def describe_bar(index: int, now: int) -> str:
    """Where the run is, for error messages: "bar 12 (2024-01-15T00:00:00)"."""
    if index < 0:
        return "before the first bar"
    return f"bar {index} ({format_timestamp(now)})"


def check_symbol(
    symbol: Any, columns: dict[str, int], symbols: tuple[str, ...], index: int, now: int
) -> int:
    """The column of `symbol`, or OrderError."""
    if not isinstance(symbol, str) or symbol not in columns:
        raise OrderError(
            f"symbol: unknown symbol {symbol!r} at {describe_bar(index, now)}; "
            f"the data has {list(symbols)}"
        )
    return columns[symbol]


def check_choice(enum: Any, value: Any, field: str, symbol: str, index: int, now: int) -> Any:
    """`enum.parse(value)`, the error naming the symbol and the bar."""
    try:
        return enum.parse(value, field)
    except OrderError as exc:
        raise OrderError(f"{exc} (symbol {symbol!r}, {describe_bar(index, now)})") from None


def check_number(
    field: str, value: Any, symbol: str, positive: bool, index: int, now: int
) -> float:
    """`value` as a finite float (> 0 if `positive`), or OrderError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OrderError(
            f"{field}: expected a number, got {value!r} (symbol {symbol!r}, "
            f"{describe_bar(index, now)})"
        )
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or (positive and value <= 0.0):
        need = "a finite number > 0" if positive else "a finite number"
        raise OrderError(
            f"{field}: must be {need}, got {value!r} (symbol {symbol!r}, "
            f"{describe_bar(index, now)})"
        )
    return value


def check_prices(
    kind: OrderType, limit_price: Any, stop_price: Any, symbol: str, index: int, now: int
) -> None:
    """Limit and stop prices are given exactly when the order type uses them."""
    for field, value, needed in (
        ("limit_price", limit_price, kind.uses_limit_price),
        ("stop_price", stop_price, kind.uses_stop_price),
    ):
        if needed and value is None:
            raise OrderError(
                f"{field}: required for a {kind.value} order (symbol "
                f"{symbol!r}, {describe_bar(index, now)})"
            )
        if not needed and value is not None:
            raise OrderError(
                f"{field}: not used by a {kind.value} order (symbol "
                f"{symbol!r}, {describe_bar(index, now)})"
            )


def check_order_id(order_id: Any, n_orders: int, index: int, now: int) -> int:
    """`order_id` as an int in 1..n_orders, or OrderError."""
    if (
        isinstance(order_id, bool)
        or not isinstance(order_id, (int, np.integer))
        or not 1 <= order_id <= n_orders
    ):
        raise OrderError(f"order_id: no order {order_id!r} ({describe_bar(index, now)})")
    return int(order_id)


def history_view(bars: Bars, column: int, index: int, field: str, length: int | None) -> np.ndarray:
    """Read-only view of `field` of one column up to row `index` (the last `length` rows)."""
    if field not in FIELDS:
        raise DataError(f"field: {field!r} is not one of {FIELDS}")
    values: np.ndarray = getattr(bars, field)[: index + 1, column]
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise DataError(f"length: expected a whole number >= 0, got {length!r}")
        values = values[max(0, len(values) - int(length)) :]
    return values


def make_signal(name: Any, value: Any, symbol: str | None, now: int) -> SignalEvent:
    """A checked `SignalEvent` (the symbol is checked by the caller)."""
    if not isinstance(name, str):
        raise OrderError(f"name: a signal name must be a string, got {name!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OrderError(f"value: a signal value must be a number, got {value!r}")
    return SignalEvent(now, symbol, name, float(value))
