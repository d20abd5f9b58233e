"""Plotly figures of a finished run: the linked panels of `figure`, the rolling Sharpe ratio,
and the heatmap of an optimisation.

Everything reads a `quanta_ref.api.BacktestResult` (timestamps, equity, fills, bars,
settings), so a run of any backend draws the same. Long series are thinned by
`quanta_report.downsample` (the lowest and highest point of each bucket); the fills are
never thinned. plotly is imported when a figure is built (``pip install quanta[plot]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quanta_ref import analysis
from quanta_ref.errors import ConfigError
from quanta_report.downsample import BUCKETS, bucket_sums, minmax_indices

#: Up to this many bars the price is drawn as candlesticks; beyond, as a line of the closes
#: (a candle narrower than a pixel shows nothing a line does not).
MAX_CANDLES = 3_000

COLORS = {
    "equity": "#1d4ed8",
    "benchmark": "#94a3b8",
    "drawdown": "#dc2626",
    "price": "#334155",
    "up": "#16a34a",
    "down": "#dc2626",
    "buy": "#15803d",
    "sell": "#b91c1c",
    "position": "#7c3aed",
    "volume": "#94a3b8",
    "grid": "#eceff3",
}
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
_DAY_NS = 86_400_000_000_000
#: One unit of each axis precision (numpy's names), in ns, coarsest first.
_UNIT_NS = {
    "D": _DAY_NS,
    "m": 60_000_000_000,
    "s": 1_000_000_000,
    "ms": 1_000_000,
    "us": 1_000,
    "ns": 1,
}
#: How a date is written at each precision, in d3's format: a lone tick, and hover labels of
#: intraday bars. d3 writes no finer than the millisecond (``%L``); so does plotly's axis.
_TICK_FORMATS = {
    "D": "%Y-%m-%d",
    "m": "%Y-%m-%d %H:%M",
    "s": "%Y-%m-%d %H:%M:%S",
    "ms": "%Y-%m-%d %H:%M:%S.%L",
    "us": "%Y-%m-%d %H:%M:%S.%L",
    "ns": "%Y-%m-%d %H:%M:%S.%L",
}


def precision(ns: np.ndarray) -> Any:
    """The coarsest unit of `_UNIT_NS` that writes every timestamp of `ns` exactly."""
    for unit, size in _UNIT_NS.items():
        if not (ns % size).any():
            return unit
    return "ns"  # not reached: every int64 is a whole number of ns


def plotly_modules() -> tuple[Any, Any]:
    """``plotly.graph_objects`` and ``plotly.subplots.make_subplots``, or an ImportError that
    names the extra to install."""
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots
    except ImportError:
        raise ImportError(
            "plotly is needed for the plots and reports of a run: pip install quanta[plot]"
        ) from None
    return go, make_subplots


def pandas_module() -> Any:
    """pandas, or an ImportError that names the extra to install."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "pandas is needed for the report of a run: pip install quanta[plot]"
        ) from None
    return pd


