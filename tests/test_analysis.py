"""Reading a result (quanta_ref.analysis): frames, returns, the buy-and-hold benchmark, the
extended statistics, the rejected-orders warning and the Jupyter view, on both backends.

Values are checked against what they stand for: the result's own objects, an independent
numpy computation, empyrical-reloaded and quantstats, or numbers worked out by hand.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from typing import Any

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs

import quanta_ref
from quanta_ref import (
    Bars,
    Engine,
    EngineConfig,
    RejectedOrdersWarning,
    Signals,
    Targets,
    analysis,
    data,
)
from quanta_ref.analysis import (
    EXTENDED_KEYS,
    STAT_INFO,
    buy_and_hold_equity,
    extended_stats,
    stat_info,
)
from quanta_ref.api import BacktestResult
from quanta_ref.errors import ConfigError
from quanta_ref.examples import SmaCross
from support import DAY, Script, bars_from_rows, run_script

BARS = data.load_samples(["AAPL", "IBM"]).between(end="2003-06-30")
N_BARS = BARS.n_bars
#: Small lots on little cash: SmaCross trades both symbols and some buys are rejected.
SETTINGS = dict(initial_cash=20_000.0, commission_rate=0.001, min_commission=1.0, lot_size=10)


class Clumsy(SmaCross):
    """SmaCross that now and then sends an order the engine must reject: 15 shares in lots of
    10, or a sell of shares it does not hold."""

    def on_bar(self, ctx: Any, bar: Any) -> None:
        super().on_bar(ctx, bar)
        if bar.symbol == ctx.symbols[0] and ctx.bar_index % 100 == 0:
            ctx.buy(bar.symbol, 15)
        if bar.symbol == ctx.symbols[1] and ctx.bar_index % 150 == 0 and not ctx.position("IBM"):
            ctx.sell(bar.symbol, 10)


def traded(backend: str) -> BacktestResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectedOrdersWarning)
        return Engine(backend=backend, **SETTINGS).run(BARS, Clumsy(fast=5, slow=20))


def quiet(backend: str, bars: Any, **settings: Any) -> BacktestResult:
    """A run that does nothing: no order, no trade."""
    return Engine(backend=backend, **settings).run(bars, quanta_ref.Strategy())


# ================================================================================ frames
def test_fills_frame_has_one_row_per_fill_with_datetime_and_string_columns(backend: str) -> None:
    result = traded(backend)
    frame = result.fills_frame()
    assert len(frame) == len(result.fills) > 10
    assert frame["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert frame["symbol"].dtype == "string" and frame["side"].dtype == "string"
    for k, fill in enumerate(result.fills):
        row = frame.iloc[k]
        assert row["order_id"] == fill.order_id
        assert row["timestamp"] == pd.Timestamp(fill.timestamp, unit="ns")
        assert (row["symbol"], row["side"]) == (fill.symbol, fill.side.value)
        assert (row["quantity"], row["price"]) == (fill.quantity, fill.price)
        assert (row["commission"], row["tax"]) == (fill.commission, fill.tax)


def test_orders_frame_has_each_order_final_state_and_reject_reason(backend: str) -> None:
    result = traded(backend)
    frame = result.orders_frame()
    assert len(frame) == len(result.orders)
    assert frame["created_at"].dtype == frame["filled_at"].dtype == np.dtype("datetime64[ns]")
    for name in ("symbol", "side", "order_type", "time_in_force", "status", "reject_reason"):
        assert frame[name].dtype == "string"
    for k, order in enumerate(result.orders):
        row = frame.iloc[k]
        assert row["order_id"] == order.order_id
        assert row["status"] == order.status.value
        assert row["created_at"] == pd.Timestamp(order.created_at, unit="ns")
        if order.filled_at is None:
            assert pd.isna(row["filled_at"])
        else:
            assert row["filled_at"] == pd.Timestamp(order.filled_at, unit="ns")
        if order.reject_reason is None:
            assert pd.isna(row["reject_reason"])
        else:
            assert row["reject_reason"] == order.reject_reason
        if order.filled_quantity == 0.0:
            assert pd.isna(row["average_fill_price"])  # never filled: no price
        else:
            assert row["average_fill_price"] == order.average_fill_price
    rejected = frame[frame["status"] == "rejected"]
    assert rejected["reject_reason"].value_counts().to_dict() == result.rejections


def test_trades_frame_has_one_row_per_trade_with_side_and_duration(backend: str) -> None:
    result = traded(backend)
    frame = result.trades_frame()
    assert len(frame) == len(result.trades) > 5
    assert frame["entry_time"].dtype == frame["exit_time"].dtype == np.dtype("datetime64[ns]")
    assert frame["duration"].dtype == np.dtype("timedelta64[ns]")
    for k, trade in enumerate(result.trades):
        row = frame.iloc[k]
        assert row["side"] == ("long" if trade.direction > 0 else "short")
        assert (row["symbol"], row["quantity"]) == (trade.symbol, trade.quantity)
        assert (row["pnl"], row["return"]) == (trade.pnl, trade.return_)
        assert row["duration"] == pd.Timedelta(trade.exit_time - trade.entry_time, unit="ns")


def test_positions_frame_values_each_final_position_at_its_last_price(backend: str) -> None:
    result = traded(backend)
    frame = result.positions_frame()
    assert list(frame["symbol"]) == list(BARS.symbols)
    for k, position in enumerate(result.positions):
        row = frame.iloc[k]
        assert row["quantity"] == position.quantity
        expected = 0.0 if position.quantity == 0 else position.quantity * position.last_price
        assert row["market_value"] == expected
        assert row["unrealized_pnl"] == position.unrealized_pnl


def test_frames_and_statistics_are_identical_on_both_backends(backend_rust: None) -> None:
    python, rust = traded("python"), traded("rust")
    for name in ("fills_frame", "orders_frame", "trades_frame", "positions_frame"):
        pd.testing.assert_frame_equal(getattr(python, name)(), getattr(rust, name)())
    for name in ("equity_series", "returns", "drawdown", "stats_series"):
        pd.testing.assert_series_equal(getattr(python, name)(), getattr(rust, name)())
    pd.testing.assert_series_equal(python.stats_series("IBM"), rust.stats_series("IBM"))


# ================================================================ returns and drawdown
def test_returns_are_the_equity_changes_from_the_initial_cash(backend: str) -> None:
    result = traded(backend)
    returns = result.returns()
    assert returns.index.dtype == np.dtype("datetime64[ns]")
    assert (returns.index.asi8 == result.timestamps).all()
    equity = np.concatenate(([SETTINGS["initial_cash"]], result.equity))
    np.testing.assert_allclose(returns.to_numpy(), equity[1:] / equity[:-1] - 1.0, rtol=1e-15)


def test_drawdown_matches_quantstats_on_the_returns(backend: str) -> None:
    result = traded(backend)
    ours = result.drawdown()
    theirs = qs.stats.to_drawdown_series(result.returns())
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-12)
    assert result.stats["max_drawdown"] == pytest.approx(ours.min(), rel=1e-12)
    assert ours.min() < -0.05


def test_sharpe_ratio_of_the_stats_is_empyricals_on_the_returns(backend: str) -> None:
    result = traded(backend)
    periods = result.stats["periods_per_year"]
    expected = empyrical.sharpe_ratio(result.returns(), annualization=periods)
    assert result.stats["sharpe_ratio"] == pytest.approx(expected, rel=1e-12)


# ============================================================================ benchmark
def golden_bars() -> Any:
    """A: three bars, the first closing at its high's side of 100.05; B: no first bar."""
    return bars_from_rows(
        {
            "A": [(99.0, 100.05, 98.0, 100.0), (100.0, 111.0, 99.0, 110.0), (110, 112, 104, 105)],
            "B": [None, (49.0, 60.0, 48.0, 50.0), (50.0, 56.0, 49.0, 55.0)],
        }
    )


