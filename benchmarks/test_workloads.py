"""Benchmarks W1-W4: one group per workload and mode (`W2-array`, `W2-compiled`, ...), holding
the python and rust runs, and in the array groups the numba loop a user would otherwise write.

The workloads, their data and their rounds are defined in `quanta_cli.workloads` (shared
with `quanta bench`). Speed is measured here, never asserted. What is asserted, after the
timing, is that the runs of a group are the same backtests: rust's equity curves must equal
python's bit for bit, with the same fill counts; the compiled runs (`SmaCrossCompiled`, its
compile done before the timing) must equal the callback runs (`SmaCross`) of python that way,
on both backends. The numba loop follows slightly different
rules (see `quanta_cli.workloads.numba_kernels`), so it is held to the same fill counts and a
final equity within 1e-3 of quanta's (measured: within 1e-9 on W1, W2 and W4, about 1e-4 on
W3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from quanta_cli.workloads import (
    MODES,
    WORKLOADS,
    Workload,
    compile_strategy,
    rust_array_is_native,
    same_backtests,
)
from quanta_ref.api import BacktestResult
from quanta_ref.bars import Bars

CASES = [(w, mode) for w in WORKLOADS for mode in MODES]
Results = dict[tuple[str, str], list[BacktestResult]]


def python_runs(
    workload: Workload, mode: str, bars: Bars, python_results: Results
) -> list[BacktestResult]:
    """The python results of the case, from its benchmark or, untimed, computed now."""
    key = (workload.name, mode)
    if key not in python_results:
        python_results[key] = workload.run(bars, mode, "python")
    return python_results[key]


def describe(benchmark: Any, workload: Workload, bars: Bars, mode: str, backend: str) -> None:
    benchmark.group = f"{workload.name}-{mode}"
    benchmark.extra_info.update(
        {
            "workload": workload.title,
            "bars": bars.n_bars,
            "symbols": bars.n_symbols,
            "runs": len(workload.combos),
            "symbol_bars": workload.bar_count(bars),
        }
    )
    if backend == "rust" and mode == "array" and not rust_array_is_native():
        benchmark.extra_info["preliminary"] = (
            "rust array mode runs the reference's SignalStrategy on the Rust callback engine"
        )


@pytest.mark.parametrize(("workload", "mode"), CASES, ids=[f"{w.name}-{mode}" for w, mode in CASES])
def test_workload(
    benchmark: Any,
    workload: Workload,
    mode: str,
    backend: str,
    workload_bars: Callable[[Workload], Bars],
    python_results: Results,
) -> None:
    if mode == "compiled":
        pytest.importorskip("numba")
        compile_strategy()  # not timed
    bars = workload_bars(workload)
    describe(benchmark, workload, bars, mode, backend)
    rounds, warmup = workload.rounds[f"{mode}-{backend}"]
    results = benchmark.pedantic(
        workload.run, args=(bars, mode, backend), iterations=1, rounds=rounds, warmup_rounds=warmup
    )

    if backend == "python":
        python_results[workload.name, mode] = results
    if mode == "compiled":
        reference = python_runs(workload, "callback", bars, python_results)
        assert same_backtests(results, reference), "compiled and callback runs differ"
        return
    reference = python_runs(workload, mode, bars, python_results)
    assert same_backtests(results, reference), "the backends ran different backtests"


@pytest.mark.parametrize("workload", WORKLOADS, ids=[f"{w.name}-array" for w in WORKLOADS])
def test_workload_numba(
    benchmark: Any,
    workload: Workload,
    workload_bars: Callable[[Workload], Bars],
    python_results: Results,
) -> None:
    pytest.importorskip("numba")
    bars = workload_bars(workload)
    describe(benchmark, workload, bars, "array", "numba")
    rounds, warmup = workload.rounds["numba"]  # the warm-up compiles
    outcome = benchmark.pedantic(
        workload.run_numba, args=(bars,), iterations=1, rounds=rounds, warmup_rounds=warmup
    )

    reference = python_runs(workload, "array", bars, python_results)
    assert outcome.fills.tolist() == [len(r.fills) for r in reference]
    final = np.array([r.equity[-1] for r in reference])
    assert np.allclose(outcome.equity[:, -1], final, rtol=1e-3, atol=0.0)
