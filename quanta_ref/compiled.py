"""Compiled strategies: callbacks written as numba nopython code (docs/semantics.md section 26).

A `CompiledStrategy` has the callbacks of a `Strategy` (``on_start``, ``on_bar``, ``on_fill``,
``on_order``, ``on_end``) written as plain functions that numba compiles, with the same
vocabulary: ``ctx.buy``, ``ctx.order_target_percent``, ``ctx.cancel``, ``ctx.position``,
``ctx.cash``, ``ctx.history``, ... (`quanta_ref.compiled_numba` is that ``ctx``). Numba turns
them into ONE C function, the *entry*, ``int64 entry(Frame *frame)``. Both engines run a
compiled strategy the same way:

1. before each call they fill the `FRAME` record: which callback, the bar, the account (cash,
   equity, positions, live orders) as it is at that moment, and where the data, the
   parameters, the user state and the request buffer are;
2. they call the entry (the reference through ctypes, holding the GIL; the Rust engine through
   a C function pointer, with the GIL released and no Python at all);
3. a nonzero status stops the run with a `StrategyError` naming the callback, bar and symbol
   (numba cannot raise an exception across a C boundary);
4. they apply the callback's *requests* (orders, target orders, cancels), in the order made,
   each as the Python ``ctx`` method of the same name would be called: same argument checks,
   same broker call, so every engine rule applies unchanged.

This module holds what both engines share and needs no numba: the C layouts, their codes, the
request checks, the error texts, and the reference's driver (`CompiledRun`), the `Strategy`
that runs a compiled strategy on the reference engine.
"""

from __future__ import annotations

import ctypes
import inspect
import math
from typing import Any

import numpy as np

from quanta_ref.api import Context, Strategy
from quanta_ref.bars import Bars
from quanta_ref.engine import (
    check_expire_at,
    check_number,
    check_order_id,
    check_prices,
    check_trail,
    check_trailing_level,
    describe_bar,
)
from quanta_ref.errors import ConfigError, OrderError, StrategyError
from quanta_ref.events import BarEvent
from quanta_ref.execution import trailing_level
from quanta_ref.orders import Fill, Order, OrderStatus, OrderType, Reason, Side, TimeInForce

# ============================================================================ codes
#: Codes are positions in these tables, the same in Rust (`named_enum!` ... `ALL`).
SIDES = tuple(member.value for member in Side)
ORDER_TYPES = tuple(member.value for member in OrderType)
TIMES_IN_FORCE = tuple(member.value for member in TimeInForce)
STATUSES = tuple(member.value for member in OrderStatus)
REASONS = tuple(
    value for name, value in vars(Reason).items() if name.isupper() and isinstance(value, str)
)
#: "None" in an integer field: no side (a target order not sized yet), no reason, no expiry.
NO_CODE = -1
NO_TIME = np.iinfo(np.int64).min

#: The callbacks, by code (the frame's `callback`), and their bits in `callbacks` masks.
CALLBACKS = ("on_start", "on_bar", "on_fill", "on_order", "on_end")
#: Request kinds (the Request's `kind`): the ctx method each one is.
SUBMIT, TARGET_QUANTITY, TARGET_PERCENT, CANCEL = 1, 2, 3, 4
REQUEST_KINDS = {
    SUBMIT: "submit_order",
    TARGET_QUANTITY: "order_target_quantity",
    TARGET_PERCENT: "order_target_percent",
    CANCEL: "cancel",
}
#: Bits of a Request's `given`: which optional arguments were passed.
GIVEN_LIMIT, GIVEN_STOP, GIVEN_EXPIRE, GIVEN_AMOUNT, GIVEN_PERCENT = 1, 2, 4, 8, 16
#: Faults: what a ctx method of the compiled code found wrong before it raised.
FAULT_NONE, FAULT_SYMBOL, FAULT_LENGTH, FAULT_REQUESTS = range(4)


