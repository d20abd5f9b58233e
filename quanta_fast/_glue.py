"""Conversions the native engine calls at the Python edge (not a public API).

The native `Engine` reads these by name once, when it is built (`rust/quanta-py/src/glue.rs`).
The native context builds plain tuples; the `make_*` functions turn them into the reference's
own types, so a strategy and a result see `quanta_ref.orders.Order`, `Fill`, `Trade` and
`quanta_ref.orders.Position` whichever backend ran. The argument checks the native context
falls back to for unusual arguments are the reference's own (`quanta_ref.engine.check_*`), and
the enum classes (`Side`, `OrderType`, `TimeInForce`) are the ones it parses names with. The
refusals of a context used outside its run (`CONTEXT_ENDED`, `CONTEXT_THREAD`, `read_only`)
are the reference's too, and so are the errors of a compiled strategy's failed callback or
refused request (`compiled_callback_error`, `compiled_request_error`).
"""

from __future__ import annotations

from typing import Any

from quanta_ref.compiled import callback_error as compiled_callback_error
from quanta_ref.compiled import request_error as compiled_request_error
from quanta_ref.engine import (
    CONTEXT_ENDED,
    CONTEXT_THREAD,
    check_bracket_entry,
    check_bracket_levels,
    check_choice,
    check_expire_at,
    check_margin_arguments,
    check_number,
    check_oco_ids,
    check_oco_member,
    check_order_id,
    check_prices,
    check_symbol,
    check_trail,
    check_trailing_level,
    history_view,
    make_signal,
    read_only,
)
from quanta_ref.orders import (
    CorporateActionRecord,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    Trade,
)

__all__ = [
    "CONTEXT_ENDED",
    "CONTEXT_THREAD",
    "CorporateActionRecord",
    "check_bracket_levels",
    "check_bracket_entry",
    "check_choice",
    "check_expire_at",
    "check_margin_arguments",
    "check_number",
    "check_oco_ids",
    "check_oco_member",
    "check_order_id",
    "check_prices",
    "check_symbol",
    "check_trail",
    "check_trailing_level",
    "compiled_callback_error",
    "compiled_request_error",
    "history_view",
    "make_fill",
    "make_order",
    "make_position",
    "make_signal",
    "make_trade",
    "read_only",
    "OrderType",
    "Side",
    "TimeInForce",
]

_SIDE = {m.value: m for m in Side}
_TYPE = {m.value: m for m in OrderType}
_TIF = {m.value: m for m in TimeInForce}
_STATUS = {m.value: m for m in OrderStatus}
_SLOTS = Order.__slots__
# The lookups come from the enums themselves: the names are written once in
# `quanta_ref.orders` and once in the core (`named_enum!`); a side, order type, time in force
# or status the core spelled differently would be a KeyError here on the first order of any
# test (reject reasons pass through as the strings the core gives).


def make_order(head: tuple[Any, ...], tail: tuple[Any, ...]) -> Order:
    """An `Order` from the native fields in `Order.__slots__` order (enums as strings), in
    two tuples because PyO3 converts tuples of at most 12."""
    order = Order.__new__(Order)
    for name, value in zip(_SLOTS, head + tail, strict=True):
        setattr(order, name, value)
    side: Any = order.side
    kind: Any = order.order_type
    tif: Any = order.time_in_force
    status: Any = order.status
    order.side = None if side is None else _SIDE[side]
    order.order_type = _TYPE[kind]
    order.time_in_force = _TIF[tif]
    order.status = _STATUS[status]
    return order


def make_fill(
    order_id: int,
    timestamp: int,
    symbol: str,
    side: str,
    quantity: float,
    price: float,
    commission: float,
    tax: float,
) -> Fill:
    """A `Fill` from native fields."""
    return Fill(order_id, timestamp, symbol, _SIDE[side], quantity, price, commission, tax)


def make_trade(
    symbol: str,
    direction: int,
    quantity: float,
    entry_time: int,
    entry_price: float,
    exit_time: int,
    exit_price: float,
    pnl: float,
    return_: float,
) -> Trade:
    """A `Trade` from native fields."""
    return Trade(
        symbol, direction, quantity, entry_time, entry_price, exit_time, exit_price, pnl, return_
    )


def make_position(
    symbol: str,
    quantity: float,
    average_cost: float,
    realized_pnl: float,
    last_price: float,
    multiplier: float,
) -> Position:
    """A `Position` copy from native fields."""
    return Position(symbol, quantity, average_cost, realized_pnl, last_price, multiplier)
