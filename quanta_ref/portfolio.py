"""The account: cash, positions with average cost, P&L, transactions and round-trip trades.

All money is float64 and never rounded. Every formula below is written in the exact
operation order both backends use (float addition is not associative).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

from quanta_ref.api import Portfolio as PortfolioInterface
from quanta_ref.bars import format_timestamp
from quanta_ref.errors import DataError, OrderError, QuantaError
from quanta_ref.orders import CorporateActionRecord, Fill, Position, Side, Trade


def overflow_error(
    kind: str, field: str, value: float, order_id: int, symbol: str, index: int, now: int
) -> QuantaError:
    """The error that stops a run when an accounting value leaves the float range
    (docs/semantics.md section 7, "Magnitudes"). `kind` is "fill" (a fill would book it),
    "size" (sizing an order gives it) or "equity" (the record step values the account at
    it; `symbol` is then the first position that takes the sum out of range). Both backends
    raise the error this function makes."""
    where = f"symbol {symbol!r}, bar {index} ({format_timestamp(now)})"
    value = float(value)
    if kind == "equity":
        return DataError(
            f"equity: the close values the account at {value!r}, outside the float range ({where})"
        )
    if kind == "size":
        return OrderError(
            f"{field}: sizing order {order_id} gives {value!r}, outside the float range ({where})"
        )
    return OrderError(
        f"{field}: the fill of order {order_id} would make it {value!r}, outside the float "
        f"range; nothing of the fill is booked ({where})"
    )


@dataclass
class _Lot:
    """An open piece of a position, for first-in first-out trade matching."""

    entry_time: int
    entry_price: float
    quantity: float  # > 0, in the direction of the position
    cost_per_unit: float  # entry commission and tax per unit


@dataclass
class _Settlement:
    """What T+1 lets a symbol sell on `day`, the last day it had a fill: its holding at the
    start of that day less what it sold since. Kept as its own number: the holding less the
    day's buys, in float, can exceed the start-of-day holding by rounding dust."""

    day: int = -(2**63)  # no fill yet (-1 is a trading day: 1969-12-31)
    sellable: float = 0.0


