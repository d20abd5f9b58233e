"""Tests of `quanta_ref.metrics`: agreement with empyrical, hand-computed cases, frequency
inference and input validation."""

from __future__ import annotations

import math
import statistics
from typing import Any

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from quanta_ref.errors import ConfigError, DataError
from quanta_ref.metrics import STAT_KEYS, compute_stats, infer_periods_per_year

NS_PER_DAY = 86_400_000_000_000
RTOL = 1e-9


# ------------------------------------------------------------------------------ helpers
def ns(index: pd.DatetimeIndex) -> np.ndarray:
    """int64 nanoseconds of a DatetimeIndex, whatever its unit (pandas 3 defaults to us)."""
    return index.to_numpy().astype("datetime64[ns]").astype(np.int64)


def business_days(n: int, start: str = "2015-01-02") -> np.ndarray:
    return ns(pd.bdate_range(start, periods=n))


def calendar_days(n: int, start: str = "2015-01-01") -> np.ndarray:
    return ns(pd.date_range(start, periods=n, freq="D"))


def returns_of(equity: np.ndarray, initial_cash: float) -> np.ndarray:
    """The returns series of the module docstring, vectorised (no ruin in these curves)."""
    previous = np.concatenate(([initial_cash], equity[:-1]))
    return equity / previous - 1.0


def stats_of(
    timestamps: np.ndarray, equity: Any, initial_cash: float, **kwargs: Any
) -> dict[str, float]:
    kwargs.setdefault("trade_pnls", [])
    kwargs.setdefault("traded_value", 0.0)
    kwargs.setdefault("bars_in_market", 0)
    return compute_stats(timestamps, np.asarray(equity, dtype=np.float64), initial_cash, **kwargs)


def same(actual: float, expected: float, rtol: float = RTOL, atol: float = 0.0) -> bool:
    """Equal within tolerance, with NaN == NaN and inf == inf of the same sign."""
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol)


def empyrical_stats(
    timestamps: np.ndarray, equity: np.ndarray, initial_cash: float, ppy: float
) -> dict[str, float]:
    series = pd.Series(returns_of(equity, initial_cash), index=pd.to_datetime(timestamps))
    # empyrical's annual_return raises numpy's overflow warning where we return +inf.
    with np.errstate(over="ignore"):
        return _empyrical_stats(series, ppy)


def _empyrical_stats(series: pd.Series, ppy: float) -> dict[str, float]:
    return {
        "cagr": empyrical.annual_return(series, period="daily", annualization=ppy),
        "annual_volatility": empyrical.annual_volatility(series, period="daily", annualization=ppy),
        "sharpe_ratio": empyrical.sharpe_ratio(series, period="daily", annualization=ppy),
        "sortino_ratio": empyrical.sortino_ratio(series, period="daily", annualization=ppy),
        "max_drawdown": empyrical.max_drawdown(series),
        "calmar_ratio": empyrical.calmar_ratio(series, period="daily", annualization=ppy),
    }


def assert_agrees_with_empyrical(
    timestamps: np.ndarray, equity: np.ndarray, initial_cash: float, ppy: float = 252.0
) -> dict[str, float]:
    ours = stats_of(timestamps, equity, initial_cash, periods_per_year=ppy)
    theirs = empyrical_stats(timestamps, equity, initial_cash, ppy)
    for key, expected in theirs.items():
        assert same(ours[key], float(expected)), (key, ours[key], expected)
    return ours


# ------------------------------------------------------------------------------ empyrical
def test_random_walk_of_ten_years_agrees_with_empyrical():
    rng = np.random.default_rng(20240601)
    steps = rng.normal(0.0004, 0.012, size=2520)
    equity = 1_000_000.0 * np.cumprod(1.0 + steps)
    ours = assert_agrees_with_empyrical(business_days(2520), equity, 1_000_000.0)
    assert ours["max_drawdown"] < 0.0
    assert math.isfinite(ours["sortino_ratio"])


