"""`quanta run FILE.py`: the strategy of a file on the sample data or on files, its statistics,
and one-line errors with exit status 2; `quanta --version`; help text on every option."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from quanta_cli.cli import build_parser, main
from quanta_ref import Bars, Engine, RejectedOrdersWarning, data
from quanta_ref.examples import SmaCross

CROSS = """
from quanta_ref.examples import SmaCross  # imported, so not a candidate


class Cross(SmaCross):
    fast = 5
"""


FLAGGED = """
from quanta_ref import Strategy


class Flagged(Strategy):
    short = False
    size = 0.5
    label = None

    def __init__(self, tag="plain", **params):
        super().__init__(**params)
        self.tag = tag
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
    assert (
        main(
            [
                "run",
                file,
                "--market",
                "cn_a",
                "--price-limit",
                "0.1",
                "--end",
                "2000-03-31",
                "--backend",
                backend,
            ]
        )
        == 0
    )
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
        (
            CROSS,
            ["--param", "speed=3"],
            "--param speed: not a parameter of Cross; its parameters: fast, slow",
        ),
        (
            CROSS,
            ["--param", "fast=1O"],
            "--param fast: expected a whole number (the default is 5), got '1O'",
        ),
        (
            CROSS,
            ["--param", "slow=3.5x"],
            "--param slow: expected a whole number (the default is 30)",
        ),
        (CROSS, ["--param", "fast=1.5"], "--param fast: expected a whole number"),
        (CROSS, ["--param", "fast=4", "--param", "fast=6"], "--param fast: given twice"),
        (FLAGGED, ["--param", "short=1"], "--param short: expected True or False"),
        (
            FLAGGED,
            ["--param", "short=yes"],
            "--param short: expected True or False (the default is False), got 'yes'",
        ),
        (
            FLAGGED,
            ["--param", "size=1e"],
            "--param size: expected a number (the default is 0.5), got '1e'",
        ),
        (
            FLAGGED,
            ["--param", "lots=x"],  # its __init__ takes **params: Strategy's refuses the name
            "ConfigError: lots: not a parameter of Flagged",
        ),
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


