"""Where the resident memory of a W2 run on the rust backend goes, step by step.

Usage (from the repository root)::

    python benchmarks/memory_breakdown.py

Builds the W2 data (491,400 one-minute bars), then replays what `RustBackend.run` does for
the callback run (`SmaCross`) one step at a time through the private native API, as
`report.py` does for time, printing the process's resident memory (VmRSS) and its high-water
mark since the run started (VmHWM, reset before the run) after each step. Linux only (reads
/proc/self). Each figure is for the whole process, in decimal MB.
"""

from __future__ import annotations

import gc

import numpy as np

from quanta_cli.bench import _proc_status, _release_free_memory, _reset_peak
from quanta_cli.workloads import SETTINGS, minute_bars
from quanta_fast import _glue, _quanta_fast
from quanta_ref.api import CALLBACKS, strategy_callbacks
from quanta_ref.config import EngineConfig
from quanta_ref.examples import SmaCross
from quanta_ref.market import RunMarket


def show(step: str, before: list[int]) -> None:
    rss, peak = _proc_status("VmRSS") or 0, _proc_status("VmHWM") or 0
    growth = rss - before[0] if before else 0
    print(
        f"| {step} | {rss * 1024 / 1e6:.1f} | {growth * 1024 / 1e6:+.1f} "
        f"| {peak * 1024 / 1e6:.1f} |"
    )
    before[:] = [rss]


def main() -> None:
    last: list[int] = []
    print("| step | resident MB | change MB | high-water mark MB (reset when the run starts) |")
    print("|---|--:|--:|--:|")
    show("interpreter, numpy, quanta imported", last)
    bars = minute_bars()
    gc.collect()
    _release_free_memory()
    size = sum(
        getattr(bars, f).nbytes for f in ("timestamps", "open", "high", "low", "close", "volume")
    )
    show(f"W2 bars built ({size / 1e6:.1f} MB of arrays)", last)
    if not _reset_peak():
        print("(cannot reset the high-water mark here: the peak column is the life-time peak)")
    strategy = SmaCross()
    engine = _quanta_fast.Engine(EngineConfig.build(**SETTINGS), _glue)
    ctx = engine.run(
        bars, RunMarket(), None, *[strategy_callbacks(strategy)[name] for name in CALLBACKS]
    )
    show("native loop (equity, cash, orders, fills kept in Rust)", last)
    equity, cash = ctx._take_equity(), ctx._take_cash()
    show(f"equity and cash moved out to numpy ({(equity.nbytes + cash.nbytes) / 1e6:.1f} MB)", last)
    stats = ctx._stats(bars.timestamps, equity)
    show(f"native metrics ({len(stats)} stats)", last)
    fills = ctx._fills()
    show(f"{len(fills):,} Fill objects", last)
    orders = ctx._orders()
    show(f"{len(orders):,} Order objects", last)
    trades = ctx._trades()
    show(f"{len(trades):,} Trade objects", last)
    timestamps = np.array(bars.timestamps)
    show(f"the result's copy of the timestamps ({timestamps.nbytes / 1e6:.1f} MB)", last)
    del ctx, engine
    gc.collect()
    show("native engine and context dropped", last)


if __name__ == "__main__":
    main()
