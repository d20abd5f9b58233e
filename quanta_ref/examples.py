"""Ready-made strategies used by `quanta demo`, the README, the tests and the benchmarks."""

from __future__ import annotations

import math

from quanta_ref.api import Context, Strategy
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


class BuyAndHold(Strategy):
    """Buy as much as the cash allows on the first bar and hold to the end."""

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        if ctx.bar_index == 0:
            ctx.order_target_percent(bar.symbol, 1.0 / len(ctx.symbols))
