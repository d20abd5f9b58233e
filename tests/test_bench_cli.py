"""`quanta bench` and the machinery behind it (`quanta_cli.workloads`, `quanta_cli.bench`), on
tiny workloads: the command works and its checks hold. Nothing here is timed or asserts a
speed."""

from __future__ import annotations

import numpy as np
import pytest

from quanta_cli import bench
from quanta_cli.cli import main
from quanta_cli.workloads import TINY, make_workloads, numba_available, same_backtests


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
