"""`quanta bench` and the machinery behind it (`quanta_cli.workloads`, `quanta_cli.bench`), on
tiny workloads: the command works and its checks hold. Nothing here is timed or asserts a
speed."""

from __future__ import annotations

import numpy as np
import pytest

from quanta_cli import bench
from quanta_cli.cli import main
from quanta_cli.workloads import (
    TINY,
    Sizes,
    make_workloads,
    momentum_weights,
    numba_available,
    same_backtests,
)


def test_quanta_bench_prints_the_tables_for_the_chosen_workloads(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "bench",
        "--tiny",
        "--quick",
        "--no-memory",
        "--no-numba",
        "--no-compile-times",
        "--backend",
        backend,
        "--workload",
        "W1",
        "--workload",
        "W4",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "### The four benchmark scenarios, measured against the expected speed-ups" in out
    assert "| 10-year single stock | W1 | 5 s | 0.5 s | 10x |" in out
    assert "| 100 parameter combinations | W4 | 500 s | 10 s | 50x |" in out
    rows = [line for line in out.splitlines() if line.startswith(("| W1 |", "| W4 |"))]
    modes = 3 if numba_available() else 2  # the compiled mode needs numba
    assert len(rows) == 2 * modes + (2 if numba_available() else 0)  # + the compiled table
    per_case = [row for row in rows if f"| {backend} |" in row]
    assert len(per_case) == 2 * modes  # workload x mode, on one backend
    assert ("| W1 | compiled |" in out) == numba_available()
    assert "| W2 |" not in out and "| W3 |" not in out
    assert "### W5:" not in out and "-combination grid on the W1 data" not in out
    assert "### Targets" in out


def test_bench_report_checks_that_both_backends_ran_the_same_backtests(backend_rust: None) -> None:
    pytest.importorskip("numba")
    workloads = make_workloads(TINY)
    report = bench.run_report(workloads, quick=True, memory=False, numba=False, compile_times=False)
    assert len(report.cases) == 4 * 3 * 2  # workload x mode x backend
    for w in workloads:
        assert report.checks[w.name].startswith("python = rust")
        assert "compiled = callback" in report.checks[w.name]
    text = bench.format_report(report)
    assert "| W3 | array | rust" in text and "| W3 | compiled | rust" in text
    assert "array mode, rust >= 100x the reference" in text
    assert "### Compiled strategies" in text
    for target in (
        "| W2 compiled on rust < 25 ms (>= 20,000,000 bars/s) |",
        "| W2 compiled within 2x of array mode on rust |",
        "| W4 compiled (100 combinations) < 10 ms on 2 cores |",
    ):
        assert target in text and f"{target} - | not measured |" not in text


def test_compiled_mode_runs_the_callback_backtests(backend: str) -> None:
    pytest.importorskip("numba")
    for workload in make_workloads(TINY):
        bars = workload.make_bars()
        compiled = workload.run(bars, "compiled", backend)
        assert len(compiled) == len(workload.combos)
        assert same_backtests(compiled, workload.run(bars, "callback", backend))


def test_compile_times_are_read_in_fresh_processes_sharing_a_new_cache() -> None:
    pytest.importorskip("numba")
    times = bench.strategy_compile_times()
    assert set(times) == {"import", "first call", "import, cached", "cached call"}
    assert all(seconds > 0.0 for seconds in times.values())
    report = bench.Report(strategy_compile=times)
    assert "first call" in bench.format_report(report)


def test_array_and_callback_modes_agree_on_one_symbol() -> None:
    w1, w2, w3, w4 = make_workloads(TINY)
    for workload in (w1, w4):
        bars = workload.make_bars()
        callback = workload.run(bars, "callback", "python")
        assert len(callback) == len(workload.combos)
        assert same_backtests(callback, workload.run(bars, "array", "python"))


def test_peak_memory_is_read_in_a_fresh_process() -> None:
    memory = bench.peak_memory("W1", "callback", "python", TINY)
    assert 0 < memory.baseline <= memory.peak
    assert memory.data > 0
    assert memory.run is None or memory.run <= memory.peak


def test_peak_memory_of_the_compiled_mode() -> None:
    pytest.importorskip("numba")
    memory = bench.peak_memory("W1", "compiled", "python", TINY)
    assert 0 < memory.baseline <= memory.data <= memory.peak


def test_numba_loop_trades_like_the_array_mode() -> None:
    pytest.importorskip("numba")
    w1 = make_workloads(TINY)[0]
    bars = w1.make_bars()
    outcome = w1.run_numba(bars)
    (quanta,) = w1.run(bars, "array", "python")
    assert outcome.fills.tolist() == [len(quanta.fills)]
    assert np.allclose(outcome.equity[0], quanta.equity, rtol=1e-12, atol=0.0)


def test_quanta_bench_refuses_an_unknown_workload(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["bench", "--workload", "W9"])
    assert "invalid choice" in capsys.readouterr().err


def test_quanta_bench_times_the_runs_at_the_limit_and_checks_them_against_python(
    backend_rust: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "--tiny", "--quick", "--no-numba", "--no-compile-times"]
    argv += ["--workload", "W5", "--workload", "grid10k", "--workload", "scaling"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "### The four benchmark scenarios" not in out  # W1-W4 were not asked for
    assert "### W5: a momentum rotation over many symbols" in out
    assert "| 6 | 120 |" in out and "| 12 | 120 |" in out  # the symbol counts of TINY
    assert "### A 6-combination grid on the W1 data (rust, 2 cores)" in out
    assert "| optimize |" in out and "| run_many |" in out
    assert "Checked after timing: python = rust on 6 combinations" in out
    assert "### Cost per bar against the length of the data" in out
    assert "| 390 |" in out and "| 1,170 |" in out
    assert out.count("| yes (") == 3  # W5 at 6 symbols, both lengths: python = rust
    assert "### Peak memory against the input data" in out
    for target in (
        "| W5 (12 symbols x 120 daily bars) < 0.3 s on rust, weights included |",
        "| 6-combination grid (engine.optimize) < 0.3 s on 2 cores |",
        "| 6-combination grid (engine.optimize): peak resident memory < 200 MB |",
        "| W5 on rust: peak resident memory of the run <= input data + 100 MB (the process's "
        "peak over the run less what it held after the imports) |",
    ):
        assert target in out and f"{target} - | not measured |" not in out
    assert "| callback mode >= 2,000,000 bars/s on W2 (rust) | - | not measured |" in out


def test_quanta_bench_leaves_out_the_runs_at_the_limit_without_rust(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "--tiny", "--quick", "--no-memory", "--backend", "python"]
    assert main(argv + ["--workload", "W5", "--workload", "scaling"]) == 0
    captured = capsys.readouterr()
    assert "leaving out W5, scaling: they time array jobs on rust" in captured.err
    assert "### W5:" not in captured.out and "| W5 (" in captured.out  # its target row


def test_momentum_weights_hold_the_leaders_on_rebalance_rows_only() -> None:
    close = np.array(
        [
            [10.0, 10.0, 10.0, 10.0],
            [11.0, 12.0, 10.0, 9.0],
            [12.0, 12.0, 13.0, 9.0],
            [12.0, 15.0, 12.0, 11.0],
            [12.0, 15.0, 12.0, 11.0],
        ]
    )
    sizes = Sizes(momentum_lookback=1, rebalance_every=2, momentum_top=2)
    weights = momentum_weights(close, sizes)
    assert np.isnan(weights[[0, 2, 4]]).all()  # no momentum yet, then between rebalances
    # Row 1: momenta 0.1, 0.2, 0.0, -0.1; row 3: 0.0, 0.25, -1/13, 2/9.
    assert weights[1].tolist() == [0.5, 0.5, 0.0, 0.0]
    assert weights[3].tolist() == [0.0, 0.5, 0.0, 0.5]


def test_momentum_weights_break_ties_by_column() -> None:
    close = np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
    sizes = Sizes(momentum_lookback=1, rebalance_every=1, momentum_top=3)
    assert momentum_weights(close, sizes)[1].tolist() == [1 / 3, 1 / 3, 1 / 3, 0.0]


def test_peak_memory_of_the_runs_at_the_limit_is_read_in_fresh_processes(
    backend_rust: None,
) -> None:
    for name, mode in (("W5", "targets"), ("grid10k", "optimize"), ("grid10k", "run_many")):
        memory = bench.peak_memory(name, mode, "rust", TINY)
        assert 0 < memory.baseline <= memory.peak
        assert memory.run is None or memory.run <= memory.peak
