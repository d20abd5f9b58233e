"""Ready-made strategies used by `quanta demo`, the README, the tests and the benchmarks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from quanta_ref.api import Context, Strategy
from quanta_ref.compiled import CompiledStrategy
from quanta_ref.errors import ConfigError
from quanta_ref.events import BarEvent
from quanta_ref.indicators import SMA, cross


class SmaCross(Strategy):
    """Long-only SMA crossover: all in when SMA(fast) crosses above SMA(slow), flat when it
    crosses below (see `quanta_ref.indicators.cross` for how ties count).

    Orders are target orders, so the size is decided at the fill price: `order_target_percent`
    1.0 buys the largest whole-lot quantity the cash pays for, costs included.
    """

    fast = 10
    slow = 30
    #: The indicator implementations. A subclass may swap in bit-identical ones, e.g. the
    #: Rust `quanta_fast.indicators.SMA` and `cross` (benchmarks/workloads.py does).
    moving_average = SMA
    crossing = staticmethod(cross)

    def on_start(self, ctx: Context) -> None:
        if not (
            isinstance(self.fast, int) and isinstance(self.slow, int) and 1 <= self.fast < self.slow
        ):
            raise ConfigError(
                f"fast, slow: need whole numbers 1 <= fast < slow, got "
                f"fast={self.fast!r}, slow={self.slow!r}"
            )
        self._fast = {s: self.moving_average(self.fast) for s in ctx.symbols}
        self._slow = {s: self.moving_average(self.slow) for s in ctx.symbols}
        self._previous = {s: (math.nan, math.nan) for s in ctx.symbols}

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        fast = self._fast[bar.symbol].update(bar.close)
        slow = self._slow[bar.symbol].update(bar.close)
        prev_fast, prev_slow = self._previous[bar.symbol]
        self._previous[bar.symbol] = (fast, slow)
        direction = self.crossing(prev_fast, prev_slow, fast, slow)
        if direction > 0:
            ctx.order_target_percent(bar.symbol, 1.0 / len(ctx.symbols))
        elif direction < 0 and ctx.position(bar.symbol) != 0.0:
            ctx.order_target_percent(bar.symbol, 0.0)


class SmaCrossCompiled(CompiledStrategy):
    """`SmaCross` as a compiled strategy (numba; `quanta_ref.compiled`): the same trades, bit
    for bit. Each symbol keeps in ``ctx.state`` how many closes it has seen, the two running
    sums (TA-Lib's order, as `quanta_ref.indicators.SMA`), the previous averages and the last
    `slow` closes in a ring (the fast window is the last `fast` of them). The ring's head
    moves by one and wraps by a comparison: an integer division per bar would cost more than
    the rest of the strategy."""

    fast = 10
    slow = 30

    @property
    def state_size(self) -> int:  # type: ignore[override]  # one slot per close of the ring
        return 6 + self.slow

    def check(self) -> None:
        if not (
            isinstance(self.fast, int) and isinstance(self.slow, int) and 1 <= self.fast < self.slow
        ):
            raise ConfigError(
                f"fast, slow: need whole numbers 1 <= fast < slow, got "
                f"fast={self.fast!r}, slow={self.slow!r}"
            )

    @staticmethod
    def on_bar(ctx: Any, bar: Any) -> None:  # numba code: ctx is the compiled context
        s, x = bar.symbol, bar.close
        fast, slow = ctx.params.fast, ctx.params.slow
        # seen, fast sum, slow sum, previous fast, previous slow, ring head, ring (slow)
        state = ctx.state[s]
        seen = int(state[0])
        head = int(state[5])
        if seen == 0:
            state[3] = np.nan
            state[4] = np.nan
        if seen >= fast:  # the close that leaves the fast window: `fast` closes ago
            leaving = head - fast if head >= fast else head - fast + slow
            state[1] -= state[6 + leaving]
        state[1] += x
        if seen >= slow:  # the close that leaves the slow window: the oldest of the ring
            state[2] -= state[6 + head]
        state[2] += x
        state[6 + head] = x
        state[5] = head + 1 if head + 1 < slow else 0
        state[0] = seen + 1
        f = state[1] / fast if seen + 1 >= fast else np.nan
        sl = state[2] / slow if seen + 1 >= slow else np.nan
        pf, ps = state[3], state[4]
        state[3] = f
        state[4] = sl
        if np.isnan(pf) or np.isnan(ps) or np.isnan(f) or np.isnan(sl):
            return
        if f > sl and pf <= ps:
            ctx.order_target_percent(s, 1.0 / ctx.n_symbols)
        elif f < sl and pf >= ps and ctx.position(s) != 0.0:
            ctx.order_target_percent(s, 0.0)


class BuyAndHold(Strategy):
    """Buy as much as the cash allows on the first bar and hold to the end."""

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        if ctx.bar_index == 0:
            ctx.order_target_percent(bar.symbol, 1.0 / len(ctx.symbols))
