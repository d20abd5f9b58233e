"""Time the benchmark workloads and print the markdown tables of docs/benchmarks.md.

Usage (from the repository root)::

    python benchmarks/report.py

Same workloads, rounds and warm-ups as the pytest-benchmark suite (see `workloads.py`), timed
with `time.perf_counter`; every figure is a median. A second table splits the time of the
Rust runs into the parts no backend can speed up (the strategy's own Python, the metrics) and
the engine. Takes about two minutes; the machine should be otherwise idle.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from quanta_cli.bench import machine
from quanta_fast import _glue, _quanta_fast
from quanta_ref import Engine
from quanta_ref.api import CALLBACKS, BacktestResult, Strategy, strategy_callbacks
from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.examples import SmaCross
from quanta_ref.market import RunMarket
from quanta_ref.metrics import compute_stats
from workloads import DATA, ENGINE_WORKLOADS, PassOnBar, Silent, bar_events, strategy_alone


def median_seconds(function: Callable[[], Any], rounds: int, warmup: int = 0) -> float:
    """Median wall time of `rounds` calls of `function`, after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stats_only(bars: Bars, result: BacktestResult) -> Callable[[], Any]:
    """The reference's metrics step (`compute_stats`, pure Python) on a run's equity curve.
    The python backend pays it on every run; the rust backend computes its stats natively."""
    cash = EngineConfig().initial_cash
    pnls = [t.pnl for t in result.trades]

    def run() -> Any:
        return compute_stats(
            bars.timestamps,
            result.equity,
            cash,
            trade_pnls=pnls,
            traded_value=0.0,
            bars_in_market=0,
        )

    return run


def native_loop(bars: Bars, strategy: Strategy) -> Callable[[], Any]:
    """The native bar loop alone: what `RustBackend.run` calls before the metrics and the
    result objects. Private API, used for this breakdown only."""
    config = EngineConfig.build()
    callbacks = [strategy_callbacks(strategy)[name] for name in CALLBACKS]

    def run() -> Any:
        return _quanta_fast.Engine(config, _glue).run(bars, RunMarket(), None, *callbacks)

    return run


# (label, key, shown per bar) of the breakdown table.
_ROWS = (
    ("SMA: whole `Engine.run`", "sma", False),
    ("SMA: native loop, strategy callbacks included", "sma loop", False),
    ("SMA: the strategy's own Python, no engine behind it", "alone", False),
    ("SMA: engine and calls into Python (loop - strategy alone)", "sma engine", False),
    ("SMA: after the loop: result objects, metrics (whole - loop)", "sma after", False),
    ("SMA: `quanta_ref.metrics.compute_stats` alone", "sma stats", False),
    ("SMA: ratio ceiling, free engine, Python metrics", "ceiling python metrics", False),
    ("SMA: ratio ceiling, free engine, free metrics", "ceiling", False),
    ("no-op: whole `Engine.run`", "noop", True),
    ("no-op: native loop, nothing called (the engine overhead)", "noop loop", True),
    ("no-op: native loop, `on_bar` = `pass`", "pass loop", True),
    ("no-op: one Python callback (pass loop - noop loop)", "callback", True),
    ("no-op: `quanta_ref.metrics.compute_stats` alone", "noop stats", True),
)


def breakdown(data: str, bars: Bars, medians: dict[tuple[str, str], float]) -> dict[str, float]:
    """The parts of the rust runs on one data set, in seconds (see `_ROWS`)."""
    name = {w.strategy: w.name for w in ENGINE_WORKLOADS if w.data == data}
    rounds = next(w.rounds["rust"] for w in ENGINE_WORKLOADS if w.data == data)
    sma_result = Engine(backend="rust").run(bars, SmaCross())
    noop_result = Engine(backend="rust").run(bars, Silent())
    parts = {
        "sma": medians[name[SmaCross], "rust"],
        "noop": medians[name[Silent], "rust"],
        "sma loop": median_seconds(native_loop(bars, SmaCross()), rounds, 1),
        "noop loop": median_seconds(native_loop(bars, Silent()), rounds, 1),
        "pass loop": median_seconds(native_loop(bars, PassOnBar()), rounds, 1),
        "sma stats": median_seconds(stats_only(bars, sma_result), rounds, 1),
        "noop stats": median_seconds(stats_only(bars, noop_result), rounds, 1),
    }
    events = bar_events(bars)
    parts["alone"] = median_seconds(lambda: strategy_alone(events, bars.symbols), rounds, 1)
    parts["sma engine"] = parts["sma loop"] - parts["alone"]
    parts["sma after"] = parts["sma"] - parts["sma loop"]
    parts["callback"] = parts["pass loop"] - parts["noop loop"]
    python = medians[name[SmaCross], "python"]
    parts["ceiling python metrics"] = python / (parts["alone"] + parts["sma stats"])
    parts["ceiling"] = python / parts["alone"]
    return parts


def main() -> None:
    bars = {name: build() for name, build in DATA.items()}
    medians: dict[tuple[str, str], float] = {}
    results: dict[tuple[str, str], BacktestResult] = {}
    for w in ENGINE_WORKLOADS:
        for backend in ("python", "rust"):
            data = bars[w.data]
            results[w.name, backend] = w.run(data, backend)
            medians[w.name, backend] = median_seconds(
                lambda: w.run(data, backend), w.rounds[backend], w.warmup[backend]
            )
        same = np.array_equal(results[w.name, "python"].equity, results[w.name, "rust"].equity)
        assert same, f"{w.name}: the backends ran different backtests"

    print("\n".join(machine()))
    print()
    print("| workload | bars | python median | rust median | ratio | python µs/bar | rust µs/bar |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for w in ENGINE_WORKLOADS:
        n = bars[w.data].n_bars
        py, rs = medians[w.name, "python"], medians[w.name, "rust"]
        print(
            f"| {w.name} | {n:,} | {_seconds(py)} | {_seconds(rs)} | {py / rs:.1f}x "
            f"| {py / n * 1e6:.2f} | {rs / n * 1e6:.2f} |"
        )

    print()
    print("Where the time of a rust run goes (medians; the differences are computed):")
    print()
    parts = {data: breakdown(data, bars[data], medians) for data in DATA}
    print("| | " + " | ".join(f"{d} ({bars[d].n_bars:,} bars)" for d in DATA) + " |")
    print("|---|" + "--:|" * len(DATA))
    for label, key, per_bar in _ROWS:
        cells = []
        for data in DATA:
            value = parts[data][key]
            if per_bar:
                cells.append(f"{value / bars[data].n_bars * 1e6:.3f} µs/bar")
            elif key.startswith("ceiling"):
                cells.append(f"{value:.1f}x")
            else:
                cells.append(_seconds(value))
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()
    print(f"- load average after the runs: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _seconds(value: float) -> str:
    return f"{value * 1e3:.1f} ms" if value < 1.0 else f"{value:.2f} s"


if __name__ == "__main__":
    main()