# ================================================================================ time axis
class TimeAxis:
    """The run's timestamps as the text plotly reads, at the precision they need: the
    coarsest of days, minutes, seconds, milliseconds, microseconds and nanoseconds that
    writes every timestamp exactly (two bars 500 ms apart are two places on the axis).

    The bars are intraday when the bar size (the median step between bars) is under a day,
    wherever in the day they are stamped. Intraday axes hide the time between sessions
    (`rangebreaks`): nights, lunch breaks, weekends and holidays would otherwise take most
    of the width. Daily (and longer) axes stay calendar axes: a weekend is two days in
    seven, no visual problem, and a date keeps its place.
    """

    def __init__(self, timestamps: Any) -> None:
        self.ns = np.asarray(timestamps, dtype=np.int64)
        #: numpy's name of the unit the timestamps are written in (`text`).
        self.unit: Any = precision(self.ns)
        steps = np.diff(self.ns)
        #: The bar size in ns: the median step between bars (one unit for a single bar). The
        #: lower median, a step that occurs: of 1 minute and 1 day, 1 minute, not 12 hours.
        #: (A sort: numpy's partition is far slower on so many equal steps.)
        self.step = (
            int(np.sort(steps)[(steps.size - 1) // 2]) if steps.size else _UNIT_NS[self.unit]
        )
        self._steps = steps
        self.intraday = self.step < _DAY_NS
        #: d3 format of a date in hover labels: the day of daily bars, else the time to the
        #: precision of the timestamps (intraday bars are never all at midnight).
        self.hover = _TICK_FORMATS[self.unit] if self.intraday else "%a %Y-%m-%d"

    def text(self, ns: Any = None) -> np.ndarray:
        """ISO text of `ns` (default: every timestamp), e.g. ``2015-01-02T09:30``."""
        values = self.ns if ns is None else np.asarray(ns, dtype=np.int64)
        return np.datetime_as_string(values.view("datetime64[ns]"), unit=self.unit)

    def gaps(self) -> list[tuple[int, np.ndarray]]:
        """The gaps between intraday sessions, grouped by length: (missing ns, first missing
        times) for each distinct length, shortest first. A gap is a step between bars longer
        than twice the bar size; its missing time runs from one bar size after the bar
        before it up to the bar after it. Nothing for daily bars (see the class)."""
        if not self.intraday:
            return []
        at = np.flatnonzero(self._steps > 2 * self.step)
        first = self.ns[at] + self.step
        missing = self._steps[at] - self.step
        order = np.argsort(missing, kind="stable")  # stable: each group in time order
        missing, first = missing[order], first[order]
        cuts = np.flatnonzero(np.diff(missing)) + 1
        return [
            (int(group[0]), starts)
            for group, starts in zip(np.split(missing, cuts), np.split(first, cuts), strict=True)
            if group.size
        ]

    def rangebreaks(self) -> list[dict[str, Any]]:
        """`gaps` as plotly's x-axis ``rangebreaks``: one per distinct length, hiding
        ``[value, value + dvalue)`` for each first missing time (``dvalue`` in ms)."""
        return [
            {"values": self.text(starts).tolist(), "dvalue": missing / 1e6}
            for missing, starts in self.gaps()
        ]

    def span(self) -> dict[str, Any]:
        """The x-axis settings of the data's span (autorange would pad it for the markers).
        A single timestamp gets half a bar each side and one tick, written at the bar's
        precision, instead of plotly's fractions of a second."""
        if self.ns[-1] > self.ns[0]:
            return {"range": self.text(self.ns[[0, -1]]).tolist()}
        half = self.step // 2
        ends = self.ns[[0, 0]] + [-half, half]
        # At least to the second: noon is not cut to the day.
        unit: Any = max(precision(ends), "s", key=list(_UNIT_NS).index)
        return {
            "range": np.datetime_as_string(ends.view("datetime64[ns]"), unit=unit).tolist(),
            "tick0": self.text(self.ns[:1]).tolist()[0],
            "dtick": self.step / 1e6,
            "tickformat": _TICK_FORMATS[self.unit],
        }


def stat_name(key: str) -> tuple[str, str, str]:
    """(label, unit, description) of a statistic (`quanta_ref.analysis.stat_info`), the label
    without its "[%]" (a chart or page writes fractions as percent itself); the key itself,
    no unit and no description for anything else (a metric function's column)."""
    try:
        label, unit, description = analysis.stat_info(key)
    except KeyError:
        return key, "", ""
    return label.replace(" [%]", ""), unit, description


def chosen_symbol(result: Any, symbol: str | None) -> str:
    """`symbol` if the bars have it; by default the first symbol traded, else the first."""
    symbols = tuple(result.bars.symbols)
    if symbol is None:
        return str(result.fills[0].symbol) if result.fills else symbols[0]
    if symbol not in symbols:
        raise ConfigError(f"symbol: {symbol!r} is not a symbol of the bars ({', '.join(symbols)})")
    return symbol


def benchmark_equity(result: Any, benchmark: Any = None) -> tuple[str, np.ndarray] | None:
    """The benchmark's name and equity curve (starting from the run's initial cash), or
    None when the run carries no bars and no benchmark is given.

    None is the equal-weight buy-and-hold of the universe and a symbol that symbol's
    buy-and-hold (`quanta_ref.analysis.buy_and_hold_equity`); returns (one per bar, or a
    Series) are compounded from the initial cash.
    """
    start = float(result.stats["start_equity"])
    if benchmark is None:
        if result.bars is None or result.config is None:
            return None
        bars = result.bars
        name = "Buy & hold" if bars.n_symbols == 1 else "Buy & hold, equal weight"
        return name, analysis.buy_and_hold_equity(bars, result.config)
    returns = analysis.benchmark_returns(result, benchmark)  # checks the benchmark
    if isinstance(benchmark, str):
        curve = analysis.buy_and_hold_equity(result.bars.select([benchmark]), result.config)
        return f"Buy & hold {benchmark}", curve
    label = getattr(benchmark, "name", None)
    return (str(label) if label else "Benchmark"), start * np.cumprod(1.0 + returns)


def _thinned(axis: TimeAxis, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = minmax_indices(values)
    return axis.text(axis.ns[keep]), np.asarray(values)[keep]


# ================================================================================ the run
def figure(result: Any, symbol: str | None = None, benchmark: Any = None) -> Any:
    """The run as linked panels sharing one time axis (zoom one, all follow).

    From the top: equity against the benchmark; drawdown from the running peak; the price of
    `symbol` with every fill (buys as up-triangles, sells as down-triangles, at the fill
    price; hover for quantity, price and costs); the position held in it; its volume. Up to
    `MAX_CANDLES` bars the price is drawn as candlesticks, beyond as a line of the closes.
    A missing bar is a gap. Lines of more than ``2 * BUCKETS`` points are thinned to the
    lowest and highest point of each of `BUCKETS` buckets (`quanta_report.downsample`), and
    volume is summed per bucket; fills are never thinned.

    Parameters
    ----------
    result : BacktestResult
        A finished run. Without bars (a result built by hand) only equity and drawdown
        are drawn.
    symbol : str, optional
        The symbol of the price panels; default the first symbol traded, else the first.
    benchmark : None, str or returns
        As in `quanta_ref.analysis.benchmark_returns`: None for the equal-weight
        buy-and-hold of the universe, a symbol, or one return per bar.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    analysis.check_result(result, "bars", "config", "fills")
    go, make_subplots = plotly_modules()
    axis = TimeAxis(result.timestamps)
    start = float(result.stats["start_equity"])
    equity = np.asarray(result.equity, dtype=np.float64)
    bars = result.bars
    name = chosen_symbol(result, symbol) if bars is not None else None
    n_bars = len(axis.ns)
    volume_width = 1 if n_bars <= 2 * BUCKETS else -(-n_bars // BUCKETS)

    titles = ["Equity", "Drawdown"]
    heights = [0.34, 0.14]
    if name is not None:
        volume_title = "Volume" if volume_width == 1 else f"Volume (sum per {volume_width} bars)"
        titles += [f"{name}: price and fills", f"{name}: position (quantity held)", volume_title]
        heights += [0.30, 0.11, 0.11]
    fig = make_subplots(
        rows=len(titles),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.045,
        row_heights=heights,
        subplot_titles=titles,
    )

    x, y = _thinned(axis, equity)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            name="Strategy",
            line={"color": COLORS["equity"], "width": 1.6},
            hovertemplate="%{y:,.0f}",
        ),
        row=1,
        col=1,
    )
    bench = benchmark_equity(result, benchmark)
    if bench is not None:
        x, y = _thinned(axis, bench[1])
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=bench[0],
                line={"color": COLORS["benchmark"], "width": 1.3},
                hovertemplate="%{y:,.0f}",
            ),
            row=1,
            col=1,
        )
    drawdown = analysis.drawdown_curve(equity, start)
    x, y = _thinned(axis, drawdown)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            name="Drawdown",
            showlegend=False,
            fill="tozeroy",
            fillcolor="rgba(220, 38, 38, 0.18)",
            line={"color": COLORS["drawdown"], "width": 1.0},
            hovertemplate="%{y:.2%}",
        ),
        row=2,
        col=1,
    )
    if name is not None:
        _symbol_panels(fig, go, result, axis, name, volume_width)

    _style(fig, axis, rows=len(titles))
    drawn = [equity] if bench is None else [equity, bench[1]]
    fig.update_yaxes(tickformat=",.2~f", range=_flat_range(drawn), row=1, col=1)
    # A drawdown is never above 0: from the deepest point (with a little room) up to 0, and
    # a fixed 1 % when there is none (autorange would show 0 to +100 %).
    deepest = float(np.nanmin(drawdown)) if np.isfinite(drawdown).any() else 0.0
    floor = 1.05 * deepest if deepest < 0.0 else -0.01
    fig.update_yaxes(tickformat=".2~%", range=[floor, 0.0], row=2, col=1)
    return fig


def _flat_range(series: list[np.ndarray]) -> list[float] | None:
    """A symmetric range of 1 % around a flat curve (autorange would repeat one value at
    every tick), or None (autorange) when the curves move."""
    values = np.concatenate([np.asarray(s, dtype=np.float64) for s in series])
    values = values[np.isfinite(values)]
    if values.size == 0 or values.max() > values.min():
        return None
    level = float(values[0])
    room = 0.01 * abs(level) or 1.0
    return [level - room, level + room]


def _symbol_panels(
    fig: Any, go: Any, result: Any, axis: TimeAxis, name: str, volume_width: int
) -> None:
    """Rows 3-5 of `figure`: price with fills, position, volume of one symbol."""
    bars = result.bars
    column = list(bars.symbols).index(name)
    close = bars.close[:, column]
    if len(close) <= MAX_CANDLES:
        fig.add_trace(
            go.Candlestick(
                x=axis.text(),
                open=bars.open[:, column],
                high=bars.high[:, column],
                low=bars.low[:, column],
                close=close,
                name=name,
                showlegend=False,
                increasing={"line": {"color": COLORS["up"], "width": 1}},
                decreasing={"line": {"color": COLORS["down"], "width": 1}},
            ),
            row=3,
            col=1,
        )
    else:
        x, y = _thinned(axis, close)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=f"{name} close",
                showlegend=False,
                connectgaps=False,
                line={"color": COLORS["price"], "width": 1.0},
                hovertemplate="close %{y:,.2f}",
            ),
            row=3,
            col=1,
        )

    fills = [f for f in result.fills if f.symbol == name]
    size = 10 if len(fills) <= 400 else 7 if len(fills) <= 4_000 else 5
    for side, label, shape in (("buy", "Buy", "triangle-up"), ("sell", "Sell", "triangle-down")):
        chosen = [f for f in fills if f.side.value == side]
        when = np.array([f.timestamp for f in chosen], dtype=np.int64)
        costs = np.array([[f.quantity, f.commission + f.tax] for f in chosen], dtype=np.float64)
        fig.add_trace(
            go.Scatter(
                x=axis.text(when),
                y=np.array([f.price for f in chosen], dtype=np.float64),
                name=label,
                mode="markers",
                marker={
                    "symbol": shape,
                    "size": size,
                    "color": COLORS[side],
                    "line": {"color": "white", "width": 0.6},
                },
                customdata=costs.reshape(-1, 2),
                hovertemplate=(
                    f"<b>{label}</b> %{{customdata[0]:,.4~f}} @ %{{y:,.4~f}}"
                    "<br>costs %{customdata[1]:,.2f}<extra></extra>"
                ),
            ),
            row=3,
            col=1,
        )

    # The position changes only at fills: a step line through them is exact and small.
    signed = np.array(
        [f.quantity if f.side.value == "buy" else -f.quantity for f in fills], dtype=np.float64
    )
    when = np.array([f.timestamp for f in fills], dtype=np.int64)
    held = np.cumsum(signed)
    fig.add_trace(
        go.Scatter(
            x=axis.text(np.concatenate(([axis.ns[0]], when, [axis.ns[-1]]))),
            y=np.concatenate(([0.0], held, [held[-1] if held.size else 0.0])),
            name="Position",
            showlegend=False,
            line={"color": COLORS["position"], "width": 1.2, "shape": "hv"},
            fill="tozeroy",
            fillcolor="rgba(124, 58, 237, 0.12)",
            hovertemplate="%{y:,.4~f}",
        ),
        row=4,
        col=1,
    )

    volume = bars.volume[:, column]
    if volume_width == 1:
        x, y = axis.text(), volume
    else:
        x, y = axis.text(axis.ns[::volume_width]), bucket_sums(volume, volume_width)
    fig.add_trace(
        go.Bar(
            x=x,
            y=y,
            name="Volume",
            showlegend=False,
            marker={"color": COLORS["volume"], "line": {"width": 0}},
            # plotly cannot guess the width of a lone bar: one bar size (in ms).
            width=axis.step / 1e6 if len(x) == 1 else None,
            hovertemplate="%{y:,.0f}",
        ),
        row=5,
        col=1,
    )
    fig.update_yaxes(tickformat=",.4~f", row=3, col=1)
    # Whole units when nothing was held (plotly would tick 0.5 as "500m").
    fig.update_yaxes(tickformat="~s", dtick=None if fills else 1, row=4, col=1)
    fig.update_yaxes(tickformat="~s", row=5, col=1)


def _style(fig: Any, axis: TimeAxis, rows: int) -> None:
    """The house look: white, thin grid, titles left, legend above the plots on the right,
    one hover label per panel with the date, spikes across the panels; every x axis spans
    the data and hides the gaps between intraday sessions (`TimeAxis`)."""
    fig.update_layout(
        template="plotly_white",
        height=210 + 150 * rows,
        margin={"l": 70, "r": 24, "t": 56, "b": 40},
        font={"family": FONT, "size": 12, "color": "#1f2937"},
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.015,
            "xanchor": "right",
            "x": 1.0,
            "bgcolor": "rgba(255,255,255,0)",
            "itemsizing": "constant",
        },
        hovermode="x unified",
        hoverlabel={"font": {"family": FONT, "size": 12}},
        bargap=0.0,
    )
    fig.update_annotations(xanchor="left", x=0.0, font={"size": 13, "color": "#111827"})
    fig.update_xaxes(
        showgrid=True,
        gridcolor=COLORS["grid"],
        gridwidth=1,
        linecolor="#cbd5e1",
        hoverformat=axis.hover,
        showspikes=True,
        spikemode="across",
        spikesnap="cursor",
        spikethickness=1,
        spikecolor="#64748b",
        spikedash="dot",
        rangeslider={"visible": False},
        rangebreaks=axis.rangebreaks(),
        **axis.span(),
    )
    fig.update_yaxes(gridcolor=COLORS["grid"], gridwidth=1, zeroline=False, linecolor="#cbd5e1")


# ================================================================================ extras
def rolling_sharpe_window(result: Any) -> int:
    """Bars in the rolling Sharpe window: a quarter of a year (``periods_per_year / 4``,
    at least 2)."""
    return max(2, int(round(float(result.stats["periods_per_year"]) / 4.0)))


def rolling_sharpe_figure(result: Any) -> Any:
    """The annualised Sharpe ratio over a moving window of `rolling_sharpe_window` bars
    (mean over sample standard deviation of the bar returns, times the square root of
    ``periods_per_year``, risk-free rate 0 as `quanta_ref.metrics`), with the whole run's
    ratio as a dashed line."""
    analysis.check_result(result)
    go, _ = plotly_modules()
    pd = pandas_module()
    axis = TimeAxis(result.timestamps)
    window = rolling_sharpe_window(result)
    returns = pd.Series(analysis.bar_returns(np.asarray(result.equity), result["start_equity"]))
    rolling = returns.rolling(window)
    sharpe = (rolling.mean() / rolling.std() * np.sqrt(result["periods_per_year"])).to_numpy(
        copy=True
    )
    sharpe[~np.isfinite(sharpe)] = np.nan
    x, y = _thinned(axis, sharpe)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=y,
            name=f"Sharpe, {window:,} bars",
            line={"color": COLORS["equity"], "width": 1.3},
            hovertemplate="%{y:.2f}",
        )
    )
    whole = float(result["sharpe_ratio"])
    if np.isfinite(whole):
        fig.add_hline(
            y=whole,
            line={"color": "#64748b", "width": 1, "dash": "dash"},
            annotation_text=f"whole run {whole:.2f}",
            annotation_position="top right",
            annotation_bgcolor="rgba(255, 255, 255, 0.85)",
        )
    fig.add_hline(y=0.0, line={"color": "#cbd5e1", "width": 1})
    _style(fig, axis, rows=1)
    fig.update_layout(height=300, showlegend=False, margin={"t": 16})
    fig.update_yaxes(tickformat=".1f")
    return fig


def heatmap_figure(pivot: Any, metric: str, maximize: bool = True) -> Any:
    """A heatmap of `metric` over two parameters, the best cell outlined (the highest, or
    the lowest when not `maximize`).

    Parameters
    ----------
    pivot : pandas.DataFrame
        One row per value of the y parameter, one column per value of the x parameter (as
        ``DataFrame.pivot`` makes it); the axis names become the axis titles. NaN cells
        (combinations not run) stay blank.
    metric : str
        What the cells hold, for the colour bar and the hover: a statistic is named by its
        label (`quanta_ref.analysis.stat_info`), and a fraction shown in percent.
    maximize : bool, default True
        Whether higher is better: it picks the outlined cell and turns the colours so that
        green is always better.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if not isinstance(metric, str):
        raise ConfigError(f"metric: expected the name of a statistic, got {type(metric).__name__}")
    go, _ = plotly_modules()
    if not hasattr(pivot, "to_numpy") or not hasattr(pivot, "columns") or pivot.size == 0:
        raise ConfigError(f"pivot: expected a non-empty DataFrame, got {type(pivot).__name__}")
    try:
        z = pivot.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("pivot: the cells must be numbers") from None
    x_name = str(pivot.columns.name or "x")
    y_name = str(pivot.index.name or "y")
    x = [str(v) for v in pivot.columns]
    y = [str(v) for v in pivot.index]
    label, unit, _ = stat_name(metric)
    percent = unit == "fraction"  # a return, a drawdown, a win rate: shown in percent
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=x,
            y=y,
            colorscale="RdYlGn" if maximize else "RdYlGn_r",
            colorbar={
                "title": {"text": label},
                "thickness": 14,
                "tickformat": ".2~%" if percent else None,
            },
            texttemplate=("%{z:.1%}" if percent else "%{z:.2f}") if z.size <= 400 else None,
            hovertemplate=f"{x_name} %{{x}}<br>{y_name} %{{y}}<br>{label} "
            + ("%{z:.2%}" if percent else "%{z:.4g}")
            + "<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    if np.isfinite(z).any():
        # The best cell outlined; on a category axis cell k spans k - 0.5 .. k + 0.5.
        best = np.nanargmax(z) if maximize else np.nanargmin(z)
        row, col = np.unravel_index(best, z.shape)
        fig.add_shape(
            type="rect",
            x0=col - 0.5,
            x1=col + 0.5,
            y0=row - 0.5,
            y1=row + 0.5,
            line={"color": "#111827", "width": 3},
        )
    fig.update_layout(
        template="plotly_white",
        height=max(320, 60 + 28 * len(y)),
        margin={"l": 70, "r": 24, "t": 24, "b": 50},
        font={"family": FONT, "size": 12, "color": "#1f2937"},
    )
    fig.update_xaxes(title={"text": x_name}, type="category", showgrid=False)
    fig.update_yaxes(title={"text": y_name}, type="category", showgrid=False)
    return fig


# ========================================================================= walk-forward
def check_walk_forward(found: Any, *fields: str) -> None:
    """ConfigError naming `found` unless it has `fields` and the equity, timestamps,
    windows (`rows`), metric and parameters of a `WalkForwardResult`, and naming `metric` unless
    that is a str."""
    needed = ("equity", "timestamps", "rows", "metric", "parameters", *fields)
    missing = [f for f in needed if not hasattr(found, f)]
    if missing:
        raise ConfigError(
            f"found: expected a WalkForwardResult, got {type(found).__name__} "
            f"(without {', '.join(missing)})"
        )
    if not isinstance(found.metric, str):
        raise ConfigError(
            f"metric: expected the name of the metric ranked by, got {type(found.metric).__name__}"
        )


def walk_forward_figure(found: Any) -> Any:
    """A walk-forward run: the stitched out-of-sample equity with each test window shaded
    and labelled with the parameters chosen for it, and the metric of each window in sample
    (on its training rows) beside out of sample (on its test rows).

    Parameters
    ----------
    found : WalkForwardResult
        What `Engine.walk_forward` returned.
    """
    check_walk_forward(found)
    go, make_subplots = plotly_modules()
    axis = TimeAxis(found.timestamps)
    windows = found.rows()
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[0.68, 0.32],
        vertical_spacing=0.12,
        subplot_titles=("Out-of-sample equity", f"{found.metric}: in sample and out of sample"),
    )
    x, y = _thinned(axis, np.asarray(found.equity))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            name="Out-of-sample equity",
            line={"color": COLORS["equity"], "width": 1.6},
            hovertemplate="%{y:,.2f}",
        ),
        row=1,
        col=1,
    )
    labels = []
    for k, window in enumerate(windows):
        start, end = (
            str(np.datetime_as_string(np.datetime64(window[key], "ns"), unit=axis.unit))
            for key in ("test_start", "test_end")
        )
        chosen = ", ".join(f"{name}={window[name]}" for name in found.parameters)
        labels.append(f"#{window['window']}")
        fig.add_vrect(
            x0=start,
            x1=end,
            fillcolor="#e2e8f0" if k % 2 == 0 else "#f8fafc",
            opacity=0.6,
            layer="below",
            line_width=0,
            row=1,
            col=1,
        )
        fig.add_annotation(
            x=start,
            y=1.0,
            xref="x",
            yref="y domain",
            text=f"#{window['window']} {chosen}" if chosen else f"#{window['window']}",
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 10, "color": "#475569"},
        )
    for column, color, name in (
        ("in_sample", "#94a3b8", "In sample"),
        ("out_of_sample", COLORS["equity"], "Out of sample"),
    ):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[window[column] for window in windows],
                name=name,
                marker_color=color,
                hovertemplate=f"{name} %{{y:.3f}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_layout(
        template="plotly_white",
        height=620,
        barmode="group",
        margin={"l": 70, "r": 24, "t": 56, "b": 40},
        font={"family": FONT, "size": 12, "color": "#1f2937"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "right", "x": 1.0},
    )
    fig.update_xaxes(hoverformat=axis.hover, rangebreaks=axis.rangebreaks(), row=1, col=1)
    fig.update_xaxes(type="category", row=2, col=1)
    return fig
