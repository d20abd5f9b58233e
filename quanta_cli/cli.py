"""The `quanta` command: `quanta demo` runs an SMA crossover on the embedded sample data;
`quanta bench` times the benchmark workloads and prints the tables of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
import time

from quanta_cli import bench
from quanta_cli.workloads import BACKENDS, FULL, MODES, TINY, make_workloads, rust_available
from quanta_ref import data
from quanta_ref.errors import QuantaError
from quanta_ref.examples import SmaCross
from quanta_ref.front import Engine


def _demo(args: argparse.Namespace) -> int:
    bars = data.load_sample(args.symbol)
    engine = Engine(
        backend=args.backend, initial_cash=1_000_000.0, commission_rate=0.0003, fill_at="next_open"
    )
    strategy = SmaCross(fast=args.fast, slow=args.slow)
    started = time.perf_counter()
    result = engine.run(bars, strategy)
    elapsed = time.perf_counter() - started
    first, last = (
        str(bars.timestamps[i].astype("datetime64[ns]").astype("datetime64[D]")) for i in (0, -1)
    )
    print(
        f"quanta demo: SMA({args.fast})/SMA({args.slow}) crossover, long only, all in, "
        f"on {args.symbol} daily bars {first} .. {last} (adjusted, {bars.n_bars} bars)"
    )
    print(
        f"backend={engine.backend}  initial_cash=1,000,000  commission=0.03%  fills at next open\n"
    )
    print(result.summary())
    print(
        f"\n{len(result.fills)} fills, {len(result.trades)} closed trades; "
        f"run time {elapsed * 1e3:.1f} ms ({bars.n_bars / elapsed:,.0f} bars/s)"
    )
    if args.report:
        title = f"SMA({args.fast})/SMA({args.slow}) crossover on {args.symbol}"
        print(f"report: {result.report(args.report, title=title)}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.tiny:
        sizes = TINY
    else:
        sizes = FULL
    workloads = [w for w in make_workloads(sizes) if not args.workload or w.name in args.workload]
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    if "rust" in backends and not rust_available():
        if args.backend == "rust":
            print("quanta: error: the Rust backend is not built", file=sys.stderr)
            return 2
        backends = ("python",)
        print("quanta bench: the Rust backend is not built; timing python only", file=sys.stderr)
    modes = MODES if args.mode == "both" else (args.mode,)

    def log(line: str) -> None:
        print(f"  {line}", file=sys.stderr, flush=True)

    print(
        f"quanta bench: {', '.join(w.name for w in workloads)}; modes {', '.join(modes)}; "
        f"backends {', '.join(backends)}{'; quick' if args.quick else ''}",
        file=sys.stderr,
        flush=True,
    )
    report = bench.run_report(
        workloads,
        backends,
        modes,
        quick=args.quick,
        memory=not args.no_memory,
        numba=not args.no_numba,
        sizes=sizes,
        log=log,
    )
    print(bench.format_report(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `quanta` console script."""
    parser = argparse.ArgumentParser(prog="quanta", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="SMA crossover on the embedded sample data")
    demo.add_argument("--symbol", default="AAPL", help="AAPL, GOOG, IBM or MSFT")
    demo.add_argument("--fast", type=int, default=10)
    demo.add_argument("--slow", type=int, default=30)
    demo.add_argument(
        "--backend",
        default="auto",
        choices=["python", "rust", "auto"],
        help="auto (default): rust when the extension is built, else python",
    )
    demo.add_argument(
        "--report",
        metavar="PATH",
        help="also write the run's HTML report there (needs plotly: pip install quanta[plot])",
    )
    bench_command = commands.add_parser(
        "bench",
        help="time the benchmark workloads W1-W4, print the markdown tables",
        description="Time the benchmark workloads (W1: 2,520 daily bars; W2: 491,400 "
        "one-minute bars; W3: 100 symbols x 2,520 daily bars; W4: 100 SMA "
        "combinations on W1) in callback and array mode on both backends and in "
        "a numba loop, measure peak memory in fresh processes, and print the "
        "tables of docs/benchmarks.md (markdown on stdout, progress on stderr). "
        "Takes a few minutes; --quick about one.",
    )
    bench_command.add_argument(
        "--workload",
        action="append",
        choices=["W1", "W2", "W3", "W4"],
        help="run this workload only (repeat for several; default all)",
    )
    bench_command.add_argument("--backend", default="both", choices=["python", "rust", "both"])
    bench_command.add_argument("--mode", default="both", choices=["callback", "array", "both"])
    bench_command.add_argument(
        "--quick", action="store_true", help="at most 3 rounds and about 1 s of timing per case"
    )
    bench_command.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the peak-memory runs (one fresh process per case)",
    )
    bench_command.add_argument("--no-numba", action="store_true", help="skip the numba loop")
    bench_command.add_argument(
        "--tiny",
        action="store_true",
        help="a few hundred bars per workload: checks that the command works "
        "(the figures mean nothing)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "bench":
            return _bench(args)
        return _demo(args)
    except QuantaError as exc:
        print(f"quanta: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
