"""The Rust backend (`Engine(backend="rust")`): the reference's `Backend`, run natively.

The loop, matching, costs and accounting run in `quanta-core`; this module hands it the
validated `Bars` and `EngineConfig` and builds the same `BacktestResult` the reference
returns. Data crosses without copies: the Bars arrays are read in place (they are C-contiguous
float64 by construction; anything else is refused with a `DataError`), and the equity and cash
arrays are moved out of Rust into numpy.

Array jobs (`quanta_ref.arrays.Signals`, `Targets`) run with no Python at all:
`quanta_core::arrays` takes the decisions of the reference's `SignalStrategy` /
`TargetStrategy`, with the GIL released, many jobs at once on a thread pool.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from quanta_fast import _glue, _quanta_fast, indicators
from quanta_ref.actions import schedule
from quanta_ref.api import (
    CALLBACKS,
    Backend,
    BacktestResult,
    Context,
    Portfolio,
    Strategy,
    strategy_callbacks,
)
from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.market import prepare

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


class RustBackend(Backend):
    """The native engine (``backend="rust"``); see `quanta_ref.engine.ReferenceBackend`."""

    name = "rust"
    indicators = indicators

    def run(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> BacktestResult:
        engine = _quanta_fast.Engine(config, _glue)
        # None for `Strategy`'s own no-ops: the native loop skips events nobody listens to.
        callbacks = strategy_callbacks(strategy)
        # The market tables (price limits, cost rates) and the corporate actions are computed
        # once, in shared Python.
        market = prepare(bars, config)
        ctx = engine.run(bars, market, _actions(bars), *(callbacks[name] for name in CALLBACKS))
        return _result(bars, config, ctx)

    def run_jobs(
        self, bars: Bars, jobs: list[Any], config: EngineConfig, n_jobs: int | None = None
    ) -> list[BacktestResult]:
        """Checked jobs, results in job order (`quanta_ref.api.Backend.run_jobs`): the array
        jobs all natively at once, on `n_jobs` threads (None: one per core; more than the
        CPUs this process may use are not started) with the GIL released; strategies one
        after the other through `run`. The results do not depend on `n_jobs`: each job runs
        on one thread, alone. Ctrl-C stops the native jobs within milliseconds and raises
        KeyboardInterrupt; nothing is returned."""
        arrays = [k for k, job in enumerate(jobs) if isinstance(job, (Signals, Targets))]
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
