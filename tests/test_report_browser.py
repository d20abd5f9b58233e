"""The HTML report opened in a real browser (Chromium through playwright): it renders with
no script error, and what it draws is what the run did.

Chromium is found on the PATH (``chromium`` or ``chromium-browser``); playwright drives it
(its own browser download is never used). Without Chromium these tests skip locally and
fail in CI (``CI`` set), where `.ci/run` installs it. A full-page screenshot of each page is
saved in the test's tmp_path. They are slow (a few seconds each): keep them few.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import IN_CI
from quanta_cli.cli import main
from quanta_ref import Engine, data
from quanta_ref.api import BacktestResult
from quanta_ref.indicators import crossed_above, crossed_below, sma
from quanta_report.downsample import BUCKETS
from test_report import ashare_minutes

SETTINGS = {"initial_cash": 1_000_000.0, "commission_rate": 0.0003}
PANELS = ["Equity", "Drawdown", "{0}: price and fills", "{0}: position (quantity held)"]
#: Resolves when every plotly chart of the page has drawn.
RENDERED = """() => {
    const charts = [...document.querySelectorAll('.js-plotly-plot')];
    return charts.length > 0 && charts.every(c => c._fullLayout && c.querySelector('.main-svg'));
}"""


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    path = chromium_path()
    if path is None:
        if IN_CI:
            pytest.fail("Chromium is not installed in CI (.ci/run installs it)")
        pytest.skip("Chromium not found (chromium / chromium-browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


def open_page(browser: Any, path: Path, screenshot: Path) -> Any:
    """Open `path`, wait for the charts, save a full-page screenshot, and check that nothing
    was logged as an error (console or uncaught exception)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_function(RENDERED, timeout=60_000)
    page.screenshot(path=str(screenshot), full_page=True)
    assert errors == []
    return page


def drawn_markers(page: Any, name: str) -> int:
    """Markers drawn in the DOM by the scatter trace `name` of the run's figure (plotly binds
    each trace's group to its calculated data, which names the trace)."""
    return int(
        page.evaluate(
            """(name) => [...document.querySelectorAll('#run-figure g.trace.scatter')]
                .filter(g => g.__data__ && g.__data__[0].trace.name === name)
                .map(g => g.querySelectorAll('path.point').length)
                .reduce((a, b) => a + b, 0)""",
            name,
        )
    )


def plotted(page: Any) -> dict[str, int]:
    """Points per trace of the run's figure, as the page holds them (the figure's data)."""
    lengths = page.evaluate(
        """() => document.getElementById('run-figure').data
            .map(t => [t.name, (t.x || []).length])"""
    )
    return {name: length for name, length in lengths}


def rows(page: Any, table: str) -> int:
    return int(page.evaluate(f"document.querySelectorAll('#{table} tbody tr:not(.gap)').length"))


def check_run(page: Any, result: BacktestResult, symbol: str) -> None:
    titles = page.evaluate(
        "[...document.querySelectorAll('#run-figure .annotation-text')].map(a => a.textContent)"
    )
    assert titles[:4] == [title.format(symbol) for title in PANELS]
    assert titles[4].startswith("Volume")
    for side in ("buy", "sell"):
        fills = sum(f.symbol == symbol and f.side.value == side for f in result.fills)
        assert drawn_markers(page, side.capitalize()) == fills
        assert plotted(page)[side.capitalize()] == fills
    assert rows(page, "stats") == len(result.stats_series())


