"""Charts and the HTML report of a run (`quanta_report`), without a browser.

The figures are checked against numbers computed here from the run (fills, equity, bars),
not against themselves; tests/test_report_browser.py opens the pages in Chromium.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quanta_cli.cli import main
from quanta_ref import Engine, analysis, data
from quanta_ref.bars import Bars
from quanta_ref.errors import ConfigError
from quanta_ref.examples import SmaCross
from quanta_report import (
    figure,
    heatmap_figure,
    monthly_returns,
    optimize_report,
    rolling_sharpe_figure,
    walk_forward_figure,
    walk_forward_report,
)
from quanta_report import html as report_html
from quanta_report.downsample import BUCKETS, bucket_sums, minmax_indices
from quanta_report.figures import TimeAxis

SETTINGS = {"initial_cash": 1_000_000.0, "commission_rate": 0.0003}


def demo_run(backend: str):  # type: ignore[no-untyped-def]
    return Engine(backend=backend, **SETTINGS).run(data.load_sample("AAPL"), SmaCross())


def traces(fig, name: str):  # type: ignore[no-untyped-def]
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


# ================================================================================ downsample
def test_minmax_downsampling_keeps_spikes_gaps_and_both_ends() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=100_000).cumsum()
    values[31_337] = 1e6  # a one-bar spike
    values[77_777] = -1e6  # a one-bar crash
    values[50_000:50_010] = np.nan  # a gap
    keep = minmax_indices(values, buckets=1_000)
    assert keep[0] == 0 and keep[-1] == values.size - 1
    assert {31_337, 77_777} <= set(keep.tolist())
    assert np.isnan(values[keep]).any()  # the gap stays a gap
    assert len(keep) <= 3 * 1_000 + 2 and np.all(np.diff(keep) > 0)
    # every bucket's extremes are kept
    width = -(-values.size // 1_000)
    for start in range(0, values.size, width * 97):
        bucket = values[start : start + width]
        if np.isfinite(bucket).any():
            assert start + int(np.nanargmax(bucket)) in keep
            assert start + int(np.nanargmin(bucket)) in keep


def test_short_series_are_drawn_whole_and_volume_sums_keep_the_total() -> None:
    assert minmax_indices(np.arange(10.0), buckets=4).tolist() == list(range(10))
    volume = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    assert bucket_sums(volume, 2).tolist() == [3.0, 4.0, 5.0]


# ================================================================================ the figure
def test_figure_draws_every_fill_of_the_symbol_at_its_price(backend: str) -> None:
    result = demo_run(backend)
    fig = result.plot()
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [
        "Equity",
        "Drawdown",
        "AAPL: price and fills",
        "AAPL: position (quantity held)",
        "Volume",
    ]
    for side, name in (("buy", "Buy"), ("sell", "Sell")):
        fills = [f for f in result.fills if f.side.value == side]
        trace = traces(fig, name)
        assert len(trace.x) == len(fills) > 0
        assert np.array_equal(np.asarray(trace.y), [f.price for f in fills])
        assert np.array_equal(np.asarray(trace.customdata)[:, 0], [f.quantity for f in fills])
        day = str(np.datetime64(fills[0].timestamp, "ns").astype("datetime64[D]"))
        assert trace.x[0] == day
    position = traces(fig, "Position")
    assert position.y[-1] == result.positions[0].quantity
    assert position.line.shape == "hv"


def test_figure_compares_with_the_buy_and_hold_and_draws_the_drawdown(backend: str) -> None:
    result = demo_run(backend)
    fig = figure(result)
    expected = analysis.buy_and_hold_equity(result.bars, result.config)
    assert np.array_equal(np.asarray(traces(fig, "Buy & hold").y), expected)
    assert np.array_equal(np.asarray(traces(fig, "Strategy").y), result.equity)
    drawdown = np.asarray(traces(fig, "Drawdown").y)
    assert drawdown.min() == pytest.approx(result["max_drawdown"], rel=1e-12)
    returns = np.full(len(result.timestamps), 0.0001)
    mine = figure(result, benchmark=pd.Series(returns, index=result.equity_series().index))
    assert np.asarray(traces(mine, "Benchmark").y)[-1] == pytest.approx(
        1e6 * 1.0001 ** len(returns)
    )


def test_a_rebalancing_run_charts_the_first_symbol_traded_against_a_chosen_benchmark(
    backend: str,
) -> None:
    bars = data.load_samples(["GOOG", "IBM", "MSFT"])
    weights = np.full(bars.close.shape, np.nan)
    weights[::21] = [0.3, 0.3, 0.3]
    result = Engine(backend=backend, **SETTINGS).run_targets(bars, weights)
    fig = figure(result, benchmark="IBM")
    assert result.fills[0].symbol == "IBM"  # GOOG lists in 2004
    assert fig.layout.annotations[2].text == "IBM: price and fills"
    expected = analysis.buy_and_hold_equity(bars.select(["IBM"]), result.config)
    assert np.array_equal(np.asarray(traces(fig, "Buy & hold IBM").y), expected)
    goog = figure(result, symbol="GOOG")
    buys = [f for f in result.fills if f.symbol == "GOOG" and f.side.value == "buy"]
    assert len(traces(goog, "Buy").x) == len(buys) > 0
    close = np.asarray(traces(goog, "GOOG close").y)
    assert np.isnan(close[0]) and np.isnan(close).sum() == np.isnan(bars.close[:, 0]).sum()


def test_few_bars_are_candles_and_many_bars_a_thinned_line(backend: str) -> None:
    bars = data.synthetic(500, seed=3)
    engine = Engine(backend=backend, **SETTINGS)
    few = figure(engine.run(bars, SmaCross(fast=5, slow=20)))
    assert [t.type for t in few.data if t.name == "S0"] == ["candlestick"]

    bars = data.synthetic(200_000, seed=3, freq="1min", volatility=0.001)
    result = engine.run(bars, SmaCross(fast=10, slow=30))
    fig = figure(result)
    assert not [t for t in fig.data if t.type == "candlestick"]
    for trace in fig.data:
        if trace.name in ("Buy", "Sell"):
            side = trace.name.lower()
            assert len(trace.x) == sum(f.side.value == side for f in result.fills)
        elif trace.name != "Position":
            assert len(trace.x) <= 3 * BUCKETS + 2, trace.name
    assert len(traces(fig, "Buy").x) + len(traces(fig, "Sell").x) == len(result.fills) > 5_000
    # the thinned equity keeps its extremes
    equity = np.asarray(traces(fig, "Strategy").y)
    assert equity.max() == result.equity.max() and equity.min() == result.equity.min()
    volume = np.asarray(traces(fig, "Volume").y)
    assert volume.sum() == pytest.approx(bars.volume.sum(), rel=1e-12)


def test_a_symbol_not_in_the_bars_is_refused(backend: str) -> None:
    result = demo_run(backend)
    with pytest.raises(ConfigError, match="symbol: 'XYZ' is not a symbol"):
        result.plot(symbol="XYZ")
    with pytest.raises(ConfigError, match="benchmark"):
        result.plot(benchmark="XYZ")


def test_plot_without_plotly_says_which_extra_to_install(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = demo_run(backend)
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(ImportError, match=re.escape("pip install quanta[plot]")):
        result.plot()


def test_importing_quanta_ref_imports_neither_plotly_nor_the_report() -> None:
    code = (
        "import sys, quanta_ref, quanta_ref.api; "
        "print(sorted(m for m in ('plotly', 'quanta_report') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ================================================================================ the report
def test_monthly_returns_compound_to_month_end_equity(backend: str) -> None:
    result = demo_run(backend)
    table = monthly_returns(result)
    equity = result.equity_series()
    month_end = equity.groupby([equity.index.year, equity.index.month]).last()
    before = np.concatenate(([1_000_000.0], month_end.to_numpy()[:-1]))
    expected = month_end.to_numpy() / before - 1.0
    got = np.array([table.loc[y, m] for y, m in month_end.index])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    year_end = equity.groupby(equity.index.year).last()
    years = year_end.to_numpy() / np.concatenate(([1e6], year_end.to_numpy()[:-1])) - 1.0
    np.testing.assert_allclose(table["year"].to_numpy(), years, rtol=1e-9, atol=1e-12)
    assert np.isnan(table.loc[2000, 1])  # the data starts in March 2000


def test_rolling_sharpe_is_a_quarter_year_window(backend: str) -> None:
    result = demo_run(backend)
    fig = report_html.rolling_sharpe_figure(result)
    assert report_html.rolling_sharpe_window(result) == 63
    returns = analysis.bar_returns(np.asarray(result.equity), 1e6)
    last = returns[-63:]
    expected = last.mean() / last.std(ddof=1) * np.sqrt(252.0)
    assert np.asarray(fig.data[0].y)[-1] == pytest.approx(expected, rel=1e-9)


def test_report_is_one_offline_page_with_stats_and_trades(backend: str, tmp_path: Path) -> None:
    result = demo_run(backend)
    path = result.report(tmp_path / "run.html", title="AAPL <crossover>")
    assert path == tmp_path / "run.html"
    page = path.read_text(encoding="utf-8")
    assert "<title>AAPL &lt;crossover&gt;</title>" in page
    # Nothing to fetch: no tag that loads a file; plotly.js inline once, then the two figures.
    assert re.findall(r"<(?:script|link|img|iframe|style)\b[^>]*>", page) == [
        "<style>",
        "<script>",
        "<script>",
        "<script>",
    ]
    assert page.count("plotly.js v") == 1 and len(page) < 7_000_000
    stats = re.search(r'<table id="stats".*?</table>', page, flags=re.S)
    assert stats is not None
    assert stats.group(0).count("<tr>") == 1 + len(result.stats_series())
    assert f"{result['total_return'] * 100:,.2f}%" in stats.group(0)
    trades = re.search(r'<table id="trades".*?</table>', page, flags=re.S)
    assert trades is not None and trades.group(0).count("<tr>") == 1 + len(result.trades)
    first = result.trades[0]
    assert f"{first.pnl:,.2f}" in trades.group(0)
    assert "commission_rate" in page and "0.0003" in page
    assert "No order was rejected." in page
    # the benchmark column: the buy-and-hold's own numbers
    hold = analysis.buy_and_hold_equity(result.bars, result.config)
    total = f'<td class="num">{(hold[-1] / 1e6 - 1.0) * 100:,.2f}%</td>'
    assert f"{result['total_return'] * 100:,.2f}%</td>{total}" in stats.group(0)


def test_a_result_without_bars_draws_equity_and_drawdown_only(backend: str, tmp_path: Path) -> None:
    result = copy.copy(demo_run(backend))
    result.bars = None
    result.config = None
    fig = result.plot()
    assert [a.text for a in fig.layout.annotations] == ["Equity", "Drawdown"]
    assert [t.name for t in fig.data] == ["Strategy", "Drawdown"]
    page = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    assert "Not recorded with this result." in page and "no benchmark" in page


def test_the_trades_table_shows_the_first_and_last_when_capped(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = demo_run(backend)
    monkeypatch.setattr(report_html, "MAX_TRADES", 10)
    page = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="trades".*?</table>', page, flags=re.S)
    assert table is not None
    numbers = re.findall(r'<tr><td class="num">([\d,]+)</td>', table.group(0))
    assert numbers == ["1", "2", "3", "4", "5", "55", "56", "57", "58", "59"]
    assert '<tr class="gap"><td colspan="11">49 more</td></tr>' in table.group(0)
    assert "Showing the first 5 and the last 5 of 59 closed trades" in page


def test_the_report_counts_rejected_orders_by_reason(backend: str, tmp_path: Path) -> None:
    bars = data.load_sample("AAPL")
    engine = Engine(backend=backend, max_order_value=1_000.0, **SETTINGS)
    result = engine.run(bars, SmaCross())
    assert result.rejections
    page = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="rejections".*?</table>', page, flags=re.S)
    assert table is not None
    for reason, count in result.rejections.items():
        assert f'<td>{reason}</td><td class="num">{count:,}</td>' in table.group(0)


def test_demo_command_writes_the_report(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "demo.html"
    assert main(["demo", "--backend", backend, "--report", str(target)]) == 0
    assert f"report: {target}" in capsys.readouterr().out
    assert "SMA(10)/SMA(30) crossover on AAPL" in target.read_text(encoding="utf-8")


# ================================================================================ optimisation
def grid_table() -> pd.DataFrame:
    rows = [
        {"fast": f, "slow": s, "sharpe_ratio": np.nan if f == 9 else (f * s) % 7 / 3.0}
        for f in range(5, 10)
        for s in range(20, 40, 5)
    ]
    return pd.DataFrame(rows)


def test_heatmap_figure_has_one_cell_per_combination_and_marks_the_best() -> None:
    table = grid_table()
    pivot = table.pivot(index="fast", columns="slow", values="sharpe_ratio")
    fig = heatmap_figure(pivot, "sharpe_ratio")
    heat = fig.data[0]
    np.testing.assert_array_equal(np.asarray(heat.z, dtype=float), pivot.to_numpy())
    assert list(heat.x) == ["20", "25", "30", "35"] and list(heat.y) == ["5", "6", "7", "8", "9"]
    assert fig.layout.xaxis.title.text == "slow" and fig.layout.yaxis.title.text == "fast"
    best = table.loc[table["sharpe_ratio"].idxmax()]
    outline = fig.layout.shapes[0]
    column = list(pivot.columns).index(best["slow"])
    row = list(pivot.index).index(best["fast"])
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (
        column - 0.5,
        column + 0.5,
        row - 0.5,
        row + 0.5,
    )
    with pytest.raises(ConfigError, match="pivot"):
        heatmap_figure(pd.DataFrame(), "sharpe_ratio")


def test_optimize_report_lists_the_best_combinations_first(tmp_path: Path) -> None:
    table = grid_table()
    pivot = table.pivot(index="fast", columns="slow", values="sharpe_ratio")
    path = optimize_report(table, "sharpe_ratio", pivot, tmp_path / "grid.html")
    page = path.read_text(encoding="utf-8")
    assert 'id="heatmap"' in page and page.count("plotly.js v") == 1
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", page)
    ranked = table.sort_values("sharpe_ratio", ascending=False, kind="stable")
    assert rows == [(str(f), str(s)) for f, s in zip(ranked["fast"], ranked["slow"], strict=True)]
    best = ranked.iloc[0]["sharpe_ratio"]
    assert f'<td class="num">{best:,.2f}</td>' in page  # a ratio: two decimals
    no_map = optimize_report(table, "sharpe_ratio", None, tmp_path / "table.html")
    assert 'id="heatmap"' not in no_map.read_text(encoding="utf-8")
    with pytest.raises(ConfigError, match="metric"):
        optimize_report(table, "cagr", None, tmp_path / "x.html")


# ================================================================ optimisation, walk-forward
def _crossover(cache: object, fast: int, slow: int) -> object:
    from quanta_ref import Signals

    f, s = cache.panel("sma", fast), cache.panel("sma", slow)  # type: ignore[attr-defined]
    return Signals(cache.crossed_above(f, s), cache.crossed_below(f, s))  # type: ignore[attr-defined]


def test_optimize_plot_is_the_heatmap_of_the_first_two_parameters_best_cell_outlined(
    backend: str, tmp_path: Path
) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    bars = data.synthetic(400, seed=5)
    grid = {"fast": [5, 10], "slow": [20, 30, 40]}
    for maximize in (True, False):
        found = engine.optimize(
            bars, _crossover, grid, metric="annual_volatility", maximize=maximize
        )
        fig = found.plot()
        cells = found.heatmap("fast", "slow")
        assert list(fig.data[0].x) == ["5", "10"] and list(fig.data[0].y) == ["20", "30", "40"]
        np.testing.assert_array_equal(np.asarray(fig.data[0].z, dtype=float), cells.to_numpy())
        best = np.unravel_index(found.best_index % 6, (2, 3))  # grid order: fast, then slow
        outline = fig.layout.shapes[0]
        assert (outline.x0 + 0.5, outline.y0 + 0.5) == (best[0], best[1])
        page = found.report(tmp_path / "grid.html").read_text(encoding="utf-8")
        first_row = re.search(
            r'<table id="combinations".*?<tbody>\s*<tr[^>]*>(.*?)</tr>', page, re.S
        )
        assert first_row is not None
        best_params = found.best_params or {}
        cells_text = re.findall(r"<td[^>]*>(.*?)</td>", first_row.group(1))
        assert cells_text[:2] == [str(best_params["fast"]), str(best_params["slow"])]
    one = engine.optimize(bars, _crossover, {"fast": [5, 10], "slow": [30]})
    assert one.plot(x="fast", y="slow").data[0].type == "heatmap"
    single = engine.optimize(
        bars, lambda cache, fast: _crossover(cache, fast, 30), {"fast": [5, 10]}
    )
    with pytest.raises(ConfigError, match="a heatmap needs two parameters; the grid has fast"):
        single.plot()
    page = single.report(tmp_path / "one.html").read_text(encoding="utf-8")
    assert 'id="heatmap"' not in page and 'id="combinations"' in page


def test_walk_forward_plot_shades_each_test_window_with_its_parameters(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    walked = engine.walk_forward(
        data.synthetic(600, seed=5),
        _crossover,
        {"fast": [5, 10], "slow": [30]},
        train=200,
        test=100,
    )
    fig = walked.plot()
    windows = walked.windows
    assert len(fig.layout.shapes) == len(windows) == 4
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("#")]
    assert labels == [f"#{k} fast={f}, slow=30" for k, f in enumerate(windows["fast"])]
    np.testing.assert_array_equal(np.asarray(fig.data[0].y, dtype=float), walked.equity)


# ================================================================================ paths
def test_report_paths_are_checked_before_anything_is_built(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = demo_run(backend)
    walked = Engine(backend=backend, **SETTINGS).walk_forward(
        data.synthetic(600, seed=5),
        _crossover,
        {"fast": [5, 10], "slow": [30]},
        train=200,
        test=100,
    )
    table = grid_table()

    def built(*args: object, **kwargs: object) -> None:
        raise AssertionError("a figure was built before the path was checked")

    for name in ("figure", "heatmap_figure", "walk_forward_figure"):
        monkeypatch.setattr(report_html, name, built)
    writers = [
        lambda path: report_html.report(result, path),
        lambda path: optimize_report(table, "sharpe_ratio", None, path),
        lambda path: report_html.walk_forward_report(walked, path),
    ]
    folder = tmp_path / "no such folder"
    for write in writers:
        for path, message in (
            (None, "path: expected a str or os.PathLike of the file to write, got NoneType"),
            (3, "path: expected a str or os.PathLike of the file to write, got int"),
            (b"run.html", "path: expected a str or os.PathLike of the file to write, got bytes"),
            (folder / "run.html", f"path: the folder {str(folder)!r} does not exist"),
            (str(tmp_path), f"path: {str(tmp_path)!r} is a folder; give the file to write"),
        ):
            with pytest.raises(ConfigError, match=re.escape(message)):
                write(path)
    assert list(tmp_path.iterdir()) == []


# ================================================================================ time axes
def ashare_minutes(days: list[str], seed: int = 3) -> Bars:
    """One-minute bars of a Chinese A-share session on `days`: 09:31-11:30 and 13:01-15:00
    (each bar stamped at its close), 240 a day."""
    morning = np.timedelta64(9 * 60 + 31, "m") + np.arange(120).astype("m8[m]")
    afternoon = np.timedelta64(13 * 60 + 1, "m") + np.arange(120).astype("m8[m]")
    session = np.concatenate([morning, afternoon])
    stamps = (np.array(days, dtype="M8[m]")[:, None] + session[None, :]).ravel()
    walk = data.synthetic(stamps.size, seed=seed, freq="1min", volatility=0.001)
    return Bars.from_arrays(
        stamps, walk.open, walk.high, walk.low, walk.close, walk.volume, symbols=["600519"]
    )


def test_intraday_axes_hide_the_lunch_break_the_nights_and_the_weekend(backend: str) -> None:
    # Thursday, Friday, then Monday: one night, one weekend, three lunch breaks.
    bars = ashare_minutes(["2024-09-26", "2024-09-27", "2024-09-30"])
    result = Engine(backend=backend, **SETTINGS).run(bars, SmaCross(fast=5, slow=20))
    minute = 60_000.0  # ms
    expected = [
        {  # 11:31 up to 13:01
            "values": ["2024-09-26T11:31", "2024-09-27T11:31", "2024-09-30T11:31"],
            "dvalue": 90 * minute,
        },
        {"values": ["2024-09-26T15:01"], "dvalue": 18.5 * 60 * minute},  # to Friday 09:31
        {"values": ["2024-09-27T15:01"], "dvalue": (2 * 24 + 18.5) * 60 * minute},  # Monday
    ]
    for fig in (figure(result), report_html.rolling_sharpe_figure(result)):
        axes = [fig.layout[name] for name in fig.layout if name.startswith("xaxis")]
        assert len(axes) == (5 if fig.data[0].name == "Strategy" else 1)
        for axis in axes:
            drawn = [{"values": list(b.values), "dvalue": b.dvalue} for b in axis.rangebreaks]
            assert drawn == expected
    # no bar is hidden, and every missing minute between sessions is
    stamps = np.asarray(bars.timestamps, dtype=np.int64) // 1_000_000  # ms
    hidden = np.zeros(stamps.size, dtype=bool)
    missing = 0.0
    for gap in expected:
        for value in gap["values"]:
            start = np.datetime64(value, "ms").astype(np.int64)
            hidden |= (stamps >= start) & (stamps < start + gap["dvalue"])
            missing += float(gap["dvalue"])
    assert not hidden.any()
    assert missing == (stamps[-1] - stamps[0]) - (stamps.size - 1) * minute


def test_daily_axes_keep_the_calendar(backend: str) -> None:
    result = demo_run(backend)
    fig = figure(result)
    assert fig.layout.xaxis.rangebreaks == () and fig.layout.xaxis5.rangebreaks == ()
    days = result.equity_series().index.strftime("%Y-%m-%d")
    assert fig.layout.xaxis.range == (days[0], days[-1])


def one_bar_run(backend: str):  # type: ignore[no-untyped-def]
    aapl = data.load_sample("AAPL")
    bar = Bars.from_arrays(
        aapl.timestamps[:1],
        aapl.open[:1],
        aapl.high[:1],
        aapl.low[:1],
        aapl.close[:1],
        aapl.volume[:1],
        symbols=["AAPL"],
    )
    none = np.zeros((1, 1), dtype=bool)
    # no commission: the buy-and-hold stays at the initial cash too
    return Engine(backend=backend, initial_cash=1_000_000.0).run_signals(bar, none, none)


def test_a_run_without_drawdown_keeps_the_drawdown_axis_below_zero(backend: str) -> None:
    assert figure(one_bar_run(backend)).layout.yaxis2.range == (-0.01, 0.0)
    result = demo_run(backend)
    low, high = figure(result).layout.yaxis2.range
    assert high == 0.0 and low == pytest.approx(1.05 * result["max_drawdown"], rel=1e-12)


def test_a_one_bar_run_spans_a_day_and_a_flat_equity_one_percent(backend: str) -> None:
    fig = figure(one_bar_run(backend))
    assert fig.layout.xaxis.range == ("2000-02-29T12:00:00", "2000-03-01T12:00:00")
    assert fig.layout.xaxis.tick0 == "2000-03-01" and fig.layout.xaxis.dtick == 86_400_000
    assert fig.layout.xaxis.tickformat == "%Y-%m-%d"
    assert fig.layout.yaxis.range == (990_000.0, 1_010_000.0)  # strategy and benchmark flat
    assert traces(fig, "Volume").width == 86_400_000
    # a run that moves keeps plotly's own range
    assert figure(demo_run(backend)).layout.yaxis.range is None


# ================================================================================ formats
def test_days_are_written_with_two_decimals(backend: str, tmp_path: Path) -> None:
    assert report_html.format_value(48.20338983, "days") == "48.20"
    assert report_html.stat_label("average_trade_duration")[:2] == (
        "Avg. trade duration [days]",
        "days",
    )
    result = demo_run(backend)
    page = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    days = analysis.extended_stats(result)["average_trade_duration"]
    assert f'Avg. trade duration [days]</span></td><td class="num">{days:,.2f}</td>' in page


def test_a_heatmap_of_a_fraction_reads_in_percent_under_the_statistic_label() -> None:
    table = grid_table().rename(columns={"sharpe_ratio": "total_return"})
    pivot = table.pivot(index="fast", columns="slow", values="total_return")
    heat = heatmap_figure(pivot, "total_return").data[0]
    assert heat.colorbar.title.text == "Total return"
    assert heat.colorbar.tickformat == ".2~%" and heat.texttemplate == "%{z:.1%}"
    assert heat.hovertemplate == ("slow %{x}<br>fast %{y}<br>Total return %{z:.2%}<extra></extra>")
    ratio = heatmap_figure(pivot.rename_axis(index="f", columns="s"), "sharpe_ratio").data[0]
    assert ratio.colorbar.title.text == "Sharpe ratio" and ratio.texttemplate == "%{z:.2f}"
    assert ratio.colorbar.tickformat is None and "Sharpe ratio %{z:.4g}" in ratio.hovertemplate
    own = heatmap_figure(pivot, "my_score").data[0]
    assert own.colorbar.title.text == "my_score" and own.texttemplate == "%{z:.2f}"


def bars_at(stamps: np.ndarray, seed: int = 3) -> Bars:
    """Bars of one symbol at `stamps` (datetime64), prices of a synthetic walk."""
    walk = data.synthetic(stamps.size, seed=seed, freq="1min", volatility=0.001)
    return Bars.from_arrays(
        stamps, walk.open, walk.high, walk.low, walk.close, walk.volume, symbols=["X"]
    )


def test_sub_second_bars_are_each_in_their_place_to_the_millisecond(
    backend: str, tmp_path: Path
) -> None:
    stamps = np.datetime64("2024-01-02T09:30", "ns") + np.arange(40) * np.timedelta64(500, "ms")
    result = Engine(backend=backend, **SETTINGS).run(bars_at(stamps), SmaCross(fast=2, slow=5))
    assert result.fills
    fig = figure(result)
    candles = [t for t in fig.data if t.type == "candlestick"][0]
    assert list(candles.x) == [str(t) for t in stamps.astype("M8[ms]")]  # 40 places, not 20
    assert candles.x[1] == "2024-01-02T09:30:00.500"
    for name, side in (("Buy", "buy"), ("Sell", "sell")):
        when = [f.timestamp for f in result.fills if f.side.value == side]
        assert list(traces(fig, name).x) == [
            str(np.datetime64(t, "ns").astype("M8[ms]")) for t in when
        ]
    assert fig.layout.xaxis.hoverformat == "%Y-%m-%d %H:%M:%S.%L"
    assert fig.layout.xaxis.range == ("2024-01-02T09:30:00.000", "2024-01-02T09:30:19.500")
    page = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    assert "40 500-millisecond bars, 2024-01-02 09:30:00.000 to 2024-01-02 09:30:19.500" in page
    # how long each trade was held, to the millisecond
    held = re.findall(r'<td class="num">(\d+h [^<]*)</td></tr>', page)
    expected = []
    for trade in result.trades:
        parts = pd.Timedelta(trade.exit_time - trade.entry_time).components
        expected.append(
            f"{parts.hours}h {parts.minutes:02d}m {parts.seconds:02d}.{parts.milliseconds:03d}s"
        )
    assert held == expected and len(held) > 1


def test_seconds_bars_hover_with_their_seconds(backend: str, tmp_path: Path) -> None:
    stamps = np.datetime64("2024-01-02T09:30", "ns") + np.arange(60) * np.timedelta64(30, "s")
    result = Engine(backend=backend, **SETTINGS).run(bars_at(stamps), SmaCross(fast=2, slow=5))
    fig = figure(result)
    assert fig.layout.xaxis.hoverformat == "%Y-%m-%d %H:%M:%S"
    assert fig.layout.xaxis.range == ("2024-01-02T09:30:00", "2024-01-02T09:59:30")
    page = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    assert "60 30-second bars, 2024-01-02 09:30:00 to 2024-01-02 09:59:30" in page


def test_the_time_axis_writes_the_coarsest_unit_that_keeps_every_timestamp() -> None:
    day = np.datetime64("2024-01-02", "ns")
    for offsets, unit, text in (
        ([0, 86_400_000_000_000], "D", "2024-01-02"),
        ([0, 60_000_000_000], "m", "2024-01-02T00:00"),
        ([0, 1_000_000_000], "s", "2024-01-02T00:00:00"),
        ([0, 1_000_000], "ms", "2024-01-02T00:00:00.000"),
        ([0, 250_000], "us", "2024-01-02T00:00:00.000000"),
        ([0, 1_000, 1_001], "ns", "2024-01-02T00:00:00.000000000"),
    ):
        stamps = (day + np.array(offsets, dtype="m8[ns]")).astype(np.int64)
        axis = TimeAxis(stamps)
        assert axis.unit == unit and axis.text()[0] == text
        # every timestamp is told apart and reads back exactly
        assert np.array_equal(axis.text().astype("M8[ns]").astype(np.int64), stamps)


def test_bar_sizes_are_said_in_the_largest_whole_unit() -> None:
    minute, day = 60_000_000_000, 86_400_000_000_000
    assert report_html.bar_size(day) == "daily"
    assert report_html.bar_size(7 * day) == "7-day"
    assert report_html.bar_size(60 * minute) == "1-hour"
    assert report_html.bar_size(4 * 60 * minute) == "4-hour"
    assert report_html.bar_size(90 * minute) == "90-minute"
    assert report_html.bar_size(minute) == "1-minute"
    assert report_html.bar_size(30_000_000_000) == "30-second"
    assert report_html.bar_size(500_000_000) == "500-millisecond"
    assert report_html.bar_size(250_000) == "250-microsecond"


def test_daily_bars_stamped_at_the_close_are_daily(backend: str, tmp_path: Path) -> None:
    days = np.busday_offset("2024-01-02", np.arange(60), roll="forward")
    stamps = days.astype("M8[ns]") + np.timedelta64(16, "h")
    result = Engine(backend=backend, **SETTINGS).run(bars_at(stamps), SmaCross(fast=5, slow=20))
    axis = TimeAxis(result.timestamps)
    assert not axis.intraday and axis.gaps() == []
    fig = figure(result)
    assert fig.layout.xaxis.rangebreaks == ()  # a calendar axis: the weekends are not hidden
    assert fig.layout.xaxis.hoverformat == "%a %Y-%m-%d"
    assert fig.layout.xaxis.range == ("2024-01-02T16:00", "2024-03-25T16:00")
    page = result.report(tmp_path / "run.html").read_text(encoding="utf-8")
    assert "60 daily bars, 2024-01-02 16:00 to 2024-03-25 16:00" in page
    # hourly bars are hours
    hours = np.datetime64("2024-01-02T09:00", "ns") + np.arange(8) * np.timedelta64(1, "h")
    hourly = Engine(backend=backend, **SETTINGS).run(bars_at(hours), SmaCross(fast=2, slow=3))
    page = hourly.report(tmp_path / "hourly.html").read_text(encoding="utf-8")
    assert "8 1-hour bars" in page


# ================================================================================ bad input
def test_anything_but_a_result_is_a_config_error(backend: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="result: expected a BacktestResult, got NoneType"):
        rolling_sharpe_figure(None)
    for call in (
        lambda: walk_forward_figure(None),
        lambda: walk_forward_report(None, tmp_path / "wf.html"),
    ):
        with pytest.raises(ConfigError, match="found: expected a WalkForwardResult, got NoneType"):
            call()
    walked = Engine(backend=backend, **SETTINGS).walk_forward(
        data.synthetic(600, seed=5),
        _crossover,
        {"fast": [5, 10], "slow": [30]},
        train=200,
        test=100,
    )
    walked.metric = 5  # type: ignore[assignment]
    for call in (
        lambda: walk_forward_figure(walked),
        lambda: walk_forward_report(walked, tmp_path / "wf.html"),
    ):
        with pytest.raises(ConfigError, match="metric: expected the name of the metric"):
            call()
    pivot = grid_table().pivot(index="fast", columns="slow", values="sharpe_ratio")
    with pytest.raises(ConfigError, match="metric: expected the name of a statistic, got int"):
        heatmap_figure(pivot, 5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="metric: expected a column name, got list"):
        optimize_report(grid_table(), ["sharpe_ratio"], None, tmp_path / "x.html")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