def test_run_takes_text_for_a_parameter_whose_default_is_text_or_none(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = strategy_file(tmp_path, FLAGGED)
    params = ["--param", "label=mine", "--param", "tag=x1", "--param", "short=True"]
    params += ["--param", "size=nan"]  # a float default takes nan and inf too
    assert main(["run", file, "--backend", backend, "--end", "2000-12-31", *params]) == 0
    out = capsys.readouterr().out
    assert "Flagged(label='mine', tag='x1', short=True, size=nan) on AAPL" in out


def test_run_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "quanta_cli.cli", "run", strategy_file(tmp_path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line
        errors = process.stderr.read().decode()
    assert process.returncode == 1
    assert "Traceback" not in errors and "BrokenPipeError" not in errors


# ================================================================== checked before the run
@pytest.mark.parametrize("command", ["run", "demo"])
def test_report_path_is_checked_before_the_run(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    start = ["run", strategy_file(tmp_path)] if command == "run" else ["demo"]
    absent = tmp_path / "absent" / "r.html"
    for target, message in [
        (absent, f"{absent}: the folder {absent.parent} does not exist"),
        (tmp_path, f"{tmp_path} is a folder; give a file, e.g. {tmp_path / 'run.html'}"),
    ]:
        assert main([*start, "--backend", backend, "--report", str(target)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""  # refused before the run: no statistics printed
        assert captured.err == f"quanta: error: --report: {message}\n"


def test_run_imports_the_modules_beside_the_strategy_file(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "quanta_test_neighbour.py").write_text("FAST = 8\n")
    (tmp_path / "quanta_test_late.py").write_text("SLOW = 40\n")
    source = """
    from quanta_ref.examples import SmaCross
    from quanta_test_neighbour import FAST


    class Near(SmaCross):
        fast = FAST

        def on_start(self, ctx):
            import quanta_test_late  # imported while the run goes, as python would

            self.slow = quanta_test_late.SLOW
            super().on_start(ctx)
    """
    file = strategy_file(tmp_path, source)
    path_before = list(sys.path)
    try:
        for _ in range(2):  # again in the same process: no second entry on sys.path
            assert main(["run", file, "--backend", backend]) == 0
            assert expected_run(backend, data.load_sample("AAPL")) in capsys.readouterr().out
            assert sys.path == path_before
    finally:
        for name in ("quanta_test_neighbour", "quanta_test_late"):
            sys.modules.pop(name, None)


def test_run_prints_the_rejected_orders_once_and_no_warning(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = """
    from quanta_ref import Strategy


    class OddLots(Strategy):
        def on_bar(self, ctx, bar):
            if ctx.bar_index < 2:
                ctx.buy(bar.symbol, 50)  # below a lot of 100: rejected
    """
    argv = [
        "run",
        strategy_file(tmp_path, source),
        "--market",
        "cn_a",
        "--price-limit",
        "0.1",
        "--end",
        "2000-03-31",
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*argv, "--backend", backend]) == 0
        assert caught == []
        namespace: dict[str, type] = {}
        exec(textwrap.dedent(source), namespace)  # the same strategy, run without the command
        bars = data.load_sample("AAPL").between(end="2000-03-31")
        Engine(backend=backend, market="cn_a", price_limit=0.1).run(bars, namespace["OddLots"]())
        assert [w.category for w in caught] == [RejectedOrdersWarning]  # the engine does warn
    assert "0 fills, 0 closed trades, 2 rejected orders (lot_size: 2)" in capsys.readouterr().out


# ============================================================ --data: the files load_bars reads
def cases_differ(folder: Path) -> bool:
    """Whether the file system of `folder` tells MSFT.CSV from MSFT.csv (load_bars reads the
    lower-case name only there)."""
    probe = folder / "probe.CSV"
    probe.touch()
    differ = not (folder / "probe.csv").exists()
    probe.unlink()
    return differ


def test_run_says_which_data_files_it_skips_or_refuses(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    if not cases_differ(folder):
        pytest.skip("this file system does not tell MSFT.CSV from MSFT.csv")
    write_csv(data.load_samples(["IBM", "MSFT"]), folder)
    (folder / "MSFT.csv").rename(folder / "MSFT.CSV")
    (folder / "notes.txt").write_text("not bars")
    file = strategy_file(tmp_path)
    params = ["--param", "fast=8", "--param", "slow=40", "--backend", backend]
    assert main(["run", file, "--data", str(folder), *params]) == 0  # IBM only, MSFT.CSV said
    captured = capsys.readouterr()
    assert expected_run(backend, data.load_sample("IBM")) in captured.out
    assert (
        captured.err
        == f"quanta run: skipped {folder / 'MSFT.CSV'} (the suffix must be lower-case)\n"
    )
    assert main(["run", file, "--data", str(folder), "--symbols", "MSFT", *params]) == 2
    assert capsys.readouterr().err == (
        f"quanta: error: --data: {folder}: MSFT.CSV is not read, the suffix must be lower-case "
        ".csv or .parquet; rename it\n"
    )
    assert main(["run", file, "--data", str(folder / "MSFT.CSV"), *params]) == 2
    assert capsys.readouterr().err == (
        f"quanta: error: --data: {folder / 'MSFT.CSV'}: the suffix must be lower-case .csv or "
        ".parquet; rename it MSFT.csv\n"
    )
    (folder / "IBM.csv").unlink()
    assert main(["run", file, "--data", str(folder), *params]) == 2
    assert capsys.readouterr().err == (
        f"quanta: error: --data: no .csv or .parquet file in {folder} (it holds MSFT.CSV, "
        "notes.txt; the suffix must be lower-case)\n"
    )


def test_run_reads_the_csv_file_of_a_symbol_that_also_has_a_parquet_file(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(data.load_sample("IBM"), tmp_path)
    (tmp_path / "IBM.parquet").write_bytes(b"not parquet: reading it would fail")
    file = strategy_file(tmp_path)
    params = ["--param", "fast=8", "--param", "slow=40", "--backend", backend]
    for given in (["--data", str(tmp_path)], ["--data", str(tmp_path), "--symbols", "IBM"]):
        assert main(["run", file, *given, *params]) == 0
        captured = capsys.readouterr()
        assert expected_run(backend, data.load_sample("IBM")) in captured.out
        assert captured.err == f"quanta run: skipped {tmp_path / 'IBM.parquet'} (IBM.csv is read)\n"
    assert main(["run", file, "--data", str(tmp_path / "IBM.parquet"), *params]) == 2
    assert capsys.readouterr().err == (
        f"quanta: error: --data: {tmp_path / 'IBM.parquet'}: IBM.csv beside it would be read "
        "instead (a .csv file comes before a .parquet of the same symbol); move one of them away\n"
    )


def test_run_reads_a_folder_of_vendor_files_of_many_symbols_and_hive_folders(
    backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import ashare_files

    for layout in ("tushare", "hive"):
        folder = tmp_path / layout
        folder.mkdir()
        getattr(ashare_files, f"write_{layout}")(folder)
        argv = ["run", strategy_file(tmp_path), "--data", str(folder), "--backend", backend]
        argv += ["--market", "cn_a", "--start", "2022-01-01", "--param", "fast=8"]
        argv += ["--param", "slow=40"] + (["--source", "tushare"] if layout == "tushare" else [])
        assert main(argv) == 0
        bars = data.load_bars(root=folder, start="2022-01-01")
        assert set(bars.symbols) == set(ashare_files.SYMBOLS)
        expected = Engine(backend=backend, market="cn_a").run(bars, SmaCross(fast=8, slow=40))
        assert expected.summary() in capsys.readouterr().out
