"""Orders, fills, round-trip trades and positions: the nouns of execution and of the account.

Every enum accepts its member names as strings in any case: ``Side("buy")``,
``Side("BUY")``, ``OrderType("stop_limit")``, ``TimeInForce("gtc")``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from quanta_ref.errors import OrderError


class _NamedEnum(enum.Enum):
    """An enum whose members can also be looked up by their name in any case."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            for member in cls:
                if member.value == key:
                    return member
        return None

    @classmethod
    def parse(cls, value: Any, field: str) -> Any:
        """`cls(value)`, but an unknown value raises `OrderError` naming `field`."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in cls)
            raise OrderError(f"{field}: {value!r} is not one of {choices}") from None

    def __str__(self) -> str:
        return self.value


class Side(_NamedEnum):
    """Direction of an order or fill."""

    BUY = "buy"
    SELL = "sell"


class OrderType(_NamedEnum):
    """How an order is priced; see docs/semantics.md, section 4."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    #: A stop order whose stop follows the closes at a distance (docs/semantics.md, section
    #: 21): its `stop_price` is computed, never given.
    TRAILING_STOP = "trailing_stop"

    @property
    def uses_limit_price(self) -> bool:
        """Limit and stop-limit orders take a limit price; the others must not."""
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT)

    @property
    def uses_stop_price(self) -> bool:
        """Stop and stop-limit orders take a stop price; the others must not."""
        return self in (OrderType.STOP, OrderType.STOP_LIMIT)


class TimeInForce(_NamedEnum):
    """How long an order stays live (docs/semantics.md, sections 5 and 21): until cancelled
    (GTC), to the end of its trading day (DAY), for one matching attempt (IOC: what does not
    fill at once is cancelled; FOK: all at once or nothing), or through `expire_at` (GTD)."""

    GTC = "gtc"
    DAY = "day"
    IOC = "ioc"
    FOK = "fok"
    GTD = "gtd"


class OrderStatus(_NamedEnum):
    """Life cycle: PENDING -> PARTIALLY_FILLED -> FILLED, or to CANCELLED, EXPIRED, REJECTED.

    EXPIRED is a DAY or GTD order that reached the end of its time unfilled.
    """

    PENDING = "pending"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_live(self) -> bool:
        """True while the order can still fill."""
        return self in (OrderStatus.PENDING, OrderStatus.PARTIALLY_FILLED)


class Reason:
    """Reason codes set on `Order.reject_reason` when the engine (not the strategy) ends an
    order without filling it completely. Plain strings so they print and compare simply."""

    INSUFFICIENT_CASH = "insufficient_cash"
    INSUFFICIENT_POSITION = "insufficient_position"
    LOT_SIZE = "lot_size"
    NO_PRICE = "no_price"
    ZERO_QUANTITY = "zero_quantity"
    MAX_POSITION = "max_position"
    MAX_ORDER_VALUE = "max_order_value"
    MAX_LEVERAGE = "max_leverage"
    DRAWDOWN_HALT = "drawdown_halt"
    EXPIRED = "expired"
    #: A bonus, split or reverse split changed what a share is; the order's quantity and
    #: prices referred to the old shares.
    CORPORATE_ACTION = "corporate_action"
    #: External execution (a live session): the broker refused or ended the order.
    BROKER = "broker"
    #: An IOC order's rest, or an FOK order that could not fill whole, at its one attempt.
    TIME_IN_FORCE = "time_in_force"
    #: The initial margin of the margin positions after the order would exceed the equity.
    INSUFFICIENT_MARGIN = "insufficient_margin"
    #: The account is in a margin call: its margin symbols' orders end, and orders that open
    #: or add to a margin position are refused until the call clears.
    MARGIN_CALL = "margin_call"
    #: Another order of its one-cancels-other group filled or ended.
    OCO = "oco"


