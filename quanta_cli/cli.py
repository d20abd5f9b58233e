"""The `quanta` command: `quanta run` backtests the strategy of a Python file on your data;
`quanta demo` runs an SMA crossover on the embedded sample data; `quanta bench` times the
benchmark workloads and prints the tables of docs/benchmarks.md."""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.metadata
import importlib.util
import inspect
import numbers
import os
import sys
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from quanta_cli import bench
from quanta_cli.workloads import (
    BACKENDS,
    FULL,
    LIMIT_PARTS,
    MODES,
    TINY,
    make_workloads,
    numba_available,
    rust_available,
)
from quanta_ref import data
from quanta_ref.api import Strategy, strategy_callbacks
from quanta_ref.bars import Bars
from quanta_ref.errors import QuantaError, RejectedOrdersWarning
from quanta_ref.examples import SmaCross
from quanta_ref.front import Engine

#: The file types `quanta run --data` reads, one file per symbol (`quanta_ref.data.load_bars`).
DATA_SUFFIXES = (".csv", ".parquet")
#: Seconds a run goes before its progress bar shows: a short run prints no bar at all.
PROGRESS_DELAY = 1.0


class CommandError(Exception):
    """A mistake on the command line or in the strategy file: one line, exit status 2."""


# =================================================================================== run
def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    report = _report_path(args.report)
    with _folder_on_path(path.resolve().parent), warnings.catch_warnings():
        # the command prints the rejected orders' counts itself, below the statistics
        warnings.simplefilter("ignore", RejectedOrdersWarning)
        return _run_file(args, path, report)


def _run_file(args: argparse.Namespace, path: Path, report: Path | None) -> int:
    strategy_class = _strategy_class(_load_module(path), path, args.strategy)
    params = _parameters(args.param or (), strategy_class)
    strategy = _strategy_call(args, strategy_class, **params)
    bars = _load_data(args.data, args.symbols, args.start, args.end, args.source)
    settings = {
        name: value
        for name, value in (
            ("initial_cash", args.cash),
            ("commission_rate", args.commission),
            ("market", args.market),
            ("price_limit", args.price_limit),
        )
        if value is not None
    }
    engine = Engine(backend=args.backend, **settings)
    first, last = (
        np.datetime_as_string(np.datetime64(int(bars.timestamps[i]), "ns"), unit="auto")
        for i in (0, -1)
    )
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    print(
        f"quanta run: {strategy_class.__name__}({shown}) on {', '.join(bars.symbols)}, "
        f"{bars.n_bars} bars {first} .. {last}; backend={engine.backend}"
    )
    close_progress = _show_progress(strategy, bars.n_bars, enabled=not args.no_progress)
    started = time.perf_counter()
    try:
        result: Any = _strategy_call(args, engine.run, bars, strategy)  # Any: report() below
    finally:
        close_progress()
    elapsed = time.perf_counter() - started
    print()
    print(result.summary())
    rejected = sum(result.rejections.values())
    reasons = ", ".join(f"{reason}: {count}" for reason, count in result.rejections.items())
    print(
        f"\n{len(result.fills)} fills, {len(result.trades)} closed trades, "
        f"{rejected} rejected orders{f' ({reasons})' if reasons else ''}; "
        f"run time {elapsed * 1e3:,.1f} ms"
    )
    if report is not None:
        print(f"report written to {_write_report(result, report)}")
    return 0


def _strategy_call(args: argparse.Namespace, function: Any, /, *given: Any, **named: Any) -> Any:
    """`function` (the strategy's constructor, or the run that calls its callbacks); an
    exception of the user's code becomes a one-line `CommandError` that says it is the
    strategy's, unless --traceback. quanta's own errors (`QuantaError`) pass as they are."""
    try:
        return function(*given, **named)
    except QuantaError:
        raise
    except Exception as exc:
        if args.traceback:
            raise
        raise CommandError(
            f"the strategy raised {type(exc).__name__}: {_one_line(exc)} (--traceback shows where)"
        ) from exc


