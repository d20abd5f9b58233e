# mypy: disable-error-code="call-arg"
# (mypy reads a numba @intrinsic as taking its typing context too; numba supplies it.)
"""The numba side of compiled strategies: the ``ctx`` compiled code talks to, and the entry.

`quanta_ref.compiled` says what a compiled strategy is and how the engines call it; this
module needs numba (``pip install 'quanta[numba]'``) and is imported only when a compiled
strategy is first run. It gives numba a ``Context`` type (one pointer: the frame) whose
attributes and methods have the names of the Python ``ctx``:

* data: ``ctx.bar_index``, ``ctx.now``, ``ctx.n_symbols``, ``ctx.n_bars``,
  ``ctx.history(symbol, field="close", length=None)`` (a view ending at the current bar);
* account: ``ctx.cash``, ``ctx.equity``, ``ctx.position(symbol)``,
  ``ctx.get_position(symbol)`` (``.quantity``, ``.average_cost``), ``ctx.open_orders()``
  (records: ``order_id``, ``symbol``, ``side``, ``order_type``, ``status``, ``quantity``,
  ``filled_quantity``, ``limit_price``, ``stop_price``, ...);
* orders: ``ctx.submit_order``, ``ctx.buy``, ``ctx.sell``, ``ctx.order_target_quantity``,
  ``ctx.order_target_percent`` (each returns the id the order will have) and
  ``ctx.cancel(order_id)``; the named choices (``side``, ``order_type``, ``time_in_force``)
  are string literals, read when numba compiles;
* the strategy's own: ``ctx.params.<name>`` and ``ctx.state`` (symbols x ``state_size``).

Symbols are data columns, 0 to ``n_symbols - 1``. ``bar`` (``on_bar``) has ``symbol``,
``timestamp``, ``open``, ``high``, ``low``, ``close``, ``volume``; ``fill`` and ``order``
(``on_fill``, ``on_order``) have the fields of `FILL_RECORD` / `ORDER_RECORD` with ``side``,
``status``, ... as codes: compare them with `BUY`, `SELL`, `FILLED`, ... of this module.

`entry_of` compiles a strategy class once per process: its callbacks with numba (bounds
checked), then one C entry (a ``@cfunc``) that builds ``ctx`` from the frame, calls the
callback the frame names inside ``try``, and returns 1 when it raised: numba cannot raise
across a C boundary. The entry, the callbacks' code included, is cached on disk when the
class lives in a .py file.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import os
import re
import sys
import time
from collections import namedtuple
from typing import Any

import numpy as np

from quanta_ref import compiled
from quanta_ref.compiled import (
    CALLBACKS,
    FAULT_LENGTH,
    FAULT_REQUESTS,
    FAULT_SYMBOL,
    FILL_RECORD,
    FRAME,
    GIVEN_AMOUNT,
    GIVEN_EXPIRE,
    GIVEN_LIMIT,
    GIVEN_PERCENT,
    GIVEN_STOP,
    ORDER_RECORD,
    ORDER_TYPES,
    REQUEST,
    SIDES,
    STATUSES,
    TIMES_IN_FORCE,
    Entry,
)
from quanta_ref.errors import ConfigError

try:
    import numba
    from numba import carray, types
    from numba.core import cgutils
    from numba.core.errors import TypingError
    from numba.core.imputils import impl_ret_borrowed
    from numba.extending import (
        intrinsic,
        make_attribute_wrapper,
        models,
        overload_attribute,
        overload_method,
        register_model,
    )
except ImportError as missing:  # pragma: no cover - the numba extra is installed in CI
    raise ConfigError(
        "strategy: a CompiledStrategy needs numba, an optional extra: pip install 'quanta[numba]'"
    ) from missing

# Codes as compile-time constants for user code (``fill.side == BUY``).
BUY, SELL = (SIDES.index(name) for name in ("buy", "sell"))
PENDING, PARTIALLY_FILLED, FILLED, CANCELLED, EXPIRED, REJECTED = (
    STATUSES.index(name)
    for name in ("pending", "partially_filled", "filled", "cancelled", "expired", "rejected")
)
MARKET, LIMIT, STOP, STOP_LIMIT, TRAILING_STOP = (
    ORDER_TYPES.index(name) for name in ("market", "limit", "stop", "stop_limit", "trailing_stop")
)

_frame_type = numba.from_dtype(FRAME)
_order_type = numba.from_dtype(ORDER_RECORD)
_fill_type = numba.from_dtype(FILL_RECORD)
_request_type = numba.from_dtype(REQUEST)
#: The panel fields ``ctx.history`` reads, by name: the frame field holding each address.
_FIELDS = ("open", "high", "low", "close", "volume")

Bar = namedtuple("Bar", ["symbol", "timestamp", "open", "high", "low", "close", "volume"])
PositionView = namedtuple("PositionView", ["quantity", "average_cost"])


# ============================================================================ the ctx type
class ContextType(types.Type):
    """The numba type of ``ctx``: a pointer to the frame; `params` is the numba record type
    of the strategy's parameters (None without parameters)."""

    def __init__(self, params: Any) -> None:
        self.params = params
        super().__init__(name=f"quanta.Context({params})")


