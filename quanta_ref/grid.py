"""Many runs on the same bars: `run_many` and `optimize` (placeholder until the grid module
lands: runs jobs sequentially in this process)."""

from __future__ import annotations

from typing import Any

from quanta_ref.arrays import check_job


def run_many(engine: Any, bars: Any, jobs: Any, n_jobs: int | None = None,
             progress: bool = False, executor: Any = None) -> list[Any]:
    engine.check_bars(bars)
    checked = [check_job(job, bars, engine.config, k) for k, job in enumerate(jobs)]
    return engine._backend.run_jobs(bars, checked, engine.config, n_jobs)


def optimize(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError
