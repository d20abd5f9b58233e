"""The Rust backend (`Engine(backend="rust")`): the reference's `Backend`, run natively.

The loop, matching, costs and accounting run in `quanta-core`; this module hands it the
validated `Bars` and `EngineConfig` and builds the same `BacktestResult` the reference
returns. Data crosses without copies: the Bars arrays are read in place (they are C-contiguous
float64 by construction; anything else is refused with a `DataError`), and the equity and cash
arrays are moved out of Rust into numpy.

Array jobs (`quanta_ref.arrays.Signals`, `Targets`) run with no Python at all:
`quanta_core::arrays` takes the decisions of the reference's `SignalStrategy` /
`TargetStrategy`, with the GIL released, many jobs at once on a thread pool.

Compiled strategies (`quanta_ref.compiled`) run with no Python either: `quanta_core::compiled`
calls their numba entry through a C function pointer, with the GIL released, and compiled jobs
share the array jobs' thread pool.

A live session (`RustSession`, the backend's `quanta_ref.api.SessionCore`) keeps the native
core between pushes and runs only the new rows at each one.
"""

from __future__ import annotations

import os
from typing import Any, cast

import numpy as np

from quanta_fast import _glue, _quanta_fast, indicators
from quanta_ref.actions import schedule
from quanta_ref.analysis import CORE_KEYS as STAT_NAMES
from quanta_ref.api import (
    CALLBACKS,
    Backend,
    BacktestResult,
    Context,
    JobStats,
    Portfolio,
    SessionCore,
    Strategy,
    strategy_callbacks,
)
from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.compiled import CompiledJob, CompiledRun
from quanta_ref.config import EngineConfig
from quanta_ref.errors import QuantaError
from quanta_ref.market import RunMarket, prepare

# The native context and portfolio implement the whole Context and Portfolio interfaces;
# isinstance() should say so.
Context.register(_quanta_fast.Context)
Portfolio.register(_quanta_fast.Portfolio)


def _result(bars: Bars, config: EngineConfig, ctx: _quanta_fast.Context) -> BacktestResult:
    """The `BacktestResult` of a finished native run. Equity and cash move out of Rust at
    once; fills, orders, trades, signals and stats are built from the native state when first
    read (tens of thousands of Python objects cost far more than the run itself)."""
    timestamps = bars.timestamps  # read-only: shared, not copied
    equity = ctx._take_equity()
    return BacktestResult(
        timestamps=timestamps,
        equity=equity,
        cash=ctx._take_cash(),
        fills=ctx._fills,
        orders=ctx._orders,
        trades=ctx._trades,
        positions=ctx._positions(),
        stats=lambda: ctx._stats(timestamps, equity),
        signals=ctx._signals,
        rejections=ctx._rejections(),
        corporate_actions=ctx._corporate_actions,
        bars=bars,
        config=config,
    )


def _actions(bars: Bars) -> tuple[np.ndarray, ...] | None:
    """The corporate actions of a run over `bars` as the native engine takes them (the
    schedule both engines read), or None."""
    plan = schedule(bars)
    return None if plan is None else plan.arrays()