def test_monotonically_rising_curve_agrees_with_empyrical():
    equity = 100.0 * np.cumprod(np.full(500, 1.0003) + np.linspace(0.0, 0.001, 500))
    ours = assert_agrees_with_empyrical(business_days(500), equity, 100.0)
    assert ours["max_drawdown"] == 0.0
    assert ours["max_drawdown_duration"] == 0.0
    assert ours["sortino_ratio"] == math.inf
    assert math.isnan(ours["calmar_ratio"])


def test_deep_drawdown_curve_agrees_with_empyrical():
    up = np.linspace(100.0, 180.0, 200)
    crash = np.linspace(180.0, 27.0, 100)[1:]
    recovery = np.linspace(27.0, 90.0, 300)[1:]
    equity = np.concatenate((up, crash, recovery))
    ours = assert_agrees_with_empyrical(business_days(equity.size), equity, 100.0)
    assert ours["max_drawdown"] == pytest.approx(27.0 / 180.0 - 1.0, rel=1e-12)
    assert ours["max_drawdown_duration"] == float(equity.size - 200)
    assert ours["calmar_ratio"] < 0.0


def test_non_default_periods_per_year_agrees_with_empyrical():
    rng = np.random.default_rng(7)
    equity = 50_000.0 * np.cumprod(1.0 + rng.normal(0.0, 0.002, size=1000))
    timestamps = business_days(1000)
    assert_agrees_with_empyrical(timestamps, equity, 50_000.0, ppy=98_280.0)


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    steps=st.lists(
        st.floats(min_value=-0.5, max_value=0.5, allow_nan=False, allow_subnormal=False),
        min_size=1,
        max_size=200,
    ),
    initial_cash=st.floats(min_value=1.0, max_value=1e9),
    ppy=st.sampled_from([1.0, 4.0, 12.0, 52.0, 252.0, 365.0, 98_280.0]),
)
def test_random_positive_curves_agree_with_empyrical(steps, initial_cash, ppy):
    equity = initial_cash * np.cumprod(1.0 + np.asarray(steps))
    assume(bool(np.all(equity > 0.0)))
    r = returns_of(equity, initial_cash)
    n = r.size
    ours = stats_of(calendar_days(n), equity, initial_cash, periods_per_year=ppy)
    theirs = {
        k: float(v) for k, v in empyrical_stats(calendar_days(n), equity, initial_cash, ppy).items()
    }
    # Sums of n terms are accumulated in a different order by numpy (pairwise) and by us
    # (sequential): they differ by about n * eps * max|r| in absolute terms, which matters
    # only when the exact result is near zero. The tolerances scale with that bound.
    scale = n * 1e-13 * float(np.max(np.abs(r)))
    if n > 1:
        assert same(
            ours["annual_volatility"],
            theirs["annual_volatility"],
            rtol=1e-8,
            atol=scale * math.sqrt(ppy),
        )
        if np.ptp(r) > 1e-6:  # well-conditioned: the std is far from its rounding noise
            std = float(np.std(r, ddof=1))
            assert same(
                ours["sharpe_ratio"],
                theirs["sharpe_ratio"],
                rtol=1e-8,
                atol=scale / std * math.sqrt(ppy),
            )
        elif np.ptp(r) == 0.0:  # std exactly 0: NaN here, +-inf or NaN in empyrical
            assert math.isnan(ours["sharpe_ratio"])
    else:
        assert math.isnan(ours["annual_volatility"]) and math.isnan(theirs["annual_volatility"])
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) * math.sqrt(ppy)
    if n > 1 and downside > 0.0:
        assert same(
            ours["sortino_ratio"], theirs["sortino_ratio"], rtol=1e-8, atol=scale * ppy / downside
        )
    elif n > 1:  # no losing bar: +inf, or NaN when every return is 0
        assert same(ours["sortino_ratio"], theirs["sortino_ratio"])
    if math.isfinite(theirs["cagr"]) and abs(theirs["cagr"]) < 1e100:
        assert same(ours["cagr"], theirs["cagr"], rtol=1e-8, atol=1e-9 * abs(1.0 + theirs["cagr"]))
    # Drawdowns: empyrical compounds the returns, we read the equity; both are exact to a
    # few ulps of the equity level.
    assert same(ours["max_drawdown"], theirs["max_drawdown"], rtol=1e-9, atol=1e-12)
    if (
        theirs["max_drawdown"] < -1e-6
        and math.isfinite(theirs["calmar_ratio"])
        and abs(theirs["cagr"]) < 1e100
    ):
        assert same(
            ours["calmar_ratio"],
            theirs["calmar_ratio"],
            rtol=1e-8,
            atol=1e-9 * abs(1.0 + theirs["cagr"]) / abs(theirs["max_drawdown"]),
        )