def one_bar() -> Any:
    return bars_from_rows({"A": [(99.0, 100.05, 98.0, 100.0)], "B": [(49.0, 60.0, 48.0, 50.0)]})


def test_buy_and_hold_pays_the_minimum_commission_and_caps_slippage_at_the_high() -> None:
    config = EngineConfig.build(
        initial_cash=10_000.0, commission_rate=0.001, min_commission=5.0, slippage_bps=10.0
    )
    # Each half is 5000. 5000 / 1.001 x 0.001 = 4.995 < 5: the minimum applies, 4995 invested.
    # A buys at min(100 x 1.001, 100.05) = 100.05 (the high); B at 50 x 1.001 = 50.05 on bar 1,
    # its 5000 waiting as cash on bar 0.
    a, b = 4995.0 / 100.05, 4995.0 / 50.05
    expected = [a * 100.0 + 5000.0, a * 110.0 + b * 50.0, a * 105.0 + b * 55.0]
    np.testing.assert_allclose(buy_and_hold_equity(golden_bars(), config), expected, rtol=1e-15)


def test_buy_and_hold_pays_the_commission_rate_out_of_each_part() -> None:
    config = EngineConfig.build(
        initial_cash=1_000_000.0, commission_rate=0.001, min_commission=5.0, slippage_bps=10.0
    )
    invested = 500_000.0 / 1.001  # + 0.001 of it (499.5 > 5) is the whole half
    a, b = invested / 100.05, invested / 50.05
    expected = [a * 100.0 + 500_000.0, a * 110.0 + b * 50.0, a * 105.0 + b * 55.0]
    np.testing.assert_allclose(buy_and_hold_equity(golden_bars(), config), expected, rtol=1e-15)


