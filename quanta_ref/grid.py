"""Many runs on the same bars: `run_many` and `optimize` (`Engine.run_many`, `Engine.optimize`).

A *job* is what one run trades: a `Signals` or `Targets` array job, or a `Strategy`. The jobs
are checked here, then handed to the backend's `run_jobs` (the Rust backend runs them in
parallel, the reference one after the other); results always come back in job order and are
the same whatever the thread count, the chunking or the executor.

Three ways to run them:

* **at once**: one `run_jobs` call with every job (the default);
* **in chunks** (``progress=True`` or `chunk_size`): `run_jobs` per chunk, so a tqdm progress
  bar can move and Ctrl-C is noticed between chunks;
* **on an executor** (``executor=``, any `concurrent.futures.Executor`: a process pool, a
  Dask ``client.get_executor()``, a Ray executor): each chunk is sent with
  ``executor.submit(run_chunk, backend name, settings, bars, chunk, n_jobs)`` and runs
  natively in the worker that receives it; the results are gathered in order.

`optimize` builds one job per combination of a parameter grid through an `IndicatorCache`
(each indicator computed once for all combinations), runs them the same three ways, and ranks
them by a statistic, as backtesting.py's ``Backtest.optimize`` does. Ranked by a statistic's
name it keeps only the statistics of each run (`Backend.run_jobs_stats`; on an executor,
`run_chunk_stats`) and runs the best combination again for its whole result.
"""

from __future__ import annotations

import html
import itertools
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, NamedTuple, Protocol

import numpy as np

from quanta_ref import analysis, backends
from quanta_ref.api import Backend, BacktestResult, JobStats, Strategy
from quanta_ref.arrays import Signals, Targets, check_job
from quanta_ref.bars import Bars
from quanta_ref.cache import IndicatorCache
from quanta_ref.compiled import CompiledStrategy
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError, QuantaError
from quanta_ref.metrics import STAT_KEYS

#: The keys of `BacktestResult.stats`, in order: `quanta_ref.metrics.STAT_KEYS`, then the
#: account totals both backends add (`quanta_ref.engine`, the run's result).
STAT_NAMES = STAT_KEYS + ("total_commission", "total_tax", "n_fills")

#: Without an executor, progress moves at most about this many times.
_PROGRESS_STEPS = 100
#: With an executor, the jobs are split into about this many chunks per worker, so that a
#: slow chunk does not leave the other workers idle at the end.
_CHUNKS_PER_WORKER = 4


class EngineLike(Protocol):
    """What the grids need of an engine: `quanta_ref.Engine` is one (the front calls this
    module, so it is named here by what it offers, not imported)."""

    config: EngineConfig

    @property
    def backend(self) -> str: ...

    @property
    def implementation(self) -> Backend: ...

    def check_bars(self, bars: Any) -> None: ...


# ================================================================================= run_many
def run_many(
    engine: EngineLike,
    bars: Bars,
    jobs: Iterable[Any],
    n_jobs: int | None = None,
    progress: bool = False,
    executor: Any = None,
    *,
    chunk_size: int | None = None,
) -> list[BacktestResult]:
    """Run many jobs on the same bars; results in job order.

    Parameters
    ----------
    engine : EngineLike (a `quanta_ref.Engine`)
        Its backend and settings run every job.
    bars : Bars
        The data, shared by all jobs.
    jobs : iterable of Signals, Targets or Strategy
        Array jobs are checked against `bars` first (a bad one raises, naming its position).
        A strategy instance is run as it is; with an executor it runs on a copy in the
        worker, so it must pickle (a class defined at module level).
    n_jobs : int, optional
        How many jobs run at once in one process: threads of the Rust backend (None: all
        cores); the reference runs one job at a time whatever it says. With an executor it
        is the thread count in each worker (None: 1, the executor being the parallelism).
        A whole number >= 1 (else ConfigError, on either backend); above the number of CPUs
        the process may use it is lowered to that number, as more threads than CPUs cannot
        make runs that only compute any faster.
    progress : bool, default False
        Show a tqdm progress bar over the jobs (on stderr).
    executor : concurrent.futures.Executor, optional
        Run chunks of jobs on it (processes, threads, a Dask or Ray cluster). Everything
        sent pickles: the bars, the settings, the jobs; results come back pickled.
    chunk_size : int, optional
        Jobs per `run_jobs` call. Default: all at once, or, with a progress bar, about
        ``len(jobs) / 100`` (at least one job per thread); with an executor, about four
        chunks per worker of the executor.

    Returns
    -------
    list of BacktestResult
        One per job, in job order, identical whatever `n_jobs`, `chunk_size` or `executor`.

    Raises
    ------
    ConfigError
        Bad bars, job, `n_jobs`, `chunk_size` or `executor`.
    DataError
        An array job whose arrays do not fit the bars.
    QuantaError
        An executor that returns anything but one `BacktestResult` per job of a chunk.
    """
    results: list[BacktestResult] = _run(
        engine, bars, jobs, n_jobs, progress, executor, chunk_size, _RESULTS
    )
    return results


