"""Live-session benchmarks: the engine's overhead per pushed timestamp, on both backends.

A session of a strategy with no callbacks (so no strategy Python runs), warmed up with a
history of 300 rows (so its panel has room for the rows pushed: a panel that doubles its
buffers copies them, a rare cost this leaves out), is fed K rows of N symbols, one `push`
per row; the timed region is the K pushes, and `extra_info["us_per_push"]` is its time per
push. The target on rust: at most 5 us + 50 ns per symbol. After timing, the session's final
equity is checked against the batch run of the same rows (outside the timed region), so the
pushes did the work of a backtest.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

from quanta_ref import Engine, Strategy, data
from quanta_ref.bars import FIELDS

#: (symbols, rows pushed per round)
SIZES = [(1, 2000), (100, 1000), (5000, 200)]


@pytest.mark.parametrize(("n_symbols", "n_rows"), SIZES, ids=[f"N{n}" for n, _ in SIZES])
def test_session_push(benchmark: Any, backend: str, n_symbols: int, n_rows: int) -> None:
    warm = 300
    bars = data.synthetic(n_bars=warm + n_rows, n_symbols=n_symbols, seed=7)
    rows = [
        (np.datetime64(int(bars.timestamps[i]), "ns"), *(getattr(bars, f)[i] for f in FIELDS))
        for i in range(warm, bars.n_bars)
    ]
    engine = Engine(backend=backend)
    first = bars.between(end=np.datetime64(int(bars.timestamps[warm - 1]), "ns"))

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        # The sessions of earlier rounds (their buffers: 40 MB at 5,000 symbols) are freed
        # here, not by a garbage collection inside the timed pushes.
        gc.collect()
        return (engine.session(Strategy(), history=first),), {}

    def push_all(session: Any) -> Any:
        for row in rows:
            session.push(*row)
        return session

    benchmark.group = f"session-push-N{n_symbols}"
    session = benchmark.pedantic(push_all, setup=fresh, rounds=7, warmup_rounds=1)
    if benchmark.stats is not None:  # None under --benchmark-disable: one untimed call
        benchmark.extra_info["us_per_push"] = benchmark.stats.stats.median / n_rows * 1e6
    batch = engine.run(bars, Strategy())
    assert session.result().equity.tobytes() == batch.equity.tobytes()