# ============================================================================ layouts
def _layout(*fields: str) -> np.dtype:
    """A C struct of 8-byte fields: "name:i" (int64), "name:f" (float64), "name:p" (address)."""
    codes = {"i": np.int64, "f": np.float64, "p": np.uintp}
    pairs = [field.split(":") for field in fields]
    return np.dtype([(name, codes[kind]) for name, kind in pairs])


#: What the entry is called with: one per run, its address fixed for the whole run.
FRAME = _layout(
    "callback:i",  # code in CALLBACKS
    "index:i",  # ctx.bar_index (-1 in on_start)
    "now:i",  # the current timestamp, int64 ns
    "n_bars:i",
    "n_symbols:i",
    "column:i",  # on_bar: the bar's symbol; on_fill / on_order: the order's; else -1
    "cash:f",
    "equity:f",
    "timestamps:p",  # T int64
    "open:p",  # (T, N) float64, C order: the bars' own arrays
    "high:p",
    "low:p",
    "close:p",
    "volume:p",
    "position:p",  # N float64: each symbol's quantity at the call
    "average_cost:p",  # N float64
    "params:p",  # the job's parameter record (0: no parameters)
    "state:p",  # (N, state_size) float64, zeros when the run starts
    "state_size:i",
    "orders:p",  # ORDER_RECORD[n_orders]: the live orders, oldest first
    "n_orders:i",
    "next_order_id:i",  # the id the call's first new order takes
    "requests:p",  # REQUEST[capacity]
    "capacity:i",
    "n_requests:i",  # written by the compiled code
    "fault:i",  # written by the compiled code (FAULT_*), before it raises
    "fault_value:i",
    "event:p",  # on_fill: a FILL_RECORD; on_order: an ORDER_RECORD; else 0
)

#: A live order (``ctx.open_orders()``) and the order of an ``on_order`` call.
ORDER_RECORD = _layout(
    "order_id:i",
    "symbol:i",  # its data column
    "side:i",  # code in SIDES, or NO_CODE
    "order_type:i",
    "time_in_force:i",
    "status:i",
    "reason:i",  # code in REASONS, or NO_CODE
    "quantity:f",
    "filled_quantity:f",
    "limit_price:f",  # NaN: none
    "stop_price:f",  # NaN: none
    "average_fill_price:f",
    "target_quantity:f",  # NaN: none
    "target_percent:f",  # NaN: none
    "expire_at:i",  # NO_TIME: none
)

#: The fill of an ``on_fill`` call.
FILL_RECORD = _layout(
    "order_id:i", "symbol:i", "side:i", "quantity:f", "price:f", "commission:f", "tax:f"
)

#: One request of the compiled code: an order, a target order or a cancel.
REQUEST = _layout(
    "kind:i",  # SUBMIT, TARGET_QUANTITY, TARGET_PERCENT or CANCEL
    "column:i",
    "side:i",
    "order_type:i",
    "time_in_force:i",
    "order_id:i",  # CANCEL
    "expire_at:i",  # int64 ns, if GIVEN_EXPIRE
    "given:i",  # GIVEN_* bits
    "quantity:f",  # the quantity, the target quantity or the target weight
    "limit_price:f",
    "stop_price:f",
    "trail_amount:f",
    "trail_percent:f",
)


# ============================================================================ checks and errors
def _code(table: tuple[str, ...], value: int, field: str, symbol: str, where: str) -> str:
    if 0 <= value < len(table):
        return table[value]
    raise OrderError(
        f"{field}: unknown code {value} (codes 0..{len(table) - 1}: {list(table)}) "
        f"(symbol {symbol!r}, {where})"
    )


