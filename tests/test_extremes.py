"""Extreme magnitudes: both backends give the same result, or stop with the same error.

Each example draws a small panel whose prices span the float range (from subnormals to
1.7e308, with jumps of up to 1e300 from one bar to the next), settings over many orders of
magnitude (cash, commission, minimum commission, tax, lot size, leverage), and a script of
orders whose quantities, weights and targets are drawn log-uniformly as well. It runs on both
backends and checks that either both finish with the same result bit for bit (fills, orders,
trades, positions, equity, cash, every statistic with NaN equal to NaN, and what the strategy
saw), or both raise the same `QuantaError` class with the same message, and that nothing
else is ever raised (docs/semantics.md section 7, "Magnitudes").

The number of examples follows the hypothesis profile (``QUANTA_HYPOTHESIS_PROFILE``,
registered in strategies.py): at least 300 here, 10,000 in the deep profile.
"""

from __future__ import annotations

import math
import struct
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from quanta_ref import Bars, Engine, Strategy
from quanta_ref.errors import QuantaError
from strategies import describe_bars
from test_differential import assert_same_result, bits

pytestmark = pytest.mark.usefixtures("backend_rust")

EXTREMES = settings(max_examples=max(300, settings.default.max_examples))

MAX = sys.float_info.max
TINY = 5e-324  # the smallest subnormal
DAY = 86_400 * 10**9
START = int(np.datetime64("2024-01-01", "ns").astype(np.int64))

#: A positive magnitude over the whole float range: 10^k for a uniform k, with a mantissa,
#: plus the edges (subnormals, the largest float) and plain values.
MAGNITUDE = st.one_of(
    st.builds(
        lambda k, m: min(m * 10.0**k, MAX),
        st.integers(-307, 307),
        st.sampled_from([1.0, 1.5, 3.7, 9.99]),
    ),
    st.sampled_from([TINY, 1e-320, 2.2250738585072014e-308, 1e-300, 1e300, 1e308, MAX]),
    st.sampled_from([1.0, 10.0, 0.01, 100.0, 1e6]),
)
#: How a price moves from one bar to the next: mostly a little, sometimes by far.
JUMP = st.sampled_from([1.0, 1.0, 1.01, 0.99, 1.1, 0.9, 1e10, 1e-10, 1e100, 1e-100, 1e300, 1e-300])


def clamp(x: float) -> float:
    """`x` inside the positive floats (a clean bar needs finite prices > 0)."""
    if not x > 0.0:
        return TINY
    return MAX if x > MAX else x


@st.composite
def panels(draw: Any) -> Bars:
    """1-3 symbols, 1-25 daily bars, prices anywhere in the float range."""
    n_symbols = draw(st.integers(1, 3))
    n_bars = draw(st.integers(1, 25))
    fields = np.full((5, n_bars, n_symbols), np.nan)
    for n in range(n_symbols):
        level = draw(MAGNITUDE)
        for t in range(n_bars):
            if t > 0 and draw(st.sampled_from([False] * 9 + [True])):
                continue  # a missing bar
            level = clamp(level * draw(JUMP))
            close = clamp(level * draw(st.sampled_from([1.0, 1.05, 0.95])))
            high = clamp(max(level, close) * draw(st.sampled_from([1.0, 1.02])))
            low = clamp(min(level, close) * draw(st.sampled_from([1.0, 0.98])))
            volume = draw(st.sampled_from([1e9, 0.0, 100.0, 1e300]))
            fields[:, t, n] = (level, high, low, close, volume)
    timestamps = START + DAY * np.arange(n_bars, dtype=np.int64)
    symbols = [f"S{n}" for n in range(n_symbols)]
    return Bars.from_arrays(timestamps, *fields, symbols=symbols)


@st.composite
def extreme_settings(draw: Any) -> dict[str, Any]:
    """Valid engine settings, with every amount drawn over many orders of magnitude."""
    s: dict[str, Any] = {"initial_cash": draw(MAGNITUDE)}
    s["fill_at"] = draw(st.sampled_from(["next_open", "close"]))
    s["commission_rate"] = draw(st.sampled_from([0.0, 0.0, 1e-300, 0.001, 0.5, 1.0]))
    s["min_commission"] = draw(st.one_of(st.just(0.0), MAGNITUDE))
    s["sell_tax_rate"] = draw(st.sampled_from([0.0, 0.0005, 1.0]))
    s["slippage_bps"] = draw(st.sampled_from([0.0, 5.0, 10_000.0]))
    if draw(st.booleans()):
        s["fractional"] = True
        s["lot_size"] = draw(MAGNITUDE)
    else:
        s["lot_size"] = float(draw(st.sampled_from([1, 100, 10**15, 10**300])))
    if draw(st.booleans()):
        s["allow_short"] = True
        s["max_leverage"] = draw(MAGNITUDE)
    else:
        s["settlement"] = draw(st.sampled_from(["T+0", "T+1"]))
    if draw(st.sampled_from([False, False, True])):
        s["max_volume_fraction"] = draw(st.sampled_from([1e-300, 0.01, 1.0]))
    if draw(st.sampled_from([False, False, True])):
        s["price_limit"] = draw(st.sampled_from([0.1, 1e300]))
    for key in ("max_position_quantity", "max_order_value", "max_position_weight"):
        if draw(st.sampled_from([False] * 5 + [True])):
            s[key] = draw(MAGNITUDE)
    if draw(st.sampled_from([False] * 5 + [True])):
        s["max_drawdown_stop"] = draw(st.sampled_from([1e-300, 0.5, 1.0]))
    return s