def test_buy_and_hold_return_is_the_universes_whatever_the_benchmark(backend: str) -> None:
    settings = dict(initial_cash=10_000.0, commission_rate=0.001, min_commission=5.0)
    result = quiet(backend, golden_bars(), slippage_bps=10.0, **settings)
    a, b = 4995.0 / 100.05, 4995.0 / 50.05
    universe = (a * 105.0 + b * 55.0) / 10_000.0 - 1.0
    # A alone gets all 10,000: 10,000 / 1.001 x 0.001 = 9.99 > 5, so the rate applies.
    alone = 10_000.0 / 1.001 / 100.05 * 105.0 / 10_000.0 - 1.0
    for benchmark, benchmark_return in ((None, universe), ("A", alone)):
        stats = extended_stats(result, benchmark)
        assert stats["buy_and_hold_return"] == pytest.approx(universe, rel=1e-14)
        assert stats["benchmark_return"] == pytest.approx(benchmark_return, rel=1e-14)


def test_alpha_and_beta_are_empyricals_for_every_kind_of_benchmark(backend: str) -> None:
    result = traded(backend)
    returns, periods = result.returns(), result.stats["periods_per_year"]
    ibm = BARS.close[:, 1]
    given = pd.Series(np.nan_to_num(ibm / np.concatenate(([ibm[0]], ibm[:-1])) - 1.0))
    given.index = returns.index
    for benchmark in (None, "AAPL", given, given.to_numpy()):
        factor = pd.Series(analysis.benchmark_returns(result, benchmark), returns.index)
        alpha, beta = empyrical.alpha_beta(returns, factor, annualization=periods)
        stats = result.stats_series(benchmark)
        assert stats["beta"] == pytest.approx(beta, rel=1e-12)
        assert stats["alpha"] == pytest.approx(alpha, rel=1e-12)
        assert 0.05 < beta < 1.5


def test_beta_is_quantstats_and_alpha_compounds_what_quantstats_adds_up(backend: str) -> None:
    result = traded(backend)
    returns, periods = result.returns(), result.stats["periods_per_year"]
    factor = pd.Series(analysis.benchmark_returns(result, "IBM"), returns.index)
    greeks = qs.stats.greeks(returns, factor, periods=periods)
    stats = extended_stats(result, "IBM")
    assert stats["beta"] == pytest.approx(greeks["beta"], rel=1e-9)
    # quantstats annualises the mean excess return by multiplying: P x m. empyrical (and we)
    # compound it: (1 + m)^P - 1. The same m underneath:
    assert greeks["alpha"] / periods == pytest.approx(
        (1.0 + stats["alpha"]) ** (1.0 / periods) - 1.0, rel=1e-9
    )


def test_a_series_on_the_results_times_is_taken_as_it_is(backend: str) -> None:
    result = traded(backend)
    given = pd.Series(np.linspace(-0.01, 0.01, N_BARS), index=result.returns().index)
    assert (analysis.benchmark_returns(result, given) == given.to_numpy()).all()


