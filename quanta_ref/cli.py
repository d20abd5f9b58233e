"""The `quanta` command: `quanta demo` runs an SMA crossover on the embedded sample data."""

from __future__ import annotations

import argparse
import sys
import time

from quanta_ref import data
from quanta_ref.api import Engine
from quanta_ref.errors import QuantaError
from quanta_ref.examples import SmaCross


def _demo(args: argparse.Namespace) -> int:
    bars = data.load_sample(args.symbol)
    engine = Engine(backend=args.backend, initial_cash=1_000_000.0, commission_rate=0.0003,
                    fill_at="next_open")
    strategy = SmaCross(fast=args.fast, slow=args.slow)
    started = time.perf_counter()
    result = engine.run(bars, strategy)
    elapsed = time.perf_counter() - started
    first, last = (str(bars.timestamps[i].astype("datetime64[ns]").astype("datetime64[D]"))
                   for i in (0, -1))
    print(f"quanta demo: SMA({args.fast})/SMA({args.slow}) crossover, long only, all in, "
          f"on {args.symbol} daily bars {first} .. {last} (adjusted, {bars.n_bars} bars)")
    print(f"backend={engine.backend}  initial_cash=1,000,000  commission=0.03%  "
          f"fills at next open\n")
    print(result.summary())
    print(f"\n{len(result.fills)} fills, {len(result.trades)} closed trades; "
          f"run time {elapsed * 1e3:.1f} ms ({bars.n_bars / elapsed:,.0f} bars/s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `quanta` console script."""
    parser = argparse.ArgumentParser(prog="quanta", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="SMA crossover on the embedded sample data")
    demo.add_argument("--symbol", default="AAPL", help="AAPL, GOOG, IBM or MSFT")
    demo.add_argument("--fast", type=int, default=10)
    demo.add_argument("--slow", type=int, default=30)
    demo.add_argument("--backend", default="auto", choices=["python", "rust", "auto"],
                      help="auto (default): rust when the extension is built, else python")
    args = parser.parse_args(argv)
    try:
        return _demo(args)
    except QuantaError as exc:
        print(f"quanta: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