@register_model(ContextType)
class _ContextModel(models.StructModel):
    def __init__(self, dmm: Any, fe_type: Any) -> None:
        super().__init__(dmm, fe_type, [("frame", types.voidptr)])


make_attribute_wrapper(ContextType, "frame", "_frame")


@intrinsic
def _pointer(typingctx, address, target):
    """A typed pointer to `target` (a type reference) at `address` (an integer or void*)."""
    pointee = target.instance_type
    signature = types.CPointer(pointee)(address, target)

    def codegen(context, builder, sig, args):
        lltype = context.get_value_type(types.CPointer(pointee))
        if isinstance(address, types.Integer):
            return builder.inttoptr(args[0], lltype)
        return builder.bitcast(args[0], lltype)

    return signature, codegen


def _context_maker(context_type: ContextType) -> Any:
    """An intrinsic that makes a `context_type` value from the frame's void*."""

    @intrinsic
    def make(typingctx, frame):
        def codegen(context, builder, sig, args):
            value = cgutils.create_struct_proxy(context_type)(context, builder)
            value.frame = args[0]
            return value._getvalue()

        return context_type(types.voidptr), codegen

    return make


@intrinsic
def _read_only(typingctx, array):
    """`array` typed read-only: numba refuses to compile a write to it."""
    signature = array.copy(readonly=True)(array)

    def codegen(context, builder, sig, args):
        return impl_ret_borrowed(context, builder, sig.return_type, args[0])

    return signature, codegen


@numba.njit
def _frame(ctx):
    return carray(_pointer(ctx._frame, _frame_type), 1)


@numba.njit
def _symbol(frame, symbol):
    """`symbol` as a column, or a fault (the run stops naming it)."""
    if symbol < 0 or symbol >= frame[0].n_symbols:
        frame[0].fault = FAULT_SYMBOL
        frame[0].fault_value = symbol
        raise IndexError("ctx: no such symbol")
    return symbol


def _attribute(name: str, getter: Any) -> None:
    """``ctx.<name>``, read by `getter(ctx)`."""

    @overload_attribute(ContextType, name)
    def attribute(ctx):
        return getter


_attribute("cash", lambda ctx: _frame(ctx)[0].cash)
_attribute("equity", lambda ctx: _frame(ctx)[0].equity)
_attribute("now", lambda ctx: _frame(ctx)[0].now)
_attribute("bar_index", lambda ctx: _frame(ctx)[0].index)
_attribute("n_symbols", lambda ctx: _frame(ctx)[0].n_symbols)
_attribute("n_bars", lambda ctx: _frame(ctx)[0].n_bars)


@overload_attribute(ContextType, "state")
def _state(ctx):
    def get(ctx):
        frame = _frame(ctx)[0]
        shape = (frame.n_symbols, frame.state_size)
        return carray(_pointer(frame.state, types.float64), shape)

    return get


