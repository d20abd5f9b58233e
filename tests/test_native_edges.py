"""Edges of native work, on both backends: boolean arrays read as numpy reads them, unaligned
arrays, the bound on `n_jobs`, and Ctrl-C or other Python threads during long native work
(docs/semantics.md sections 15 and 16).

The interrupt tests do not race a timer against the run: a watcher thread waits until the
main thread is inside the long call (seen in its Python stack), then sends it SIGINT, as
Ctrl-C does. They check that the call raises KeyboardInterrupt instead of returning, and the
latency from the signal to the exception, bounded generously (1 s) for a loaded machine and
printed (`pytest -s`); unloaded it is about 20 to 50 ms.
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import CodeType
from typing import Any

import numpy as np
import pytest

from quanta_ref import Engine, Signals, Strategy, backends
from quanta_ref.bars import Bars
from quanta_ref.data import synthetic
from quanta_ref.errors import ConfigError

#: Signal to exception, at most, on a busy machine.
LATENCY_BOUND = 1.0


def unaligned(values: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of `values` that is not aligned: a view of a byte buffer at
    offset 1."""
    buffer = bytearray(values.nbytes + 1)
    view = np.frombuffer(buffer, dtype=values.dtype, offset=1, count=values.size)
    view = view.reshape(values.shape)
    view[...] = values
    assert view.flags.c_contiguous and not view.flags.aligned
    return view


def fingerprint(result: Any) -> tuple[Any, ...]:
    fills = [(f.timestamp, f.symbol, f.side, f.quantity, f.price) for f in result.fills]
    return tuple(fills), result.equity.tobytes(), result.cash.tobytes()


# =========================================================== booleans as numpy reads them
def odd_bools(rng: np.random.Generator, shape: tuple[int, int], p: float) -> np.ndarray:
    """A bool array whose True bytes are 1 to 255 (a uint8 buffer viewed as bool)."""
    raw = np.where(rng.random(shape) < p, rng.integers(1, 256, size=shape), 0)
    flags = raw.astype(np.uint8).view(bool)
    assert (flags.view(np.uint8) > 1).any()
    return flags


def test_signal_bytes_other_than_0_and_1_read_as_true_as_numpy_reads_them(backend: str) -> None:
    bars = synthetic(300, n_symbols=3, seed=7)
    rng = np.random.default_rng(3)
    shape = (bars.n_bars, bars.n_symbols)
    arrays = [odd_bools(rng, shape, 0.05) for _ in range(4)]
    engine = Engine(backend=backend, allow_short=True)
    odd = engine.run_signals(
        bars, arrays[0], arrays[1], short_entries=arrays[2], short_exits=arrays[3]
    )
    # numpy's own reading of the same arrays: `!= 0` gives bytes 0 and 1 only.
    plain = [a.view(np.uint8) != 0 for a in arrays]
    expected = engine.run_signals(
        bars, plain[0], plain[1], short_entries=plain[2], short_exits=plain[3]
    )
    assert len(expected.fills) > 10
    assert fingerprint(odd) == fingerprint(expected)


def test_odd_signal_bytes_give_the_same_trades_on_both_backends() -> None:
    pytest.importorskip("quanta_fast._quanta_fast")
    bars = synthetic(200, n_symbols=2, seed=1)
    rng = np.random.default_rng(0)
    shape = (bars.n_bars, bars.n_symbols)
    entries, exits = odd_bools(rng, shape, 0.1), odd_bools(rng, shape, 0.1)
    runs = [Engine(backend=b).run_signals(bars, entries, exits) for b in ("python", "rust")]
    assert fingerprint(runs[0]) == fingerprint(runs[1])


# ======================================================================== unaligned arrays
def test_unaligned_weights_are_read_as_aligned_ones(backend: str) -> None:
    bars = synthetic(200, n_symbols=2, seed=4)
    weights = np.where(np.arange(bars.n_bars)[:, None] % 20 == 0, 0.4, np.nan) * np.ones(2)
    engine = Engine(backend=backend)
    result = engine.run_targets(bars, unaligned(weights))
    assert len(result.fills) > 0
    assert fingerprint(result) == fingerprint(engine.run_targets(bars, weights))