def actions(n_symbols: int) -> st.SearchStrategy[dict[str, Any]]:
    """One scripted call (see `Extreme._act`)."""
    symbol = st.integers(0, n_symbols - 1)
    return st.one_of(
        st.fixed_dictionaries(
            {
                "op": st.just("submit"),
                "sym": symbol,
                "side": st.sampled_from(["buy", "sell"]),
                "type": st.sampled_from(["market", "market", "limit", "stop"]),
                "qty": MAGNITUDE,
                "whole": st.booleans(),
                "off": st.sampled_from([0.0, 0.05, -0.05, 1e10, -0.999]),
            }
        ),
        st.fixed_dictionaries(
            {
                "op": st.just("target_pct"),
                "sym": symbol,
                "w": st.one_of(
                    st.sampled_from([0.0, 1.0, 0.5, -1.0]),
                    MAGNITUDE,
                    MAGNITUDE.map(lambda x: -x),
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "op": st.just("target_qty"),
                "sym": symbol,
                "q": st.one_of(st.just(0.0), MAGNITUDE, MAGNITUDE.map(lambda x: -x)),
            }
        ),
        st.fixed_dictionaries({"op": st.just("cancel"), "pick": st.integers(0, 20)}),
    )


@st.composite
def scenarios(draw: Any) -> tuple[Bars, dict[str, Any], dict[int, list[dict[str, Any]]]]:
    bars = draw(panels())
    engine = draw(extreme_settings())
    if not (bars.volume > 0.0).any():
        engine.pop("max_volume_fraction", None)  # a ConfigError at run: nothing could fill
    script: dict[int, list[dict[str, Any]]] = {}
    for _ in range(draw(st.integers(1, 12))):
        t = draw(st.integers(-1, bars.n_bars - 1))  # -1: in on_start
        script.setdefault(t, []).append(draw(actions(bars.n_symbols)))
    return bars, engine, script


class Extreme(Strategy):
    """Plays a script of orders and records what it sees (cash, equity, events) as bits."""

    def __init__(self, script: dict[int, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.script = script
        self.ids: list[int] = []
        self.log: list[Any] = []
        self._last = -2

    def on_start(self, ctx: Any) -> None:
        self._play(ctx, -1)

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.log.append(bits(("bar", bar.symbol, ctx.cash, ctx.equity)))
        if ctx.bar_index != self._last:
            self._last = ctx.bar_index
            self._play(ctx, ctx.bar_index)

    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.log.append(bits(("fill", tuple(fill.__dict__.values()))))

    def on_order(self, ctx: Any, order: Any) -> None:
        self.log.append(bits(("order", order.order_id, order.status.value, order.quantity)))

    def _play(self, ctx: Any, t: int) -> None:
        for action in self.script.get(t, ()):
            result = self._act(ctx, action)
            if isinstance(result, int) and not isinstance(result, bool):
                self.ids.append(result)

    def _act(self, ctx: Any, a: dict[str, Any]) -> Any:
        op = a["op"]
        if op == "cancel":
            return ctx.cancel(self.ids[a["pick"] % len(self.ids)]) if self.ids else None
        symbol = ctx.symbols[a["sym"]]
        if op == "target_pct":
            return ctx.order_target_percent(symbol, a["w"])
        if op == "target_qty":
            return ctx.order_target_quantity(symbol, a["q"])
        quantity = a["qty"]
        if a["whole"] and quantity >= 1.0:
            quantity = float(math.floor(quantity))
        kind = a["type"]
        closes = ctx.history(symbol, "close") if ctx.bar_index >= 0 else np.array([])
        closes = closes[~np.isnan(closes)]
        ref = float(closes[-1]) if len(closes) else 1.0
        price = clamp(ref * (1.0 + a["off"]))
        prices = {"limit_price": price} if kind == "limit" else {}
        if kind == "stop":
            prices = {"stop_price": price}
        return ctx.submit_order(symbol, a["side"], quantity, kind, **prices)


def outcome(backend: str, bars: Bars, engine: dict[str, Any], script: Any) -> Any:
    """(strategy, result) of a run, or the QuantaError it raised; anything else fails."""
    strategy = Extreme(script)
    try:
        return strategy, Engine(backend=backend, **engine).run(bars, strategy)
    except QuantaError as exc:
        return strategy, exc


def same_stats(ref: dict[str, float], fast: dict[str, float]) -> None:
    assert list(fast) == list(ref)
    for key, value in ref.items():
        got = fast[key]
        assert (math.isnan(value) and math.isnan(got)) or (
            struct.pack("<d", value) == struct.pack("<d", got)
        ), (key, value, got)


@EXTREMES
@given(scenario=scenarios())
def test_extreme_magnitudes_give_the_same_result_or_error_on_both_backends(scenario):
    bars, engine, script = scenario
    note(describe_bars(bars))
    note(f"settings = {engine!r}")
    note(f"script = {script!r}")
    (ref_strategy, ref), (fast_strategy, fast) = (
        outcome(backend, bars, engine, script) for backend in ("python", "rust")
    )
    if isinstance(ref, QuantaError) or isinstance(fast, QuantaError):
        assert (type(fast), str(fast)) == (type(ref), str(ref))
    else:
        assert_same_result(ref, fast)
        same_stats(ref.stats, fast.stats)
    assert fast_strategy.ids == ref_strategy.ids
    assert fast_strategy.log == ref_strategy.log
