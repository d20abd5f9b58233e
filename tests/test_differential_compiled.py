"""Compiled strategies on the Rust engine against the reference, on random inputs: the same
fills, orders, trades and equity, bit for bit, or the same error.

Each example draws a panel (`strategies.bar_specs`, with corporate actions half of the time),
engine settings (`strategies.engine_settings`: every cost, lot, T+1, price-limit, account,
risk and instrument setting) and a compiled strategy from a family of templates. Mostly
`compiled_strategies.RandomTrader` with drawn parameters: it trades every order type and time
in force, targets and cancels, reacts to fills and rejections, and takes decisions from what
its ``ctx`` shows; one in four of those also makes requests the engine must refuse. Else a
hand-written compiled strategy (an SMA crossover with running sums, a trailing stop) with
drawn parameters. Both engines call the same compiled code, so a difference can only come
from the engines: the account view they show, the order in which they deliver events and
apply requests, or the rules behind the requests.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from compiled_strategies import RandomTrader, TrailingStop
from quanta_ref import Engine
from quanta_ref.errors import QuantaError
from quanta_ref.examples import SmaCrossCompiled
from strategies import (
    bar_specs,
    describe_actions,
    describe_bars,
    engine_settings,
    make_bars,
    with_actions,
)
from test_differential import assert_same_result

pytestmark = pytest.mark.usefixtures("backend_rust")

DIFFERENTIAL = settings(max_examples=max(300, settings.default.max_examples))


@st.composite
def traders(draw: Any) -> Any:
    """A compiled strategy from the family of templates: mostly `RandomTrader`, else one of
    the hand-written strategies with drawn parameters."""
    template = draw(st.sampled_from(["random"] * 6 + ["sma", "trailing"]))
    if template == "sma":
        fast = draw(st.integers(1, 12))
        return SmaCrossCompiled(fast=fast, slow=draw(st.integers(fast + 1, 40)))
    if template == "trailing":
        return TrailingStop(
            lookback=draw(st.integers(1, 30)),
            trail=draw(st.sampled_from([0.01, 0.05, 0.2])),
            quantity=draw(st.sampled_from([1.0, 100.0, 1e4])),
        )
    return RandomTrader(
        seed=draw(st.integers(0, 2**31)),
        activity=draw(st.sampled_from([0.05, 0.3, 0.8])),
        size=draw(st.sampled_from([1.0, 50.0, 500.0])),
        bad=draw(st.sampled_from([0, 0, 0, 1])),
        protect=draw(st.sampled_from([0.0, 0.5, 1.0])),
    )


def outcome(backend: str, bars: Any, engine: dict[str, Any], trader: Any) -> Any:
    try:
        return Engine(backend=backend, **engine).run(bars, trader)
    except QuantaError as error:
        return error


@DIFFERENTIAL
@given(
    spec=bar_specs(max_symbols=4, max_bars=300),
    engine=engine_settings(),
    trader=traders(),
    actions=st.booleans(),
    data=st.data(),
)
def test_a_random_compiled_strategy_runs_the_same_on_both_engines(
    spec, engine, trader, actions, data
):
    bars = make_bars(spec)
    if actions:
        bars = data.draw(with_actions(bars))
    if not (bars.volume > 0.0).any():
        engine.pop("max_volume_fraction", None)
    note(describe_bars(bars))
    note(describe_actions(bars))
    note(f"settings = {engine!r}")
    note(f"strategy = {trader!r}")
    ref = outcome("python", bars, engine, trader)
    fast = outcome("rust", bars, engine, trader)
    if isinstance(ref, QuantaError) or isinstance(fast, QuantaError):
        event(f"stopped by {type(ref).__name__}")
        assert type(fast) is type(ref) and str(fast) == str(ref)
        return
    event("ran to the end, " + ("no fill" if not ref.fills else "with fills"))
    assert_same_result(ref, fast)
