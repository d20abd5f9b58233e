"""Tests of quanta_ref.indicators: TA-Lib agreement, batch == streaming, NaN rule, tie rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta_ref.errors import ConfigError, DataError
from quanta_ref.indicators import (
    ATR,
    EMA,
    MACD,
    ROC,
    RSI,
    SMA,
    WMA,
    BollingerBands,
    Highest,
    Lowest,
    RollingStd,
    atr,
    bollinger_bands,
    cross,
    crossed_above,
    crossed_below,
    ema,
    highest,
    lowest,
    macd,
    roc,
    rolling_std,
    rsi,
    sma,
    wma,
)

NAN = float("nan")
RTOL = 1e-9

# name -> (batch function, streaming class, smallest valid period)
SINGLE = {
    "sma": (sma, SMA, 1),
    "ema": (ema, EMA, 1),
    "wma": (wma, WMA, 1),
    "rsi": (rsi, RSI, 2),
    "rolling_std": (rolling_std, RollingStd, 2),
    "highest": (highest, Highest, 1),
    "lowest": (lowest, Lowest, 1),
    "roc": (roc, ROC, 1),
}


# ------------------------------------------------------------------------------- fixtures
def _random_walk_ohlc() -> dict[str, np.ndarray]:
    """3000 deterministic daily bars: positive prices, high >= open/close >= low."""
    rng = np.random.default_rng(7)
    n = 3000
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, n)))
    prev = np.concatenate(([100.0], close[:-1]))
    open_ = prev * np.exp(rng.normal(0.0, 0.005, n))
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.01, n)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.01, n)))
    return {"open": open_, "high": high, "low": low, "close": close}


@pytest.fixture(scope="module")
def ohlc() -> dict[str, np.ndarray]:
    """Daily AAPL bars when the sample data ships, else a deterministic random walk."""
    try:
        from quanta_ref.data import load_sample
    except ImportError:
        return _random_walk_ohlc()
    bars = load_sample("AAPL")
    col = bars.symbol_index("AAPL")
    data = {
        f: np.array(getattr(bars, f)[:, col], dtype=np.float64)
        for f in ("open", "high", "low", "close")
    }
    # TA-Lib lets an interior NaN poison everything after it; compare on clean bars only.
    present = ~np.isnan(data["close"])
    return {f: np.ascontiguousarray(a[present]) for f, a in data.items()}


def assert_matches_talib(ours: np.ndarray, theirs: np.ndarray, atol: float = 0.0) -> None:
    """Same warm-up (NaN positions) and the same values to rtol 1e-9."""
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=atol)


def first_defined(arr: np.ndarray) -> int:
    return int(np.argmax(~np.isnan(arr)))


# ------------------------------------------------------------------------- TA-Lib agreement
@pytest.mark.parametrize("period", [2, 5, 20, 200])
def test_sma_matches_talib(ohlc, period):
    close = ohlc["close"]
    assert_matches_talib(sma(close, period), talib.SMA(close, period))


@pytest.mark.parametrize("period", [2, 5, 20, 200])
def test_ema_matches_talib_sma_seeded(ohlc, period):
    close = ohlc["close"]
    assert_matches_talib(ema(close, period), talib.EMA(close, period))


@pytest.mark.parametrize("period", [2, 5, 20, 200])
def test_wma_matches_talib(ohlc, period):
    close = ohlc["close"]
    assert_matches_talib(wma(close, period), talib.WMA(close, period))


@pytest.mark.parametrize("period", [2, 5, 14, 30])
def test_rsi_matches_talib_wilder(ohlc, period):
    close = ohlc["close"]
    assert_matches_talib(rsi(close, period), talib.RSI(close, period))


@pytest.mark.parametrize("period", [1, 5, 14, 30])
def test_atr_matches_talib_wilder(ohlc, period):
    h, lo, c = ohlc["high"], ohlc["low"], ohlc["close"]
    assert_matches_talib(atr(h, lo, c, period), talib.ATR(h, lo, c, period))


def talib_std_atol(close: np.ndarray) -> float:
    """Absolute allowance for TA-Lib's standard deviation.

    TA-Lib computes the variance as E[x^2] - E[x]^2, whose absolute error is about
    eps * price^2; on a window whose deviation is tiny against the price (two nearly equal
    closes) that is far more than 1e-9 relative. Our two-pass value is the accurate one there
    (checked against exact rational arithmetic), so allow 1e-12 of the price scale.
    """
    return 1e-12 * float(np.max(close))


@pytest.mark.parametrize("period", [2, 5, 20, 100])
def test_rolling_std_matches_talib_stddev_population(ohlc, period):
    close = ohlc["close"]
    assert_matches_talib(
        rolling_std(close, period), talib.STDDEV(close, period, 1.0), atol=talib_std_atol(close)
    )


@pytest.mark.parametrize(("period", "num_std"), [(20, 2.0), (10, 1.5), (5, 1.0), (50, 0.0)])
def test_bollinger_bands_match_talib_bbands(ohlc, period, num_std):
    close = ohlc["close"]
    ours = bollinger_bands(close, period, num_std)
    theirs = talib.BBANDS(close, period, num_std, num_std, 0)  # matype 0: simple average
    for a, b in zip(ours, theirs, strict=True):
        assert_matches_talib(a, b, atol=num_std * talib_std_atol(close))


@pytest.mark.parametrize("period", [2, 20, 250])
def test_highest_and_lowest_match_talib_max_min_exactly(ohlc, period):
    close = ohlc["close"]
    # No arithmetic, so no rounding: these must be identical, not just close.
    assert np.array_equal(highest(close, period), talib.MAX(close, period), equal_nan=True)
    assert np.array_equal(lowest(close, period), talib.MIN(close, period), equal_nan=True)


@pytest.mark.parametrize("period", [1, 10, 100])
def test_roc_matches_talib(ohlc, period):
    close = ohlc["close"]
    assert_matches_talib(roc(close, period), talib.ROC(close, period))


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 1)])
def test_macd_matches_talib_where_talib_reports_it(ohlc, fast, slow, signal):
    close = ohlc["close"]
    line, sig, hist = macd(close, fast, slow, signal)
    t_line, t_sig, t_hist = talib.MACD(close, fast, slow, signal)
    start = slow + signal - 2
    # Legitimate difference: TA-Lib computes the MACD line from slow - 1 but reports NaN until
    # the signal line exists; we report it as soon as both EMAs exist.
    assert first_defined(line) == slow - 1
    assert first_defined(t_line) == start
    # Signal and histogram have the same warm-up as TA-Lib's.
    assert first_defined(sig) == first_defined(hist) == first_defined(t_sig) == start
    # The oscillators cross zero, where a relative tolerance means nothing: allow an absolute
    # error far below a price tick (TA-Lib's build fuses some multiply-adds).
    atol = 1e-12 * float(np.max(close))
    for ours, theirs in ((line, t_line), (sig, t_sig), (hist, t_hist)):
        assert_matches_talib(ours[start:], theirs[start:], atol=atol)


# ----------------------------------------------------------------- batch == streaming, exact
positive_values = st.lists(
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False),
    max_size=60,
)


def stream_single(cls, period, values):
    ind = cls(period)
    out = [ind.update(v) for v in values]
    if values:
        # `value` is the latest output, NaN included.
        assert ind.value == out[-1] or (math.isnan(ind.value) and math.isnan(out[-1]))
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("name", sorted(SINGLE))
@settings(max_examples=60, deadline=None)
@given(values=positive_values, period_offset=st.integers(0, 10))
def test_batch_equals_streaming_exactly(name, values, period_offset):
    batch_fn, cls, min_period = SINGLE[name]
    period = min_period + period_offset
    batch = batch_fn(values, period)
    assert batch.shape == (len(values),)
    assert np.array_equal(batch, stream_single(cls, period, values), equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(
    values=positive_values, fast=st.integers(1, 6), gap=st.integers(1, 6), signal=st.integers(1, 6)
)
def test_macd_batch_equals_streaming_exactly(values, fast, gap, signal):
    slow = fast + gap
    batch = macd(values, fast, slow, signal)
    ind = MACD(fast, slow, signal)
    streamed = np.array([ind.update(v) for v in values], dtype=np.float64).reshape(-1, 3)
    for k in range(3):
        assert np.array_equal(batch[k], streamed[:, k], equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(
    values=positive_values,
    period=st.integers(2, 12),
    num_std=st.floats(min_value=0.0, max_value=4.0),
)
def test_bollinger_batch_equals_streaming_exactly(values, period, num_std):
    batch = bollinger_bands(values, period, num_std)
    ind = BollingerBands(period, num_std)
    streamed = np.array([ind.update(v) for v in values], dtype=np.float64).reshape(-1, 3)
    for k in range(3):
        assert np.array_equal(batch[k], streamed[:, k], equal_nan=True)


@st.composite
def bars(draw, min_size=0, max_size=60):
    """Consistent (high, low, close) lists: low <= close <= high, all positive."""
    n = draw(st.integers(min_size, max_size))
    price = st.floats(min_value=1.0, max_value=1e4)
    spread = st.floats(min_value=0.0, max_value=50.0)
    close = draw(st.lists(price, min_size=n, max_size=n))
    up = draw(st.lists(spread, min_size=n, max_size=n))
    down = draw(st.lists(st.floats(min_value=0.0, max_value=0.9), min_size=n, max_size=n))
    high = [c + u for c, u in zip(close, up, strict=True)]
    low = [c * (1.0 - d) for c, d in zip(close, down, strict=True)]
    return high, low, close


@settings(max_examples=60, deadline=None)
@given(hlc=bars(), period=st.integers(1, 12))
def test_atr_batch_equals_streaming_exactly(hlc, period):
    high, low, close = hlc
    batch = atr(high, low, close, period)
    ind = ATR(period)
    streamed = np.array([ind.update(h, lo, c) for h, lo, c in zip(high, low, close, strict=True)])
    assert np.array_equal(batch, streamed.reshape(-1), equal_nan=True)


# -------------------------------------------------------------------------------- panels
@st.composite
def panels(draw, max_rows=30, max_columns=5):
    """A (T, N) float64 panel of positive values with a few NaN and infinite gaps."""
    t, n = draw(st.integers(0, max_rows)), draw(st.integers(0, max_columns))
    flat = draw(st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=t * n, max_size=t * n))
    panel = np.array(flat, dtype=np.float64).reshape(t, n)
    if t * n:
        for value in draw(st.lists(st.sampled_from([NAN, math.inf, -math.inf]), max_size=4)):
            panel[draw(st.integers(0, t - 1)), draw(st.integers(0, n - 1))] = value
    return panel


def assert_columns(panel_out: np.ndarray, series_fn, panel: np.ndarray) -> None:
    """Column n of a panel result is the 1-D result of column n, bit for bit."""
    assert panel_out.shape == panel.shape
    for n in range(panel.shape[1]):
        expected = series_fn(np.ascontiguousarray(panel[:, n]))
        assert np.array_equal(panel_out[:, n].view(np.int64), expected.view(np.int64))


@pytest.mark.parametrize("name", sorted(SINGLE))
@settings(max_examples=40, deadline=None)
@given(panel=panels(), period_offset=st.integers(0, 6))
def test_a_panel_is_computed_column_by_column(name, panel, period_offset):
    batch_fn, _, min_period = SINGLE[name]
    period = min_period + period_offset
    assert_columns(batch_fn(panel, period), lambda v: batch_fn(v, period), panel)


@settings(max_examples=40, deadline=None)
@given(panel=panels())
def test_macd_bollinger_and_atr_panels_are_computed_column_by_column(panel):
    for k in range(3):
        assert_columns(macd(panel, 2, 4, 3)[k], lambda v: macd(v, 2, 4, 3)[k], panel)
        assert_columns(bollinger_bands(panel, 3)[k], lambda v: bollinger_bands(v, 3)[k], panel)
    high, low = panel * 1.01, panel * 0.99
    out = atr(high, low, panel, 3)
    assert out.shape == panel.shape
    for n in range(panel.shape[1]):
        expected = atr(high[:, n], low[:, n], panel[:, n], 3)
        assert np.array_equal(out[:, n], expected, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(fast=panels(max_columns=4), shift=st.floats(-5.0, 5.0))
def test_crossing_panels_are_computed_column_by_column(fast, shift):
    slow = fast[::-1] + shift
    for fn in (crossed_above, crossed_below):
        out = fn(fast, slow)
        assert out.shape == fast.shape and out.dtype == np.bool_
        for n in range(fast.shape[1]):
            assert np.array_equal(out[:, n], fn(fast[:, n], slow[:, n]))
            assert np.array_equal(fn(fast, 100.0)[:, n], fn(fast[:, n], 100.0))


# ------------------------------------------------------------------------------ NaN rule
@pytest.mark.parametrize("bad", [NAN, math.inf, -math.inf])
@pytest.mark.parametrize("name", sorted(SINGLE))
@settings(max_examples=30, deadline=None)
@given(data=st.data(), period_offset=st.integers(0, 5))
def test_non_finite_value_resets_indicator_as_if_series_restarted(name, bad, data, period_offset):
    batch_fn, _, min_period = SINGLE[name]
    period = min_period + period_offset
    before = data.draw(positive_values, label="before")
    after = data.draw(positive_values, label="after")
    out = batch_fn([*before, bad, *after], period)
    k = len(before)
    assert math.isnan(out[k])
    assert np.array_equal(out[:k], batch_fn(before, period), equal_nan=True)
    assert np.array_equal(out[k + 1 :], batch_fn(after, period), equal_nan=True)


@settings(max_examples=30, deadline=None)
@given(before=positive_values, after=positive_values)
def test_nan_resets_macd_and_bollinger(before, after):
    values = [*before, NAN, *after]
    k = len(before)
    for fn in (lambda v: macd(v, 2, 4, 3), lambda v: bollinger_bands(v, 3, 2.0)):
        whole, head, tail = fn(values), fn(before), fn(after)
        for w, h, t in zip(whole, head, tail, strict=True):
            assert math.isnan(w[k])
            assert np.array_equal(w[:k], h, equal_nan=True)
            assert np.array_equal(w[k + 1 :], t, equal_nan=True)


@pytest.mark.parametrize("field", [0, 1, 2])
def test_nan_in_any_atr_price_resets_atr(field):
    high = [10.0, 12.0, 11.0, 15.0, 16.0, 17.0, 16.5]
    low = [8.0, 9.0, 10.0, 14.0, 15.0, 15.5, 15.0]
    close = [9.0, 11.0, 10.5, 14.5, 15.5, 16.0, 15.5]
    prices = [list(high), list(low), list(close)]
    prices[field][3] = NAN
    out = atr(*prices, 2)
    assert np.isnan(out[3])
    expected_tail = atr(high[4:], low[4:], close[4:], 2)
    assert np.array_equal(out[4:], expected_tail, equal_nan=True)
    assert np.array_equal(out[:3], atr(high[:3], low[:3], close[:3], 2), equal_nan=True)


def test_sma_is_nan_exactly_while_a_nan_is_in_the_window():
    out = sma([1.0, 2.0, NAN, 4.0, 5.0, 6.0], 2)
    assert np.array_equal(out, [NAN, 1.5, NAN, NAN, 4.5, 5.5], equal_nan=True)


def test_streaming_value_and_reset():
    ind = SMA(2)
    assert math.isnan(ind.value)
    ind.update(1.0)
    assert ind.update(3.0) == 2.0 == ind.value
    ind.reset()
    assert math.isnan(ind.value)
    assert math.isnan(ind.update(5.0))


# -------------------------------------------------------------- hand-checked arithmetic
def test_sma_hand_values():
    out = sma([1.0, 2.0, 3.0, 4.0, 5.0], 3)
    assert np.array_equal(out, [NAN, NAN, 2.0, 3.0, 4.0], equal_nan=True)


def test_ema_is_seeded_with_the_sma_then_smoothed_in_talib_form():
    k = 2.0 / 3.0
    seed = (1.0 + 2.0) / 2
    e2 = (3.0 - seed) * k + seed
    e3 = (4.0 - e2) * k + e2
    assert np.array_equal(ema([1.0, 2.0, 3.0, 4.0], 2), [NAN, seed, e2, e3], equal_nan=True)


def test_wma_weights_the_newest_value_most():
    out = wma([1.0, 2.0, 3.0, 6.0], 3)
    expected = [NAN, NAN, (1.0 * 1 + 2.0 * 2 + 3.0 * 3) / 6.0, (2.0 * 1 + 3.0 * 2 + 6.0 * 3) / 6.0]
    assert np.array_equal(out, expected, equal_nan=True)


def test_rsi_wilder_hand_values_and_flat_series_is_zero():
    # Diffs +1, -1, +1: seed gain = loss = 0.5 -> 50; then gain (0.5 + 1) / 2, loss 0.5 / 2.
    assert np.array_equal(rsi([1.0, 2.0, 1.0, 2.0], 2), [NAN, NAN, 50.0, 75.0], equal_nan=True)
    assert np.array_equal(rsi([5.0] * 4, 2), [NAN, NAN, 0.0, 0.0], equal_nan=True)


def test_atr_skips_bar_zero_and_uses_the_gap_from_the_previous_close():
    high = [10.0, 12.0, 11.0, 15.0]
    low = [8.0, 9.0, 10.0, 14.0]
    close = [9.0, 11.0, 10.5, 14.5]
    # True ranges from bar 1: 3.0, 1.0, then a gap up: |10.5 - 15| = 4.5.
    out = atr(high, low, close, 2)
    assert np.array_equal(out, [NAN, NAN, 2.0, (2.0 * 1 + 4.5) / 2], equal_nan=True)


def test_rolling_std_is_population_std():
    out = rolling_std([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8)
    assert out[-1] == 2.0  # sample std (ddof=1) would be sqrt(32 / 7)
    assert np.isnan(out[:-1]).all()


def test_bollinger_bands_are_sma_plus_minus_num_std_rolling_std(ohlc):
    close = ohlc["close"][:500]
    upper, middle, lower = bollinger_bands(close, 20, 2.5)
    std = rolling_std(close, 20)
    assert np.array_equal(middle, sma(close, 20), equal_nan=True)
    assert np.array_equal(upper, middle + 2.5 * std, equal_nan=True)
    assert np.array_equal(lower, middle - 2.5 * std, equal_nan=True)


def test_highest_lowest_hand_values():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]
    assert np.array_equal(highest(values, 3), [NAN, NAN, 4.0, 4.0, 5.0, 9.0, 9.0], equal_nan=True)
    assert np.array_equal(lowest(values, 3), [NAN, NAN, 1.0, 1.0, 1.0, 1.0, 2.0], equal_nan=True)


def test_roc_formula_and_zero_base_gives_zero():
    out = roc([100.0, 105.0, 110.0], 2)
    assert np.array_equal(out, [NAN, NAN, ((110.0 / 100.0) - 1.0) * 100.0], equal_nan=True)
    assert roc([0.0, 1.0], 1)[1] == 0.0


def test_macd_fast_ema_is_seeded_on_the_same_bar_as_the_slow_ema():
    values = [1.0, 2.0, 4.0, 8.0, 16.0]
    line, sig, hist = macd(values, 2, 3, 2)
    slow_seed = (1.0 + 2.0 + 4.0) / 3
    fast_seed = (2.0 + 4.0) / 2  # skips values[0]: TA-Lib's alignment
    assert line[2] == fast_seed - slow_seed
    assert np.isnan(line[:2]).all()
    assert np.isnan(sig[:3]).all() and np.isnan(hist[:3]).all()
    assert sig[3] == (line[2] + line[3]) / 2
    assert hist[3] == line[3] - sig[3]


# ----------------------------------------------------------------------- crossings (ties)
def test_cross_scalar_tie_rule():
    assert cross(1.0, 2.0, 3.0, 2.0) == 1  # below -> above
    assert cross(2.0, 2.0, 3.0, 2.0) == 1  # equal -> above: a cross up
    assert cross(1.0, 2.0, 2.0, 2.0) == 0  # below -> equal: a touch, no cross
    assert cross(3.0, 2.0, 2.0, 2.0) == 0  # above -> equal: a touch, no cross
    assert cross(2.0, 2.0, 2.0, 2.0) == 0  # equal -> equal
    assert cross(2.0, 2.0, 1.0, 2.0) == -1  # equal -> below: a cross down
    assert cross(3.0, 2.0, 1.0, 2.0) == -1  # above -> below
    assert cross(3.0, 2.0, 4.0, 2.0) == 0  # stays above


@pytest.mark.parametrize("position", range(4))
def test_cross_with_any_nan_is_no_cross(position):
    args = [1.0, 2.0, 3.0, 2.0]
    args[position] = NAN
    assert cross(*args) == 0


def test_touching_from_below_and_going_back_is_no_cross_up():
    fast = [1.0, 2.0, 1.0]
    slow = [2.0, 2.0, 2.0]
    assert crossed_above(fast, slow).tolist() == [False, False, False]
    # Equality is "not below" either, so the step back below is a cross down.
    assert crossed_below(fast, slow).tolist() == [False, False, True]


def test_moving_from_equal_to_above_is_a_cross_up():
    fast = [1.0, 2.0, 2.0, 3.0]
    slow = [2.0, 2.0, 2.0, 2.0]
    assert crossed_above(fast, slow).tolist() == [False, False, False, True]
    assert crossed_below(fast, slow).tolist() == [False, False, False, False]


def test_touching_from_above_and_going_back_is_a_cross_up_not_down():
    fast = [3.0, 2.0, 3.0]
    slow = [2.0, 2.0, 2.0]
    assert crossed_below(fast, slow).tolist() == [False, False, False]
    assert crossed_above(fast, slow).tolist() == [False, False, True]


def test_crossings_with_nan_at_t_or_t_minus_1_are_false():
    fast = [1.0, NAN, 3.0, 1.0, 3.0]
    slow = [2.0, 2.0, 2.0, NAN, 2.0]
    assert crossed_above(fast, slow).tolist() == [False] * 5
    assert crossed_below(fast, slow).tolist() == [False] * 5


def test_crossing_a_scalar_threshold():
    values = [60.0, 70.0, 71.0, 69.0, 75.0]
    assert crossed_above(values, 70.0).tolist() == [False, False, True, False, True]
    assert crossed_below(values, 70.0).tolist() == [False, False, False, True, False]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=30))
def test_crossed_above_below_agree_with_cross_and_never_coincide(pairs):
    fast = [float(a) for a, _ in pairs]
    slow = [float(b) for _, b in pairs]
    up, down = crossed_above(fast, slow), crossed_below(fast, slow)
    assert not (up & down).any()
    for t in range(1, len(pairs)):
        expected = cross(fast[t - 1], slow[t - 1], fast[t], slow[t])
        assert (int(up[t]) - int(down[t])) == expected
    if pairs:
        assert not up[0] and not down[0]


def test_crossed_above_length_mismatch_raises_data_error():
    with pytest.raises(DataError, match="lengths differ"):
        crossed_above([1.0, 2.0], [1.0, 2.0, 3.0])


# -------------------------------------------------------------------------- bad input
PERIOD_FACTORIES = [
    ("period", lambda p: SMA(p)),
    ("period", lambda p: sma([1.0, 2.0], p)),
    ("period", lambda p: EMA(p)),
    ("period", lambda p: ema([1.0, 2.0], p)),
    ("period", lambda p: WMA(p)),
    ("period", lambda p: wma([1.0, 2.0], p)),
    ("period", lambda p: RSI(p)),
    ("period", lambda p: rsi([1.0, 2.0], p)),
    ("period", lambda p: RollingStd(p)),
    ("period", lambda p: rolling_std([1.0, 2.0], p)),
    ("period", lambda p: BollingerBands(p)),
    ("period", lambda p: bollinger_bands([1.0, 2.0], p)),
    ("period", lambda p: ATR(p)),
    ("period", lambda p: atr([2.0], [1.0], [1.5], p)),
    ("period", lambda p: Highest(p)),
    ("period", lambda p: highest([1.0, 2.0], p)),
    ("period", lambda p: Lowest(p)),
    ("period", lambda p: lowest([1.0, 2.0], p)),
    ("period", lambda p: ROC(p)),
    ("period", lambda p: roc([1.0, 2.0], p)),
    ("fast", lambda p: MACD(fast=p)),
    ("slow", lambda p: MACD(fast=1, slow=p)),
    ("signal", lambda p: MACD(signal=p)),
    ("signal", lambda p: macd([1.0, 2.0], signal=p)),
]


@pytest.mark.parametrize("bad", [0, -3, 2.5, 14.0, "14", None, True])
@pytest.mark.parametrize(("name", "factory"), PERIOD_FACTORIES)
def test_bad_period_raises_config_error_naming_the_parameter(name, factory, bad):
    with pytest.raises(ConfigError, match=f"^{name}:"):
        factory(bad)


@pytest.mark.parametrize("cls", [RSI, RollingStd, BollingerBands])
def test_period_one_is_refused_where_meaningless(cls):
    with pytest.raises(ConfigError, match="^period: must be an int >= 2"):
        cls(1)


@pytest.mark.parametrize("cls", [SMA, EMA, WMA, ATR, Highest, Lowest, ROC])
def test_period_one_and_numpy_ints_are_accepted(cls):
    assert cls(1).period == 1
    assert cls(np.int64(3)).period == 3


@pytest.mark.parametrize(("fast", "slow"), [(26, 12), (12, 12)])
def test_macd_fast_not_below_slow_raises_config_error(fast, slow):
    with pytest.raises(ConfigError, match="^fast: must be smaller than slow"):
        MACD(fast, slow, 9)


@pytest.mark.parametrize("bad", [-1.0, NAN, math.inf, "2", True, None])
def test_bad_num_std_raises_config_error(bad):
    with pytest.raises(ConfigError, match="^num_std:"):
        BollingerBands(20, bad)


@pytest.mark.parametrize("values", [5.0, np.ones((2, 2, 2)), [[[1.0]]]])
def test_input_that_is_neither_a_series_nor_a_panel_raises_data_error(values):
    with pytest.raises(DataError, match=r"^values: expected a 1-D array or a 2-D \(T, N\) array"):
        sma(values, 2)


def test_non_numeric_input_raises_data_error():
    with pytest.raises(DataError, match="^values: cannot convert"):
        ema(["a", "b"], 1)
    with pytest.raises(DataError, match="^values: cannot convert"):
        ema([["a", "b"]], 1)


def test_atr_inputs_must_be_of_one_shape():
    with pytest.raises(DataError, match=r"^high: expected a 1-D array or a 2-D \(T, N\) array"):
        atr(np.ones((3, 1, 1)), [1.0] * 3, [1.0] * 3)
    with pytest.raises(DataError, match=r"^high, low, close: lengths differ \(2, 1, 2\)$"):
        atr([2.0, 2.0], [1.0], [1.5, 1.5])
    with pytest.raises(
        DataError,
        match=r"^high, low, close: shapes differ "
        r"\(\(2, 1\), \(2,\), \(2, 1\)\)$",
    ):
        atr([[2.0], [2.0]], [1.0, 1.0], [[1.5], [1.5]])


def test_crossing_panels_must_be_of_one_shape():
    with pytest.raises(DataError, match=r"^fast, slow: shapes differ \(\(2, 2\), \(2,\)\)$"):
        crossed_above(np.ones((2, 2)), np.ones(2))
    with pytest.raises(DataError, match=r"^fast, slow: shapes differ \(\(2, 2\), \(2, 3\)\)"):
        crossed_below(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(DataError, match="^fast, slow: at least one must be a 1-D or 2-D array"):
        crossed_above(1.0, 2.0)


def test_empty_and_short_input_give_all_nan_of_the_same_length():
    assert sma([], 3).shape == (0,)
    assert sma(np.ones((0, 3)), 3).shape == (0, 3)
    assert ema(np.ones((4, 0)), 3).shape == (4, 0)
    assert crossed_above(np.ones((0, 2)), 1.0).shape == (0, 2)
    assert np.isnan(rsi([1.0, 2.0, 3.0], 5)).all()
    assert all(a.shape == (2,) for a in macd([1.0, 2.0]))