@pytest.mark.parametrize(
    "name, arguments",
    [
        ("sma", (5,)),
        ("wma", (5,)),
        ("macd", (3, 6, 2)),
        ("bollinger_bands", (5, 2.0)),
    ],
)
@pytest.mark.parametrize("shape", [(120,), (60, 3)])
def test_unaligned_indicator_input_is_read_as_an_aligned_one(
    backend: str, name: str, arguments: tuple[Any, ...], shape: tuple[int, ...]
) -> None:
    module = backends.load(backend).indicators
    values = 100.0 + np.cumsum(np.random.default_rng(2).normal(size=shape), axis=0)
    got = getattr(module, name)(unaligned(values), *arguments)
    expected = getattr(module, name)(values, *arguments)
    np.testing.assert_array_equal(got, expected)


def test_unaligned_bar_fields_and_crossings_are_read_as_aligned_ones(backend: str) -> None:
    module = backends.load(backend).indicators
    bars = synthetic(80, n_symbols=2, seed=5)
    fields = (bars.high, bars.low, bars.close)
    np.testing.assert_array_equal(
        module.atr(*(unaligned(f) for f in fields), 5), module.atr(*fields, 5)
    )
    fast, slow = module.sma(bars.close, 3), module.sma(bars.close, 8)
    np.testing.assert_array_equal(
        module.crossed_above(unaligned(fast), unaligned(slow)), module.crossed_above(fast, slow)
    )


# ========================================================================= n_jobs bound
def small_jobs(bars: Bars) -> list[Signals]:
    rng = np.random.default_rng(9)
    shape = (bars.n_bars, bars.n_symbols)
    return [Signals(rng.random(shape) < 0.05, rng.random(shape) < 0.05) for _ in range(6)]


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.parametrize("n_jobs", [10_000, 2**70])
def test_n_jobs_above_the_cpu_count_runs_on_at_most_one_thread_per_cpu(
    backend: str, n_jobs: int
) -> None:
    bars = synthetic(20_000 if backend == "rust" else 1_000, n_symbols=4, seed=2, freq="1min")
    jobs = small_jobs(bars)
    engine = Engine(backend=backend)
    expected = [fingerprint(r) for r in engine.run_many(bars, jobs, n_jobs=1)]
    if not os.path.isdir("/proc/self/task"):
        got = engine.run_many(bars, jobs, n_jobs=n_jobs)
        assert [fingerprint(r) for r in got] == expected
        return
    before, most = os_threads(), [0]
    done = threading.Event()

    def count() -> None:
        while not done.is_set():
            most[0] = max(most[0], os_threads())
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        got = engine.run_many(bars, jobs, n_jobs=n_jobs)
    finally:
        done.set()
        counter.join()
    assert [fingerprint(r) for r in got] == expected
    # This process's threads, the counter, a waiting thread and one worker per CPU at most.
    assert most[0] <= before + 2 + (os.cpu_count() or 1), (before, most[0])


@pytest.mark.parametrize("n_jobs", [0, -1, 1.5, True, "2", 2.0])
def test_a_bad_n_jobs_is_the_same_config_error_on_both_backends(n_jobs: Any) -> None:
    pytest.importorskip("quanta_fast._quanta_fast")
    bars = synthetic(30, seed=1)
    messages = []
    for backend in ("python", "rust"):
        with pytest.raises(ConfigError, match="n_jobs") as info:
            Engine(backend=backend).run_many(bars, small_jobs(bars)[:1], n_jobs=n_jobs)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# ================================================================ Ctrl-C and other threads
def interrupt_inside(call: Callable[[], Any], inside: Callable[[CodeType], bool]) -> float:
    """Run `call()` on this, the main, thread; once its Python stack shows a frame whose code
    `inside` accepts (the long work has begun), and 50 ms later, send it SIGINT. Assert that
    the call raises KeyboardInterrupt; return the seconds from the signal to the exception."""
    main = threading.main_thread()
    assert threading.current_thread() is main, "signals reach the main thread only"
    assert main.ident is not None
    target = main.ident
    sent: list[float] = []
    finished = threading.Event()

    def watch() -> None:
        while not finished.is_set():
            frame = sys._current_frames().get(target)
            while frame is not None and not inside(frame.f_code):
                frame = frame.f_back
            if frame is not None:
                break
            time.sleep(0.002)
        if finished.wait(0.05):
            return
        sent.append(time.perf_counter())
        if hasattr(signal, "pthread_kill"):
            signal.pthread_kill(target, signal.SIGINT)  # what Ctrl-C in a terminal does
        else:
            _thread.interrupt_main()  # Windows: the same handler, without a real signal

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
        caught = time.perf_counter()
    finally:
        finished.set()
        watcher.join()
    assert sent, "the call ended before the signal was sent"
    return caught - sent[0]


