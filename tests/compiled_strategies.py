"""Compiled (numba) strategies for the tests: hand-written ones with Python twins, and
`RandomTrader`, a template whose parameters draw a random strategy (the differential tests).

They live in a module file so that numba caches them, compiled, on disk.
"""

from __future__ import annotations

import math
from typing import Any

import numba

from quanta_ref import Strategy
from quanta_ref.compiled import CompiledStrategy
from quanta_ref.compiled_numba import BUY, REJECTED

DAY = 86_400_000_000_000


# ============================================================================ crossover
class SmaCross(CompiledStrategy):
    """SMA(fast)/SMA(slow) crossover on every symbol, the averages kept as running sums in
    ``ctx.state`` (streaming: O(1) per bar); all in on a golden cross, out on a dead one."""

    fast = 10
    slow = 30
    state_size = 3  # sum of the last `fast` closes, of the last `slow`, bars seen

    def on_bar(ctx, bar):
        s = bar.symbol
        state = ctx.state
        fast, slow = ctx.params.fast, ctx.params.slow
        seen = int(state[s, 2]) + 1
        state[s, 2] = seen
        state[s, 0] += bar.close
        state[s, 1] += bar.close
        closes = ctx.history(s, "close", min(seen, slow + 1))
        if seen > fast:
            state[s, 0] -= closes[closes.size - fast - 1]
        if seen > slow:
            state[s, 1] -= closes[0]
        if seen < slow:
            return
        above = state[s, 0] / fast > state[s, 1] / slow
        held = ctx.position(s)
        if above and held == 0.0:
            ctx.order_target_percent(s, 0.95 / ctx.n_symbols)
        elif not above and held > 0.0:
            ctx.order_target_quantity(s, 0.0)


class PySmaCross(Strategy):
    """`SmaCross` as a Python strategy, written the same way (the same floats, in order)."""

    fast = 10
    slow = 30

    def on_start(self, ctx: Any) -> None:
        self.state = {s: [0.0, 0.0, 0.0] for s in ctx.symbols}

    def on_bar(self, ctx: Any, bar: Any) -> None:
        state = self.state[bar.symbol]
        seen = int(state[2]) + 1
        state[2] = seen
        state[0] += bar.close
        state[1] += bar.close
        closes = ctx.history(bar.symbol, "close", min(seen, self.slow + 1))
        if seen > self.fast:
            state[0] -= closes[closes.size - self.fast - 1]
        if seen > self.slow:
            state[1] -= closes[0]
        if seen < self.slow:
            return
        above = state[0] / self.fast > state[1] / self.slow
        held = ctx.position(bar.symbol)
        if above and held == 0.0:
            ctx.order_target_percent(bar.symbol, 0.95 / len(ctx.symbols))
        elif not above and held > 0.0:
            ctx.order_target_quantity(bar.symbol, 0.0)


# ============================================================================ trailing stop
class TrailingStop(CompiledStrategy):
    """Buy a breakout above the highest close of `lookback` bars; then follow the highest
    close since the entry and sell when the close falls `trail` below it."""

    lookback = 20
    trail = 0.08
    quantity = 100.0
    state_size = 1  # the highest close since the entry

    def on_bar(ctx, bar):
        s = bar.symbol
        held = ctx.position(s)
        if held > 0.0:
            peak = max(ctx.state[s, 0], bar.close)
            ctx.state[s, 0] = peak
            if bar.close < peak * (1.0 - ctx.params.trail):
                ctx.sell(s, held)
        elif ctx.bar_index >= ctx.params.lookback and len(ctx.open_orders()) == 0:
            closes = ctx.history(s, "close", ctx.params.lookback + 1)
            if bar.close > closes[:-1].max():
                ctx.buy(s, ctx.params.quantity)

    def on_fill(ctx, fill):
        if fill.side == BUY:
            ctx.state[fill.symbol, 0] = fill.price


class PyTrailingStop(Strategy):
    """`TrailingStop` as a Python strategy."""

    lookback = 20
    trail = 0.08
    quantity = 100.0

    def on_start(self, ctx: Any) -> None:
        self.peak = {s: 0.0 for s in ctx.symbols}

    def on_bar(self, ctx: Any, bar: Any) -> None:
        s = bar.symbol
        held = ctx.position(s)
        if held > 0.0:
            peak = max(self.peak[s], bar.close)
            self.peak[s] = peak
            if bar.close < peak * (1.0 - self.trail):
                ctx.sell(s, held)
        elif ctx.bar_index >= self.lookback and len(ctx.open_orders()) == 0:
            closes = ctx.history(s, "close", self.lookback + 1)
            if bar.close > closes[:-1].max():
                ctx.buy(s, self.quantity)

    def on_fill(self, ctx: Any, fill: Any) -> None:
        if fill.side.value == "buy":
            self.peak[fill.symbol] = fill.price


