"""The README's example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the example writes its report to the current directory
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "sharpe_ratio" in out
    result = namespace["result"]
    assert len(result.fills) > 0  # type: ignore[attr-defined]
    assert (tmp_path / "run.html").stat().st_size > 1_000_000  # plotly.js is inside
    assert len(namespace["figure"].data) >= 4  # type: ignore[attr-defined]


def test_readme_array_example_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # The second block continues the first (bars, engine).
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    namespace: dict[str, object] = {}
    for block in blocks[:2]:
        exec(compile(block, "README.md", "exec"), namespace)
    capsys.readouterr()
    result = namespace["result"]
    kinds = {order.order_type.value for order in result.orders}  # type: ignore[attr-defined]
    assert kinds == {"market", "stop", "limit"}
    assert len(namespace["rebalanced"].fills) > 0  # type: ignore[attr-defined]