@dataclass
class Portfolio(PortfolioInterface):
    """Cash and positions of one run, in the symbol order of the data."""

    symbols: tuple[str, ...]
    cash: float
    positions: list[Position] = field(init=False)
    transactions: list[Fill] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    total_commission: float = 0.0
    total_tax: float = 0.0
    traded_value: float = 0.0
    corporate_actions: list[CorporateActionRecord] = field(default_factory=list)
    # Per symbol column (docs/semantics.md, section 24): the contract multiplier, and the
    # initial and maintenance margin rates (NaN: not a margin symbol).
    multipliers: list[float] = field(init=False)
    margins: list[float] = field(init=False)
    maintenance: list[float] = field(init=False)
    margined: bool = field(init=False, default=False)  # some symbol has a margin rate
    _lots: list[deque[_Lot]] = field(init=False)
    _settlement: list[_Settlement] = field(init=False)

    def __post_init__(self) -> None:
        self.positions = [Position(s) for s in self.symbols]
        self._lots = [deque() for _ in self.symbols]
        self._settlement = [_Settlement() for _ in self.symbols]
        n = len(self.symbols)
        self.multipliers = [1.0] * n
        self.margins = [math.nan] * n
        self.maintenance = [math.nan] * n

    def use_instruments(
        self, multipliers: list[float], margins: list[float], maintenance: list[float]
    ) -> None:
        """The symbols' multipliers and margin rates (`quanta_ref.market.RunMarket`)."""
        self.multipliers = multipliers
        self.margins = margins
        self.maintenance = maintenance
        for pos, multiplier in zip(self.positions, multipliers, strict=True):
            pos.multiplier = multiplier
        self.margined = any(not math.isnan(rate) for rate in margins)

    # ---------------------------------------------------------------- valuation
    def equity(self) -> float:
        """cash + quantity * last price * multiplier of every open position, added in symbol
        order."""
        total = self.cash
        for n, pos in enumerate(self.positions):
            if pos.quantity != 0.0:
                total = total + pos.quantity * pos.last_price * self.multipliers[n]
        return total

    def equity_marking(self, column: int, price: float) -> float:
        """`equity()` with symbol `column` valued at `price` instead of its last close."""
        total = self.cash
        for n, pos in enumerate(self.positions):
            if pos.quantity != 0.0:
                mark = price if n == column else pos.last_price
                total = total + pos.quantity * mark * self.multipliers[n]
        return total

    def position_of(self, symbol: str) -> Position:
        """A copy of the position in `symbol`; OrderError for a symbol not in the data."""
        if not isinstance(symbol, str) or symbol not in self.symbols:
            raise OrderError(
                f"symbol: unknown symbol {symbol!r}; the data has {list(self.symbols)}"
            )
        return replace(self.positions[self.symbols.index(symbol)])

    def check_margin(
        self,
        column: int,
        side: Side,
        quantity: float,
        price: float,
        max_leverage: float,
        equity: float,
    ) -> bool:
        """Gross exposure after the order <= max_leverage x equity. The exposure is
        sum of |quantity| x last close x multiplier over the symbols in data order, with
        symbol `column` at its quantity after the order, valued at `price`; symbols with a
        margin rate are left out (the margin rule limits them). `side` is a `Side` or its
        name."""
        if not isinstance(side, Side):
            side = Side.parse(side, "side")
        signed = quantity if side is Side.BUY else -quantity
        exposure = 0.0
        for n, pos in enumerate(self.positions):
            if not math.isnan(self.margins[n]):
                continue
            if n == column:
                after = pos.quantity + signed
                if after != 0.0:
                    exposure = exposure + abs(after) * price * self.multipliers[n]
            elif pos.quantity != 0.0:
                exposure = exposure + abs(pos.quantity) * pos.last_price * self.multipliers[n]
        return exposure <= max_leverage * equity

    def initial_margin(self, column: int, after: float, price: float) -> float:
        """The initial margin of the margin positions with symbol `column` at quantity
        `after`, valued at `price` (the others at their last close): the sum of |quantity|
        x price x multiplier x margin rate over the margin symbols, in data order."""
        total = 0.0
        for n, pos in enumerate(self.positions):
            rate = self.margins[n]
            if math.isnan(rate):
                continue
            quantity, mark = (after, price) if n == column else (pos.quantity, pos.last_price)
            if quantity != 0.0:
                total = total + abs(quantity) * mark * self.multipliers[n] * rate
        return total

    def maintenance_margin(self) -> float:
        """The maintenance margin of the open margin positions at their last close: the sum
        of |quantity| x last close x multiplier x maintenance rate, in data order."""
        total = 0.0
        for n, pos in enumerate(self.positions):
            rate = self.maintenance[n]
            if not math.isnan(rate) and pos.quantity != 0.0:
                total = total + abs(pos.quantity) * pos.last_price * self.multipliers[n] * rate
        return total

    def sellable(self, column: int, day: int, t_plus_1: bool) -> float:
        """Long quantity that may be sold today: all of it; under T+1 the start-of-day
        holding less today's sells, and never more than the holding."""
        held = self.positions[column].quantity
        if held <= 0.0:
            return 0.0
        settle = self._settlement[column]
        if t_plus_1 and settle.day == day and settle.sellable < held:
            return settle.sellable
        return held

    def overflowing_column(self) -> int:
        """The first symbol whose position, valued at its last close, takes the running sum
        of `equity()` outside the float range (0 if none does)."""
        total = self.cash
        for n, pos in enumerate(self.positions):
            if pos.quantity != 0.0:
                total = total + pos.quantity * pos.last_price * self.multipliers[n]
                if not math.isfinite(total):
                    return n
        return 0

    # ---------------------------------------------------------------- booking
    def apply_fill(self, fill: Fill, column: int, day: int) -> tuple[str, float] | None:
        """Book one fill: cash, position, average cost, realized P&L, lots and trades.

        Every value the fill would store is computed first. If one is not finite (outside
        the float range), nothing is booked and its name and value are returned, the first
        in this order: cash, total_commission, total_tax, traded_value, cost_per_unit,
        quantity, average_cost, realized_pnl, then pnl and return_ of each trade piece.
        """
        multiplier = self.multipliers[column]
        value = fill.quantity * fill.price * multiplier
        pos = self.positions[column]
        old = pos.quantity
        if fill.side is Side.BUY:
            cash = self.cash - value - fill.commission - fill.tax  # a buy may pay tax too
            signed = fill.quantity
        else:
            cash = self.cash + value - fill.commission - fill.tax
            signed = -fill.quantity
        total_commission = self.total_commission + fill.commission
        total_tax = self.total_tax + fill.tax
        traded_value = self.traded_value + value
        cost_per_unit = (fill.commission + fill.tax) / fill.quantity
        quantity = old + signed
        adding = old == 0.0 or (old > 0.0) == (signed > 0.0)
        direction = 1.0 if old > 0.0 else -1.0
        closing = 0.0
        realized = pos.realized_pnl
        if adding:
            # Opening or adding: the average cost moves toward the fill price.
            average_cost = (pos.average_cost * abs(old) + fill.price * fill.quantity) / (
                abs(old) + fill.quantity
            )
        else:
            # Reducing, closing or reversing (through zero: the rest opens at the price).
            closing = min(fill.quantity, abs(old))
            realized = realized + (fill.price - pos.average_cost) * closing * direction * multiplier
            if quantity == 0.0:
                average_cost = 0.0
            elif (quantity > 0.0) != (old > 0.0):
                average_cost = fill.price
            else:
                average_cost = pos.average_cost
        for name, x in (
            ("cash", cash),
            ("total_commission", total_commission),
            ("total_tax", total_tax),
            ("traded_value", traded_value),
            ("cost_per_unit", cost_per_unit),
            ("quantity", quantity),
            ("average_cost", average_cost),
            ("realized_pnl", realized),
        ):
            if not math.isfinite(x):
                return name, x
        if not adding:
            bad = self._check_lots(fill, column, closing, direction, cost_per_unit, multiplier)
            if bad is not None:
                return bad

        # Everything is finite: book it.
        settle = self._settlement[column]
        if settle.day != day:  # the first fill of the day: the holding at its start
            settle.day = day
            settle.sellable = old if old > 0.0 else 0.0
        if fill.side is Side.SELL:
            left = settle.sellable - fill.quantity
            settle.sellable = left if left > 0.0 else 0.0
        self.cash = cash
        self.total_commission = total_commission
        self.total_tax = total_tax
        self.traded_value = traded_value
        self.transactions.append(fill)
        pos.quantity = quantity
        pos.average_cost = average_cost
        pos.realized_pnl = realized
        if math.isnan(pos.last_price):
            # The open of the symbol's first bar: valued at the fill price until it closes.
            pos.last_price = fill.price
        lots = self._lots[column]
        if adding:
            lots.append(_Lot(fill.timestamp, fill.price, fill.quantity, cost_per_unit))
            return None
        self._close_lots(fill, column, closing, direction, cost_per_unit, multiplier)
        if quantity == 0.0:
            # Fractional quantities: lot pieces can differ from the position by rounding
            # dust; flat means no open lot, so no phantom trade later.
            lots.clear()
        elif (quantity > 0.0) != (old > 0.0):
            opened = fill.quantity - closing
            lots.append(_Lot(fill.timestamp, fill.price, opened, cost_per_unit))
        return None

    # ---------------------------------------------------------------- corporate actions
    def apply_action(
        self,
        column: int,
        timestamp: int,
        cash: float,
        shares: float,
        tax_rate: float,
        fractional: bool,
    ) -> None:
        """Apply a corporate action of symbol `column` on its ex-date, before anything has
        traded that day, so the quantity held is the record-date holding
        (docs/semantics.md, "Corporate actions"). `cash` is the dividend per share before
        tax, `shares` the new shares per share held."""
        pos = self.positions[column]
        held = pos.quantity
        amount = 0.0
        tax = 0.0
        if cash != 0.0 and held != 0.0:
            amount = held * cash * self.multipliers[column]
            if held > 0.0:
                tax = amount * tax_rate
                self.cash = self.cash + amount - tax
            else:
                # A short (margin account) pays the dividend to the lender of the shares;
                # no tax on a payment.
                self.cash = self.cash + amount
        after = held
        if shares != 0.0:
            factor = 1.0 + shares
            if held != 0.0:
                after = held * factor
                if not fractional:
                    # Whole shares only: the fraction is dropped (no cash in lieu).
                    after = float(math.trunc(after)) if math.isfinite(after) else after
                pos.quantity = after
                lots = self._lots[column]
                if after == 0.0:
                    pos.average_cost = 0.0
                    lots.clear()
                else:
                    pos.average_cost = pos.average_cost / factor
                    # Lots only attribute P&L to trades: scaled, never rounded.
                    for lot in lots:
                        lot.quantity = lot.quantity * factor
                        lot.entry_price = lot.entry_price / factor
                        lot.cost_per_unit = lot.cost_per_unit / factor
        # The exchange's ex-rights reference price: the holding's value does not jump.
        pos.last_price = (pos.last_price - cash) / (1.0 + shares)
        if held != 0.0:
            self.corporate_actions.append(
                CorporateActionRecord(timestamp, pos.symbol, held, after, amount, tax)
            )

    @staticmethod
    def _piece(
        fill: Fill,
        lot: _Lot,
        take: float,
        direction: float,
        exit_cost_per_unit: float,
        multiplier: float,
    ) -> tuple[float, float]:
        """(pnl, return_) of closing `take` of `lot` with `fill`, values x `multiplier`. An
        entry value that underflows to 0 gives a NaN return (then refused as not finite)."""
        pnl = (
            (fill.price - lot.entry_price) * take * direction * multiplier
            - lot.cost_per_unit * take
            - exit_cost_per_unit * take
        )
        entry_value = lot.entry_price * take * multiplier
        return pnl, pnl / entry_value if entry_value != 0.0 else math.nan

    def _check_lots(
        self,
        fill: Fill,
        column: int,
        quantity: float,
        direction: float,
        exit_cost_per_unit: float,
        multiplier: float,
    ) -> tuple[str, float] | None:
        """The first trade piece `_close_lots` would record with a non-finite pnl or return
        (its field name and value), or None; changes nothing."""
        left = quantity
        for lot in self._lots[column]:
            if not left > 0.0:
                break
            take = min(lot.quantity, left)
            pnl, return_ = self._piece(fill, lot, take, direction, exit_cost_per_unit, multiplier)
            if not math.isfinite(pnl):
                return "pnl", pnl
            if not math.isfinite(return_):
                return "return_", return_
            left = left - take
        return None

    def _close_lots(
        self,
        fill: Fill,
        column: int,
        quantity: float,
        direction: float,
        exit_cost_per_unit: float,
        multiplier: float,
    ) -> None:
        """Match `quantity` against the oldest open lots and record one Trade per lot touched."""
        lots = self._lots[column]
        left = quantity
        while left > 0.0 and lots:
            lot = lots[0]
            take = min(lot.quantity, left)
            pnl, return_ = self._piece(fill, lot, take, direction, exit_cost_per_unit, multiplier)
            self.trades.append(
                Trade(
                    symbol=fill.symbol,
                    direction=int(direction),
                    quantity=take,
                    entry_time=lot.entry_time,
                    entry_price=lot.entry_price,
                    exit_time=fill.timestamp,
                    exit_price=fill.price,
                    pnl=pnl,
                    return_=return_,
                )
            )
            left = left - take
            if take == lot.quantity:
                lots.popleft()
            else:
                lot.quantity = lot.quantity - take


class PortfolioView(PortfolioInterface):
    """What a strategy reads as ``ctx.portfolio``: the run's `Portfolio`, read-only.

    The account changes only through orders, so the view offers the contract's questions
    (`cash`, `equity`, `position_of`, `check_margin`) and nothing that writes.
    """

    __slots__ = ("_portfolio",)

    def __init__(self, portfolio: Portfolio) -> None:
        self._portfolio = portfolio

    @property
    def cash(self) -> float:  # type: ignore[override]  # the contract's attribute, read-only
        """Cash now."""
        return self._portfolio.cash

    def equity(self) -> float:
        return self._portfolio.equity()

    def position_of(self, symbol: str) -> Position:
        return self._portfolio.position_of(symbol)

    def check_margin(
        self,
        column: int,
        side: Side,
        quantity: float,
        price: float,
        max_leverage: float,
        equity: float,
    ) -> bool:
        return self._portfolio.check_margin(column, side, quantity, price, max_leverage, equity)

    def __repr__(self) -> str:
        return f"PortfolioView(cash={self.cash!r}, equity={self.equity()!r})"
