"""examples/live_replay.py runs as documented: killed mid-feed and started again, it goes on
from its snapshot, sends no order twice, and ends with the batch run's result."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from quanta_ref import Engine, data
from quanta_ref.examples import SmaCross

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "live_replay.py"
SENT = re.compile(r"^\d{4}-\d{2}-\d{2} sent Order\(#(\d+) ")


def launch(tmp_path: Path, backend: str, interval: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLE),
            "feed",
            "--state",
            "live.snap",
            "--interval",
            interval,
            "--backend",
            backend,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_live_example_survives_a_kill_and_ends_as_the_batch_run(tmp_path, backend):
    lines = []
    with launch(tmp_path, backend, "0.05") as first:
        assert first.stdout is not None
        for line in first.stdout:
            lines.append(line.rstrip("\n"))
            if len([x for x in lines if SENT.match(x)]) == 3:
                first.send_signal(signal.SIGKILL)  # no chance to clean up
                break
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert (tmp_path / "live.snap").exists()

    # Restarted with the same arguments but no waiting between bars (a test's impatience).
    with launch(tmp_path, backend, "0") as second:
        out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    rest = out.splitlines()
    assert rest[0].startswith("restored at bar ")
    assert rest[-1].endswith("identical to the batch run: True"), rest[-1]
    assert not (tmp_path / "live.snap").exists()

    sent = [int(m.group(1)) for m in map(SENT.match, lines + rest) if m]
    assert len(sent) == len(set(sent)), "an order was sent twice"
    bars = data.load_bars(root=tmp_path / "feed")
    history_end = bars.timestamps[251]
    engine = Engine(backend=backend, commission_rate=0.0003, min_commission=5.0, lot_size=100)
    batch = engine.run(bars, SmaCross())
    live_orders = [o.order_id for o in batch.orders if o.created_at > history_end]
    assert sent == live_orders
    assert os.path.getsize(tmp_path / "feed" / "bars.csv") > 100_000