class _Keep(NamedTuple):
    """What a run of many jobs keeps: whole results (`run_many`) or only the statistics and
    rejections (`optimize` ranking by a statistic)."""

    #: The backend's method that runs a list of checked jobs.
    method: str
    #: What an executor's worker runs on a chunk (module-level, so it pickles).
    chunk: Callable[..., Any]
    #: (executor, what it returned, jobs in the chunk, bars) -> the chunk's part, checked.
    received: Callable[[Any, Any, int, Bars], Any]
    #: The chunks' parts -> the whole, in job order.
    join: Callable[[list[Any]], Any]


def _run(
    engine: EngineLike,
    bars: Bars,
    jobs: Iterable[Any],
    n_jobs: int | None,
    progress: bool,
    executor: Any,
    chunk_size: int | None,
    keep: _Keep,
) -> Any:
    """`run_many`'s checks and its three ways to run the jobs, keeping what `keep` says."""
    engine.check_bars(bars)
    n_jobs = _check_count("n_jobs", n_jobs)
    chunk_size = _check_count("chunk_size", chunk_size)
    _check_flag("progress", progress)
    _check_executor(executor)
    if isinstance(jobs, (Signals, Targets, Strategy)) or not isinstance(jobs, Iterable):
        raise ConfigError(f"jobs: expected a list of jobs, got {type(jobs).__name__}")
    try:
        jobs = list(jobs)
    except TypeError:  # e.g. a 0-d numpy array, iterable in type only
        raise ConfigError(f"jobs: expected a list of jobs, got {type(jobs).__name__}") from None
    checked = [check_job(job, bars, engine.config, k) for k, job in enumerate(jobs)]
    backend = engine.implementation
    run = getattr(backend, keep.method)
    if executor is None and not progress and chunk_size is None:
        return run(bars, checked, engine.config, n_jobs)

    # Imported here, not with the package: only chunked runs need it.
    from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs in the dev extra

    if chunk_size is None:
        chunk_size = _default_chunk_size(len(checked), n_jobs, executor)
    chunks = [checked[k : k + chunk_size] for k in range(0, len(checked), chunk_size)]
    parts: list[Any] = []
    with tqdm(total=len(checked), disable=not progress, desc="backtests", unit="run") as bar:
        if executor is None:
            for chunk in chunks:
                parts.append(run(bars, chunk, engine.config, n_jobs))
                bar.update(len(chunk))
            return keep.join(parts)
        settings = engine.config.as_dict()
        worker_threads = 1 if n_jobs is None else n_jobs
        futures = [
            executor.submit(keep.chunk, engine.backend, settings, bars, chunk, worker_threads)
            for chunk in chunks
        ]
        try:
            for future, chunk in zip(futures, chunks, strict=True):
                parts.append(keep.received(executor, future.result(), len(chunk), bars))
                bar.update(len(chunk))
        except BaseException:
            # An error or Ctrl-C: do not leave the rest of the grid queued on the cluster.
            for future in futures:
                future.cancel()
            raise
    return keep.join(parts)


def _chunk_results(executor: Any, returned: Any, n_jobs: int, bars: Bars) -> list[BacktestResult]:
    """What the executor returned for a chunk of `n_jobs` jobs (`run_chunk`'s list), with
    `bars` set back, or a `QuantaError` naming the executor when it is anything else: a
    result out of place would be silently taken for another job's."""
    if not isinstance(returned, (list, tuple)):
        got = type(returned).__name__
    elif len(returned) != n_jobs:
        got = f"{len(returned)} results"
    else:
        odd = [r for r in returned if not isinstance(r, BacktestResult)]
        if not odd:
            for result in returned:
                result.bars = bars  # run_chunk leaves them out of what it sends back
            return list(returned)
        got = f"a {type(odd[0]).__name__} among its results"
    raise QuantaError(
        f"executor: {type(executor).__name__} returned {got} where run_chunk returns a list "
        f"of {n_jobs} BacktestResult (one per job of the chunk)"
    )