def test_a_daily_series_is_compounded_into_each_weekly_bar(backend: str) -> None:
    daily = data.load_sample("AAPL")
    k = np.arange(0, daily.n_bars, 5)  # every fifth day: weekly bars
    weekly = Bars.from_arrays(
        daily.timestamps[k].view("datetime64[ns]"),
        *(getattr(daily, f)[k] for f in ("open", "high", "low", "close", "volume")),
        symbols=["AAPL"],
    )
    result = Engine(backend=backend).run(weekly, SmaCross())
    close = pd.Series(daily.close[:, 0], index=pd.DatetimeIndex(daily.timestamps))
    returns = close.pct_change().fillna(0.0)  # the first day's return: 0
    got = analysis.benchmark_returns(result, returns)
    # bar i earns the daily returns after bar i-1 up to and including its own day: the close
    # of bar i over the close of bar i-1 (the first bar: its own day's return, 0 here).
    expected = np.concatenate(([0.0], weekly.close[1:, 0] / weekly.close[:-1, 0] - 1.0))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    total = extended_stats(result, returns)["benchmark_return"]
    assert total == pytest.approx(weekly.close[-1, 0] / weekly.close[0, 0] - 1.0, rel=1e-9)


def test_daily_returns_land_on_each_days_last_bar_of_intraday_bars(backend: str) -> None:
    minutes = [
        f"2024-01-{day:02d}T{hour}:{minute:02d}"
        for day in (8, 9, 10)
        for hour in ("09", "10")
        for minute in range(0, 60, 30)
    ]
    times = np.array(minutes, dtype="datetime64[ns]")
    bars = Bars.from_arrays(times, *(np.full((len(times), 1), 10.0),) * 4, np.ones((12, 1)))
    result = Engine(backend=backend).run(bars, SmaCross())
    days = pd.DatetimeIndex(["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"])
    daily = pd.Series([0.5, 0.01, -0.02, 0.03], index=days)  # the 5th is before the run
    got = analysis.benchmark_returns(result, daily)
    expected = np.zeros(12)
    expected[[3, 7, 11]] = [0.01, -0.02, 0.03]  # 10:30, each day's last bar
    assert (got == expected).all()
    with pytest.raises(ConfigError, match="the Series covers 2024-01-05 00:00:00 .. 2024-01-09"):
        analysis.benchmark_returns(result, daily.iloc[:3])


def test_several_entries_in_a_bar_compound_and_one_stays_exact(backend: str) -> None:
    result = traded(backend)
    index = result.returns().index
    extra = index[:-1] + (index[1:] - index[:-1]) / 2  # one more entry inside each interval
    rng = np.random.default_rng(3)
    both = pd.Series(rng.normal(0.0, 0.01, 2 * N_BARS - 1), index=index.append(extra))
    got = analysis.benchmark_returns(result, both)
    ordered = both.sort_index()
    assert got[0] == ordered[index[0]]  # the first bar: its own entry, exactly
    for i in (1, 2, N_BARS - 1):
        pair = ordered[(ordered.index > index[i - 1]) & (ordered.index <= index[i])]
        assert len(pair) == 2
        assert got[i] == (1.0 + pair.iloc[0]) * (1.0 + pair.iloc[1]) - 1.0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("MSFT", "benchmark: 'MSFT' is not a symbol of the bars (AAPL, IBM)"),
        ([0.01, 0.02], f"benchmark: 2 returns for {N_BARS} bars"),
        (np.full(N_BARS, np.nan), "benchmark: return nan at bar 0 is not a finite number"),
        ({"a": 1}, "benchmark: expected None, a symbol or returns, got dict"),
        (pd.Series([0.1], index=[5]), "benchmark: a Series of returns needs a DatetimeIndex"),
        (
            pd.Series([0.1, 0.2], index=pd.DatetimeIndex(["2001-01-01", "2030-01-01"])),
            "benchmark: the Series covers 2001-01-01 00:00:00 .. 2030-01-01 00:00:00, the run",
        ),
        (
            pd.Series([0.1, 0.2], index=pd.DatetimeIndex(["1990-01-01", "1990-01-01"])),
            "benchmark: the Series has the time 1990-01-01 00:00:00 twice",
        ),
        (
            pd.Series(0.0, index=pd.date_range("1990", "2030", tz="UTC")),
            "benchmark: the Series' times are in the time zone UTC",
        ),
        (np.full(N_BARS, 30.0), "benchmark: every return is above 100 %: prices"),
        (pd.DataFrame({"SPY": np.zeros(N_BARS)}), "benchmark: a DataFrame; give one column"),
        (np.zeros(N_BARS, dtype=bool), "benchmark: returns must be real numbers, got bool"),
        (np.zeros(N_BARS, dtype=complex), "benchmark: returns must be real numbers, got complex"),
        ([None] * N_BARS, "benchmark: returns must be real numbers, got object"),
        (np.full(N_BARS, -1.5), "benchmark: return -1.5 at bar 0 is not a finite number >= -1"),
    ],
)
def test_a_bad_benchmark_is_a_config_error_naming_it(backend: str, bad: Any, message: str) -> None:
    result = traded(backend)
    for call in (extended_stats, BacktestResult.stats_series, analysis.benchmark_returns):
        with pytest.raises(ConfigError) as caught:
            call(result, bad)
        assert str(caught.value).startswith(message)


