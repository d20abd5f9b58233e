"""The README's example runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def test_readme_orders_and_costs_example_runs_the_same_on_both_backends(
    capsys: pytest.CaptureFixture[str], backend_rust: None
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    block = next(b for b in blocks if "ctx.bracket(" in b)
    runs = {}
    for backend in ("rust", "python"):
        namespace: dict[str, Any] = {}
        code = block.replace('backend="rust"', f'backend="{backend}"')
        exec(compile(code, "README.md", "exec"), namespace)
        runs[backend] = namespace
    capsys.readouterr()
    fast, ref = runs["rust"], runs["python"]
    for name in ("brackets", "trailing", "result"):
        assert fast[name].fills == ref[name].fills, name
        assert fast[name].equity.tobytes() == ref[name].equity.tobytes(), name
    brackets, trailing, futures = fast["brackets"], fast["trailing"], fast["result"]
    exits = [o for o in brackets.orders if o.parent_id is not None]
    assert any(o.status.value == "filled" for o in exits)
    assert any(o.reject_reason == "oco" for o in exits)
    assert any(o.reject_reason == "expired" for o in brackets.orders)  # GTD entries
    kinds = {(o.order_type.value, o.status.value) for o in trailing.orders}
    assert ("trailing_stop", "filled") in kinds
    # Per share: 0.005 x 100 = 0.50 is below the minimum of 1.00, capped at 1 % of the value
    # (early AAPL prices are below one dollar).
    for fill in trailing.fills:
        assert fill.commission == min(1.0, fill.quantity * fill.price * 0.01)
    for trade in futures.trades:  # pnl per point x 300, less the commission on the notional
        gross = (trade.exit_price - trade.entry_price) * trade.quantity * 300.0
        costs = (trade.entry_price + trade.exit_price) * trade.quantity * 300.0 * 0.000023
        assert abs(trade.pnl - (gross - costs)) < 1e-6 * abs(gross)


def test_readme_compiled_example_runs_the_same_on_both_backends(
    capsys: pytest.CaptureFixture[str], backend_rust: None
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    block = next(b for b in blocks if "CompiledStrategy" in b)
    runs = {}
    for backend in ("rust", "python"):
        namespace: dict[str, Any] = {}
        code = block.replace('backend="rust"', f'backend="{backend}"')
        exec(compile(code, "README.md", "exec"), namespace)
        runs[backend] = namespace
    capsys.readouterr()
    fast, ref = runs["rust"], runs["python"]
    assert fast["result"].fills == ref["result"].fills
    assert fast["result"].equity.tobytes() == ref["result"].equity.tobytes()
    assert len(fast["result"].fills) > 20
    assert fast["found"].table.equals(ref["found"].table)
    assert len(fast["found"].table) == 9
    # The trailing exit: every sell follows a close `trail` below the peak since the entry.
    sells = [f for f in fast["result"].fills if f.side.value == "sell"]
    assert sells
