"""Fill prices: where an order trades inside a bar, if it trades at all.

These are functions of one order and one bar (the only state they touch is a stop order's
`triggered` flag); the engine decides *when* an order is matched (docs/semantics.md, section
2) and what quantity trades. A bar gives four prices
and no path between them, so every rule takes the view least favourable to the trader that
the bar cannot rule out. Slippage moves market and stop fills against the trader, but never
outside the bar's range: nobody traded there.
"""

from __future__ import annotations

import math

from quanta_ref.orders import Order, OrderType, Side

#: Without a tick size, a price this close (relative) to a daily limit counts as at it.
PRICE_LIMIT_RELATIVE_TOLERANCE = 1e-9


def with_slippage(side: Side, base: float, high: float, low: float, slippage: float) -> float:
    """A market-style fill price: `base` moved by the `slippage` fraction against the trader
    (up for buys, down for sells), clamped to the bar's [low, high]."""
    if side is Side.BUY:
        price = base * (1.0 + slippage)
        return price if price < high else high
    price = base * (1.0 - slippage)
    return price if price > low else low


def limit_price_in_bar(
    side: Side, limit: float, open_: float, high: float, low: float
) -> float | None:
    """Where a limit order fills in a bar it is live for the whole of, or None.

    Buy at L: the open if the bar opens at or below L (price improvement: the first trade of
    the bar was already good enough); else L if the low reached it; else no fill. Sells mirror.
    """
    if side is Side.BUY:
        if open_ <= limit:
            return open_
        if low <= limit:
            return limit
        return None
    if open_ >= limit:
        return open_
    if high >= limit:
        return limit
    return None


def fill_price(
    order: Order,
    open_: float,
    high: float,
    low: float,
    close: float,
    at_close: bool,
    slippage: float,
) -> float | None:
    """The price at which `order` fills in this bar, or None if it does not.

    `at_close` prices a market order at the close (``fill_at="close"``) instead of the open.
    A stop order that the bar touches is marked ``order.triggered``, and from then on it is
    a market order (stop) or a limit order (stop-limit), in this bar and any later one.
    """
    side = order.side
    assert side is not None, "target orders are sized before they are priced"
    kind = order.order_type
    if kind is OrderType.MARKET or (kind is OrderType.STOP and order.triggered):
        base = close if at_close else open_
        return with_slippage(side, base, high, low, slippage)
    if kind is OrderType.LIMIT or (kind is OrderType.STOP_LIMIT and order.triggered):
        assert order.limit_price is not None
        return limit_price_in_bar(side, order.limit_price, open_, high, low)

    stop = order.stop_price
    assert stop is not None
    buy = side is Side.BUY
    # Triggered at the open: the whole bar happens after the trigger.
    if (open_ >= stop) if buy else (open_ <= stop):
        order.triggered = True
        if kind is OrderType.STOP:
            return with_slippage(side, open_, high, low, slippage)
        assert order.limit_price is not None
        return limit_price_in_bar(side, order.limit_price, open_, high, low)
    # Triggered inside the bar: the price passed through the stop at some moment.
    if (high >= stop) if buy else (low <= stop):
        order.triggered = True
        if kind is OrderType.STOP:
            return with_slippage(side, stop, high, low, slippage)
        # Stop-limit: at the trigger the price is the stop. If the stop is within the limit,
        # the order fills there. If not, the bar cannot tell whether the price came back to
        # the limit *after* the trigger, so it does not fill in this bar (pessimistic); it
        # waits as a limit order.
        assert order.limit_price is not None
        within = stop <= order.limit_price if buy else stop >= order.limit_price
        return stop if within else None
    return None


def floor(x: float) -> float:
    """math.floor kept in float: infinities and NaN pass through (as in IEEE / Rust), and
    results beyond 2**53 stay floats instead of becoming exact Python integers."""
    return float(math.floor(x)) if math.isfinite(x) else x


def round_to_tick(price: float, tick: float) -> float:
    """`price` rounded to the nearest multiple of `tick`, halves up: floor(p / tick + 0.5)."""
    return floor(price / tick + 0.5) * tick


def price_limits(reference_close: float, limit: float, tick: float | None) -> tuple[float, float]:
    """(limit-down, limit-up) prices for a day whose previous close is `reference_close`."""
    up = reference_close * (1.0 + limit)
    down = reference_close * (1.0 - limit)
    if tick is not None:
        up = round_to_tick(up, tick)
        down = round_to_tick(down, tick)
    return down, up


def blocked_by_price_limit(
    side: Side, price: float, down: float, up: float, tick: float | None
) -> bool:
    """True when a buy would trade at the limit-up price or a sell at the limit-down price.

    At the limit the queue on the other side is (almost) never reached by a backtest's order,
    so no fill is assumed. "At the limit" has a tolerance, because limits are computed in
    float and rounded to the tick while data prices are not always: with a tick size, within
    half a tick; without one, within one part in 10^9 of the limit price.
    """
    if side is Side.BUY:
        tolerance = tick * 0.5 if tick is not None else up * PRICE_LIMIT_RELATIVE_TOLERANCE
        return price >= up - tolerance
    tolerance = tick * 0.5 if tick is not None else down * PRICE_LIMIT_RELATIVE_TOLERANCE
    return price <= down + tolerance
