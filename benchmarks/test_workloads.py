"""Benchmarks W1-W4: one group per workload and mode (`W2-array`, `W2-compiled`, ...), holding
the python and rust runs, and in the array groups the numba loop a user would otherwise write.
Then the runs at the limit, on rust: `W5` (one case per symbol count), `grid10k` (optimize and
run_many) and `scaling` (the W2 crossover at each length).

The workloads, their data and their rounds are defined in `quanta_cli.workloads` (shared
with `quanta bench`). Speed is measured here, never asserted. What is asserted, after the
timing, is that the runs of a group are the same backtests: rust's equity curves must equal
python's bit for bit, with the same fill counts; the compiled runs (`SmaCrossCompiled`, its
compile done before the timing) must equal the callback runs (`SmaCross`) of python that way,
on both backends. The numba loop follows slightly different
rules (see `quanta_cli.workloads.numba_kernels`), so it is held to the same fill counts and a
final equity within 1e-3 of quanta's (measured: within 1e-9 on W1, W2 and W4, about 1e-4 on
W3). The runs at the limit are held to python's where python is affordable: W5 at 500
symbols, about 20 combinations of the big grid, the lengths up to 100,000 bars.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from quanta_cli.workloads import (
    BIG_GRID_ROUNDS,
    FULL,
    MODES,
    WORKLOADS,
    Workload,
    big_grid_combos,
    big_grid_sample,
    compile_strategy,
    daily_bars,
    first_symbols,
    limit_rounds,
    minute_bars_of_length,
    momentum_panel,
    run_big_grid,
    run_big_grid_sample,
    run_crossover,
    run_momentum,
    rust_array_is_native,
    rust_available,
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


@pytest.fixture(scope="module")
def w5_bars() -> Bars:
    """The W5 panel (5,000 symbols), built once; smaller cases take its first columns."""
    return momentum_panel()


def needs_rust() -> None:
    if not rust_available():
        pytest.skip("the runs at the limit time the Rust backend, which is not built")


@pytest.mark.parametrize("n_symbols", FULL.momentum_symbols, ids=lambda n: f"{n}-symbols")
def test_w5(benchmark: Any, n_symbols: int, w5_bars: Bars) -> None:
    needs_rust()
    bars = first_symbols(w5_bars, n_symbols)
    benchmark.group = "W5"
    benchmark.extra_info.update(
        {"bars": bars.n_bars, "symbols": n_symbols, "symbol_bars": bars.n_bars * n_symbols}
    )
    rounds, warmup = limit_rounds(bars.n_bars * n_symbols)
    result = benchmark.pedantic(
        run_momentum, args=(bars, "rust"), iterations=1, rounds=rounds, warmup_rounds=warmup
    )

    benchmark.extra_info["fills"] = len(result.fills)
    if n_symbols == FULL.momentum_check_symbols:
        assert same_backtests([result], [run_momentum(bars, "python")])


@pytest.mark.parametrize("how", ["optimize", "run_many"])
def test_grid10k(benchmark: Any, how: str) -> None:
    needs_rust()
    bars = daily_bars()
    benchmark.group = "grid10k"
    benchmark.extra_info.update({"bars": bars.n_bars, "combinations": len(big_grid_combos())})
    rounds, warmup = BIG_GRID_ROUNDS
    outcome = benchmark.pedantic(
        run_big_grid, args=(bars, how, "rust"), iterations=1, rounds=rounds, warmup_rounds=warmup
    )

    sample = big_grid_sample()
    python = run_big_grid_sample(bars, sample, "python")
    if how == "run_many":
        assert same_backtests(python, [outcome[k] for k in sample])
    else:
        sharpe = np.array([r.stats["sharpe_ratio"] for r in python])
        assert sharpe.tobytes() == np.array([outcome.values[k] for k in sample]).tobytes()


@pytest.mark.parametrize("length", FULL.lengths, ids=lambda n: f"{n}-bars")
def test_scaling(benchmark: Any, length: int) -> None:
    needs_rust()
    bars = minute_bars_of_length(length)
    benchmark.group = "scaling"
    benchmark.extra_info["bars"] = bars.n_bars
    rounds, warmup = limit_rounds(bars.n_bars)
    result = benchmark.pedantic(
        run_crossover, args=(bars, "rust"), iterations=1, rounds=rounds, warmup_rounds=warmup
    )

    if bars.n_bars <= FULL.length_check_bars:
        assert same_backtests([result], [run_crossover(bars, "python")])
