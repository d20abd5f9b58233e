"""Live sessions: a run that has not finished, fed one timestamp at a time.

``session = engine.session(strategy, symbols=[...], history=None)`` starts a run whose bars
arrive later: `Session.push` feeds one timestamp (the bars of every symbol, NaN where a symbol
has none) and returns a `Step`, what happened at it. The run is the batch run's: pushing a
panel row by row gives the fills, orders, trades, equity and stats of `engine.run` on that
panel, bit for bit, on both backends (docs/semantics.md, section 20). What differs is only
where orders go:

* **paper** (the default): the engine matches them by its own rules on the bars pushed
  afterwards, as in a backtest;
* **external**: accepted orders go to a broker object (`Broker`: ``submit(order)``,
  ``cancel(order_id)``), and the broker's fills and status changes come back through
  `Session.report_fill` and `Session.report_status`; the engine never matches, expires or
  cancels an order itself.

A session survives a restart: `Session.snapshot` returns bytes (or writes a file) from which
`Session.restore` continues, in another process and on either backend. The snapshot holds the
bars so far, every request the strategy made and every report, each at the delivery it was
made in, and the strategy itself (pickled). Restoring rebuilds the engine's state by running
the same rows with the same requests, without calling the strategy or the broker (nothing is
sent twice, no callback runs twice), checks that the rebuilt state is the recorded one, and
then hands the unpickled strategy the rest of the run.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import struct
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from quanta_ref.actions import schedule
from quanta_ref.api import BacktestResult, Context, SessionCore, Strategy, strategy_callbacks
from quanta_ref.bars import (
    _FIRST_INTEGER_NS,
    FIELDS,
    Bars,
    _validate,
    as_floats,
    format_timestamp,
    one_timestamp,
)
from quanta_ref.config import SCHEDULED, EngineConfig
from quanta_ref.engine import call_shape, check_number
from quanta_ref.errors import ConfigError, DataError, OrderError, QuantaError, SnapshotError
from quanta_ref.events import SignalEvent
from quanta_ref.market import RunMarket, prepare
from quanta_ref.orders import Fill, Order, OrderStatus, Reason

#: The modes of a session.
MODES = ("paper", "external")
#: What `report_status` accepts, and the reason an order gets when none is given.
REPORTED = {
    "cancelled": (OrderStatus.CANCELLED, None),
    "rejected": (OrderStatus.REJECTED, Reason.BROKER),
    "expired": (OrderStatus.EXPIRED, Reason.EXPIRED),
}
#: Reasons a report may give (`quanta_ref.orders.Reason`).
REASONS = tuple(v for k, v in vars(Reason).items() if k.isupper())

SNAPSHOT_MAGIC = b"QUANTA-SESSION\n"
#: The snapshot format this version writes and reads.
SNAPSHOT_FORMAT = 1


class Broker(Protocol):
    """What an external broker implements (``engine.session(..., mode="external",
    broker=...)``). quanta ships no adapter: this protocol is how one is written.

    Both methods are called on the session's thread, inside the push (or report) during
    which the strategy made the request. They may report back at once
    (`Session.report_status` from `cancel`, a rejection from `submit`), or later, from the
    thread that owns the session: a broker's own callbacks usually arrive on another thread,
    so an adapter queues them and reports them between pushes.
    """

    def submit(self, order: Order) -> None:
        """Send `order` (accepted by the engine's checks: lots, cash, position, risk). Its
        `order_id` is how the session knows it in reports."""

    def cancel(self, order_id: int) -> None:
        """Ask to cancel a live order. The order stays live in the session until the broker
        reports it cancelled (or filled)."""


@dataclass(slots=True)
class Step:
    """What happened at one push (or over the rows of `push_bars`).

    Attributes
    ----------
    timestamp : int
        The (last) timestamp pushed, int64 ns.
    rows : range
        The panel rows this push ran.
    submitted : list of Order
        Orders the strategy made (as they were when made: live, or REJECTED by the checks).
    updates : list of Order
        Every order status change, in order (submissions included), each the order's state
        right after the change.
    fills : list of Fill
        The fills.
    signals : list of SignalEvent
        The signals the strategy published.
    """

    timestamp: int
    rows: range
    submitted: list[Order]
    updates: list[Order]
    fills: list[Fill]
    signals: list[SignalEvent]

    @property
    def cancelled(self) -> list[Order]:
        """The updates that cancelled an order (by the strategy, the broker or the engine)."""
        return [o for o in self.updates if o.status is OrderStatus.CANCELLED]

    def __repr__(self) -> str:
        return (
            f"Step({format_timestamp(self.timestamp)}, rows {self.rows.start}..{self.rows.stop}"
            f", {len(self.submitted)} submitted, {len(self.updates)} updates, "
            f"{len(self.fills)} fills, {len(self.signals)} signals)"
        )


# =================================================================== the growing panel
class Panel:
    """The bars of a session so far: buffers of `capacity` rows, the first `n_bars` filled.

    Engines read `symbols`, `timestamps` and the five fields (read-only views of the
    buffers); the buffers grow by doubling, so these attributes are rebound then.
    `listing_dates` and `actions` are the history's market data (the price-limit rule and
    the corporate actions read them)."""

    timestamps: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __init__(
        self, symbols: tuple[str, ...], listing_dates: Any = None, actions: Any = None
    ) -> None:
        self.symbols = symbols
        self._ts = np.zeros(0, dtype=np.int64)
        # The five fields in one (5, capacity, N) buffer, field by field.
        self.fields = np.zeros((5, 0, len(symbols)))
        self.n_symbols = len(symbols)
        self.n_bars = 0
        self.last = 0  # the last row's timestamp (when there is one)
        self.listing_dates = listing_dates
        self.actions = actions
        self._grow(64)

    def _grow(self, capacity: int) -> None:
        n = self.n_bars
        ts = np.zeros(capacity, dtype=np.int64)
        # Filled now (NaN), so that the memory pages are touched here, at the rare growth,
        # rather than one row at a time by the pushes (a first touch costs the push of 5,000
        # symbols several times its work).
        fields = np.full((5, capacity, self.n_symbols), np.nan)
        if n:
            ts[:n] = self._ts[:n]
            fields[:, :n] = self.fields[:, :n]
        self._ts, self.fields = ts, fields
        self.capacity = capacity
        # Engines and strategies see read-only views; only the session writes.
        for name, buffer in zip(("timestamps", *FIELDS), (ts, *fields), strict=True):
            view = buffer.view()
            view.flags.writeable = False
            setattr(self, name, view)

    def reserve(self, stop: int) -> None:
        """Room for `stop` rows."""
        if stop > self.capacity:
            capacity = self.capacity
            while capacity < stop:
                capacity *= 2
            self._grow(capacity)

    def rows_at(self, at: int) -> list[np.ndarray]:
        """The writable buffer rows at `at`, in field order (room reserved)."""
        return list(self.fields[:, at])

    def write(self, at: int, timestamps: np.ndarray, rows: dict[str, np.ndarray]) -> None:
        """Write checked rows from row `at` on (not yet counted in `n_bars`)."""
        stop = at + len(timestamps)
        self.reserve(stop)
        self._ts[at:stop] = timestamps
        for k, f in enumerate(FIELDS):
            self.fields[k, at:stop] = rows[f]

    def bars(self, stop: int | None = None) -> Bars:
        """The first `stop` rows (all filled rows by default) as a `Bars` of their own."""
        stop = self.n_bars if stop is None else stop
        market = {"listing_dates": self.listing_dates, "actions": self.actions}
        return Bars._trusted(
            self._ts[:stop].copy(),
            self.symbols,
            *self.fields[:, :stop].copy(),
            market={k: v for k, v in market.items() if v is not None},
        )


# =================================================================== the session's ctx
class SessionContext(Context):
    """The `ctx` a session's strategy sees: the backend's context, with every request that
    changes the run recorded (a snapshot replays them), and, in external mode, cancels sent
    to the broker. Between pushes it is usable from the session's thread (`Session.ctx`)."""

    __slots__ = ("_session",)
    _session: Session

    def __init__(self, session: Session) -> None:
        object.__setattr__(self, "_session", session)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ctx: attribute {name!r} cannot be set; it is read-only")

    def __reduce__(self) -> Any:
        raise TypeError("a session's ctx is not pickled; a snapshot restores it")

    def _inner(self) -> Context:
        return self._session._context()

    def _request(self, method: str, *args: Any) -> Any:
        """Make a request of the run and record it where it was made."""
        session = self._session
        context = session._context()
        core = session._core
        if session._delivering is not None or core is None:
            result = getattr(context, method)(*args)
            session._record("call", method, args)
            return result
        # Made between pushes: its events wait for the request to be recorded, then reach
        # the strategy, as inside a push they would after the callback; a refused request
        # publishes nothing. A callback failing then stops the session.
        core.hold()
        try:
            result = getattr(context, method)(*args)
        except BaseException:
            core.drain()
            raise
        session._record("call", method, args)
        try:
            core.drain()
        except BaseException as exc:
            session._failed = exc
            raise
        return result

    # -- orders -----------------------------------------------------------------------
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
        self._session._refuse_warm_up()
        args = (
            symbol,
            side,
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            expire_at,
            trail_amount,
            trail_percent,
        )
        order_id = int(self._request("submit_order", *args))
        self._session._send(order_id)
        return order_id

    buy = call_shape("Context")(Context.buy)
    sell = call_shape("Context")(Context.sell)

    @call_shape("Context")
    def order_target_quantity(
        self, symbol: str, quantity: float, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int:
        self._session._refuse_target("order_target_quantity")
        args = (symbol, quantity, time_in_force, expire_at)
        return int(self._request("order_target_quantity", *args))

    @call_shape("Context")
    def order_target_percent(
        self, symbol: str, weight: float, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int:
        self._session._refuse_target("order_target_percent")
        return int(self._request("order_target_percent", symbol, weight, time_in_force, expire_at))

    @call_shape("Context")
    def cancel(self, order_id: int) -> bool:
        session = self._session
        if session.mode == "paper":
            return bool(self._request("cancel", order_id))
        # External: ask the broker; the order stays live until it reports.
        order = session._context().get_order(order_id)
        if not order.status.is_live:
            return False
        session._record("cancel", order.order_id)
        if not session._replaying and session._broker is not None:
            session._broker.cancel(order.order_id)
        return True

    @call_shape("Context")
    def oco(self, order_ids: Any) -> int:
        self._session._refuse_contingent("oco")
        # A copy is recorded: the caller's list may change after the call.
        ids = list(order_ids) if isinstance(order_ids, (list, tuple)) else order_ids
        return int(self._request("oco", ids))

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
        self._session._refuse_contingent("bracket")
        args = (
            symbol,
            side,
            quantity,
            entry,
            limit_price,
            stop_price,
            stop_loss,
            take_profit,
            time_in_force,
            expire_at,
        )
        return int(self._request("bracket", *args))

    @call_shape("Context")
    def signal(self, name: str, value: float, symbol: str | None = None) -> None:
        self._request("signal", name, value, symbol)

    # -- reads ------------------------------------------------------------------------
    @call_shape("Context")
    def get_order(self, order_id: int) -> Order:
        return self._inner().get_order(order_id)

    @call_shape("Context")
    def open_orders(self) -> list[Order]:
        return self._inner().open_orders()

    @call_shape("Context")
    def position(self, symbol: str) -> float:
        return self._inner().position(symbol)

    @call_shape("Context")
    def get_position(self, symbol: str) -> Any:
        return self._inner().get_position(symbol)

    @property
    def cash(self) -> float:
        return self._inner().cash

    @property
    def equity(self) -> float:
        return self._inner().equity

    @property
    def portfolio(self) -> Any:
        return self._inner().portfolio

    @property
    def now(self) -> int | None:
        return self._inner().now

    @property
    def bar_index(self) -> int:
        return self._inner().bar_index

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._inner().symbols

    @call_shape("Context")
    def history(self, symbol: str, field: str = "close", length: int | None = None) -> np.ndarray:
        return self._inner().history(symbol, field, length)


# =================================================================== the session
class Session:
    """A run fed one timestamp at a time; see the module docstring.

    Build one with `Engine.session`; continue a saved one with `Session.restore`. Every
    method must be called on the thread that built the session.
    """

    def __init__(
        self,
        implementation: Any,
        config: EngineConfig,
        strategy: Strategy,
        symbols: Any = None,
        history: Bars | None = None,
        mode: str = "paper",
        broker: Broker | None = None,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy: expected a Strategy instance, got {type(strategy).__name__}"
            )
        if mode not in MODES:
            raise ConfigError(f"mode: {mode!r} is not one of {list(MODES)}")
        _check_broker(mode, broker)
        names = _session_symbols(symbols, history)
        listing, actions = _history_market(history)
        self.ctx = SessionContext(self)
        self._setup(implementation, config, strategy, names, listing, actions, mode, broker)
        if history is not None:
            self._warming_up = True
            try:
                self._push_rows(history.timestamps, {f: getattr(history, f) for f in FIELDS})
            finally:
                self._warming_up = False

    def _setup(
        self,
        implementation: Any,
        config: EngineConfig,
        strategy: Strategy,
        names: tuple[str, ...],
        listing: Any,
        actions: Any,
        mode: str,
        broker: Broker | None,
    ) -> None:
        self.mode = mode
        self._implementation = implementation
        self._config = config
        self._broker = broker
        self._thread = threading.get_ident()
        self._panel = Panel(names, listing, actions)
        self._market_rules = (
            config.price_limit is not None
            or bool(config.instruments)
            or actions is not None
            or any(isinstance(getattr(config, name), tuple) for name in SCHEDULED)
        )
        self._core: SessionCore | None = None
        self._ended = False
        self._failed: BaseException | None = None
        # Deliveries to the strategy so far, and the one under way (None between them).
        self._deliveries = 0
        self._delivering: int | None = None
        # What changed the run, in order: (delivery or None, kind, arguments).
        self._log: list[tuple[int | None, str, tuple[Any, ...]]] = []
        self._replaying = False
        self._warming_up = False  # the history is being played
        self._replay: dict[int, list[tuple[str, tuple[Any, ...]]]] = {}
        self._sent: set[int] = set()  # order ids handed to the broker
        self._last_order = 0  # the highest order id seen
        self._step: Step | None = None
        self._signals_seen = 0
        # External execution: reports made between pushes wait for the next push's open
        # phase; what they will fill and end, for checking later reports.
        self._pending: list[tuple[Any, ...]] = []
        self._pending_fills: dict[int, float] = {}
        self._pending_ends: set[int] = set()
        self._write_row = getattr(implementation, "write_row", write_row)
        self._strategy = strategy
        self._callbacks = strategy_callbacks(strategy)
        self._hooks = _hooks(self, self._callbacks)

    # ------------------------------------------------------------------ properties
    @property
    def symbols(self) -> tuple[str, ...]:
        """The session's symbols, in column order."""
        return self._panel.symbols

    @property
    def n_bars(self) -> int:
        """Rows pushed so far (the history's included)."""
        return self._panel.n_bars

    @property
    def strategy(self) -> Strategy:
        """The strategy the session runs."""
        return self._strategy

    @property
    def backend(self) -> str:
        """The backend running the session."""
        return str(self._implementation.name)

    # ------------------------------------------------------------------ feeding bars
    def push(self, timestamp: Any, open: Any, high: Any, low: Any, close: Any, volume: Any) -> Step:
        """Feed one timestamp: the bar of each symbol (arrays over `symbols`; NaN prices for a
        symbol without a bar). Returns what happened at it. A bad row (a timestamp not after
        the last, a wrong shape, a bar the panel rules refuse) is a DataError naming the
        field, the symbol and the bar, and changes nothing."""
        self._usable("push")
        panel = self._panel
        at = panel.n_bars
        ts = _timestamp(timestamp)
        self._check_after(ts, at)
        # Written past the filled rows, checked there, counted only once checked.
        if at == panel.capacity:
            panel.reserve(at + 1)
        try:
            clean = self._write_row(panel.fields, at, open, high, low, close, volume)
        except (TypeError, ValueError):  # not five float64 arrays of the symbols' length
            given = (open, high, low, close, volume)
            for name, buffer, value in zip(FIELDS, panel.rows_at(at), given, strict=True):
                buffer[:] = _row(name, value, panel.n_symbols)[0]  # or its DataError
            clean = False
        panel._ts[at] = ts
        if not clean:
            _check_row(panel, at)
        return self._run_rows(at, at + 1)

    def push_bars(self, bars: Bars) -> Step:
        """Feed several rows at once (a `Bars` of the session's symbols, after the last row
        pushed); returns what happened over all of them."""
        self._usable("push_bars")
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars: expected a quanta Bars panel, got {type(bars).__name__}")
        if bars.symbols != self.symbols:
            raise DataError(
                f"symbols: the bars have {list(bars.symbols)}, the session {list(self.symbols)}"
            )
        _refuse_market(bars, "bars")
        for name in ("listing_dates", "actions"):
            if getattr(bars, name) is not None:
                raise ConfigError(
                    f"bars: carries {name}; a session takes them with its history "
                    "(engine.session(..., history=...)), not with pushed bars"
                )
        return self._push_rows(bars.timestamps, {f: getattr(bars, f) for f in FIELDS})

    def _check_after(self, ts: int, at: int) -> None:
        """A timestamp must come after the last row's."""
        if at and ts <= self._panel.last:
            last = self._panel.last
            kind = "duplicated" if ts == last else "not after"
            raise DataError(
                f"timestamp: {format_timestamp(ts)} is {kind} the last bar pushed (bar "
                f"{at - 1}, {format_timestamp(last)}); timestamps must ascend"
            )

    def _push_rows(
        self, timestamps: np.ndarray, rows: dict[str, np.ndarray], checked: bool = True
    ) -> Step:
        """Push several rows: those of a `Bars` (`checked` when it was built), or, read back
        from a snapshot, checked here as a `Bars` checks its rows."""
        panel = self._panel
        start = panel.n_bars
        stop = start + len(timestamps)
        self._check_after(int(timestamps[0]), start)
        if not checked:
            rows = {f: np.array(rows[f], dtype=np.float64, order="C") for f in FIELDS}
            _validate(np.asarray(timestamps), panel.symbols, rows, first_row=start)
        panel.write(start, timestamps, rows)
        return self._run_rows(start, stop)

    def _run_rows(self, start: int, stop: int) -> Step:
        """Run the checked rows start..stop, written in the panel but not yet counted."""
        panel = self._panel
        # The market tables and corporate actions of the rows so far (the same as a backtest
        # of this panel computes for these rows: every rule looks back only).
        market, actions = _NO_MARKET, None
        if self._market_rules:
            bars = panel.bars(stop)
            market, actions = prepare(bars, self._config), schedule(bars)
        panel.n_bars = stop
        panel.last = last = int(panel.timestamps[stop - 1])
        if not self._replaying:
            self._log.append((self._delivering, "push", (stop,)))
        step = self._step = Step(last, range(start, stop), [], [], [], [])
        reports = self._pending
        if reports:
            self._pending = []
            self._pending_fills.clear()
            self._pending_ends.clear()
        core = self._core if self._core is not None else self._core_for()
        try:
            core.rows(stop, market, actions, reports)
        except BaseException as exc:
            self._failed = exc
            raise
        finally:
            self._step = None
        return self._finish(step)

    # ------------------------------------------------------------------ external reports
    def report_fill(
        self,
        order_id: int,
        quantity: float,
        price: float,
        commission: float = 0.0,
        tax: float = 0.0,
    ) -> None:
        """An external broker filled `quantity` of order `order_id` at `price`, charging
        `commission` and `tax` (stamp duty, fees). Booked with the portfolio rules of any
        fill (cash, position, T+1 lots, trades): reported while the strategy is being called
        (from the broker's `submit` or `cancel`), at once; reported between pushes, in the
        open phase of the next push, as the paper rules book the fills of a bar, and that
        push's `Step` holds it. An unknown or ended order, an overfill, or a price or cost
        that is not a finite number (> 0 for quantity and price, >= 0 for costs) is an
        OrderError that changes nothing."""
        self._usable("report_fill", in_callback=True)
        order = self._reported_order("report_fill", order_id)
        where = f"order {order.order_id}, {order.symbol!r}"
        quantity = check_number("quantity", quantity, order.symbol, True, *self._where())
        remaining = order.remaining - self._pending_fills.get(order.order_id, 0.0)
        if quantity > remaining:
            # Fractional partial fills that add up to the order (0.1 + 0.2 of 0.3) leave a
            # float remainder a hair below the last fill: that fill completes the order.
            if quantity - remaining > 1e-9 * order.quantity:
                raise OrderError(
                    f"quantity: {quantity!r} overfills {where}: {remaining!r} of "
                    f"{order.quantity!r} remain"
                )
            quantity = remaining
        price = check_number("price", price, order.symbol, True, *self._where())
        if not math.isfinite(quantity * price):
            raise OrderError(
                f"price: {quantity!r} x {price!r} is outside the float range ({where})"
            )
        costs = []
        for name, value in (("commission", commission), ("tax", tax)):
            value = check_number(name, value, order.symbol, False, *self._where())
            if value < 0.0:
                raise OrderError(f"{name}: must be >= 0, got {value!r} ({where})")
            costs.append(value)
        args = (order.order_id, quantity, price, costs[0], costs[1])
        if self._delivering is None:
            self._pending_fills[order.order_id] = (
                self._pending_fills.get(order.order_id, 0.0) + quantity
            )
            if quantity == remaining:
                self._pending_ends.add(order.order_id)
        self._report("fill", args, ("fill", *args))

    def report_status(self, order_id: int, status: Any, reason: str | None = None) -> None:
        """An external broker ended order `order_id`: `status` "cancelled", "rejected" or
        "expired"; `reason` one of `quanta_ref.orders.Reason`'s codes (default: none for a
        cancel, "broker" for a rejection, "expired" for an expiry). Booked at once or at the
        next push, as `report_fill`. An unknown or ended order, or an unknown status or
        reason, is an OrderError that changes nothing."""
        self._usable("report_status", in_callback=True)
        order = self._reported_order("report_status", order_id)
        name = status.value if isinstance(status, OrderStatus) else status
        if not isinstance(name, str) or name not in REPORTED:
            raise OrderError(
                f"status: {status!r} is not one of {list(REPORTED)} (order {order.order_id})"
            )
        final, default = REPORTED[name]
        if reason is None:
            reason = default
        elif not isinstance(reason, str) or reason not in REASONS:
            raise OrderError(f"reason: {reason!r} is not one of {list(REASONS)}")
        if self._delivering is None:
            self._pending_ends.add(order.order_id)
        self._report(
            "status", (order.order_id, name, reason), ("status", order.order_id, final, reason)
        )

    def _reported_order(self, method: str, order_id: Any) -> Order:
        if self.mode != "external":
            raise ConfigError(
                f"{method}: a paper session fills its own orders; reports come from the broker "
                "of an external session (engine.session(..., mode='external', broker=...))"
            )
        if self._core is None:
            raise OrderError(f"order_id: no order {order_id!r} (nothing pushed yet)")
        order = self._context().get_order(order_id)
        if not order.status.is_live or order.order_id in self._pending_ends:
            state = "reported ended" if order.status.is_live else order.status.value
            raise OrderError(
                f"order_id: order {order.order_id} ({order.symbol!r}) is {state}; a report "
                "on an ended order is refused"
            )
        return order

    def _report(
        self, kind: str, args: tuple[Any, ...], report: tuple[Any, ...], at_once: bool = False
    ) -> None:
        """Book a checked report at once (the strategy is being called) or queue it for the
        next push's open phase."""
        self._record(kind, *args)
        if self._delivering is None and not at_once:
            self._pending.append(report)
            return
        core = self._core_for()
        if report[0] == "fill":
            core.report_fill(*report[1:])
        else:
            core.report_status(*report[1:])
        if self._delivering is None:
            core.drain()

    # ------------------------------------------------------------------ results
    def result(self) -> BacktestResult:
        """Everything so far as a `BacktestResult` (the rows pushed so far)."""
        self._usable("result", after_end=True)
        if self._core is None:
            raise ConfigError("result: nothing pushed yet; a result needs at least one bar")
        return self._core.result(self._panel.bars())

    def end(self) -> BacktestResult:
        """End the run: the strategy's on_end runs, the context closes, and the final result
        (that of `engine.run` over every row pushed) is returned. Nothing can be pushed
        afterwards."""
        self._usable("end")
        if self._core is None:
            raise ConfigError("end: nothing pushed yet; a run needs at least one bar")
        if self._pending:
            raise OrderError(
                f"end: {len(self._pending)} broker report(s) wait for the next bar's open "
                "phase; push that bar before ending the session"
            )
        self._record("end")
        try:
            self._core.end()
        finally:
            self._ended = True
        return self._core.result(self._panel.bars())

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, path: Any = None) -> bytes:
        """The whole state as bytes (also written to `path` when given, atomically): the
        bars so far, the settings, every request and report, and the strategy, pickled (a
        strategy that cannot be pickled is a ConfigError saying why). A snapshot is a
        pickle: restore only snapshots you wrote."""
        self._usable("snapshot", after_end=True)
        _check_models(self._config)
        panel = self._panel
        core = self._core
        state = {
            "config": self._config.as_dict(),
            "mode": self.mode,
            "symbols": panel.symbols,
            "listing_dates": panel.listing_dates,
            "actions": panel.actions,
            "timestamps": panel.timestamps[: panel.n_bars].copy(),
            "fields": {f: getattr(panel, f)[: panel.n_bars].copy() for f in FIELDS},
            "log": self._log,
            "ended": self._ended,
            "deliveries": self._deliveries,
            "sent": sorted(self._sent),
            "strategy": _pickle_strategy(self._strategy, self.ctx),
            "check": None if core is None else _fingerprint(core.result(panel.bars())),
        }
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        data = (
            SNAPSHOT_MAGIC
            + struct.pack("<I", SNAPSHOT_FORMAT)
            + hashlib.sha256(payload).digest()
            + payload
        )
        if path is not None:
            path = os.fspath(path)
            partial = f"{path}.partial"
            with open(partial, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        return data

    @classmethod
    def restore(
        cls, snapshot: Any, *, backend: str = "auto", broker: Broker | None = None
    ) -> Session:
        """Continue a session from `snapshot` (the bytes of `snapshot()`, or the path of a
        file it wrote), on `backend` (any: a snapshot taken on one restores on the other),
        with `broker` for an external session (brokers are not pickled). SnapshotError for
        anything that is not an intact snapshot of this format, or that does not rebuild the
        state it recorded."""
        from quanta_ref import backends  # the registry sits above sessions

        state = _read_snapshot(snapshot)
        try:
            config = EngineConfig.build(**state["config"])
        except ConfigError as exc:
            raise SnapshotError(f"snapshot: its engine settings are refused here: {exc}") from None
        implementation = backends.load(backend)
        mode = state["mode"]
        if mode not in MODES:
            raise SnapshotError(f"snapshot: unknown mode {mode!r}")
        _check_broker(mode, broker)
        session = object.__new__(cls)
        session.ctx = SessionContext(session)
        strategy = _unpickle_strategy(state["strategy"], session.ctx)
        session._setup(
            implementation,
            config,
            strategy,
            state["symbols"],
            state["listing_dates"],
            state["actions"],
            mode,
            broker,
        )
        try:
            session._replay_log(state)
        except SnapshotError:
            raise
        except Exception as exc:  # a snapshot whose checksum holds but whose contents do not
            raise SnapshotError(
                f"snapshot: its contents do not rebuild a session ({type(exc).__name__}: {exc})"
            ) from exc
        return session

    def _replay_log(self, state: dict[str, Any]) -> None:
        """Rebuild the run from the recorded log without calling the strategy or the broker:
        requests made inside a delivery wait for that delivery; the rest run in order."""
        timestamps, fields = state["timestamps"], state["fields"]
        log = state["log"]
        self._replaying = True
        self._replay = {}
        for at, kind, args in log:
            if at is not None:
                self._replay.setdefault(at, []).append((kind, args))
        try:
            for at, kind, args in log:
                if at is not None:
                    continue
                if kind == "push":
                    start, stop = self._panel.n_bars, args[0]
                    rows = {f: fields[f][start:stop] for f in FIELDS}
                    self._push_rows(timestamps[start:stop], rows, checked=False)
                else:
                    self._apply(kind, args)
        except QuantaError as exc:
            raise SnapshotError(f"snapshot: replaying its log failed: {exc}") from exc
        finally:
            self._replaying = False
        # Its history goes on: a snapshot of this session holds everything from the start.
        self._log = list(log)
        self._sent = set(state["sent"])
        check = state["check"]
        if check is not None and _fingerprint(self._core_for().result(self._panel.bars())) != check:
            raise SnapshotError(
                "snapshot: the rebuilt state differs from the recorded one (written by an "
                "engine with other rules, or altered); refusing to continue from it"
            )
        if self._deliveries != state["deliveries"] or self._replay:
            raise SnapshotError(
                "snapshot: the rebuilt run calls the strategy at other moments than the "
                "recorded one; refusing to continue from it"
            )
        if state["ended"]:
            self._ended = True

    def _apply(self, kind: str, args: tuple[Any, ...]) -> None:
        """Apply one recorded entry again (replay)."""
        if kind == "call":
            method, call_args = args
            getattr(self.ctx, method)(*call_args)
        elif kind == "cancel":
            pass  # a cancel request went to the broker; the engine did nothing
        elif kind == "fill":
            self.report_fill(*args)
        elif kind == "status":
            self.report_status(*args)
        elif kind == "end":
            self.end()

    # ------------------------------------------------------------------ internals
    def _install(self, strategy: Strategy) -> None:
        """Look up the strategy's callbacks and build the hooks the engine calls."""
        self._strategy = strategy
        self._callbacks = strategy_callbacks(strategy)
        self._hooks = _hooks(self, self._callbacks)

    def _core_for(self) -> SessionCore:
        if self._core is None:
            self._core = self._implementation.session(
                self._panel, self._hooks, self._config, self.mode == "external"
            )
        return self._core

    def _context(self) -> Context:
        if self._failed is not None:
            raise OrderError(
                f"ctx: the session stopped on an error ({type(self._failed).__name__}: "
                f"{self._failed}); restore it from its last snapshot"
            )
        if threading.get_ident() != self._thread:
            raise OrderError(
                "session: used from another thread; use it on the thread that built it"
            )
        if self._core is None:
            raise OrderError("ctx: the session has no bar yet; push one first")
        return self._core.context

    def _usable(self, method: str, after_end: bool = False, in_callback: bool = False) -> None:
        if (
            self._failed is None
            and not self._ended
            and self._delivering is None
            and threading.get_ident() == self._thread
        ):
            return  # the usual case, in one test
        if self._delivering is not None and not in_callback and not self._replaying:
            raise OrderError(
                f"{method}: called from inside a strategy callback; a session is fed and "
                "read between callbacks (only a broker's reports may come from inside one)"
            )
        if threading.get_ident() != self._thread:
            raise OrderError(
                f"{method}: session used from another thread; call it on the thread that "
                "built it (queue a broker's reports and report them from there)"
            )
        if self._failed is not None:
            raise OrderError(
                f"{method}: the session stopped on an error ({type(self._failed).__name__}: "
                f"{self._failed}); restore it from its last snapshot"
            )
        if self._ended and not after_end:
            raise OrderError(f"{method}: the session has ended")

    def _where(self) -> tuple[int, int]:
        n = self._panel.n_bars
        return n - 1, int(self._panel.timestamps[max(n - 1, 0)])

    def _refuse_warm_up(self) -> None:
        if self._warming_up and self.mode == "external" and not self._replaying:
            raise OrderError(
                "submit_order: an external session's history warms the strategy up without "
                "trading (its orders would reach the live broker for past bars); trade from "
                "the first push on, e.g. behind a flag set once engine.session(...) returns"
            )

    def _refuse_target(self, method: str) -> None:
        if self.mode == "external":
            raise OrderError(
                f"{method}: target orders are sized when they fill, by the paper rules; an "
                "external session sends quantities (ctx.buy / ctx.sell)"
            )

    def _refuse_contingent(self, method: str) -> None:
        if self.mode == "external":
            raise OrderError(
                f"{method}: an external session's broker manages contingent orders "
                "(one-cancels-other groups, brackets); use the broker's own, or a paper session"
            )

    def _record(self, kind: str, *args: Any) -> None:
        if not self._replaying:
            self._log.append((self._delivering, kind, args))

    def _finish(self, step: Step) -> Step:
        signals = self._core.signals_since(self._signals_seen) if self._core is not None else []
        if signals:
            step.signals.extend(signals)
            self._signals_seen += len(signals)
        return step

    def _deliver(self, name: str, *args: Any) -> None:
        """One delivery to the strategy (a hook calls it)."""
        self._deliveries += 1
        number = self._deliveries
        self._delivering = number
        try:
            if self._replaying:
                for kind, entry in self._replay.pop(number, ()):
                    self._apply(kind, entry)
                return
            callback = self._callbacks[name]
            if callback is not None:
                callback(self.ctx, *args)
        finally:
            self._delivering = None

    def _order_event(self, order: Order) -> None:
        step = self._step
        # Every new order is published when it is made, with ids in order: the first event
        # of a higher id is a submission.
        new = order.order_id > self._last_order
        if new:
            self._last_order = order.order_id
        if step is not None:
            step.updates.append(order)
            if new:
                step.submitted.append(order)

    def _send(self, order_id: int) -> None:
        """External execution: an order the engine accepted goes to the broker at once (its
        submission event reaches the strategy later, after the callback that made it)."""
        if self.mode != "external" or self._replaying:
            return
        order = self._context().get_order(order_id)
        if order.status is OrderStatus.PENDING:
            assert self._broker is not None
            try:
                self._broker.submit(order)
            except BaseException:
                # Never sent, so not live: rejected for the broker, recorded as a report so
                # that a restore rebuilds the same state.
                args = (order_id, "rejected", Reason.BROKER)
                report = ("status", order_id, OrderStatus.REJECTED, Reason.BROKER)
                self._report("status", args, report, at_once=True)
                raise
            self._sent.add(order_id)

    def _fill_event(self, fill: Fill) -> None:
        if self._step is not None:
            self._step.fills.append(fill)


def _hooks(session: Session, callbacks: dict[str, Any]) -> Strategy:
    """The strategy the engine runs for a session: each callback the user's strategy has
    (and always on_fill and on_order, which the session records) counts a delivery and
    calls the user's callback with the session's ctx (or, replaying, the recorded requests)."""

    def on_start(self: Any, ctx: Any) -> None:
        session._deliver("on_start")

    def on_end(self: Any, ctx: Any) -> None:
        session._deliver("on_end")

    user_on_bar, proxy = callbacks["on_bar"], session.ctx

    def on_bar(self: Any, ctx: Any, bar: Any) -> None:
        # `_deliver`, written out: this one runs for every bar of every symbol.
        number = session._deliveries + 1
        session._deliveries = number
        session._delivering = number
        try:
            if session._replaying:
                for kind, entry in session._replay.pop(number, ()):
                    session._apply(kind, entry)
            else:
                user_on_bar(proxy, bar)
        finally:
            session._delivering = None

    methods: dict[str, Any] = {"on_start": on_start, "on_end": on_end}
    if callbacks["on_bar"] is not None:  # else the engine skips bar deliveries
        methods["on_bar"] = on_bar

    def on_fill(self: Any, ctx: Any, fill: Fill) -> None:
        session._fill_event(fill)
        session._deliver("on_fill", fill)

    def on_order(self: Any, ctx: Any, order: Order) -> None:
        session._order_event(order)
        session._deliver("on_order", order)

    methods["on_fill"], methods["on_order"] = on_fill, on_order
    return type("SessionHooks", (Strategy,), methods)()


# =================================================================== helpers
def _check_broker(mode: str, broker: Any) -> None:
    """An external session needs a broker with submit and cancel; a paper one takes none."""
    if mode == "external":
        for method in ("submit", "cancel"):
            if not callable(getattr(broker, method, None)):
                raise ConfigError(
                    f"broker: external mode needs a broker with submit(order) and "
                    f"cancel(order_id); {broker!r} has no callable {method!r}"
                )
    elif broker is not None:
        raise ConfigError("broker: only an external session sends orders to a broker")


def _session_symbols(symbols: Any, history: Bars | None) -> tuple[str, ...]:
    if history is not None:
        if not isinstance(history, Bars):
            raise ConfigError(
                f"history: expected a quanta Bars panel, got {type(history).__name__}"
            )
        if symbols is not None and tuple(symbols) != history.symbols:
            raise ConfigError(
                f"symbols: {list(symbols)} differ from the history's {list(history.symbols)}"
            )
        return history.symbols
    if symbols is None:
        raise ConfigError("symbols: a session needs its symbols (or a history to take them from)")
    if isinstance(symbols, str):
        symbols = [symbols]
    names = list(symbols)
    if not names or not all(isinstance(s, str) and s for s in names):
        raise ConfigError(f"symbols: expected a non-empty list of names, got {symbols!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"symbols: duplicated names in {names}")
    return tuple(names)


def _refuse_market(bars: Bars, name: str) -> None:
    """Per-bar market data cannot go on past the bars that carry it."""
    for field_name in ("up_limit", "down_limit", "st"):
        if getattr(bars, field_name) is not None:
            raise ConfigError(
                f"{name}: carries per-bar {field_name}; a session's pushed bars have no "
                "per-bar market data, so it would end at the first push (give the price "
                "limit as a setting, price_limit=...)"
            )


def _history_market(history: Bars | None) -> tuple[Any, Any]:
    if history is None:
        return None, None
    _refuse_market(history, "history")
    return history.listing_dates, history.actions


_NO_MARKET = RunMarket()
_INT64 = (-(2**63) + 1, 2**63 - 1)
_NS = np.dtype("datetime64[ns]")


def _timestamp(value: Any) -> int:
    """A pushed timestamp as int64 ns: datetime64 and int64 nanoseconds at once, anything
    else (and anything odd) by the rules of every time value (`one_timestamp`)."""
    if type(value) is np.datetime64 and value.dtype == _NS:
        ns = value.item()  # an int for nanoseconds; None for NaT, refused below
        if ns is not None:
            return int(ns)
    elif type(value) is int and (value < 0 or value >= _FIRST_INTEGER_NS) and value <= _INT64[1]:
        return value
    return one_timestamp(value, "timestamp")


def write_row(
    fields: np.ndarray,
    at: int,
    open: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
) -> bool:
    """Write one pushed row into a panel's (5, capacity, N) buffer at row `at` and say
    whether every bar of it is clean by a quick test: positive low, high and low bracketing
    open and close, finite high and volume, volume >= 0 (a NaN fails every comparison, so
    a missing bar is not "clean": the panel's full checks take it). TypeError unless the
    five values are float64 arrays of shape (N,). A backend may give a faster twin of this
    (`Backend.write_row`), with the same test."""
    n = fields.shape[2]
    given = (open, high, low, close, volume)
    if any(type(x) is not np.ndarray or x.dtype != np.float64 or x.shape != (n,) for x in given):
        raise TypeError("expected five float64 arrays, one value per symbol")
    for k, x in enumerate(given):
        fields[k, at] = x
    o, h, lo, c, v = fields[:, at]
    with np.errstate(invalid="ignore"):
        clean = (lo > 0.0) & (h >= o) & (h >= c) & (lo <= o) & (lo <= c) & (h < math.inf)
        clean &= (v >= 0.0) & (v < math.inf)
    return bool(clean.all())


def _check_row(panel: Panel, at: int) -> None:
    """DataError unless row `at` (written, not counted) holds clean bars or whole missing
    bars (section 1): the panel's own checks, which also set a missing bar's volume to 0
    and name the first bad value."""
    rows = dict(zip(FIELDS, (x.reshape(1, -1) for x in panel.rows_at(at)), strict=True))
    _validate(panel.timestamps[at : at + 1], panel.symbols, rows, first_row=at)


def _row(name: str, value: Any, n: int) -> np.ndarray:
    """One field of a pushed row as float64 (N,), or DataError (as `Bars` refuses them:
    anything but real numbers, booleans included)."""
    arr = as_floats(name, value)
    if arr.ndim == 0 and n == 1:
        arr = arr.reshape(1)
    if arr.shape != (n,):
        raise DataError(f"{name}: expected {n} values (one per symbol), got shape {arr.shape}")
    return arr.reshape(1, n)


class _Pickler(pickle.Pickler):
    """Pickles a strategy, writing its session's ctx as a reference."""

    def __init__(self, out: io.BytesIO, ctx: SessionContext) -> None:
        super().__init__(out, protocol=pickle.HIGHEST_PROTOCOL)
        self.ctx = ctx

    def persistent_id(self, obj: Any) -> Any:
        return "ctx" if obj is self.ctx else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: io.BytesIO, ctx: SessionContext) -> None:
        super().__init__(data)
        self.ctx = ctx

    def persistent_load(self, pid: Any) -> Any:
        if pid != "ctx":
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return self.ctx


def _check_models(config: EngineConfig) -> None:
    """ConfigError naming the setting when a cost model (a callable) cannot be pickled."""
    for name in ("commission", "slippage"):
        model = getattr(config, name)
        try:
            pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise ConfigError(
                f"{name}: {model!r} cannot be pickled, so a snapshot cannot hold it "
                f"({type(exc).__name__}: {exc}); define the callable at module level"
            ) from exc


def _pickle_strategy(strategy: Strategy, ctx: SessionContext) -> bytes:
    out = io.BytesIO()
    try:
        _Pickler(out, ctx).dump(strategy)
    except Exception as exc:
        raise ConfigError(
            f"strategy: {type(strategy).__name__} cannot be pickled, so a snapshot cannot "
            f"hold it ({type(exc).__name__}: {exc}); keep the strategy's state in plain "
            "values (numbers, lists, dicts, numpy arrays) and define its class at module level"
        ) from exc
    return out.getvalue()


def _unpickle_strategy(data: bytes, ctx: SessionContext) -> Strategy:
    try:
        strategy = _Unpickler(io.BytesIO(data), ctx).load()
    except Exception as exc:
        raise SnapshotError(
            f"snapshot: its strategy cannot be unpickled here ({type(exc).__name__}: {exc}); "
            "the strategy's class must be importable"
        ) from exc
    if not isinstance(strategy, Strategy):
        raise SnapshotError("snapshot: it holds no Strategy")
    return strategy


def _read_snapshot(snapshot: Any) -> dict[str, Any]:
    if isinstance(snapshot, (str, os.PathLike)):
        try:
            with open(snapshot, "rb") as src:
                data = src.read()
        except OSError as exc:
            raise SnapshotError(f"snapshot: cannot read {os.fspath(snapshot)!r}: {exc}") from None
    elif isinstance(snapshot, (bytes, bytearray, memoryview)):
        data = bytes(snapshot)
    else:
        raise SnapshotError(
            f"snapshot: expected the bytes of Session.snapshot() or a file path, got "
            f"{type(snapshot).__name__}"
        )
    head = len(SNAPSHOT_MAGIC)
    if data[:head] != SNAPSHOT_MAGIC:
        raise SnapshotError("snapshot: not a quanta session snapshot")
    (version,) = struct.unpack("<I", data[head : head + 4]) if len(data) >= head + 4 else (-1,)
    if version != SNAPSHOT_FORMAT:
        raise SnapshotError(
            f"snapshot: format version {version}; this quanta reads version {SNAPSHOT_FORMAT}"
        )
    digest, payload = data[head + 4 : head + 36], data[head + 36 :]
    if hashlib.sha256(payload).digest() != digest:
        raise SnapshotError("snapshot: corrupted (its checksum does not match its contents)")
    state: dict[str, Any] = pickle.loads(payload)
    return state


def _fingerprint(result: BacktestResult) -> tuple[Any, ...]:
    """What a replay must rebuild exactly: equity and cash bit for bit, the fills, the
    orders' states and the positions."""
    return (
        result.equity.tobytes(),
        result.cash.tobytes(),
        tuple(result.fills),
        tuple((o.order_id, o.status, o.filled_quantity) for o in result.orders),
        tuple((p.symbol, p.quantity, p.average_cost) for p in result.positions),
        len(result.signals),
    )


__all__ = [
    "Broker",
    "MODES",
    "Panel",
    "Session",
    "SessionContext",
    "SnapshotError",
    "Step",
]
