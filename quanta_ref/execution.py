"""Execution: fill prices, and the broker that takes an order from acceptance to its end.

The fill-price functions come first. They are functions of one order and one bar (the only
state they touch is a stop order's `triggered` flag); the engine decides *when* an order is
matched (docs/semantics.md, section 2) and the `Broker` what quantity trades. A bar gives
four prices and no path between them, so every rule takes the view least favourable to the
trader that the bar cannot rule out. Slippage moves market and stop fills against the
trader, but never outside the bar's range: nobody traded there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from quanta_ref import costs
from quanta_ref.config import SCHEDULED, EngineConfig
from quanta_ref.events import Event, EventBus, FillEvent, OrderEvent, Timeline
from quanta_ref.market import RunMarket
from quanta_ref.orders import Fill, Order, OrderStatus, OrderType, Reason, Side, TimeInForce
from quanta_ref.portfolio import Portfolio, overflow_error
from quanta_ref.risk import RiskManager

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
    slip: Callable[[float], float],
) -> float | None:
    """The price at which `order` fills in this bar, or None if it does not.

    `at_close` prices a market order at the close (``fill_at="close"``) instead of the open.
    `slip(base)` is the slipped price of a market-style fill whose unslipped price is `base`
    (the run's slippage model, see `Broker.slip`); it is called only for such a fill.
    A stop order that the bar touches is marked ``order.triggered``, and from then on it is
    a market order (stop) or a limit order (stop-limit), in this bar and any later one.
    """
    side = order.side
    assert side is not None, "target orders are sized before they are priced"
    kind = order.order_type
    if kind is OrderType.TRAILING_STOP:
        kind = OrderType.STOP  # matched as a stop order at its current level
    if kind is OrderType.MARKET or (kind is OrderType.STOP and order.triggered):
        base = close if at_close else open_
        return slip(base)
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
            return slip(open_)
        assert order.limit_price is not None
        return limit_price_in_bar(side, order.limit_price, open_, high, low)
    # Triggered inside the bar: the price passed through the stop at some moment.
    if (high >= stop) if buy else (low <= stop):
        order.triggered = True
        if kind is OrderType.STOP:
            return slip(stop)
        # Stop-limit: at the trigger the price is the stop. If the stop is within the limit,
        # the order fills there. If not, the bar cannot tell whether the price came back to
        # the limit *after* the trigger, so it does not fill in this bar (pessimistic); it
        # waits as a limit order.
        assert order.limit_price is not None
        within = stop <= order.limit_price if buy else stop >= order.limit_price
        return stop if within else None
    return None


def trailing_level(
    side: Side, reference: float, amount: float | None, percent: float | None
) -> float:
    """A trailing stop's level for the price `reference`: `amount` (or the fraction
    `percent` of it) below it for a sell, above it for a buy (docs/semantics.md, section 21)."""
    if amount is not None:
        return reference - amount if side is Side.SELL else reference + amount
    assert percent is not None
    factor = 1.0 - percent if side is Side.SELL else 1.0 + percent
    return reference * factor


def floor(x: float) -> float:
    """math.floor kept in float: infinities and NaN pass through (as in IEEE / Rust), and
    results beyond 2**53 stay floats instead of becoming exact Python integers."""
    return float(math.floor(x)) if math.isfinite(x) else x


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


# =================================================================== the broker
@dataclass
class Bracket:
    """A bracket's exit levels and its current exit orders (docs/semantics.md, section 22)."""

    stop_loss: float | None
    take_profit: float | None
    exits: list[Order] = field(default_factory=list)  # the last pair made (accepted or not)


# Float rounding can leave an affordable-quantity estimate a lot too high; this many
# one-lot steps down always suffice in practice, and bound the loop.
_AFFORD_STEPS = 8