@settings(max_examples=200, deadline=None, database=None)
@given(
    equity=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=50,
    ),
    initial_cash=st.floats(min_value=1e-3, max_value=1e6),
)
def test_any_finite_curve_gives_every_key_as_a_float_without_raising(equity, initial_cash):
    stats = stats_of(calendar_days(len(equity)), equity, initial_cash, periods_per_year=252.0)
    assert tuple(stats) == STAT_KEYS
    assert all(type(v) is float for v in stats.values())
    assert -1.0 <= stats["max_drawdown"] <= 0.0
    assert 0.0 <= stats["max_drawdown_duration"] <= len(equity)
    assert stats["cagr"] >= -1.0


# ------------------------------------------------------------------------------ by hand
def test_three_bar_curve_matches_hand_computation():
    ts = business_days(3)
    stats = compute_stats(
        ts,
        np.array([110.0, 99.0, 121.0]),
        100.0,
        trade_pnls=[10.0, -5.0, 0.0, 20.0],
        traded_value=330.0,
        bars_in_market=2,
        periods_per_year=252.0,
    )
    r = [0.1, -0.1, 121.0 / 99.0 - 1.0]
    assert stats["start_equity"] == 100.0
    assert stats["final_equity"] == 121.0
    assert stats["total_return"] == pytest.approx(0.21, rel=1e-12)
    assert stats["cagr"] == pytest.approx(1.21 ** (252.0 / 3.0) - 1.0, rel=1e-12)
    assert stats["max_drawdown"] == pytest.approx(-0.1, rel=1e-12)
    assert stats["max_drawdown_duration"] == 1.0
    assert stats["annual_volatility"] == pytest.approx(
        statistics.stdev(r) * math.sqrt(252), rel=1e-12
    )
    assert stats["sharpe_ratio"] == pytest.approx(
        statistics.mean(r) / statistics.stdev(r) * math.sqrt(252), rel=1e-12
    )
    downside = math.sqrt(0.01 / 3.0) * math.sqrt(252)
    assert stats["sortino_ratio"] == pytest.approx(statistics.mean(r) * 252 / downside, rel=1e-12)
    assert stats["calmar_ratio"] == pytest.approx(stats["cagr"] / 0.1, rel=1e-12)
    assert stats["win_rate"] == 0.5  # the trade at exactly 0 is not a win
    assert stats["profit_factor"] == 6.0  # 30 / 5
    assert stats["n_trades"] == 4.0
    assert stats["exposure"] == pytest.approx(2.0 / 3.0, rel=1e-15)
    assert stats["turnover"] == pytest.approx(3.0, rel=1e-15)  # 330 / mean(110, 99, 121)
    assert stats["periods_per_year"] == 252.0


def test_returned_keys_are_in_documented_order_and_all_floats():
    stats = stats_of(
        business_days(3), [101.0, 102.0, 100.0], 100.0, trade_pnls=[1.0], bars_in_market=3
    )
    assert tuple(stats) == STAT_KEYS
    assert all(type(v) is float for v in stats.values())