def _chunk_stats(executor: Any, returned: Any, n_jobs: int, bars: Bars) -> JobStats:
    """What the executor returned for a chunk of `n_jobs` jobs (`run_chunk_stats`'s
    `JobStats`), or a `QuantaError` naming the executor when it is anything else (a row out
    of place would be silently taken for another job's)."""
    if not isinstance(returned, JobStats):
        got = type(returned).__name__
    elif len(returned) != n_jobs or np.shape(returned.stats) != (n_jobs, len(STAT_NAMES)):
        got = f"statistics of shape {np.shape(returned.stats)} and {len(returned)} rejections"
    else:
        return returned
    raise QuantaError(
        f"executor: {type(executor).__name__} returned {got} where run_chunk_stats returns "
        f"the JobStats of {n_jobs} jobs (one row of {len(STAT_NAMES)} statistics per job)"
    )


def run_chunk(
    backend: str, settings: dict[str, Any], bars: Bars, jobs: list[Any], n_jobs: int | None = None
) -> list[BacktestResult]:
    """Run checked jobs on a fresh engine: what each executor worker does with its chunk.

    Parameters
    ----------
    backend : str
        The name of the backend of the engine that sent the chunk (`quanta_ref.backends`).
    settings : dict
        Its settings (`EngineConfig.as_dict`), rebuilt with `EngineConfig.build`.
    bars : Bars
        The data.
    jobs : list
        Jobs already checked by `run_many`.
    n_jobs : int, optional
        Threads for the chunk (Rust backend).

    Returns
    -------
    list of BacktestResult
        In job order, without their `bars` (the caller has them: `run_many` sets them back).
    """
    config = EngineConfig.build(**settings)
    bars, jobs = _as_built(bars), [_as_built(job) for job in jobs]
    results = backends.load(backend).run_jobs(bars, jobs, config, n_jobs)
    for result in results:
        result.bars = None  # the caller has them: not sent back once per job
    return results


def run_chunk_stats(
    backend: str, settings: dict[str, Any], bars: Bars, jobs: list[Any], n_jobs: int | None = None
) -> JobStats:
    """`run_chunk` keeping only each job's statistics and rejections (`Backend.run_jobs_stats`):
    what each executor worker does with a chunk of an `optimize` ranked by a statistic.
    Arguments as for `run_chunk`; returns the chunk's `JobStats`, in job order."""
    config = EngineConfig.build(**settings)
    bars, jobs = _as_built(bars), [_as_built(job) for job in jobs]
    stats: JobStats = backends.load(backend).run_jobs_stats(bars, jobs, config, n_jobs)
    return stats


#: What `run_many` keeps (whole results) and what `optimize` keeps when it ranks by a
#: statistic (only the statistics and rejections).
_RESULTS = _Keep("run_jobs", run_chunk, _chunk_results, lambda parts: list(itertools.chain(*parts)))
_STATS = _Keep("run_jobs_stats", run_chunk_stats, _chunk_stats, JobStats.concat)


def _as_built(item: Any) -> Any:
    """Bars or a job as they were built, after a trip through a serializer.

    Deserialized arrays may differ in their flags, not their values: pickle gives back
    writeable arrays, and Dask may give back unaligned views of its receive buffers, which
    the native engine refuses. Such arrays of a job are copied to aligned memory; the others
    are kept as they are. A Bars panel needs nothing: unpickling runs its constructor, which
    checks it and stores aligned read-only copies.
    """
    if isinstance(item, Bars):
        return item
    if isinstance(item, (Signals, Targets)):
        job: Any = item
        arrays = {
            f.name: _aligned(getattr(job, f.name))
            for f in fields(job)
            if isinstance(getattr(job, f.name), np.ndarray)
        }
        return replace(job, **arrays)
    return item


def _aligned(array: np.ndarray) -> np.ndarray:
    return np.require(array, requirements=("C_CONTIGUOUS", "ALIGNED"))