@overload_attribute(ContextType, "params")
def _params(ctx):
    record = ctx.params
    if record is None:
        raise TypingError("ctx.params: this strategy declares no parameters")

    def get(ctx):
        return carray(_pointer(_frame(ctx)[0].params, record), 1)[0]

    return get


@overload_method(ContextType, "position")
def _position(ctx, symbol):
    def impl(ctx, symbol):
        frame = _frame(ctx)
        n = _symbol(frame, symbol)
        return carray(_pointer(frame[0].position, types.float64), frame[0].n_symbols)[n]

    return impl


@overload_method(ContextType, "get_position")
def _get_position(ctx, symbol):
    def impl(ctx, symbol):
        frame = _frame(ctx)
        n = _symbol(frame, symbol)
        size = frame[0].n_symbols
        quantity = carray(_pointer(frame[0].position, types.float64), size)[n]
        cost = carray(_pointer(frame[0].average_cost, types.float64), size)[n]
        return PositionView(quantity, cost)

    return impl


@overload_method(ContextType, "open_orders")
def _open_orders(ctx):
    def impl(ctx):
        frame = _frame(ctx)[0]
        return _read_only(carray(_pointer(frame.orders, _order_type), frame.n_orders))

    return impl


def _literal(value: Any, field: str, table: tuple[str, ...], default: str) -> int:
    """The code of a named choice given as a string literal (or left out)."""
    if isinstance(value, types.Omitted):
        value = value.value
    if value is None or isinstance(value, types.NoneType):
        return table.index(default)
    if isinstance(value, str) and value in table:  # a default of the signature
        return table.index(value)
    if isinstance(value, types.StringLiteral) and value.literal_value in table:
        return table.index(value.literal_value)
    raise TypingError(
        f"{field}: one of {list(table)} written as a string literal in the call (numba "
        f"reads it when it compiles), got {value}"
    )


def _given(value: Any) -> bool:
    if isinstance(value, types.Omitted):
        value = value.value
    return not (value is None or isinstance(value, types.NoneType))


@overload_method(ContextType, "history")
def _history(ctx, symbol, field="close", length=None):
    code = _literal(field, "field", _FIELDS, "close")
    given = _given(length)

    def impl(ctx, symbol, field="close", length=None):
        frame = _frame(ctx)
        n = _symbol(frame, symbol)
        f = frame[0]
        if code == 0:
            address = f.open
        elif code == 1:
            address = f.high
        elif code == 2:
            address = f.low
        elif code == 3:
            address = f.close
        else:
            address = f.volume
        panel = carray(_pointer(address, types.float64), (f.n_bars, f.n_symbols))
        stop = f.index + 1
        size = stop
        if given:
            size = length
        if size < 1 or size > stop:
            frame[0].fault = FAULT_LENGTH
            frame[0].fault_value = size
            raise IndexError("ctx.history: bad length")
        return _read_only(panel[stop - size : stop, n])

    return impl


# ============================================================================ requests
@numba.njit
def _request(frame):
    """The next free request slot (and the order id an order made there takes)."""
    k = frame[0].n_requests
    if k >= frame[0].capacity:
        frame[0].fault = FAULT_REQUESTS
        frame[0].fault_value = frame[0].capacity
        raise IndexError("ctx: too many requests")
    requests = carray(_pointer(frame[0].requests, _request_type), frame[0].capacity)
    frame[0].n_requests = k + 1
    return requests[k : k + 1]


@numba.njit
def _new_order_id(frame):
    """The id of the order the last request makes: the call's first id, plus the
    order-creating requests before it (cancels create none)."""
    requests = carray(_pointer(frame[0].requests, _request_type), frame[0].capacity)
    made = 0
    for k in range(frame[0].n_requests - 1):
        if requests[k].kind != compiled.CANCEL:
            made += 1
    return frame[0].next_order_id + made