def test_drawdown_duration_is_the_longest_run_strictly_below_the_peak():
    equity = [100.0, 90.0, 95.0, 99.0, 100.0, 80.0, 101.0, 99.0]
    stats = stats_of(business_days(8), equity, 100.0)
    # bar 0 equals the initial peak (not below); 90, 95, 99 are a run of 3; 100 touches the
    # peak again; 80 is a run of 1; 101 is a new peak; 99 is a run of 1.
    assert stats["max_drawdown_duration"] == 3.0
    assert stats["max_drawdown"] == pytest.approx(-0.2, rel=1e-12)


def test_drawdown_counts_from_initial_cash():
    stats = stats_of(business_days(2), [80.0, 90.0], 100.0)
    assert stats["max_drawdown"] == pytest.approx(-0.2, rel=1e-12)
    assert stats["max_drawdown_duration"] == 2.0


def test_no_trades_give_nan_win_rate_and_profit_factor():
    stats = stats_of(business_days(2), [100.0, 101.0], 100.0)
    assert stats["n_trades"] == 0.0
    assert math.isnan(stats["win_rate"])
    assert math.isnan(stats["profit_factor"])


def test_only_winning_trades_give_infinite_profit_factor():
    stats = stats_of(business_days(2), [100.0, 101.0], 100.0, trade_pnls=[3.0, 0.0, 1.5])
    assert stats["profit_factor"] == math.inf
    assert stats["win_rate"] == pytest.approx(2.0 / 3.0, rel=1e-15)


def test_only_flat_trades_give_zero_win_rate_and_nan_profit_factor():
    stats = stats_of(business_days(2), [100.0, 101.0], 100.0, trade_pnls=[0.0, 0.0])
    assert stats["win_rate"] == 0.0
    assert math.isnan(stats["profit_factor"])


def test_only_losing_trades_give_zero_profit_factor():
    stats = stats_of(business_days(2), [100.0, 99.0], 100.0, trade_pnls=[-1.0, -2.0])
    assert stats["win_rate"] == 0.0
    assert stats["profit_factor"] == 0.0


def test_exposure_and_turnover():
    stats = stats_of(
        business_days(4),
        [100.0, 200.0, 300.0, 400.0],
        100.0,
        traded_value=1_000.0,
        bars_in_market=3,
    )
    assert stats["exposure"] == 0.75
    assert stats["turnover"] == 4.0  # 1000 / mean(100, 200, 300, 400) = 1000 / 250


def test_flat_curve_has_zero_volatility_and_undefined_ratios():
    stats = stats_of(business_days(5), [100.0] * 5, 100.0)
    assert stats["total_return"] == 0.0
    assert stats["cagr"] == 0.0
    assert stats["annual_volatility"] == 0.0
    assert math.isnan(stats["sharpe_ratio"])
    assert math.isnan(stats["sortino_ratio"])  # 0 / 0
    assert stats["max_drawdown"] == 0.0
    assert stats["max_drawdown_duration"] == 0.0
    assert math.isnan(stats["calmar_ratio"])


def test_constant_positive_return_has_nan_sharpe_and_infinite_sortino():
    # Every return is exactly 1.0: std is exactly 0.
    stats = stats_of(business_days(3), [100.0, 200.0, 400.0], 50.0)
    assert stats["annual_volatility"] == 0.0
    assert math.isnan(stats["sharpe_ratio"])
    assert stats["sortino_ratio"] == math.inf


def test_single_bar_has_nan_dispersion_statistics():
    stats = stats_of(business_days(1), [105.0], 100.0)
    assert stats["total_return"] == pytest.approx(0.05, rel=1e-12)
    assert stats["cagr"] == pytest.approx(1.05**252 - 1.0, rel=1e-12)
    assert math.isnan(stats["annual_volatility"])
    assert math.isnan(stats["sharpe_ratio"])
    assert math.isnan(stats["sortino_ratio"])
    assert stats["periods_per_year"] == 252.0  # inferred from a single timestamp