# ============================================================================ random trader
@numba.njit(cache=True)
def uniform(seed: int, a: int, b: int, c: int, d: int) -> float:
    """A number in [0, 1) that depends only on its arguments (a mixing hash)."""
    x = seed * 1_000_003 + a * 7_919 + b * 104_729 + c * 1_299_709 + d * 15_485_863
    x = (x ^ (x >> 30)) * -4658895280553007687  # splitmix64's constants, wrapping
    x = (x ^ (x >> 27)) * -7723592293110705685
    x = x ^ (x >> 31)
    return (x & 0xFFFFFFFF) / 4294967296.0


class RandomTrader(CompiledStrategy):
    """A random strategy drawn by its parameters: at each bar it may send any kind of order
    (every order type and time in force, targets, cancels of a live order), priced around
    the close; it reacts to fills (a protective stop) and to rejections. Its choices also
    depend on what it reads (cash, equity, position, average cost, live orders, history,
    its state), so an engine that showed it a different account would take other decisions.
    With `bad`, one action in the table is a request the engine must refuse."""

    seed = 1
    activity = 0.3
    size = 50.0
    bad = 0
    protect = 0.5
    state_size = 3  # fills seen, rejections seen, sum of what it read

    def on_start(ctx):
        if ctx.params.seed % 3 == 0:
            ctx.buy(0, 10.0)

    def on_bar(ctx, bar):
        s = bar.symbol
        i = ctx.bar_index
        p = ctx.params
        position = ctx.get_position(s)
        live = ctx.open_orders()
        seen = ctx.history(s, "high", min(i + 1, 5))
        read = (
            int(ctx.cash) % 7
            + int(ctx.equity) % 5
            + int(position.quantity) % 3
            + int(position.average_cost * 100.0) % 2
            + len(live)
            + int(seen.max() * 10.0) % 3
            + int(ctx.state[s, 0]) % 2
        )
        ctx.state[s, 2] += read
        if uniform(p.seed, i, s, 0, read) >= p.activity:
            return
        kind = int(uniform(p.seed, i, s, 1, 0) * 16.0)
        c = bar.close
        q = math.floor(uniform(p.seed, i, s, 2, 0) * p.size) + 1.0
        d = 0.002 + 0.05 * uniform(p.seed, i, s, 3, 0)
        days = int(uniform(p.seed, i, s, 4, 0) * 4.0)
        if kind == 0:
            ctx.buy(s, q)
        elif kind == 1:
            ctx.sell(s, q)
        elif kind == 2:
            ctx.buy(s, q, "limit", limit_price=c * (1.0 - d))
        elif kind == 3:
            ctx.sell(s, q, "limit", limit_price=c * (1.0 + d))
        elif kind == 4:
            ctx.buy(s, q, "stop", stop_price=c * (1.0 + d))
        elif kind == 5:
            ctx.sell(s, q, "stop", stop_price=c * (1.0 - d))
        elif kind == 6:
            ctx.submit_order(
                s, "buy", q, "stop_limit", limit_price=c * (1.0 + 2.0 * d), stop_price=c * (1 + d)
            )
        elif kind == 7:
            ctx.sell(s, q, "trailing_stop", trail_percent=d)
        elif kind == 8:
            ctx.buy(s, q, "trailing_stop", trail_amount=c * d)
        elif kind == 9:
            ctx.order_target_quantity(s, q if position.quantity <= 0.0 else 0.0)
        elif kind == 10:
            ctx.order_target_percent(s, 0.5 * uniform(p.seed, i, s, 5, 0))
        elif kind == 11 and len(live) > 0:
            ctx.cancel(live[int(uniform(p.seed, i, s, 6, 0) * len(live))].order_id)
        elif kind == 12:
            ctx.buy(s, q, time_in_force="day")
        elif kind == 13:
            ctx.sell(s, q, "limit", limit_price=c * (1.0 + d), time_in_force="ioc")
        elif kind == 14:
            if days % 2 == 0:
                ctx.buy(s, q, "limit", limit_price=c * (1.0 - d), time_in_force="fok")
            else:
                ctx.buy(
                    s,
                    q,
                    "limit",
                    limit_price=c,
                    time_in_force="gtd",
                    expire_at=ctx.now + days * DAY,
                )
        elif kind == 15 and p.bad != 0:
            if days == 0:
                ctx.buy(s, -q)
            elif days == 1:
                ctx.buy(ctx.n_symbols, q)
            elif days == 2:
                ctx.sell(s, q, "limit", limit_price=math.nan)
            else:
                ctx.cancel(0)

    def on_fill(ctx, fill):
        ctx.state[fill.symbol, 0] += 1.0
        if (
            fill.side == BUY
            and uniform(ctx.params.seed, fill.order_id, 7, 0, 0) < ctx.params.protect
        ):
            ctx.sell(fill.symbol, fill.quantity, "stop", stop_price=fill.price * 0.95)

    def on_order(ctx, order):
        if order.status == REJECTED:
            ctx.state[order.symbol, 1] += 1.0

    def on_end(ctx):
        if ctx.params.seed % 4 == 0:
            ctx.sell(0, 1.0)