def _check_count(name: str, value: Any) -> int | None:
    """None, or a whole number >= 1 (bool refused), else ConfigError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{name}: expected None or a whole number >= 1, got {value!r}")
    return int(value)


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: expected True or False, got {value!r}")


def _check_executor(executor: Any) -> None:
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ConfigError(
            f"executor: expected a concurrent.futures.Executor (with a submit "
            f"method), got {type(executor).__name__}"
        )


def _default_chunk_size(n_total: int, n_jobs: int | None, executor: Any) -> int:
    if executor is None:
        threads = n_jobs or os.cpu_count() or 1
        return max(threads, math.ceil(n_total / _PROGRESS_STEPS))
    workers = _executor_workers(executor)
    return max(1, math.ceil(n_total / (_CHUNKS_PER_WORKER * workers)))


def _executor_workers(executor: Any) -> int:
    """How many chunks the executor runs at once, as far as it says; else this machine's
    CPU count."""
    for name in ("max_workers", "_max_workers"):  # Ray's executors; the standard pools
        workers = getattr(executor, name, None)
        if isinstance(workers, int) and workers >= 1:
            return workers
    client = getattr(executor, "_client", None)  # Dask's client.get_executor()
    if client is not None and callable(getattr(client, "nthreads", None)):
        threads = sum(client.nthreads().values())
        if threads >= 1:
            return int(threads)
    return os.cpu_count() or 1


# ================================================================================= optimize
class Params(dict[str, Any]):
    """One combination of a grid: a dict that also reads as attributes (``p.fast``), as the
    `constraint` of backtesting.py's ``optimize`` receives it."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


#: What `OptimizeResult.heatmap` may aggregate with ("best": max when maximizing, else min).
HEATMAP_AGGREGATES = ("best", "max", "min", "mean")