class Broker:
    """The orders of one run and everything that happens to them: acceptance, matching one
    order against a bar, target sizing, costs and affordability, booking a fill, ending.

    The loop (`quanta_ref.engine`) moves the broker's clock (`index`, `now`, `day`,
    `in_close_phase`) and decides *when* an order is matched; the broker decides *whether*,
    at what price and for how much. It books fills into the portfolio, asks the risk manager,
    and publishes every fill and status change on the bus.
    """

    def __init__(
        self,
        config: EngineConfig,
        portfolio: Portfolio,
        risk: RiskManager,
        bus: EventBus,
        timeline: Timeline,
        market: RunMarket,
    ) -> None:
        self.cfg = config
        self.market = market
        self.portfolio = portfolio
        self.risk = risk
        self.bus = bus
        # The slippage model: FixedBps (slippage_bps when none is given) as a fraction in
        # `slippage`, any other in `slippage_model` (see `slip`).
        model = config.slippage
        self.slippage_model = None if model is None or isinstance(model, costs.FixedBps) else model
        bps = model.bps if isinstance(model, costs.FixedBps) else config.slippage_bps
        self.slippage = bps / 10_000.0
        self.t_plus_1 = config.settlement == "T+1"
        self.close_mode = config.fill_at == "close"

        self.orders: list[Order] = []  # every order; order_id = position + 1
        self.live: list[Order] = []  # live orders, in order_id order
        # One-cancels-other groups (group id = position + 1), each in order_id order, and the
        # brackets by their entry's order_id (docs/semantics.md, section 22).
        self.groups: list[list[Order]] = []
        self.brackets: dict[int, Bracket] = {}
        # The clock, moved by the loop.
        self.index = -1  # current bar row; -1 before the first bar
        self.now = timeline.timestamps[0]  # timestamp of the current row (row 0 before it)
        self.day = timeline.days[0] - 1  # current trading day (none yet)
        self.in_close_phase = False  # the close phase of this row has begun
        # External execution (a session whose orders go to a broker): the engine never
        # matches, expires or cancels a live order itself; the broker's reports end them.
        self.external = False

        n = len(portfolio.symbols)
        self.capacity = [math.inf] * n  # participation left in this bar, per symbol
        # Each symbol's lot size and tick (docs/semantics.md, section 24): its own, else the
        # engine-wide one; its multiplier and margin rates live in the portfolio.
        self.lots = [config.lot_size] * n
        self.ticks = [config.tick_size] * n
        if market.lots is not None:
            assert market.ticks is not None and market.multipliers is not None
            assert market.margins is not None and market.maintenance is not None
            self.lots = market.lots.tolist()
            self.ticks = [None if math.isnan(t) else t for t in market.ticks.tolist()]
            portfolio.use_instruments(
                market.multipliers.tolist(), market.margins.tolist(), market.maintenance.tolist()
            )
        # The engine's closing order of each margin symbol during a margin call (or None).
        self.liquidations: list[Order | None] = [None] * n
        self.volume = [0.0] * n  # volume of each symbol's bar at this row (slippage models)
        # The commission model of each symbol column: its own (docs/semantics.md, section
        # 24), else the engine-wide model (the settings' rates in force, when no model is
        # given: see `set_rates`, which leaves the symbols' own models alone).
        self.commission_models: list[object] = [config.commission] * n
        self.own_commission = [False] * n
        if market.commissions is not None:
            for column, model in enumerate(market.commissions):
                if model is not None:
                    self.commission_models[column] = model
                    self.own_commission[column] = True
        # The cost rates in force (docs/semantics.md, section 7): the settings' numbers, or
        # the rows of the run's rate table, put in force at the new-day steps of its rows.
        self.next_rates = 0
        self.commission_rate = self.min_commission = self.sell_tax_rate = 0.0
        self.buy_tax_rate = self.transfer_fee_rate = 0.0
        if market.rates is None:
            self.set_rates(*(float(getattr(config, name)) for name in SCHEDULED))
        risk.follow(portfolio, self)

    def overflow(self, kind: str, field: str, value: float, order: Order) -> None:
        """Stop the run: sizing or filling `order` gives a value outside the float range."""
        raise overflow_error(kind, field, value, order.order_id, order.symbol, self.index, self.now)

    def sized(self, quantity: float, order: Order, source: float) -> float:
        """`quantity`, computed from `source` for `order`: a NaN, or an infinity that
        `source` was not, stops the run. (An infinite target is "more than any float": the
        cash, the holding or the limits then decide the quantity.)"""
        if math.isnan(quantity) or (math.isinf(quantity) and not math.isinf(source)):
            self.overflow("size", "quantity", quantity, order)
        return quantity

    # =============================================================== the day and the bar
    def set_rates(
        self,
        commission_rate: float,
        min_commission: float,
        sell_tax_rate: float,
        buy_tax_rate: float,
        transfer_fee_rate: float,
    ) -> None:
        """Put these cost rates in force."""
        self.commission_rate = commission_rate
        self.min_commission = min_commission
        if self.cfg.commission is None:
            model = costs.PerValue(commission_rate, min_commission)
            for n, own in enumerate(self.own_commission):
                if not own:
                    self.commission_models[n] = model
        self.sell_tax_rate = sell_tax_rate
        self.buy_tax_rate = buy_tax_rate
        self.transfer_fee_rate = transfer_fee_rate

    def expire_day(self, day: int) -> None:
        """A new trading day begins: the day's cost rates come in force when they change at
        this row, and yesterday's DAY orders expire."""
        self.day = day
        rows, rates = self.market.rate_rows, self.market.rates
        if rows is not None and rates is not None:
            k = self.next_rates
            if k < len(rows) and rows[k] == self.index:
                self.set_rates(*rates[k].tolist())
                self.next_rates = k + 1
        if self.external:
            return
        # An order may end during the loop (its group's), so each is checked live first.
        for order in list(self.live):
            if (
                order.status.is_live
                and order.time_in_force is TimeInForce.DAY
                and order.active_day is not None
                and order.active_day < day
            ):
                self.finish(order, OrderStatus.EXPIRED, Reason.EXPIRED)

    def corporate_action(self, n: int, symbol: str, cash: float, shares: float) -> None:
        """A corporate action of symbol `n` on its ex-date, after the day's expiry: the
        account changes (`Portfolio.apply_action`), and a bonus or split cancels the symbol's
        sized live orders, whose quantity and prices refer to the old shares (target orders
        not yet sized stay: they size at the fill, on the new shares). A cash dividend
        leaves the orders alone: a share is still a share, and the price limits of the day
        move to the ex-rights price anyway."""
        cfg = self.cfg
        self.portfolio.apply_action(
            n, self.now, cash, shares, cfg.dividend_tax_rate, cfg.fractional
        )
        if shares != 0.0 and not self.external:
            for order in list(self.live):
                if order.status.is_live and order.symbol == symbol and order.side is not None:
                    self.finish(order, OrderStatus.CANCELLED, Reason.CORPORATE_ACTION)

    def expire_gtd(self) -> None:
        """Right after the new-day step of every row: the GTD orders whose `expire_at` is
        before this row's timestamp expire, in id order. Their events are published together,
        after the scan, so a callback cannot change which orders this row expires."""
        if self.external:
            return
        events: list[Event] = []
        for order in list(self.live):
            # (An order of a group an earlier expiry cancelled is no longer live.)
            if order.status.is_live and order.expire_at is not None and order.expire_at < self.now:
                order.status = OrderStatus.EXPIRED
                order.reject_reason = Reason.EXPIRED
                self.live.remove(order)
                events.append(OrderEvent(order.snapshot()))
                events.extend(self.cancel_group(order))
        if events:
            self.bus.publish(*events)

    def trail_stops(
        self, columns: dict[str, int], present: list[bool], closes: list[float]
    ) -> None:
        """Step 3, once the closes are set: every live trailing stop not yet triggered whose
        symbol has a bar here follows the close, in id order; a sell stop only rises, a buy
        stop only falls. (The strategy is not told: the order's status did not change.)"""
        if self.external:
            return
        for order in self.live:
            if order.order_type is not OrderType.TRAILING_STOP or order.triggered:
                continue
            n = columns[order.symbol]
            if not present[n]:
                continue
            side, stop = order.side, order.stop_price
            assert side is not None and stop is not None
            level = trailing_level(side, closes[n], order.trail_amount, order.trail_percent)
            if side is Side.SELL:
                order.stop_price = level if level > stop else stop
            else:
                order.stop_price = level if level < stop else stop

    def open_symbol(self, n: int, volume: float) -> None:
        """Symbol `n` has a bar at this row: its participation capacity in this bar."""
        fraction = self.cfg.max_volume_fraction
        self.capacity[n] = math.inf if fraction is None else fraction * volume
        self.volume[n] = volume

    def start_day(self, order: Order) -> None:
        """`order` is eligible at this row: a DAY order's one trading day is this row's, the
        first it is eligible at (its symbol may have no bar here: it then expires unfilled)."""
        if order.time_in_force is TimeInForce.DAY and order.active_day is None:
            order.active_day = self.day

    def waits_for_close(self, order: Order) -> bool:
        """In close mode, market orders (target orders too) trade at closes only."""
        return self.close_mode and order.order_type is OrderType.MARKET

    def end_time_in_force(self, order: Order) -> None:
        """After an IOC or FOK order's one attempt (its first eligible row, in its phase),
        whatever of it is still live is cancelled: nothing filled, the rest of a partial
        fill, or its symbol had no bar there."""
        if order.status.is_live and order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            self.finish(order, OrderStatus.CANCELLED, Reason.TIME_IN_FORCE)

    # =============================================================== matching one order
    def match_order(
        self,
        order: Order,
        n: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        at_close: bool,
    ) -> None:
        """Try to fill `order` in this bar of its symbol (column `n`).

        Each `return` without a fill leaves the order waiting for a later bar, except where
        `end` ends it. A target order sized here and then left waiting is un-sized again:
        it takes its size at the bar where it actually trades.
        """
        cfg = self.cfg
        sized_here = order.side is None
        side = order.side
        if sized_here:
            # A target order's fill price is the one it was sized at (a market order's).
            sized = self.size_target(order, n, open_, high, low, close, at_close)
            if sized is None:
                return
            side = order.side
            assert side is not None
            price: float | None = sized
        else:
            assert side is not None
            asked, bar = order.remaining, (open_, high, low, close)

            def slip(base: float) -> float:
                return self.slip(n, side, base, bar, asked)

            price = fill_price(order, open_, high, low, close, at_close, slip)
        if price is None or self.blocked(side, price, n):
            return self.wait(order, sized_here)
        quantity = order.remaining
        if cfg.max_volume_fraction is not None and quantity > self.capacity[n]:
            quantity = self.floor_lots(self.capacity[n], n)
            if quantity <= 0.0:
                return self.wait(order, sized_here)  # no participation left in this bar
        end_reason: str | None = None
        if not cfg.allow_short:
            if side is Side.SELL:
                held = self.portfolio.positions[n].quantity
                if held <= 0.0:
                    self.end(order, Reason.INSUFFICIENT_POSITION)
                    return
                sellable = self.portfolio.sellable(n, self.day, self.t_plus_1)
                if quantity > sellable:
                    # Whole lots, or the whole holding (an odd lot may only go all at once).
                    quantity = sellable if sellable == held else self.floor_lots(sellable, n)
                    if quantity <= 0.0:
                        # Bought today under T+1: wait for the next trading day.
                        return self.wait(order, sized_here)
                if quantity == held and quantity < order.remaining:
                    end_reason = Reason.INSUFFICIENT_POSITION  # nothing left to sell after
                if not self.covers_sell_costs(n, quantity, price):
                    self.end(order, Reason.INSUFFICIENT_CASH)
                    return
            elif not self.affords(n, quantity, price):
                quantity = self.affordable(n, price, order)
                if quantity <= 0.0:
                    self.end(order, Reason.INSUFFICIENT_CASH)
                    return
                end_reason = Reason.INSUFFICIENT_CASH
        # Fill or kill: all of what remains in this attempt, or nothing at all.
        if order.time_in_force is TimeInForce.FOK and (
            quantity != order.remaining or end_reason is not None
        ):
            self.finish(order, OrderStatus.CANCELLED, Reason.TIME_IN_FORCE)
            return
        # The risk limits again, now with the position, equity and price of this moment:
        # orders accepted together must not pass a limit together.
        reason = self.risk.check(
            self.portfolio, n, side, quantity, price, self.portfolio.equity_marking(n, price)
        )
        if reason is not None:
            self.end(order, reason)
            return
        self.book_fill(order, n, side, quantity, price, end_reason)

    def wait(self, order: Order, sized_here: bool) -> None:
        """Leave `order` live for a later bar; a target order goes back to unsized."""
        if sized_here:
            order.side = None
            order.quantity = 0.0

    def size_target(
        self,
        order: Order,
        n: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        at_close: bool,
    ) -> float | None:
        """Turn a target order into a plain market order and return its fill price; None if
        it does not trade now. The slippage model sees the quantity asked at the unslipped
        price: |target - held|."""
        base = close if at_close else open_
        bar = (open_, high, low, close)
        held = self.portfolio.positions[n].quantity
        multiplier = self.portfolio.multipliers[n]
        if order.target_quantity is not None or order.target_percent == 0.0:
            # A weight of 0 is a target of 0, whatever the equity (even outside the range).
            target = order.target_quantity if order.target_quantity is not None else 0.0
            side = Side.BUY if target > held else Side.SELL
            price = self.slip(n, side, base, bar, abs(target - held))
        else:
            weight = order.target_percent
            assert weight is not None
            # The side comes from the unslipped price, the size from the slipped one.
            # A unit is worth price x multiplier.
            rough = weight * self.portfolio.equity_marking(n, base) / (base * multiplier)
            side = Side.BUY if rough > held else Side.SELL
            price = self.slip(n, side, base, bar, abs(rough - held))
            target = self.sized(
                weight * self.portfolio.equity_marking(n, price) / (price * multiplier),
                order,
                math.inf,
            )
        if target == held:  # already there: nothing to do
            self.end(order, Reason.ZERO_QUANTITY, cancelled=True)
            return None
        if self.blocked(side, price, n):
            return None  # at a price limit: waits, unsized
        delta = target - held
        if (delta > 0.0) != (side is Side.BUY):
            self.end(order, Reason.ZERO_QUANTITY, cancelled=True)
            return None
        quantity = abs(held) if target == 0.0 else self.floor_lots(abs(delta), n)
        if side is Side.BUY and not self.cfg.allow_short and not self.affords(n, quantity, price):
            # "all in": the most the cash buys, costs in
            quantity = self.affordable(n, price, order)
            if quantity <= 0.0:
                self.end(order, Reason.INSUFFICIENT_CASH)
                return None
        if quantity <= 0.0:
            self.end(order, Reason.ZERO_QUANTITY, cancelled=True)
            return None
        order.side = side
        order.quantity = quantity
        return price

    def slip(
        self,
        n: int,
        side: Side,
        base: float,
        bar: tuple[float, float, float, float],
        asked: float,
    ) -> float:
        """The price of a market-style fill of symbol `n` whose unslipped price is `base`,
        moved against the trader by the slippage model and kept inside the bar (`bar`: its
        open, high, low, close). `asked` is the quantity asked at this bar: a sized order's
        remaining quantity, a target order's |target - held| at the unslipped price. A fill
        cut below it (participation, cash) still pays its impact: the price is set first."""
        high, low = bar[1], bar[2]
        model = self.slippage_model
        if model is None:  # FixedBps
            return with_slippage(side, base, high, low, self.slippage)
        if isinstance(model, costs.RangeFraction):
            return costs.range_price(side is Side.BUY, base, high, low, model.fraction)
        if isinstance(model, costs.SquareRootImpact):
            fraction = costs.impact(model.coefficient, asked, self.volume[n])
            return with_slippage(side, base, high, low, fraction)
        fraction = costs.call_slippage(
            model,
            self.portfolio.symbols[n],
            self.now,
            bar[0],
            high,
            low,
            bar[3],
            self.volume[n],
            side.value,
            asked,
            base,
            self.index,
        )
        return with_slippage(side, base, high, low, fraction)

    def blocked(self, side: Side, price: float, n: int) -> bool:
        """True when a daily price limit stops this fill (see blocked_by_price_limit): the
        limit prices of this bar, from the run's tables (NaN: no limit on that side)."""
        down, up = self.market.limit_down, self.market.limit_up
        if down is None or up is None:
            return False
        i = self.index
        return blocked_by_price_limit(
            side, price, float(down[i, n]), float(up[i, n]), self.ticks[n]
        )

    # =============================================================== costs and cash
    def commission(self, n: int, side: Side, quantity: float, price: float, value: float) -> float:
        """The commission of a fill of `quantity` of symbol `n` at `price`, worth `value`, by
        the symbol's commission model (`commission_models[n]`)."""
        model = self.commission_models[n]
        if isinstance(model, costs.COMMISSION_MODELS):
            return model.commission(quantity, value)
        assert callable(model)
        symbol = self.portfolio.symbols[n]
        return costs.call_commission(
            model, symbol, side.value, quantity, price, self.index, self.now
        )

    def tax(self, side: Side, value: float) -> float:
        """Stamp duty (sell_tax_rate on sells, buy_tax_rate on buys) plus the transfer fee
        (both sides), each a fraction of the traded value, added in that order."""
        stamp = self.sell_tax_rate if side is Side.SELL else self.buy_tax_rate
        return value * stamp + value * self.transfer_fee_rate

    def affords(self, n: int, quantity: float, price: float) -> bool:
        """Whether cash covers a buy of symbol `n`, in the exact arithmetic the booking uses."""
        value = quantity * price * self.portfolio.multipliers[n]
        commission = self.commission(n, Side.BUY, quantity, price, value)
        return self.portfolio.cash - value - commission - self.tax(Side.BUY, value) >= 0.0

    def covers_sell_costs(self, n: int, quantity: float, price: float) -> bool:
        """Whether a sell of symbol `n` leaves cash >= 0: a tiny sale can cost more (minimum
        commission) than it brings in, in the exact arithmetic the booking uses."""
        value = quantity * price * self.portfolio.multipliers[n]
        commission = self.commission(n, Side.SELL, quantity, price, value)
        return self.portfolio.cash + value - commission - self.tax(Side.SELL, value) >= 0.0

    def affordable(self, n: int, price: float, order: Order) -> float:
        """The largest whole-lot quantity of symbol `n` the cash buys at `price`, costs
        included (a unit costs price x multiplier).

        With the buy levies L (buy_tax_rate + transfer_fee_rate),
        value x (1 + L) + max(min_commission, value x rate) <= cash holds exactly when both
        value x (1 + rate + L) <= cash and value x (1 + L) + min_commission <= cash, so the
        estimate is the smaller of the two floors, then checked (and stepped down) in
        booking arithmetic. An estimate whose count of lots is beyond the float range stops
        the run. (With no levies, 1.0 + rate + 0.0 and price x 1.0 are exactly what they
        were before levies existed.)
        """
        cash, lot = self.portfolio.cash, self.lots[n]
        if cash <= 0.0:
            return 0.0
        unit = price * self.portfolio.multipliers[n]
        levies = self.buy_tax_rate + self.transfer_fee_rate
        model = self.commission_models[n]
        if not isinstance(model, costs.PerValue):
            return self.affordable_search(n, price, unit, order, cash, levies)
        lots = floor(cash / (unit * (1.0 + model.rate + levies)) / lot)
        if model.minimum > 0.0:
            by_minimum = floor((cash - model.minimum) / (unit * (1.0 + levies)) / lot)
            if by_minimum < lots:
                lots = by_minimum
        self.sized(lots, order, cash)
        for _ in range(_AFFORD_STEPS):
            if not lots > 0.0:
                return 0.0
            if self.affords(n, lots * lot, price):
                return lots * lot
            # One lot down; past 10^15 lots one lot is below float resolution, so the step
            # grows with the count (the answer is then exact to 1e-15, not to one lot).
            step = floor(lots * 1e-15)
            lots = lots - (step if step > 1.0 else 1.0)
        return 0.0

    def affordable_search(
        self, n: int, price: float, unit: float, order: Order, cash: float, levies: float
    ) -> float:
        """`affordable` for any commission model but PerValue: no closed form, so a bisection
        on the count of lots below the bound the commission-free cost gives (the commission
        is never negative), each step checked in booking arithmetic (`affords`). `unit` is
        the price of one unit, price x multiplier."""
        lot = self.lots[n]
        upper = self.sized(floor(cash / (unit * (1.0 + levies)) / lot), order, cash)
        if not upper > 0.0:
            return 0.0
        if self.affords(n, upper * lot, price):
            return upper * lot
        lo, hi = 0.0, upper
        while hi - lo > 1.0:
            mid = floor(lo + (hi - lo) / 2.0)
            if mid <= lo or mid >= hi:
                break  # past 2**53 lots: no whole count between them
            if self.affords(n, mid * lot, price):
                lo = mid
            else:
                hi = mid
        return lo * lot

    def floor_lots(self, quantity: float, n: int) -> float:
        """`quantity` rounded down to a whole number of lots of symbol `n`. A finite quantity
        whose count of lots is beyond the float range is a whole number of lots to float
        precision: itself."""
        lot = self.lots[n]
        lots = quantity / lot
        if math.isinf(lots) and not math.isinf(quantity):
            return quantity
        return floor(lots) * lot

    # =============================================================== booking
    def book_fill(
        self,
        order: Order,
        n: int,
        side: Side,
        quantity: float,
        price: float,
        end_reason: str | None,
    ) -> None:
        """Book a fill of `quantity` at `price`; the order ends when nothing is left, or
        with `end_reason` when the rest can never fill. A value outside the float range
        stops the run before anything is booked."""
        value = quantity * price * self.portfolio.multipliers[n]
        commission = self.commission(n, side, quantity, price, value)
        tax = self.tax(side, value)
        self.record_fill(order, n, side, quantity, price, commission, tax, end_reason)

    def record_fill(
        self,
        order: Order,
        n: int,
        side: Side,
        quantity: float,
        price: float,
        commission: float,
        tax: float,
        end_reason: str | None,
    ) -> None:
        """Book a fill whose costs are known: the engine's own (`book_fill`) or the ones an
        external broker reported (`report_fill`)."""
        value = quantity * price * self.portfolio.multipliers[n]
        average_fill_price = (
            order.average_fill_price * order.filled_quantity + price * quantity
        ) / (order.filled_quantity + quantity)
        for name, x in (
            ("value", value),
            ("commission", commission),
            ("tax", tax),
            ("average_fill_price", average_fill_price),
        ):
            if not math.isfinite(x):
                self.overflow("fill", name, x, order)
        fill = Fill(
            order.order_id,
            self.now,
            order.symbol,
            side,
            quantity,
            price,
            commission,
            tax,
        )
        refused = self.portfolio.apply_fill(fill, n, self.day)
        if refused is not None:
            self.overflow("fill", *refused, order)
        if self.cfg.max_volume_fraction is not None:
            self.capacity[n] = self.capacity[n] - quantity
        order.average_fill_price = average_fill_price
        order.filled_at = fill.timestamp
        if quantity == order.remaining:
            order.filled_quantity = order.quantity
            order.status = OrderStatus.FILLED
            self.live.remove(order)
        else:
            order.filled_quantity = order.filled_quantity + quantity
            order.status = OrderStatus.PARTIALLY_FILLED
            if end_reason is not None:  # the rest can never fill
                order.status = OrderStatus.CANCELLED
                order.reject_reason = end_reason
                self.live.remove(order)
        # The events are queued together, the order's state snapshotted now: whatever
        # on_fill does to the order (cancel it) is reported after this status change. What
        # the fill does to the order's group and to a bracket's exits is done before any of
        # them is delivered, and published with them.
        events: list[Event] = [FillEvent(fill), OrderEvent(order.snapshot())]
        events += self.cancel_group(order)
        if order.order_id in self.brackets:
            events += self.bracket_exits(order, n, quantity)
        self.bus.publish(*events)

    # =============================================================== external execution
    def report_fill(
        self, order: Order, n: int, quantity: float, price: float, commission: float, tax: float
    ) -> None:
        """An external broker filled `quantity` of `order` at `price` with these costs
        (checked by the session): booked at the current bar like any fill."""
        assert order.side is not None
        self.record_fill(order, n, order.side, quantity, price, commission, tax, None)

    def report_status(self, order: Order, status: OrderStatus, reason: str | None) -> None:
        """An external broker ended `order` (checked live by the session) with `status`."""
        self.finish(order, status, reason)

    def end(self, order: Order, reason: str, cancelled: bool = False) -> None:
        """The engine ends a live order: REJECTED if nothing filled, else CANCELLED.
        `cancelled=True` forces CANCELLED (a target order with nothing to do was not
        refused, it just has no work)."""
        rejected = order.filled_quantity == 0.0 and not cancelled
        self.finish(order, OrderStatus.REJECTED if rejected else OrderStatus.CANCELLED, reason)

    def finish(self, order: Order, status: OrderStatus, reason: str | None) -> None:
        """End a live order with `status` and `reason` (and the rest of its group with it)."""
        order.status = status
        order.reject_reason = reason
        self.live.remove(order)
        ended = OrderEvent(order.snapshot())
        # An order the engine refused at its fill leaves its group as it is: the other orders
        # still protect the position.
        group = [] if status is OrderStatus.REJECTED else self.cancel_group(order)
        self.bus.publish(ended, *group)

    # =============================================================== one-cancels-other
    def oco(self, orders: list[Order]) -> int:
        """Put live, ungrouped `orders` (checked by the caller) in a new one-cancels-other
        group; returns its id (1, 2, ...)."""
        group = sorted(orders, key=lambda o: o.order_id)
        self.groups.append(group)
        for order in group:
            order.oco_group = len(self.groups)
        return len(self.groups)

    def cancel_group(self, order: Order) -> list[Event]:
        """`order` filled or ended: the other live orders of its group are CANCELLED (reason
        `oco`), in id order. Returns their events, for the caller to publish after its own:
        nothing is delivered before the whole group has changed."""
        if order.oco_group is None:
            return []
        events: list[Event] = []
        for other in self.groups[order.oco_group - 1]:
            if other is not order and other.status.is_live:
                other.status = OrderStatus.CANCELLED
                other.reject_reason = Reason.OCO
                self.live.remove(other)
                events.append(OrderEvent(other.snapshot()))
        return events

    # =============================================================== brackets
    def submit_bracket(
        self,
        n: int,
        symbol: str,
        side: Side,
        quantity: float,
        kind: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        tif: TimeInForce,
        expire_at: int | None,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> int:
        """A bracket's entry (arguments already checked), live or REJECTED; its exits come
        with its fills (`bracket_exits`). Returns the entry's id."""
        order_id = self.submit_order(
            n, symbol, side, quantity, kind, limit_price, stop_price, tif, expire_at
        )
        if self.orders[order_id - 1].status.is_live:  # a rejected entry never fills: no exits
            self.brackets[order_id] = Bracket(stop_loss, take_profit)
        return order_id

    def bracket_exits(self, entry: Order, n: int, quantity: float) -> list[Event]:
        """The entry of a bracket filled `quantity`: the live exits grow by it, or, when none
        is live, a new pair is submitted (the stop-loss first, so that it is the older order
        and is matched first in a bar that reaches both levels: the loss is taken). Returns
        the events, for the fill to publish with its own."""
        bracket = self.brackets[entry.order_id]
        events: list[Event] = []
        live = [exit_ for exit_ in bracket.exits if exit_.status.is_live]
        if live:
            for exit_ in live:
                exit_.quantity = exit_.quantity + quantity
                events.append(OrderEvent(exit_.snapshot()))
            return events
        side = Side.SELL if entry.side is Side.BUY else Side.BUY
        exits: list[tuple[Order, str | None]] = []
        for kind, limit_price, stop_price in (
            (OrderType.STOP, None, bracket.stop_loss),
            (OrderType.LIMIT, bracket.take_profit, None),
        ):
            if limit_price is None and stop_price is None:
                continue
            exit_ = self.new_order(
                entry.symbol,
                side,
                quantity,
                kind,
                limit_price,
                stop_price,
                TimeInForce.GTC,
                parent_id=entry.order_id,
            )
            exits.append((exit_, self.acceptance(exit_, n)))
        bracket.exits = [exit_ for exit_, _ in exits]
        accepted = [exit_ for exit_, reason in exits if reason is None]
        if len(accepted) == 2:
            self.oco(accepted)  # before their submissions are seen: on_order shows the group
        for exit_, reason in exits:
            events.append(self.admitted(exit_, reason))
        return events

    def new_order(
        self,
        symbol: str,
        side: Side | None,
        quantity: float,
        kind: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        tif: TimeInForce,
        expire_at: int | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
        parent_id: int | None = None,
        target_quantity: float | None = None,
        target_percent: float | None = None,
    ) -> Order:
        """A new PENDING order, recorded; not yet live (see `admit`)."""
        i = self.index
        # Eligible from the next bar; a market order in close mode already at this close,
        # unless this close has begun (then the next one).
        eligible = 0 if i < 0 else i + 1
        if self.close_mode and kind is OrderType.MARKET and i >= 0 and not self.in_close_phase:
            eligible = i
        order = Order(
            len(self.orders) + 1,
            symbol,
            side,
            quantity,
            kind,
            limit_price,
            stop_price,
            tif,
            self.now,
            eligible,
            target_quantity,
            target_percent,
            expire_at,
            trail_amount,
            trail_percent,
            parent_id,
        )
        self.orders.append(order)
        return order

    def admit(self, order: Order, reason: str | None) -> int:
        """Make `order` live, or REJECTED with `reason`, and publish it; returns its id."""
        self.bus.publish(self.admitted(order, reason))
        return order.order_id

    def admitted(self, order: Order, reason: str | None) -> OrderEvent:
        """Make `order` live, or REJECTED with `reason`; returns its event, unpublished."""
        if reason is None:
            self.live.append(order)
        else:
            order.status = OrderStatus.REJECTED
            order.reject_reason = reason
        return OrderEvent(order.snapshot())

    def acceptance(self, order: Order, n: int) -> str | None:
        """Why this plain order is refused at submission, or None (docs: "Acceptance")."""
        cfg = self.cfg
        side = order.side
        assert side is not None
        held = self.portfolio.positions[n].quantity
        price = order.limit_price if order.limit_price is not None else order.stop_price
        if price is None:
            price = self.portfolio.positions[n].last_price
            if math.isnan(price):
                return Reason.NO_PRICE
        quantity = order.quantity
        if not cfg.fractional:
            whole_holding = side is Side.SELL and quantity == held
            if quantity != floor(quantity) or (
                not whole_holding and math.fmod(quantity, self.lots[n]) != 0.0
            ):
                return Reason.LOT_SIZE
        if side is Side.SELL and not cfg.allow_short and quantity > held:
            return Reason.INSUFFICIENT_POSITION
        return self.risk.check(self.portfolio, n, side, quantity, price, self.portfolio.equity())

    def submit_order(
        self,
        n: int,
        symbol: str,
        side: Side,
        quantity: float,
        kind: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        tif: TimeInForce,
        expire_at: int | None = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
    ) -> int:
        """A plain order (arguments already checked; a trailing stop's `stop_price` is its
        initial level, None when its symbol has no close yet), live or REJECTED; returns its
        id."""
        order = self.new_order(
            symbol,
            side,
            quantity,
            kind,
            limit_price,
            stop_price,
            tif,
            expire_at,
            trail_amount,
            trail_percent,
        )
        return self.admit(order, self.acceptance(order, n))

    def submit_target(
        self,
        n: int,
        symbol: str,
        field: str,
        value: float,
        tif: TimeInForce,
        expire_at: int | None = None,
    ) -> int:
        """A target order (`field` is "target_quantity" or "target_percent", `value` checked
        finite), live or REJECTED; returns its id."""
        quantity = value if field == "target_quantity" else None
        percent = value if field == "target_percent" else None
        order = self.new_order(
            symbol,
            None,
            0.0,
            OrderType.MARKET,
            None,
            None,
            tif,
            expire_at,
            target_quantity=quantity,
            target_percent=percent,
        )
        reason = None
        if math.isnan(self.portfolio.positions[n].last_price):
            reason = Reason.NO_PRICE
        elif value < 0.0 and not self.cfg.allow_short:
            reason = Reason.INSUFFICIENT_POSITION
        elif field == "target_quantity" and not self.cfg.fractional and value != floor(value):
            reason = Reason.LOT_SIZE
        return self.admit(order, reason)

    def margin_check(self, equity: float) -> None:
        """The record step of a margin account with margin symbols (docs/semantics.md,
        section 24): `equity` below the maintenance margin puts the account in a margin call
        (at or above it ends one). When a call begins, the live orders of the margin symbols
        end (`margin_call`); while it lasts, every open margin position without a live
        closing order gets one: a GTC target order of 0, in data order."""
        portfolio, risk = self.portfolio, self.risk
        if not equity < portfolio.maintenance_margin():
            risk.margin_call = False
            return
        begins = not risk.margin_call
        risk.margin_call = True
        if self.external:
            return  # the broker runs its own margin calls
        if begins:
            for order in list(self.live):
                n = portfolio.symbols.index(order.symbol)
                if not math.isnan(portfolio.margins[n]):
                    self.end(order, Reason.MARGIN_CALL)
        for n, pos in enumerate(portfolio.positions):
            closing = self.liquidations[n]
            if math.isnan(portfolio.margins[n]) or pos.quantity == 0.0:
                continue
            if closing is None or not closing.status.is_live:
                order = self.new_order(
                    pos.symbol,
                    None,
                    0.0,
                    OrderType.MARKET,
                    None,
                    None,
                    TimeInForce.GTC,
                    target_quantity=0.0,
                )
                self.admit(order, None)
                self.liquidations[n] = order

    def cancel(self, order: Order) -> bool:
        """Cancel a live order; False if it had already ended."""
        if not order.status.is_live:
            return False
        self.finish(order, OrderStatus.CANCELLED, None)
        return True
