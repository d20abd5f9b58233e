"""quanta_fast.indicators against quanta_ref.indicators: the same bits and the same errors.

Every batch function and streaming class of the Rust backend is run next to its reference on
random series (NaN and infinite gaps, constant runs, huge, tiny and subnormal magnitudes,
signed zeros) and must return identical float64 bit patterns (NaN only where the reference
has NaN; NaN payloads are not compared). Bad settings and bad input must raise the same
exception class with the same message. The number of examples comes from the hypothesis
profile loaded by tests/strategies.py (``QUANTA_HYPOTHESIS_PROFILE``).

Locally the module skips when the extension is missing or was built without the indicators;
in CI that is a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies  # noqa: F401  (registers and loads the hypothesis profile)
from conftest import IN_CI
from quanta_ref import indicators as ref
from quanta_ref.errors import ConfigError

try:
    from quanta_fast import indicators as fast
except ImportError as exc:  # no extension, or one built before the indicators
    if IN_CI:
        pytest.fail(f"quanta_fast.indicators does not import in CI: {exc}", pytrace=False)
    pytest.skip(f"quanta_fast.indicators not available: {exc}", allow_module_level=True)

NAN = float("nan")
INF = float("inf")

# name -> smallest valid period, for the single-output indicators (batch name; class name)
SINGLE = {
    ("sma", "SMA"): 1,
    ("ema", "EMA"): 1,
    ("wma", "WMA"): 1,
    ("rsi", "RSI"): 2,
    ("rolling_std", "RollingStd"): 2,
    ("highest", "Highest"): 1,
    ("lowest", "Lowest"): 1,
    ("roc", "ROC"): 1,
}
SINGLE_IDS = [batch for batch, _ in SINGLE]


# ---------------------------------------------------------------------------- comparison
def assert_same_bits(ours: Any, theirs: Any) -> None:
    """Same dtype, shape, NaN positions and, elsewhere, the same bit patterns (so a -0.0
    against a 0.0 fails)."""
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
    if a.dtype == np.bool_:
        assert np.array_equal(a, b)
        return
    assert np.array_equal(a, b, equal_nan=True), (a, b)
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    assert np.array_equal(nan_a, nan_b)
    bits_a = np.where(nan_a, 0.0, a).view(np.int64)
    bits_b = np.where(nan_b, 0.0, b).view(np.int64)
    assert np.array_equal(bits_a, bits_b), (a, b)


def assert_same_float(ours: float, theirs: float) -> None:
    assert type(ours) is type(theirs) is float
    assert_same_bits(np.float64(ours), np.float64(theirs))


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", result) or ("raised", (exception class, message)), to compare two backends."""
    try:
        return "ok", call()
    except Exception as exc:  # noqa: BLE001  the class and the message are what is compared
        return "raised", (type(exc), str(exc))


def assert_same_outcome(ours: Callable[[], Any], theirs: Callable[[], Any]) -> None:
    kind_a, a = outcome(ours)
    kind_b, b = outcome(theirs)
    assert kind_a == kind_b, (a, b)
    if kind_a == "raised":
        assert a == b
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_bits(x, y)
    else:
        assert_same_bits(a, b)


# ---------------------------------------------------------------------------- strategies
SPECIAL = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    100.0,
    NAN,
    INF,
    -INF,
    1e308,
    -1e308,
    1.7976931348623157e308,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1e-300,
    1e300,
]

SIGNED_ZEROS = [0.0, -0.0, 0.0, -0.0, 1.0, -1.0]

elements = st.one_of(
    st.floats(min_value=1e-3, max_value=1e6),  # price-like
    st.floats(min_value=-1e3, max_value=1e3),  # oscillator-like, crosses zero
    st.floats(),  # anything: NaN, inf, huge, subnormal
    st.sampled_from(SPECIAL),
    st.integers(-3, 3).map(float),  # small ints: ties and exact zeros
)