@contextlib.contextmanager
def _folder_on_path(folder: Path) -> Iterator[None]:
    """`folder` first on `sys.path` while the command runs, as ``python FILE.py`` puts the
    file's folder: the strategy imports the modules beside it, at its top or later during
    the run. The entry goes when the command ends, so that calling `main` again (tests do)
    leaves no second copy."""
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # unless the strategy removed it itself
            sys.path.remove(entry)  # the first copy: the one inserted above


def _report_path(text: str | None) -> Path | None:
    """The --report file, checked before the run so that a long run does not end in an
    error: not a folder, in a folder that exists and can be written, plotly and pandas
    installed."""
    if text is None:
        return None
    path = Path(text)
    if path.is_dir():
        raise CommandError(f"--report: {path} is a folder; give a file, e.g. {path / 'run.html'}")
    folder = path.parent
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise CommandError(f"--report: {path}: the folder {folder} {problem}")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"--report: {path}: cannot write in the folder {folder}")
    from quanta_report.figures import pandas_module, plotly_modules

    try:
        plotly_modules()
        pandas_module()
    except ImportError as exc:
        raise CommandError(f"--report: {exc}") from None
    return path


def _write_report(result: Any, path: Path, **options: Any) -> Path:
    try:
        written: Path = result.report(path, **options)
    except OSError as exc:  # checked before the run, but the disk may still refuse
        raise CommandError(f"--report: cannot write {path}: {exc.strerror or exc}") from exc
    return written


