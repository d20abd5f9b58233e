"""The engine front: `Engine`, what user code configures and runs.

An `Engine` holds checked settings (`quanta_ref.config.EngineConfig`) and one backend, found
by name in `quanta_ref.backends`; it runs a `Strategy`, array jobs, or many jobs at once
(`quanta_ref.grid`). Every backend gives the same results bit for bit, so the default,
``backend="auto"``, is the fastest one available (the Rust engine when it is built); the
reference engine is one flag away, ``backend="python"``.

A call that ran orders the engine rejected warns once, `RejectedOrdersWarning`, with the counts
by reason (docs/semantics.md, "Reading a result").
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from quanta_ref import backends
from quanta_ref.api import Backend, BacktestResult, Strategy
from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError, RejectedOrdersWarning
from quanta_ref.grid import optimize, run_many


class Engine:
    """A configured backtest engine.

    Parameters
    ----------
    backend : str, default "auto"
        "python" (the reference engine), "rust" (the accelerator; `BackendUnavailable` when
        it cannot load), "auto" (rust when it loads, else python), or the name of another
        installed backend (`quanta_ref.backends`).
    **settings : engine configuration, see `quanta_ref.config.EngineConfig` and
        docs/semantics.md. Unknown or invalid settings raise `ConfigError`.
    """

    def __init__(self, backend: str = "auto", **settings: Any) -> None:
        # The name first, then the settings, then loading: each error in that order.
        backends.check_name(backend)
        self.config = EngineConfig.build(**settings)
        self._implementation = backends.load(backend)

    @property
    def backend(self) -> str:
        """Name of the backend in use: "python" or "rust" (never "auto")."""
        return self._implementation.name

    @property
    def implementation(self) -> Backend:
        """The backend object itself (`quanta_ref.api.Backend`)."""
        return self._implementation

    def run(self, bars: Bars, strategy: Strategy) -> BacktestResult:
        """Run `strategy` over `bars`; see `BacktestResult`."""
        self.check_bars(bars)
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy: expected a Strategy instance, got {type(strategy).__name__}"
            )
        result = self._implementation.run(bars, strategy, self.config)
        _warn_rejected_run(result)
        return result

    def run_signals(
        self,
        bars: Bars,
        entries: Any,
        exits: Any,
        *,
        short_entries: Any = None,
        short_exits: Any = None,
        size: float = 1.0,
        size_type: str = "percent",
        stop_loss: float | None = None,
        take_profit: float | None = None,
    ) -> BacktestResult:
        """Trade boolean signal arrays (T, N) with no Python per bar; see
        `quanta_ref.arrays.Signals` for every parameter and docs/semantics.md section 16 for
        the rules. The fills are those of the equivalent `Strategy`
        (`quanta_ref.arrays.SignalStrategy`) on either backend."""
        job = Signals(
            entries, exits, short_entries, short_exits, size, size_type, stop_loss, take_profit
        )
        result = run_many(self, bars, [job])[0]
        _warn_rejected_run(result)
        return result

    def run_targets(self, bars: Bars, weights: Any) -> BacktestResult:
        """Rebalance to target weights (T, N) (NaN = leave as is) with no Python per bar; see
        `quanta_ref.arrays.Targets`."""
        result = run_many(self, bars, [Targets(weights)])[0]
        _warn_rejected_run(result)
        return result

    def run_many(
        self,
        bars: Bars,
        jobs: Any,
        n_jobs: int | None = None,
        progress: bool = False,
        executor: Any = None,
    ) -> list[BacktestResult]:
        """Run many jobs (`Signals`, `Targets` or `Strategy` instances) on the same bars;
        results in job order, identical whatever `n_jobs` or `executor`. See
        `quanta_ref.grid.run_many`."""
        results = run_many(self, bars, jobs, n_jobs=n_jobs, progress=progress, executor=executor)
        _warn_rejected_batch(
            [result.rejections for result in results],
            "see result.rejections and result.orders_frame() of each run",
        )
        return results

    def optimize(
        self,
        bars: Bars,
        make_job: Any,
        grid: dict[str, Any],
        metric: str = "sharpe_ratio",
        constraint: Any = None,
        maximize: bool = True,
        n_jobs: int | None = None,
        progress: bool = False,
        executor: Any = None,
    ) -> Any:
        """Run `make_job(cache, **params)` for every combination of `grid` and rank them by
        `metric`; see `quanta_ref.grid.optimize`."""
        watched = _Watched(self)
        found = optimize(
            watched,
            bars,
            make_job,
            grid,
            metric=metric,
            constraint=constraint,
            maximize=maximize,
            n_jobs=n_jobs,
            progress=progress,
            executor=_watched_executor(executor, watched.rejections),
        )
        _warn_rejected_batch(
            watched.rejections,
            "run a combination alone to see its result.rejections and result.orders_frame()",
        )
        return found

    def check_bars(self, bars: Any) -> None:
        """ConfigError unless `bars` is a Bars panel this engine's settings can trade."""
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars: expected a quanta Bars panel, got {type(bars).__name__}")
        if self.config.max_volume_fraction is not None and not (bars.volume > 0.0).any():
            raise ConfigError(
                "max_volume_fraction: the data has no volume (all zero), so "
                "nothing could ever fill; drop the participation limit"
            )

    def __repr__(self) -> str:
        changed = {
            k: v for k, v in self.config.as_dict().items() if v != getattr(EngineConfig, k, None)
        }
        return f"Engine(backend={self.backend!r}, {changed})"


