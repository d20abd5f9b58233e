"""Walk-forward: windows of rows, optimisation on the training rows, one stitched account
(docs/semantics.md, section 18)."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quanta_ref import (
    BacktestResult,
    Bars,
    ConfigError,
    Engine,
    IndicatorCache,
    Signals,
    Strategy,
    Targets,
    data,
)
from quanta_ref.examples import SmaCross
from quanta_ref.metrics import compute_stats, infer_periods_per_year
from quanta_ref.walkforward import NO_WINNER, RUINED, TRADED, WalkForwardResult, window_rows

BARS = data.synthetic(300, n_symbols=2, seed=3)
SETTINGS = {"initial_cash": 1_000_000.0, "commission_rate": 0.0003}
GRID = {"fast": [5, 10, 15], "slow": [20, 30]}


def crossover(cache: IndicatorCache, fast: int, slow: int) -> Signals:
    f, s = cache.panel("sma", fast), cache.panel("sma", slow)
    return Signals(cache.crossed_above(f, s), cache.crossed_below(f, s), size=0.5)


def rows(bars: Bars, start: int, stop: int) -> Bars:
    """Rows start .. stop - 1, by their first and last timestamps."""
    ts = bars.timestamps
    return bars.between(np.datetime64(int(ts[start]), "ns"), np.datetime64(int(ts[stop - 1]), "ns"))


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN (numbers, dicts of numbers)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return bool(a == b)


# ============================================================================== windows
def test_windows_tile_the_rows_after_the_first_training_window() -> None:
    assert window_rows(10, 4, 2) == [(0, 4, 4, 6), (2, 6, 6, 8), (4, 8, 8, 10)]
    assert window_rows(11, 4, 2) == [(0, 4, 4, 6), (2, 6, 6, 8), (4, 8, 8, 10)]  # row 10 idle
    assert window_rows(10, 4, 2, anchored=True) == [(0, 4, 4, 6), (0, 6, 6, 8), (0, 8, 8, 10)]
    assert window_rows(10, 4, 2, step=3) == [(0, 4, 4, 6), (3, 7, 7, 9)]
    assert window_rows(5, 4, 1) == [(0, 4, 4, 5)]


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"train": 0, "test": 5}, "train: expected a whole number of bars >= 1, got 0"),
        ({"train": 50, "test": -1}, "test: expected a whole number of bars >= 1, got -1"),
        ({"train": 50.0, "test": 5}, "train: expected a whole number of bars >= 1, got 50.0"),
        ({"train": True, "test": 5}, "train: expected a whole number of bars >= 1, got True"),
        ({"train": 50, "test": "5"}, "test: expected a whole number of bars >= 1, got '5'"),
        ({"train": 50, "test": 10, "step": 0}, "step: expected a whole number of bars >= 1"),
        ({"train": 50, "test": 10, "step": 5}, "step: 5 is below test=10: the test windows"),
        ({"train": 50, "test": 10, "anchored": 1}, "anchored: expected True or False, got 1"),
        ({"train": 250, "test": 51}, "train, test: 300 bars cannot hold one window of 250 "),
    ],
)
def test_walk_forward_refuses_bad_windows(keywords: dict[str, Any], message: str) -> None:
    def make_job(cache: IndicatorCache, fast: int, slow: int) -> Signals:
        raise AssertionError("no job should be built")

    with pytest.raises(ConfigError, match=re.escape(message)):
        Engine().walk_forward(BARS, make_job, GRID, **keywords)


# ================================================================ the rules, by hand
def test_walk_forward_equals_two_windows_computed_by_hand(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    walk = engine.walk_forward(BARS, crossover, GRID, train=100, test=100)
    assert isinstance(walk, WalkForwardResult) and len(walk.results) == 2

    cash = SETTINGS["initial_cash"]
    expected: list[BacktestResult] = []
    chosen = []
    for train_start in (0, 100):
        test_start, test_end = train_start + 100, train_start + 200
        found = engine.optimize(rows(BARS, train_start, test_start), crossover, GRID)
        assert found.best_params is not None
        chosen.append((found.best_params, found.best_value))
        # Built on the training and test rows, so the SMAs are warm; cut to the test rows.
        warm = IndicatorCache(rows(BARS, train_start, test_end), backend)
        job = crossover(warm, **found.best_params)
        account = Engine(backend=backend, **{**SETTINGS, "initial_cash": cash})
        run = account.run_signals(
            rows(BARS, test_start, test_end), job.entries[100:], job.exits[100:], size=0.5
        )
        expected.append(run)
        cash = float(run.equity[-1])

    assert np.array_equal(walk.equity, np.concatenate([r.equity for r in expected]))
    assert np.array_equal(walk.timestamps, BARS.timestamps[100:300])
    assert walk.results[1] is not None and walk.results[1].fills == expected[1].fills
    windows = walk.windows.to_dict("records")
    for k, window in enumerate(windows):
        params, in_sample = chosen[k]
        assert {"fast": window["fast"], "slow": window["slow"]} == params
        assert window["in_sample"] == in_sample
        assert window["out_of_sample"] == expected[k].stats["sharpe_ratio"]
        assert window["test_start"] == np.datetime64(int(BARS.timestamps[100 + 100 * k]), "ns")
        assert window["train_end"] == np.datetime64(int(BARS.timestamps[99 + 100 * k]), "ns")
        assert window["status"] == TRADED
    assert windows[1]["start_equity"] == expected[0].equity[-1]
    assert walk.stats["final_equity"] == expected[1].equity[-1]
    assert walk.stats["n_trades"] == len(expected[0].trades) + len(expected[1].trades)
    assert walk.stats["n_fills"] == len(expected[0].fills) + len(expected[1].fills)
    assert walk.stats["start_equity"] == SETTINGS["initial_cash"]
    # The stitched statistics, recomputed from the stitched curve.
    in_market = sum(round(r.stats["exposure"] * 100) for r in expected)
    traded = 0.0
    for fill in expected[0].fills + expected[1].fills:
        traded += fill.value
    stats = compute_stats(
        walk.timestamps,
        walk.equity,
        SETTINGS["initial_cash"],
        trade_pnls=[t.pnl for r in expected for t in r.trades],
        traded_value=traded,
        bars_in_market=in_market,
    )
    assert same(stats, {k: walk.stats[k] for k in stats})


def test_indicators_of_the_test_job_are_warm_on_the_first_test_row(backend: str) -> None:
    seen: list[np.ndarray] = []

    def make_job(cache: IndicatorCache, period: int) -> Targets:
        average = cache.panel("sma", period)
        seen.append(average)
        return Targets(np.where(np.isnan(average), np.nan, 0.4))

    walk = Engine(backend=backend).walk_forward(
        BARS, make_job, {"period": [60]}, train=80, test=20, metric="final_equity"
    )
    # One array per optimisation (80 rows) and per test job (100 rows), in window order.
    test_jobs = seen[1::2]
    assert [len(a) for a in test_jobs] == [100] * len(walk.results)
    assert all(np.isfinite(a[80:]).all() for a in test_jobs)  # warm from the first test row
    for result in walk.results:  # so every test window buys on its first row
        assert result is not None and result.orders[0].created_at == int(result.timestamps[0])


def test_a_strategy_job_runs_on_the_test_rows_only(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)

    def make_job(cache: IndicatorCache, fast: int, slow: int) -> SmaCross:
        return SmaCross(fast=fast, slow=slow)

    walk = engine.walk_forward(BARS, make_job, GRID, train=120, test=60, metric="total_return")
    assert len(walk.results) == 3
    cash = SETTINGS["initial_cash"]
    for k, window in enumerate(walk.windows.to_dict("records")):
        test_start = 120 + 60 * k
        account = Engine(backend=backend, **{**SETTINGS, "initial_cash": cash})
        strategy = SmaCross(fast=window["fast"], slow=window["slow"])
        run = account.run(rows(BARS, test_start, test_start + 60), strategy)
        result = walk.results[k]
        assert result is not None and np.array_equal(result.equity, run.equity)
        cash = float(run.equity[-1])
    assert walk.equity[-1] == cash


class CacheTrend(Strategy):
    """Holds half its cash in a symbol while its close is above its SMA(10), both arrays
    taken from the cache and read by ``ctx.bar_index``; logs every row whose cached close is
    not the close of the bar it is on."""

    close: Any = None
    average: Any = None
    misread: Any = None

    def on_bar(self, ctx: Any, bar: Any) -> None:
        column = list(ctx.symbols).index(bar.symbol)
        row = ctx.bar_index
        if self.close[row, column] != bar.close:
            self.misread.append(row)
        if self.close[row, column] > self.average[row, column]:
            ctx.order_target_percent(bar.symbol, 0.5)
        elif ctx.position(bar.symbol) != 0.0:
            ctx.order_target_percent(bar.symbol, 0.0)


def test_a_strategy_job_reads_its_cache_on_the_rows_it_runs_on(backend: str) -> None:
    misread: list[int] = []

    def make_job(cache: IndicatorCache, period: int) -> CacheTrend:
        return CacheTrend(
            close=cache.bars_field("close"), average=cache.panel("sma", period), misread=misread
        )

    engine = Engine(backend=backend, **SETTINGS)
    walk = engine.walk_forward(
        BARS, make_job, {"period": [10]}, train=100, test=50, metric="total_return"
    )
    assert len(walk.results) == 4 and misread == []  # the test runs read their own rows
    cash = SETTINGS["initial_cash"]
    for k, result in enumerate(walk.results):
        # By hand: the Strategy built on a cache of the test rows alone.
        test_rows = rows(BARS, 100 + 50 * k, 150 + 50 * k)
        account = Engine(backend=backend, **{**SETTINGS, "initial_cash": cash})
        run = account.run(test_rows, make_job(IndicatorCache(test_rows, backend), 10))
        assert result is not None and np.array_equal(result.equity, run.equity)
        assert result.fills == run.fills and run.fills
        cash = float(run.equity[-1])
    assert misread == []


def test_every_run_of_a_walk_is_annualised_with_the_periods_per_year_of_all_bars(
    backend: str,
) -> None:
    bars = data.synthetic(600, n_symbols=2, seed=3, freq="30min")
    whole = infer_periods_per_year(bars.timestamps)
    # A test window alone (20 rows, within a day or two) infers another number.
    assert infer_periods_per_year(rows(bars, 200, 220).timestamps) != whole
    walk = Engine(backend=backend, **SETTINGS).walk_forward(
        bars, crossover, GRID, train=200, test=20, step=40
    )
    assert walk.stats["periods_per_year"] == whole
    for found, result in zip(walk.optimizations, walk.results, strict=True):
        assert found.best is not None and found.best.stats["periods_per_year"] == whole
        assert result is not None and result.stats["periods_per_year"] == whole
    # A setting of the engine is kept.
    fixed = Engine(backend=backend, **SETTINGS, periods_per_year=1000.0).walk_forward(
        bars, crossover, GRID, train=200, test=20, step=40
    )
    assert fixed.stats["periods_per_year"] == 1000.0
    assert all(r is not None and r.stats["periods_per_year"] == 1000.0 for r in fixed.results)
    assert all(
        o.best is not None and o.best.stats["periods_per_year"] == 1000.0
        for o in fixed.optimizations
    )


def test_positions_do_not_carry_from_one_window_to_the_next(backend: str) -> None:
    def always_in(cache: IndicatorCache, size: float) -> Signals:
        shape = cache.bars.close.shape
        return Signals(np.ones(shape, bool), np.zeros(shape, bool), size=size)

    engine = Engine(backend=backend, **SETTINGS)
    walk = engine.walk_forward(BARS, always_in, {"size": [0.5]}, train=50, test=50)
    results = [r for r in walk.results if r is not None]
    assert len(results) == 5
    for before, after in zip(results, results[1:], strict=False):
        # Valued at the last close, then cash: the next window starts flat and buys again.
        assert any(p.quantity != 0.0 for p in before.positions)
        assert after.stats["start_equity"] == before.equity[-1]
        assert after.fills[0].side.value == "buy"
        # Flat at the first close; the buy placed there fills at the next open.
        assert after.cash[0] == after.equity[0] == before.equity[-1]
        assert after.fills[0].timestamp == int(after.timestamps[1])
        assert after.cash[1] < after.equity[1]
    assert walk.stats["n_trades"] == 0  # never closed inside a window: no closed trade
    assert walk.stats["n_fills"] == sum(len(r.fills) for r in results)


def test_a_window_without_a_winner_stays_in_cash(backend: str) -> None:
    cutoff = int(BARS.timestamps[100])

    def late_only(result: BacktestResult) -> float:  # NaN for training rows before the cutoff
        return math.nan if result.timestamps[0] < cutoff else result.stats["total_return"]

    engine = Engine(backend=backend, **SETTINGS)
    walk = engine.walk_forward(BARS, crossover, GRID, train=100, test=50, metric=late_only)
    windows = walk.windows.to_dict("records")
    quiet = [w for w in windows if w["status"] == NO_WINNER]
    assert [w["window"] for w in quiet] == [0, 1]  # trained on rows 0..99 and 50..149
    for w in quiet:
        # None in the records; pandas shows it as a missing value in a number column.
        assert math.isnan(w["fast"]) and math.isnan(w["slow"]) and math.isnan(w["in_sample"])
    assert np.all(walk.equity[:100] == SETTINGS["initial_cash"])
    assert walk.results[0] is not None and walk.results[0].fills == []
    assert windows[2]["status"] == TRADED and windows[2]["start_equity"] == 1_000_000.0
    traded = walk.results[2]
    assert traded is not None and traded.fills
    assert windows[2]["out_of_sample"] == late_only(traded)
    assert walk.metric == "late_only"


def test_anchored_windows_train_from_the_first_row(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    walk = engine.walk_forward(BARS, crossover, GRID, train=100, test=50, step=70, anchored=True)
    first = np.datetime64(int(BARS.timestamps[0]), "ns")
    windows = walk.windows.to_dict("records")
    assert [w["train_start"] for w in windows] == [first, first, first]
    for k, window in enumerate(windows):
        found = engine.optimize(rows(BARS, 0, 100 + 70 * k), crossover, GRID)
        assert {"fast": window["fast"], "slow": window["slow"]} == found.best_params
    # The rows between test windows are skipped: the stitched curve jumps over them.
    expected = np.concatenate([BARS.timestamps[a : a + 50] for a in (100, 170, 240)])
    assert np.array_equal(walk.timestamps, expected) and len(walk.equity) == 150


# ============================================================ both backends, presentation
def test_walk_forward_is_identical_on_both_backends(backend_rust: None) -> None:
    def strategy_job(cache: IndicatorCache, fast: int, slow: int) -> SmaCross:
        return SmaCross(fast=fast, slow=slow)

    for make_job, keywords in (
        (crossover, {"train": 90, "test": 40}),
        (strategy_job, {"train": 80, "test": 60, "step": 70, "anchored": True}),
    ):
        walks = [
            Engine(backend=name, **SETTINGS).walk_forward(BARS, make_job, GRID, **keywords)
            for name in ("python", "rust")
        ]
        assert walks[0].equity.tobytes() == walks[1].equity.tobytes()
        assert walks[0].timestamps.tobytes() == walks[1].timestamps.tobytes()
        assert same(walks[0].stats, walks[1].stats)
        assert walks[0].windows.equals(walks[1].windows)
        fills = [[r.fills for r in walk.results if r is not None] for walk in walks]
        assert fills[0] == fills[1]


def test_walk_forward_windows_are_a_list_without_pandas(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    walk = Engine(backend=backend).walk_forward(BARS, crossover, GRID, train=100, test=100)
    assert isinstance(walk.windows, list) and len(walk.windows) == 2
    assert list(walk.windows[0])[:7] == [
        "window",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "fast",
        "slow",
    ]
    assert "2 windows" in walk._repr_html_()


def test_walk_forward_repr_and_jupyter_view(backend: str) -> None:
    def make_job(cache: IndicatorCache, fast: int, slow: int, note: str) -> Signals:
        return crossover(cache, fast, slow)

    grid = {**GRID, "note": ["<i>"]}
    walk = Engine(backend=backend).walk_forward(BARS, make_job, grid, train=100, test=100)
    final = f"{walk.equity[-1]:,.2f}"
    assert repr(walk) == (
        f"WalkForwardResult(2 windows, 200 out-of-sample bars, metric='sharpe_ratio', "
        f"final equity {final})"
    )
    page = walk._repr_html_()
    assert "<i>" not in page and "&lt;i&gt;" in page and page.count("<tr>") == 1 + 1 + 1 + 2
    assert walk["final_equity"] == walk.equity[-1]


def test_the_jupyter_view_shows_the_metric_in_its_unit(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    walk = engine.walk_forward(BARS, crossover, GRID, train=100, test=100, metric="total_return")
    page = walk._repr_html_()
    for window in walk.windows.to_dict("records"):
        for key in ("in_sample", "out_of_sample"):
            value = window[key]
            assert f"<td>{value * 100:,.2f}</td>" in page  # a return, in percent
            assert repr(value) not in page

    def edge(result: BacktestResult) -> float:  # not a statistic: six significant digits
        return float(result.stats["total_return"]) + 1.0 / 3.0

    walk = engine.walk_forward(BARS, crossover, GRID, train=100, test=100, metric=edge)
    page = walk._repr_html_()
    for window in walk.windows.to_dict("records"):
        for key in ("in_sample", "out_of_sample"):
            text = f"{window[key]:.6g}"
            assert f"<td>{text}</td>" in page and repr(window[key]) not in page


def test_readme_walk_forward_example_runs(
    backend_rust: None, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Many runs, grids and clusters", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    example = next(block for block in blocks if "walk_forward" in block)
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # bars, engine, sma_cross
    exec(compile(example, "README.md", "exec"), namespace)
    walk = namespace["walk"]
    assert len(walk.results) == (3270 - 504) // 126
    assert str(walk.equity[-1]) in capsys.readouterr().out


def test_after_a_ruin_the_later_windows_are_not_traded(backend: str) -> None:
    def short(cache: IndicatorCache, weight: float) -> Targets:
        return Targets(np.full(cache.bars.close.shape, weight))

    bars = data.synthetic(300, n_symbols=1, seed=3)
    engine = Engine(backend=backend, allow_short=True, max_leverage=50.0)
    walk = engine.walk_forward(bars, short, {"weight": [-20.0]}, train=50, test=50)
    statuses = list(walk.windows["status"])
    assert statuses == [TRADED, TRADED, RUINED, RUINED, RUINED]
    assert walk.results[1] is not None and walk.results[1].equity[-1] <= 0.0
    assert walk.results[2:] == [None, None, None]
    assert np.all(walk.equity[100:] == walk.results[1].equity[-1])
    assert walk.stats["max_drawdown"] == -1.0
    assert walk.stats["final_equity"] == walk.results[1].equity[-1]


def test_walk_forward_warns_once_of_the_orders_its_test_windows_rejected(backend: str) -> None:
    from quanta_ref import RejectedOrdersWarning

    engine = Engine(backend=backend, **SETTINGS, max_order_value=1_000.0)
    with pytest.warns(RejectedOrdersWarning) as caught:
        found = engine.walk_forward(
            BARS, crossover, GRID, train=100, test=50, metric="total_return"
        )
    rejected = [r.rejections for r in found.results if r is not None and r.rejections]
    assert rejected, "the order value limit rejects every entry"
    assert len(caught) == 1
    message = str(caught[0].message)
    total = sum(r.get("max_order_value", 0) for r in rejected)
    assert message.startswith(f"{len(rejected)} of {len(found.results)} runs rejected orders")
    assert f"max_order_value {total}" in message


def test_the_out_of_sample_account_reads_as_series_like_a_run(backend: str) -> None:
    walked = Engine(backend=backend, **SETTINGS).walk_forward(
        BARS, crossover, GRID, train=100, test=50
    )
    equity, returns, drawdown = walked.equity_series(), walked.returns(), walked.drawdown()
    assert (equity.to_numpy() == walked.equity).all()
    assert list(equity.index.asi8) == list(walked.timestamps)
    first = walked.equity[0] / SETTINGS["initial_cash"] - 1.0
    assert returns.iloc[0] == first and returns.iloc[1] == walked.equity[1] / walked.equity[0] - 1
    assert drawdown.min() == walked.stats["max_drawdown"]