def test_ruined_account_compounds_to_zero_without_raising():
    equity = [90.0, -10.0, 5.0, 20.0]
    stats = stats_of(business_days(4), equity, 100.0, traded_value=105.0)
    # Returns: -0.1, then -1.0 at the ruin, then 0.0 for every later bar.
    r = [-0.1, -1.0, 0.0, 0.0]
    assert stats["final_equity"] == 20.0
    assert stats["total_return"] == pytest.approx(-0.8, rel=1e-12)
    assert stats["cagr"] == -1.0
    assert stats["max_drawdown"] == -1.0
    assert stats["max_drawdown_duration"] == 4.0
    assert stats["calmar_ratio"] == -1.0
    assert stats["annual_volatility"] == pytest.approx(
        statistics.stdev(r) * math.sqrt(252), rel=1e-12
    )
    assert stats["sharpe_ratio"] == pytest.approx(
        statistics.mean(r) / statistics.stdev(r) * math.sqrt(252), rel=1e-12
    )
    assert stats["turnover"] == pytest.approx(105.0 / 26.25, rel=1e-12)


def test_ruin_on_the_first_bar():
    stats = stats_of(business_days(1), [0.0], 100.0)
    assert stats["total_return"] == -1.0
    assert stats["cagr"] == -1.0
    assert stats["max_drawdown"] == -1.0
    assert math.isnan(stats["turnover"])  # average equity is 0


def test_negative_average_equity_gives_nan_turnover():
    stats = stats_of(business_days(2), [-50.0, -60.0], 100.0, traded_value=10.0)
    assert math.isnan(stats["turnover"])


def test_overflowing_cagr_is_infinite_and_calmar_is_nan():
    stats = stats_of(business_days(2), [0.5, 1e12], 1.0, periods_per_year=98_280.0)
    assert stats["cagr"] == math.inf
    assert stats["max_drawdown"] == pytest.approx(-0.5, rel=1e-15)
    assert math.isnan(stats["calmar_ratio"])


def test_periods_per_year_is_inferred_when_not_given():
    stats = stats_of(calendar_days(30), np.linspace(101.0, 130.0, 30), 100.0)
    assert stats["periods_per_year"] == 365.0


def test_datetime64_timestamps_are_accepted():
    ts = business_days(3).astype("datetime64[ns]")
    stats = stats_of(ts, [101.0, 102.0, 103.0], 100.0)
    assert stats["periods_per_year"] == 252.0


# ------------------------------------------------------------------------------ frequency
def test_business_day_timestamps_are_252_per_year():
    assert infer_periods_per_year(business_days(600)) == 252.0


def test_seven_day_week_timestamps_are_365_per_year():
    assert infer_periods_per_year(calendar_days(600)) == 365.0


def test_weekly_timestamps_are_52_per_year():
    ts = ns(pd.date_range("2010-01-01", periods=300, freq="W-FRI"))
    assert infer_periods_per_year(ts) == 52.0


def test_monthly_timestamps_are_12_per_year():
    ts = ns(pd.date_range("2010-01-31", periods=120, freq="ME"))
    assert infer_periods_per_year(ts) == 12.0


def test_quarterly_timestamps_are_4_per_year():
    ts = ns(pd.date_range("2010-03-31", periods=40, freq="QE"))
    assert infer_periods_per_year(ts) == 4.0


def test_yearly_timestamps_are_1_per_year():
    ts = ns(pd.date_range("2000-12-31", periods=20, freq="YE"))
    assert infer_periods_per_year(ts) == 1.0


def test_one_minute_weekday_bars_are_390_times_252_per_year():
    days = pd.bdate_range("2021-03-01", periods=20)
    minutes = pd.timedelta_range("09:30:00", "15:59:00", freq="min")
    assert len(minutes) == 390
    ts = np.array([(d + m).value for d in days for m in minutes], dtype=np.int64)
    assert infer_periods_per_year(ts) == 390.0 * 252.0


