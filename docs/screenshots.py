"""Write the screenshots of the README: docs/report-demo.png and docs/report-rebalance.png.

    python docs/screenshots.py

Runs the demo (SMA(10)/SMA(30) crossover on AAPL) and a monthly rebalance of the four sample
stocks, writes their reports to a temporary folder, opens them in Chromium (the system's,
found on the PATH, driven by playwright) at 1280 pixels wide, and saves the top of each page
(the demo: header and chart; the rebalance: down to the statistics and monthly returns).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from quanta_ref import Engine, data
from quanta_ref.examples import SmaCross

DOCS = Path(__file__).resolve().parent
SETTINGS = {"initial_cash": 1_000_000.0, "commission_rate": 0.0003}


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("screenshots: Chromium not found (chromium / chromium-browser)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    engine = Engine(**SETTINGS)
    demo = engine.run(data.load_sample("AAPL"), SmaCross(fast=10, slow=30))
    bars = data.load_samples(["AAPL", "GOOG", "IBM", "MSFT"])
    weights = np.full(bars.close.shape, np.nan)
    weights[::21] = 0.24
    rebalance = engine.run_targets(bars, weights)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        pages = [
            (
                demo.report(Path(folder, "demo.html"), title="SMA(10)/SMA(30) crossover on AAPL"),
                "report-demo.png",
                1_180,
            ),
            (
                rebalance.report(
                    Path(folder, "rebalance.html"),
                    title="Four stocks at 24 % each, rebalanced every 21 days",
                ),
                "report-rebalance.png",
                1_720,
            ),
        ]
        for path, name, height in pages:
            page = browser.new_page(viewport={"width": 1280, "height": height})
            page.goto(path.as_uri())
            page.wait_for_function(
                "[...document.querySelectorAll('.js-plotly-plot')]"
                ".every(c => c._fullLayout && c.querySelector('.main-svg'))"
            )
            page.screenshot(path=str(DOCS / name))
            print(f"{DOCS / name}: {(DOCS / name).stat().st_size / 1e3:.0f} kB")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