def test_a_result_without_bars_needs_the_benchmark_returns(backend: str) -> None:
    result = traded(backend)
    result.bars = None
    for benchmark in (None, "AAPL"):
        with pytest.raises(ConfigError, match="benchmark: this result has no bars"):
            result.stats_series(benchmark)
    stats = extended_stats(result, np.zeros(len(result.timestamps)))
    assert math.isnan(stats["buy_and_hold_return"])  # it needs the bars
    assert stats["benchmark_return"] == 0.0
    assert math.isnan(stats["beta"]) and math.isnan(stats["alpha"])  # a flat benchmark


# ============================================================================== trades
def test_trade_statistics_match_an_independent_computation(backend: str) -> None:
    result = traded(backend)
    pnl = np.array([t.pnl for t in result.trades])
    ret = np.array([t.return_ for t in result.trades])
    days = np.array([(t.exit_time - t.entry_time) / DAY for t in result.trades])
    stamps = list(result.timestamps)
    held = [stamps.index(t.exit_time) - stamps.index(t.entry_time) for t in result.trades]
    stats = extended_stats(result)
    n = len(pnl)
    std = math.sqrt(sum((p - pnl.mean()) ** 2 for p in pnl) / (n - 1))
    assert stats["sqn"] == pytest.approx(math.sqrt(n) * pnl.mean() / std, rel=1e-12)
    assert stats["expectancy"] == pytest.approx(sum(pnl) / n, rel=1e-12)
    assert stats["best_trade"] == max(ret) and stats["worst_trade"] == min(ret)
    assert stats["average_trade"] == pytest.approx(sum(ret) / n, rel=1e-12)
    assert stats["average_trade_duration"] == pytest.approx(sum(days) / n, rel=1e-12)
    assert stats["average_trade_bars"] == pytest.approx(sum(held) / n, rel=1e-12)
    assert stats["average_trade_duration"] > stats["average_trade_bars"]  # weekends count


def test_sqn_needs_two_trades_with_different_pnls(backend: str) -> None:
    rising = bars_from_rows([(10.0, 10.0, 10.0, 10.0)] * 2 + [(12.0, 12.0, 12.0, 12.0)] * 2)
    one, _ = run_script(
        backend, rising, {0: lambda c: c.buy("X", 10), 1: lambda c: c.sell("X", 10)}
    )
    assert [t.pnl for t in one.trades] == [20.0]
    assert math.isnan(extended_stats(one)["sqn"])
    assert extended_stats(one)["expectancy"] == 20.0
    same, _ = run_script(
        backend,
        bars_from_rows([(10.0, 10.0, 10.0, 10.0)] * 4),
        {
            0: lambda c: c.buy("X", 10),
            1: [lambda c: c.sell("X", 10), lambda c: c.buy("X", 10)],
            2: lambda c: c.sell("X", 10),
        },
    )
    assert [t.pnl for t in same.trades] == [0.0, 0.0]
    assert math.isnan(extended_stats(same)["sqn"])  # std 0, as backtesting.py