def test_hourly_bars_every_day_are_24_times_365_per_year():
    ts = ns(pd.date_range("2021-03-01", periods=24 * 60, freq="h"))
    assert infer_periods_per_year(ts) == 24.0 * 365.0


def test_fewer_than_two_timestamps_default_to_252():
    assert infer_periods_per_year(np.array([], dtype=np.int64)) == 252.0
    assert infer_periods_per_year(business_days(1)) == 252.0


def test_daily_data_with_few_weekend_days_stays_252():
    # 1 weekend day among 20 timestamps (5%) is not more than 10%.
    ts = np.concatenate(
        (business_days(19, "2021-03-01"), np.array([pd.Timestamp("2021-03-27").value]))
    )  # a Saturday
    ts.sort()
    assert infer_periods_per_year(ts) == 252.0


def test_timestamps_before_1970_are_floored_to_their_day():
    ts = ns(pd.bdate_range("1960-01-04", periods=300))
    assert infer_periods_per_year(ts) == 252.0
    intraday = np.array(
        [pd.Timestamp("1969-12-31 10:00").value + i * 60_000_000_000 for i in range(60)],
        dtype=np.int64,
    )
    assert infer_periods_per_year(intraday) == 60.0 * 252.0


# ------------------------------------------------------------------------------ bad input
def test_two_dimensional_equity_is_a_data_error():
    with pytest.raises(DataError, match="equity"):
        stats_of(business_days(2), [[100.0], [101.0]], 100.0)


def test_equity_length_mismatch_is_a_data_error():
    with pytest.raises(DataError, match="equity"):
        stats_of(business_days(3), [100.0, 101.0], 100.0)


def test_empty_equity_is_a_data_error():
    with pytest.raises(DataError, match="equity"):
        stats_of(np.array([], dtype=np.int64), [], 100.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_equity_is_a_data_error(bad):
    with pytest.raises(DataError, match="equity"):
        stats_of(business_days(3), [100.0, bad, 101.0], 100.0)


@pytest.mark.parametrize("bad", [0.0, -100.0, math.nan, math.inf])
def test_bad_initial_cash_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="initial_cash"):
        stats_of(business_days(2), [100.0, 101.0], bad)


@pytest.mark.parametrize("bad", [0.0, -252.0, math.nan, math.inf])
def test_bad_periods_per_year_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="periods_per_year"):
        stats_of(business_days(2), [100.0, 101.0], 100.0, periods_per_year=bad)


def test_unsorted_timestamps_are_a_data_error():
    ts = business_days(3)[[0, 2, 1]]
    with pytest.raises(DataError, match="timestamps"):
        stats_of(ts, [100.0, 101.0, 102.0], 100.0)
    with pytest.raises(DataError, match="timestamps"):
        infer_periods_per_year(ts)


def test_two_dimensional_timestamps_are_a_data_error():
    with pytest.raises(DataError, match="timestamps"):
        infer_periods_per_year(business_days(4).reshape(2, 2))


def test_non_finite_trade_pnl_is_a_data_error():
    with pytest.raises(DataError, match="trade_pnls"):
        stats_of(business_days(2), [100.0, 101.0], 100.0, trade_pnls=[1.0, math.nan])


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_bad_traded_value_is_a_data_error(bad):
    with pytest.raises(DataError, match="traded_value"):
        stats_of(business_days(2), [100.0, 101.0], 100.0, traded_value=bad)


@pytest.mark.parametrize("bad", [-1, 3, 1.5])
def test_bad_bars_in_market_is_a_data_error(bad):
    with pytest.raises(DataError, match="bars_in_market"):
        stats_of(business_days(2), [100.0, 101.0], 100.0, bars_in_market=bad)
