"""The risk manager: limits checked before an order is accepted.

Each limit is off unless configured. An order that only *reduces* the absolute position in
its symbol is never refused by a limit: a risk manager must always let you get out. A refusal
is not an exception: the order ends `REJECTED` with the limit's reason code.
"""

from __future__ import annotations

import math
from typing import Protocol

from quanta_ref.config import EngineConfig
from quanta_ref.orders import Reason, Side
from quanta_ref.portfolio import Portfolio, overflow_error


class Clock(Protocol):
    """Where the run is: the current bar row and its timestamp (the broker)."""

    index: int
    now: int


class RiskManager:
    """Position, order-value, leverage and drawdown limits of one run."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.peak_equity = config.initial_cash
        self.halted = False  # set once the drawdown stop is hit; never cleared
        # Set by a record step that finds the equity below the maintenance margin, cleared by
        # one that finds it back at or above (docs/semantics.md, section 24).
        self.margin_call = False
        self.portfolio: Portfolio | None = None  # the account and clock of the run, for
        self.clock: Clock | None = None  # naming where the equity left the float range

    def follow(self, portfolio: Portfolio, clock: Clock) -> None:
        """The account whose equity `record_equity` follows, and the run's clock."""
        self.portfolio = portfolio
        self.clock = clock

    def record_equity(self, equity: float) -> None:
        """Follow the equity at each bar's close; hit the drawdown stop when it is reached.

        Drawdown = 1 - equity / peak, the peak starting at the initial cash. An equity
        outside the float range stops the run (`DataError`, docs/semantics.md section 7).
        """
        equity = float(equity)  # a numpy scalar would warn where the float overflows quietly
        if not math.isfinite(equity) and self.portfolio is not None and self.clock is not None:
            n = self.portfolio.overflowing_column()
            raise overflow_error(
                "equity",
                "equity",
                equity,
                0,
                self.portfolio.symbols[n],
                self.clock.index,
                self.clock.now,
            )
        if equity > self.peak_equity:
            self.peak_equity = equity
        limit = self.config.max_drawdown_stop
        if limit is not None and not self.halted:
            if 1.0 - equity / self.peak_equity >= limit:
                self.halted = True

    def check(
        self,
        portfolio: Portfolio,
        column: int,
        side: Side,
        quantity: float,
        price: float,
        equity: float,
    ) -> str | None:
        """The reason code refusing this order, or None to accept it.

        `price` values the order (the last close at submission; the fill price for a target
        order, which is sized only then) and `equity` is the account equity at that price.
        Checks run in this order: drawdown stop, margin call, order value, position quantity,
        position weight, gross leverage (symbols without a margin rate), initial margin
        (symbols with one). Values are quantity x price x the symbol's multiplier.
        """
        cfg = self.config
        held = portfolio.positions[column].quantity
        signed = quantity if side is Side.BUY else -quantity
        after = held + signed
        if abs(after) <= abs(held) and (after == 0.0 or (after > 0.0) == (held > 0.0)):
            return None  # reduces the position: always allowed
        if self.halted and side is Side.BUY:
            return Reason.DRAWDOWN_HALT
        multiplier = portfolio.multipliers[column]
        margined = not math.isnan(portfolio.margins[column])
        if margined and self.margin_call:
            return Reason.MARGIN_CALL
        if cfg.max_order_value is not None and quantity * price * multiplier > cfg.max_order_value:
            return Reason.MAX_ORDER_VALUE
        if cfg.max_position_quantity is not None and abs(after) > cfg.max_position_quantity:
            return Reason.MAX_POSITION
        if (
            cfg.max_position_weight is not None
            and abs(after) * price * multiplier > cfg.max_position_weight * equity
        ):
            return Reason.MAX_POSITION
        if margined:
            if portfolio.initial_margin(column, after, price) > equity:
                return Reason.INSUFFICIENT_MARGIN
        elif cfg.max_leverage is not None and not portfolio.check_margin(
            column, side, quantity, price, cfg.max_leverage, equity
        ):
            return Reason.MAX_LEVERAGE
        return None