def check_request(
    request: tuple[Any, ...],
    symbols: tuple[str, ...],
    index: int,
    now: int,
    last_price: float,
    n_orders: int,
) -> tuple[str, tuple[Any, ...]]:
    """The ctx method and arguments a request stands for, checked in the order that method
    checks them (`quanta_ref.engine.RunContext`), or the `OrderError` it would raise.

    `request` holds the 13 fields of `REQUEST` in order; `last_price` is the last close of
    its symbol (a trailing stop's level starts from it); `n_orders` is how many orders the
    run has made (a cancel names one of them)."""
    kind, column, side, order_type, tif, order_id, expire_at, given = request[:8]
    quantity, limit_price, stop_price, trail_amount, trail_percent = request[8:]
    where = describe_bar(index, now)
    if kind == CANCEL:
        return "cancel", (check_order_id(order_id, n_orders, index, now),)
    if kind not in REQUEST_KINDS:
        raise OrderError(f"kind: unknown request kind {kind} ({where})")
    if not 0 <= column < len(symbols):
        raise OrderError(
            f"symbol: no symbol at column {column}; the data has {len(symbols)}: "
            f"{list(symbols)} ({where})"
        )
    symbol = symbols[column]
    expire = expire_at if given & GIVEN_EXPIRE else None
    if kind != SUBMIT:
        tif_name = _code(TIMES_IN_FORCE, tif, "time_in_force", symbol, where)
        field = "target_quantity" if kind == TARGET_QUANTITY else "target_percent"
        value = check_number(field, quantity, symbol, False, index, now)
        check_expire_at(tif_name, expire, symbol, index, now)
        return REQUEST_KINDS[kind], (symbol, value, tif_name, expire)
    side_name = _code(SIDES, side, "side", symbol, where)
    type_name = _code(ORDER_TYPES, order_type, "order_type", symbol, where)
    tif_name = _code(TIMES_IN_FORCE, tif, "time_in_force", symbol, where)
    kind_member = OrderType(type_name)
    quantity = check_number("quantity", quantity, symbol, True, index, now)
    limit = limit_price if given & GIVEN_LIMIT else None
    stop = stop_price if given & GIVEN_STOP else None
    check_prices(kind_member, limit, stop, symbol, index, now)
    if limit is not None:
        check_number("limit_price", limit, symbol, True, index, now)
    if stop is not None:
        check_number("stop_price", stop, symbol, True, index, now)
    check_expire_at(tif_name, expire, symbol, index, now)
    amount = trail_amount if given & GIVEN_AMOUNT else None
    percent = trail_percent if given & GIVEN_PERCENT else None
    amount, percent = check_trail(kind_member, amount, percent, symbol, index, now)
    if kind_member is OrderType.TRAILING_STOP and not math.isnan(last_price):
        level = trailing_level(Side(side_name), last_price, amount, percent)
        check_trailing_level(level, last_price, amount, percent, symbol, index, now)
    arguments = (symbol, side_name, quantity, type_name, limit, stop, tif_name, expire)
    return "submit_order", arguments + (amount, percent)


def request_error(
    request: tuple[Any, ...], symbols: tuple[str, ...], index: int, now: int, last_price: float
) -> BaseException | None:
    """The exception `check_request` raises for a request the Rust engine refused, or None
    if it accepts it (the engine then reports its own error). The engine refuses a cancel
    only for an id that names no order of the run, whatever their number: `check_order_id`
    words that refusal without the number, so none is needed here."""
    try:
        check_request(request, symbols, index, now, last_price, 0)
    except OrderError as error:
        return error
    return None


#: What each fault means, for the error text.
_FAULTS = {
    FAULT_SYMBOL: "ctx: no symbol at column {value}",
    FAULT_LENGTH: "ctx.history: length {value} is not between 1 and the bars so far",
    FAULT_REQUESTS: "ctx: more than {value} requests in one call (max_requests)",
}


