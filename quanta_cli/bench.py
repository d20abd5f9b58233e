"""How the benchmark workloads W1-W4 and the runs at the limit (W5, the 10,000-combination
grid, the crossover at growing lengths: `quanta_cli.workloads`) are measured and reported:
their timing, their peak memory in fresh processes (against the size of their input data),
the compile time of the compiled strategy, and the report `quanta bench` prints (the tables of
docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from quanta_cli.workloads import (
    BACKENDS,
    BIG_GRID_ROUNDS,
    FULL,
    GRID_JOBS,
    MODES,
    TINY,
    NumbaResult,
    Sizes,
    Workload,
    big_grid_combos,
    big_grid_sample,
    compile_strategy,
    daily_bars,
    first_symbols,
    indicators_of,
    input_bytes,
    limit_rounds,
    make_workloads,
    minute_bars_of_length,
    momentum_panel,
    momentum_weights,
    numba_available,
    run_big_grid,
    run_big_grid_sample,
    run_crossover,
    run_momentum,
    run_signals_only,
    rust_array_is_native,
    rust_available,
    same_backtests,
    signal_jobs,
)
from quanta_ref.api import BacktestResult
from quanta_ref.bars import Bars


# ============================================================================ timing
@dataclass
class Timing:
    """Wall times (seconds, `time.perf_counter`) of the timed rounds of one case."""

    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)


def measure(
    function: Callable[[], Any], rounds: int, warmup: int, budget: float | None = None
) -> tuple[Timing, Any]:
    """Call `function` `warmup` times untimed, then time up to `rounds` calls; with a
    `budget` (seconds), stop timing once the timed calls have taken that long (at least one
    timed call). Returns the timing and the result of the last call."""
    result = None
    for _ in range(warmup):
        result = function()
    times: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        if budget is not None and sum(times) >= budget:
            break
    return Timing(times), result


def compile_numba() -> dict[str, float]:
    """Compile the numba kernels (their first calls, on tiny data): seconds per kernel."""
    tiny = {w.name: w for w in make_workloads(TINY)}
    seconds = {}
    for kernel, workload in (("one", "W1"), ("portfolio", "W3"), ("grid", "W4")):
        bars = tiny[workload].make_bars()
        start = time.perf_counter()
        tiny[workload].run_numba(bars)
        seconds[kernel] = time.perf_counter() - start
    return seconds


def strategy_compile_times(timeout: float = 600.0) -> dict[str, float]:
    """Seconds to get the C entry of `SmaCrossCompiled` (`quanta_ref.compiled_numba.entry_of`),
    each in a fresh interpreter on a new, empty numba cache directory (``NUMBA_CACHE_DIR``):
    "first call" compiles it and writes the cache, "cached call" (a second fresh process,
    same directory) loads it from there. "import" and "import, cached": the import of
    `quanta_ref.compiled_numba` (numba's own import included) in each process, timed apart."""
    with tempfile.TemporaryDirectory(prefix="quanta-numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        first = json.loads(_fresh_process("_compile_child", "{}", timeout, env))
        cached = json.loads(_fresh_process("_compile_child", "{}", timeout, env))
    return {
        "import": first["import"],
        "first call": first["entry"],
        "import, cached": cached["import"],
        "cached call": cached["entry"],
    }


def _compile_child(request_json: str) -> None:
    """The child of `strategy_compile_times`: prints one JSON line, import and entry seconds."""
    from quanta_ref.examples import SmaCrossCompiled  # imports no numba

    start = time.perf_counter()
    import quanta_ref.compiled_numba

    imported = time.perf_counter() - start
    start = time.perf_counter()
    quanta_ref.compiled_numba.entry_of(SmaCrossCompiled)
    entry = time.perf_counter() - start
    print(json.dumps({"import": imported, "entry": entry}))


def _fresh_process(
    child: str, request: str, timeout: float, extra_env: dict[str, str] | None = None
) -> str:
    """Run `child` (a function of this module taking one JSON string) in a fresh interpreter
    that imports this very quanta; its last line of output."""
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.update(extra_env or {})
    code = f"import sys; from quanta_cli.bench import {child}; {child}(sys.argv[1])"
    done = subprocess.run(
        [sys.executable, "-c", code, request],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{child} failed:\n{done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


# ============================================================================ memory
@dataclass
class Memory:
    """Resident memory (KiB) of a fresh process running one case once.

    `baseline`: peak after the imports (interpreter, numpy, quanta_ref, quanta_fast).
    `data`: resident after building the bars (what the data holds), `data_peak`: the peak
    while building them (the synthetic generator's temporaries). `run`: the peak resident
    memory of the whole process from the start of the run to its end (the high-water mark
    is reset before the run; None where the system cannot reset it). `peak`: ``ru_maxrss``
    at the end, the peak of the whole process over its life.
    """

    baseline: int
    data: int
    data_peak: int
    run: int | None
    peak: int


def peak_memory(
    workload: str, mode: str, backend: str, sizes: Sizes = FULL, timeout: float = 600.0
) -> Memory:
    """Run one case (`backend` "python", "rust" or "numba") once in a fresh interpreter and
    report its resident memory (see `Memory`). The child imports numpy, quanta_ref and
    quanta_fast before its baseline is read; the numba case then imports numba and compiles
    its kernels before it builds the data, the compiled mode its strategy.

    `workload` is one of W1-W4, or "W5" (`mode` "targets": `run_momentum` on the whole W5
    panel) or "grid10k" (`mode` "optimize" or "run_many": `run_big_grid` on the W1 data)."""
    request = json.dumps(
        {"workload": workload, "mode": mode, "backend": backend, "sizes": asdict(sizes)}
    )
    try:
        line = _fresh_process("_memory_child", request, timeout)
    except RuntimeError as error:
        raise RuntimeError(f"memory run of {workload} {mode} {backend}: {error}") from None
    return Memory(**json.loads(line))


def _max_rss() -> int:
    """The process's resident high-water mark, KiB.

    VmHWM from /proc where there is one: ``ru_maxrss`` survives ``exec``, so in a child of a
    large parent it starts at the parent's size at the fork and says nothing about the
    child (Linux keeps the larger of the two across exec). Elsewhere ``ru_maxrss``."""
    return _proc_status("VmHWM") or int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _proc_status(key: str) -> int | None:
    """A "kB" line of /proc/self/status (VmRSS, VmHWM), None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> bool:
    """Reset the process's resident high-water mark (VmHWM; Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _release_free_memory() -> None:
    """Give the allocator's free pages back to the system (glibc's ``malloc_trim``), so that
    the temporaries of the synthetic data generator, freed but kept by malloc, are not
    counted as the run's. A no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _memory_child(request_json: str) -> None:
    """The child of `peak_memory`: prints one JSON line of `Memory` fields."""
    request = json.loads(request_json)
    if rust_available():
        import quanta_fast.engine  # noqa: F401  (baseline: every quanta module imported)
        import quanta_fast.indicators  # noqa: F401
    import quanta_ref.indicators  # noqa: F401

    baseline = _max_rss()
    # JSON gave the tuples of `Sizes` back as lists.
    fields: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in request["sizes"].items()
    }
    sizes = Sizes(**fields)
    name, mode, backend = request["workload"], request["mode"], request["backend"]
    if backend == "numba":
        compile_numba()
    elif mode == "compiled":
        compile_strategy()
    make_bars, run_case = _case(name, mode, sizes)
    bars = make_bars()
    _release_free_memory()
    data = _proc_status("VmRSS") or _max_rss()
    data_peak = _max_rss()
    reset = _reset_peak()
    run_case(bars, backend)
    run = _max_rss() if reset else None
    # The reset lowered the high-water mark: the life-time peak is the larger of the two.
    peak = max(data_peak, _max_rss())
    print(
        json.dumps(
            {"baseline": baseline, "data": data, "data_peak": data_peak, "run": run, "peak": peak}
        )
    )


def _case(
    name: str, mode: str, sizes: Sizes
) -> tuple[Callable[[], Bars], Callable[[Bars, str], Any]]:
    """The data and the run (of bars and a backend) of one case of `peak_memory`."""
    if name == "W5":
        return (lambda: momentum_panel(sizes)), lambda bars, backend: run_momentum(
            bars, backend, sizes
        )
    if name == "grid10k":
        return (lambda: daily_bars(sizes.daily_bars)), lambda bars, backend: run_big_grid(
            bars, mode, backend, sizes
        )
    workload = {w.name: w for w in make_workloads(sizes)}[name]

    def run(bars: Bars, backend: str) -> Any:
        if backend == "numba":
            return workload.run_numba(bars)
        return workload.run(bars, mode, backend)

    return workload.make_bars, run


# ============================================================================ the report
@dataclass
class Case:
    """One measured case: a workload in a mode on a backend ("numba": the numba loop)."""

    workload: Workload
    mode: str
    backend: str
    bar_count: int
    timing: Timing
    memory: Memory | None = None


@dataclass
class SizeCase:
    """One size of a run at the limit, on rust: W5 at a symbol count, or the W2 crossover at
    a length of data."""

    n_bars: int
    n_symbols: int
    timing: Timing  # the whole run: the weights or the indicators included
    engine_timing: Timing | None = None  # the engine's call alone (the lengths)
    orders: int | None = None
    fills: int = 0
    rejected: int = 0  # orders the engine rejected
    #: Whether python ran the same backtest (equity bit for bit, fill count); None: not run.
    same_as_python: bool | None = None
    python_seconds: float | None = None  # the python run that was compared, one round

    @property
    def symbol_bars(self) -> int:
        return self.n_bars * self.n_symbols

    def ns_per_symbol_bar(self, timing: Timing | None = None) -> float:
        """Nanoseconds per symbol-bar of the median of `timing` (default: the whole run)."""
        return (timing or self.timing).median / self.symbol_bars * 1e9


@dataclass
class Report:
    """Everything `quanta bench` measured; `format_report` turns it into markdown."""

    cases: list[Case] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)  # workload -> what agreed
    numba: dict[str, dict[str, Any]] = field(default_factory=dict)
    numba_compile: dict[str, float] = field(default_factory=dict)  # kernel -> seconds
    #: Compile times of the compiled strategy in fresh processes (`strategy_compile_times`).
    strategy_compile: dict[str, float] = field(default_factory=dict)
    baseline_kib: int | None = None
    machine: list[str] = field(default_factory=list)
    load_after: str = ""
    quick: bool = False
    #: W5, one case per symbol count (the last is W5 itself), and its memory in a fresh
    #: process (the largest count).
    momentum: list[SizeCase] = field(default_factory=list)
    momentum_memory: Memory | None = None
    #: The 10,000-combination grid: "optimize" and "run_many" -> their timing, memory.
    big_grid: dict[str, Timing] = field(default_factory=dict)
    big_grid_memory: dict[str, Memory] = field(default_factory=dict)
    big_grid_size: int = 0  # combinations
    big_grid_check: str = ""  # what was compared with python, and how it came out
    #: The W2 crossover (array mode, rust) at each length of data.
    lengths: list[SizeCase] = field(default_factory=list)
    #: Bytes of the input data (`quanta_cli.workloads.input_bytes`) of "W2" (the array job)
    #: and "W5" (the weights), for the memory-against-input table.
    inputs: dict[str, int] = field(default_factory=dict)

    def case(self, workload: str, mode: str, backend: str) -> Case | None:
        return next(
            (
                c
                for c in self.cases
                if (c.workload.name, c.mode, c.backend) == (workload, mode, backend)
            ),
            None,
        )


def run_report(
    workloads: Iterable[Workload],
    backends: Sequence[str] = BACKENDS,
    modes: Sequence[str] = MODES,
    *,
    quick: bool = False,
    memory: bool = True,
    numba: bool = True,
    compile_times: bool = True,
    sizes: Sizes = FULL,
    log: Callable[[str], None] | None = None,
    parts: Sequence[str] = (),
) -> Report:
    """Time every workload x mode x backend (and the numba loop), check that the backends
    and the modes ran the same backtests, and measure peak memory in fresh processes; with
    the compiled mode, its compile times in fresh processes (`compile_times`). Then the runs
    at the limit named in `parts` (`quanta_cli.workloads.LIMIT_PARTS`: "W5", "grid10k",
    "scaling"), on rust, checked against python where `backends` holds python.

    `quick` times at most 3 rounds and about 1 s per case (else up to the workload's rounds
    and about 6 s per case). `log` receives a line per case as it goes. The compiled mode
    needs numba (`quanta_cli.workloads.numba_available`); its strategy is compiled before any
    timing.
    """
    say = log or (lambda line: None)
    report = Report(machine=machine(), quick=quick)
    budget = 1.0 if quick else 6.0
    if "compiled" in modes:
        if compile_times:
            report.strategy_compile = strategy_compile_times()
            say(
                "SmaCrossCompiled compile: "
                + ", ".join(f"{k} {_duration(v)}" for k, v in report.strategy_compile.items())
            )
        compile_strategy()
    numba = numba and numba_available()
    if numba:
        report.numba_compile = compile_numba()
    for workload in workloads:
        bars = workload.make_bars()
        count = workload.bar_count(bars)
        results: dict[tuple[str, str], list[BacktestResult]] = {}
        for mode in modes:
            for backend in backends:
                rounds, warmup = workload.rounds[f"{mode}-{backend}"]
                rounds = min(rounds, 3) if quick else rounds
                timing, result = measure(
                    lambda: workload.run(bars, mode, backend), rounds, warmup, budget
                )
                results[mode, backend] = result
                report.cases.append(Case(workload, mode, backend, count, timing))
                say(
                    f"{workload.name} {mode:8} {backend:6} median {_duration(timing.median)} "
                    f"({len(timing.times)} rounds)"
                )
            if len(backends) == 2:
                same = same_backtests(results[mode, "python"], results[mode, "rust"])
                if not same:
                    raise AssertionError(
                        f"{workload.name} {mode}: python and rust ran different backtests"
                    )
        report.checks[workload.name] = _agreement(results, modes, backends)
        if workload.name == "W2" and memory and "array" in modes and "rust" in backends:
            jobs = signal_jobs(bars, workload.combos, indicators_of("rust"))
            report.inputs["W2"] = input_bytes(
                bars, [a for job in jobs for a in (job.entries, job.exits)]
            )
        if numba:
            rounds, warmup = workload.rounds["numba"]
            timing, outcome = measure(
                lambda: workload.run_numba(bars),
                min(rounds, 3) if quick else rounds,
                warmup,
                budget,
            )
            report.cases.append(Case(workload, "array", "numba", count, timing))
            compared = next(m for m in ("array", "callback", "compiled") if m in modes)
            report.numba[workload.name] = _compare_numba(outcome, results[compared, backends[0]])
            say(f"{workload.name} array    numba  median {_duration(timing.median)}")
    if memory:
        for case in report.cases:
            case.memory = peak_memory(case.workload.name, case.mode, case.backend, sizes)
            say(
                f"{case.workload.name} {case.mode:8} {case.backend:6} run peak "
                f"{_mb(case.memory.run)}, life-time peak {_mb(case.memory.peak)}"
            )
            report.baseline_kib = case.memory.baseline
    check = "python" in backends
    if "W5" in parts:
        measure_momentum(report, sizes, quick=quick, check=check, memory=memory, log=say)
    if "grid10k" in parts:
        measure_big_grid(report, sizes, quick=quick, check=check, memory=memory, log=say)
    if "scaling" in parts:
        measure_lengths(report, sizes, quick=quick, check=check, log=say)
    report.load_after = _load()
    return report


# ============================================================================ at the limit
def _limit_rounds(symbol_bars: int, quick: bool) -> tuple[int, int]:
    """`limit_rounds`, at most 3 rounds with `quick`."""
    rounds, warmup = limit_rounds(symbol_bars)
    return (min(rounds, 3) if quick else rounds), warmup


def measure_momentum(
    report: Report,
    sizes: Sizes = FULL,
    *,
    quick: bool = False,
    check: bool = True,
    memory: bool = True,
    log: Callable[[str], None] | None = None,
) -> None:
    """W5 on rust at each symbol count of `sizes` (the first columns of the W5 panel), with
    the orders and fills of a run (counted after the timing); with `check`, python's run at
    `momentum_check_symbols` against rust's (AssertionError if they differ); with `memory`,
    the whole W5 run in a fresh process and the size of its input."""
    say = log or (lambda line: None)
    budget = 1.0 if quick else 6.0
    panel = momentum_panel(sizes)
    for n_symbols in sizes.momentum_symbols:
        bars = first_symbols(panel, n_symbols)
        rounds, warmup = _limit_rounds(bars.n_bars * n_symbols, quick)
        timing, result = measure(lambda: run_momentum(bars, "rust", sizes), rounds, warmup, budget)
        case = SizeCase(
            bars.n_bars,
            n_symbols,
            timing,
            orders=len(result.orders),
            fills=len(result.fills),
            rejected=sum(result.rejections.values()),
        )
        report.momentum.append(case)
        say(
            f"W5 {n_symbols:>6,} symbols rust median {_duration(timing.median)} "
            f"({len(timing.times)} rounds), {case.orders:,} orders, {case.fills:,} fills"
        )
        if check and n_symbols == sizes.momentum_check_symbols:
            _check_python(case, [result], lambda: [run_momentum(bars, "python", sizes)])
            say(f"W5 {n_symbols:>6,} symbols python = rust: {_python_cell(case)}")
    if memory:
        report.inputs["W5"] = input_bytes(panel, [momentum_weights(panel.close, sizes)])
        del panel
        report.momentum_memory = peak_memory("W5", "targets", "rust", sizes)
        say(f"W5 run peak {_mb(report.momentum_memory.run)}")


def _check_python(
    case: SizeCase, rust: list[BacktestResult], python: Callable[[], list[BacktestResult]]
) -> None:
    """Run `python` once (timed) and record that it equals `rust`, or raise."""
    start = time.perf_counter()
    reference = python()
    case.python_seconds = time.perf_counter() - start
    case.same_as_python = same_backtests(reference, rust)
    if not case.same_as_python:
        raise AssertionError(
            f"{case.n_symbols} symbols x {case.n_bars} bars: python and rust ran different "
            "backtests"
        )


def measure_big_grid(
    report: Report,
    sizes: Sizes = FULL,
    *,
    quick: bool = False,
    check: bool = True,
    memory: bool = True,
    log: Callable[[str], None] | None = None,
) -> None:
    """The big grid on rust through ``engine.optimize`` and through ``engine.run_many``, a
    few rounds each; with `check`, python's runs of about 20 combinations spread over the
    grid against rust's (equity and fills of run_many, the ranked Sharpe ratio of optimize;
    AssertionError if they differ); with `memory`, each in a fresh process."""
    say = log or (lambda line: None)
    bars = daily_bars(sizes.daily_bars)
    report.big_grid_size = len(big_grid_combos(sizes))
    outcome: dict[str, Any] = {}
    for how in ("optimize", "run_many"):
        rounds, warmup = BIG_GRID_ROUNDS
        timing, outcome[how] = measure(
            lambda: run_big_grid(bars, how, "rust", sizes),
            rounds,
            0 if quick else warmup,
            1.0 if quick else None,
        )
        report.big_grid[how] = timing
        say(f"grid10k {how:8} rust median {_duration(timing.median)} ({len(timing.times)} rounds)")
    if check:
        sample = big_grid_sample(sizes)
        start = time.perf_counter()
        python = run_big_grid_sample(bars, sample, "python", sizes)
        seconds = time.perf_counter() - start
        runs = same_backtests(python, [outcome["run_many"][k] for k in sample])
        sharpe = np.array([r.stats["sharpe_ratio"] for r in python])
        ranked = np.array([outcome["optimize"].values[k] for k in sample])
        if not (runs and sharpe.tobytes() == ranked.tobytes()):
            raise AssertionError("the big grid: python and rust ran different backtests")
        report.big_grid_check = (
            f"python = rust on {len(sample)} combinations spread over the grid (run_many: "
            f"equity bit for bit and fill counts; optimize: the Sharpe ratio it ranks by, bit "
            f"for bit); python took {_duration(seconds)} for them"
        )
        say(f"grid10k python = rust on {len(sample)} combinations")
    del outcome
    if memory:
        for how in ("optimize", "run_many"):
            report.big_grid_memory[how] = peak_memory("grid10k", how, "rust", sizes)
            say(f"grid10k {how:8} run peak {_mb(report.big_grid_memory[how].run)}")


def measure_lengths(
    report: Report,
    sizes: Sizes = FULL,
    *,
    quick: bool = False,
    check: bool = True,
    log: Callable[[str], None] | None = None,
) -> None:
    """The W2 crossover in array mode on rust at each length of `sizes`: the whole run
    (indicators included) and ``engine.run_signals`` alone; with `check`, python's run
    against rust's at the lengths up to `length_check_bars` (AssertionError if they
    differ). Each length's data is built once and dropped before the next."""
    say = log or (lambda line: None)
    budget = 1.0 if quick else 6.0
    for length in sizes.lengths:
        bars = minute_bars_of_length(length)
        rounds, warmup = _limit_rounds(bars.n_bars, quick)
        timing, result = measure(lambda: run_crossover(bars, "rust", sizes), rounds, warmup, budget)
        (job,) = signal_jobs(bars, ((sizes.fast, sizes.slow),), indicators_of("rust"))
        engine_timing, _ = measure(
            lambda: run_signals_only(bars, job, "rust"), rounds, warmup, budget
        )
        case = SizeCase(
            bars.n_bars,
            1,
            timing,
            engine_timing,
            fills=len(result.fills),
            rejected=sum(result.rejections.values()),
        )
        report.lengths.append(case)
        say(
            f"scaling {bars.n_bars:>10,} bars rust median {_duration(timing.median)} "
            f"({case.ns_per_symbol_bar():.1f} ns/bar; run_signals alone "
            f"{case.ns_per_symbol_bar(engine_timing):.1f} ns/bar)"
        )
        if check and bars.n_bars <= sizes.length_check_bars:
            _check_python(case, [result], lambda: [run_crossover(bars, "python", sizes)])


def _agreement(
    results: dict[tuple[str, str], list[BacktestResult]],
    modes: Sequence[str],
    backends: Sequence[str],
) -> str:
    """What agreed: the backends (each mode's python and rust runs, asserted while timing)
    and the modes (compiled and array against callback, on the first backend; python = rust
    makes that hold on both)."""
    parts = []
    if len(backends) == 2:
        parts.append("python = rust (equity bit for bit, fill counts)")
    backend = backends[0]
    if "callback" in modes:
        others = [m for m in ("compiled", "array") if m in modes]
        same = {
            m: same_backtests(results["callback", backend], results[m, backend]) for m in others
        }
        chain = ["callback"]  # "compiled = callback = array", as many as agree
        if same.get("compiled"):
            chain.insert(0, "compiled")
        if same.get("array"):
            chain.append("array")
        if len(chain) > 1:
            parts.append(" = ".join(chain))
        parts += [f"{m} differs from callback" for m in others if not same[m]]
    elif "compiled" in modes and "array" in modes:
        agree = same_backtests(results["compiled", backend], results["array", backend])
        parts.append("array = compiled" if agree else "array differs from compiled")
    return "; ".join(parts)


def _compare_numba(outcome: NumbaResult, reference: Sequence[BacktestResult]) -> dict[str, Any]:
    ours = np.array([r.equity for r in reference])
    fills = np.array([len(r.fills) for r in reference])
    final_numba, final_quanta = outcome.equity[:, -1], ours[:, -1]
    worst = int(np.argmax(np.abs(final_numba - final_quanta)))
    return {
        "identical": outcome.equity.tobytes() == ours.tobytes(),
        "same_fills": bool(np.array_equal(outcome.fills, fills)),
        "final_numba": float(final_numba[worst]),
        "final_quanta": float(final_quanta[worst]),
        "worst_run": worst,
        "runs": len(reference),
        "largest": float(np.abs(outcome.equity - ours).max()),
    }


# ---------------------------------------------------------------------------- formatting
def machine() -> list[str]:
    """Lines describing the machine, the versions and the load, for the report."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next(
                line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    try:
        import numba

        versions.append(f"numba {numba.__version__}")
    except ImportError:
        versions.append("numba not installed")
    try:
        import quanta_fast

        versions.append(f"quanta-core {quanta_fast.core_version()}")
    except ImportError:
        versions.append("quanta_fast not built")
    commit = _git("rev-parse", "--short", "HEAD")
    if commit and _git("status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    lines = [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores; load average before the runs "
        f"{_load()} (1 / 5 / 15 min; a shared machine is noisy: read ratios as 'about')",
        f"- {', '.join(versions)}",
    ]
    if commit:
        lines.insert(0, f"- commit {commit}")
    return lines


def _git(*args: str) -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, cwd=here, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _mb(kib: int | None) -> str:
    """KiB as decimal megabytes, the unit of the 100 MB memory target."""
    return "-" if kib is None else f"{kib * 1024 / 1e6:.0f} MB"


def _ratio(slow: Case | None, fast: Case | None) -> str:
    if slow is None or fast is None:
        return "-"
    ratio = slow.timing.median / fast.timing.median
    return f"{ratio:,.1f}x" if ratio >= 1.0 else f"{ratio:.2g}x"


def _median(case: Case | None) -> str:
    return "-" if case is None else _duration(case.timing.median)


def _median_speed(case: Case | None) -> str:
    """ "1.2 ms (2,000,000/s)": the median and the symbol-bars per second it gives."""
    if case is None:
        return "-"
    return f"{_duration(case.timing.median)} ({case.bar_count / case.timing.median:,.0f}/s)"


def _targets(report: Report) -> list[tuple[str, str, str]]:
    """(target, measured, met) rows of the speed and memory targets, "not measured" where the
    report lacks the case (a filtered run)."""
    absent = ("-", "not measured")
    ratios = []
    for w in ("W1", "W2", "W3", "W4"):
        python, rust = report.case(w, "array", "python"), report.case(w, "array", "rust")
        if python and rust:
            ratios.append((w, python.timing.median / rust.timing.median))
    rows = [
        (
            "array mode, rust >= 100x the reference (python array), every workload",
            *(
                (
                    ", ".join(f"{w} {r:,.0f}x" for w, r in ratios),
                    _met(all(r >= 100.0 for _, r in ratios)),
                )
                if ratios
                else absent
            ),
        )
    ]
    for w, what, limit in (
        ("W1", "W1 (2,520 daily bars) < 0.1 ms, array mode on rust", 0.1e-3),
        ("W2", "W2 (491,400 one-minute bars) < 5 ms incl. indicators, array mode on rust", 5e-3),
        ("W3", "W3 (100 symbols) < 5 ms, array mode on rust", 5e-3),
        ("W4", f"W4 (100 combinations) < 3 ms on {GRID_JOBS} cores, array mode on rust", 3e-3),
    ):
        case = report.case(w, "array", "rust")
        rows.append(
            (
                what,
                *(
                    (_duration(case.timing.median), _met(case.timing.median < limit))
                    if case
                    else absent
                ),
            )
        )
    rows += _limit_targets(report)
    case = report.case("W2", "compiled", "rust")
    speed = case.bar_count / case.timing.median if case else 0.0
    rows.append(
        (
            "W2 compiled on rust < 25 ms (>= 20,000,000 bars/s)",
            *(
                (
                    f"{_duration(case.timing.median)} ({speed:,.0f} bars/s)",
                    _met(case.timing.median < 25e-3),
                )
                if case
                else absent
            ),
        )
    )
    array = report.case("W2", "array", "rust")
    rows.append(
        (
            "W2 compiled within 2x of array mode on rust",
            *(
                (
                    f"{case.timing.median / array.timing.median:.2f}x the array mode "
                    f"({_duration(case.timing.median)} / {_duration(array.timing.median)})",
                    _met(case.timing.median <= 2.0 * array.timing.median),
                )
                if case and array
                else absent
            ),
        )
    )
    case = report.case("W4", "compiled", "rust")
    rows.append(
        (
            f"W4 compiled (100 combinations) < 10 ms on {GRID_JOBS} cores",
            *(
                (_duration(case.timing.median), _met(case.timing.median < 10e-3))
                if case
                else absent
            ),
        )
    )
    case = report.case("W2", "callback", "rust")
    speed = case.bar_count / case.timing.median if case else 0.0
    rows.append(
        (
            "callback mode >= 2,000,000 bars/s on W2 (rust)",
            *((f"{speed:,.0f} bars/s", _met(speed >= 2e6)) if case else absent),
        )
    )
    # The compiled mode is left out: its process holds numba's compiler (LLVM, over 100 MB)
    # before the run starts; the memory table shows what its run adds.
    for mode in ("array", "callback"):
        case = report.case("W2", mode, "rust")
        what = f"W2 {mode} mode on rust: peak resident memory of the whole process < 100 MB"
        if not (case and case.memory):
            rows.append((what, *absent))
            continue
        m = case.memory
        run = m.peak if m.run is None else m.run
        life = f"{m.peak * 1024 / 1e6:.0f} MB over the process's life"
        if m.data_peak > run:
            life += " (set while the synthetic generator builds the data)"
        rows.append(
            (what, f"{run * 1024 / 1e6:.0f} MB during the run; {life}", _met(run * 1024 < 100e6))
        )
    rows += _memory_targets(report)
    if not rust_array_is_native():
        rows = [
            (t, m, f"{met} (preliminary)" if "array" in t and met != absent[1] else met)
            for t, m, met in rows
        ]
    return rows


#: How far apart the cost per (symbol-)bar of the smallest and largest runs may be for the
#: cost to count as linear in the symbols, flat in the length.
FLAT = 1.5


def _spread(
    cases: Sequence[SizeCase], timing: Callable[[SizeCase], Timing], unit: str
) -> tuple[str, bool]:
    """The ns per symbol-bar of each case (labelled by its symbols, or its bars with `unit`
    "bars"), and whether the largest is within `FLAT` times the smallest."""
    costs = [case.ns_per_symbol_bar(timing(case)) for case in cases]
    spread = max(costs) / min(costs)
    listed = ", ".join(
        f"{c.n_bars if unit == 'bars' else c.n_symbols:,} {unit}: {cost:.1f} ns"
        for c, cost in zip(cases, costs, strict=True)
    )
    return f"{listed} ({spread:.2f}x apart)", spread <= FLAT


def _limit_targets(report: Report) -> list[tuple[str, str, str]]:
    """The speed targets of the runs at the limit: W5, the big grid, the lengths."""
    absent = ("-", "not measured")
    rows = []
    momentum = report.momentum
    largest = momentum[-1] if momentum else None
    what = "W5 (5,000 symbols x 2,520 daily bars) < 0.3 s on rust, weights included"
    if largest:
        what = (
            f"W5 ({largest.n_symbols:,} symbols x {largest.n_bars:,} daily bars) < 0.3 s on "
            "rust, weights included"
        )
    rows.append(
        (
            what,
            *(
                (_duration(largest.timing.median), _met(largest.timing.median < 0.3))
                if largest
                else absent
            ),
        )
    )
    spread = _spread(momentum, lambda c: c.timing, "symbols") if len(momentum) > 1 else None
    rows.append(
        (
            f"W5 linear in symbols: ns per symbol-bar of every symbol count within {FLAT}x",
            *((spread[0], _met(spread[1])) if spread else absent),
        )
    )
    timing, peak = report.big_grid.get("optimize"), report.big_grid_memory.get("optimize")
    size = f"{report.big_grid_size:,}" if report.big_grid_size else "10,000"
    rows.append(
        (
            f"{size}-combination grid (engine.optimize) < 0.3 s on {GRID_JOBS} cores",
            *((_duration(timing.median), _met(timing.median < 0.3)) if timing else absent),
        )
    )
    run = None if peak is None else (peak.peak if peak.run is None else peak.run)
    rows.append(
        (
            f"{size}-combination grid (engine.optimize): peak resident memory < 200 MB",
            *((f"{_mb(run)} during the run", _met(run * 1024 < 200e6)) if run else absent),
        )
    )
    lengths = report.lengths
    for label, timing_of in (
        ("indicators included", lambda c: c.timing),
        ("run_signals alone", lambda c: c.engine_timing),
    ):
        spread = _spread(lengths, timing_of, "bars") if len(lengths) > 1 else None
        rows.append(
            (
                f"ns per bar flat from the shortest to the longest data, {label} (W2 "
                f"crossover, array mode on rust): within {FLAT}x",
                *((spread[0], _met(spread[1])) if spread else absent),
            )
        )
    return rows


def _memory_against_input(report: Report) -> list[tuple[str, int, Memory, float]]:
    """(run, input bytes, memory, allowed growth in MB) of the runs whose peak memory is
    held against their input: W2 array on rust (50 MB), W5 on rust (100 MB)."""
    found = []
    w2 = report.case("W2", "array", "rust")
    if w2 and w2.memory and "W2" in report.inputs:
        found.append(("W2 array on rust", report.inputs["W2"], w2.memory, 50.0))
    if report.momentum_memory and "W5" in report.inputs:
        found.append(("W5 on rust", report.inputs["W5"], report.momentum_memory, 100.0))
    return found


def _memory_targets(report: Report) -> list[tuple[str, str, str]]:
    """Run peak <= input + 50 MB (W2 array) and + 100 MB (W5), rust."""
    measured = {
        name: (size, m, allowed) for name, size, m, allowed in _memory_against_input(report)
    }
    rows = []
    for name, allowed in (("W2 array on rust", 50), ("W5 on rust", 100)):
        what = (
            f"{name}: peak resident memory of the run <= input data + {allowed} MB (the "
            f"process's peak over the run less what it held after the imports)"
        )
        if name not in measured:
            rows.append((what, "-", "not measured"))
            continue
        size, memory, _ = measured[name]
        run = (memory.peak if memory.run is None else memory.run) * 1024
        own = run - memory.baseline * 1024
        rows.append(
            (
                what,
                f"{own / 1e6:.0f} MB = input {size / 1e6:.0f} MB + {(own - size) / 1e6:.0f} MB "
                f"(the whole process: {run / 1e6:.0f} MB)",
                _met(own - size <= allowed * 1e6),
            )
        )
    return rows


def _compiled_section(report: Report, names: Sequence[str]) -> list[str]:
    """The compiled strategy against the other ways of running the same backtest on rust,
    and its compile times; nothing when the compiled mode was not measured."""
    rows = [
        n
        for n in names
        if report.case(n, "compiled", "rust") or report.case(n, "compiled", "python")
    ]
    if not rows and not report.strategy_compile:
        return []
    out = ["", "### Compiled strategies", ""]
    times = report.strategy_compile
    if times:
        out += [
            "Compile time of `SmaCrossCompiled`'s C entry (`quanta_ref.compiled_numba.entry_of`, "
            "a fresh process each, on a new numba cache directory): first call "
            f"{_duration(times['first call'])} (compiles, writes the cache), cached call "
            f"{_duration(times['cached call'])} (a second process loads it). Importing "
            f"`quanta_ref.compiled_numba` (numba's import included) took "
            f"{_duration(times['import'])} and {_duration(times['import, cached'])}, apart "
            "from those. The timed runs below start with the entry compiled.",
            "",
        ]
    if not rows:
        return out
    out += [
        "Medians, and symbol-bars per second (bars x symbols x runs / the median).",
        "",
        "| workload | rust compiled | rust callback | rust array | numba loop "
        "| compiled / array | compiled / numba | callback / compiled | python compiled |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name in rows:
        compiled = report.case(name, "compiled", "rust")
        callback, array = report.case(name, "callback", "rust"), report.case(name, "array", "rust")
        numba_case = report.case(name, "array", "numba")
        out.append(
            f"| {name} | {_median_speed(compiled)} | {_median_speed(callback)} "
            f"| {_median_speed(array)} | {_median_speed(numba_case)} "
            f"| {_ratio(compiled, array)} | {_ratio(compiled, numba_case)} "
            f"| {_ratio(callback, compiled)} "
            f"| {_median_speed(report.case(name, 'compiled', 'python'))} |"
        )
    out += [
        "",
        "compiled / array above 1: the compiled strategy is that many times slower than the "
        "array mode (compiled / numba: than the numba loop); callback / compiled: how many "
        "times faster it is than the Python `SmaCross` on the same engine.",
    ]
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _workload_tables(
    report: Report, names: Sequence[str], workloads: dict[str, Workload], native: bool
) -> list[str]:
    """The W1-W4 scenarios against their expected speed-ups, and every case's median."""
    out: list[str] = []
    out += [
        "",
        "### The four benchmark scenarios, measured against the expected speed-ups",
        "",
        "The expected figures are the design document's, for an event-driven Python engine "
        "and its Rust counterpart; here the Python engine is the reference in callback mode. "
        "Speed-ups are python callback / the rust run.",
        "",
        "| scenario | workload | expected: Python | expected: Rust | expected speed-up "
        "| python callback | rust callback | rust array | rust compiled | speed-up callback "
        "| speed-up array | speed-up compiled |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name in ("W1", "W4", "W3", "W2"):
        if name not in workloads:
            continue
        w = workloads[name]
        python = report.case(name, "callback", "python")
        rust_cb, rust_ar = report.case(name, "callback", "rust"), report.case(name, "array", "rust")
        rust_co = report.case(name, "compiled", "rust")
        expected_python, expected_rust, expected_ratio = w.expected
        out.append(
            f"| {w.scenario} | {name} | {expected_python} | {expected_rust} | {expected_ratio} "
            f"| {_median(python)} | {_median(rust_cb)} | {_median(rust_ar)} | {_median(rust_co)} "
            f"| {_ratio(python, rust_cb)} | {_ratio(python, rust_ar)} | {_ratio(python, rust_co)} |"
        )

    out += [
        "",
        "### Every workload x mode x backend (medians)",
        "",
        "| workload | mode | backend | median | best | rounds | symbol-bars/s "
        "| python / this | run peak memory |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name in names:
        for case in (c for c in report.cases if c.workload.name == name):
            python = report.case(name, case.mode, "python")
            speed = case.bar_count / case.timing.median
            label = case.backend
            if case.backend == "rust" and case.mode == "array" and not native:
                label += " (preliminary)"
            out.append(
                f"| {name} | {case.mode} | {label} | {_duration(case.timing.median)} "
                f"| {_duration(case.timing.best)} | {len(case.timing.times)} "
                f"| {speed:,.0f} | {_ratio(python, case)} "
                f"| {_mb(case.memory.run if case.memory else None)} |"
            )
    out += [
        "",
        "Workloads: "
        + "; ".join(f"{w.name} {w.title}" for w in workloads.values())
        + ". Checked after timing: "
        + "; ".join(f"{n}: {report.checks[n]}" for n in names if report.checks.get(n))
        + ".",
    ]
    return out


def _python_cell(case: SizeCase) -> str:
    """ "yes (7.3 s)": whether python ran the same backtest, and how long it took."""
    if case.same_as_python is None or case.python_seconds is None:
        return "not run"
    return f"{'yes' if case.same_as_python else 'no'} ({_duration(case.python_seconds)})"


def _limit_sections(report: Report) -> list[str]:
    """The tables of the runs at the limit that were measured: W5 by symbol count, the big
    grid, the cost per bar by length, and peak memory against the input."""
    out: list[str] = []
    if report.momentum:
        out += [
            "",
            "### W5: a momentum rotation over many symbols (target weights, rust)",
            "",
            "Every 21 bars, equal weights on the 50 symbols of highest 252-day momentum and "
            "0 on the others, NaN between; `engine.run_targets`, the weights (numpy) timed "
            "with the run. Each symbol count is the first columns of the same seeded panel. "
            "Orders, fills and rejected orders are those of one run; *python = rust*: the "
            "reference engine ran the same backtest (equity bit for bit, fill count), once.",
            "",
            "| symbols | bars | median | best | rounds | ns per symbol-bar | orders | fills "
            "| rejected | python = rust |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
        ]
        for case in report.momentum:
            orders = "-" if case.orders is None else f"{case.orders:,}"
            out.append(
                f"| {case.n_symbols:,} | {case.n_bars:,} | {_duration(case.timing.median)} "
                f"| {_duration(case.timing.best)} | {len(case.timing.times)} "
                f"| {case.ns_per_symbol_bar():.1f} | {orders} | {case.fills:,} "
                f"| {case.rejected:,} | {_python_cell(case)} |"
            )
    if report.big_grid:
        out += [
            "",
            f"### A {report.big_grid_size:,}-combination grid on the W1 data (rust, "
            f"{GRID_JOBS} cores)",
            "",
            "SMA(fast)/SMA(slow) crossovers, `make_job` on the grid's `IndicatorCache` "
            '(`cache.panel("sma", p)`, `cache.crossed_above/below`). *optimize*: '
            '`engine.optimize(bars, make_job, grid, metric="sharpe_ratio", n_jobs=2)`; '
            "*run_many*: the same jobs, built from one cache inside the timed region, "
            "through `engine.run_many(bars, jobs, n_jobs=2)` (no ranking). Memory: the run "
            "once more in a fresh process.",
            "",
            "| through | median | best | rounds | per combination | run peak memory "
            "| run peak - data |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        for how, timing in report.big_grid.items():
            memory = report.big_grid_memory.get(how)
            run = memory.run if memory else None
            growth = None if memory is None or memory.run is None else memory.run - memory.data
            per = timing.median / max(report.big_grid_size, 1)
            out.append(
                f"| {how} | {_duration(timing.median)} | {_duration(timing.best)} "
                f"| {len(timing.times)} | {_duration(per)} | {_mb(run)} | {_mb(growth)} |"
            )
        if report.big_grid_check:
            out += ["", f"Checked after timing: {report.big_grid_check}."]
    if report.lengths:
        out += [
            "",
            "### Cost per bar against the length of the data (W2 crossover, array mode, rust)",
            "",
            "One symbol of one-minute bars (390 a day), SMA(10)/SMA(30). *Whole run*: "
            "indicators, signals and `engine.run_signals`; *run_signals alone*: the engine's "
            "call on signals built beforehand. Each length's data is built once.",
            "",
            "| bars | whole run | ns per bar | run_signals alone | ns per bar | rounds | fills "
            "| rejected | python = rust |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|---|",
        ]
        for case in report.lengths:
            engine = case.engine_timing or case.timing
            out.append(
                f"| {case.n_bars:,} | {_duration(case.timing.median)} "
                f"| {case.ns_per_symbol_bar():.1f} | {_duration(engine.median)} "
                f"| {case.ns_per_symbol_bar(engine):.1f} | {len(case.timing.times)} "
                f"| {case.fills:,} | {case.rejected:,} | {_python_cell(case)} |"
            )
    against = _memory_against_input(report)
    if against:
        out += [
            "",
            "### Peak memory against the input data",
            "",
            "*Input*: the bytes of the bars' arrays (timestamps and OHLCV) plus the job's "
            "arrays (W2: the entry and exit signals; W5: the weights). *Run peak*: the "
            "resident high-water mark of a fresh process over the run (interpreter and "
            "libraries included, "
            f"{_mb(against[0][2].baseline)} after the imports). *Run peak - imports*: "
            "what the run holds at its peak, its input included (the process's resident "
            "memory after the imports, before the data is built, taken off); the targets "
            "hold this against the input.",
            "",
            "| run | input data | run peak | run peak - imports | run peak - imports - input "
            "| allowed above the input |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for name, size, memory, allowed in against:
            run = (memory.peak if memory.run is None else memory.run) * 1024
            own = run - memory.baseline * 1024
            out.append(
                f"| {name} | {size / 1e6:.0f} MB | {run / 1e6:.0f} MB | {own / 1e6:.0f} MB "
                f"| {(own - size) / 1e6:+.0f} MB | {allowed:.0f} MB |"
            )
    return out


def format_report(report: Report) -> str:
    """The report as markdown: machine, the four scenarios against their expected speed-ups,
    every median, numba, memory, targets."""
    out: list[str] = []
    native = rust_array_is_native()
    out += report.machine
    if not native:
        out.append(
            "- **rust array mode is preliminary in this build**: the native array "
            "driver has not landed, so `run_signals`/`run_many` on rust run the "
            "reference's `SignalStrategy` (Python per bar) on the Rust callback engine"
        )
    if report.quick:
        out.append("- `--quick`: at most 3 rounds and about 1 s per case")
    names = list(dict.fromkeys(c.workload.name for c in report.cases))
    workloads = {c.workload.name: c.workload for c in report.cases}

    if report.cases:
        out += _workload_tables(report, names, workloads, native)

    if report.numba:
        out += [
            "",
            "### numba: the loop a user would otherwise write",
            "",
            "Compile time (first calls, before any timing): "
            + ", ".join(f"`{k}` {_duration(v)}" for k, v in report.numba_compile.items())
            + ".",
            "",
            "| workload | numba median | rust array | rust array / numba "
            "| equity identical to quanta | same fill count "
            "| final equity, numba | final equity, quanta | difference "
            "| largest difference at any bar |",
            "|---|--:|--:|--:|---|---|--:|--:|--:|--:|",
        ]
        for name, info in report.numba.items():
            numba_case = report.case(name, "array", "numba")
            rust = report.case(name, "array", "rust")
            which = f" (run {info['worst_run']})" if info["runs"] > 1 else ""
            difference = info["final_numba"] - info["final_quanta"]
            relative = difference / info["final_quanta"]
            out.append(
                f"| {name} | {_median(numba_case)} "
                f"| {_median(rust)} | {_ratio(rust, numba_case)} "
                f"| {'yes' if info['identical'] else 'no'} "
                f"| {'yes' if info['same_fills'] else 'no'} "
                f"| {info['final_numba']:,.2f}{which} | {info['final_quanta']:,.2f} "
                f"| {difference:+,.2f} ({relative:+.1e}) | {info['largest']:.1e} |"
            )
        out.append("")
        out.append(
            "rust array / numba above 1: the numba loop is that many times faster. "
            "Where there are several runs (W4), the final equities shown are those of "
            "the run that differs most."
        )

    out += _compiled_section(report, names)

    if any(c.memory for c in report.cases):
        out += [
            "",
            "### Resident memory of the whole process (a fresh process per case)",
            "",
            "Baseline after the imports (interpreter, numpy, quanta_ref, quanta_fast): "
            f"{_mb(report.baseline_kib)}. *Data*: resident after building the bars. "
            "*Run peak*: the peak from the start of the run to its end (the high-water mark "
            "is reset before the run; data and imports included). *Life-time peak*: the "
            "high-water mark over the whole process, which on W2 is set while the synthetic "
            "generator builds the data (its temporaries), not by the run. The numba cases "
            "import numba and compile the kernels before building the data, and the compiled "
            "mode its strategy, so their *data* column includes numba's compiler.",
            "",
            "| workload | mode | backend | data | run peak | run peak - data | life-time peak |",
            "|---|---|---|--:|--:|--:|--:|",
        ]
        for case in report.cases:
            if case.memory:
                m = case.memory
                growth = None if m.run is None else m.run - m.data
                out.append(
                    f"| {case.workload.name} | {case.mode} | {case.backend} "
                    f"| {_mb(m.data)} | {_mb(m.run)} | {_mb(growth)} "
                    f"| {_mb(m.peak)} |"
                )

    out += _limit_sections(report)
    out += ["", "### Targets", "", "| target | measured | met? |", "|---|---|---|"]
    out += [f"| {t} | {m} | {met} |" for t, m, met in _targets(report)]
    out += ["", f"- load average after the runs: {report.load_after}"]
    return "\n".join(out)