@dataclass(repr=False)
class OptimizeResult:
    """What `optimize` returns.

    Attributes
    ----------
    table : pandas.DataFrame or list of dict
        One row per combination run, in grid order: the parameters, then every statistic
        (`STAT_NAMES`), then, when the metric is a function, its value (column `metric`).
        A list of dicts when pandas is not installed.
    best_params : dict or None
        The parameters of the best row (None when every value of the metric is NaN).
    best : BacktestResult or None
        Its full result.
    metric : str
        The column ranked by: a statistic, or the name of the metric function (its
        ``__name__``, ``"metric"`` for a lambda).
    maximize : bool
        Whether higher was better.
    values : tuple of float
        The metric of every row, in table order.
    best_index : int or None
        The row of the best combination in `table` (None when there is none).
    parameters : tuple of str
        The names of the grid's parameters, in grid order.
    rejections : tuple of dict
        Each row's `BacktestResult.rejections` (orders the engine rejected, by reason).
    """

    table: Any
    best_params: dict[str, Any] | None
    best: BacktestResult | None
    metric: str
    maximize: bool = True
    values: tuple[float, ...] = ()
    best_index: int | None = None
    parameters: tuple[str, ...] = ()
    rejections: tuple[dict[str, int], ...] = ()

    @property
    def best_value(self) -> float:
        """The metric of the best combination (NaN when there is none)."""
        if self.best_index is not None:
            return self.values[self.best_index]
        return math.nan if self.best is None else self.best.stats[self.metric]

    def heatmap(self, x: str, y: str, agg: str = "best") -> Any:
        """The metric as a grid over two parameters: `y` down the rows, `x` across.

        Parameters
        ----------
        x, y : str
            Two different parameters of the grid: `x` gives the columns, `y` the rows, each
            in ascending order of its values.
        agg : {"best", "max", "min", "mean"}, default "best"
            How the rows that share an (x, y) pair (they differ in the other parameters)
            become one number. "best" is the best of them in the direction of `maximize`
            (max when maximizing, else min), so the cell answers "how good can this pair
            be?"; "mean" asks "how good is it on average?". NaN values are skipped, as in
            the ranking; a cell with no value (all NaN, or no combination allowed by the
            constraint) is NaN.

        Returns
        -------
        pandas.DataFrame
            Indexed by the values of `y`, with the values of `x` as columns.

        Raises
        ------
        ConfigError
            `x` or `y` not a parameter of the grid (the message lists them), ``x == y``, or
            an unknown `agg`.
        ImportError
            pandas is not installed (``pip install quanta[pandas]``).
        """
        names = ", ".join(self.parameters)
        for label, name in (("x", x), ("y", y)):
            if not isinstance(name, str) or name not in self.parameters:
                raise ConfigError(f"{label}: {name!r} is not a parameter; choose from {names}")
        if x == y:
            raise ConfigError(f"x, y: need two different parameters, got {x!r} twice ({names})")
        if not isinstance(agg, str) or agg not in HEATMAP_AGGREGATES:
            raise ConfigError(f"agg: expected one of {', '.join(HEATMAP_AGGREGATES)}, got {agg!r}")
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "OptimizeResult.heatmap needs pandas: pip install quanta[pandas]"
            ) from None
        if agg == "best":
            agg = "max" if self.maximize else "min"
        frame = pd.DataFrame(self.table)
        grouped = frame.groupby([y, x], sort=True)[self.metric].agg(agg)
        return grouped.unstack(x)

    def plot(self, x: str | None = None, y: str | None = None, agg: str = "best") -> Any:
        """The metric over two parameters as a plotly heatmap, the best cell outlined
        (`heatmap` of `x` across and `y` down, by default the grid's first two parameters;
        ``pip install quanta[plot]``)."""
        from quanta_report import heatmap_figure

        x, y = self._axes(x, y)
        return heatmap_figure(self.heatmap(x, y, agg), self.metric, self.maximize)

    def report(
        self,
        path: Any,
        x: str | None = None,
        y: str | None = None,
        agg: str = "best",
        title: str | None = None,
    ) -> Any:
        """Write the optimisation's page to `path` (one HTML file that opens offline): the
        heatmap of `plot` when the grid has two parameters or more, and the best
        combinations; returns its `pathlib.Path` (``pip install quanta[plot]``)."""
        from quanta_report import optimize_report

        pivot = None
        if len(self.parameters) >= 2 or x is not None or y is not None:
            x, y = self._axes(x, y)
            pivot = self.heatmap(x, y, agg)
        table = self.table if hasattr(self.table, "sort_values") else _table(self.table)
        return optimize_report(table, self.metric, pivot, path, title, self.maximize)

    def _axes(self, x: str | None, y: str | None) -> tuple[str, str]:
        """`x` and `y`, or the grid's first two parameters in their place."""
        if x is not None and y is not None:
            return x, y
        rest = [name for name in self.parameters if name not in (x, y)]
        if len(rest) < (x is None) + (y is None):
            raise ConfigError(
                f"x, y: a heatmap needs two parameters; the grid has "
                f"{', '.join(self.parameters) or 'none'}"
            )
        if x is None:
            x = rest.pop(0)
        if y is None:
            y = rest.pop(0)
        return x, y

    def _top(self, n: int) -> list[int]:
        """The rows of the `n` best combinations, best first (NaN last, ties in grid order)."""
        order = sorted(
            range(len(self.values)),
            key=lambda k: _rank_key(self.values[k], self.maximize),
        )
        return order[:n]

    def _repr_html_(self) -> str:
        """Jupyter's view: the metric, the best parameters and value, the ten best rows."""
        rows = self.table if isinstance(self.table, list) else self.table.to_dict("records")
        shown = [*self.parameters, self.metric]
        shown += [
            k
            for k in ("total_return", "sharpe_ratio", "max_drawdown", "n_trades")
            if k not in shown
        ]
        best = "none (every value is NaN)" if self.best_params is None else self.best_params
        head = (
            f"<p><b>OptimizeResult</b>: {len(rows)} combinations ranked by "
            f"<code>{html.escape(self.metric)}</code> "
            f"({'highest' if self.maximize else 'lowest'} first)<br>"
            f"best parameters: {html.escape(str(best))}; "
            f"best {html.escape(_label(self.metric))}: "
            f"{html.escape(_format_cell(self.metric, self.best_value))}</p>"
        )
        return head + html_table(shown, [rows[k] for k in self._top(10)])

    def __repr__(self) -> str:
        return (
            f"OptimizeResult(metric={self.metric!r}, best_params={self.best_params!r}, "
            f"best_value={self.best_value!r}, rows={len(self.table)})"
        )


def _rank_key(value: float, maximize: bool) -> tuple[bool, float]:
    """Sort key: NaN last, then best first (sorted() is stable, so ties keep grid order)."""
    if math.isnan(value):
        return (True, 0.0)
    return (False, -value if maximize else value)


def _format_cell(column: str, value: Any) -> str:
    """A cell as the Jupyter views show it: a statistic by its unit (`analysis.format_stat`:
    fractions in percent), another number to six digits, anything else as text."""
    if isinstance(value, (float, np.floating)) and not isinstance(value, bool):
        try:
            return analysis.format_stat(column, float(value))
        except KeyError:  # not a statistic: a parameter or a metric function's value
            return f"{value:,.6g}" if math.isfinite(value) else str(value)
    return str(value)


