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

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from quanta_ref import backends
from quanta_ref.api import Backend, BacktestResult, Strategy
from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.compiled import CompiledStrategy
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError, RejectedOrdersWarning
from quanta_ref.grid import optimize, run_many
from quanta_ref.session import Session
from quanta_ref.walkforward import WalkForwardResult, walk_forward


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

    def run(self, bars: Bars, strategy: Strategy | CompiledStrategy) -> BacktestResult:
        """Run `strategy` (a `Strategy`, or a `CompiledStrategy`: docs/semantics.md section
        26) over `bars`; see `BacktestResult`."""
        self.check_bars(bars)
        if isinstance(strategy, CompiledStrategy):
            result = run_many(self, bars, [strategy])[0]
            _warn_rejected_run(result)
            return result
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy: expected a Strategy or CompiledStrategy instance, got "
                f"{type(strategy).__name__}"
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
        metric: str | Callable[[BacktestResult], Any] = "sharpe_ratio",
        constraint: Any = None,
        maximize: bool = True,
        n_jobs: int | None = None,
        progress: bool = False,
        executor: Any = None,
    ) -> Any:
        """Run `make_job(cache, **params)` for every combination of `grid` and rank them by
        `metric` (a statistic's name, or a function of a result that returns a number); see
        `quanta_ref.grid.optimize`."""
        found = optimize(
            self,
            bars,
            make_job,
            grid,
            metric=metric,
            constraint=constraint,
            maximize=maximize,
            n_jobs=n_jobs,
            progress=progress,
            executor=executor,
        )
        _warn_rejected_batch(
            list(found.rejections),
            "found.rejections holds each combination's, in the table's order",
        )
        return found

    def walk_forward(
        self,
        bars: Bars,
        make_job: Any,
        grid: dict[str, Any],
        *,
        train: int,
        test: int,
        step: int | None = None,
        anchored: bool = False,
        metric: str | Callable[[BacktestResult], Any] = "sharpe_ratio",
        maximize: bool = True,
        constraint: Any = None,
        n_jobs: int | None = None,
    ) -> WalkForwardResult:
        """Optimise `grid` on each window's `train` rows, trade the winner on the `test` rows
        that follow, and stitch the test windows into one out-of-sample account; see
        `quanta_ref.walkforward.walk_forward` and docs/semantics.md, "Walk-forward"."""
        found = walk_forward(
            self,
            bars,
            make_job,
            grid,
            train=train,
            test=test,
            step=step,
            anchored=anchored,
            metric=metric,
            maximize=maximize,
            constraint=constraint,
            n_jobs=n_jobs,
        )
        _warn_rejected_batch(
            [result.rejections for result in found.results if result is not None],
            "see each test window's result in .results",
        )
        return found

    def session(
        self,
        strategy: Strategy,
        symbols: Any = None,
        history: Bars | None = None,
        *,
        mode: str = "paper",
        broker: Any = None,
    ) -> Session:
        """A live session: a run of `strategy` fed one timestamp at a time
        (`Session.push`), identical to `run` over the same bars. `history` warms it up (the
        strategy sees those bars as in a backtest, orders included); `symbols` defaults to
        the history's. `mode="external"` sends accepted orders to `broker` (see
        `quanta_ref.session.Broker`) instead of filling them by the paper rules."""
        return Session(self._implementation, self.config, strategy, symbols, history, mode, broker)

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
#: The folder of the installed packages (quanta_ref, quanta_fast, quanta_cli, ...).
_PACKAGES = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_OURS = tuple(_PACKAGES + name + os.sep for name in ("quanta_ref", "quanta_fast", "quanta_report"))


def _user_level() -> int:
    """The `stacklevel` of the first caller outside quanta's own packages, so that a warning
    points at the user's line whichever way they called (an Engine method, the compatibility
    classes of quanta_fast)."""
    frame = sys._getframe(2)  # the caller of the function that warns: its stacklevel is 2
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_OURS):
        frame = frame.f_back
        level += 1
    return level


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
            stacklevel=_user_level(),
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
            stacklevel=_user_level(),
        )