#: Where the backends run: the native calls of the Rust backend, the reference's loops.
BACKEND_FILES = ("quanta_fast/engine.py", "quanta_ref/api.py", "quanta_ref/engine.py")


def in_backend(name: str) -> Callable[[CodeType], bool]:
    """Inside the backend's method `name` (`run_jobs`, `run`)."""

    def inside(code: CodeType) -> bool:
        path = code.co_filename.replace(os.sep, "/")
        return code.co_name == name and path.endswith(BACKEND_FILES)

    return inside


def in_indicators(code: CodeType) -> bool:
    return os.path.basename(code.co_filename) == "indicators.py"


def report(what: str, backend: str, latency: float) -> None:
    print(f"\n{what} [{backend}]: interrupted {latency * 1e3:.1f} ms after SIGINT")
    assert latency < LATENCY_BOUND, (what, latency)


@pytest.fixture(scope="module")
def long_bars() -> Bars:
    """Bars over which a job trading every bar runs about a second natively."""
    return synthetic(n_bars=300_000, n_symbols=10, seed=2, freq="1min")


def busy_signals(bars: Bars) -> Signals:
    entries = np.zeros((bars.n_bars, bars.n_symbols), dtype=bool)
    entries[::2] = True
    return Signals(entries, ~entries, size=0.1, stop_loss=0.5, take_profit=0.5)


def test_ctrl_c_stops_run_signals(backend: str, long_bars: Bars) -> None:
    job = busy_signals(long_bars)
    engine = Engine(backend=backend)
    latency = interrupt_inside(
        lambda: engine.run_signals(
            long_bars, job.entries, job.exits, size=0.1, stop_loss=0.5, take_profit=0.5
        ),
        in_backend("run_jobs"),
    )
    report("run_signals", backend, latency)


def test_ctrl_c_stops_run_targets(backend: str, long_bars: Bars) -> None:
    weights = np.full((long_bars.n_bars, long_bars.n_symbols), 0.09)
    engine = Engine(backend=backend)
    latency = interrupt_inside(
        lambda: engine.run_targets(long_bars, weights), in_backend("run_jobs")
    )
    report("run_targets", backend, latency)


def test_ctrl_c_stops_run_many_on_two_threads(backend: str, long_bars: Bars) -> None:
    jobs = [busy_signals(long_bars)] * 4
    engine = Engine(backend=backend)
    latency = interrupt_inside(
        lambda: engine.run_many(long_bars, jobs, n_jobs=2), in_backend("run_jobs")
    )
    report("run_many(n_jobs=2)", backend, latency)


def test_ctrl_c_stops_optimize(backend: str, long_bars: Bars) -> None:
    def every_bar(cache: Any, size: float) -> Signals:
        job = busy_signals(cache.bars)
        return Signals(job.entries, job.exits, size=size, stop_loss=0.5, take_profit=0.5)

    engine = Engine(backend=backend)
    grid = {"size": [0.05, 0.1, 0.15, 0.2]}
    latency = interrupt_inside(
        lambda: engine.optimize(long_bars, every_bar, grid), in_backend("run_jobs")
    )
    report("optimize", backend, latency)


def test_ctrl_c_stops_a_large_indicator_call(backend: str) -> None:
    module = backends.load(backend).indicators
    values = np.random.default_rng(1).random(100_000)  # a window of 20,000 at each value
    latency = interrupt_inside(lambda: module.wma(values, 20_000), in_indicators)
    report("wma", backend, latency)


class FarLimits(Strategy):
    """Thousands of limit orders that never fill: every bar matches all of them, with no
    Python callback per bar. `started` and `ended` tell whether the run got past `on_start`
    and to `on_end`."""

    started = ended = False

    def on_start(self, ctx: Any) -> None:
        for _ in range(3000):
            ctx.submit_order("S0", "buy", 1, "limit", limit_price=0.01)
        self.started = True

    def on_end(self, ctx: Any) -> None:
        self.ended = True


class FarLimitsWatchingOrders(FarLimits):
    """The same, with an `on_order` that is never called after the start: the loop holds the
    GIL, its rows are heavy, and no Python code runs between them."""

    def on_order(self, ctx: Any, order: Any) -> None:
        pass


class CheapOnBar(Strategy):
    """An `on_bar` that does almost nothing, at every bar."""

    seen = 0
    ended = False

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.seen += 1

    def on_end(self, ctx: Any) -> None:
        self.ended = True


@pytest.mark.parametrize("strategy", [FarLimits, FarLimitsWatchingOrders])
def test_ctrl_c_stops_a_strategy_run_without_per_bar_callbacks(
    backend: str, strategy: type[FarLimits]
) -> None:
    bars = synthetic(n_bars=60_000, seed=2, freq="1min")  # seconds uninterrupted
    engine, instance = Engine(backend=backend), strategy()
    in_run = in_backend("run")
    latency = interrupt_inside(
        lambda: engine.run(bars, instance), lambda code: instance.started and in_run(code)
    )
    report(f"run({strategy.__name__}) in its rows", backend, latency)
    assert not instance.ended  # the run stopped where it was: no on_end


def test_ctrl_c_stops_a_strategy_run_with_a_cheap_on_bar(backend: str, long_bars: Bars) -> None:
    engine, instance = Engine(backend=backend), CheapOnBar()
    latency = interrupt_inside(lambda: engine.run(long_bars, instance), in_backend("run"))
    report("run(CheapOnBar)", backend, latency)
    assert not instance.ended
    assert instance.seen < long_bars.n_bars * long_bars.n_symbols


def progress_during(call: Callable[[], Any]) -> tuple[int, float, float]:
    """Run `call()` on a thread while this one counts loop turns: (turns, longest gap between
    two turns, the call's duration)."""
    elapsed: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        call()
        elapsed.append(time.perf_counter() - start)

    worker = threading.Thread(target=work)
    turns, longest, last = 0, 0.0, time.perf_counter()
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
        turns += 1
    worker.join()
    return turns, longest, elapsed[0]


def test_other_python_threads_run_during_a_native_run_signals(backend: str) -> None:
    bars = synthetic(60_000 if backend == "rust" else 600, n_symbols=10, seed=2)
    job = busy_signals(bars)
    engine = Engine(backend=backend)
    turns, longest, elapsed = progress_during(lambda: engine.run_many(bars, [job]))
    assert elapsed > 0.1, elapsed
    assert longest < elapsed / 2, (longest, elapsed)
    assert turns > 1000, turns


@pytest.mark.parametrize("strategy", [FarLimits, FarLimitsWatchingOrders])
def test_other_python_threads_run_during_a_strategy_run_without_per_bar_callbacks(
    backend: str, strategy: type[FarLimits]
) -> None:
    bars = synthetic(n_bars=20_000 if backend == "rust" else 60, seed=2, freq="1min")
    turns, longest, elapsed = progress_during(lambda: Engine(backend=backend).run(bars, strategy()))
    assert elapsed > 0.1, elapsed
    assert longest < elapsed / 2, (longest, elapsed)
    assert turns > 1000, turns


def test_other_python_threads_run_during_a_strategy_run_with_a_cheap_on_bar(
    backend: str, long_bars: Bars
) -> None:
    bars = (
        long_bars if backend == "rust" else long_bars.select(["S0", "S1"]).between(end="2000-01-12")
    )
    turns, longest, elapsed = progress_during(
        lambda: Engine(backend=backend).run(bars, CheapOnBar())
    )
    assert elapsed > 0.1, elapsed
    assert longest < elapsed / 2, (longest, elapsed)
    assert turns > 1000, turns


def test_other_python_threads_run_during_a_large_indicator_call(backend: str) -> None:
    module = backends.load(backend).indicators
    n_values, period = (40_000, 10_000) if backend == "rust" else (3_000, 1_000)
    values = np.random.default_rng(1).random(n_values)
    turns, longest, elapsed = progress_during(lambda: module.wma(values, period))
    assert elapsed > 0.1, elapsed
    assert longest < elapsed / 2, (longest, elapsed)
    assert turns > 1000, turns


def test_an_interrupted_run_leaves_the_engine_usable(backend: str, long_bars: Bars) -> None:
    engine = Engine(backend=backend)
    job = busy_signals(long_bars)
    interrupt_inside(lambda: engine.run_many(long_bars, [job]), in_backend("run_jobs"))
    bars = synthetic(200, n_symbols=2, seed=3)
    small = small_jobs(bars)
    assert [fingerprint(r) for r in engine.run_many(bars, small)] == [
        fingerprint(r) for r in Engine(backend="python").run_many(bars, small)
    ]