class RustSession(SessionCore):
    """The native half of a live session; see `quanta_ref.api.SessionCore`. The native
    session is made at the first `rows` call (the panel's first row is then filled); its
    context, `context`, holds the run's state until `end`."""

    def __init__(
        self, panel: Any, strategy: Strategy, config: EngineConfig, external: bool
    ) -> None:
        self._callbacks = strategy_callbacks(strategy)
        self._panel = panel
        self._config = config
        self._external = external
        self._native: _quanta_fast.Session | None = None
        self._ended = False

    def rows(self, stop: int, market: RunMarket, actions: Any, reports: list[Any]) -> None:
        native = self._native
        arrays = None if actions is None else actions.arrays()
        if native is None:
            engine = _quanta_fast.Engine(self._config, _glue)
            on = self._callbacks
            native = engine.session(
                self._panel,
                on["on_start"],
                on["on_bar"],
                on["on_fill"],
                on["on_order"],
                on["on_end"],
                self._external,
            )
            self._native = native
            # The native context implements the whole interface (registered above).
            self.context = cast(Context, native.context)
        tables = (
            market.limit_down is not None or market.rate_rows is not None or market.lots is not None
        )
        native.rows(stop, market if tables else None, arrays, reports)

    def _native_context(self) -> _quanta_fast.Context:
        return cast(_quanta_fast.Context, self.context)

    def _session(self) -> _quanta_fast.Session:
        if self._native is None:
            raise QuantaError("the session has run no row yet")
        return self._native

    def report_fill(
        self, order_id: int, quantity: float, price: float, commission: float, tax: float
    ) -> None:
        # The native session is running a row (a report inside a callback): reach the core
        # through the context, kept since the first row.
        report = ("fill", order_id, quantity, price, commission, tax)
        self._native_context()._report(report)

    def report_status(self, order_id: int, status: Any, reason: str | None) -> None:
        self._native_context()._report(("status", order_id, status, reason))

    def hold(self) -> None:
        pass  # the native context only queues: the loop (or `drain`) delivers

    def drain(self) -> None:
        self._session().drain()

    def signals_since(self, start: int) -> list[Any]:
        return self._session().context._signals(start)

    def result(self, bars: Bars) -> BacktestResult:
        """Everything so far over `bars` (the rows run so far): equity and cash copied; the
        lists built now while the session runs on (later rows would change them), on first
        read once it has ended."""
        ctx = self._session().context
        timestamps = bars.timestamps
        equity = ctx._equity_copy()

        def stats() -> dict[str, float]:
            return ctx._stats(timestamps, equity)

        lazy = self._ended
        return BacktestResult(
            timestamps=timestamps,
            equity=equity,
            cash=ctx._cash_copy(),
            fills=ctx._fills if lazy else ctx._fills(),
            orders=ctx._orders if lazy else ctx._orders(),
            trades=ctx._trades if lazy else ctx._trades(),
            positions=ctx._positions(),
            stats=stats if lazy else stats(),
            signals=ctx._signals if lazy else ctx._signals(),
            rejections=ctx._rejections(),
            corporate_actions=ctx._corporate_actions if lazy else ctx._corporate_actions(),
            bars=bars,
            config=self._config,
        )

    def end(self) -> None:
        if self._native is not None:
            self._ended = True
            self._native.end()


def _callable_costs(config: EngineConfig) -> bool:
    """Whether a cost model of `config` is a Python callable (not a `quanta_ref.costs` model)."""
    return any(
        model is not None and callable(model) for model in (config.commission, config.slippage)
    )


