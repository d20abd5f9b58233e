"""The report of a run as one self-contained HTML page, and the page of an optimisation.

The page opens offline: plotly.js is embedded once, inline, and every figure of the page
draws with it; there is no other script, font or style sheet to fetch. Tables are plain HTML
(numbers right-aligned in tabular figures), so the page prints and reads without JavaScript
too. Everything reads a `BacktestResult`; pandas and plotly are imported when a page is made.
"""

from __future__ import annotations

import html
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from quanta_ref import analysis, metrics
from quanta_ref.errors import ConfigError
from quanta_report.figures import (
    TimeAxis,
    benchmark_equity,
    check_walk_forward,
    chosen_symbol,
    figure,
    heatmap_figure,
    rolling_sharpe_figure,
    rolling_sharpe_window,
    stat_name,
    walk_forward_figure,
)

#: At most this many trades are listed (the first and the last half of them); a page of
#: every trade of a long intraday run would be tens of megabytes that nobody scrolls.
MAX_TRADES = 2_000
#: At most this many combinations of an optimisation are listed, the best first.
MAX_COMBINATIONS = 50

#: How the page writes each unit of `quanta_ref.analysis.STAT_INFO` (`format_value`).
UNIT_FORMATS = {
    "fraction": "percent",
    "cash": "money",
    "ratio": "ratio",
    "bars": "bars",
    "count": "count",
    "days": "days",
    "bars per year": "number",
}
#: The statistics that mean something for the benchmark too: those of the curve alone, not of
#: trades, exposure or turnover (a buy-and-hold has none).
BENCHMARK_STATS = metrics.STAT_KEYS[: metrics.STAT_KEYS.index("calmar_ratio") + 1]
#: The figures shown as cards at the top of the page.
HEADLINE = ("total_return", "cagr", "sharpe_ratio", "max_drawdown", "win_rate", "n_trades")

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False}


# ================================================================================ formats
def format_value(value: Any, unit: str = "number") -> str:
    """A number as the page shows it: ``12.34%``, ``1,234,567.89``, ``1.23`` (a ratio, a
    number of days); an em dash for a missing value (None or NaN)."""
    if value is None:
        return "\u2014"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    v = float(value)
    if v != v:
        return "\u2014"
    if v in (float("inf"), float("-inf")):
        return "\u221e" if v > 0 else "-\u221e"
    if unit == "percent":
        return f"{v * 100:,.2f}%"
    if unit == "money":
        return f"{v:,.2f}"
    if unit in ("count", "bars"):
        return f"{v:,.0f}"
    if unit in ("ratio", "times", "days"):
        return f"{v:,.2f}" + ("x" if unit == "times" else "")
    if unit == "ratio4":
        return f"{v:,.4f}"
    return format(v, ",.10g") if abs(v) >= 1e-4 or v == 0 else f"{v:.4g}"


def _price(v: float) -> str:
    return f"{v:,.2f}" if abs(v) >= 10 else f"{v:,.4f}"


def _quantity(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,.6g}"


def _duration(ns: int, axis: TimeAxis) -> str:
    """How long a trade was held: days for daily bars, else hours and minutes, and seconds
    (to the millisecond) when the timestamps have them."""
    minutes, rest = divmod(ns, 60_000_000_000)
    days, minutes = divmod(minutes, 1_440)
    if not axis.intraday:
        return f"{days:,} d"
    hours, minutes = divmod(minutes, 60)
    text = f"{days}d {hours:02d}h {minutes:02d}m" if days else f"{hours}h {minutes:02d}m"
    if axis.unit in ("m", "D"):
        return text
    seconds = f"{rest // 1_000_000_000:02d}" if axis.unit == "s" else f"{rest / 1e9:06.3f}"
    return f"{text} {seconds}s"


def _e(text: Any) -> str:
    return html.escape(str(text))


def _table(
    headers: list[str], rows: list[Any], *, id: str, numeric: set[int], classes: str = ""
) -> str:
    """An HTML table of already escaped cells; columns in `numeric` are right-aligned. A row
    given as a string is written as it is (a whole ``<tr>``)."""

    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="num">{text}</{tag}>' if i in numeric else f"<{tag}>{text}</{tag}>"

    head = "".join(cell("th", i, _e(h)) for i, h in enumerate(headers))
    body = "\n".join(
        row
        if isinstance(row, str)
        else "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return (
        f'<table id="{id}" class="{classes}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{body}\n</tbody></table>"
    )