class Order:
    """An order and its current state.

    A *target* order (from `order_target_quantity` / `order_target_percent`) is a market order
    whose side and quantity are unknown until it fills: until then `side` is None and
    `quantity` is 0.0, and `target_quantity` or `target_percent` holds the target.

    `oco_group` is the one-cancels-other group the order is in (``ctx.oco``, a bracket's
    exits), if any; `parent_id` is the entry order of a bracket exit.
    """

    __slots__ = (
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
        "expire_at",
        "trail_amount",
        "trail_percent",
        "oco_group",
        "parent_id",
        "triggered",
        "eligible_bar",
        "active_day",
    )

    def __init__(
        self,
        order_id: int,
        symbol: str,
        side: Side | None,
        quantity: float,
        order_type: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        time_in_force: TimeInForce,
        created_at: int,
        eligible_bar: int,
        target_quantity: float | None = None,
        target_percent: float | None = None,
        expire_at: int | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
        parent_id: int | None = None,
    ) -> None:
        self.order_id = order_id
        self.symbol = symbol
        self.side = side
        self.quantity = quantity
        self.filled_quantity = 0.0
        self.order_type = order_type
        self.limit_price = limit_price
        self.stop_price = stop_price
        self.time_in_force = time_in_force
        self.status = OrderStatus.PENDING
        self.reject_reason: str | None = None
        self.created_at = created_at  # timestamp (ns) of the bar it was submitted on
        self.filled_at: int | None = None  # timestamp of its last fill
        self.target_quantity = target_quantity
        self.target_percent = target_percent
        self.average_fill_price = 0.0
        self.expire_at = expire_at  # a GTD order's last instant (ns), inclusive
        self.trail_amount = trail_amount  # a trailing stop's distance, in price
        self.trail_percent = trail_percent  # ... or as a fraction of the close
        self.oco_group: int | None = None  # its one-cancels-other group, once in one
        self.parent_id = parent_id  # the entry order of a bracket exit
        self.triggered = False  # a stop that has been touched
        self.eligible_bar = eligible_bar  # first bar index at which it may be matched
        self.active_day: int | None = None  # trading day a DAY order lives in, once known

    @property
    def remaining(self) -> float:
        """Quantity still to fill."""
        return self.quantity - self.filled_quantity

    @property
    def is_target(self) -> bool:
        """True for an order sized at fill time from a target."""
        return self.target_quantity is not None or self.target_percent is not None

    def snapshot(self) -> Order:
        """A copy, so the caller's view does not change as the engine goes on."""
        copy = Order.__new__(Order)
        for name in Order.__slots__:
            setattr(copy, name, getattr(self, name))
        return copy

    def as_dict(self) -> dict[str, Any]:
        """The public fields as a dict (enums as their string values)."""
        out = {name: getattr(self, name) for name in ORDER_FIELDS}
        for key in ("side", "order_type", "time_in_force", "status"):
            out[key] = None if out[key] is None else out[key].value
        return out

    def __repr__(self) -> str:
        side = self.side.value if self.side else "target"
        extra = f", reason={self.reject_reason!r}" if self.reject_reason else ""
        return (
            f"Order(#{self.order_id} {side} {self.quantity:g} {self.symbol} "
            f"{self.order_type.value}, {self.status.value}, "
            f"filled={self.filled_quantity:g}{extra})"
        )


#: The public fields of an `Order`, in slot order: the engine's own bookkeeping (whether a
#: stop has triggered, the first bar it may trade, the day of a DAY order) left out.
ORDER_FIELDS = tuple(
    name for name in Order.__slots__ if name not in ("triggered", "eligible_bar", "active_day")
)


@dataclass(frozen=True)
class Fill:
    """One execution: `quantity` of `symbol` at `price`, with its costs.

    `timestamp` is the bar's timestamp (int64 ns); `commission` and `tax` are cash amounts
    paid on top of (buys) or out of (sells) the traded value `quantity * price`.
    """

    order_id: int
    timestamp: int
    symbol: str
    side: Side
    quantity: float
    price: float
    commission: float
    tax: float

    @property
    def value(self) -> float:
        """Traded value, quantity * price."""
        return self.quantity * self.price


@dataclass(frozen=True)
class Trade:
    """A closed round trip, matched first-in first-out.

    `direction` is +1 for a long trade (bought then sold), -1 for a short one. `pnl` is net of
    the entry costs (pro rata to `quantity`) and of the exit costs; `return_` is `pnl` over
    the entry value `entry_price * quantity`.
    """

    symbol: str
    direction: int
    quantity: float
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    pnl: float
    return_: float


@dataclass(frozen=True)
class CorporateActionRecord:
    """A corporate action applied to a holding (docs/semantics.md, "Corporate actions").

    `timestamp` is the row at which it applied (the first trading day on or after the
    ex-date); `quantity_before` / `quantity_after` the holding before and after the bonus
    shares or split (equal for a cash dividend); `cash` the dividend, quantity held x cash
    per share (negative when a short pays it), before tax; `tax` the dividend tax withheld.
    The account's cash changed by ``cash - tax``.
    """

    timestamp: int
    symbol: str
    quantity_before: float
    quantity_after: float
    cash: float
    tax: float


@dataclass
class Position:
    """One symbol's holding. `quantity` < 0 is a short (margin accounts only).

    `average_cost` is the volume-weighted fill price of the open quantity, costs excluded;
    `realized_pnl` is the price P&L of closed quantity against that average, costs excluded
    (costs are in `Portfolio.total_commission` / `total_tax` and in each `Trade.pnl`).
    Prices are per unit; values (P&L, market value) are x `multiplier`, the symbol's contract
    multiplier (1.0 unless set in `EngineConfig.instruments`).
    """

    symbol: str
    quantity: float = 0.0
    average_cost: float = 0.0
    realized_pnl: float = 0.0
    last_price: float = float("nan")  # latest close seen (NaN before the first bar)
    multiplier: float = 1.0

    @property
    def unrealized_pnl(self) -> float:
        """(last price - average cost) * quantity * multiplier; 0 when flat."""
        if self.quantity == 0.0:
            return 0.0
        return (self.last_price - self.average_cost) * self.quantity * self.multiplier

    @property
    def market_value(self) -> float:
        """quantity * last price * multiplier; 0 when flat."""
        if self.quantity == 0.0:
            return 0.0
        return self.quantity * self.last_price * self.multiplier


def rejection_counts(orders: Iterable[Order]) -> dict[str, int]:
    """How many of `orders` the engine rejected (status REJECTED), by `reject_reason`, the
    reasons in name order: what `BacktestResult.rejections` holds (the Rust backend counts the
    same natively). Orders cancelled or expired are not rejections."""
    counts: dict[str, int] = {}
    for order in orders:
        if order.status is OrderStatus.REJECTED:
            reason = order.reject_reason or "unknown"
            counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items()))