class RustBackend(Backend):
    """The native engine (``backend="rust"``); see `quanta_ref.engine.ReferenceBackend`."""

    name = "rust"
    indicators = indicators

    def run(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> BacktestResult:
        engine = _quanta_fast.Engine(config, _glue)
        if isinstance(strategy, CompiledRun):
            # A compiled strategy: its callbacks are one C entry, called natively with the
            # GIL released (not through the reference's driver).
            market = prepare(bars, config)
            job = strategy.job
            return _result(bars, config, engine.run_compiled(bars, market, _actions(bars), job))
        # None for `Strategy`'s own no-ops: the native loop skips events nobody listens to.
        callbacks = strategy_callbacks(strategy)
        # The market tables (price limits, cost rates) and the corporate actions are computed
        # once, in shared Python.
        market = prepare(bars, config)
        ctx = engine.run(bars, market, _actions(bars), *(callbacks[name] for name in CALLBACKS))
        return _result(bars, config, ctx)

    #: `quanta_ref.session.write_row`, natively (a pushed row written and quickly checked).
    write_row = staticmethod(_quanta_fast.write_row)

    def session(
        self, panel: Any, strategy: Strategy, config: EngineConfig, external: bool
    ) -> RustSession:
        return RustSession(panel, strategy, config, external)

    def run_jobs(
        self, bars: Bars, jobs: list[Any], config: EngineConfig, n_jobs: int | None = None
    ) -> list[BacktestResult]:
        """Checked jobs, results in job order (`quanta_ref.api.Backend.run_jobs`): the array
        and compiled jobs all natively at once, on `n_jobs` threads (None: one per core; more
        than the CPUs this process may use are not started) with the GIL released; strategies
        one after the other through `run`. The results do not depend on `n_jobs`: each job runs
        on one thread, alone. Ctrl-C stops the native jobs within milliseconds and raises
        KeyboardInterrupt; nothing is returned."""
        native_kinds = (Signals, Targets, CompiledJob)
        arrays = [k for k, job in enumerate(jobs) if isinstance(job, native_kinds)]
        if _callable_costs(config):
            # A callable cost model is Python: its array jobs run as their reference
            # strategies on the native loop, holding the GIL (same results, slower).
            return [
                self.run(bars, job if isinstance(job, Strategy) else job.strategy(bars), config)
                for job in jobs
            ]
        native: dict[int, _quanta_fast.Context | BaseException] = {}
        if arrays:
            engine = _quanta_fast.Engine(config, _glue)
            # Lowered natively to the CPUs this process may use; here only to a native int.
            threads = None if n_jobs is None else min(n_jobs, os.cpu_count() or 1)
            market, actions = prepare(bars, config), _actions(bars)
            done = engine.run_jobs(bars, market, actions, [jobs[k] for k in arrays], threads)
            native = dict(zip(arrays, done, strict=True))
        results = []
        for k, job in enumerate(jobs):
            if k not in native:
                results.append(self.run(bars, job, config))
                continue
            outcome = native.pop(k)
            if isinstance(outcome, BaseException):
                raise outcome  # the error this job raises on the reference, in job order
            results.append(_result(bars, config, outcome))
        return results

    def run_jobs_stats(
        self, bars: Bars, jobs: list[Any], config: EngineConfig, n_jobs: int | None = None
    ) -> JobStats:
        """`run_jobs` keeping only each job's statistics and rejections
        (`quanta_ref.api.Backend.run_jobs_stats`): the array and compiled jobs natively at once,
        each one's statistics computed on its thread as it ends and its run dropped there, so
        no result is built; strategies one after the other through `run`, only their
        statistics kept. The same exceptions as `run_jobs`, in the same order."""
        native_kinds = (Signals, Targets, CompiledJob)
        arrays = [k for k, job in enumerate(jobs) if isinstance(job, native_kinds)]
        if _callable_costs(config):
            arrays = []  # run as their reference strategies, as in `run_jobs`
        stats = np.full((len(jobs), len(STAT_NAMES)), np.nan)
        outcomes: list[Any] = [None] * len(jobs)
        if arrays:
            engine = _quanta_fast.Engine(config, _glue)
            threads = None if n_jobs is None else min(n_jobs, os.cpu_count() or 1)
            market, actions = prepare(bars, config), _actions(bars)
            native = [jobs[k] for k in arrays]
            done, rejections = engine.run_jobs_stats(bars, market, actions, native, threads)
            if len(arrays) == len(jobs):  # array jobs only: no Python run between them
                stats, outcomes = done, rejections
            else:
                stats[arrays] = done
                for k, outcome in zip(arrays, rejections, strict=True):
                    outcomes[k] = outcome
        for k, outcome in enumerate(outcomes):
            if outcome is None:  # a strategy, or an array job with a callable cost model
                job = jobs[k]
                result = self.run(
                    bars, job if isinstance(job, Strategy) else job.strategy(bars), config
                )
                stats[k] = [result.stats[key] for key in STAT_NAMES]
                outcomes[k] = result.rejections
            elif isinstance(outcome, BaseException):
                raise outcome  # the error this job raises on the reference, in job order
        return JobStats(stats, outcomes)