def test_a_run_without_trades_has_nan_trade_statistics(backend: str) -> None:
    result = quiet(backend, BARS)
    stats = result.stats_series()
    for key in EXTENDED_KEYS[4:11]:
        assert math.isnan(stats[key]), key
    assert stats["n_rejected"] == 0.0 and stats["exposure"] == 0.0
    assert stats["beta"] == pytest.approx(0.0, abs=1e-15)  # flat equity: no co-movement
    assert not any(key.startswith("rejected_") for key in stats.index)


def test_a_one_bar_result_has_every_statistic(backend: str) -> None:
    result = quiet(backend, one_bar(), initial_cash=10_000.0)
    stats = result.stats_series()
    assert math.isnan(stats["alpha"]) and math.isnan(stats["beta"])  # under 2 returns
    assert stats["buy_and_hold_return"] == stats["benchmark_return"] == 0.0  # bought at close
    assert list(stats.index) == list(result.stats) + list(EXTENDED_KEYS)
    assert len(result.returns()) == len(result.drawdown()) == len(result.equity_series()) == 1
    assert len(result.trades_frame()) == 0 and len(result.fills_frame()) == 0


def test_stats_series_is_the_stats_then_the_extended_ones_as_floats(backend: str) -> None:
    result = traded(backend)
    series = result.stats_series()
    assert series.dtype == np.float64
    assert list(series.index[: len(result.stats)]) == list(result.stats)
    assert series[: len(result.stats)].to_dict() == result.stats
    reasons = [f"rejected_{reason}" for reason in result.rejections]
    assert reasons and list(series.index[len(result.stats) :]) == list(EXTENDED_KEYS) + reasons
    assert series["n_rejected"] == sum(result.rejections.values())
    for reason, count in result.rejections.items():
        assert series[f"rejected_{reason}"] == count
    for key in series.index:  # every key has a label, a unit and a description
        label, unit, description = stat_info(key)
        assert label and unit and description
    assert stat_info("rejected_insufficient_cash")[0] == "Rejected: insufficient cash"
    assert STAT_INFO["total_return"][:2] == ("Total return [%]", "fraction")


# ==================================================================== rejected orders
def rejecting(backend: str) -> Engine:
    return Engine(backend=backend, initial_cash=1_000.0, lot_size=10)


ROWS = [(10.0, 10.5, 9.5, 10.0)] * 5
#: Bar 0: 15 shares are not a whole number of lots of 10 (rejected); 1000 shares cost 10,000:
#: the 100 that 1,000 of cash pays fill and the rest is cancelled (not a rejection). Bar 1:
#: 500 more with no cash left (rejected). Bar 2: 7 shares, not in lots (rejected).
REJECTED = {
    0: [lambda c: c.buy("X", 15), lambda c: c.buy("X", 1000)],
    1: lambda c: c.buy("X", 500),
    2: lambda c: c.buy("X", 7),
}
RUN_MESSAGE = (
    "the run rejected 3 orders: insufficient_cash 1, lot_size 2 "
    "(see result.rejections and result.orders_frame())"
)


def test_the_warning_points_at_the_users_line_through_the_compatibility_classes(
    backend: str,
) -> None:
    from quanta_fast import RustBacktestEngine

    engine = RustBacktestEngine(backend=backend, **rejecting(backend).config.as_dict())
    with pytest.warns(RejectedOrdersWarning) as caught:
        engine.run_backtest(bars_from_rows(ROWS), Script(REJECTED))
    assert [str(w.message) for w in caught] == [RUN_MESSAGE]
    assert caught[0].filename == __file__


def test_a_run_that_rejects_orders_warns_once_with_the_counts(backend: str) -> None:
    with pytest.warns(RejectedOrdersWarning) as caught:
        result = rejecting(backend).run(bars_from_rows(ROWS), Script(REJECTED))
    assert [str(w.message) for w in caught] == [RUN_MESSAGE]
    assert caught[0].filename == __file__  # it points at the user's call
    assert result.rejections == {"insufficient_cash": 1, "lot_size": 2}
    statuses = [o.status.value for o in result.orders]
    assert statuses == ["rejected", "cancelled", "rejected", "rejected"]


