"""The HTML report of the W2 run (491,400 one-minute bars, about 19,000 fills): how long
`result.report(path)` takes and how large the page is (docs/benchmarks.md, "The report").

Each round reports a fresh result of the W2 array run on the Rust backend, made untimed in
the round's set-up, so the timing includes what a user pays right after a run: the fills,
orders and trades are built as Python objects on first read. The report reads the result
only, so the backend that ran it does not matter. Speed is measured, never asserted; the
size of the page is recorded in ``extra_info`` (bytes), and checked against 10 MB.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quanta_cli.workloads import WORKLOADS, Workload, rust_available
from quanta_ref.bars import Bars

W2 = next(w for w in WORKLOADS if w.name == "W2")


def test_report_of_w2(
    benchmark: Any, tmp_path: Path, workload_bars: Callable[[Workload], Bars]
) -> None:
    pytest.importorskip("plotly")
    backend = "rust" if rust_available() else "python"
    bars = workload_bars(W2)
    path = tmp_path / "w2.html"

    def fresh_result() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (W2.run(bars, "array", backend)[0], path), {}

    benchmark.group = "report"
    written = benchmark.pedantic(
        lambda result, target: result.report(target),
        setup=fresh_result,
        rounds=5,
        warmup_rounds=1,
    )
    size = written.stat().st_size
    benchmark.extra_info.update({"bars": bars.n_bars, "bytes": size})
    assert size < 10_000_000