def _submit_writer(
    order_type: Any,
    limit_price: Any,
    stop_price: Any,
    time_in_force: Any,
    expire_at: Any,
    trail_amount: Any,
    trail_percent: Any,
) -> Any:
    """The function that writes one order request, for the argument types of a call of
    `submit_order`, `buy` or `sell`: the choices and which optional arguments were given are
    read now, when numba types the call, and become constants of the request."""
    kind = _literal(order_type, "order_type", ORDER_TYPES, "market")
    tif = _literal(time_in_force, "time_in_force", TIMES_IN_FORCE, "gtc")
    given = (
        GIVEN_LIMIT * _given(limit_price)
        | GIVEN_STOP * _given(stop_price)
        | GIVEN_EXPIRE * _given(expire_at)
        | GIVEN_AMOUNT * _given(trail_amount)
        | GIVEN_PERCENT * _given(trail_percent)
    )
    nan = math.nan

    @numba.njit
    def write(
        ctx,
        symbol,
        side_code,
        quantity,
        limit_price,
        stop_price,
        expire_at,
        trail_amount,
        trail_percent,
    ):
        frame = _frame(ctx)
        request = _request(frame)
        request[0].kind = compiled.SUBMIT
        request[0].column = symbol
        request[0].side = side_code
        request[0].order_type = kind
        request[0].time_in_force = tif
        request[0].order_id = 0
        request[0].given = given
        request[0].quantity = quantity
        request[0].limit_price = limit_price if given & GIVEN_LIMIT else nan
        request[0].stop_price = stop_price if given & GIVEN_STOP else nan
        request[0].expire_at = expire_at if given & GIVEN_EXPIRE else compiled.NO_TIME
        request[0].trail_amount = trail_amount if given & GIVEN_AMOUNT else nan
        request[0].trail_percent = trail_percent if given & GIVEN_PERCENT else nan
        return _new_order_id(frame)

    return write


@overload_method(ContextType, "submit_order", prefer_literal=True)
def _submit_order(
    ctx,
    symbol,
    side,
    quantity,
    order_type="market",
    limit_price=None,
    stop_price=None,
    time_in_force="gtc",
    expire_at=None,
    trail_amount=None,
    trail_percent=None,
):
    side_code = _literal(side, "side", SIDES, "buy")
    write = _submit_writer(
        order_type,
        limit_price,
        stop_price,
        time_in_force,
        expire_at,
        trail_amount,
        trail_percent,
    )

    def impl(
        ctx,
        symbol,
        side,
        quantity,
        order_type="market",
        limit_price=None,
        stop_price=None,
        time_in_force="gtc",
        expire_at=None,
        trail_amount=None,
        trail_percent=None,
    ):
        return write(
            ctx,
            symbol,
            side_code,
            quantity,
            limit_price,
            stop_price,
            expire_at,
            trail_amount,
            trail_percent,
        )

    return impl


def _buy_or_sell(name: str) -> None:
    side_code = SIDES.index(name)

    @overload_method(ContextType, name, prefer_literal=True)
    def method(
        ctx,
        symbol,
        quantity,
        order_type="market",
        limit_price=None,
        stop_price=None,
        time_in_force="gtc",
        expire_at=None,
        trail_amount=None,
        trail_percent=None,
    ):
        write = _submit_writer(
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            expire_at,
            trail_amount,
            trail_percent,
        )

        def impl(
            ctx,
            symbol,
            quantity,
            order_type="market",
            limit_price=None,
            stop_price=None,
            time_in_force="gtc",
            expire_at=None,
            trail_amount=None,
            trail_percent=None,
        ):
            return write(
                ctx,
                symbol,
                side_code,
                quantity,
                limit_price,
                stop_price,
                expire_at,
                trail_amount,
                trail_percent,
            )

        return impl


_buy_or_sell("buy")
_buy_or_sell("sell")


