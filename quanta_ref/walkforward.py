"""Walk-forward optimisation: choose parameters on the past, trade them on what follows.

`walk_forward` cuts the bars into windows of rows: each has `train` rows, on which a grid is
optimised (`quanta_ref.grid.optimize`), followed by `test` rows, on which the best parameters
are traded; the next window starts `step` rows later. The test windows follow each other,
so their equity curves, stitched end to end, are one out-of-sample account. The rules (warm
up, the account between windows, windows without a winner) are in docs/semantics.md, section
"Walk-forward", and in `walk_forward`'s docstring.
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from quanta_ref import analysis
from quanta_ref.api import Backend, BacktestResult, Strategy
from quanta_ref.arrays import Signals, Targets, check_job
from quanta_ref.bars import Bars
from quanta_ref.cache import IndicatorCache
from quanta_ref.compiled import CompiledStrategy
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError
from quanta_ref.grid import (
    EngineLike,
    OptimizeResult,
    Params,
    extended_metric,
    html_table,
    metric_name_of,
    metric_value,
    optimize,
    run_many,
)
from quanta_ref.metrics import compute_stats, infer_periods_per_year

#: The `status` of a window in `WalkForwardResult.windows`.
TRADED = "traded"
NO_WINNER = "in cash: no combination had a metric value on the training rows"
RUINED = "not traded: the account was ruined in an earlier window"

#: The columns of `WalkForwardResult.windows` that hold values of the metric.
_METRIC_COLUMNS = ("in_sample", "out_of_sample")


@dataclass(repr=False)
class WalkForwardResult:
    """What `walk_forward` returns.

    Attributes
    ----------
    equity : numpy.ndarray
        float64, the out-of-sample equity: the test windows' equity curves end to end.
    timestamps : numpy.ndarray
        int64 ns, the timestamps of `equity` (the rows of the test windows).
    windows : pandas.DataFrame or list of dict
        One row per window: ``window`` (its number), ``train_start``, ``train_end``,
        ``test_start``, ``test_end`` (numpy.datetime64 of the first and last row of each
        part, both inclusive), one column per parameter (the chosen value, None when the
        window has no winner), ``in_sample`` (the metric of the chosen combination on the
        training rows), ``out_of_sample`` (the metric of the test window's run),
        ``start_equity``, ``final_equity`` and ``status`` (`TRADED`, `NO_WINNER` or
        `RUINED`). A list of dicts when pandas is not installed.
    results : list of BacktestResult or None
        The run of each test window, in window order (None for a window not traded because
        the account was ruined).
    optimizations : list of OptimizeResult
        The optimisation on each window's training rows.
    stats : dict of str to float
        `quanta_ref.metrics.compute_stats` of the stitched curve (from the engine's
        `initial_cash`, with the closed trades of every window), plus total_commission,
        total_tax and n_fills over all windows.
    metric : str
        The metric ranked by (a statistic, or the name of the metric function).
    parameters : tuple of str
        The grid's parameter names.
    """

    equity: np.ndarray
    timestamps: np.ndarray
    windows: Any
    results: list[BacktestResult | None]
    optimizations: list[OptimizeResult]
    stats: dict[str, float]
    metric: str
    parameters: tuple[str, ...]

    def __getitem__(self, key: str) -> float:
        return self.stats[key]

    def rows(self) -> list[dict[str, Any]]:
        """`windows` as a list of dicts, one per window (what pages and views read)."""
        table = self.windows
        return table if isinstance(table, list) else table.to_dict("records")

    def __repr__(self) -> str:
        final = float(self.equity[-1]) if len(self.equity) else math.nan
        return (
            f"WalkForwardResult({len(self.results)} windows, {len(self.equity)} out-of-sample "
            f"bars, metric={self.metric!r}, final equity {final:,.2f})"
        )

    def equity_series(self) -> Any:
        """The out-of-sample equity, a Series on a DatetimeIndex (needs pandas)."""
        return analysis.equity_series(self)

    def returns(self) -> Any:
        """Per-bar returns of the out-of-sample account, from `initial_cash`, a Series on a
        DatetimeIndex (`BacktestResult.returns`; for quantstats, empyrical, pyfolio)."""
        return analysis.returns_series(self)

    def drawdown(self) -> Any:
        """Drawdown of the out-of-sample account from its running peak, a Series."""
        return analysis.drawdown_series(self)

    def plot(self) -> Any:
        """The stitched out-of-sample equity with each window's parameters, and the metric
        of each window in and out of sample, as a plotly figure
        (`quanta_report.walk_forward_figure`; ``pip install quanta[plot]``)."""
        from quanta_report import walk_forward_figure

        return walk_forward_figure(self)

    def report(self, path: Any, title: str | None = None) -> Any:
        """Write the walk-forward page to `path` (one HTML file that opens offline: the
        figure of `plot`, the out-of-sample statistics, the windows); returns its
        `pathlib.Path` (``pip install quanta[plot]``)."""
        from quanta_report import walk_forward_report

        return walk_forward_report(self, path, title)

    def columns(self) -> list[str]:
        """The columns of `windows` a reader wants, in order (`start_equity` left out)."""
        return [
            "window",
            "train_start",
            "train_end",
            "test_start",
            "test_end",
            *self.parameters,
            "in_sample",
            "out_of_sample",
            "final_equity",
            "status",
        ]

    def _repr_html_(self) -> str:
        """Jupyter's view: the out-of-sample statistics and the table of windows."""
        keys = ("final_equity", "total_return", "cagr", "sharpe_ratio", "max_drawdown")
        stats = html_table(keys, [self.stats]) if self.stats else ""
        columns = [c for c in self.columns() if c not in ("train_start", "train_end")]
        # The metric's values in its unit (a Sharpe ratio to 3 decimals, a return in %), which
        # the table cannot tell from the column names in_sample and out_of_sample.
        rows = [
            {**row, **{key: self._format_metric(row[key]) for key in _METRIC_COLUMNS}}
            for row in self.rows()
        ]
        return (
            f"<p><b>WalkForwardResult</b>: {len(self.results)} windows, "
            f"{len(self.equity)} out-of-sample bars, ranked by "
            f"<code>{html.escape(self.metric)}</code></p>" + stats + html_table(columns, rows)
        )

    def _format_metric(self, value: Any) -> str:
        """A value of the metric as text: a statistic's (core or extended) in its unit
        (`analysis.format_stat`), a metric function's to six significant digits."""
        if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
            return str(value)
        number = float(value)
        try:
            return analysis.format_stat(self.metric, number)
        except KeyError:  # a metric function's value
            return f"{number:,.6g}" if math.isfinite(number) else str(number)


def window_rows(
    n_bars: int, train: Any, test: Any, step: Any = None, anchored: bool = False
) -> list[tuple[int, int, int, int]]:
    """The windows as rows: (train_start, train_end, test_start, test_end), ends exclusive.

    Window k tests rows ``train + k * step`` to ``train + k * step + test``; its training
    rows are the `train` rows before them, or every row from the first when `anchored`.
    Only whole windows are made: rows after the last whole test window are not traded.

    Raises
    ------
    ConfigError
        `train`, `test` or `step` not a whole number >= 1, `step` below `test` (the test
        windows would overlap, and one account cannot trade a row twice), `anchored` not a
        bool, or too few bars for one window.
    """
    for name, value in (("train", train), ("test", test), ("step", step)):
        if name == "step" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ConfigError(f"{name}: expected a whole number of bars >= 1, got {value!r}")
    train, test = int(train), int(test)
    step = test if step is None else int(step)
    if step < test:
        raise ConfigError(
            f"step: {step} is below test={test}: the test windows would overlap, and one "
            f"account cannot trade the same bars twice"
        )
    if not isinstance(anchored, bool):
        raise ConfigError(f"anchored: expected True or False, got {anchored!r}")
    if train + test > n_bars:
        raise ConfigError(
            f"train, test: {n_bars} bars cannot hold one window of {train} training and "
            f"{test} test bars"
        )
    found = []
    test_start = train
    while test_start + test <= n_bars:
        train_start = 0 if anchored else test_start - train
        found.append((train_start, test_start, test_start, test_start + test))
        test_start += step
    return found


def walk_forward(
    engine: EngineLike,
    bars: Bars,
    make_job: Callable[..., Any],
    grid: Mapping[str, Iterable[Any]],
    *,
    train: int,
    test: int,
    step: int | None = None,
    anchored: bool = False,
    metric: str | Callable[[BacktestResult], Any] = "sharpe_ratio",
    maximize: bool = True,
    constraint: Callable[[Params], Any] | None = None,
    n_jobs: int | None = None,
) -> WalkForwardResult:
    """Optimise on each window's training rows, trade the winner on its test rows, and
    stitch the test windows into one out-of-sample account.

    Parameters
    ----------
    engine : EngineLike (a `quanta_ref.Engine`)
        The backend and settings of every run.
    bars : Bars
        The data.
    make_job : callable
        ``make_job(cache, **params)`` -> `Signals`, `Targets` or a `Strategy`, as for
        `quanta_ref.grid.optimize`.
    grid : dict of str to iterable
        The parameter grid optimised in each window.
    train, test : int
        Rows of training and of testing per window (whole numbers >= 1).
    step : int, optional
        Rows from one window to the next; default `test`, so the test windows tile the data.
        It may not be below `test`; above it, the rows between two test windows are not
        traded, and the stitched curve jumps over them.
    anchored : bool, default False
        Train each window on every row from the first one (an expanding window) instead of
        the `train` rows just before its test rows.
    metric, maximize, constraint, n_jobs
        As for `quanta_ref.grid.optimize`; the metric also gives each test window's
        ``out_of_sample`` value.

    Returns
    -------
    WalkForwardResult

    Raises
    ------
    ConfigError
        Bad windows (see `window_rows`), or anything `optimize` refuses.

    Notes
    -----
    * **Windows.** Window k trains on rows ``[train_start, train + k*step)`` and tests on
      the `test` rows that follow; only whole windows are made.
    * **Warm-up.** The test job is built by ``make_job`` on an `IndicatorCache` of the
      window's training *and* test rows, so causal indicators are warm on the first test
      row; every array of an array job (`Signals`, `Targets`) is then cut to the test rows,
      and the job runs on them. A `Strategy` runs on the test rows only, so when that first
      call returns one, ``make_job`` is called again with a cache of the test rows alone and
      that `Strategy` runs: what it reads from its cache by ``ctx.bar_index`` is the row it
      is on. It warms up by itself (its indicators start empty on the first test row).
    * **Periods per year.** When the engine's ``periods_per_year`` is None, it is inferred
      once from all of `bars` (`quanta_ref.metrics.infer_periods_per_year`) and used by every
      optimisation, every test run and `stats`, so ``in_sample``, ``out_of_sample`` and the
      stitched statistics are annualised alike (a window alone may infer another value).
    * **One account.** The first test window starts with the engine's `initial_cash`; each
      next one starts with the equity at the end of the previous one, and flat: positions do
      not carry over. A position still open at a window's end is valued at that window's
      last close, and the next window starts with that value in cash, as if it had been sold
      there at no cost. Settings that look at the account's history (the drawdown stop) see
      each test window's account from its start. The in-sample runs all start from
      `initial_cash`.
    * **No winner.** A window whose optimisation has no winner (every value NaN) stays in
      cash: its equity is flat (a run of an empty `Strategy`), and its status says so.
    * **Ruin.** A window that ends with equity at or below zero (a margin account) ends the
      trading: the later windows keep that equity, flat, and have no result.
    * **Statistics.** `stats` are those of the stitched curve: returns, drawdowns and
      exposure over the test rows, the closed trades of every window (a position open at a
      window's end is not a closed trade).

    The results are the same on every backend, bit for bit.
    """
    engine.check_bars(bars)
    rows = window_rows(bars.n_bars, train, test, step, anchored)
    metric = extended_metric(metric)
    metric_name = metric_name_of(metric)
    timestamps = bars.timestamps
    config = engine.config
    if config.periods_per_year is None:
        config = _with(config, periods_per_year=infer_periods_per_year(timestamps))
    engine = _Settings(engine, config)
    cash = config.initial_cash
    results: list[BacktestResult | None] = []
    optimizations: list[OptimizeResult] = []
    records: list[dict[str, Any]] = []
    curves: list[np.ndarray] = []
    parameters: tuple[str, ...] = ()
    for k, (train_start, train_end, test_start, test_end) in enumerate(rows):
        found = optimize(
            engine,
            _rows(bars, train_start, train_end),
            make_job,
            grid,
            metric=metric,
            constraint=constraint,
            maximize=maximize,
            n_jobs=n_jobs,
        )
        optimizations.append(found)
        parameters = found.parameters
        test_bars = _rows(bars, test_start, test_end)
        start_equity = cash
        result: BacktestResult | None = None
        out_of_sample = math.nan
        if cash <= 0.0:
            status = RUINED
            curves.append(np.full(test_end - test_start, cash))
        else:
            account = _Settings(engine, _with(config, initial_cash=cash))
            if found.best_params is None:
                status, job = NO_WINNER, Strategy()  # trades nothing: stays in cash
            else:
                status = TRADED
                job = _test_job(
                    bars, make_job, found.best_params, train_start, test_start, test_end, account
                )
            result = run_many(account, test_bars, [job], n_jobs=n_jobs)[0]
            out_of_sample = (
                result.stats[metric_name]
                if isinstance(metric, str)
                else metric_value(metric, metric_name, result, Params(found.best_params or {}))
            )
            curves.append(result.equity)
            cash = float(result.equity[-1])
        results.append(result)
        chosen = found.best_params or {}
        records.append(
            {
                "window": k,
                "train_start": _time(timestamps[train_start]),
                "train_end": _time(timestamps[train_end - 1]),
                "test_start": _time(timestamps[test_start]),
                "test_end": _time(timestamps[test_end - 1]),
                **{name: chosen.get(name) for name in found.parameters},
                "in_sample": found.best_value,
                "out_of_sample": out_of_sample,
                "start_equity": start_equity,
                "final_equity": cash,
                "status": status,
            }
        )
    equity = np.concatenate(curves)
    stitched_times = np.concatenate([timestamps[a:b] for _, _, a, b in rows])
    for array in (equity, stitched_times):
        array.flags.writeable = False  # a record, as a run's result is
    return WalkForwardResult(
        equity=equity,
        timestamps=stitched_times,
        windows=_table(records),
        results=results,
        optimizations=optimizations,
        stats=_stitched_stats(config, stitched_times, equity, results),
        metric=metric_name,
        parameters=parameters,
    )


@dataclass
class _Settings:
    """The engine with other settings (the inferred periods per year, a test window's
    starting cash): what `optimize` and `run_many` need of an engine."""

    engine: EngineLike
    config: EngineConfig

    @property
    def backend(self) -> str:
        return self.engine.backend

    @property
    def implementation(self) -> Backend:
        return self.engine.implementation

    def check_bars(self, bars: Any) -> None:
        self.engine.check_bars(bars)


def _with(config: EngineConfig, **settings: Any) -> EngineConfig:
    return EngineConfig.build(**{**config.as_dict(), **settings})


def _rows(bars: Bars, start: int, stop: int) -> Bars:
    """Rows start .. stop - 1 of the bars (timestamps are unique, so the bounds select
    exactly them)."""
    times = bars.timestamps
    return bars.between(
        np.datetime64(int(times[start]), "ns"), np.datetime64(int(times[stop - 1]), "ns")
    )


def _test_job(
    bars: Bars,
    make_job: Callable[..., Any],
    params: dict[str, Any],
    train_start: int,
    test_start: int,
    test_end: int,
    account: _Settings,
) -> Any:
    """The job of the chosen parameters for the test rows: built on the training and test
    rows (so indicators are warm), array jobs then cut to the test rows; a Strategy built
    again on the test rows, which it runs on."""
    warm = _rows(bars, train_start, test_end)
    job = make_job(IndicatorCache(warm, backend=account.backend), **params)
    if isinstance(job, (Strategy, CompiledStrategy)):
        # It runs on the test rows: arrays it took from the cache must index them by
        # ctx.bar_index, so its cache holds them alone. It warms up by itself.
        test_rows = _rows(bars, test_start, test_end)
        return make_job(IndicatorCache(test_rows, backend=account.backend), **params)
    if not isinstance(job, (Signals, Targets)):
        raise ConfigError(
            f"make_job: returned {type(job).__name__} for {params}; "
            f"expected Signals, Targets, a Strategy or a CompiledStrategy"
        )
    checked: Any = check_job(job, warm, account.config)  # every array now (T, N)
    skip = test_start - train_start
    cut = {
        f.name: np.ascontiguousarray(getattr(checked, f.name)[skip:])
        for f in fields(checked)
        if isinstance(getattr(checked, f.name), np.ndarray)
    }
    return replace(checked, **cut)


def _stitched_stats(
    config: EngineConfig,
    timestamps: np.ndarray,
    equity: np.ndarray,
    results: list[BacktestResult | None],
) -> dict[str, float]:
    """`compute_stats` of the stitched curve, with every window's trades, traded value and
    bars in the market, plus the windows' costs and fills added up (in window order)."""
    ran = [r for r in results if r is not None]
    traded_value = 0.0
    bars_in_market = 0
    totals = {"total_commission": 0.0, "total_tax": 0.0, "n_fills": 0.0}
    for result in ran:
        for fill in result.fills:
            traded_value = traded_value + fill.value
        # exposure = bars in the market / bars, a ratio of two whole numbers: exact back.
        bars_in_market += round(result.stats["exposure"] * len(result.equity))
        for key in totals:
            totals[key] = totals[key] + result.stats[key]
    stats = compute_stats(
        timestamps,
        equity,
        config.initial_cash,
        trade_pnls=[trade.pnl for result in ran for trade in result.trades],
        traded_value=traded_value,
        bars_in_market=bars_in_market,
        periods_per_year=config.periods_per_year,
    )
    return {**stats, **totals}


def _time(ns: Any) -> np.datetime64:
    return np.datetime64(int(ns), "ns")


def _table(records: list[dict[str, Any]]) -> Any:
    try:
        import pandas as pd
    except ImportError:
        return records
    return pd.DataFrame(records)
