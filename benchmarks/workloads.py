"""The callback-engine workloads: the data, the strategies and how often each is timed; and a
re-export of the workloads W1-W4, which live in `quanta_cli.workloads` so that `quanta bench`
can run them from an installed quanta.

The callback-engine workloads are shared by their pytest-benchmark suite (`test_engine.py`)
and the report script (`report.py`), so that the tables in docs/benchmarks.md measure exactly
what `make bench` measures. W1-W4 are timed by `test_workloads.py` and `quanta bench`.

Two data sets, one symbol each, seeded (the same bars on every machine), built by
`quanta_cli.workloads.daily_bars` and `quanta_cli.workloads.minute_bars` (the W1 and W2
data):

* daily: 2,520 business days (10 years x 252), `quanta_ref.data.synthetic` as it comes.
* minute: 491,400 one-minute bars (5 years x 252 days x 390 minutes). `synthetic` spaces
  minute bars around the clock; here its prices are re-stamped to 390 minutes a day,
  09:30-15:59, on 1,260 business days, so that trading days (DAY-order expiry, the
  periods-per-year inference of the metrics) behave as in a real intraday backtest. The
  per-bar volatility is 0.1 % (2 % daily / sqrt(390), roughly), so prices stay in a sane range
  over half a million bars.

These runs use the engine's default settings (no commission); W1-W4 charge 0.03 %.

Three strategies:

* `SmaCross` (`quanta_ref.examples`): SMA(10)/SMA(30) crossover, a Python `Strategy` with
  streaming indicators, the workload the callback engine is measured on.
* `Silent`: overrides nothing. The Rust backend then never calls into Python during the loop
  (it skips callbacks nobody overrides): this is the engine's own cost per bar.
* `PassOnBar`: ``on_bar`` is ``pass``. The engine plus one Python call per bar: the floor of
  any Python strategy.

The reference engine calls ``on_bar`` whether it is overridden or not, so for it `Silent`
and `PassOnBar` are the same work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quanta_cli.workloads import (
    BACKENDS,
    DAILY_BARS,
    DATA_SEED,
    MINUTE_BARS,
    MODES,
    WORKLOADS,
    daily_bars,
    minute_bars,
)
from quanta_fast import indicators as fast_indicators
from quanta_ref import Engine, Strategy
from quanta_ref.api import BacktestResult, Context
from quanta_ref.bars import Bars
from quanta_ref.events import BarEvent
from quanta_ref.examples import SmaCross

__all__ = [
    "BACKENDS",
    "DATA",
    "DATA_SEED",
    "ENGINE_WORKLOADS",
    "MODES",
    "WORKLOADS",
    "EngineWorkload",
    "PassOnBar",
    "Silent",
    "SmaCrossNative",
    "bar_events",
    "strategy_alone",
]


class Silent(Strategy):
    """Overrides nothing: the engine loop alone."""


class PassOnBar(Strategy):
    """``on_bar`` does nothing: the engine plus one Python call per bar."""

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        pass


@dataclass(frozen=True)
class EngineWorkload:
    """One benchmark group: a strategy on a data set, run `warmup[backend]` times untimed,
    then timed `rounds[backend]` times."""

    name: str
    data: str  # "daily" or "minute"
    strategy: type[Strategy]
    rounds: dict[str, int]
    warmup: dict[str, int]

    def run(self, bars: Bars, backend: str) -> BacktestResult:
        """One backtest, a fresh strategy each time (what the benchmark times)."""
        return Engine(backend=backend).run(bars, self.strategy())


# A python run on the minute data takes 5-7 s: three rounds and no warm-up there keep
# `make bench` to a few minutes. The daily runs take milliseconds and get many rounds.
_DAILY = {"rounds": {"python": 25, "rust": 25}, "warmup": {"python": 1, "rust": 1}}
_MINUTE = {"rounds": {"python": 3, "rust": 7}, "warmup": {"python": 0, "rust": 1}}


class SmaCrossNative(SmaCross):
    """`SmaCross` on the Rust streaming `SMA` and `cross` of `quanta_fast.indicators`, which
    are bit-identical to the reference's: the same backtest with a cheaper strategy body."""

    moving_average = fast_indicators.SMA
    crossing = staticmethod(fast_indicators.cross)


ENGINE_WORKLOADS = (
    EngineWorkload(f"sma-daily-{DAILY_BARS}", "daily", SmaCross, **_DAILY),
    EngineWorkload(f"sma-minute-{MINUTE_BARS}", "minute", SmaCross, **_MINUTE),
    EngineWorkload(f"sma-native-daily-{DAILY_BARS}", "daily", SmaCrossNative, **_DAILY),
    EngineWorkload(f"sma-native-minute-{MINUTE_BARS}", "minute", SmaCrossNative, **_MINUTE),
    EngineWorkload(f"noop-daily-{DAILY_BARS}", "daily", Silent, **_DAILY),
    EngineWorkload(f"noop-minute-{MINUTE_BARS}", "minute", Silent, **_MINUTE),
    EngineWorkload(f"pass-daily-{DAILY_BARS}", "daily", PassOnBar, **_DAILY),
    EngineWorkload(f"pass-minute-{MINUTE_BARS}", "minute", PassOnBar, **_MINUTE),
)

DATA: dict[str, Callable[[], Bars]] = {"daily": daily_bars, "minute": minute_bars}


class _NullContext:
    """Just enough of a `Context` for `SmaCross` outside any engine: orders go nowhere."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self.symbols = symbols

    def order_target_percent(self, symbol: str, weight: float) -> int:
        return 0

    def position(self, symbol: str) -> float:
        return 1.0


def strategy_alone(bar_events: list[BarEvent], symbols: tuple[str, ...]) -> None:
    """`SmaCross.on_bar` over prepared bar events with no engine behind `ctx`: the strategy's
    own Python (two SMA updates, `cross`, dict lookups), which no backend can speed up."""
    strategy = SmaCross()
    ctx = _NullContext(symbols)
    strategy.on_start(ctx)  # type: ignore[arg-type]
    on_bar = strategy.on_bar
    for bar in bar_events:
        on_bar(ctx, bar)  # type: ignore[arg-type]


def bar_events(bars: Bars) -> list[BarEvent]:
    """The `BarEvent` of every bar of a one-symbol panel, as the engine would build them."""
    symbol = bars.symbols[0]
    columns = (
        bars.timestamps.tolist(),
        bars.open[:, 0].tolist(),
        bars.high[:, 0].tolist(),
        bars.low[:, 0].tolist(),
        bars.close[:, 0].tolist(),
        bars.volume[:, 0].tolist(),
    )
    return [
        BarEvent(ts, symbol, o, h, lo, c, v) for ts, o, h, lo, c, v in zip(*columns, strict=True)
    ]
