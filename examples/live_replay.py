"""Replay a CSV of bars as a live feed: a session that prints each order as it is sent,
survives being killed, and ends with the batch run's result.

    python examples/live_replay.py feed/ --state live.snap --interval 0.05

The bars are the CSV files of the folder `feed/` (any layout `quanta_ref.data.load_bars`
reads); the first run writes the bundled sample prices (AAPL and IBM, 2000-2013) there as
`feed/bars.csv` when the folder does not exist. Every `--interval` seconds (the clock) the
next timestamp's bars are pushed into the session, and the session's snapshot is written to
`--state`. Kill the process
(Ctrl-C, or kill -9) and start it again with the same arguments: it restores the snapshot and
goes on from the next timestamp, and no order is printed (sent) twice. At the end it runs the
same strategy over the whole file in one backtest and says whether the two results are
identical.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from quanta_ref import Engine, data
from quanta_ref.examples import SmaCross
from quanta_ref.session import Session

SETTINGS = {"commission_rate": 0.0003, "min_commission": 5.0, "lot_size": 100}


def write_sample(folder: Path) -> None:
    """The bundled sample prices of two symbols as one long CSV in `folder`."""
    folder.mkdir(parents=True)
    frame = data.load_samples(["AAPL", "IBM"]).to_dataframe()
    frame.to_csv(folder / "bars.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "feed", type=Path, help="folder of bars (written from the sample if absent)"
    )
    parser.add_argument("--state", type=Path, default=Path("live.snap"), help="snapshot file")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between bars")
    parser.add_argument("--backend", default="auto", help="python, rust or auto")
    args = parser.parse_args()

    if not args.feed.exists():
        write_sample(args.feed)
    bars = data.load_bars(root=args.feed)
    engine = Engine(backend=args.backend, **SETTINGS)

    if args.state.exists():
        session = Session.restore(args.state, backend=args.backend)
        print(f"restored at bar {session.n_bars} from {args.state}", flush=True)
    else:
        # A year of history warms the moving averages up (and trades, as a backtest would).
        session = engine.session(SmaCross(), history=bars.between(end=bars.timestamps[251]))
        session.snapshot(args.state)
        print(f"started with {session.n_bars} bars of history", flush=True)

    clock = time.monotonic()
    for i in range(session.n_bars, bars.n_bars):
        clock += args.interval
        time.sleep(max(0.0, clock - time.monotonic()))
        timestamp = np.datetime64(int(bars.timestamps[i]), "ns")
        step = session.push(
            timestamp,
            bars.open[i],
            bars.high[i],
            bars.low[i],
            bars.close[i],
            bars.volume[i],
        )
        # The snapshot first: a restart then never makes these orders again. (Killed between
        # the push and the snapshot, the restarted session makes them again, with the same
        # order ids: a broker adapter that passes the id as the client order id is not sent
        # an order twice.)
        session.snapshot(args.state)
        for order in step.submitted:
            print(f"{str(timestamp)[:10]} sent {order}", flush=True)

    result = session.end()
    batch = engine.run(bars, SmaCross())
    same = (
        result.equity.tobytes() == batch.equity.tobytes()
        and result.fills == batch.fills
        and [repr(o) for o in result.orders] == [repr(o) for o in batch.orders]
    )
    print(f"final equity {result.equity[-1]:.2f}; identical to the batch run: {same}", flush=True)
    args.state.unlink()


if __name__ == "__main__":
    main()