def test_demo_report_renders_every_panel_and_fill(
    backend: str, browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.html"
    assert main(["demo", "--backend", backend, "--report", str(path)]) == 0
    capsys.readouterr()
    from quanta_ref.examples import SmaCross

    result = Engine(backend=backend, fill_at="next_open", **SETTINGS).run(
        data.load_sample("AAPL"), SmaCross()
    )
    page = open_page(browser, path, tmp_path / "demo.png")
    check_run(page, result, "AAPL")
    assert drawn_markers(page, "Buy") == 59
    assert rows(page, "trades") == len(result.trades) == 59
    assert page.evaluate("document.querySelectorAll('#monthly tbody tr').length") == 14
    assert page.evaluate("document.querySelectorAll('#rolling-sharpe .scatterlayer .trace').length")


def test_rebalancing_report_of_four_stocks_renders(
    backend: str, browser: Any, tmp_path: Path
) -> None:
    bars = data.load_samples(["AAPL", "GOOG", "IBM", "MSFT"])
    weights = np.full(bars.close.shape, np.nan)
    weights[::21] = 0.24  # back to 24 % of equity each, every 21 bars
    result = Engine(backend=backend, **SETTINGS).run_targets(bars, weights)
    path = result.report(tmp_path / "rebalance.html", title="Monthly rebalance")
    page = open_page(browser, path, tmp_path / "rebalance.png")
    check_run(page, result, "AAPL")
    assert rows(page, "trades") == len(result.trades)
    assert rows(page, "data") == 4


def test_a_large_run_stays_small_and_draws_every_fill(
    backend: str, browser: Any, tmp_path: Path
) -> None:
    bars = data.synthetic(200_000, seed=7, freq="1min", volatility=0.001)
    fast, slow = sma(bars.close, 10), sma(bars.close, 30)
    result = Engine(backend=backend, **SETTINGS).run_signals(
        bars, crossed_above(fast, slow), crossed_below(fast, slow)
    )
    assert len(result.fills) > 5_000 and len(result.trades) > 2_000
    path = result.report(tmp_path / "large.html")
    assert path.stat().st_size < 10_000_000
    page = open_page(browser, path, tmp_path / "large.png")
    check_run(page, result, "S0")
    points = plotted(page)
    for name in ("Strategy", "Buy & hold", "Drawdown", "S0 close", "Volume"):
        assert points[name] <= 3 * BUCKETS + 2, name
    assert rows(page, "trades") == 2_000
    note = page.evaluate("document.querySelector('#trades').closest('section').textContent")
    assert f"of {len(result.trades):,} closed trades" in note


def test_an_intraday_report_hides_the_time_between_sessions_and_draws_every_fill(
    backend: str, browser: Any, tmp_path: Path
) -> None:
    # Six weeks of an A-share session (lunch break 11:30-13:00) over the National Day holiday.
    holiday = ["2024-10-01", "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07"]
    days = np.busday_offset("2024-09-23", np.arange(30), roll="forward", holidays=holiday)
    bars = ashare_minutes([str(day) for day in days])
    fast, slow = sma(bars.close, 20), sma(bars.close, 60)
    result = Engine(backend=backend, **SETTINGS).run_signals(
        bars, crossed_above(fast, slow), crossed_below(fast, slow)
    )
    page = open_page(browser, result.report(tmp_path / "intraday.html"), tmp_path / "intraday.png")
    check_run(page, result, "600519")
    # Where the axes draw a minute: within the morning, then across the lunch break, the
    # night, the weekend and the holiday. Every step is the same width, and the bars fill
    # the axis (the first bar at its left end, the last at its right).
    stamps = ["2024-09-27T11:29", "2024-09-27T11:30", "2024-09-27T13:01", "2024-09-26T15:00"]
    stamps += ["2024-09-27T09:31", "2024-09-27T15:00", "2024-09-30T09:31", "2024-09-30T15:00"]
    stamps += ["2024-10-08T09:31"]
    stamps += [str(t) for t in bars.timestamps[[0, -1]].view("M8[ns]").astype("M8[m]")]
    for axis in ("xaxis", "xaxis3", "xaxis5"):
        found = page.evaluate(
            """([axis, stamps]) => {
                const ax = document.getElementById('run-figure')._fullLayout[axis];
                return [ax._length, stamps.map(s => ax.l2p(ax.d2l(s)))];
            }""",
            [axis, stamps],
        )
        length, x = found[0], np.array(found[1])
        minute = length / (len(bars.timestamps) - 1)
        steps = x[[1, 2, 4, 6, 8]] - x[[0, 1, 3, 5, 7]]
        np.testing.assert_allclose(steps, minute, atol=0.011)  # plotly rounds to 0.01 px
        assert abs(x[9]) < 0.02 and abs(x[10] - length) < 0.02


def test_optimisation_and_walk_forward_pages_render_their_heatmap_and_windows(
    browser: Any, backend: str, tmp_path: Path
) -> None:
    bars = data.load_sample("AAPL")
    engine = Engine(backend=backend, **SETTINGS)

    def crossover(cache: Any, fast: int, slow: int) -> Any:
        from quanta_ref import Signals

        f, s = cache.panel("sma", fast), cache.panel("sma", slow)
        return Signals(cache.crossed_above(f, s), cache.crossed_below(f, s))

    grid = {"fast": [5, 10, 20], "slow": [30, 60]}
    found = engine.optimize(bars, crossover, grid)
    page = open_page(browser, found.report(tmp_path / "grid.html"), tmp_path / "grid.png")
    axes = page.evaluate("(d => [d.x, d.y])(document.getElementById('heatmap').data[0])")
    assert axes == [["5", "10", "20"], ["30", "60"]]  # fast across, slow down
    assert rows(page, "combinations") == 6
    page.close()

    walked = engine.walk_forward(bars, crossover, grid, train=750, test=250)
    page = open_page(browser, walked.report(tmp_path / "wf.html"), tmp_path / "wf.png")
    assert rows(page, "windows") == len(walked.results)
    drawn = page.evaluate("document.getElementById('walk-forward').data.map(t => t.name)")
    assert drawn == ["Out-of-sample equity", "In sample", "Out of sample"]
    page.close()