def _target(name: str, kind: int) -> None:
    @overload_method(ContextType, name, prefer_literal=True)
    def method(ctx, symbol, value, time_in_force="gtc", expire_at=None):
        tif = _literal(time_in_force, "time_in_force", TIMES_IN_FORCE, "gtc")
        expires = _given(expire_at)

        def impl(ctx, symbol, value, time_in_force="gtc", expire_at=None):
            frame = _frame(ctx)
            request = _request(frame)
            request[0].kind = kind
            request[0].column = symbol
            request[0].side = -1
            request[0].order_type = 0
            request[0].time_in_force = tif
            request[0].order_id = 0
            request[0].given = GIVEN_EXPIRE if expires else 0
            request[0].expire_at = expire_at if expires else compiled.NO_TIME
            request[0].quantity = value
            request[0].limit_price = math.nan
            request[0].stop_price = math.nan
            request[0].trail_amount = math.nan
            request[0].trail_percent = math.nan
            return _new_order_id(frame)

        return impl


_target("order_target_quantity", compiled.TARGET_QUANTITY)
_target("order_target_percent", compiled.TARGET_PERCENT)


@overload_method(ContextType, "cancel")
def _cancel(ctx, order_id):
    def impl(ctx, order_id):
        frame = _frame(ctx)
        request = _request(frame)
        request[0].kind = compiled.CANCEL
        request[0].column = -1
        request[0].side = -1
        request[0].order_type = 0
        request[0].time_in_force = 0
        request[0].order_id = order_id
        request[0].given = 0
        request[0].expire_at = compiled.NO_TIME
        request[0].quantity = math.nan
        request[0].limit_price = math.nan
        request[0].stop_price = math.nan
        request[0].trail_amount = math.nan
        request[0].trail_percent = math.nan

    return impl


# ============================================================================ the entry
@numba.njit
def _bar(frame):
    f = frame[0]
    at = f.index * f.n_symbols + f.column
    size = f.n_bars * f.n_symbols
    return Bar(
        f.column,
        carray(_pointer(f.timestamps, types.int64), f.n_bars)[f.index],
        carray(_pointer(f.open, types.float64), size)[at],
        carray(_pointer(f.high, types.float64), size)[at],
        carray(_pointer(f.low, types.float64), size)[at],
        carray(_pointer(f.close, types.float64), size)[at],
        carray(_pointer(f.volume, types.float64), size)[at],
    )


@numba.njit
def _nothing(*args):
    pass


#: Compile times of the classes compiled in this process (seconds), for reports.
compile_seconds: dict[str, float] = {}


def _in_a_file(function: Any) -> str | None:
    """The source file of a function or class, if it is a real Python file (numba caches
    only those)."""
    try:
        source = inspect.getsourcefile(function)
    except TypeError:
        return None
    # A real .py file: code run from text (exec, a notebook cell) has none numba can stamp.
    if source is None or not source.endswith(".py") or not os.path.isfile(source):
        return None
    return source


def _jit(function: Any, boundscheck: bool) -> Any:
    """A callback as a numba dispatcher, compiled with the class's bounds checking (a
    function the user jitted already is compiled again from its Python source with it). Not
    cached on disk by itself: numba's cache key of a function sees neither the bounds
    checking nor quanta's ctx code compiled into it, so a cached callback could be stale; the
    entry, whose cache name hashes all of that, holds the callbacks' compiled code."""
    options: dict[str, Any] = {}
    if isinstance(function, numba.core.registry.CPUDispatcher):
        kept = function.targetoptions.items()
        options = {k: v for k, v in kept if k not in ("cache", "nopython")}
        function = function.py_func
    if not callable(function):
        raise ConfigError(f"{function!r}: a callback must be a function")
    options["boundscheck"] = boundscheck
    return numba.njit(**options)(function)


#: The entry, as source: compiled into a function whose globals are the strategy's
#: callbacks. (numba keys its disk cache on a function's bytecode, its closure and its name:
#: with the callbacks as globals, not a closure, the key is the same in every process, and the
#: name below makes it the strategy's own.)
_ENTRY = """
def entry(pointer):
    ctx = make_context(pointer)
    frame = carray(_pointer(pointer, _frame_type), 1)
    code = frame[0].callback
    try:
        if code == 1:
            on_bar(ctx, _bar(frame))
        elif code == 2:
            on_fill(ctx, carray(_pointer(frame[0].event, _fill_type), 1)[0])
        elif code == 3:
            on_order(ctx, carray(_pointer(frame[0].event, _order_type), 1)[0])
        elif code == 0:
            on_start(ctx)
        else:
            on_end(ctx)
    except Exception:
        return 1
    return 0
"""


