"""The reference engine: the bar loop and the `ctx` a strategy talks to, in plain Python.

Read `_Run.step` first: it is the whole life of one timestamp, in the order docs/semantics.md
(section 2, steps 1-6) gives. Everything else is a step of it; what happens to an order is
the broker's work (`quanta_ref.execution`). The `ctx` a strategy talks to is `RunContext`, a
window on the run that closes when the run ends (docs/semantics.md, section 15).
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from quanta_ref import indicators
from quanta_ref.actions import ActionSchedule, schedule
from quanta_ref.api import (
    Backend,
    BacktestResult,
    Context,
    SessionCore,
    Strategy,
    strategy_callbacks,
)
from quanta_ref.bars import FIELDS, Bars, bound_ns, format_timestamp, frozen_view
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
from quanta_ref.execution import Broker, trailing_level
from quanta_ref.market import RunMarket, prepare
from quanta_ref.metrics import compute_stats
from quanta_ref.orders import (
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    rejection_counts,
)
from quanta_ref.portfolio import Portfolio, PortfolioView
from quanta_ref.risk import RiskManager


class ReferenceBackend(Backend):
    """The pure-Python engine (``backend="python"``)."""

    name = "python"
    indicators = indicators

    def run(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> BacktestResult:
        return _Run(bars, strategy, config).execute()

    def session(
        self, panel: Any, strategy: Strategy, config: EngineConfig, external: bool
    ) -> SessionCore:
        return ReferenceSession(panel, strategy, config, external)


class _Run:
    """One backtest: the state of the run, its loop, and its result.

    A live session builds it over its growing panel (`quanta_ref.session.Panel`) with the
    market tables and actions of the rows so far, and steps it row by row
    (`ReferenceSession`); a backtest builds it over the whole panel and runs `execute`."""

    def __init__(
        self,
        bars: Any,
        strategy: Strategy,
        config: EngineConfig,
        market: RunMarket | None = None,
        timestamps: np.ndarray | None = None,
    ) -> None:
        self.bars = bars
        self.cfg = config
        self.timeline = Timeline(bars.timestamps if timestamps is None else timestamps)
        self.bus = EventBus()
        self._portfolio = Portfolio(bars.symbols, config.initial_cash)
        self.risk = RiskManager(config)
        self.broker = Broker(
            config,
            self._portfolio,
            self.risk,
            self.bus,
            self.timeline,
            prepare(bars, config) if market is None else market,
        )
        self.columns = {s: n for n, s in enumerate(bars.symbols)}
        self.actions: list[tuple[int, int, float, float]] = []
        self.next_action = 0
        if market is None:
            self.set_actions(schedule(bars))
        self.bars_in_market = 0
        self.recorded_equity = math.nan  # the equity of the last record step
        # External execution: the broker's reports waiting for the next row's open phase.
        self.reports: list[tuple[Any, ...]] = []
        self.signals: list[SignalEvent] = []
        self.ctx = RunContext(self)

        # Who hears what. The strategy's callbacks are subscribers like any other, looked up
        # once, here: a strategy that rebinds `on_bar` during the run changes nothing. The
        # ones it does not override do nothing and are not called.
        ctx = self.ctx
        callbacks = strategy_callbacks(strategy)
        self.on_start, self.on_end = callbacks["on_start"], callbacks["on_end"]
        on_bar, on_fill, on_order = callbacks["on_bar"], callbacks["on_fill"], callbacks["on_order"]
        self.bus.subscribe(ControlEvent, self._on_control)
        if on_bar is not None:
            self.bus.subscribe(BarEvent, lambda e: on_bar(ctx, e))
        if on_fill is not None:
            self.bus.subscribe(FillEvent, lambda e: on_fill(ctx, e.fill))
        if on_order is not None:
            self.bus.subscribe(OrderEvent, lambda e: on_order(ctx, e.order))
        self.bus.subscribe(SignalEvent, self.signals.append)

    def set_actions(self, plan: ActionSchedule | None) -> None:
        """The corporate actions of the run, in application order, as (row, column, cash,
        shares) rows; `next_action` is the first not yet applied. (A session sets the plan
        of its rows so far at each push; the plan of a longer panel begins with it.)"""
        columns = () if plan is None else (a.tolist() for a in plan.arrays())
        self.actions = list(zip(*columns, strict=True))

    # =============================================================== the loop
    def execute(self) -> BacktestResult:
        """The whole run; the context closes when it ends, however it ends."""
        try:
            return self._loop()
        finally:
            self.ctx._close()

    def _loop(self) -> BacktestResult:
        n_bars = len(self.timeline)
        equity = np.empty(n_bars)
        cash = np.empty(n_bars)
        self.bus.publish(ControlEvent(self.timeline.timestamps[0], "start"))
        for i in range(n_bars):
            self.step(i)
            equity[i], cash[i] = self.record()
        self.bus.publish(ControlEvent(self.timeline.timestamps[-1], "end"))
        return self._result(equity, cash, self.bars)

    def record(self) -> tuple[float, float]:
        """6. The bar's equity and cash at the close (the drawdown stop and the time in the
        market follow them)."""
        equity = self._portfolio.equity()
        self.risk.record_equity(equity)
        if any(p.quantity != 0.0 for p in self._portfolio.positions):
            self.bars_in_market += 1
        cash = self._portfolio.cash
        if self._portfolio.margined:
            # The margin call rule; its order changes are delivered together after it, as
            # the day's expiries are.
            self.recorded_equity = equity
            self.bus.publish(ControlEvent(self.broker.now, "margin"))
        return equity, cash

    def step(self, i: int) -> None:
        """Everything that happens at timestamp row `i`."""
        broker = self.broker
        bars = self.bars
        ts, day = self.timeline.timestamps[i], self.timeline.days[i]
        self.bus.advance_time(ts)
        broker.index = i
        broker.now = ts
        if day != broker.day:
            # 1. A new trading day: yesterday's DAY orders expire; then the corporate actions
            # whose ex-date has come apply (`_on_control`).
            self.bus.publish(ControlEvent(ts, "day"))
        # GTD orders whose last instant is before this row expire (section 21).
        broker.expire_gtd()
        o, h, lo, c, v = (getattr(bars, f)[i].tolist() for f in FIELDS)
        present = [not math.isnan(x) for x in c]
        for n in range(bars.n_symbols):
            if present[n]:
                broker.open_symbol(n, v[n])

        # 2. Open phase: live orders from earlier bars meet this bar, oldest first. A DAY
        # order's one trading day is that of the first row it is eligible at, whether its
        # symbol has a bar there or not. With external execution the engine matches nothing:
        # what the broker reported since the last row is booked here instead, in the order
        # it came (`ReferenceSession.rows`). An IOC or FOK order has this one attempt: what
        # is left of it afterwards (its fill's events delivered) is cancelled.
        if broker.external:
            self.book_reports()
        for order in [] if broker.external else list(broker.live):
            n = self.columns[order.symbol]
            if order.status.is_live and order.eligible_bar <= i:
                broker.start_day(order)
                if not broker.waits_for_close(order):
                    if present[n]:
                        broker.match_order(order, n, o[n], h[n], lo[n], c[n], at_close=False)
                    broker.end_time_in_force(order)
        # 3. The bar closes: positions are valued at the new closes, and trailing stops
        # follow them.
        for n in range(bars.n_symbols):
            if present[n]:
                self._portfolio.positions[n].last_price = c[n]
        broker.trail_stops(self.columns, present, c)
        # 4. The strategy sees the complete bar, symbol by symbol.
        for n, symbol in enumerate(bars.symbols):
            if present[n]:
                self.bus.publish(BarEvent(ts, symbol, o[n], h[n], lo[n], c[n], v[n]))
        # 5. Close phase (fill_at="close"): market orders up to now trade at this close.
        if broker.close_mode and not broker.external:
            broker.in_close_phase = True
            for order in list(broker.live):
                n = self.columns[order.symbol]
                if order.status.is_live and order.eligible_bar <= i:
                    broker.start_day(order)
                    if broker.waits_for_close(order):
                        if present[n]:
                            broker.match_order(order, n, o[n], h[n], lo[n], c[n], at_close=True)
                        broker.end_time_in_force(order)
            broker.in_close_phase = False

    def book_reports(self) -> None:
        """Book the broker's reports waiting for this row (external execution), in order."""
        reports, self.reports = self.reports, []
        for kind, order_id, *values in reports:
            order = self.broker.orders[order_id - 1]
            if kind == "fill":
                n = self.columns[order.symbol]
                self.broker.report_fill(order, n, *values)
            else:
                self.broker.report_status(order, *values)

    def _on_control(self, event: ControlEvent) -> None:
        if event.kind == "start":
            if self.on_start is not None:
                self.on_start(self.ctx)
        elif event.kind == "end":
            if self.on_end is not None:
                self.on_end(self.ctx)
        elif event.kind == "margin":
            self.broker.margin_check(self.recorded_equity)
        elif event.kind == "day":
            broker = self.broker
            broker.expire_day(event.timestamp // Timeline.NS_PER_DAY)
            # The corporate actions due at this row, in order (ex-date, then symbol column).
            # Their events queue behind the expiries, as everything published here does.
            actions, i = self.actions, broker.index
            while self.next_action < len(actions) and actions[self.next_action][0] == i:
                _, n, cash, shares = actions[self.next_action]
                self.next_action += 1
                broker.corporate_action(n, self.bars.symbols[n], cash, shares)

    # =============================================================== what ctx asks the run
    @property
    def index(self) -> int:
        """The current bar row; -1 before the first bar."""
        return self.broker.index

    @property
    def now(self) -> int:
        """The current row's timestamp (row 0's before the first bar)."""
        return self.broker.now

    def column(self, symbol: Any) -> int:
        return check_symbol(symbol, self.columns, self.bars.symbols, self.index, self.now)

    def parse(self, enum: Any, value: Any, field: str, symbol: str) -> Any:
        return check_choice(enum, value, field, symbol, self.index, self.now)

    def number(self, field: str, value: Any, symbol: str, positive: bool) -> float:
        return check_number(field, value, symbol, positive, self.index, self.now)

    def plain_order(
        self,
        symbol: Any,
        side: Any,
        quantity: Any,
        order_type: tuple[Any, str],
        limit_price: Any,
        stop_price: Any,
        time_in_force: Any,
        expire_at: Any,
    ) -> tuple[int, Side, OrderType, TimeInForce, float, float | None, float | None, int | None]:
        """The checked arguments of a plain order, in the order the checks run (the native
        context's `plain_order` runs them in the same order): (column, side, type, time in
        force, quantity, limit price, stop price, expire_at in ns). The order type comes with
        the name of its argument: `order_type`, or a bracket's `entry` (not a trailing stop)."""
        n = self.column(symbol)
        side = self.parse(Side, side, "side", symbol)
        kind = self.parse(OrderType, order_type[0], order_type[1], symbol)
        if order_type[1] == "entry" and kind is OrderType.TRAILING_STOP:
            check_bracket_entry(kind, symbol, self.index, self.now)
        tif = self.parse(TimeInForce, time_in_force, "time_in_force", symbol)
        quantity = self.number("quantity", quantity, symbol, positive=True)
        check_prices(kind, limit_price, stop_price, symbol, self.index, self.now)
        if limit_price is not None:
            limit_price = self.number("limit_price", limit_price, symbol, positive=True)
        if stop_price is not None:
            stop_price = self.number("stop_price", stop_price, symbol, positive=True)
        expire = check_expire_at(tif, expire_at, symbol, self.index, self.now)
        return n, side, kind, tif, quantity, limit_price, stop_price, expire

    def submit_target(self, symbol: str, field: str, value: Any, tif: Any, expire_at: Any) -> int:
        n = self.column(symbol)
        tif = self.parse(TimeInForce, tif, "time_in_force", symbol)
        value = self.number(field, value, symbol, positive=False)
        expire_ns = check_expire_at(tif, expire_at, symbol, self.index, self.now)
        return self.broker.submit_target(n, symbol, field, value, tif, expire_ns)

    def order(self, order_id: Any) -> Order:
        return self.broker.orders[
            check_order_id(order_id, len(self.broker.orders), self.index, self.now) - 1
        ]

    def position_copy(self, column: int) -> Position:
        pos = self._portfolio.positions[column]
        return Position(
            pos.symbol,
            pos.quantity,
            pos.average_cost,
            pos.realized_pnl,
            pos.last_price,
            pos.multiplier,
        )

    # =============================================================== result
    def _result(self, equity: np.ndarray, cash: np.ndarray, bars: Bars) -> BacktestResult:
        pf = self._portfolio
        stats = compute_stats(
            bars.timestamps,
            equity,
            self.cfg.initial_cash,
            trade_pnls=[t.pnl for t in pf.trades],
            traded_value=pf.traded_value,
            bars_in_market=self.bars_in_market,
            periods_per_year=self.cfg.periods_per_year,
        )
        stats["total_commission"] = pf.total_commission
        stats["total_tax"] = pf.total_tax
        stats["n_fills"] = float(len(pf.transactions))
        return BacktestResult(
            timestamps=bars.timestamps,
            equity=frozen_view(equity),
            cash=frozen_view(cash),
            fills=list(pf.transactions),
            orders=[o.snapshot() for o in self.broker.orders],
            trades=list(pf.trades),
            positions=[self.position_copy(n) for n in range(self.bars.n_symbols)],
            stats=stats,
            signals=list(self.signals),
            rejections=rejection_counts(self.broker.orders),
            corporate_actions=list(pf.corporate_actions),
            bars=bars,
            config=self.cfg,
        )


class ReferenceSession(SessionCore):
    """The reference's half of a live session: one `_Run` over the session's growing panel,
    stepped as rows arrive (see `SessionCore`)."""

    def __init__(self, panel: Any, strategy: Strategy, config: EngineConfig, external: bool):
        self.panel = panel
        self.strategy = strategy
        self.config = config
        self.external = external
        self.run: _Run | None = None
        self.done = 0  # rows run
        self.equity: list[float] = []
        self.cash: list[float] = []

    def rows(
        self,
        stop: int,
        market: RunMarket,
        actions: ActionSchedule | None,
        reports: list[tuple[Any, ...]],
    ) -> None:
        timestamps = self.panel.timestamps
        run = self.run
        if run is None:
            # The run begins with the panel's first row, whose timestamp is the clock's
            # before it (orders of on_start are made then, as in a backtest).
            run = _Run(self.panel, self.strategy, self.config, market, timestamps[:1])
            run.broker.external = self.external
            self.run, self.context = run, run.ctx
            run.bus.publish(ControlEvent(run.timeline.timestamps[0], "start"))
        run.timeline.extend(timestamps[len(run.timeline) : stop])
        run.broker.market = market
        run.set_actions(actions)
        run.reports = list(reports)
        for i in range(self.done, stop):
            run.step(i)
            equity, cash = run.record()
            self.equity.append(equity)
            self.cash.append(cash)
            self.done = i + 1

    def _order(self, order_id: int) -> tuple[_Run, Order, int]:
        run = self.run
        assert run is not None  # an order exists, so a row has run
        order = run.broker.orders[order_id - 1]
        return run, order, run.columns[order.symbol]

    def report_fill(
        self, order_id: int, quantity: float, price: float, commission: float, tax: float
    ) -> None:
        run, order, n = self._order(order_id)
        run.broker.report_fill(order, n, quantity, price, commission, tax)

    def report_status(self, order_id: int, status: Any, reason: str | None) -> None:
        run, order, _ = self._order(order_id)
        run.broker.report_status(order, status, reason)

    def hold(self) -> None:
        # The bus delivers what is published outside a delivery at once; as if delivering,
        # it queues instead.
        if self.run is not None:
            self.run.bus._delivering = True

    def drain(self) -> None:
        if self.run is not None:
            self.run.bus._delivering = False
            self.run.bus.publish()

    def signals_since(self, start: int) -> list[Any]:
        return [] if self.run is None else self.run.signals[start:]

    def result(self, bars: Bars) -> BacktestResult:
        assert self.run is not None
        equity = np.array(self.equity, dtype=np.float64)
        cash = np.array(self.cash, dtype=np.float64)
        return self.run._result(frozen_view(equity), frozen_view(cash), bars)

    def end(self) -> None:
        run = self.run
        assert run is not None
        try:
            run.bus.publish(ControlEvent(run.broker.now, "end"))
        finally:
            run.ctx._close()


# =================================================================== the ctx of a run
#: The refusals of a context used outside its run's callbacks (the Rust context raises the
#: same, with these texts).
CONTEXT_ENDED = "ctx: the run has ended; a context is only valid inside its run's callbacks"
CONTEXT_THREAD = (
    "ctx: used from another thread; a context is only valid on the thread running its run"
)

F = TypeVar("F", bound=Callable[..., Any])


def read_only(owner: str, name: Any) -> AttributeError:
    """The error for setting or deleting an attribute of a context or its portfolio."""
    return AttributeError(
        f"{owner}: attribute {name!r} cannot be set or deleted; it is read-only (keep a "
        "strategy's own state on the strategy)"
    )


def call_shape(owner: str) -> Callable[[F], F]:
    """A context method whose wrong call shapes (missing, extra or unknown arguments) raise
    the `TypeError` the native context raises, word for word: ``Context.buy() missing 1
    required positional argument: 'quantity'``. The native context's arguments are bound by
    PyO3, which counts arguments without `self` and calls the class `Context`; this follows
    its rules (`pyo3::impl_::extract_argument`) so both backends say the same."""

    def wrap(method: F) -> F:
        params = list(inspect.signature(method).parameters.values())[1:]  # without self
        names = [p.name for p in params]
        required = sum(p.default is inspect.Parameter.empty for p in params)
        full = f"{owner}.{method.__name__}()"

        def shape_error(args: tuple[Any, ...], kwargs: dict[str, Any]) -> TypeError | None:
            if not names:  # PyO3 passes no-argument methods to CPython (METH_NOARGS)
                if kwargs:
                    return TypeError(f"{full} takes no keyword arguments")
                return TypeError(f"{full} takes no arguments ({len(args)} given)")
            if len(args) > len(names):
                was = "was" if len(args) == 1 else "were"
                takes = f"from {required} to {len(names)}" if required < len(names) else required
                return TypeError(
                    f"{full} takes {takes} positional arguments but {len(args)} {was} given"
                )
            given = set(names[: len(args)])
            for key in kwargs:
                if key not in names:
                    return TypeError(f"{full} got an unexpected keyword argument '{key}'")
                if key in given:
                    return TypeError(f"{full} got multiple values for argument '{key}'")
                given.add(key)
            missing = [f"'{n}'" for n in names[:required] if n not in given]
            if not missing:
                return None
            listed = missing[0] if len(missing) == 1 else ""
            if len(missing) > 1:
                listed = (", " if len(missing) > 2 else " ").join(missing[:-1])
                listed += (", and " if len(missing) > 2 else " and ") + missing[-1]
            plural = "argument" if len(missing) == 1 else "arguments"
            return TypeError(
                f"{full} missing {len(missing)} required positional {plural}: {listed}"
            )

        @functools.wraps(method)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except TypeError as exc:
                # Raised by the call itself (no frame inside the method): a wrong call shape.
                inside = exc.__traceback__ is not None and exc.__traceback__.tb_next is not None
                error = None if inside else shape_error(args, kwargs)
                if error is None:
                    raise
                raise error from None

        return checked  # type: ignore[return-value]

    return wrap


class RunContext(Context):
    """The `ctx` of a reference run: a window on the run, valid only inside its callbacks.

    It reads and acts while the run is going, on the thread running it; when the run ends
    (however it ends) it closes, and every use raises `OrderError` (`CONTEXT_ENDED`), as one
    from another thread does (`CONTEXT_THREAD`). Its attributes cannot be set."""

    __slots__ = ("_run", "_thread")
    _run: _Run | None
    _thread: int

    def __init__(self, run: _Run) -> None:
        object.__setattr__(self, "_run", run)
        object.__setattr__(self, "_thread", threading.get_ident())

    def _live(self) -> _Run:
        """The run, or OrderError when the context is used from another thread or after the
        run (checked in that order, as in the native context)."""
        if threading.get_ident() != self._thread:
            raise OrderError(CONTEXT_THREAD)
        run: _Run | None = self._run
        if run is None:
            raise OrderError(CONTEXT_ENDED)
        return run

    def _close(self) -> None:
        object.__setattr__(self, "_run", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise read_only("ctx", name)

    def __delattr__(self, name: str) -> None:
        raise read_only("ctx", name)

    # =============================================================== ctx: orders
    @call_shape("Context")
    def submit_order(
        self,
        symbol: str,
        side: Any,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
    ) -> int:
        run = self._live()
        n, side, kind, tif, quantity, limit_price, stop_price, expire_ns = run.plain_order(
            symbol, side, quantity, (order_type, "order_type"), limit_price, stop_price,
            time_in_force, expire_at,
        )  # fmt: skip
        amount, percent = check_trail(kind, trail_amount, trail_percent, symbol, run.index, run.now)
        if kind is OrderType.TRAILING_STOP:
            # The initial level, from the last close; without one the order is refused
            # `no_price` at acceptance (it has no stop price then).
            last = run._portfolio.positions[n].last_price
            if not math.isnan(last):
                stop_price = trailing_level(side, last, amount, percent)
                check_trailing_level(stop_price, last, amount, percent, symbol, run.index, run.now)
        return run.broker.submit_order(
            n,
            symbol,
            side,
            quantity,
            kind,
            limit_price,
            stop_price,
            tif,
            expire_ns,
            amount,
            percent,
        )

    buy = call_shape("Context")(Context.buy)
    sell = call_shape("Context")(Context.sell)

    @call_shape("Context")
    def order_target_quantity(
        self, symbol: str, quantity: float, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int:
        return self._live().submit_target(
            symbol, "target_quantity", quantity, time_in_force, expire_at
        )

    @call_shape("Context")
    def order_target_percent(
        self, symbol: str, weight: float, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int:
        return self._live().submit_target(
            symbol, "target_percent", weight, time_in_force, expire_at
        )

    @call_shape("Context")
    def cancel(self, order_id: int) -> bool:
        run = self._live()
        return run.broker.cancel(run.order(order_id))

    @call_shape("Context")
    def oco(self, order_ids: Any) -> int:
        run = self._live()
        broker = run.broker
        ids = check_oco_ids(order_ids, len(broker.orders), run.index, run.now)
        orders = [broker.orders[order_id - 1] for order_id in ids]
        for order in orders:
            check_oco_member(order.order_id, order.status, order.oco_group, run.index, run.now)
        return broker.oco(orders)

    @call_shape("Context")
    def bracket(
        self,
        symbol: str,
        side: Any,
        quantity: float,
        entry: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
    ) -> int:
        run = self._live()
        n, side, kind, tif, quantity, limit_price, stop_price, expire = run.plain_order(
            symbol, side, quantity, (entry, "entry"), limit_price, stop_price, time_in_force,
            expire_at,
        )  # fmt: skip
        levels = check_bracket_levels(side, stop_loss, take_profit, symbol, run.index, run.now)
        return run.broker.submit_bracket(
            n, symbol, side, quantity, kind, limit_price, stop_price, tif, expire, *levels
        )

    @call_shape("Context")
    def get_order(self, order_id: int) -> Order:
        return self._live().order(order_id).snapshot()

    @call_shape("Context")
    def open_orders(self) -> list[Order]:
        return [order.snapshot() for order in self._live().broker.live]

    # =============================================================== ctx: account and data
    @call_shape("Context")
    def position(self, symbol: str) -> float:
        run = self._live()
        return run._portfolio.positions[run.column(symbol)].quantity

    @call_shape("Context")
    def get_position(self, symbol: str) -> Position:
        run = self._live()
        return run.position_copy(run.column(symbol))

    @property
    def cash(self) -> float:
        return self._live()._portfolio.cash

    @property
    def equity(self) -> float:
        return self._live()._portfolio.equity()

    @property
    def portfolio(self) -> PortfolioView:
        self._live()
        return RunPortfolio(self)

    @property
    def now(self) -> int | None:
        run = self._live()
        return None if run.index < 0 else run.now

    @property
    def bar_index(self) -> int:
        return self._live().index

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._live().bars.symbols

    @call_shape("Context")
    def history(self, symbol: str, field: str = "close", length: int | None = None) -> np.ndarray:
        run = self._live()
        return history_view(run.bars, run.column(symbol), run.index, field, length)

    @call_shape("Context")
    def signal(self, name: str, value: float, symbol: str | None = None) -> None:
        run = self._live()
        if symbol is not None:
            run.column(symbol)
        run.bus.publish(make_signal(name, value, symbol, run.index, run.now))


class RunPortfolio(PortfolioView):
    """`ctx.portfolio` of a reference run: the run's account, read-only, and closed with its
    context."""

    __slots__ = ("_context",)
    _context: RunContext

    def __init__(self, context: RunContext) -> None:
        object.__setattr__(self, "_portfolio", context._live()._portfolio)
        object.__setattr__(self, "_context", context)

    # A repr never raises, even after the run (as the native portfolio's).
    __repr__ = object.__repr__

    def __setattr__(self, name: str, value: Any) -> None:
        raise read_only("ctx.portfolio", name)

    def __delattr__(self, name: str) -> None:
        raise read_only("ctx.portfolio", name)

    @property
    def cash(self) -> float:  # type: ignore[override]  # the contract's attribute, read-only
        self._context._live()
        return self._portfolio.cash

    @call_shape("Portfolio")
    def equity(self) -> float:
        self._context._live()
        return self._portfolio.equity()

    @call_shape("Portfolio")
    def position_of(self, symbol: str) -> Position:
        self._context._live()
        return self._portfolio.position_of(symbol)

    @call_shape("Portfolio")
    def check_margin(
        self,
        column: int,
        side: Side,
        quantity: float,
        price: float,
        max_leverage: float,
        equity: float,
    ) -> bool:
        self._context._live()
        checked = check_margin_arguments(column, side, quantity, price, max_leverage, equity)
        return self._portfolio.check_margin(*checked)


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
    """`enum.parse(value)`, the error naming the symbol and the bar. A bracket's `entry`
    names the order types a bracket takes (no trailing stop)."""
    try:
        return enum.parse(value, field)
    except OrderError as exc:
        message = str(exc)
        if field == "entry":
            message = message.replace(", 'trailing_stop'", "")
        raise OrderError(f"{message} (symbol {symbol!r}, {describe_bar(index, now)})") from None


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


def check_expire_at(tif: Any, expire_at: Any, symbol: str, index: int, now: int) -> int | None:
    """A GTD order's `expire_at` as int ns (a date keeps the whole day), or None for the
    other times in force, which refuse one; OrderError otherwise. `tif` is a TimeInForce
    (or its value). An `expire_at` before the current row is refused: the order would be
    expired before it could trade."""
    tif = TimeInForce(tif)
    gtd = tif is TimeInForce.GTD
    where = f"symbol {symbol!r}, {describe_bar(index, now)}"
    if expire_at is None:
        if gtd:
            raise OrderError(f"expire_at: required for a gtd order ({where})")
        return None
    if not gtd:
        raise OrderError(f"expire_at: not used by a {tif.value} order ({where})")
    try:
        ns = bound_ns(expire_at, "expire_at", end=True)
    except DataError as exc:
        raise OrderError(f"{exc} ({where})") from None
    if ns < now:
        raise OrderError(
            f"expire_at: {format_timestamp(ns)} is before the current bar; the order would "
            f"expire before it could trade ({where})"
        )
    return ns


def check_trail(
    kind: Any, trail_amount: Any, trail_percent: Any, symbol: str, index: int, now: int
) -> tuple[float | None, float | None]:
    """A trailing stop's (trail_amount, trail_percent): exactly one given, an amount finite
    > 0 or a fraction 0 < p < 1; the other order types take neither. OrderError otherwise.
    `kind` is an OrderType (or its value)."""
    kind = OrderType(kind)
    where = f"symbol {symbol!r}, {describe_bar(index, now)}"
    pairs = (("trail_amount", trail_amount), ("trail_percent", trail_percent))
    given = [(field, value) for field, value in pairs if value is not None]
    if kind is not OrderType.TRAILING_STOP:
        if given:
            raise OrderError(f"{given[0][0]}: not used by a {kind.value} order ({where})")
        return None, None
    if not given:
        raise OrderError(
            f"trail_amount: a trailing_stop order needs trail_amount or trail_percent ({where})"
        )
    if len(given) == 2:
        raise OrderError(
            f"trail_percent: a trailing_stop order takes trail_amount or trail_percent, "
            f"not both ({where})"
        )
    field, value = given[0]
    number = check_number(field, value, symbol, True, index, now)
    if field == "trail_amount":
        return number, None
    if not number < 1.0:
        raise OrderError(
            f"trail_percent: must be a fraction between 0 and 1, got {number!r} ({where})"
        )
    return None, number


def check_trailing_level(
    level: float,
    reference: float,
    trail_amount: float | None,
    trail_percent: float | None,
    symbol: str,
    index: int,
    now: int,
) -> None:
    """A trailing stop's initial level must be a finite price > 0 (a sell trailing by more
    than the last close is not), else OrderError naming the trail field."""
    if math.isfinite(level) and level > 0.0:
        return
    field = "trail_amount" if trail_amount is not None else "trail_percent"
    distance = trail_amount if trail_amount is not None else trail_percent
    raise OrderError(
        f"{field}: {distance!r} from the last close {reference!r} puts the stop at {level!r}, "
        f"not a price > 0 (symbol {symbol!r}, {describe_bar(index, now)})"
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


def check_oco_ids(order_ids: Any, n_orders: int, index: int, now: int) -> list[int]:
    """The ids of a one-cancels-other group: a list or tuple of two or more distinct ids of
    orders of the run (1..n_orders), as ints; else OrderError naming `order_ids`."""
    where = describe_bar(index, now)
    if not isinstance(order_ids, (list, tuple)):
        raise OrderError(
            f"order_ids: expected a list or tuple of order ids, got {order_ids!r} ({where})"
        )
    if len(order_ids) < 2:
        raise OrderError(
            f"order_ids: a one-cancels-other group needs two or more orders, got "
            f"{len(order_ids)} ({where})"
        )
    ids: list[int] = []
    for order_id in order_ids:
        if (
            isinstance(order_id, bool)
            or not isinstance(order_id, (int, np.integer))
            or not 1 <= order_id <= n_orders
        ):
            raise OrderError(f"order_ids: no order {order_id!r} ({where})")
        if int(order_id) in ids:
            raise OrderError(f"order_ids: order {int(order_id)} is given twice ({where})")
        ids.append(int(order_id))
    return ids


def check_oco_member(order_id: int, status: Any, group: int | None, index: int, now: int) -> None:
    """OrderError naming `order_ids` unless order `order_id` (with `status`, an `OrderStatus`
    or its name, and one-cancels-other `group`) can join a group: it must be live and in no
    group yet (an order is in at most one group, ever)."""
    where = describe_bar(index, now)
    status = OrderStatus(status)
    if not status.is_live:
        raise OrderError(
            f"order_ids: order {order_id} is {status.value}, not live; only live orders form "
            f"a one-cancels-other group ({where})"
        )
    if group is not None:
        raise OrderError(
            f"order_ids: order {order_id} is already in one-cancels-other group {group} ({where})"
        )


def check_bracket_entry(kind: Any, symbol: str, index: int, now: int) -> None:
    """A bracket's entry is a market, limit, stop or stop-limit order: OrderError for a
    trailing stop (its exits would need a level it does not have until it triggers)."""
    kind = OrderType(kind)
    if kind is OrderType.TRAILING_STOP:
        raise OrderError(
            f"entry: a bracket's entry is a market, limit, stop or stop_limit order, got "
            f"{kind.value!r} (symbol {symbol!r}, {describe_bar(index, now)})"
        )


def check_bracket_levels(
    side: Any, stop_loss: Any, take_profit: Any, symbol: str, index: int, now: int
) -> tuple[float | None, float | None]:
    """A bracket's exit prices: each given one a finite number > 0, at least one of them,
    and for a buy the stop-loss below the take-profit (a sell: above); else OrderError."""
    levels = [
        None if value is None else check_number(field, value, symbol, True, index, now)
        for field, value in (("stop_loss", stop_loss), ("take_profit", take_profit))
    ]
    low, high = levels
    where = f"symbol {symbol!r}, {describe_bar(index, now)}"
    if low is None and high is None:
        raise OrderError(f"stop_loss, take_profit: a bracket needs one or both ({where})")
    if low is not None and high is not None:
        buy = Side(side) is Side.BUY
        if (low >= high) if buy else (low <= high):
            need = "below" if buy else "above"
            kind = "buy" if buy else "sell"
            raise OrderError(
                f"stop_loss: must be {need} take_profit for a {kind} bracket, got "
                f"stop_loss={low!r} and take_profit={high!r} ({where})"
            )
    return low, high


def check_margin_arguments(
    column: Any, side: Any, quantity: Any, price: Any, max_leverage: Any, equity: Any
) -> tuple[int, Side, float, float, float, float]:
    """The arguments of `ctx.portfolio.check_margin` as (int, Side, float x 4), or OrderError
    naming the first bad one. A column outside the panel is no symbol's; an int too large for
    a float counts as infinite."""
    if isinstance(column, bool) or not isinstance(column, (int, np.integer)):
        raise OrderError(f"column: expected a whole number (a data column), got {column!r}")
    side = Side.parse(side, "side")
    numbers = []
    for field, value in (
        ("quantity", quantity),
        ("price", price),
        ("max_leverage", max_leverage),
        ("equity", equity),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise OrderError(f"{field}: expected a number, got {value!r}")
        try:
            numbers.append(float(value))
        except OverflowError:
            numbers.append(math.inf if value > 0 else -math.inf)
    return int(column), side, numbers[0], numbers[1], numbers[2], numbers[3]


def history_view(bars: Bars, column: int, index: int, field: str, length: int | None) -> np.ndarray:
    """Read-only view of `field` of one column up to row `index` (the last `length` rows)."""

    def where() -> str:
        bar = describe_bar(index, int(bars.timestamps[max(index, 0)]))
        return f"symbol {bars.symbols[column]!r}, {bar}"

    if not isinstance(field, str) or field not in FIELDS:
        raise DataError(f"field: {field!r} is not one of {FIELDS} ({where()})")
    values: np.ndarray = getattr(bars, field)[: index + 1, column]
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise DataError(f"length: expected a whole number >= 0, got {length!r} ({where()})")
        values = values[max(0, len(values) - int(length)) :]
    return values


def make_signal(name: Any, value: Any, symbol: str | None, index: int, now: int) -> SignalEvent:
    """A checked `SignalEvent` (the symbol is checked by the caller): a string name, and a
    number that is finite or NaN ("no value")."""
    if not isinstance(name, str):
        raise OrderError(
            f"name: a signal name must be a string, got {name!r} ({describe_bar(index, now)})"
        )
    where = f"signal {name!r}, {describe_bar(index, now)}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OrderError(f"value: a signal value must be a number, got {value!r} ({where})")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf  # an int too large for a float
    if math.isinf(number):
        raise OrderError(
            f"value: a signal value must be a finite number or NaN, got {number!r} ({where})"
        )
    return SignalEvent(now, symbol, str(name), number)