def callback_error(
    callback: int,
    status: int,
    fault: int,
    fault_value: int,
    n_requests: int,
    symbol: str | None,
    index: int,
    now: int,
) -> StrategyError:
    """The error that stops a run whose compiled callback returned `status` != 0 (or left
    `n_requests` outside its buffer): which callback, where, and what the ctx found wrong."""
    name = CALLBACKS[callback] if 0 <= callback < len(CALLBACKS) else f"callback {callback}"
    where = describe_bar(index, now) + ("" if symbol is None else f", symbol {symbol!r}")
    if status == 0:
        what = f"left n_requests = {n_requests}, outside its request buffer"
    elif fault == FAULT_LENGTH and callback == 0:
        what = "raised an exception: ctx.history has no bar to show in on_start"
    elif fault in _FAULTS:
        # The ctx found the fault and raised; a callback that caught that exception and
        # raised another later leaves it set too, so it is worded as what the ctx found.
        what = "raised an exception; the ctx had found: " + _FAULTS[fault].format(value=fault_value)
    else:
        what = (
            "raised an exception inside compiled code (an index out of range, a division by "
            "zero, an explicit raise, ...); numba cannot pass it out of a C callback: call "
            "the strategy's plain Python function on the same inputs to see it"
        )
    return StrategyError(f"{name} {what} ({where})")


# ============================================================================ the strategy
#: Class attributes of a CompiledStrategy that are settings, not parameters.
SETTINGS = ("state_size", "max_requests", "boundscheck", "check", "checked", "params")
#: A parameter's numpy type, from its default (numpy scalars by their kind).
_PARAM_TYPES = (
    ((bool, np.bool_), np.bool_),
    ((int, np.integer), np.int64),
    ((float, np.floating), np.float64),
)


class CompiledStrategy:
    """A strategy whose callbacks numba compiles (docs/semantics.md section 26).

    Write the callbacks of a `Strategy` as plain functions of ``ctx`` (no ``self``), in
    numba's nopython subset; parameters are class attributes (numbers) read as
    ``ctx.params.name``; ``ctx.state`` is a float64 array of shape (symbols, `state_size`),
    zeros when a run starts, kept from call to call. Symbols are data columns (0, 1, ...):

    >>> class Breakout(CompiledStrategy):
    ...     lookback = 20
    ...     def on_bar(ctx, bar):
    ...         if ctx.bar_index >= ctx.params.lookback and ctx.position(bar.symbol) == 0:
    ...             highs = ctx.history(bar.symbol, "high", ctx.params.lookback + 1)
    ...             if bar.close > highs[:-1].max():
    ...                 ctx.buy(bar.symbol, 100)
    >>> strategy = Breakout(lookback=55)

    Run it as any strategy (`Engine.run`, `run_many`, `optimize`, `walk_forward`). The Rust
    engine calls the compiled code with no Python per bar and the GIL released, grids on
    many threads; the reference engine calls the same compiled code, so both give the same
    fills and equity, bit for bit. Requests (orders, cancels) are applied when the callback
    returns, in the order made, through the same checks and rules as ``ctx`` in Python.

    Class attributes
    ----------------
    state_size : int
        Float64 slots per symbol in ``ctx.state`` (default 0).
    max_requests : int
        Requests one call may make (default 1024); more stops the run with a StrategyError.
    boundscheck : bool
        Compile the callbacks with bounds checking (default True): an index out of range
        stops the run with a StrategyError instead of reading or writing outside an array.
    """

    state_size = 0
    max_requests = 1024
    boundscheck = True

    def __init__(self, **params: Any) -> None:
        names = parameter_names(type(self))
        for name, value in params.items():
            if name not in names:
                raise ConfigError(f"{name}: not a parameter of {type(self).__name__}")
            setattr(self, name, value)

    @classmethod
    def callbacks(cls) -> dict[str, Any]:
        """The callbacks the class defines (plain functions or numba dispatchers), by name."""
        found: dict[str, Any] = {}
        for name in CALLBACKS:
            value = inspect.getattr_static(cls, name, None)
            if isinstance(value, staticmethod):
                value = value.__func__
            if value is not None:
                found[name] = value
        return found

    def params(self) -> np.ndarray:
        """This instance's parameters as a one-element record array (the `params` record)."""
        names = parameter_names(type(self))
        record = np.zeros(1, dtype=params_dtype(type(self)))
        for name in names:
            value = getattr(self, name)
            kind = record.dtype[name].type
            if kind is np.bool_:
                ok = isinstance(value, (bool, np.bool_))
            elif kind is np.int64:
                ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            else:
                ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                    value, bool
                )
            if ok:
                try:
                    record[name] = value
                    ok = record[name][0] == value or value != value  # NaN is kept as NaN
                except (OverflowError, ValueError):
                    ok = False
            if not ok:
                raise ConfigError(
                    f"{name}: {type(self).__name__} declares it {kind.__name__} (its "
                    f"default {getattr(type(self), name)!r}), got {value!r}"
                )
        return record

    def check(self) -> None:
        """Check the parameters before a run (plain Python; override it to refuse values
        the callbacks cannot work with, raising a ConfigError)."""

    def checked(self, entry: Entry, n_symbols: int) -> CompiledJob:
        """This strategy ready to run over `n_symbols` symbols with its compiled `entry`
        (`quanta_ref.compiled_numba.entry_of`), its parameters and settings checked."""
        self.check()
        return CompiledJob(self, entry, self.params(), n_symbols)

    def __repr__(self) -> str:
        values = ", ".join(f"{n}={getattr(self, n)!r}" for n in parameter_names(type(self)))
        return f"{type(self).__name__}({values})"