def _label(column: str) -> str:
    """A statistic's label with its unit ("Total return [%]"), or the column's own name."""
    try:
        return analysis.stat_info(column)[0]
    except KeyError:
        return column


def html_table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    """A plain HTML table of `rows` (dicts) in `columns`, statistics under their labels and
    in their units, every cell escaped."""
    head = "".join(f"<th>{html.escape(_label(str(c)))}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_format_cell(str(c), row.get(c, '')))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def optimize(
    engine: EngineLike,
    bars: Bars,
    make_job: Callable[..., Any],
    grid: Mapping[str, Iterable[Any]],
    metric: str | Callable[[BacktestResult], Any] = "sharpe_ratio",
    constraint: Callable[[Params], Any] | None = None,
    maximize: bool = True,
    n_jobs: int | None = None,
    progress: bool = False,
    executor: Any = None,
    *,
    chunk_size: int | None = None,
) -> OptimizeResult:
    """Run one job per combination of `grid` and rank them by `metric`.

    Parameters
    ----------
    engine : EngineLike (a `quanta_ref.Engine`)
        The backend and settings of every run.
    bars : Bars
        The data.
    make_job : callable
        ``make_job(cache, **params)`` returns the job of one combination: `Signals`,
        `Targets`, a `Strategy` or a `CompiledStrategy` (e.g. ``SmaCross(fast=...,
        slow=...)``). `cache` is one
        `IndicatorCache` of `bars`, on the engine's backend, shared by all combinations, so
        ``cache.panel("sma", fast)`` is computed once however many combinations use it.
    grid : dict of str to iterable
        Parameter name -> values; every combination is tried, the product taken in the
        given key order (the last key varies fastest).
    metric : str or callable, default "sharpe_ratio"
        What to rank by: a statistic, a key of `BacktestResult.stats` (one of
        `STAT_NAMES`), or a function of a result that returns a real number (int, float or
        a numpy real; NaN allowed, and it never wins), e.g.
        ``lambda r: r.stats["total_return"] / -r.stats["max_drawdown"]``. A function's
        values become a column of the table named after it (its ``__name__``; ``"metric"``
        for a lambda or a callable without a name), which may not be a parameter or a
        statistic. It runs here, on the results as they come back, so with an executor it
        need not pickle.
    constraint : callable, optional
        ``constraint(params)`` -> False skips a combination before any job is built; it
        must return True or False (a numpy bool too), else ConfigError.
        `params` is a dict that also reads as attributes: ``lambda p: p.fast < p.slow``.
    maximize : bool, default True
        Rank higher values first; False for lower (e.g. ``metric="annual_volatility"``).
    n_jobs, progress, executor, chunk_size
        As for `run_many`.

    Returns
    -------
    OptimizeResult
        The table in grid order, and the best combination: NaN values never win, and of
        equal values the first in grid order does.

    Raises
    ------
    ConfigError
        An unknown metric (the message lists the statistics), a metric function whose name
        is taken or that returns anything but a real number (the message names the
        parameters), a malformed grid, a grid left empty by the constraint, a constraint
        that returns anything but True or False, or a `make_job` that does not return a job.
        An exception raised by the metric function or the constraint passes through.

    Notes
    -----
    Every job is built before the runs start (memory grows with the number of combinations
    and the size of a job's arrays). Ranked by a statistic's name, the runs keep only their
    statistics and rejections (`Backend.run_jobs_stats`: on the Rust backend each run is
    dropped on its thread as it ends, a few hundred bytes kept per combination), and the best
    combination runs once more, alone, for `OptimizeResult.best` (the same result: runs are
    deterministic). A metric function or an extended statistic reads whole results, so
    every result is kept until the ranking; so are the results of `Strategy` jobs, whose
    instances may carry state from one run to the next and are therefore never run twice.

    Examples
    --------
    >>> from quanta_ref import Engine, Signals, data
    >>> def crossover(cache, fast, slow):
    ...     f, s = cache.panel("sma", fast), cache.panel("sma", slow)
    ...     return Signals(cache.crossed_above(f, s), cache.crossed_below(f, s))
    >>> found = Engine().optimize(data.synthetic(300), crossover,
    ...                           {"fast": [5, 10], "slow": [20, 30]})
    >>> len(found.table), sorted(found.best_params)
    (4, ['fast', 'slow'])
    """
    _check_flag("maximize", maximize)
    metric = extended_metric(metric)
    metric_name = metric_name_of(metric)
    if not callable(make_job):
        raise ConfigError(
            f"make_job: expected a function (cache, **params) -> job, got {type(make_job).__name__}"
        )
    if constraint is not None and not callable(constraint):
        raise ConfigError(
            f"constraint: expected a function (params) -> bool, got {type(constraint).__name__}"
        )
    engine.check_bars(bars)
    _check_count("n_jobs", n_jobs)
    _check_count("chunk_size", chunk_size)
    _check_executor(executor)

    combinations = [
        params
        for params in _combinations(grid)
        if constraint is None or _allowed(constraint, params)
    ]
    if not combinations:
        raise ConfigError("grid: no combination left to run (is the constraint ever true?)")
    parameters = tuple(combinations[0])
    if metric_name in parameters:
        raise ConfigError(
            f"metric: the function's name {metric_name!r} is also a parameter; the table "
            f"needs distinct column names (rename the function)"
        )

    cache = IndicatorCache(bars, backend=engine.backend)
    jobs = []
    for params in combinations:
        job = make_job(cache, **params)
        if not isinstance(job, (Signals, Targets, Strategy, CompiledStrategy)):
            raise ConfigError(
                f"make_job: returned {type(job).__name__} for {dict(params)}; "
                f"expected Signals, Targets, a Strategy or a CompiledStrategy"
            )
        jobs.append(job)
    if isinstance(metric, str) and not any(isinstance(job, Strategy) for job in jobs):
        # Ranked by a statistic: the runs keep only their statistics, and the best one runs
        # again for its whole result. Not for a Strategy instance, which may keep state from
        # one run to the next: its one run gives the best result, as the full path does.
        found: JobStats = _run(engine, bars, jobs, n_jobs, progress, executor, chunk_size, _STATS)
        values = found.stats[:, STAT_NAMES.index(metric)].tolist()
        best = _best(values, maximize)
        return OptimizeResult(
            table=_stats_table(combinations, found.stats),
            best_params=None if best is None else dict(combinations[best]),
            best=None if best is None else run_many(engine, bars, [jobs[best]], n_jobs)[0],
            metric=metric_name,
            maximize=bool(maximize),
            values=tuple(values),
            best_index=best,
            parameters=parameters,
            rejections=tuple(found.rejections),
        )

    results = run_many(
        engine,
        bars,
        jobs,
        n_jobs=n_jobs,
        progress=progress,
        executor=executor,
        chunk_size=chunk_size,
    )
    if isinstance(metric, str):
        values = [result.stats[metric] for result in results]
        rows = [
            {**params, **result.stats} for params, result in zip(combinations, results, strict=True)
        ]
    else:
        values = [
            metric_value(metric, metric_name, result, params)
            for params, result in zip(combinations, results, strict=True)
        ]
        rows = [
            {**params, **result.stats, metric_name: value}
            for params, result, value in zip(combinations, results, values, strict=True)
        ]
    best = _best(values, maximize)
    return OptimizeResult(
        table=_table(rows),
        best_params=None if best is None else dict(combinations[best]),
        best=None if best is None else results[best],
        metric=metric_name,
        maximize=bool(maximize),
        values=tuple(values),
        best_index=best,
        parameters=parameters,
        rejections=tuple(result.rejections for result in results),
    )