def _load_module(path: Path) -> ModuleType:
    """Run the strategy file as a module of its own; an error in it is a `CommandError`."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    name = f"quanta_run_{path.stem}" if path.stem.isidentifier() else "quanta_run_strategy"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CommandError(f"{path}: cannot load it as Python (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so that its classes pickle and dataclasses find the module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's file: report it in one line
        del sys.modules[name]
        raise CommandError(f"{path}: {type(exc).__name__}: {exc}") from exc
    return module


def _strategy_class(module: ModuleType, path: Path, chosen: str | None) -> type[Strategy]:
    """The Strategy subclass defined in the file (not imported into it): the only one, or the
    one named by --strategy."""
    found = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Strategy)
        and value is not Strategy
        and value.__module__ == module.__name__
    }
    listed = ", ".join(found) or "none"
    if chosen is not None:
        if chosen not in found:
            raise CommandError(
                f"--strategy: {path} defines no strategy {chosen!r}; it defines: {listed}"
            )
        return found[chosen]
    if len(found) != 1:
        problem = "no subclass of quanta_ref.Strategy" if not found else "several strategies"
        raise CommandError(
            f"{path}: defines {problem} ({listed}); "
            + ("define one" if not found else "choose one with --strategy NAME")
        )
    return next(iter(found.values()))


def _parameters(texts: Iterable[str], strategy_class: type[Strategy]) -> dict[str, Any]:
    """The --param values, each ``name=value`` with the value read as a Python literal
    (``10``, ``0.5``, ``True``, ``'x'``), else kept as text. The name must be a parameter of
    the strategy; text is refused where the default is a number or a bool (``fast=1O`` is a
    typo, not a name)."""
    known, any_keyword = _strategy_parameters(strategy_class)
    params = {}
    for text in texts:
        name, equals, value = text.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise CommandError(f"--param: expected name=value, got {text!r}")
        if name not in known and not any_keyword:
            listed = ", ".join(known) or "none"
            raise CommandError(
                f"--param {name}: not a parameter of {strategy_class.__name__}; "
                f"its parameters: {listed}"
            )
        if name in params:
            raise CommandError(f"--param {name}: given twice")
        params[name] = _typed(name, value, known.get(name))
    return params


def _typed(name: str, text: str, default: Any) -> Any:
    """One --param value as its default's type says: True/False for a bool default, a whole
    number for an int, any number (``nan`` and ``inf`` too) for a float; else a Python
    literal, or the text itself."""
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        expected = "True or False"
    elif isinstance(default, numbers.Integral):
        ok = isinstance(value, int) and not isinstance(value, bool)
        expected = "a whole number"
    elif isinstance(default, numbers.Real):
        if isinstance(value, str):
            try:
                value = float(value)  # nan, inf
            except ValueError:
                pass
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        expected = "a number"
    else:
        return value
    if not ok:
        raise CommandError(
            f"--param {name}: expected {expected} (the default is {default!r}), got {text!r}"
        )
    return value


def _strategy_parameters(strategy_class: type[Strategy]) -> tuple[dict[str, Any], bool]:
    """The parameters of a strategy and their defaults: its public class attributes that are
    not methods (what `Strategy.__init__` accepts), and the keywords of its own ``__init__``
    if it has one; and whether that ``__init__`` takes any keyword (``**params``)."""
    known = {
        name: getattr(strategy_class, name)
        for name in dir(strategy_class)
        if not name.startswith("_") and not callable(getattr(strategy_class, name))
    }
    any_keyword = False
    if strategy_class.__init__ is not Strategy.__init__:
        for name, each in list(inspect.signature(strategy_class.__init__).parameters.items())[1:]:
            if each.kind is each.VAR_KEYWORD:
                any_keyword = True
            elif each.kind is not each.VAR_POSITIONAL:
                known[name] = known.get(name) if each.default is each.empty else each.default
    return known, any_keyword


def _load_data(
    source: str | None, symbols: str | None, start: Any, end: Any, layout: str = "auto"
) -> Bars:
    """The bars of `symbols` between `start` and `end`: from the bundled sample prices when
    `source` is None, else from a file or a directory (files of one or many symbols, or
    hive-style Parquet folders) read by `quanta_ref.data.load_bars` in the vendor `layout`
    (what it would not read is said, not skipped silently)."""
    wanted = None if symbols is None else [s.strip() for s in symbols.split(",") if s.strip()]
    if symbols is not None and not wanted:
        raise CommandError(f"--symbols: expected names separated by commas, got {symbols!r}")
    if source is None:
        bars = data.load_samples(wanted or ["AAPL"])
        return bars if start is None and end is None else bars.between(start, end)
    path = Path(source)
    if path.is_file():
        folder, symbol = path.parent, path.stem
        if path.suffix.lower() not in DATA_SUFFIXES:
            raise CommandError(f"--data: {path} is not a .csv or .parquet file")
        read = _file_read(folder, symbol)
        if read is None:
            raise CommandError(
                f"--data: {path}: the suffix must be lower-case .csv or .parquet; "
                f"rename it {symbol}{path.suffix.lower()}"
            )
        if not read.samefile(path):
            raise CommandError(
                f"--data: {path}: {read.name} beside it would be read instead (a .csv file "
                f"comes before a .parquet of the same symbol); move one of them away"
            )
        if wanted is not None and wanted != [symbol]:
            raise CommandError(
                f"--symbols: {path} holds the symbol {symbol!r} only, got {symbols!r}"
            )
        wanted = [symbol]
    elif path.is_dir():
        folder = path
        if not any(p.is_dir() and "=" in p.name for p in folder.iterdir()):  # not hive
            _folder_symbols(folder, wanted)  # says what it would not read
    else:
        raise CommandError(f"--data: {path}: no such file or directory")
    return data.load_bars(wanted, start, end, root=folder, source=layout)


def _file_read(folder: Path, symbol: str) -> Path | None:
    """The file `quanta_ref.data.load_bars` reads for `symbol`: ``{symbol}.csv``, else
    ``{symbol}.parquet`` (the names as they are: upper-case suffixes on a file system that
    tells cases apart are not read)."""
    return next((p for p in (folder / f"{symbol}{s}" for s in DATA_SUFFIXES) if p.is_file()), None)


def _folder_symbols(folder: Path, wanted: list[str] | None) -> list[str]:
    """The symbols to read from `folder`: `wanted`, or every symbol with a file there. What
    is not read is said on stderr: a file with an upper-case suffix (refused if its symbol is
    wanted), a .parquet file beside the .csv file of its symbol."""
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError as exc:
        raise CommandError(f"--data: cannot list {folder}: {exc.strerror or exc}") from None
    candidates = [p for p in files if p.suffix.lower() in DATA_SUFFIXES]
    unread = [p for p in candidates if _file_read(folder, p.stem) is None]
    listing = wanted is None
    if wanted is None:
        wanted = sorted({p.stem for p in candidates} - {p.stem for p in unread})
        if not wanted:
            held = ", ".join(p.name for p in files[:5]) + (" ..." if len(files) > 5 else "")
            why = "; the suffix must be lower-case" if unread else ""
            raise CommandError(
                f"--data: no .csv or .parquet file in {folder}"
                + (f" (it holds {held}{why})" if files else "")
            )
    for symbol in wanted:
        miscased = [p.name for p in unread if p.stem == symbol]
        if miscased:
            raise CommandError(
                f"--data: {folder}: {', '.join(miscased)} is not read, the suffix must be "
                f"lower-case .csv or .parquet; rename it"
            )
    for each in candidates:
        read = _file_read(folder, each.stem)
        if read is None and listing:
            print(f"quanta run: skipped {each} (the suffix must be lower-case)", file=sys.stderr)
        elif read is not None and each.stem in wanted and not read.samefile(each):
            print(f"quanta run: skipped {each} ({read.name} is read)", file=sys.stderr)
    return wanted


def _show_progress(strategy: Strategy, n_bars: int, enabled: bool) -> Any:
    """A tqdm bar over the rows on stderr (only when it is a terminal, and once the run has
    taken `PROGRESS_DELAY` seconds), moved by the
    strategy's own `on_bar`, which is wrapped on this instance: the engine is not touched.
    A strategy without `on_bar` runs without callbacks per bar (fast) and without a bar.
    Returns the function that closes the bar."""
    inner = strategy_callbacks(strategy)["on_bar"]
    if not enabled or inner is None:
        return lambda: None
    from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs in the dev extra

    bar = tqdm(
        total=n_bars,
        disable=None,  # on a terminal only
        file=sys.stderr,
        unit="bar",
        desc="backtest",
        delay=PROGRESS_DELAY,
    )
    done = [0]

    def on_bar(ctx: Any, event: Any) -> None:
        row = ctx.bar_index + 1
        if row != done[0]:
            bar.update(row - done[0])
            done[0] = row
        inner(ctx, event)

    strategy.__dict__["on_bar"] = on_bar  # this instance only
    return bar.close


def _demo(args: argparse.Namespace) -> int:
    report = _report_path(args.report)
    bars = data.load_sample(args.symbol)
    engine = Engine(
        backend=args.backend, initial_cash=1_000_000.0, commission_rate=0.0003, fill_at="next_open"
    )
    strategy = SmaCross(fast=args.fast, slow=args.slow)
    started = time.perf_counter()
    result = engine.run(bars, strategy)
    elapsed = time.perf_counter() - started
    first, last = (
        str(bars.timestamps[i].astype("datetime64[ns]").astype("datetime64[D]")) for i in (0, -1)
    )
    print(
        f"quanta demo: SMA({args.fast})/SMA({args.slow}) crossover, long only, all in, "
        f"on {args.symbol} daily bars {first} .. {last} (adjusted, {bars.n_bars} bars)"
    )
    print(
        f"backend={engine.backend}  initial_cash=1,000,000  commission=0.03%  fills at next open\n"
    )
    print(result.summary())
    print(
        f"\n{len(result.fills)} fills, {len(result.trades)} closed trades; "
        f"run time {elapsed * 1e3:.1f} ms ({bars.n_bars / elapsed:,.0f} bars/s)"
    )
    if report is not None:
        title = f"SMA({args.fast})/SMA({args.slow}) crossover on {args.symbol}"
        print(f"report: {_write_report(result, report, title=title)}")
    return 0


def _bench_modes(chosen: list[str]) -> tuple[str, ...]:
    """The modes of ``--mode`` (repeatable), in `MODES` order: "all" is every mode, "both"
    (its meaning before the compiled mode) callback and array."""
    wanted = set()
    for choice in chosen:
        wanted |= {"all": set(MODES), "both": {"callback", "array"}}.get(choice, {choice})
    return tuple(m for m in MODES if m in wanted)


def _bench(args: argparse.Namespace) -> int:
    if args.tiny:
        sizes = TINY
    else:
        sizes = FULL
    workloads = [w for w in make_workloads(sizes) if not args.workload or w.name in args.workload]
    parts = [p for p in LIMIT_PARTS if not args.workload or p in args.workload]
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    if "rust" in backends and not rust_available():
        if args.backend == "rust":
            print("quanta: error: the Rust backend is not built", file=sys.stderr)
            return 2
        backends = ("python",)
        print("quanta bench: the Rust backend is not built; timing python only", file=sys.stderr)
    modes = _bench_modes(args.mode or ["all"])
    if "compiled" in modes and not numba_available():
        if modes == ("compiled",):
            print("quanta: error: the compiled mode needs numba", file=sys.stderr)
            return 2
        modes = tuple(m for m in modes if m != "compiled")
        print(
            "quanta bench: numba is not installed; leaving out the compiled mode", file=sys.stderr
        )
    if parts and ("rust" not in backends or "array" not in modes):
        print(
            f"quanta bench: leaving out {', '.join(parts)}: they time array jobs on rust",
            file=sys.stderr,
        )
        parts = []

    def log(line: str) -> None:
        print(f"  {line}", file=sys.stderr, flush=True)

    print(
        f"quanta bench: {', '.join([w.name for w in workloads] + parts)}; "
        f"modes {', '.join(modes)}; backends {', '.join(backends)}"
        f"{'; quick' if args.quick else ''}",
        file=sys.stderr,
        flush=True,
    )
    report = bench.run_report(
        workloads,
        backends,
        modes,
        quick=args.quick,
        memory=not args.no_memory,
        numba=not args.no_numba,
        compile_times=not args.no_compile_times,
        sizes=sizes,
        log=log,
        parts=parts,
    )
    print(bench.format_report(report))
    return 0


def _version() -> str:
    try:
        return importlib.metadata.version("quanta")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        from quanta_ref import __version__

        return __version__


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="backtest the Strategy of a Python file on your data, print its statistics",
        description="Backtest the Strategy subclass defined in FILE (a .py file) on daily or "
        "intraday bars, print its statistics, and optionally write an HTML report.",
    )
    run.add_argument("file", metavar="FILE", help="a Python file defining a quanta Strategy")
    run.add_argument(
        "--strategy",
        metavar="NAME",
        help="the Strategy class to run when FILE defines several",
    )
    run.add_argument(
        "--data",
        metavar="PATH",
        help="a directory of CSV/Parquet files (one per symbol, {symbol}.csv or "
        "{symbol}.parquet, lower-case suffix, the .csv when a symbol has both; or files of many "
        "symbols; or hive folders symbol=X/), or one such file; default: the bundled sample "
        "prices (AAPL, GOOG, IBM, MSFT, 2000-2013)",
    )
    run.add_argument(
        "--source",
        choices=("auto", "quanta", "tushare", "akshare", "yfinance"),
        default="auto",
        help="the column layout of the --data files (default: told from each header)",
    )
    run.add_argument(
        "--symbols",
        metavar="A,B",
        help="symbols to load, separated by commas (default: every file of --data, or AAPL "
        "of the sample)",
    )
    run.add_argument("--start", help="first date or time to keep, e.g. 2010-01-01")
    run.add_argument("--end", help="last date or time to keep (a date keeps the whole day)")
    run.add_argument(
        "--backend",
        default="auto",
        help="engine backend: auto (default: rust when the extension is built), python, rust",
    )
    run.add_argument("--cash", type=float, help="initial cash (default 1,000,000)")
    run.add_argument("--commission", type=float, help="commission rate, a fraction of traded value")
    run.add_argument(
        "--market", help="market preset, e.g. cn_a (lots of 100, T+1, stamp duty, limits)"
    )
    run.add_argument(
        "--price-limit",
        type=float,
        help="daily price limit, a fraction of the previous close (overrides the preset's rule, "
        "e.g. for data that is not A-share codes under --market cn_a)",
    )
    run.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a strategy parameter, read as a Python literal, else as text (refused where the "
        "default is a number or True/False); repeat for several",
    )
    run.add_argument("--report", metavar="OUT.html", help="write an HTML report of the run")
    run.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it shows on stderr only when that is a terminal)",
    )
    run.add_argument(
        "--traceback",
        action="store_true",
        help="on an error, show the full Python traceback instead of one line",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of the `quanta` command and its subcommands."""
    parser = argparse.ArgumentParser(prog="quanta", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"quanta {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_run(commands)
    demo = commands.add_parser("demo", help="SMA crossover on the embedded sample data")
    demo.add_argument("--symbol", default="AAPL", help="AAPL, GOOG, IBM or MSFT")
    demo.add_argument("--fast", type=int, default=10, help="fast SMA period (default 10)")
    demo.add_argument("--slow", type=int, default=30, help="slow SMA period (default 30)")
    demo.add_argument(
        "--backend",
        default="auto",
        choices=["python", "rust", "auto"],
        help="auto (default): rust when the extension is built, else python",
    )
    demo.add_argument(
        "--report",
        metavar="PATH",
        help="also write the run's HTML report there (needs plotly: pip install quanta[plot])",
    )
    bench_command = commands.add_parser(
        "bench",
        help="time the benchmark workloads W1-W5, print the markdown tables",
        description="Time the benchmark workloads (W1: 2,520 daily bars; W2: 491,400 "
        "one-minute bars; W3: 100 symbols x 2,520 daily bars; W4: 100 SMA "
        "combinations on W1) in callback, array and compiled mode on both backends and "
        "in a numba loop, measure peak memory in fresh processes and the compiled "
        "strategy's compile times; then the runs at the limit, array jobs on rust (W5: a "
        "momentum rotation of 5,000 symbols x 2,520 daily bars through target weights; "
        "grid10k: 10,000 SMA combinations on W1 through optimize and run_many; scaling: the "
        "W2 crossover on 10 k to 10 M one-minute bars), checked against python where it is "
        "affordable; and print the tables of docs/benchmarks.md (markdown on stdout, "
        "progress on stderr). Takes about ten minutes; --quick a few.",
    )
    bench_command.add_argument(
        "--workload",
        action="append",
        choices=["W1", "W2", "W3", "W4", *LIMIT_PARTS],
        help="run this workload only (repeat for several; default all): W1-W4, or W5, "
        "grid10k, scaling (array jobs on rust)",
    )
    bench_command.add_argument(
        "--backend",
        default="both",
        choices=["python", "rust", "both"],
        help="backends to time (default both)",
    )
    bench_command.add_argument(
        "--mode",
        action="append",
        choices=["callback", "array", "compiled", "all", "both"],
        help="callback (a Strategy), array (signals) or compiled (a CompiledStrategy, needs "
        "numba) runs; repeat for several; all (default): the three; both: callback and array",
    )
    bench_command.add_argument(
        "--quick", action="store_true", help="at most 3 rounds and about 1 s of timing per case"
    )
    bench_command.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the peak-memory runs (one fresh process per case)",
    )
    bench_command.add_argument("--no-numba", action="store_true", help="skip the numba loop")
    bench_command.add_argument(
        "--no-compile-times",
        action="store_true",
        help="skip timing the compiled strategy's compile (two fresh processes)",
    )
    bench_command.add_argument(
        "--tiny",
        action="store_true",
        help="a few hundred bars per workload: checks that the command works "
        "(the figures mean nothing)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `quanta` console script."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "bench":
            return _bench(args)
        return _demo(args)
    except (QuantaError, CommandError) as exc:
        if getattr(args, "traceback", False):
            raise
        kind = "" if isinstance(exc, CommandError) else f"{type(exc).__name__}: "
        print(f"quanta: error: {kind}{_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`quanta run ... | head`): stop quietly, as Unix tools do, and
        # point stdout at /dev/null so that Python's exit flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