def parameter_names(cls: type) -> tuple[str, ...]:
    """The parameters of a CompiledStrategy class: its public number attributes, in the
    order the classes define them (base classes first). Read once per class."""
    known = _NAMES.get(cls)
    if known is not None:
        return known
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if name.startswith("_") or name in SETTINGS or name in CALLBACKS:
                continue
            if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
                names[name] = None
    _NAMES[cls] = tuple(names)
    return _NAMES[cls]


def params_dtype(cls: type) -> np.dtype:
    """The record type of a CompiledStrategy class's parameters (a bool, int64 or float64
    field each, from its default). Made once per class."""
    known = _DTYPES.get(cls)
    if known is not None:
        return known
    fields = []
    for name in parameter_names(cls):
        default = getattr(cls, name)
        kind = next(t for python, t in _PARAM_TYPES if isinstance(default, python))
        fields.append((name, kind))
    _DTYPES[cls] = np.dtype(fields)
    return _DTYPES[cls]


# Per class: read once (a grid of a hundred jobs would otherwise read them a hundred times).
_NAMES: dict[type, tuple[str, ...]] = {}
_DTYPES: dict[type, np.dtype] = {}


class Entry:
    """A compiled strategy's C entry: the numba cfunc (kept alive while its address is in
    use) and which callbacks it calls."""

    def __init__(self, cfunc: Any, callbacks: int) -> None:
        self.cfunc = cfunc
        self.address = int(cfunc.address)
        self.callbacks = callbacks
        self.call = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)(self.address)


class CompiledJob:
    """A checked compiled strategy: what a backend runs. The Rust engine reads
    `entry_address`, `callbacks`, `params_address`, `state_size` and `max_requests`; the
    object keeps the entry and the parameter record alive meanwhile."""

    def __init__(
        self, strategy: CompiledStrategy, entry: Entry, params: np.ndarray, n_symbols: int
    ) -> None:
        self.compiled = strategy
        self.entry = entry
        self.params = params
        self.entry_address = entry.address
        self.callbacks = entry.callbacks
        self.params_address = int(params.ctypes.data) if params.dtype.itemsize else 0
        most = MAX_STATE_VALUES // max(n_symbols, 1)  # state_size x symbols values in all
        self.state_size = _setting(strategy, "state_size", 0, most)
        self.max_requests = _setting(strategy, "max_requests", 1, MAX_REQUESTS)

    def strategy(self, bars: Bars) -> Strategy:
        """The reference `Strategy` that runs this job."""
        return CompiledRun(bars, self)

    def __repr__(self) -> str:
        return repr(self.compiled)