@st.composite
def series(draw: Any, max_size: int = 60) -> np.ndarray:
    """A float64 array made of segments: random values, a constant run, or a run of zeros of
    either sign and +-1."""
    out: list[float] = []
    while len(out) < max_size and draw(st.integers(0, 3)) > 0:
        kind = draw(st.sampled_from(["random", "random", "constant", "signed zeros"]))
        if kind == "random":
            out.extend(draw(st.lists(elements, max_size=20)))
        elif kind == "constant":
            out.extend([draw(elements)] * draw(st.integers(1, 12)))
        else:  # where only the sign of a zero tells two results apart
            out.extend(draw(st.lists(st.sampled_from(SIGNED_ZEROS), max_size=12)))
    return np.array(out[:max_size], dtype=np.float64)


def periods(minimum: int) -> st.SearchStrategy[int]:
    """Mostly short periods (the window fills), sometimes longer than any series."""
    return st.one_of(st.integers(minimum, minimum + 8), st.integers(minimum, 100))


@st.composite
def hlc(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three arrays of one length: either consistent bars with gaps, or arbitrary floats."""
    n = draw(st.integers(0, 50))
    same_length = st.lists(elements, min_size=n, max_size=n)
    if draw(st.booleans()):
        return tuple(np.array(draw(same_length), dtype=np.float64) for _ in range(3))
    close = np.array(draw(st.lists(st.floats(1.0, 1e4), min_size=n, max_size=n)))
    up = np.array(draw(st.lists(st.floats(0.0, 50.0), min_size=n, max_size=n)))
    down = np.array(draw(st.lists(st.floats(0.0, 0.9), min_size=n, max_size=n)))
    high, low = close + up, close * (1.0 - down)
    for arr in (high, low, close):
        gaps = draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=3)) if n else []
        arr[gaps] = NAN
    return high, low, close


# --------------------------------------------------------------------- single-output batch
@pytest.mark.parametrize(("names", "minimum"), list(SINGLE.items()), ids=SINGLE_IDS)
@given(data=st.data())
def test_single_output_batch_is_bit_identical_to_reference(names, minimum, data):
    batch, _ = names
    values = data.draw(series(), label="values")
    period = data.draw(periods(minimum), label="period")
    ours = getattr(fast, batch)(values, period)
    assert_same_bits(ours, getattr(ref, batch)(values, period))


@pytest.mark.parametrize(("names", "minimum"), list(SINGLE.items()), ids=SINGLE_IDS)
@given(data=st.data())
def test_single_output_streaming_is_bit_identical_to_reference_and_to_batch(names, minimum, data):
    batch, cls = names
    values = data.draw(series(), label="values")
    period = data.draw(periods(minimum), label="period")
    reset_at = data.draw(st.integers(-1, len(values)), label="reset_at")
    ours, theirs = getattr(fast, cls)(period), getattr(ref, cls)(period)
    out = []
    for i, x in enumerate(values.tolist()):
        if i == reset_at:
            ours.reset()
            theirs.reset()
        a, b = ours.update(x), theirs.update(x)
        assert_same_float(a, b)
        assert_same_float(ours.value, theirs.value)
        out.append(a)
    assert ours.period == theirs.period == period
    if reset_at < 0 or reset_at >= len(values):
        assert_same_bits(np.array(out, dtype=np.float64), getattr(fast, batch)(values, period))


# ------------------------------------------------------------------ MACD, Bollinger, ATR
@given(
    values=series(), fast_period=st.integers(1, 8), gap=st.integers(1, 8), signal=st.integers(1, 8)
)
def test_macd_batch_and_streaming_are_bit_identical_to_reference(values, fast_period, gap, signal):
    slow = fast_period + gap
    ours = fast.macd(values, fast_period, slow, signal)
    assert_same_outcome(lambda: ours, lambda: ref.macd(values, fast_period, slow, signal))
    ind, ref_ind = fast.MACD(fast_period, slow, signal), ref.MACD(fast_period, slow, signal)
    streamed = []
    for x in values.tolist():
        a, b = ind.update(x), ref_ind.update(x)
        assert_same_bits(np.array(a), np.array(b))
        assert_same_bits(np.array(ind.value), np.array(ref_ind.value))
        for attr in ("macd", "signal_line", "hist"):
            assert_same_float(getattr(ind, attr), getattr(ref_ind, attr))
        streamed.append(a)
    assert (ind.fast, ind.slow, ind.signal) == (ref_ind.fast, ref_ind.slow, ref_ind.signal)
    columns = np.array(streamed, dtype=np.float64).reshape(-1, 3)
    for k in range(3):
        assert_same_bits(ours[k], columns[:, k])


num_stds = st.one_of(st.floats(0.0, 10.0), st.sampled_from([0.0, 1.0, 2.0, 1e300, 5e-324]))


@given(values=series(), period=periods(2), num_std=num_stds)
def test_bollinger_batch_and_streaming_are_bit_identical_to_reference(values, period, num_std):
    ours = fast.bollinger_bands(values, period, num_std)
    assert_same_outcome(lambda: ours, lambda: ref.bollinger_bands(values, period, num_std))
    ind, ref_ind = fast.BollingerBands(period, num_std), ref.BollingerBands(period, num_std)
    streamed = []
    for x in values.tolist():
        a, b = ind.update(x), ref_ind.update(x)
        assert_same_bits(np.array(a), np.array(b))
        streamed.append(a)
    assert_same_bits(np.array(ind.value), np.array(ref_ind.value))
    assert (ind.period, ind.num_std) == (ref_ind.period, ref_ind.num_std)
    columns = np.array(streamed, dtype=np.float64).reshape(-1, 3)
    for k in range(3):
        assert_same_bits(ours[k], columns[:, k])


@given(bars=hlc(), period=periods(1))
def test_atr_batch_and_streaming_are_bit_identical_to_reference(bars, period):
    high, low, close = bars
    ours = fast.atr(high, low, close, period)
    assert_same_bits(ours, ref.atr(high, low, close, period))
    ind, ref_ind = fast.ATR(period), ref.ATR(period)
    streamed = []
    for h, lo, c in zip(high.tolist(), low.tolist(), close.tolist(), strict=True):
        a, b = ind.update(h, lo, c), ref_ind.update(h, lo, c)
        assert_same_float(a, b)
        streamed.append(a)
    assert_same_float(ind.value, ref_ind.value)
    assert_same_bits(ours, np.array(streamed, dtype=np.float64))


def test_ema_smoothing_factor_is_the_reference_one():
    for period in (1, 2, 3, 7, 14, 26, 200, 10**6, ref.MAX_PERIOD):
        assert_same_float(fast.EMA(period).k, ref.EMA(period).k)


# ---------------------------------------------------------------------------- crossings
cross_values = st.one_of(
    st.integers(-2, 2).map(float), st.sampled_from([NAN, INF, -INF, -0.0]), st.floats()
)


@given(args=st.tuples(cross_values, cross_values, cross_values, cross_values))
def test_cross_is_identical_to_reference(args):
    ours, theirs = fast.cross(*args), ref.cross(*args)
    assert type(ours) is type(theirs) is int
    assert ours == theirs


@given(fast_values=series(), slow=st.one_of(series(), cross_values), swap=st.booleans())
def test_crossed_above_and_below_are_identical_to_reference(fast_values, slow, swap):
    # Equal lengths most of the time (so there is something to compare), a scalar threshold
    # on either side, or different lengths (the same DataError).
    if isinstance(slow, np.ndarray) and len(slow) > len(fast_values) and len(fast_values) > 0:
        slow = slow[: len(fast_values)]
    a, b = (slow, fast_values) if swap else (fast_values, slow)
    for name in ("crossed_above", "crossed_below"):
        assert_same_outcome(lambda: getattr(fast, name)(a, b), lambda: getattr(ref, name)(a, b))


# -------------------------------------------------------------------------------- panels
@st.composite
def panels(draw: Any, max_rows: int = 40, max_columns: int = 9) -> np.ndarray:
    """A C-contiguous (T, N) panel whose columns are `series` (repeated to length T): random
    values, constant runs, gaps, signed zeros, so neighbouring lanes are in different states
    (warming up, full, just reset). Up to 9 columns: the packed loop (2 lanes, unrolled
    twice) and its scalar remainder both run."""
    t, n = draw(st.integers(0, max_rows)), draw(st.integers(0, max_columns))
    columns = []
    for _ in range(n):
        column = draw(series(max_size=t))
        columns.append(np.resize(column, t) if len(column) else np.full(t, draw(elements)))
    return np.ascontiguousarray(np.array(columns, dtype=np.float64).reshape(n, t).T)


def assert_columns_are_series(
    ours: np.ndarray, series_fn: Callable[[np.ndarray], Any], panel: np.ndarray
) -> None:
    """Column n of a panel result equals the 1-D result on column n, bit for bit."""
    assert ours.shape == panel.shape
    for n in range(panel.shape[1]):
        assert_same_bits(ours[:, n], series_fn(np.ascontiguousarray(panel[:, n])))


@pytest.mark.parametrize(("names", "minimum"), list(SINGLE.items()), ids=SINGLE_IDS)
@given(data=st.data())
def test_single_output_panel_is_bit_identical_to_reference_and_to_its_columns(names, minimum, data):
    batch, _ = names
    panel = data.draw(panels(), label="panel")
    period = data.draw(periods(minimum), label="period")
    ours = getattr(fast, batch)(panel, period)
    assert_same_bits(ours, getattr(ref, batch)(panel, period))
    assert_columns_are_series(ours, lambda v: getattr(fast, batch)(v, period), panel)


@given(
    panel=panels(),
    fast_period=st.integers(1, 6),
    gap=st.integers(1, 6),
    signal=st.integers(1, 6),
    period=periods(2),
    num_std=num_stds,
)
def test_macd_and_bollinger_panels_are_bit_identical_to_reference_and_to_their_columns(
    panel, fast_period, gap, signal, period, num_std
):
    slow = fast_period + gap
    ours = fast.macd(panel, fast_period, slow, signal)
    assert_same_outcome(lambda: ours, lambda: ref.macd(panel, fast_period, slow, signal))
    bands = fast.bollinger_bands(panel, period, num_std)
    assert_same_outcome(lambda: bands, lambda: ref.bollinger_bands(panel, period, num_std))
    for k in range(3):
        assert_columns_are_series(
            ours[k], lambda v: fast.macd(v, fast_period, slow, signal)[k], panel
        )
        assert_columns_are_series(
            bands[k], lambda v: fast.bollinger_bands(v, period, num_std)[k], panel
        )


@given(panel=panels(), period=periods(1))
def test_atr_panel_is_bit_identical_to_reference_and_to_its_columns(panel, period):
    high, low = panel + 1.0, panel - 1.0
    ours = fast.atr(high, low, panel, period)
    assert_same_bits(ours, ref.atr(high, low, panel, period))
    for n in range(panel.shape[1]):
        assert_same_bits(ours[:, n], fast.atr(high[:, n], low[:, n], panel[:, n], period))


@given(fast_panel=panels(), slow=st.one_of(panels(), cross_values), data=st.data())
def test_crossing_panels_are_identical_to_reference_and_to_their_columns(fast_panel, slow, data):
    if isinstance(slow, np.ndarray) and data.draw(st.booleans(), label="same shape"):
        slow = np.resize(slow, fast_panel.shape) if slow.size else np.zeros(fast_panel.shape)
    for name in ("crossed_above", "crossed_below"):
        ours = getattr(fast, name)
        assert_same_outcome(
            lambda: ours(fast_panel, slow), lambda: getattr(ref, name)(fast_panel, slow)
        )
        if not isinstance(slow, np.ndarray) or slow.shape == fast_panel.shape:
            out = ours(fast_panel, slow)
            column = (
                (lambda n: slow)
                if not isinstance(slow, np.ndarray)
                else (lambda n: np.ascontiguousarray(slow[:, n]))
            )
            for n in range(fast_panel.shape[1]):
                assert_same_bits(out[:, n], ours(np.ascontiguousarray(fast_panel[:, n]), column(n)))


@pytest.mark.parametrize("period", [1, 2, 10, 30, 499, 500, 501])
def test_wide_panels_with_gaps_equal_their_columns(period):
    # Many lanes in every state at once: a 500 x 37 random walk with gaps, a constant column,
    # and a column that is never finite.
    rng = np.random.default_rng(period)
    panel = 100.0 + np.cumsum(rng.normal(size=(500, 37)), axis=0)
    panel[rng.random(panel.shape) < 0.01] = NAN
    panel[rng.random(panel.shape) < 0.002] = INF
    panel[:, 5] = 7.0
    panel[:, 6] = NAN
    for name in ("sma", "ema", "rsi", "highest"):
        if name == "rsi" and period == 1:
            continue
        fn = getattr(fast, name)
        assert_columns_are_series(fn(panel, period), lambda v, fn=fn: fn(v, period), panel)
    other = panel[::-1].copy()
    for fn in (fast.crossed_above, fast.crossed_below):
        out = fn(panel, other)
        for n in range(panel.shape[1]):
            assert_same_bits(out[:, n], fn(panel[:, n].copy(), other[:, n].copy()))


# ---------------------------------------------------------------------------- bad input
BAD_PERIODS = [
    0,
    -3,
    1,
    2.5,
    14.0,
    "14",
    None,
    True,
    False,
    np.int64(0),
    np.float64(3.0),
    2**70 * -1,
    [3],
    float("nan"),
]

SETTINGS_CALLS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("SMA", lambda m, p: m.SMA(p)),
    ("sma", lambda m, p: m.sma([1.0, 2.0], p)),
    ("EMA", lambda m, p: m.EMA(p)),
    ("ema", lambda m, p: m.ema([1.0, 2.0], p)),
    ("WMA", lambda m, p: m.WMA(p)),
    ("wma", lambda m, p: m.wma([1.0, 2.0], p)),
    ("RSI", lambda m, p: m.RSI(p)),
    ("rsi", lambda m, p: m.rsi([1.0, 2.0], p)),
    ("RollingStd", lambda m, p: m.RollingStd(p)),
    ("rolling_std", lambda m, p: m.rolling_std([1.0, 2.0], p)),
    ("BollingerBands", lambda m, p: m.BollingerBands(p)),
    ("bollinger_bands", lambda m, p: m.bollinger_bands([1.0, 2.0], p)),
    ("BollingerBands.num_std", lambda m, p: m.BollingerBands(20, p)),
    ("bollinger_bands.num_std", lambda m, p: m.bollinger_bands([1.0], num_std=p)),
    ("ATR", lambda m, p: m.ATR(p)),
    ("atr", lambda m, p: m.atr([2.0], [1.0], [1.5], p)),
    ("Highest", lambda m, p: m.Highest(p)),
    ("highest", lambda m, p: m.highest([1.0, 2.0], p)),
    ("Lowest", lambda m, p: m.Lowest(p)),
    ("lowest", lambda m, p: m.lowest([1.0, 2.0], p)),
    ("ROC", lambda m, p: m.ROC(p)),
    ("roc", lambda m, p: m.roc([1.0, 2.0], p)),
    ("MACD.fast", lambda m, p: m.MACD(fast=p)),
    ("MACD.slow", lambda m, p: m.MACD(fast=1, slow=p)),
    ("MACD.signal", lambda m, p: m.MACD(signal=p)),
    ("MACD.fast_vs_slow", lambda m, p: m.MACD(fast=p, slow=3)),
    ("macd.fast", lambda m, p: m.macd([1.0, 2.0], fast=p)),
    ("macd.slow", lambda m, p: m.macd([1.0, 2.0], slow=p)),
    ("macd.signal", lambda m, p: m.macd([1.0, 2.0], signal=p)),
]


def _value_of(result: Any) -> Any:
    """A comparable view of a successful call: arrays as they are, objects by their outputs."""
    if isinstance(result, (np.ndarray, tuple)):
        return result
    return np.array(result.value, dtype=np.float64)


@pytest.mark.parametrize(("label", "call"), SETTINGS_CALLS, ids=[c[0] for c in SETTINGS_CALLS])
@pytest.mark.parametrize("bad", BAD_PERIODS, ids=repr)
def test_bad_settings_raise_the_reference_error_and_message(label, call, bad):
    assert_same_outcome(lambda: _value_of(call(fast, bad)), lambda: _value_of(call(ref, bad)))


@pytest.mark.parametrize(("label", "call"), SETTINGS_CALLS, ids=[c[0] for c in SETTINGS_CALLS])
@given(
    bad=st.one_of(
        st.integers(-(10**20), 30), st.floats(), st.booleans(), st.none(), st.text(max_size=3)
    )
)
def test_random_settings_raise_the_reference_error_and_message(label, call, bad):
    assert_same_outcome(lambda: _value_of(call(fast, bad)), lambda: _value_of(call(ref, bad)))


BAD_SERIES = [
    [[1.0, 2.0], [3.0, 4.0]],
    5.0,
    "abc",
    ["1", "x"],
    [1 + 2j],
    np.array([1, 2, 3], dtype=np.int64),
    np.arange(10.0)[::3],  # not contiguous: converted, not refused
    np.array([1.0, 2.0, 3.0], dtype=">f8"),  # big-endian: converted
    [10**400],
    [],
    (1.0, NAN, 3.0),
    np.ones((3, 2)),  # a panel: computed, not refused
    np.ones((2, 3)).T,  # a Fortran-ordered panel: converted
    np.arange(12.0).reshape(3, 4)[:, ::2],  # a strided panel: converted
    np.ones((3, 2), dtype=np.int64),
    [[1.0, "x"], [2.0, 3.0]],
    np.ones((0, 2)),
    np.ones((3, 0)),
    np.ones((2, 2, 2)),
    [[[1.0]]],
]

DATA_CALLS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("sma", lambda m, v: m.sma(v, 2)),
    ("ema", lambda m, v: m.ema(v, 2)),
    ("wma", lambda m, v: m.wma(v, 2)),
    ("rsi", lambda m, v: m.rsi(v, 2)),
    ("rolling_std", lambda m, v: m.rolling_std(v, 2)),
    ("highest", lambda m, v: m.highest(v, 2)),
    ("lowest", lambda m, v: m.lowest(v, 2)),
    ("roc", lambda m, v: m.roc(v, 1)),
    ("macd", lambda m, v: m.macd(v, 1, 2, 1)),
    ("bollinger_bands", lambda m, v: m.bollinger_bands(v, 2)),
    ("atr.high", lambda m, v: m.atr(v, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 1)),
    ("atr.close", lambda m, v: m.atr([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], v, 1)),
    ("crossed_above", lambda m, v: m.crossed_above(v, [1.0, 2.0, 3.0])),
    ("crossed_below.scalar", lambda m, v: m.crossed_below(v, 2.0)),
    ("crossed_below.slow", lambda m, v: m.crossed_below(2.0, v)),
    ("crossed_above.panel", lambda m, v: m.crossed_above(v, np.ones((3, 2)))),
    ("atr.panel", lambda m, v: m.atr(np.ones((3, 2)), np.ones((3, 2)), v, 1)),
]


@pytest.mark.parametrize(("label", "call"), DATA_CALLS, ids=[c[0] for c in DATA_CALLS])
@pytest.mark.parametrize("values", BAD_SERIES, ids=repr)
def test_odd_input_gives_the_reference_result_or_error(label, call, values):
    with np.errstate(all="ignore"):
        assert_same_outcome(lambda: call(fast, values), lambda: call(ref, values))


def test_both_errors_at_once_report_the_setting_first_like_the_reference():
    assert_same_outcome(lambda: fast.sma([[1.0]], 0), lambda: ref.sma([[1.0]], 0))
    assert_same_outcome(
        lambda: fast.atr([1.0], [1.0, 2.0], [1.0], 0), lambda: ref.atr([1.0], [1.0, 2.0], [1.0], 0)
    )


class _Floaty:
    def __float__(self) -> float:
        return 2.5


class _FloatSubclass(float):
    def __float__(self) -> float:
        return 7.0


UPDATE_ARGS = [
    3,
    True,
    np.float64(2.5),
    np.float32(0.1),
    np.int64(4),
    "1.5",
    " -2e3 ",
    "abc",
    None,
    [1.0],
    10**400,
    _Floaty(),
    _FloatSubclass(1.0),
    1.0 + 0j,
    -0.0,
]


@pytest.mark.parametrize("arg", UPDATE_ARGS, ids=repr)
@pytest.mark.parametrize("cls", ["SMA", "EMA", "RSI", "MACD", "BollingerBands", "ROC"])
def test_update_converts_its_argument_like_float(cls, arg):
    ours, theirs = getattr(fast, cls)(2), getattr(ref, cls)(2)
    for x in (1.0, 2.0):
        ours.update(x)
        theirs.update(x)
    assert_same_outcome(lambda: np.array(ours.update(arg)), lambda: np.array(theirs.update(arg)))
    assert_same_bits(np.array(ours.value), np.array(theirs.value))


@pytest.mark.parametrize("position", range(3))
@pytest.mark.parametrize("arg", ["x", None, "3.5", np.int64(3)], ids=repr)
def test_atr_and_cross_convert_their_arguments_like_float(position, arg):
    prices = [5.0, 4.0, 4.5]
    prices[position] = arg
    ours, theirs = fast.ATR(1), ref.ATR(1)
    ours.update(5.0, 4.0, 4.5)
    theirs.update(5.0, 4.0, 4.5)
    assert_same_outcome(
        lambda: np.array(ours.update(*prices)), lambda: np.array(theirs.update(*prices))
    )
    args = [1.0, 2.0, 3.0, 2.0]
    args[position] = arg
    assert_same_outcome(lambda: np.array(fast.cross(*args)), lambda: np.array(ref.cross(*args)))


# ---------------------------------------------------------------------- the Python surface
def test_public_names_match_the_reference():
    assert sorted(fast.__all__) == sorted(ref.__all__)
    for name in ref.__all__:
        assert hasattr(fast, name), name


def test_streaming_classes_call_straight_into_rust():
    # No Python frame on the per-update path: update/value/reset are the native ones.
    from quanta_fast import _quanta_fast as native

    for cls_name in (
        "SMA",
        "EMA",
        "WMA",
        "RSI",
        "MACD",
        "RollingStd",
        "BollingerBands",
        "ATR",
        "Highest",
        "Lowest",
        "ROC",
    ):
        cls = getattr(fast, cls_name)
        assert cls.update is getattr(native, cls_name).update
        assert not hasattr(cls(3) if cls_name != "MACD" else cls(), "__dict__")


HUGE_PERIODS = [2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 2**70, 2**520, 2**1100]


@pytest.mark.parametrize(("label", "call"), SETTINGS_CALLS, ids=[c[0] for c in SETTINGS_CALLS])
@pytest.mark.parametrize("huge", HUGE_PERIODS, ids=lambda p: f"2**{p.bit_length() - 1}+")
def test_periods_beyond_the_longest_are_the_reference_config_error(label, call, huge):
    message = "must be a finite number" if label.endswith("num_std") and huge > 2**1000 else None
    if not label.endswith("num_std") or message:
        with pytest.raises(ConfigError, match=message or "must be at most 2147483647"):
            call(ref, huge)
    assert_same_outcome(lambda: _value_of(call(fast, huge)), lambda: _value_of(call(ref, huge)))


def test_the_longest_period_gives_all_nan_on_both_backends():
    values = np.array([1.0, 2.0, 3.0])
    for name in ("sma", "ema", "wma", "rsi", "rolling_std", "highest", "lowest", "roc"):
        out = getattr(fast, name)(values, ref.MAX_PERIOD)
        assert np.isnan(out).all(), name
        assert out.tobytes() == getattr(ref, name)(values, ref.MAX_PERIOD).tobytes(), name


def test_huge_macd_periods_give_the_reference_result():
    values = np.array([1.0, 2.0, 3.0])
    for f, s, g in [
        (2**70, 2**70 + 1, 2**70),
        (2**64 - 1, 2**64, 1),
        (2**70 + 1, 2**70, 1),
        (1, 2**1100, 1),
        (2**64, 2**64 - 1, 1),
    ]:
        assert_same_outcome(lambda: fast.macd(values, f, s, g), lambda: ref.macd(values, f, s, g))
        assert_same_outcome(
            lambda: _value_of(fast.MACD(f, s, g)), lambda: _value_of(ref.MACD(f, s, g))
        )
