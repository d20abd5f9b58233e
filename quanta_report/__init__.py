"""Charts and reports of a finished run: the presentation layer of quanta.

`figure(result)` is a plotly figure of linked panels (equity against a benchmark, drawdown,
price with every fill, position, volume); `report(result, path)` writes one self-contained
HTML page that opens offline; `heatmap_figure` and `optimize_report` show an optimisation,
`walk_forward_figure` and `walk_forward_report` a walk-forward run.
`BacktestResult.plot()` and `BacktestResult.report(path)` call them.

It reads a `quanta_ref.api.BacktestResult` only, so every backend's runs look the same, and
imports `quanta_ref` (never the other way round: `quanta_ref` imports this package only
inside those two methods). plotly and pandas are imported when a figure is built
(``pip install quanta[plot]``).
"""

from __future__ import annotations

from quanta_report.figures import (
    figure,
    heatmap_figure,
    rolling_sharpe_figure,
    walk_forward_figure,
)
from quanta_report.html import monthly_returns, optimize_report, report, walk_forward_report

__all__ = [
    "figure",
    "heatmap_figure",
    "monthly_returns",
    "optimize_report",
    "report",
    "rolling_sharpe_figure",
    "walk_forward_figure",
    "walk_forward_report",
]
