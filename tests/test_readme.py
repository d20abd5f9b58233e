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


def test_readme_a_share_example_runs_on_vendor_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend_rust: None
) -> None:
    import ashare_files

    monkeypatch.chdir(tmp_path)
    for folder in ("tushare", "akshare"):
        (tmp_path / folder).mkdir()
    ashare_files.write_tushare(tmp_path / "tushare")
    ashare_files.write_akshare(tmp_path / "akshare", encoding="gbk")
    (tmp_path / "dividend.csv").write_text(
        "ts_code,end_date,div_proc,stk_div,cash_div_tax,ex_date\n"
        "600519.SH,20211231,实施,0,21.91,20220630\n"
        "000001.SZ,20211231,实施,0.3,0.228,20220722\n"
        "300750.SZ,20211231,预案,0,0.5,\n",
        encoding="utf-8",
    )
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    block = next(b for b in blocks if "load_actions" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    dividends = namespace["dividends"]
    assert len(namespace["fills"]) > 0  # type: ignore[arg-type]
    assert set(dividends["symbol"]) <= {"600519.SH", "000001.SZ"}  # type: ignore[index]


def test_readme_live_session_example_runs(backend_rust: None) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    block = next(b for b in blocks if "engine.session(" in b)
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # it asserts the identity itself
    assert namespace["session"].backend == "python"  # type: ignore[attr-defined]
    assert len(namespace["live"].fills) > 10  # type: ignore[attr-defined]
