"""`quanta run FILE.py`: the strategy of a file on the sample data or on files, its statistics,
and one-line errors with exit status 2; `quanta --version`; help text on every option."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import textwrap
from pathlib import Path

import pytest

from quanta_cli.cli import build_parser, main
from quanta_ref import Bars, Engine, data
from quanta_ref.examples import SmaCross

CROSS = """
from quanta_ref.examples import SmaCross  # imported, so not a candidate


class Cross(SmaCross):
    fast = 5
"""


def strategy_file(tmp_path: Path, source: str = CROSS, name: str = "mine.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def write_csv(bars: Bars, folder: Path) -> None:
    """One CSV per symbol, as `quanta_ref.data.load_bars` reads them (floats round-trip)."""
    frame = bars.to_dataframe()
    for symbol in bars.symbols:
        rows = frame[frame["symbol"] == symbol].drop(columns="symbol")
        rows = rows.rename(columns={"timestamp": "date"})
        rows["date"] = rows["date"].dt.strftime("%Y-%m-%d")
        rows.to_csv(folder / f"{symbol}.csv", index=False)


def expected_run(backend: str, bars: Bars, **settings: float) -> str:
    result = Engine(backend=backend, **settings).run(bars, SmaCross(fast=8, slow=40))
    return result.summary()


# ============================================================================ quanta run
def test_run_prints_the_statistics_of_the_strategy_in_the_file(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "run",
            strategy_file(tmp_path),
            "--backend",
            backend,
            "--symbols",
            "AAPL,IBM",
            "--start",
            "2005-01-01",
            "--end",
            "2008-12-31",
            "--param",
            "fast=8",
            "--param",
            "slow=40",
            "--cash",
            "500000",
            "--commission",
            "0.001",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    bars = data.load_samples(["AAPL", "IBM"]).between("2005-01-01", "2008-12-31")
    engine = Engine(backend=backend, initial_cash=500_000.0, commission_rate=0.001)
    result = engine.run(bars, SmaCross(fast=8, slow=40))
    assert result.summary() in out
    assert f"\n{len(result.fills)} fills, {len(result.trades)} closed trades, 0 rejected" in out
    assert "Cross(fast=8, slow=40) on AAPL, IBM, 1007 bars 2005-01-03 .. 2008-12-31" in out


def test_run_reads_a_directory_or_a_file_of_csv_bars(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "bars"
    folder.mkdir()
    write_csv(data.load_samples(["AAPL", "IBM"]), folder)
    file = strategy_file(tmp_path)
    params = ["--param", "fast=8", "--param", "slow=40", "--backend", backend]
    both = data.load_samples(["AAPL", "IBM"]).between("2010-01-01")
    assert main(["run", file, "--data", str(folder), "--start", "2010-01-01", *params]) == 0
    assert expected_run(backend, both) in capsys.readouterr().out  # every file of the folder
    assert main(["run", file, "--data", str(folder / "IBM.csv"), *params]) == 0
    assert expected_run(backend, data.load_sample("IBM")) in capsys.readouterr().out


def test_run_counts_rejected_orders_by_reason(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = """
    from quanta_ref import Strategy


    class OddLots(Strategy):
        def on_bar(self, ctx, bar):
            if ctx.bar_index < 3:
                ctx.buy(bar.symbol, 50)  # below a lot of 100: rejected
            if ctx.bar_index == 5:
                ctx.buy(bar.symbol, 100)
    """
    file = strategy_file(tmp_path, source)
    assert main(["run", file, "--market", "cn_a", "--end", "2000-03-31", "--backend", backend]) == 0
    assert "\n1 fills, 0 closed trades, 3 rejected orders (lot_size: 3); run time" in (
        capsys.readouterr().out
    )


def test_run_shows_a_progress_bar_on_a_terminal(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    args = ["run", strategy_file(tmp_path), "--backend", backend, "--end", "2001-12-31"]
    assert main(args) == 0
    assert terminal.getvalue() == ""  # a run shorter than PROGRESS_DELAY shows no bar
    monkeypatch.setattr("quanta_cli.cli.PROGRESS_DELAY", 0.0)
    assert main(args) == 0
    assert "backtest: 100%" in terminal.getvalue() and "460/460" in terminal.getvalue()
    terminal.seek(0)
    terminal.truncate(0)
    assert main([*args, "--no-progress"]) == 0
    assert terminal.getvalue() == ""


def test_strategy_picks_one_of_several_classes(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = CROSS + "\n\nclass Slow(SmaCross):\n    fast = 20\n    slow = 60\n"
    file = strategy_file(tmp_path, source)
    assert main(["run", file, "--strategy", "Slow", "--backend", backend]) == 0
    result = Engine(backend=backend).run(data.load_sample("AAPL"), SmaCross(fast=20, slow=60))
    assert result.summary() in capsys.readouterr().out


@pytest.mark.parametrize(
    ("source", "extra", "message"),
    [
        (
            CROSS + "\n\nclass Slow(SmaCross):\n    pass\n",
            [],
            "mine.py: defines several strategies (Cross, Slow); choose one with --strategy NAME",
        ),
        ("from quanta_ref.examples import SmaCross\n", [], "defines no subclass of"),
        (CROSS, ["--strategy", "SmaCross"], "defines no strategy 'SmaCross'; it defines: Cross"),
        ("def broken(:\n", [], "mine.py: SyntaxError: invalid syntax"),
        ("raise RuntimeError('at import')\n", [], "mine.py: RuntimeError: at import"),
        (CROSS, ["--param", "fast"], "--param: expected name=value, got 'fast'"),
        (CROSS, ["--param", "speed=3"], "ConfigError: speed: not a parameter of Cross"),
        (CROSS, ["--param", "slow=2"], "ConfigError: fast, slow: need whole numbers"),
        (CROSS, ["--symbols", "AAPL,XYZ"], "DataError: symbol: 'XYZ' is not a sample symbol"),
        (CROSS, ["--data", "/nonexistent/bars"], "--data: /nonexistent/bars: no such file"),
        (CROSS, ["--backend", "gpu"], "ConfigError: backend"),
        (CROSS, ["--cash", "-5"], "ConfigError: initial_cash: must be > 0.0, got -5.0"),
        (
            "from quanta_ref import Strategy\n\n\nclass Bad(Strategy):\n"
            "    def on_bar(self, ctx, bar):\n        raise ZeroDivisionError('oops\\nmore')\n",
            [],
            "the strategy raised ZeroDivisionError: oops more (--traceback shows where)",
        ),
    ],
)
def test_run_errors_are_one_line_and_exit_2(
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    extra: list[str],
    message: str,
) -> None:
    status = main(["run", strategy_file(tmp_path, source), "--backend", backend, *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("quanta: error: ") and err.count("\n") == 1
    assert message in err


def test_run_refuses_a_missing_file_and_a_data_file_of_another_symbol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "absent.py")]) == 2
    assert capsys.readouterr().err == f"quanta: error: {tmp_path / 'absent.py'}: no such file\n"
    write_csv(data.load_sample("IBM"), tmp_path)
    file = strategy_file(tmp_path)
    assert main(["run", file, "--data", str(tmp_path / "IBM.csv"), "--symbols", "AAPL"]) == 2
    assert "--symbols: " in capsys.readouterr().err


def test_traceback_lets_the_strategy_error_through(backend: str, tmp_path: Path) -> None:
    source = """
    from quanta_ref import Strategy


    class Bad(Strategy):
        def on_bar(self, ctx, bar):
            raise ZeroDivisionError("oops")
    """
    file = strategy_file(tmp_path, source)
    with pytest.raises(ZeroDivisionError, match="oops"):
        main(["run", file, "--backend", backend, "--traceback"])


# ======================================================================= version, help
def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"quanta {importlib.metadata.version('quanta')}\n"


def test_every_option_has_help_text() -> None:
    parser = build_parser()
    parsers = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            parsers.extend(action.choices.values())
    assert len(parsers) == 4  # quanta, run, demo, bench
    for each in parsers:
        for action in each._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{each.prog} {action.option_strings or action.dest}: no help"


def test_run_writes_the_report_of_the_run(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "run.html"
    argv = ["run", strategy_file(tmp_path), "--backend", backend, "--report", str(target)]
    assert main(argv) == 2  # its folder does not exist: one line, nothing half written
    assert "run.html" in capsys.readouterr().err and not target.exists()
    target.parent.mkdir()
    assert main(argv) == 0
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'id="run-figure"' in page
    assert str(target) in capsys.readouterr().out
