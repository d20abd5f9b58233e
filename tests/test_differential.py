"""The Rust engine against the reference, on random inputs: identical results, bit for bit.

Each example draws a scenario (`strategies.scenarios`: 1-5 symbols, 1-500 bars with gaps,
suspensions, limit moves and zero volume; random settings over every cost, lot size, T+1,
price limit, account kind, risk and participation limit; a random order script over every
order type and time in force, with cancels, target orders and orders that must be rejected),
runs it on both backends and compares everything the user can see:

* every fill, every order's final state, every trade, every position: each field exactly
  (floats by their bits, so even -0.0 against 0.0 would fail);
* every event the strategy received, in order (`on_order` snapshots and `on_fill` fills);
* the equity and cash arrays, bit for bit; the stats within 1e-12 relative.

The `ci` profile draws 500 examples per test here; ``QUANTA_HYPOTHESIS_PROFILE=deep`` draws 10,000.
Mismatches found here become named tests in test_regressions.py.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from quanta_ref import Engine
from quanta_ref.api import BacktestResult
from quanta_ref.errors import QuantaError
from strategies import (
    ScriptedStrategy,
    bar_specs,
    cn_a_scenarios,
    describe_actions,
    describe_bars,
    make_bars,
    scenarios,
)
from test_properties import _CTX_SETTINGS, GARBAGE_CALLS, GarbageCaller

pytestmark = pytest.mark.usefixtures("backend_rust")

# Several hundred examples even in the ci profile (they are cheap); the deep profile's count
# when it is higher.
DIFFERENTIAL = settings(max_examples=max(500, settings.default.max_examples))


def bits(value: Any) -> Any:
    """`value` with every float replaced by its IEEE-754 bit pattern (recursively), so that
    == means bit-identical."""
    if isinstance(value, float):
        return struct.pack("<d", value).hex()
    if isinstance(value, (tuple, list)):
        return tuple(bits(v) for v in value)
    if isinstance(value, dict):
        return {k: bits(v) for k, v in value.items()}
    return value


def order_fields(order: Any) -> tuple[Any, ...]:
    return bits(tuple(getattr(order, name) for name in type(order).__slots__))


def fill_fields(fill: Any) -> tuple[Any, ...]:
    return bits(tuple(fill.__dict__.values()))


class Recording(ScriptedStrategy):
    """A scripted strategy that also records every event it receives, as bits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[tuple[Any, ...]] = []

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.log.append(
            bits(
                (
                    "bar",
                    bar.timestamp,
                    bar.symbol,
                    bar.open,
                    bar.high,
                    bar.low,
                    bar.close,
                    bar.volume,
                    ctx.cash,
                    ctx.equity,
                )
            )
        )
        super().on_bar(ctx, bar)

    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.log.append(("fill", fill_fields(fill)))
        super().on_fill(ctx, fill)

    def on_order(self, ctx: Any, order: Any) -> None:
        self.log.append(("order", order_fields(order)))


def assert_same_result(ref: BacktestResult, fast: BacktestResult) -> None:
    assert [fill_fields(f) for f in fast.fills] == [fill_fields(f) for f in ref.fills]
    assert [order_fields(o) for o in fast.orders] == [order_fields(o) for o in ref.orders]
    assert [bits(tuple(t.__dict__.values())) for t in fast.trades] == [
        bits(tuple(t.__dict__.values())) for t in ref.trades
    ]
    assert [bits(tuple(p.__dict__.values())) for p in fast.positions] == [
        bits(tuple(p.__dict__.values())) for p in ref.positions
    ]
    assert [bits(tuple(s.__dict__.values())) for s in fast.signals] == [
        bits(tuple(s.__dict__.values())) for s in ref.signals
    ]
    assert [bits(tuple(r.__dict__.values())) for r in fast.corporate_actions] == [
        bits(tuple(r.__dict__.values())) for r in ref.corporate_actions
    ]
    for name in ("timestamps", "equity", "cash"):
        a, b = getattr(ref, name), getattr(fast, name)
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name
        assert a.tobytes() == b.tobytes(), f"{name}: equal values but different bits"
    assert list(fast.stats) == list(ref.stats)
    for key, expected in ref.stats.items():
        got = fast.stats[key]
        if math.isnan(expected):
            assert math.isnan(got), key
        elif expected != got:
            assert abs(got - expected) <= 1e-12 * abs(expected), (key, expected, got)


def run_both(bars: Any, settings: dict[str, Any], make: Any) -> tuple[Any, ...]:
    out = []
    for backend in ("python", "rust"):
        strategy = make()
        result = Engine(backend=backend, **settings).run(bars, strategy)
        out.append((strategy, result))
    return tuple(out)


@DIFFERENTIAL
@given(scenario=scenarios(max_bars=500, corporate_actions=True))
def test_rust_matches_the_reference_bit_for_bit(scenario):
    bars, settings, script = scenario
    note(describe_bars(bars))
    note(describe_actions(bars))
    note(f"settings = {settings!r}")
    note(f"script = {script!r}")
    (ref_strategy, ref), (fast_strategy, fast) = run_both(
        bars, settings, lambda: Recording.for_settings(script, settings)
    )
    assert fast_strategy.ids == ref_strategy.ids
    assert fast_strategy.start_ids == ref_strategy.start_ids
    assert fast_strategy.log == ref_strategy.log
    assert_same_result(ref, fast)


@DIFFERENTIAL
@given(
    spec=bar_specs(max_symbols=3, max_bars=40),
    engine_settings=_CTX_SETTINGS,
    calls=st.lists(st.tuples(st.integers(-1, 39), GARBAGE_CALLS), min_size=1, max_size=25),
)
def test_bad_ctx_arguments_raise_the_same_errors_on_both_backends(spec, engine_settings, calls):
    """Garbage arguments to every ctx order call: the same exception class and message (and
    the same ids for the calls that succeed) on both backends."""
    bars = make_bars(spec)
    by_bar: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for t, call in calls:
        by_bar.setdefault(t, []).append(call)
    note(describe_bars(bars))
    (ref_strategy, ref), (fast_strategy, fast) = run_both(
        bars, engine_settings, lambda: GarbageCaller(by_bar)
    )
    assert [(type(e), str(e)) for e in fast_strategy.errors] == [
        (type(e), str(e)) for e in ref_strategy.errors
    ]
    assert fast_strategy.ids == ref_strategy.ids
    assert_same_result(ref, fast)


def test_a_rust_panic_becomes_a_quanta_error() -> None:
    from quanta_fast import _quanta_fast

    with pytest.raises(QuantaError, match="internal error in the native engine"):
        _quanta_fast._debug_panic()


@DIFFERENTIAL
@given(scenario=cn_a_scenarios())
def test_rust_matches_the_reference_on_the_a_share_market(scenario):
    """Codes across the boards, ST flags, listing dates, vendor limit prices and cost
    schedules: both backends read the same market tables and book the same costs."""
    bars, settings, script = scenario
    note(describe_bars(bars))
    note(f"settings = {settings!r}, st = {bars.st!r}, listing = {bars.listing_dates!r}")
    note(f"up = {bars.up_limit!r}, down = {bars.down_limit!r}")
    note(f"script = {script!r}")
    (ref_strategy, ref), (fast_strategy, fast) = run_both(
        bars, settings, lambda: Recording.for_settings(script, settings)
    )
    assert fast_strategy.ids == ref_strategy.ids
    assert fast_strategy.log == ref_strategy.log
    assert_same_result(ref, fast)