def extended_metric(metric: Any) -> Any:
    """`metric` as `optimize` ranks by it: the name of an extended statistic (``"sqn"``,
    ``"alpha"``, ``"expectancy"``: `quanta_ref.analysis.EXTENDED_KEYS`) becomes the function
    of a result that reads it (against the buy-and-hold of the universe), named after it;
    anything else is returned as it is."""
    if not isinstance(metric, str) or metric not in analysis.EXTENDED_KEYS:
        return metric
    key = metric

    def statistic(result: BacktestResult) -> float:
        return analysis.extended_stats(result)[key]

    statistic.__name__ = statistic.__qualname__ = key
    return statistic


def metric_name_of(metric: Any) -> str:
    """The column the metric is ranked by: the statistic's name, or the function's
    (``"metric"`` for a lambda); ConfigError for anything else or a name already taken by a
    statistic."""
    if isinstance(metric, str):
        if metric not in STAT_NAMES:
            raise ConfigError(
                f"metric: {metric!r} is not a statistic; choose one of "
                f"{', '.join(STAT_NAMES + analysis.EXTENDED_KEYS)}"
            )
        return metric
    if not callable(metric):
        raise ConfigError(
            f"metric: expected a statistic's name or a function (result) -> number, got "
            f"{type(metric).__name__}; the statistics are {', '.join(STAT_NAMES)}"
        )
    name = getattr(metric, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():  # "<lambda>", or none
        name = "metric"
    if name in STAT_NAMES:
        raise ConfigError(
            f"metric: the function's name {name!r} is also a statistic; the table needs "
            f"distinct column names (rename the function)"
        )
    return name


def metric_value(
    metric: Callable[[BacktestResult], Any], name: str, result: BacktestResult, params: Params
) -> float:
    """`metric(result)` as a float: a real number (NaN allowed), never a bool, else
    ConfigError naming the combination."""
    value = metric(result)
    real = isinstance(value, (numbers.Real, np.floating, np.integer))
    if real and not isinstance(value, (bool, np.bool_)):
        try:
            return float(value)
        except OverflowError:  # an int beyond the float range
            pass
    raise ConfigError(
        f"metric: {name} must return a real number, got {type(value).__name__} "
        f"{value!r} for {dict(params)}"
    )


def _allowed(constraint: Callable[[Params], Any], params: Params) -> bool:
    """`constraint(params)`, which must be True or False (a numpy bool too): anything else,
    e.g. an array, is a `ConfigError` instead of a guess at its truth. An exception the
    constraint raises passes through unchanged."""
    allowed = constraint(params)
    if not isinstance(allowed, (bool, np.bool_)):
        raise ConfigError(
            f"constraint: must return True or False, got {type(allowed).__name__} "
            f"for {dict(params)}"
        )
    return bool(allowed)


def _combinations(grid: Mapping[str, Iterable[Any]]) -> list[Params]:
    """Every combination of the grid, in product order, as `Params`."""
    if not isinstance(grid, Mapping) or not grid:
        raise ConfigError(
            f"grid: expected a non-empty dict of parameter name -> values, got {grid!r}"
        )
    names: list[str] = []
    values: list[list[Any]] = []
    for name, options in grid.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"grid: parameter names must be identifiers, got {name!r}")
        if name in STAT_NAMES or name in analysis.EXTENDED_KEYS or name.startswith("rejected_"):
            raise ConfigError(
                f"grid: {name!r} is also a statistic; the table needs distinct column names"
            )
        refused = ConfigError(
            f"grid: the values of {name!r} must be a list or range, got "
            f"{options!r} (wrap a single value in a list)"
        )
        if isinstance(options, (str, bytes)) or not isinstance(options, Iterable):
            raise refused
        try:
            values.append(list(options))
        except TypeError:  # e.g. a 0-d numpy array, iterable in type only
            raise refused from None
        names.append(name)
    return [
        Params(zip(names, combination, strict=True)) for combination in itertools.product(*values)
    ]