def _column_format(name: str, values: Any) -> Any:
    """How a column of a generic table is written: a statistic by its unit (`stat_label`),
    whole numbers with thousands separators, other numbers to four decimals, text as is."""
    if not np.issubdtype(values.dtype, np.number) or values.dtype == bool:
        return _e
    if name in analysis.STAT_INFO:
        unit = stat_label(name)[1]
        return lambda v: format_value(v, unit)
    finite = values.to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 1e15):
        return lambda v: format_value(v, "count")
    return lambda v: format_value(v, "ratio4")


def _signed(text: str, value: float) -> str:
    css = "pos" if value > 0 else "neg" if value < 0 else ""
    return f'<span class="{css}">{text}</span>' if css else text


# ================================================================================ sections
def stat_label(key: str) -> tuple[str, str, str]:
    """(label, page format, description) of a statistic: `quanta_report.figures.stat_name`
    (the label without its "[%]": the page writes the percent sign in the value), its unit
    written as `UNIT_FORMATS` says; the key itself for a column that is no statistic."""
    label, unit, description = stat_name(key)
    return label, UNIT_FORMATS.get(unit, "number"), description


def _stats_section(result: Any, bench: tuple[str, np.ndarray] | None, benchmark: Any) -> str:
    # The run's statistics, then the extended ones when a benchmark can be measured (a run
    # without bars and without a given benchmark has none).
    stats = dict(result.stats)
    if bench is not None:
        stats.update(analysis.extended_stats(result, benchmark))
    other: dict[str, float] = {}
    if bench is not None:
        other = metrics.compute_stats(
            np.asarray(result.timestamps),
            bench[1],
            float(stats["start_equity"]),
            trade_pnls=[],
            traded_value=0.0,
            bars_in_market=len(result.timestamps),
            periods_per_year=float(stats["periods_per_year"]),
        )
    rows = []
    for key in stats:
        label, unit, description = stat_label(key)
        row = [f'<span title="{_e(description)}">{_e(label)}</span>']
        row.append(format_value(stats[key], unit))
        if bench is not None:
            row.append(format_value(other[key], unit) if key in BENCHMARK_STATS else "")
        rows.append(row)
    headers = ["Statistic", "Strategy"] + ([bench[0]] if bench is not None else [])
    table = _table(headers, rows, id="stats", numeric={1, 2}, classes="stats")
    return f"<h2>Performance</h2>{table}"


