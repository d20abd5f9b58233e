"""Helpers of the live-session tests that a fresh process imports too (the restore test runs
`finish_in_fresh_process` in a spawned interpreter)."""

from __future__ import annotations

from typing import Any

import numpy as np

from quanta_ref import Bars
from quanta_ref.bars import FIELDS
from quanta_ref.session import Session


def rows(bars: Bars, start: int, stop: int) -> Bars:
    """Rows start..stop of `bars` as a panel of their own, without market data."""
    return Bars.from_arrays(
        bars.timestamps[start:stop].astype("datetime64[ns]"),
        *(getattr(bars, f)[start:stop] for f in FIELDS),
        symbols=bars.symbols,
    )


def at(bars: Bars, i: int) -> np.datetime64:
    """Row `i`'s timestamp as a datetime64 (a lone integer near 1970 reads as a mistake)."""
    return np.datetime64(int(bars.timestamps[i]), "ns")


def feed(session: Session, bars: Bars, start: int, cuts: list[int]) -> None:
    """Push rows start.. of `bars`: in chunks ending at each of `cuts` (ascending, the last
    the panel's end), a chunk of one row by `push`, a longer one by `push_bars`."""
    for stop in cuts:
        if stop == start + 1:
            i = start
            session.push(at(bars, i), *(getattr(bars, f)[i] for f in FIELDS))
        elif stop > start:
            session.push_bars(rows(bars, start, stop))
        start = stop


def outcome(session: Session) -> dict[str, Any]:
    """Everything a finished session shows, as plain data (floats by their bits)."""
    from test_differential import bits, fill_fields, order_fields

    result = session.end()
    return {
        "fills": [fill_fields(f) for f in result.fills],
        "orders": [order_fields(o) for o in result.orders],
        "trades": [bits(tuple(t.__dict__.values())) for t in result.trades],
        "positions": [bits(tuple(p.__dict__.values())) for p in result.positions],
        "signals": [bits(tuple(s.__dict__.values())) for s in result.signals],
        "actions": [bits(tuple(r.__dict__.values())) for r in result.corporate_actions],
        "equity": result.equity.tobytes(),
        "cash": result.cash.tobytes(),
        "timestamps": result.timestamps.tobytes(),
        "stats": bits(dict(result.stats)),
        "log": getattr(session.strategy, "log", None),
    }


def finish_in_fresh_process(
    snapshot: bytes, backend: str, bars: Bars, start: int, cuts: list[int]
) -> dict[str, Any]:
    """Restore `snapshot` on `backend`, push the rest of `bars`, end: what it shows."""
    session = Session.restore(snapshot, backend=backend)
    feed(session, bars, start, cuts)
    return outcome(session)


def arrays_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.tobytes() == b.tobytes()