def _best(values: Sequence[float], maximize: bool) -> int | None:
    """Index of the best value: NaN never wins; on a tie the first stays."""
    best: int | None = None
    for k, value in enumerate(values):
        if math.isnan(value):
            continue
        if best is None:
            best = k
            continue
        incumbent = values[best]
        if (value > incumbent) if maximize else (value < incumbent):
            best = k
    return best


def _stats_table(combinations: list[Params], stats: np.ndarray) -> Any:
    """`_table` of the rows ``{**params, **statistics}``, built column by column when pandas
    is installed: the parameters' columns from the same dicts, the statistics' columns from
    the float64 array itself, so the frame equals the one of the rows."""
    try:
        import pandas as pd
    except ImportError:
        return [
            {**params, **dict(zip(STAT_NAMES, row, strict=True))}
            for params, row in zip(combinations, stats.tolist(), strict=True)
        ]
    parameters = pd.DataFrame([{**params} for params in combinations])
    statistics = pd.DataFrame(stats, columns=list(STAT_NAMES))
    return pd.concat([parameters, statistics], axis=1)


def _table(rows: list[dict[str, Any]]) -> Any:
    """A pandas DataFrame of the rows when pandas is installed, else the rows."""
    try:
        import pandas as pd
    except ImportError:
        return rows
    return pd.DataFrame(rows)
