"""Array strategies on random inputs: the Rust backend against the reference, bit for bit.

Each example draws a panel (`strategies.bar_specs`: gaps, suspensions, listings and
delistings, exact limit moves, zero volume), valid engine settings (`strategies.engine_settings`:
cash and margin accounts, cn_a, T+1, price limits, ``fill_at="close"``, participation, every
risk limit; one example in four a tight cash account) and an array job, pure data that
`make_job` turns into arrays:

* signals: entries/exits (and short entries/exits on a margin account) of a drawn density,
  from almost never to almost always; size as a fraction or a quantity; stop-loss and
  take-profit levels; (T,) arrays for one symbol;
* targets: weights present with a drawn density (NaN elsewhere), from a few fixed values or
  any float in a range (negative ones too, rejected in a cash account).

Two properties:

1. ``Engine("rust").run_signals`` / ``run_targets`` equals the reference's: every fill,
   order (every field), trade and position exactly (floats by their bits), equity and cash by
   their bytes, the stats within 1e-12 relative (`test_differential.assert_same_result`);
   an input the run refuses raises the same class and message on both.
2. ``Engine("rust").run_signals`` equals ``Engine("rust").run`` of the job's reference
   strategy (``Signals(...).checked(bars, config).strategy(bars)``): the native array driver
   against the Python strategy on the same engine (until the native driver lands, both are
   the strategy).

The ``ci`` profile (300 examples per test here) keeps this file to about 15 seconds;
``QUANTA_HYPOTHESIS_PROFILE=deep`` draws 10,000 examples per test. Mismatches found here
become named tests in test_arrays.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from quanta_ref import Engine
from quanta_ref.api import BacktestResult
from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.errors import QuantaError
from strategies import (
    bar_specs,
    cn_a_scenarios,
    describe_actions,
    describe_bars,
    engine_settings,
    instruments,
    make_bars,
    with_actions,
)
from test_differential import assert_same_result

pytestmark = pytest.mark.usefixtures("backend_rust")

# 300 examples per test in the ci profile (a few seconds); the deep profile's count when higher.
ARRAYS = settings(max_examples=max(300, settings.default.max_examples))

_DENSITY = st.sampled_from([0.05, 0.2, 0.01, 0.5, 0.95, 0.0])
_FRACTION = st.one_of(
    st.sampled_from([1.0, 1.0, 0.5, 0.25, 0.1, 1.5, 2.0]), st.floats(0.001, 2.0, allow_nan=False)
)
_LOTS = st.sampled_from([1, 1, 2, 5, 10, 50, 100, 1_000])
_QUANTITY = st.one_of(
    st.sampled_from([1.0, 150.0, 0.5]), st.floats(0.001, 50_000.0, allow_nan=False)
)
_STOP_LOSS = st.one_of(
    st.none(),
    st.sampled_from([0.01, 0.05, 0.1, 0.5, 0.999]),
    st.floats(1e-6, 0.999999, allow_nan=False),
)
_TAKE_PROFIT = st.one_of(
    st.none(), st.sampled_from([0.01, 0.05, 0.2, 0.999]), st.floats(1e-6, 0.999999, allow_nan=False)
)


# ---------------------------------------------------------------------- jobs
@st.composite
def signal_specs(draw: Any, config: EngineConfig) -> dict[str, Any]:
    """A pure-data signal job; `make_job` builds its arrays."""
    percent = draw(st.booleans())
    shorts = config.allow_short and draw(st.booleans())
    # short exits alone are allowed on any account (they never find a short)
    short_exits = shorts or draw(st.sampled_from([False, False, False, True]))
    take_profit = draw(_TAKE_PROFIT)
    if take_profit is not None and not shorts and draw(st.booleans()):
        take_profit = draw(st.sampled_from([1.0, 3.0]))  # allowed without short entries
    if percent:
        size = draw(_FRACTION)
    elif draw(st.sampled_from([True, True, True, False])):
        size = draw(_LOTS) * config.lot_size  # whole lots, mostly affordable
    else:
        size = draw(_QUANTITY)  # anything, odd or fractional
    return {
        "kind": "signals",
        "seed": draw(st.integers(0, 2**32 - 1)),
        "p_entry": draw(_DENSITY),
        "p_exit": draw(_DENSITY),
        "p_short_entry": draw(_DENSITY) if shorts else None,
        "p_short_exit": draw(_DENSITY) if short_exits else None,
        "size": size,
        "size_type": "percent" if percent else "quantity",
        "stop_loss": draw(_STOP_LOSS),
        "take_profit": take_profit,
        "one_d": draw(st.booleans()),
    }


@st.composite
def target_specs(draw: Any, config: EngineConfig) -> dict[str, Any]:
    """A pure-data target job; `make_job` builds its weights."""
    # negative weights in a cash account are valid input (their orders are rejected)
    low = -0.5 if config.allow_short or draw(st.sampled_from([False] * 3 + [True])) else 0.0
    return {
        "kind": "targets",
        "seed": draw(st.integers(0, 2**32 - 1)),
        "p_weight": draw(st.sampled_from([0.02, 0.1, 0.5, 1.0])),
        "values": draw(st.sampled_from(["fixed", "any"])),
        "low": low,
        "one_d": draw(st.booleans()),
    }


def make_job(spec: dict[str, Any], bars: Bars) -> Signals | Targets:
    """The job a `signal_specs` / `target_specs` spec describes (deterministic)."""
    rng = np.random.default_rng(spec["seed"])
    shape = (bars.n_bars, bars.n_symbols)
    squeeze = spec["one_d"] and bars.n_symbols == 1

    def cut(array: np.ndarray) -> np.ndarray:
        return array[:, 0] if squeeze else array

    if spec["kind"] == "targets":
        present = rng.random(shape) < spec["p_weight"]
        if spec["values"] == "fixed":
            fixed = np.array([0.0, 0.1, 0.25, 0.5, 1.0, 1.0 / bars.n_symbols, spec["low"]])
            values = fixed[rng.integers(0, len(fixed), shape)]
        else:
            values = rng.uniform(spec["low"], 1.5, shape)
        return Targets(cut(np.where(present, values, np.nan)))

    def signals(p: float | None) -> np.ndarray | None:
        draws = rng.random(shape)  # drawn even when unused: the stream stays aligned
        return None if p is None else cut(draws < p)

    entries, exits = signals(spec["p_entry"]), signals(spec["p_exit"])
    return Signals(
        entries,
        exits,
        short_entries=signals(spec["p_short_entry"]),
        short_exits=signals(spec["p_short_exit"]),
        size=spec["size"],
        size_type=spec["size_type"],
        stop_loss=spec["stop_loss"],
        take_profit=spec["take_profit"],
    )


@st.composite
def array_scenarios(draw: Any) -> tuple[Bars, dict[str, Any], dict[str, Any]]:
    """(bars, engine settings, job spec) for one random array backtest."""
    spec = draw(bar_specs(max_symbols=4, max_bars=150))
    settings = draw(engine_settings())
    if draw(st.sampled_from([False, False, False, True])):
        # A tight cash account: cheap symbols, little cash, a minimum commission.
        spec["start_prices"] = draw(
            st.lists(
                st.sampled_from([1.0, 2.37, 4.5]),
                min_size=spec["n_symbols"],
                max_size=spec["n_symbols"],
            )
        )
        settings = {
            k: v
            for k, v in settings.items()
            if k not in ("market", "fractional", "max_leverage", "commission")
        }
        settings.update(
            initial_cash=draw(st.sampled_from([20.0, 100.0])),
            lot_size=1,
            min_commission=draw(st.sampled_from([1.0, 5.0])),
            commission_rate=draw(st.sampled_from([0.0, 0.001])),
            allow_short=False,
            settlement=draw(st.sampled_from(["T+0", "T+1"])),
        )
        if "instruments" in settings:
            settings["instruments"] = draw(instruments(settings))
    if draw(st.booleans()):
        # Half the examples without risk limits: the orders they refuse would hide the rest.
        for key in (
            "max_position_quantity",
            "max_position_weight",
            "max_order_value",
            "max_drawdown_stop",
        ):
            settings.pop(key, None)
    bars = draw(with_actions(make_bars(spec)))
    if not (bars.volume > 0.0).any():
        settings.pop("max_volume_fraction", None)  # a ConfigError at run: nothing could fill
    config = EngineConfig.build(**settings)
    job = draw(st.one_of(signal_specs(config), target_specs(config)))
    return bars, settings, job


# ---------------------------------------------------------------------- running
def run_job(engine: Engine, bars: Bars, job: Signals | Targets) -> BacktestResult:
    if isinstance(job, Targets):
        return engine.run_targets(bars, job.weights)
    return engine.run_signals(
        bars,
        job.entries,
        job.exits,
        short_entries=job.short_entries,
        short_exits=job.short_exits,
        size=job.size,
        size_type=job.size_type,
        stop_loss=job.stop_loss,
        take_profit=job.take_profit,
    )


def outcome(run: Any) -> BacktestResult | tuple[type, str]:
    """The result of `run()`, or the class and message of the quanta error it raised."""
    try:
        result: BacktestResult = run()
    except QuantaError as exc:
        return type(exc), str(exc)
    return result


def assert_same_outcome(ref: Any, fast: Any) -> None:
    if isinstance(ref, tuple) or isinstance(fast, tuple):
        assert fast == ref
    else:
        assert_same_result(ref, fast)


def describe(bars: Bars, settings: dict[str, Any], spec: dict[str, Any]) -> None:
    note(describe_bars(bars))
    note(describe_actions(bars))
    note(f"settings = {settings!r}")
    note(f"job = {spec!r}")


@ARRAYS
@given(scenario=array_scenarios())
def test_rust_array_runs_match_the_reference_bit_for_bit(scenario: Any) -> None:
    assert_rust_matches_reference(scenario)


def assert_rust_matches_reference(scenario: Any) -> None:
    """The scenario's array job on both backends: the same outcome, bit for bit."""
    bars, settings, spec = scenario
    describe(bars, settings, spec)
    job = make_job(spec, bars)
    ref = outcome(lambda: run_job(Engine("python", **settings), bars, job))
    fast = outcome(lambda: run_job(Engine("rust", **settings), bars, job))
    assert_same_outcome(ref, fast)


@ARRAYS
@given(scenario=array_scenarios())
def test_rust_array_runs_match_the_reference_strategy_on_the_rust_engine(scenario: Any) -> None:
    bars, settings, spec = scenario
    describe(bars, settings, spec)
    job = make_job(spec, bars)
    engine = Engine("rust", **settings)
    native = outcome(lambda: run_job(engine, bars, job))
    strategy = outcome(lambda: engine.run(bars, job.checked(bars, engine.config).strategy(bars)))
    assert_same_outcome(strategy, native)


@st.composite
def cn_a_array_scenarios(draw: Any) -> tuple[Bars, dict[str, Any], dict[str, Any]]:
    """(bars, engine settings, job spec) on the A-share market (`strategies.cn_a_scenarios`)."""
    bars, settings, _ = draw(cn_a_scenarios(max_bars=80))
    config = EngineConfig.build(**settings)
    return bars, settings, draw(st.one_of(signal_specs(config), target_specs(config)))


@ARRAYS
@given(scenario=cn_a_array_scenarios())
def test_rust_array_runs_match_the_reference_on_the_a_share_market(scenario: Any) -> None:
    assert_rust_matches_reference(scenario)