#: The largest buffers a run allocates: 2**27 state values (1 GiB) over all symbols, and
#: 2**20 requests per call (104 MiB); larger settings are refused before a run allocates.
MAX_STATE_VALUES = 2**27
MAX_REQUESTS = 2**20


def _setting(strategy: CompiledStrategy, name: str, least: int, most: int) -> int:
    value = getattr(strategy, name)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not least <= value <= most
    ):
        raise ConfigError(
            f"{name}: must be a whole number from {least} to {most:,}, got {value!r} "
            f"({type(strategy).__name__})"
        )
    return int(value)


# ============================================================================ the driver
def _price(value: float | None) -> float:
    return math.nan if value is None else value


def _order_record(record: np.ndarray, order: Order, columns: dict[str, int]) -> None:
    """Write `order` into `record` (an ORDER_RECORD element), as the Rust engine does."""
    record["order_id"] = order.order_id
    record["symbol"] = columns[order.symbol]
    record["side"] = NO_CODE if order.side is None else SIDES.index(order.side.value)
    record["order_type"] = ORDER_TYPES.index(order.order_type.value)
    record["time_in_force"] = TIMES_IN_FORCE.index(order.time_in_force.value)
    record["status"] = STATUSES.index(order.status.value)
    reason = order.reject_reason
    record["reason"] = NO_CODE if reason is None else REASONS.index(reason)
    record["quantity"] = order.quantity
    record["filled_quantity"] = order.filled_quantity
    record["limit_price"] = _price(order.limit_price)
    record["stop_price"] = _price(order.stop_price)
    record["average_fill_price"] = order.average_fill_price
    record["target_quantity"] = _price(order.target_quantity)
    record["target_percent"] = _price(order.target_percent)
    record["expire_at"] = NO_TIME if order.expire_at is None else order.expire_at