def _fingerprint(cls: type, callbacks: dict[str, Any], dtype: np.dtype, boundscheck: bool) -> str:
    """What the compiled entry depends on, hashed: this module and the layouts (quanta's
    version of the ctx), numba's version, the callbacks' source, the parameter types and the
    bounds-check setting. A change to any gives the entry another cache name. (Like numba's
    own cache, it does not see a change in another file of a function a callback calls.)"""
    digest = hashlib.sha256()
    for module in (compiled, sys.modules[__name__]):
        with open(module.__file__ or "", "rb") as source:
            digest.update(source.read())
    digest.update(numba.__version__.encode())
    for name in CALLBACKS:
        function = callbacks.get(name)
        if function is not None:
            function = getattr(function, "py_func", function)
            digest.update(name.encode() + inspect.getsource(function).encode())
    digest.update(str(dtype.descr).encode() + str(boundscheck).encode())
    return digest.hexdigest()[:16]


def entry_of(cls: type) -> Entry:
    """The C entry of a CompiledStrategy class: compiled once per process, and loaded from
    numba's disk cache when the class lives in a file and nothing it depends on changed."""
    found = cls.__dict__.get("_quanta_entry")
    if found is not None:
        return found
    started = time.perf_counter()
    callbacks = cls.callbacks()  # type: ignore[attr-defined]
    boundscheck = bool(getattr(cls, "boundscheck", True))
    dtype = compiled.params_dtype(cls)
    params = numba.from_dtype(dtype) if dtype.names else None
    namespace: dict[str, Any] = {
        "__name__": cls.__module__,  # where numba's cache finds the entry's module again
        "make_context": _context_maker(ContextType(params)),
        "carray": carray,
        "_pointer": _pointer,
        "_bar": _bar,
        "_frame_type": _frame_type,
        "_fill_type": _fill_type,
        "_order_type": _order_type,
    }
    for name in CALLBACKS:
        namespace[name] = _jit(callbacks[name], boundscheck) if name in callbacks else _nothing
    source, line, fingerprint = _in_a_file(cls), 1, ""
    if source is not None:
        try:
            line = inspect.getsourcelines(cls)[1]
            fingerprint = _fingerprint(cls, callbacks, dtype, boundscheck)
        except (OSError, TypeError):  # a class made by type(), or a callback without source
            source = None
    # Compiled under the class's file name (numba's cache finds the entry through it), its
    # lines placed at the class's, so that numba's messages point there.
    exec(compile("\n" * (line - 1) + _ENTRY, source or "<quanta entry>", "exec"), namespace)
    entry = namespace["entry"]
    entry.__qualname__ = f"{cls.__qualname__}.quanta_entry_{fingerprint}"
    bits = sum(1 << code for code, name in enumerate(CALLBACKS) if name in callbacks)
    try:
        cfunc = numba.cfunc(types.int64(types.voidptr), cache=source is not None)(entry)
    except numba.core.errors.NumbaError as error:
        raise ConfigError(
            f"{cls.__name__}: numba could not compile the strategy. quanta expects callbacks "
            f"on_start(ctx), on_bar(ctx, bar), on_fill(ctx, fill), on_order(ctx, order), "
            f"on_end(ctx) in numba's nopython subset, written with the ctx vocabulary of "
            f"quanta_ref.compiled_numba (symbols are columns; order types and sides are string "
            f"literals). numba said:\n{_plain(str(error))}"
        ) from None
    found = Entry(cfunc, bits)
    cls._quanta_entry = found  # type: ignore[attr-defined]  # compiled once per class
    compile_seconds[cls.__qualname__] = time.perf_counter() - started
    return found


def _plain(text: str) -> str:
    """numba's message without its terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
