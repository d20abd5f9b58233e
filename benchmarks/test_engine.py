"""Callback-engine benchmarks: each workload is one group holding its python and rust runs.
The W1-W4 workloads are in `test_workloads.py`.

Speed is measured here, never asserted. What is asserted, outside the timed region, is that
both backends did the same work: the rust run's equity curve and fill count must equal the
python run's bit for bit, so a group never compares different backtests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from workloads import ENGINE_WORKLOADS, EngineWorkload


@pytest.mark.parametrize("workload", ENGINE_WORKLOADS, ids=[w.name for w in ENGINE_WORKLOADS])
def test_engine(
    benchmark: Any,
    workload: EngineWorkload,
    backend: str,
    get_bars: Callable[[str], Any],
    reference_results: dict[str, tuple[np.ndarray, int]],
) -> None:
    bars = get_bars(workload.data)
    benchmark.group = workload.name
    benchmark.extra_info["bars"] = bars.n_bars
    result = benchmark.pedantic(
        workload.run,
        args=(bars, backend),
        iterations=1,
        rounds=workload.rounds[backend],
        warmup_rounds=workload.warmup[backend],
    )

    if workload.name not in reference_results:
        reference = result if backend == "python" else workload.run(bars, "python")
        reference_results[workload.name] = (reference.equity, len(reference.fills))
    equity, n_fills = reference_results[workload.name]
    assert np.array_equal(result.equity, equity), "the backends ran different backtests"
    assert len(result.fills) == n_fills