class CompiledRun(Strategy):
    """The reference's way to run a compiled strategy: a `Strategy` whose callbacks fill the
    frame, call the compiled entry (through ctypes) and apply its requests through ``ctx``.

    It refreshes the account view before every call; the Rust engine refreshes it only when
    something may have changed it, which gives the same values."""

    def __init__(self, bars: Bars, job: CompiledJob) -> None:
        super().__init__()
        self.job = job
        self.symbols = bars.symbols
        self.columns = {symbol: n for n, symbol in enumerate(bars.symbols)}
        n = bars.n_symbols
        self.frame = np.zeros(1, dtype=FRAME)
        self.positions = np.zeros(n)
        self.costs = np.zeros(n)
        self.state = np.zeros(n * job.state_size)
        self.requests = np.zeros(job.max_requests, dtype=REQUEST)
        self.orders = np.zeros(16, dtype=ORDER_RECORD)
        self.order_event = np.zeros(1, dtype=ORDER_RECORD)
        self.fill_event = np.zeros(1, dtype=FILL_RECORD)
        frame = self.frame
        frame["n_bars"] = bars.n_bars
        frame["n_symbols"] = n
        frame["timestamps"] = bars.timestamps.ctypes.data
        for field in ("open", "high", "low", "close", "volume"):
            frame[field] = getattr(bars, field).ctypes.data
        frame["position"] = self.positions.ctypes.data
        frame["average_cost"] = self.costs.ctypes.data
        frame["params"] = job.params_address
        frame["state"] = self.state.ctypes.data
        frame["state_size"] = job.state_size
        frame["requests"] = self.requests.ctypes.data
        frame["capacity"] = job.max_requests
        # Only the callbacks the compiled strategy has are called (as for any Strategy,
        # whose callbacks it does not override are not).
        bits = job.callbacks
        for code, name in enumerate(CALLBACKS):
            if not bits >> code & 1:
                setattr(self, name, getattr(Strategy, name).__get__(self))

    # -- the callbacks --------------------------------------------------------------------
    def on_start(self, ctx: Context) -> None:
        self.call(ctx, 0, -1, 0)

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        self.call(ctx, 1, self.columns[bar.symbol], 0)

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        event = self.fill_event
        event["order_id"] = fill.order_id
        event["symbol"] = self.columns[fill.symbol]
        event["side"] = SIDES.index(fill.side.value)
        event["quantity"] = fill.quantity
        event["price"] = fill.price
        event["commission"] = fill.commission
        event["tax"] = fill.tax
        self.call(ctx, 2, self.columns[fill.symbol], event.ctypes.data)

    def on_order(self, ctx: Context, order: Order) -> None:
        _order_record(self.order_event[0:1], order, self.columns)
        self.call(ctx, 3, self.columns[order.symbol], self.order_event.ctypes.data)

    def on_end(self, ctx: Context) -> None:
        self.call(ctx, 4, -1, 0)

    # -- one call -------------------------------------------------------------------------
    def call(self, ctx: Context, callback: int, column: int, event: int) -> None:
        """Fill the frame, call the entry, then apply the requests (section 26)."""
        self.refresh(ctx)
        frame = self.frame
        frame["callback"] = callback
        frame["index"] = ctx.bar_index
        now = ctx.now
        frame["now"] = self.frame_now(ctx) if now is None else now
        frame["column"] = column
        frame["event"] = event
        frame["next_order_id"] = self.n_orders(ctx) + 1
        frame["n_requests"] = 0
        frame["fault"] = FAULT_NONE
        frame["fault_value"] = 0
        status = self.job.entry.call(frame.ctypes.data)
        n_requests = int(frame["n_requests"][0])
        if status != 0 or not 0 <= n_requests <= self.job.max_requests:
            symbol = None if column < 0 else self.symbols[column]
            raise callback_error(
                callback,
                status,
                int(frame["fault"][0]),
                int(frame["fault_value"][0]),
                n_requests,
                symbol,
                int(frame["index"][0]),
                int(frame["now"][0]),
            )
        for k in range(n_requests):
            self.apply(ctx, tuple(self.requests[k].tolist()))

    def apply(self, ctx: Context, request: tuple[Any, ...]) -> None:
        """One request, as the ctx method it stands for, checked first as that method checks
        (so that both engines refuse it with the same error)."""
        column = request[1]
        last = math.nan
        if request[0] != CANCEL and 0 <= column < len(self.symbols):
            last = ctx.get_position(self.symbols[column]).last_price
        index, now = ctx.bar_index, int(self.frame["now"][0])
        method, arguments = check_request(
            request, self.symbols, index, now, last, self.n_orders(ctx)
        )
        getattr(ctx, method)(*arguments)

    def refresh(self, ctx: Context) -> None:
        """The account view: cash, equity, positions and live orders, as they are now."""
        frame = self.frame
        frame["cash"] = ctx.cash
        frame["equity"] = ctx.equity
        for n, symbol in enumerate(self.symbols):
            position = ctx.get_position(symbol)
            self.positions[n] = position.quantity
            self.costs[n] = position.average_cost
        live = ctx.open_orders()
        if len(live) > len(self.orders):
            self.orders = np.zeros(2 * len(live), dtype=ORDER_RECORD)
        for k, order in enumerate(live):
            _order_record(self.orders[k : k + 1], order, self.columns)
        frame["orders"] = self.orders.ctypes.data
        frame["n_orders"] = len(live)

    @staticmethod
    def n_orders(ctx: Context) -> int:
        """How many orders the run has made (ids are 1..n)."""
        return len(_run_of(ctx).broker.orders)

    @staticmethod
    def frame_now(ctx: Context) -> int:
        """The engine's current timestamp before the first bar (ctx.now is None there)."""
        return int(_run_of(ctx).now)


def _run_of(ctx: Context) -> Any:
    """The reference run behind `ctx` (CompiledRun runs on the reference engine only)."""
    return ctx._live()  # type: ignore[attr-defined]  # RunContext, the reference's ctx
