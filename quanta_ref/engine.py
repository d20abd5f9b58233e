"""The reference engine: the bar loop, order acceptance and the fill path, in plain Python.

Read `_Run.step` first: it is the whole life of one timestamp, in the order docs/semantics.md
(section 2, steps 1-6) gives. Everything else is a step of it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quanta_ref import execution as matching
from quanta_ref.execution import floor
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
from quanta_ref.orders import Fill, Order, OrderStatus, OrderType, Reason, Side, TimeInForce
from quanta_ref.orders import Position
from quanta_ref.portfolio import Portfolio
from quanta_ref.risk import RiskManager

# Float rounding can leave an affordable-quantity estimate a lot too high; this many
# one-lot steps down always suffice in practice, and bound the loop.
_AFFORD_STEPS = 8


class ReferenceBackend(Backend):
    """The pure-Python engine (``backend="python"``)."""

    name = "python"

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
        self.portfolio = Portfolio(bars.symbols, config.initial_cash)
        self.risk = RiskManager(config)
        self.columns = {s: n for n, s in enumerate(bars.symbols)}
        self.slippage = config.slippage_bps / 10_000.0
        self.t_plus_1 = config.settlement == "T+1"
        self.close_mode = config.fill_at == "close"

        self.orders: list[Order] = []  # every order; order_id = position + 1
        self.live: list[Order] = []  # live orders, in order_id order
        self.signals: list[SignalEvent] = []
        self.index = -1  # current bar row; -1 before the first bar
        self.day = self.timeline.days[0] - 1  # current trading day (none yet)
        self.in_close_phase = False

        n = bars.n_symbols
        # Price limits are relative to the previous *trading day's* last close.
        self.reference_close = [math.nan] * n
        self.close_day = [-1] * n
        self.capacity = [math.inf] * n  # participation left in this bar, per symbol

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
            equity[i] = self.portfolio.equity()
            cash[i] = self.portfolio.cash
            self.risk.record_equity(equity[i])
            if any(p.quantity != 0.0 for p in self.portfolio.positions):
                bars_in_market += 1
        self.bus.publish(ControlEvent(self.timeline.timestamps[-1], "end"))
        return self._result(equity, cash, bars_in_market)

    def step(self, i: int) -> None:
        """Everything that happens at timestamp row `i`."""
        ts, day = self.timeline.timestamps[i], self.timeline.days[i]
        self.bus.advance_time(ts)
        self.index = i
        if day != self.day:
            # 1. A new trading day: yesterday's DAY orders expire.
            self.bus.publish(ControlEvent(ts, "day"))
        bars = self.bars
        o, h, lo, c, v = (getattr(bars, f)[i].tolist() for f in FIELDS)
        present = [not math.isnan(x) for x in c]
        fraction = self.cfg.max_volume_fraction
        for n in range(bars.n_symbols):
            if not present[n]:
                continue
            if self.close_day[n] != day:
                self.reference_close[n] = self.portfolio.positions[n].last_price
                self.close_day[n] = day
            self.capacity[n] = math.inf if fraction is None else fraction * v[n]

        # 2. Open phase: live orders from earlier bars meet this bar, oldest first.
        for order in list(self.live):
            n = self.columns[order.symbol]
            if (
                order.status.is_live
                and order.eligible_bar <= i
                and present[n]
                and not self._waits_for_close(order)
            ):
                self._match(order, n, o[n], h[n], lo[n], c[n], at_close=False)
        # 3. The bar closes: positions are valued at the new closes.
        for n in range(bars.n_symbols):
            if present[n]:
                self.portfolio.positions[n].last_price = c[n]
        # 4. The strategy sees the complete bar, symbol by symbol.
        for n, symbol in enumerate(bars.symbols):
            if present[n]:
                self.bus.publish(BarEvent(ts, symbol, o[n], h[n], lo[n], c[n], v[n]))
        # 5. Close phase (fill_at="close"): market orders up to now trade at this close.
        if self.close_mode:
            self.in_close_phase = True
            for order in list(self.live):
                n = self.columns[order.symbol]
                if (
                    order.status.is_live
                    and order.eligible_bar <= i
                    and present[n]
                    and self._waits_for_close(order)
                ):
                    self._match(order, n, o[n], h[n], lo[n], c[n], at_close=True)
            self.in_close_phase = False

    def _waits_for_close(self, order: Order) -> bool:
        """In close mode, market orders (target orders too) trade at closes only."""
        return self.close_mode and order.order_type is OrderType.MARKET

    def _on_control(self, event: ControlEvent) -> None:
        if event.kind == "start":
            self.strategy.on_start(self)
        elif event.kind == "end":
            self.strategy.on_end(self)
        elif event.kind == "day":
            self.day = event.timestamp // Timeline.NS_PER_DAY
            for order in list(self.live):
                if (
                    order.time_in_force is TimeInForce.DAY
                    and order.active_day is not None
                    and order.active_day < self.day
                ):
                    self._finish(order, OrderStatus.EXPIRED, Reason.EXPIRED)

    # =============================================================== matching one order
    def _match(
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
        `_end` ends it. A target order sized here and then left waiting is un-sized again:
        it takes its size at the bar where it actually trades.
        """
        cfg = self.cfg
        if order.time_in_force is TimeInForce.DAY and order.active_day is None:
            order.active_day = self.day  # its one trading day is the first it meets
        sized_here = order.side is None
        if sized_here and not self._size_target(order, n, open_, high, low, close, at_close):
            return
        side = order.side
        assert side is not None
        price = matching.fill_price(order, open_, high, low, close, at_close, self.slippage)
        if price is None or self._blocked(side, price, n):
            return self._wait(order, sized_here)
        quantity = order.remaining
        if cfg.max_volume_fraction is not None and quantity > self.capacity[n]:
            quantity = self._floor_lots(self.capacity[n])
            if quantity <= 0.0:
                return self._wait(order, sized_here)  # no participation left in this bar
        end_reason: str | None = None
        if not cfg.allow_short:
            if side is Side.SELL:
                held = self.portfolio.positions[n].quantity
                if held <= 0.0:
                    self._end(order, Reason.INSUFFICIENT_POSITION)
                    return
                sellable = self.portfolio.sellable(n, self.day, self.t_plus_1)
                if quantity > sellable:
                    # Whole lots, or the whole holding (an odd lot may only go all at once).
                    quantity = sellable if sellable == held else self._floor_lots(sellable)
                    if quantity <= 0.0:
                        # Bought today under T+1: wait for the next trading day.
                        return self._wait(order, sized_here)
                if quantity == held and quantity < order.remaining:
                    end_reason = Reason.INSUFFICIENT_POSITION  # nothing left to sell after
                if not self._covers_sell_costs(quantity, price):
                    self._end(order, Reason.INSUFFICIENT_CASH)
                    return
            elif not self._affords(quantity, price):
                quantity = self._affordable(price)
                if quantity <= 0.0:
                    self._end(order, Reason.INSUFFICIENT_CASH)
                    return
                end_reason = Reason.INSUFFICIENT_CASH
        # The risk limits again, now with the position, equity and price of this moment:
        # orders accepted together must not pass a limit together.
        reason = self.risk.check(
            self.portfolio, n, side, quantity, price, self.portfolio.equity_marking(n, price)
        )
        if reason is not None:
            self._end(order, reason)
            return
        self._fill(order, n, side, quantity, price, end_reason)

    def _wait(self, order: Order, sized_here: bool) -> None:
        """Leave `order` live for a later bar; a target order goes back to unsized."""
        if sized_here:
            order.side = None
            order.quantity = 0.0

    def _size_target(
        self,
        order: Order,
        n: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        at_close: bool,
    ) -> bool:
        """Turn a target order into a plain market order; False if it does not trade now."""
        base = close if at_close else open_
        held = self.portfolio.positions[n].quantity
        if order.target_quantity is not None:
            target = order.target_quantity
            side = Side.BUY if target > held else Side.SELL
            price = matching.with_slippage(side, base, high, low, self.slippage)
        else:
            weight = order.target_percent
            assert weight is not None
            # The side comes from the unslipped price, the size from the slipped one.
            rough = weight * self.portfolio.equity_marking(n, base) / base
            side = Side.BUY if rough > held else Side.SELL
            price = matching.with_slippage(side, base, high, low, self.slippage)
            target = weight * self.portfolio.equity_marking(n, price) / price
        if target == held:  # already there: nothing to do
            self._end(order, Reason.ZERO_QUANTITY, cancelled=True)
            return False
        if self._blocked(side, price, n):
            return False  # at a price limit: waits, unsized
        delta = target - held
        if (delta > 0.0) != (side is Side.BUY):
            self._end(order, Reason.ZERO_QUANTITY, cancelled=True)
            return False
        quantity = abs(held) if target == 0.0 else self._floor_lots(abs(delta))
        if side is Side.BUY and not self.cfg.allow_short and not self._affords(quantity, price):
            quantity = self._affordable(price)  # "all in": the most the cash buys, costs in
            if quantity <= 0.0:
                self._end(order, Reason.INSUFFICIENT_CASH)
                return False
        if quantity <= 0.0:
            self._end(order, Reason.ZERO_QUANTITY, cancelled=True)
            return False
        order.side = side
        order.quantity = quantity
        return True

    def _blocked(self, side: Side, price: float, n: int) -> bool:
        """True when a daily price limit stops this fill (see matching.blocked_by_price_limit)."""
        limit = self.cfg.price_limit
        reference = self.reference_close[n]
        if limit is None or math.isnan(reference):
            return False
        down, up = matching.price_limits(reference, limit, self.cfg.tick_size)
        return matching.blocked_by_price_limit(side, price, down, up, self.cfg.tick_size)

    # =============================================================== costs and cash
    def _commission(self, value: float) -> float:
        """commission_rate x traded value, at least min_commission."""
        commission = value * self.cfg.commission_rate
        return commission if commission > self.cfg.min_commission else self.cfg.min_commission

    def _affords(self, quantity: float, price: float) -> bool:
        """Whether cash covers a buy, in the exact arithmetic the booking uses."""
        value = quantity * price
        return self.portfolio.cash - value - self._commission(value) >= 0.0

    def _covers_sell_costs(self, quantity: float, price: float) -> bool:
        """Whether a sell leaves cash >= 0: a tiny sale can cost more (minimum commission)
        than it brings in, in the exact arithmetic the booking uses."""
        value = quantity * price
        return (
            self.portfolio.cash + value - self._commission(value) - value * self.cfg.sell_tax_rate
            >= 0.0
        )

    def _affordable(self, price: float) -> float:
        """The largest whole-lot quantity the cash buys at `price`, commission included.

        value + max(min_commission, value x rate) <= cash holds exactly when both
        value x (1 + rate) <= cash and value + min_commission <= cash, so the estimate is the
        smaller of the two floors, then checked (and stepped down) in booking arithmetic.
        """
        cash, lot = self.portfolio.cash, self.cfg.lot_size
        if cash <= 0.0:
            return 0.0
        lots = floor(cash / (price * (1.0 + self.cfg.commission_rate)) / lot)
        if self.cfg.min_commission > 0.0:
            by_minimum = floor((cash - self.cfg.min_commission) / price / lot)
            if by_minimum < lots:
                lots = by_minimum
        for _ in range(_AFFORD_STEPS):
            if not lots > 0.0:
                return 0.0
            if self._affords(lots * lot, price):
                return lots * lot
            # One lot down; past 10^15 lots one lot is below float resolution, so the step
            # grows with the count (the answer is then exact to 1e-15, not to one lot).
            step = floor(lots * 1e-15)
            lots = lots - (step if step > 1.0 else 1.0)
        return 0.0

    def _floor_lots(self, quantity: float) -> float:
        """`quantity` rounded down to a whole number of lots."""
        lot = self.cfg.lot_size
        return floor(quantity / lot) * lot

    # =============================================================== booking
    def _fill(
        self,
        order: Order,
        n: int,
        side: Side,
        quantity: float,
        price: float,
        end_reason: str | None,
    ) -> None:
        value = quantity * price
        commission = self._commission(value)
        tax = value * self.cfg.sell_tax_rate if side is Side.SELL else 0.0
        fill = Fill(
            order.order_id,
            self.timeline.timestamps[self.index],
            order.symbol,
            side,
            quantity,
            price,
            commission,
            tax,
        )
        self.portfolio.apply_fill(fill, n, self.day)
        if self.cfg.max_volume_fraction is not None:
            self.capacity[n] = self.capacity[n] - quantity
        order.average_fill_price = (
            order.average_fill_price * order.filled_quantity + price * quantity
        ) / (order.filled_quantity + quantity)
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
        # Both events are queued together, the order's state snapshotted now: whatever
        # on_fill does to the order (cancel it) is reported after this status change.
        self.bus.publish(FillEvent(fill), OrderEvent(order.snapshot()))

    def _end(self, order: Order, reason: str, cancelled: bool = False) -> None:
        """The engine ends a live order: REJECTED if nothing filled, else CANCELLED.
        `cancelled=True` forces CANCELLED (a target order with nothing to do was not
        refused, it just has no work)."""
        rejected = order.filled_quantity == 0.0 and not cancelled
        self._finish(order, OrderStatus.REJECTED if rejected else OrderStatus.CANCELLED, reason)

    def _finish(self, order: Order, status: OrderStatus, reason: str | None) -> None:
        order.status = status
        order.reject_reason = reason
        self.live.remove(order)
        self.bus.publish(OrderEvent(order.snapshot()))

    # =============================================================== ctx: orders
    def _now(self) -> int:
        return self.timeline.timestamps[max(self.index, 0)]

    def _column(self, symbol: Any) -> int:
        return check_symbol(symbol, self.columns, self.bars.symbols, self.index, self._now())

    def _parse(self, enum: Any, value: Any, field: str, symbol: str) -> Any:
        return check_choice(enum, value, field, symbol, self.index, self._now())

    def _number(self, field: str, value: Any, symbol: str, positive: bool) -> float:
        return check_number(field, value, symbol, positive, self.index, self._now())

    def _new_order(
        self,
        symbol: str,
        side: Side | None,
        quantity: float,
        kind: OrderType,
        limit_price: float | None,
        stop_price: float | None,
        tif: TimeInForce,
        **target: float,
    ) -> Order:
        i = self.index
        # Eligible from the next bar; a market order in close mode already at this close,
        # unless this close has begun (then the next one).
        eligible = 0 if i < 0 else i + 1
        if self.close_mode and kind is OrderType.MARKET and i >= 0 and not self.in_close_phase:
            eligible = i
        created = self.timeline.timestamps[max(i, 0)]
        order = Order(
            len(self.orders) + 1,
            symbol,
            side,
            quantity,
            kind,
            limit_price,
            stop_price,
            tif,
            created,
            eligible,
            **target,
        )
        self.orders.append(order)
        return order

    def _admit(self, order: Order, reason: str | None) -> int:
        if reason is None:
            self.live.append(order)
        else:
            order.status = OrderStatus.REJECTED
            order.reject_reason = reason
        self.bus.publish(OrderEvent(order.snapshot()))
        return order.order_id

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
        order = self._new_order(symbol, side, quantity, kind, limit_price, stop_price, tif)
        return self._admit(order, self._acceptance(order, n))

    def _acceptance(self, order: Order, n: int) -> str | None:
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
                not whole_holding and math.fmod(quantity, cfg.lot_size) != 0.0
            ):
                return Reason.LOT_SIZE
        if side is Side.SELL and not cfg.allow_short and quantity > held:
            return Reason.INSUFFICIENT_POSITION
        return self.risk.check(self.portfolio, n, side, quantity, price, self.portfolio.equity())

    def _submit_target(self, symbol: str, field: str, value: Any, tif: Any) -> int:
        n = self._column(symbol)
        tif = self._parse(TimeInForce, tif, "time_in_force", symbol)
        value = self._number(field, value, symbol, positive=False)
        target = {field: value}
        order = self._new_order(symbol, None, 0.0, OrderType.MARKET, None, None, tif, **target)
        reason = None
        if math.isnan(self.portfolio.positions[n].last_price):
            reason = Reason.NO_PRICE
        elif value < 0.0 and not self.cfg.allow_short:
            reason = Reason.INSUFFICIENT_POSITION
        elif field == "target_quantity" and not self.cfg.fractional and value != floor(value):
            reason = Reason.LOT_SIZE
        return self._admit(order, reason)

    def order_target_quantity(
        self, symbol: str, quantity: float, time_in_force: Any = "gtc"
    ) -> int:
        return self._submit_target(symbol, "target_quantity", quantity, time_in_force)

    def order_target_percent(self, symbol: str, weight: float, time_in_force: Any = "gtc") -> int:
        return self._submit_target(symbol, "target_percent", weight, time_in_force)

    def cancel(self, order_id: int) -> bool:
        order = self._order(order_id)
        if not order.status.is_live:
            return False
        self._finish(order, OrderStatus.CANCELLED, None)
        return True

    def _order(self, order_id: Any) -> Order:
        return self.orders[check_order_id(order_id, len(self.orders), self.index, self._now()) - 1]

    def get_order(self, order_id: int) -> Order:
        return self._order(order_id).snapshot()

    def open_orders(self) -> list[Order]:
        return [order.snapshot() for order in self.live]

    # =============================================================== ctx: account and data
    def position(self, symbol: str) -> float:
        return self.portfolio.positions[self._column(symbol)].quantity

    def get_position(self, symbol: str) -> Position:
        pos = self.portfolio.positions[self._column(symbol)]
        return Position(
            pos.symbol, pos.quantity, pos.average_cost, pos.realized_pnl, pos.last_price
        )

    @property
    def cash(self) -> float:
        return self.portfolio.cash

    @property
    def equity(self) -> float:
        return self.portfolio.equity()

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
        from quanta_ref.metrics import compute_stats

        pf = self.portfolio
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
            orders=[o.snapshot() for o in self.orders],
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
    needs_limit = kind in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = kind in (OrderType.STOP, OrderType.STOP_LIMIT)
    for field, value, needed in (
        ("limit_price", limit_price, needs_limit),
        ("stop_price", stop_price, needs_stop),
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
