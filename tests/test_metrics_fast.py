"""Equivalence of `quanta_fast.metrics` (Rust) with `quanta_ref.metrics` (the specification).

The contract allows 1e-12 relative, but the Rust code follows the reference's order of
floating-point operations exactly, and on every run so far (the ``ci`` profile and the
10_000-example ``deep`` profile, on x86-64 Linux, where Rust's `powf` and Python's `math.pow`
are the same glibc `pow`) every statistic was bit-identical. So these tests assert exact
equality: same float, same sign of zero, NaN where the reference has NaN. Bad input must raise
the same exception class with the same message.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanta_ref import metrics as ref
from strategies import NS_DAY, NS_MINUTE, STARTS

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

try:
    from quanta_fast import _quanta_fast
    from quanta_fast import metrics as fast
except ImportError as exc:  # the extension is not built
    MISSING: str | None = f"Rust extension not built: {exc}"
else:
    MISSING = (
        None
        if hasattr(_quanta_fast, "compute_stats")
        and hasattr(_quanta_fast, "infer_periods_per_year")
        else "the Rust extension was built without the metrics functions"
    )


@pytest.fixture(autouse=True)
def _native_metrics() -> None:
    """Skip locally when the native metrics are missing; in CI that is a broken build."""
    if MISSING is not None:
        if IN_CI:
            pytest.fail(MISSING)
        pytest.skip(MISSING)


# ------------------------------------------------------------------------------ helpers
def same_float(actual: float, expected: float) -> bool:
    """Bit-level agreement up to the NaN payload: equal with the same sign, or both NaN."""
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    return actual == expected and math.copysign(1.0, actual) == math.copysign(1.0, expected)


def assert_same_stats(actual: dict[str, float], expected: dict[str, float]) -> None:
    assert tuple(actual) == ref.STAT_KEYS
    assert all(type(v) is float for v in actual.values())
    differing = {
        k: (actual[k], expected[k]) for k in ref.STAT_KEYS if not same_float(actual[k], expected[k])
    }
    assert not differing, f"(rust, python) differ: {differing}"


def outcome(function: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """("ok", result) or (exception class, message) of a call."""
    try:
        return "ok", function(*args, **kwargs)
    except Exception as exc:  # any class: compared between the backends
        return type(exc), str(exc)


# ------------------------------------------------------------------------------ strategies
@st.composite
def timestamp_arrays(draw: Any, n: int) -> np.ndarray:
    """`n` strictly ascending int64 ns timestamps: business days, calendar days, minute bars
    over several sessions, or arbitrary steps; starting in 2024, just before 1970 or at a
    leap day."""
    start = draw(st.sampled_from(STARTS)) + draw(st.sampled_from([0, 15 * 60 * 10**9, -1]))
    kind = draw(st.sampled_from(["business", "calendar", "minutes", "steps"]))
    if kind == "business":
        days = np.arange(n * 2 + 7)
        weekday = (start // NS_DAY + days + 3) % 7
        return start + days[weekday < 5][:n] * NS_DAY
    if kind == "calendar":
        return start + np.arange(n, dtype=np.int64) * NS_DAY
    if kind == "minutes":
        step = draw(st.sampled_from([1, 5, 60])) * NS_MINUTE
        per_session = min(draw(st.integers(1, 400)), (NS_DAY - 1) // step)  # within a day
        skip_weekends = draw(st.booleans())
        out: list[int] = []
        day = start
        while len(out) < n:
            if not (skip_weekends and (day // NS_DAY + 3) % 7 >= 5):
                out.extend(day + i * step for i in range(min(per_session, n - len(out))))
            day += NS_DAY
        return np.array(out, dtype=np.int64)
    # arbitrary steps around the thresholds of the inference (1, 5, 28, 85, 360 days)
    step = st.one_of(
        st.integers(1, 10**12),
        st.sampled_from([d * NS_DAY + e for d in (1, 5, 28, 85, 360) for e in (-1, 0, 1)]),
        st.integers(1, 400).map(lambda d: d * NS_DAY),
    )
    if draw(st.booleans()):  # one spacing throughout: every frequency class is reached
        steps = [draw(step)] * max(n - 1, 0)
    else:
        steps = draw(st.lists(step, min_size=max(n - 1, 0), max_size=max(n - 1, 0)))
    shrink = sum(steps) // 2**62 + 1  # stay inside int64 (STARTS are below 2**61)
    offsets = np.cumsum([0] + [max(s // shrink, 1) for s in steps], dtype=np.int64)
    return start + offsets


finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def equity_curves(draw: Any) -> np.ndarray:
    """A finite curve: a random walk (possibly ruined, possibly flat) or arbitrary floats
    (negative, zero, huge, subnormal)."""
    n = draw(st.integers(1, 300))
    kind = draw(st.sampled_from(["walk", "flat", "raw"]))
    if kind == "raw":  # all positive (no ruin) half of the time
        element = draw(st.sampled_from([finite, st.floats(min_value=5e-324, max_value=1.7e308)]))
        values = draw(st.lists(element, min_size=n, max_size=n))
        return np.array(values, dtype=np.float64)
    level = draw(st.sampled_from([1e-3, 1.0, 100.0, 1e6, 1e150]))
    if kind == "flat":
        curve = np.full(n, level)
    else:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        sigma = draw(st.sampled_from([0.001, 0.02, 0.2]))
        curve = level * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    if draw(st.booleans()):  # ruin: a non-positive bar, then anything
        k = draw(st.integers(0, n - 1))
        curve[k] = draw(st.sampled_from([0.0, -0.0, -1.0, -level]))
        if draw(st.booleans()):
            curve[k + 1 :] = np.abs(curve[k + 1 :])
    return curve


positive = st.one_of(
    st.sampled_from([1.0, 100.0, 1e4, 1e6]), st.floats(min_value=5e-324, max_value=1.7e308)
)


@st.composite
def stats_inputs(draw: Any) -> dict[str, Any]:
    equity = draw(equity_curves())
    n = equity.size
    return {
        "timestamps": draw(timestamp_arrays(n)),
        "equity": equity,
        "initial_cash": draw(positive),
        "trade_pnls": draw(
            st.lists(st.one_of(finite, st.sampled_from([0.0, -0.0, 1.0, -1.0])), max_size=30)
        ),
        "traded_value": draw(st.one_of(st.just(0.0), st.floats(0.0, 1.7e308))),
        "bars_in_market": draw(st.integers(0, n)),
        "periods_per_year": draw(
            st.one_of(st.none(), st.sampled_from([252.0, 365.0, 98_280.0]), positive)
        ),
    }


def call(module: Any, inputs: dict[str, Any]) -> Any:
    args = dict(inputs)
    return module.compute_stats(
        args.pop("timestamps"), args.pop("equity"), args.pop("initial_cash"), **args
    )


# ------------------------------------------------------------------------------ equivalence
@given(stats_inputs())
def test_compute_stats_is_bit_identical_to_the_reference(inputs):
    assert_same_stats(call(fast, inputs), call(ref, inputs))


@given(st.integers(0, 400).flatmap(timestamp_arrays))
def test_infer_periods_per_year_is_identical_to_the_reference(timestamps):
    expected = ref.infer_periods_per_year(timestamps)
    actual = fast.infer_periods_per_year(timestamps)
    assert type(actual) is float
    assert actual == expected


@pytest.mark.parametrize(
    "equity, initial_cash",
    [
        ([100.0] * 5, 100.0),  # flat
        ([105.0], 100.0),  # one bar
        ([90.0, -10.0, 5.0, 20.0], 100.0),  # ruin, then recovery ignored
        ([0.0], 100.0),  # ruin on the first bar
        ([-50.0, -60.0], 100.0),  # negative average equity
        ([0.5, 1e12], 1.0),  # overflowing cagr
        ([1e308, 1.7e308, 1e300], 1e-300),  # returns overflow to inf
        ([100.0, 200.0, 400.0], 50.0),  # constant return: std exactly 0
    ],
)
def test_edge_curves_are_identical(equity, initial_cash):
    inputs = {
        "timestamps": STARTS[1] + np.arange(len(equity), dtype=np.int64) * NS_DAY,
        "equity": np.array(equity),
        "initial_cash": initial_cash,
        "trade_pnls": [3.0, 0.0, -1.5],
        "traded_value": 105.0,
        "bars_in_market": 1,
        "periods_per_year": 98_280.0 if equity[-1] == 1e12 else None,
    }
    assert_same_stats(call(fast, inputs), call(ref, inputs))


def test_accepts_datetime64_lists_and_non_contiguous_equity():
    ts = np.arange("2024-01-01", "2024-01-21", dtype="datetime64[D]")
    equity = np.linspace(100.0, 120.0, 40)[::2]
    kwargs = {
        "trade_pnls": (1, -2.5, np.float32(0.5)),
        "traded_value": 7,
        "bars_in_market": np.int64(3),
    }
    assert_same_stats(
        fast.compute_stats(ts, equity, 100, **kwargs), ref.compute_stats(ts, equity, 100, **kwargs)
    )
    assert fast.infer_periods_per_year(list(ts)) == ref.infer_periods_per_year(list(ts))


# ------------------------------------------------------------------------------ bad input
#: Ways to break one input, applied on top of a valid one; several at once test that the
#: first failing check (in the reference's order) decides the error.
CORRUPTIONS: dict[str, Any] = {
    "equity_2d": ("equity", lambda v: np.asarray(v).reshape(1, -1)),
    "equity_empty": ("equity", lambda v: np.array([])),
    "equity_short": ("equity", lambda v: np.asarray(v)[:-1] if len(v) > 1 else [1.0, 2.0]),
    "equity_nan": ("equity", lambda v: np.concatenate((v[:-1], [math.nan]))),
    "equity_inf": ("equity", lambda v: np.concatenate(([-math.inf], v[1:]))),
    "equity_text": ("equity", lambda v: ["a"] * len(v)),
    "timestamps_unsorted": ("timestamps", lambda t: t[::-1] if len(t) > 1 else t - t),
    "timestamps_2d": ("timestamps", lambda t: np.asarray(t).reshape(1, -1)),
    "timestamps_float": ("timestamps", lambda t: np.asarray(t, dtype=np.float64)),
    "timestamps_nat": ("timestamps", lambda t: np.full(len(t), np.datetime64("NaT", "ns"))),
    "timestamps_bad_text": ("timestamps", lambda t: ["20200102"] * len(t)),
    "cash_zero": ("initial_cash", lambda c: 0.0),
    "cash_negative": ("initial_cash", lambda c: -c),
    "cash_nan": ("initial_cash", lambda c: math.nan),
    "cash_inf": ("initial_cash", lambda c: math.inf),
    "cash_text": ("initial_cash", lambda c: "cash"),
    "cash_none": ("initial_cash", lambda c: None),
    "ppy_zero": ("periods_per_year", lambda p: 0.0),
    "ppy_nan": ("periods_per_year", lambda p: math.nan),
    "ppy_text": ("periods_per_year", lambda p: "daily"),
    "pnl_nan": ("trade_pnls", lambda p: [*p, math.nan]),
    "pnl_inf": ("trade_pnls", lambda p: [-math.inf, *p]),
    "pnl_text": ("trade_pnls", lambda p: [*p, "x"]),
    "pnl_none": ("trade_pnls", lambda p: [None, *p]),
    "traded_negative": ("traded_value", lambda v: -1.0),
    "traded_nan": ("traded_value", lambda v: math.nan),
    "traded_text": ("traded_value", lambda v: "lots"),
    "in_market_negative": ("bars_in_market", lambda b: -1),
    "in_market_too_many": ("bars_in_market", lambda b: 10**6),
    "in_market_float": ("bars_in_market", lambda b: 1.0),
    "in_market_text": ("bars_in_market", lambda b: "3"),
}


@given(
    stats_inputs(),
    st.lists(
        st.sampled_from(sorted(CORRUPTIONS)),
        min_size=1,
        max_size=3,
        unique_by=lambda name: CORRUPTIONS[name][0],
    ),
)
def test_bad_input_raises_the_same_error_as_the_reference(inputs, corruptions):
    for name in corruptions:
        key, corrupt = CORRUPTIONS[name]
        inputs[key] = corrupt(inputs[key])
    expected = outcome(call, ref, inputs)
    actual = outcome(call, fast, inputs)
    if expected[0] == "ok":  # a corruption that happens to be harmless, e.g. on one bar
        assert actual[0] == "ok"
        assert_same_stats(actual[1], expected[1])
    else:
        assert actual == expected


@pytest.mark.parametrize(
    "timestamps",
    [
        [3, 2, 1],
        [[1, 2], [3, 4]],
        [1.5, 2.5],
        ["2020-01-02", "nonsense"],
        ["20200102", "20200103"],
    ],
)
def test_bad_timestamps_for_inference_raise_the_same_error(timestamps):
    expected = outcome(ref.infer_periods_per_year, timestamps)
    assert expected[0] != "ok"
    assert outcome(fast.infer_periods_per_year, timestamps) == expected