def test_array_runs_warn_once_with_the_counts(backend: str) -> None:
    # All in is 100 shares worth 1,000, over the 50 an order may be worth: each order that
    # reaches a fill is rejected (a weight on the last bar never does).
    bars = bars_from_rows(ROWS)
    engine = Engine(backend=backend, initial_cash=1_000.0, max_order_value=50.0)
    entries = np.array([True, False, False, False, False])
    with pytest.warns(RejectedOrdersWarning) as caught:
        engine.run_signals(bars, entries, ~entries)
    with pytest.warns(RejectedOrdersWarning) as caught_too:
        engine.run_targets(bars, np.array([0.5, np.nan, 0.5, np.nan, 0.5]))
    assert [str(w.message) for w in caught] == [
        "the run rejected 1 order: max_order_value 1 "
        "(see result.rejections and result.orders_frame())"
    ]
    assert [str(w.message) for w in caught_too] == [
        "the run rejected 2 orders: max_order_value 2 "
        "(see result.rejections and result.orders_frame())"
    ]
    assert caught[0].filename == caught_too[0].filename == __file__


def test_a_batch_warns_once_for_all_its_runs(backend: str) -> None:
    bars = bars_from_rows(ROWS)
    engine = Engine(backend=backend, initial_cash=1_000.0, max_order_value=50.0)
    # 0.5 of 1,000 is over the 50 an order may be worth: 4 rejections a run (bars 1 to 4);
    # 0.01 buys 1 share and holds it.
    jobs = [Targets(np.full(5, 0.5)), Targets(np.full(5, 0.01)), Targets(np.full(5, 0.5))]
    with pytest.warns(RejectedOrdersWarning) as caught:
        engine.run_many(bars, jobs)
    assert [str(w.message) for w in caught] == [
        "2 of 3 runs rejected orders: max_order_value 8 "
        "(see result.rejections and result.orders_frame() of each run)"
    ]
    assert caught[0].filename == __file__

    def job(cache: Any, weight: float) -> Targets:
        return Targets(np.full(5, weight))

    with pytest.warns(RejectedOrdersWarning) as caught:
        found = engine.optimize(bars, job, {"weight": [0.5, 0.01, 0.02, 0.5]})
    assert [str(w.message) for w in caught] == [
        "2 of 4 runs rejected orders: max_order_value 8 (found.rejections holds each "
        "combination's, in the table's order)"
    ]
    assert caught[0].filename == __file__
    assert len(found.table) == 4
    assert [sum(counts.values()) for counts in found.rejections] == [4, 0, 0, 4]