def _headline(result: Any) -> str:
    cards = []
    for key in HEADLINE:
        if key not in result.stats:
            continue
        label, unit, _ = stat_label(key)
        value = float(result.stats[key])
        text = format_value(value, unit)
        if key in ("total_return", "cagr", "max_drawdown"):
            text = _signed(text, value)
        cards.append(f'<div class="card"><div class="label">{label}</div><div>{text}</div></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def monthly_returns(result: Any) -> Any:
    """The run's returns compounded per calendar month: a DataFrame with a row per year,
    columns 1-12 (NaN for a month without bars) and ``"year"`` (the year's return)."""
    analysis.check_result(result)
    returns = result.returns()
    index = returns.index
    growth = 1.0 + returns
    months = (growth.groupby([index.year, index.month]).prod() - 1.0).unstack()
    months = months.reindex(columns=range(1, 13))
    months["year"] = growth.groupby(index.year).prod() - 1.0
    months.index.name = "year"
    months.columns.name = "month"
    return months


def _monthly_section(result: Any) -> str:
    """`monthly_returns` as a table, each month coloured by its sign and size."""
    table = monthly_returns(result)
    values = table[list(range(1, 13))].to_numpy(dtype=np.float64)
    scale = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
    scale = scale or 1.0

    def shade(value: float) -> str:
        if value == 0.0:
            return ""
        alpha = min(1.0, abs(value) / scale) * 0.75 + 0.05
        rgb = "22, 163, 74" if value >= 0 else "220, 38, 38"
        return f' style="background: rgba({rgb}, {alpha:.2f})"'

    names = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    head = "<th>Year</th>" + "".join(f'<th class="num">{m}</th>' for m in names)
    head += '<th class="num year">Year</th>'
    body = []
    for year, row in zip(table.index, values, strict=True):
        cells = [f"<td>{year}</td>"]
        for value in row:
            if np.isnan(value):
                cells.append('<td class="num"></td>')
            else:
                text = f"{value * 100:.1f}".replace("-0.0", "0.0")  # no minus on a zero
                cells.append(f'<td class="num"{shade(value)}>{text}</td>')
        total = float(table.loc[year, "year"])
        cells.append(f'<td class="num year">{_signed(f"{total * 100:.1f}", total)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    html_table = (
        f'<table id="monthly" class="monthly"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return f"<h2>Monthly returns, %</h2>{html_table}"


def _trades_section(result: Any, axis: TimeAxis) -> str:
    trades = result.trades
    total = len(trades)
    if total > MAX_TRADES:
        half = MAX_TRADES // 2
        shown = list(enumerate(trades[:half])) + list(enumerate(trades[-half:], start=total - half))
        note = (
            f"Showing the first {half:,} and the last {half:,} of {total:,} closed trades; "
            "result.trades_frame() has them all."
        )
    else:
        shown = list(enumerate(trades))
        note = f"{total:,} closed trades." if total else "No closed trade."
    entry = axis.text([t.entry_time for _, t in shown])
    exit_ = axis.text([t.exit_time for _, t in shown])
    rows: list[Any] = []
    previous = -1
    for (i, trade), opened, closed in zip(shown, entry, exit_, strict=True):
        if i != previous + 1:  # the trades left out between the first and the last half
            rows.append(f'<tr class="gap"><td colspan="11">{i - previous - 1:,} more</td></tr>')
        previous = i
        rows.append(
            [
                f"{i + 1:,}",
                _e(trade.symbol),
                "long" if trade.direction > 0 else "short",
                _quantity(trade.quantity),
                str(opened).replace("T", " "),
                _price(trade.entry_price),
                str(closed).replace("T", " "),
                _price(trade.exit_price),
                _signed(f"{trade.pnl:,.2f}", trade.pnl),
                _signed(f"{trade.return_ * 100:.2f}%", trade.return_),
                _duration(trade.exit_time - trade.entry_time, axis),
            ]
        )
    headers = ["#", "Symbol", "Side", "Quantity", "Entry", "Entry price", "Exit", "Exit price"]
    headers += ["P&L", "Return", "Held"]
    table = _table(headers, rows, id="trades", numeric={0, 3, 5, 7, 8, 9, 10}, classes="trades")
    return f'<h2>Trades</h2><p class="note">{_e(note)}</p><div class="scroll">{table}</div>'


def _orders_section(result: Any) -> str:
    orders = result.orders
    status = Counter(o.status.value for o in orders)
    kinds = Counter(o.order_type.value for o in orders)
    rows = [[_e(s), f"{n:,}"] for s, n in sorted(status.items(), key=lambda p: -p[1])]
    parts = [
        f"<h2>Orders</h2><p class=note>{len(orders):,} orders: "
        + ", ".join(f"{n:,} {_e(k)}" for k, n in sorted(kinds.items(), key=lambda p: -p[1]))
        + "</p>",
        _table(["Status", "Orders"], rows, id="order-status", numeric={1}, classes="small"),
    ]
    if result.rejections:
        rows = [[_e(r), f"{n:,}"] for r, n in result.rejections.items()]
        parts.append(
            _table(
                ["Rejected because", "Orders"], rows, id="rejections", numeric={1}, classes="small"
            )
        )
    else:
        parts.append('<p class="note">No order was rejected.</p>')
    return "".join(parts)


def _settings_section(result: Any) -> str:
    if result.config is None:
        return "<h2>Engine settings</h2><p class=note>Not recorded with this result.</p>"
    rows = [
        [f"<code>{_e(k)}</code>", _e(format_value(v))] for k, v in result.config.as_dict().items()
    ]
    return "<h2>Engine settings</h2>" + _table(
        ["Setting", "Value"], rows, id="settings", numeric={1}, classes="small"
    )


def _data_section(result: Any, axis: TimeAxis) -> str:
    bars = result.bars
    if bars is None:
        return ""
    present = ~np.isnan(bars.close)
    rows = []
    for n, symbol in enumerate(bars.symbols):
        seen = np.flatnonzero(present[:, n])
        first, last = axis.text(axis.ns[[seen[0], seen[-1]]]) if seen.size else ("", "")
        rows.append(
            [
                _e(symbol),
                str(first).replace("T", " "),
                str(last).replace("T", " "),
                f"{seen.size:,}",
                f"{len(axis.ns) - seen.size:,}",
            ]
        )
    table = _table(
        ["Symbol", "First bar", "Last bar", "Bars", "Missing"],
        rows,
        id="data",
        numeric={3, 4},
        classes="small",
    )
    return f"<h2>Data</h2>{table}"


#: The words of a bar size, longest first: each with its length in ns.
BAR_SIZES = (
    ("day", 86_400_000_000_000),
    ("hour", 3_600_000_000_000),
    ("minute", 60_000_000_000),
    ("second", 1_000_000_000),
    ("millisecond", 1_000_000),
    ("microsecond", 1_000),
    ("nanosecond", 1),
)


def bar_size(step: int) -> str:
    """The words of a bar size of `step` ns, in the largest unit it is a whole number of:
    ``daily``, ``7-day``, ``4-hour``, ``90-minute``, ``30-second``, ``500-millisecond``."""
    for word, size in BAR_SIZES:
        if step >= size and step % size == 0:
            return "daily" if step == size == BAR_SIZES[0][1] else f"{step // size:,}-{word}"
    return f"{step:,}-nanosecond"  # not reached for a step of at least 1 ns


# ================================================================================ pages
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _figure_html(fig: Any, div_id: str) -> str:
    return str(
        fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
    )


def _page(title: str, subtitle: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="quanta">
<title>{_e(title)}</title>
<style>{CSS}</style>
<script>{_plotly_js()}</script>
</head>
<body>
<main>
<header><h1>{_e(title)}</h1><p class="meta">{subtitle}</p></header>
{body}
<footer>Made by quanta. Past performance in a backtest is not a promise of future returns.</footer>
</main>
</body>
</html>
"""


def checked_path(path: Any) -> Path:
    """`path` as a `pathlib.Path` a page can be written to, checked before the page is
    built: ConfigError naming `path` when it is no str or os.PathLike, is a folder, or is
    in a folder that does not exist."""
    try:
        target = Path(path)
    except TypeError:
        raise ConfigError(
            f"path: expected a str or os.PathLike of the file to write, got {type(path).__name__}"
        ) from None
    if target.is_dir():
        raise ConfigError(f"path: {str(target)!r} is a folder; give the file to write")
    if not target.parent.is_dir():
        raise ConfigError(f"path: the folder {str(target.parent)!r} does not exist")
    return target


def _write(target: Path, text: str) -> Path:
    target.write_text(text, encoding="utf-8")
    return target


def report(
    result: Any,
    path: str | os.PathLike[str],
    symbol: str | None = None,
    benchmark: Any = None,
    title: str | None = None,
) -> Path:
    """Write the report of a run: one HTML file that opens offline in any browser.

    The page holds a header (title, symbols, bars, date range), headline figures, the linked
    chart of `quanta_report.figures.figure`, the statistics beside the benchmark's, the
    returns of each month, the rolling Sharpe ratio (a window of a quarter of a year of
    bars), the trades (at most `MAX_TRADES`: the first and the last half), the orders by
    status and the rejections by reason, the engine settings and the data of each symbol.

    Parameters
    ----------
    result : BacktestResult
        A finished run.
    path : str or os.PathLike
        Where to write the page (overwritten); its folder must exist. Checked first:
        ConfigError before anything is built.
    symbol : str, optional
        The symbol of the price panels (default: the first traded).
    benchmark : None, str or returns
        As in `quanta_ref.analysis.benchmark_returns`.
    title : str, optional
        The page's title; default "Backtest report".

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = checked_path(path)
    analysis.check_result(result, "bars", "config", "fills", "trades", "orders")
    axis = TimeAxis(result.timestamps)
    bench = benchmark_equity(result, benchmark)
    title = title or "Backtest report"
    meta = []
    for name in ("strategy", "backend"):
        known = getattr(result, name, None)
        if isinstance(known, str) and known:
            meta.append(f"{name} <b>{_e(known)}</b>")
    if result.bars is not None:
        symbols = list(result.bars.symbols)
        shown = ", ".join(symbols[:8]) + (
            f" and {len(symbols) - 8} more" if len(symbols) > 8 else ""
        )
        meta.append(f"<b>{_e(shown)}</b>")
        if len(symbols) > 1:
            meta.append(f"chart of <b>{_e(chosen_symbol(result, symbol))}</b>")
    first, last = (str(t).replace("T", " ") for t in axis.text(axis.ns[[0, -1]]))
    meta.append(f"{len(axis.ns):,} {bar_size(axis.step)} bars, {first} to {last}")
    meta.append(f"benchmark: {_e(bench[0])}" if bench is not None else "no benchmark")
    window = rolling_sharpe_window(result)
    body = f"""
{_headline(result)}
<section class="chart">{_figure_html(figure(result, symbol, benchmark), "run-figure")}</section>
<div class="columns">
<section>{_stats_section(result, bench, benchmark)}</section>
<section>{_monthly_section(result)}
{_orders_section(result)}</section>
</div>
<section><h2>Rolling Sharpe ratio</h2>
<p class="note">Annualised, over the last {window:,} bars (a quarter of a year), risk-free
rate 0.</p>
{_figure_html(rolling_sharpe_figure(result), "rolling-sharpe")}</section>
<section>{_trades_section(result, axis)}</section>
<div class="columns">
<section>{_settings_section(result)}</section>
<section>{_data_section(result, axis)}</section>
</div>
"""
    return _write(target, _page(title, " &middot; ".join(meta), body))


def optimize_report(
    table: Any,
    metric: str,
    pivot: Any,
    path: str | os.PathLike[str],
    title: str | None = None,
    maximize: bool = True,
) -> Path:
    """Write the page of an optimisation: the heatmap of `metric` over two parameters (when
    `pivot` is given) and the best combinations, one HTML file that opens offline.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per combination: its parameters and statistics (`OptimizeResult.table`).
    metric : str
        The column the combinations are ranked by, best first (NaN last).
    pivot : pandas.DataFrame or None
        `metric` over two parameters (`OptimizeResult.heatmap`), or None for no heatmap.
    path : str or os.PathLike
        Where to write the page (overwritten); its folder must exist. Checked first:
        ConfigError before anything is built.
    title : str, optional
        The page's title; default "Optimisation of <metric>".
    maximize : bool, default True
        Whether higher values of `metric` are better.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = checked_path(path)
    if not isinstance(metric, str):
        raise ConfigError(f"metric: expected a column name, got {type(metric).__name__}")
    if not hasattr(table, "sort_values") or metric not in getattr(table, "columns", ()):
        raise ConfigError(f"metric: {metric!r} is not a column of the table")
    ranked = table.sort_values(metric, ascending=not maximize, na_position="last", kind="stable")
    best = ranked.head(MAX_COMBINATIONS)
    # A statistic with one value in every row (the start equity, the bars per year) is said
    # once above the table instead of filling a column.
    same = [
        c
        for c in best.columns
        if c in analysis.STAT_INFO and c != metric and table[c].nunique(dropna=False) == 1
    ]
    constants = "; ".join(
        f"{stat_label(str(c))[0]} {_column_format(str(c), table[c])(table[c].iloc[0])}"
        for c in same
    )
    best = best.drop(columns=same)
    columns = [stat_label(str(c))[0] for c in best.columns]
    formats = [_column_format(str(c), best[c]) for c in best.columns]
    numeric = {i for i, c in enumerate(best.columns) if formats[i] is not _e}
    rows = [
        [write(value) for write, value in zip(formats, values, strict=True)]
        for values in best.itertuples(index=False)
    ]
    note = (
        f"The {len(best):,} best of {len(table):,} combinations by {metric}."
        if len(table) > len(best)
        else f"{len(table):,} combinations, best {metric} first."
    ) + (f" The same in every combination: {constants}." if constants else "")
    body = ""
    if pivot is not None:
        fig = heatmap_figure(pivot, metric, maximize)
        label = stat_label(metric)[0]
        body += f"<section><h2>{_e(label)}</h2>{_figure_html(fig, 'heatmap')}</section>"
    body += (
        f'<section><h2>Best combinations</h2><p class="note">{_e(note)}</p>'
        + _table(columns, rows, id="combinations", numeric=numeric, classes="small")
        + "</section>"
    )
    title = title or f"Optimisation of {metric}"
    return _write(target, _page(title, f"{len(table):,} combinations ranked by {_e(metric)}", body))


def walk_forward_report(found: Any, path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Write the page of a walk-forward run: the out-of-sample statistics, the stitched
    equity with the parameters of each window (`walk_forward_figure`) and the table of
    windows, one HTML file that opens offline.

    Parameters
    ----------
    found : WalkForwardResult
        What `Engine.walk_forward` returned.
    path : str or os.PathLike
        Where to write the page (overwritten); its folder must exist. Checked first:
        ConfigError before anything is built.
    title : str, optional
        The page's title; default "Walk-forward by <metric>".

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = checked_path(path)
    check_walk_forward(found, "stats", "columns")
    windows = found.rows()
    stats_rows = []
    for key, value in found.stats.items():
        label, unit, description = stat_label(key)
        stats_rows.append(
            [f'<span title="{_e(description)}">{_e(label)}</span>', format_value(value, unit)]
        )
    stats = _table(["Statistic", "Out of sample"], stats_rows, id="stats", numeric={1})
    columns = found.columns()
    unit = TimeAxis(found.timestamps).unit
    rows = []
    for window in windows:
        row = []
        for column in columns:
            value = window[column]
            if column.endswith(("_start", "_end")):
                day = np.datetime64(value, "ns")  # numpy's or pandas' (a Timestamp)
                row.append(_e(np.datetime_as_string(day, unit=unit)))
            elif column in ("in_sample", "out_of_sample"):
                row.append(format_value(value, "ratio4"))
            elif column == "final_equity":
                row.append(format_value(value, "money"))
            else:
                row.append(_e(value))
        rows.append(row)
    numeric = {columns.index(c) for c in ("in_sample", "out_of_sample", "final_equity")}
    table = _table(
        [c.replace("_", " ") for c in columns], rows, id="windows", numeric=numeric, classes="small"
    )
    body = f"""
<section class="chart">{_figure_html(walk_forward_figure(found), "walk-forward")}</section>
<section><h2>Windows</h2>
<p class="note">Each window optimises {_e(found.metric)} on its training rows and trades the
winner on its test rows; the account carries from one test window to the next, flat.</p>
{table}</section>
<div class="columns">
<section><h2>Out of sample</h2>{stats}</section>
</div>
"""
    title = title or f"Walk-forward by {found.metric}"
    n_bars = len(found.timestamps)
    subtitle = f"{len(windows):,} windows, {n_bars:,} out-of-sample bars"
    return _write(target, _page(title, _e(subtitle), body))


CSS = """
:root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --soft: #f8fafc;
  --pos: #15803d; --neg: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 14px/1.45 Inter, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 28px 40px; }
header { border-bottom: 1px solid var(--line); padding-bottom: 10px; margin-bottom: 14px; }
h1 { font-size: 24px; margin: 0 0 4px; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 16px; margin: 22px 0 8px; font-weight: 620; }
.meta, .note { color: var(--muted); margin: 0; }
.note { margin: 0 0 8px; font-size: 13px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px;
  font-size: 21px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { font-size: 12px; color: var(--muted); font-weight: 500; text-transform: uppercase;
  letter-spacing: 0.04em; }
.chart { margin-top: 10px; }
.columns { display: grid; grid-template-columns: minmax(340px, 2fr) 3fr; gap: 36px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left;
  white-space: nowrap; }
th { font-weight: 600; color: #374151; background: var(--soft); }
td.num, th.num { text-align: right; }
table.stats { width: 100%; }
table.stats td:first-child span { border-bottom: 1px dotted #cbd5e1; cursor: help; }
table.monthly { width: 100%; font-size: 12px; }
table.monthly td, table.monthly th { padding: 4px 6px; }
table.monthly .year { font-weight: 600; border-left: 1px solid var(--line); }
table.small { min-width: 60%; }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll table { width: 100%; }
.scroll thead th { position: sticky; top: 0; z-index: 1; }
tbody tr:hover td { background: #f1f5f9; }
tr.gap td { text-align: center; color: var(--muted); background: var(--soft); }
.pos { color: var(--pos); }
.neg { color: var(--neg); }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
  padding-top: 10px; }
@media (max-width: 900px) { .columns { grid-template-columns: 1fr; } }
@media print { .scroll { max-height: none; overflow: visible; } }
"""