# ========================================================================= rejected orders
def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in sorted(counts.items()))


def _warn_rejected_run(result: BacktestResult) -> None:
    """Warn once if the run rejected orders, pointing at the caller of the Engine method."""
    total = sum(result.rejections.values())
    if total:
        warnings.warn(
            f"the run rejected {total} order{'' if total == 1 else 's'}: "
            f"{_counts_text(result.rejections)} "
            "(see result.rejections and result.orders_frame())",
            RejectedOrdersWarning,
            stacklevel=3,  # this function, the Engine method, the user's call
        )


def _warn_rejected_batch(rejections: list[dict[str, int]], hint: str) -> None:
    """Warn once for a batch of runs: how many rejected orders, and the counts summed."""
    total: dict[str, int] = {}
    for counts in rejections:
        for reason, count in counts.items():
            total[reason] = total.get(reason, 0) + count
    rejecting = sum(1 for counts in rejections if counts)
    if rejecting:
        warnings.warn(
            f"{rejecting} of {len(rejections)} runs rejected orders: {_counts_text(total)} "
            f"({hint})",
            RejectedOrdersWarning,
            stacklevel=3,
        )


class _Watched:
    """The engine as `quanta_ref.grid.optimize` sees it, noting each result's rejections as
    the result comes back. `optimize` keeps only the best result, yet the warning is about
    the whole grid, so the counts are taken where every result passes: the backend's
    `run_jobs`, or (with an executor) the futures of its chunks (`_WatchedExecutor`)."""

    def __init__(self, engine: Engine) -> None:
        self.config = engine.config
        self.rejections: list[dict[str, int]] = []
        self._engine = engine
        self._implementation = _WatchedBackend(engine.implementation, self.rejections)

    @property
    def backend(self) -> str:
        return self._engine.backend

    @property
    def implementation(self) -> Backend:
        return self._implementation

    def check_bars(self, bars: Any) -> None:
        self._engine.check_bars(bars)


class _WatchedBackend(Backend):
    """A backend that notes the rejections of every result of `run_jobs`."""

    def __init__(self, inner: Backend, rejections: list[dict[str, int]]) -> None:
        self.name = inner.name
        self.indicators = inner.indicators
        self._inner = inner
        self._rejections = rejections

    def run(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> BacktestResult:
        return self._inner.run(bars, strategy, config)

    def run_jobs(
        self, bars: Bars, jobs: list[Any], config: EngineConfig, n_jobs: int | None = None
    ) -> list[BacktestResult]:
        results = self._inner.run_jobs(bars, jobs, config, n_jobs)
        _note(results, self._rejections)
        return results


def _watched_executor(executor: Any, rejections: list[dict[str, int]]) -> Any:
    """`executor` wrapped in a `_WatchedExecutor`. The wrapper's class takes the name of the
    executor's, so that a message naming the executor names the user's; None, or anything
    without a `submit` method, is passed on as it is, for `optimize` to refuse."""
    if not callable(getattr(executor, "submit", None)):
        return executor
    named = type(type(executor).__name__, (_WatchedExecutor,), {})
    return named(executor, rejections)


class _WatchedExecutor:
    """An executor whose futures note the rejections of the results they return; every
    other attribute is the wrapped executor's (its worker count, Dask's client)."""

    def __init__(self, executor: Any, rejections: list[dict[str, int]]) -> None:
        self._executor = executor
        self._rejections = rejections

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return _WatchedFuture(self._executor.submit(fn, *args, **kwargs), self._rejections)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._executor, name)


class _WatchedFuture:
    def __init__(self, future: Any, rejections: list[dict[str, int]]) -> None:
        self._future = future
        self._rejections = rejections

    def result(self, timeout: float | None = None) -> Any:
        returned = self._future.result() if timeout is None else self._future.result(timeout)
        if isinstance(returned, (list, tuple)):
            _note(returned, self._rejections)
        return returned

    def __getattr__(self, name: str) -> Any:
        return getattr(self._future, name)


def _note(results: Iterable[Any], rejections: list[dict[str, int]]) -> None:
    rejections.extend(r.rejections for r in results if isinstance(r, BacktestResult))
