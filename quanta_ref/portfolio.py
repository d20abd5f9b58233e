"""The account: cash, positions with average cost, P&L, transactions and round-trip trades.

All money is float64 and never rounded. Every formula below is written in the exact
operation order both backends use (float addition is not associative).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from quanta_ref.api import Portfolio as PortfolioInterface
from quanta_ref.errors import OrderError
from quanta_ref.orders import Fill, Position, Side, Trade


@dataclass
class _Lot:
    """An open piece of a position, for first-in first-out trade matching."""

    entry_time: int
    entry_price: float
    quantity: float  # > 0, in the direction of the position
    cost_per_unit: float  # entry commission and tax per unit


@dataclass
class _Settlement:
    """Shares bought on `day`, which T+1 forbids selling on that same day."""

    day: int = -1
    bought: float = 0.0


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
    _lots: list[deque[_Lot]] = field(init=False)
    _settlement: list[_Settlement] = field(init=False)

    def __post_init__(self) -> None:
        self.positions = [Position(s) for s in self.symbols]
        self._lots = [deque() for _ in self.symbols]
        self._settlement = [_Settlement() for _ in self.symbols]

    # ---------------------------------------------------------------- valuation
    def equity(self) -> float:
        """cash + quantity * last price of every open position, added in symbol order."""
        total = self.cash
        for pos in self.positions:
            if pos.quantity != 0.0:
                total = total + pos.quantity * pos.last_price
        return total

    def equity_marking(self, column: int, price: float) -> float:
        """`equity()` with symbol `column` valued at `price` instead of its last close."""
        total = self.cash
        for n, pos in enumerate(self.positions):
            if pos.quantity != 0.0:
                mark = price if n == column else pos.last_price
                total = total + pos.quantity * mark
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
        sum of |quantity| x last close over the symbols in data order, with symbol `column`
        at its quantity after the order, valued at `price`. `side` is a `Side` or its name."""
        if not isinstance(side, Side):
            side = Side.parse(side, "side")
        signed = quantity if side is Side.BUY else -quantity
        exposure = 0.0
        for n, pos in enumerate(self.positions):
            if n == column:
                after = pos.quantity + signed
                if after != 0.0:
                    exposure = exposure + abs(after) * price
            elif pos.quantity != 0.0:
                exposure = exposure + abs(pos.quantity) * pos.last_price
        return exposure <= max_leverage * equity

    def sellable(self, column: int, day: int, t_plus_1: bool) -> float:
        """Long quantity that may be sold today: all of it, less today's buys under T+1."""
        held = self.positions[column].quantity
        if held <= 0.0:
            return 0.0
        settle = self._settlement[column]
        if t_plus_1 and settle.day == day:
            return max(held - settle.bought, 0.0)
        return held

    # ---------------------------------------------------------------- booking
    def apply_fill(self, fill: Fill, column: int, day: int) -> None:
        """Book one fill: cash, position, average cost, realized P&L, lots and trades."""
        value = fill.quantity * fill.price
        if fill.side is Side.BUY:
            self.cash = self.cash - value - fill.commission
            signed = fill.quantity
            settle = self._settlement[column]
            if settle.day != day:
                settle.day = day
                settle.bought = 0.0
            settle.bought = settle.bought + fill.quantity
        else:
            self.cash = self.cash + value - fill.commission - fill.tax
            signed = -fill.quantity
        self.total_commission = self.total_commission + fill.commission
        self.total_tax = self.total_tax + fill.tax
        self.traded_value = self.traded_value + value
        self.transactions.append(fill)

        pos = self.positions[column]
        old = pos.quantity
        cost_per_unit = (fill.commission + fill.tax) / fill.quantity
        if old == 0.0 or (old > 0.0) == (signed > 0.0):
            # Opening or adding: the average cost moves toward the fill price.
            pos.average_cost = (pos.average_cost * abs(old) + fill.price * fill.quantity) / (
                abs(old) + fill.quantity
            )
            pos.quantity = old + signed
            self._lots[column].append(
                _Lot(fill.timestamp, fill.price, fill.quantity, cost_per_unit)
            )
            return
        # Reducing, closing or reversing.
        direction = 1.0 if old > 0.0 else -1.0
        closing = min(fill.quantity, abs(old))
        pos.realized_pnl = pos.realized_pnl + (fill.price - pos.average_cost) * closing * direction
        self._close_lots(fill, column, closing, direction, cost_per_unit)
        pos.quantity = old + signed
        if pos.quantity == 0.0:
            pos.average_cost = 0.0
            # Fractional quantities: lot pieces can differ from the position by rounding
            # dust; flat means no open lot, so no phantom trade later.
            self._lots[column].clear()
        elif (pos.quantity > 0.0) != (old > 0.0):
            # Reversed through zero: the rest of the fill opens a new position at its price.
            opened = fill.quantity - closing
            pos.average_cost = fill.price
            self._lots[column].append(_Lot(fill.timestamp, fill.price, opened, cost_per_unit))

    def _close_lots(
        self, fill: Fill, column: int, quantity: float, direction: float, exit_cost_per_unit: float
    ) -> None:
        """Match `quantity` against the oldest open lots and record one Trade per lot touched."""
        lots = self._lots[column]
        left = quantity
        while left > 0.0 and lots:
            lot = lots[0]
            take = min(lot.quantity, left)
            pnl = (
                (fill.price - lot.entry_price) * take * direction
                - lot.cost_per_unit * take
                - exit_cost_per_unit * take
            )
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
                    return_=pnl / (lot.entry_price * take),
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