def test_an_optimize_on_an_executor_warns_for_every_run(backend: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bars = bars_from_rows(ROWS)
    engine = Engine(backend=backend, initial_cash=1_000.0, max_order_value=50.0)

    def job(cache: Any, weight: float) -> Signals | Targets:
        return Targets(np.full(5, weight))

    with ThreadPoolExecutor(2) as pool, pytest.warns(RejectedOrdersWarning) as caught:
        engine.optimize(bars, job, {"weight": [0.5, 0.01, 0.5]}, executor=pool)
    assert [str(w.message) for w in caught] == [
        "2 of 3 runs rejected orders: max_order_value 8 (found.rejections holds each "
        "combination's, in the table's order)"
    ]


def test_no_warning_when_nothing_was_rejected_even_if_orders_ended_unfilled(backend: str) -> None:
    bars = bars_from_rows(ROWS)
    actions = {
        0: lambda c: c.buy("X", 10, "limit", limit_price=1.0),  # cancelled on bar 1
        1: [
            lambda c: c.cancel(c.open_orders()[0].order_id),
            lambda c: c.buy("X", 10, "limit", limit_price=1.0, time_in_force="day"),  # expires
        ],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = rejecting(backend).run(bars, Script(actions))
        rejecting(backend).run_many(bars, [Targets(np.full(5, 0.5))])
    statuses = sorted(o.status.value for o in result.orders)
    assert statuses == ["cancelled", "expired"]
    assert result.rejections == {}


def test_the_warning_is_silenced_by_the_standard_filter(backend: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", quanta_ref.RejectedOrdersWarning)
        result = rejecting(backend).run(bars_from_rows(ROWS), Script(REJECTED))
    assert sum(result.rejections.values()) == 3


# ============================================================================== jupyter
class Tags(HTMLParser):
    """Checks that every opened tag is closed in order, and keeps the tags and text."""

    VOID = {"br", "hr", "img", "meta", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing open"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> Tags:
    tags = Tags()
    tags.feed(markup)
    tags.close()
    assert tags.open == [], f"unclosed {tags.open}"
    return tags


def test_the_jupyter_view_shows_the_main_statistics_and_a_sparkline(backend: str) -> None:
    result = traded(backend)
    tags = parsed(result._repr_html_())
    text = " ".join(tags.text)
    for key in ("total_return", "sharpe_ratio", "max_drawdown", "n_trades", "exposure"):
        assert STAT_INFO[key][0] in text
    percent = f"{result.stats['total_return'] * 100:,.2f}"
    assert percent in text
    counts = ", ".join(f"{reason} {n}" for reason, n in result.rejections.items())
    assert f"Rejected orders {sum(result.rejections.values())} ({counts})" in text
    assert "lot_size 9" in counts  # bars 0, 100, ..., 800
    assert "2000-03-01 to " in text
    names = [tag for tag, _ in tags.seen]
    assert "svg" in names and "polyline" in names
    points = dict(tags.seen)["polyline"]["points"].split()
    assert 150 <= len(points) <= 200  # hundreds of bars, downsampled
    ys = [float(p.split(",")[1]) for p in points]
    assert min(ys) >= 0.0 and max(ys) <= 48.0


def test_the_jupyter_view_of_a_one_bar_result_draws_a_flat_line(backend: str) -> None:
    result = quiet(backend, one_bar(), initial_cash=10_000.0)
    tags = parsed(result._repr_html_())
    points = dict(tags.seen)["polyline"]["points"].split()
    assert len(points) == 2 and points[0].split(",")[1] == points[1].split(",")[1]
    assert "BacktestResult: 1 bar, 2024-01-01" in " ".join(tags.text)


def test_the_jupyter_view_needs_neither_pandas_nor_plotly(backend: str) -> None:
    code = (
        "import sys\n"
        "from quanta_ref import Engine, data\n"
        "from quanta_ref.examples import SmaCross\n"
        f"result = Engine(backend={backend!r}).run(data.load_sample('AAPL'), SmaCross())\n"
        "assert '<polyline' in result._repr_html_()\n"
        "print(sorted(m for m in ('pandas', 'plotly') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


class Garbage:
    """An executor whose futures return nonsense."""

    def submit(self, fn: Any, *args: Any) -> Any:
        return self

    def result(self) -> Any:
        return None

    def cancel(self) -> bool:
        return True


def test_optimize_still_names_the_users_executor_in_its_errors(backend: str) -> None:
    engine = Engine(backend=backend)

    def job(cache: Any, weight: float) -> Targets:
        return Targets(np.full(5, weight))

    bars, grid = bars_from_rows(ROWS), {"weight": [0.5]}
    with pytest.raises(ConfigError, match="executor: expected a concurrent.futures.Executor"):
        engine.optimize(bars, job, grid, executor="nope")
    with pytest.raises(quanta_ref.QuantaError, match="executor: Garbage returned NoneType"):
        engine.optimize(bars, job, grid, executor=Garbage())


def test_something_that_is_not_a_result_is_a_config_error_naming_result() -> None:
    import quanta_report

    calls = [
        analysis.stats_series,
        analysis.extended_stats,
        analysis.fills_frame,
        analysis.orders_frame,
        analysis.trades_frame,
        analysis.positions_frame,
        analysis.equity_series,
        analysis.returns_series,
        analysis.drawdown_series,
        analysis.benchmark_returns,
        analysis.result_html,
        quanta_report.figure,
        quanta_report.monthly_returns,
    ]
    for call in calls:
        with pytest.raises(ConfigError, match="result: expected a BacktestResult, got NoneType"):
            call(None)
    with pytest.raises(ConfigError, match="bars, config: expected a Bars panel"):
        buy_and_hold_equity("x", None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="values: a sparkline needs at least one finite"):
        analysis.sparkline([])
    assert "nan" not in analysis.sparkline([1.0, float("nan"), 2.0, float("inf")])
