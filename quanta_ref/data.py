"""Getting market data into a `Bars` panel.

Three sources, all ending in the same validated `Bars`:

* `load_sample` / `load_samples`: real daily prices of AAPL, GOOG, IBM and MSFT from
  2000-03-01 to 2013-03-01, shipped inside the package (public domain, see
  ``quanta_ref/_data/NOTICE.md``). Examples, tests and benchmarks run on these offline.
* `load_bars`: your own files, one per symbol, ``{root}/{symbol}.csv`` or
  ``{root}/{symbol}.parquet``.
* `synthetic`: a seeded random walk of any length and width, for benchmarks and property
  tests.

Timestamps are int64 nanoseconds of exchange-local wall-clock time; a daily bar is stamped
at midnight of its trading date. Nothing here needs pandas: CSV goes through the standard
library's `csv` module, and only Parquet needs pyarrow (or pandas).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import gzip
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from quanta_ref.bars import (
    FIELDS,
    TIME_COLUMNS,
    Bars,
    as_timestamps,
    bound_ns,
    column_times,
    not_numbers,
    time_zone,
    zoned_times,
)
from quanta_ref.errors import ConfigError, DataError

__all__ = [
    "SAMPLE_SYMBOLS",
    "Bars",
    "load_bars",
    "load_sample",
    "load_samples",
    "synthetic",
]

SAMPLE_SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")
"""Symbols of the bundled sample prices."""

_SAMPLE_FILE = Path(__file__).resolve().parent / "_data" / "stocks.csv.gz"
_SAMPLE_COLUMNS = ["Ticker", "Date", "Open", "High", "Low", "Close", "Volume", "Adj Close"]
_PRICES = ("open", "high", "low", "close")
_NS_PER_DAY = 86_400 * 10**9
_MAX_NS = int(np.iinfo(np.int64).max)


# ---------------------------------------------------------------------- bundled sample


def load_sample(symbol: str, adjusted: bool = True) -> Bars:
    """Daily bars of one bundled sample stock.

    Parameters
    ----------
    symbol : str
        One of ``AAPL``, ``GOOG``, ``IBM``, ``MSFT``, in any case. ``GOOG`` is Google's
        class A share history (GOOGL today), from its listing on 2004-08-19.
    adjusted : bool, default True
        True for split- and dividend-adjusted prices, False for the prices as traded.
        Adjusting multiplies open, high, low and close of each day by that day's factor
        ``adj_close / close`` from the source, and divides the volume by the same factor, so
        that price times volume (the traded value) is unchanged. The adjusted close equals
        the source's adjusted close up to rounding. Adjusted volumes are not whole numbers.

    Returns
    -------
    Bars
        One column named after the upper-case symbol, one bar per trading day
        (3270 bars from 2000-03-01 to 2013-03-01; 2148 for GOOG).

    Raises
    ------
    DataError
        If `symbol` is not one of the sample symbols.

    Examples
    --------
    >>> bars = load_sample("aapl", adjusted=False)
    >>> bars.symbols, bars.n_bars
    (('AAPL',), 3270)
    """
    return load_samples((symbol,), adjusted=adjusted)


def load_samples(symbols: Iterable[str] = SAMPLE_SYMBOLS, adjusted: bool = True) -> Bars:
    """Daily bars of several bundled sample stocks as one panel.

    The panel's dates are the union of the symbols' trading dates; where a symbol has no row
    on a date (GOOG before its listing in August 2004) it gets a missing bar (all prices NaN,
    volume 0).

    Parameters
    ----------
    symbols : iterable of str, default ("AAPL", "GOOG", "IBM", "MSFT")
        Sample symbols in any case, each at most once; the panel keeps this order.
    adjusted : bool, default True
        Adjusted or as-traded prices, as in `load_sample`.

    Returns
    -------
    Bars

    Raises
    ------
    DataError
        If a symbol is unknown, repeated, or none is given.
    """
    if isinstance(symbols, str):
        symbols = [symbols]
    try:
        given = list(symbols)
    except TypeError:
        raise DataError(
            f"symbols: expected sample symbols such as ('AAPL', 'IBM'), got {symbols!r}"
        ) from None
    wanted = [_sample_symbol(s) for s in given]
    if not isinstance(adjusted, bool):
        raise ConfigError(f"adjusted: expected True or False, got {adjusted!r}")
    if not wanted:
        raise DataError(f"symbol: no sample symbol given; choose from {', '.join(SAMPLE_SYMBOLS)}")
    if len(set(wanted)) != len(wanted):
        dup = next(s for s in wanted if wanted.count(s) > 1)
        raise DataError(f"symbol: {dup!r} asked for more than once")
    table = _read_sample()
    dates = np.unique(np.concatenate([table[s]["date"] for s in wanted]))
    shape = (len(dates), len(wanted))
    panels = {f: np.full(shape, np.nan) for f in FIELDS}
    panels["volume"][:] = 0.0
    for n, s in enumerate(wanted):
        cols = table[s]
        rows = np.searchsorted(dates, cols["date"])
        factor = cols["adj_close"] / cols["close"] if adjusted else 1.0
        for f in _PRICES:
            panels[f][rows, n] = cols[f] * factor
        panels["volume"][rows, n] = cols["volume"] / factor
    timestamps = dates.astype("datetime64[ns]")
    return Bars.from_arrays(
        timestamps,
        panels["open"],
        panels["high"],
        panels["low"],
        panels["close"],
        panels["volume"],
        symbols=wanted,
    )


def _sample_symbol(symbol: Any) -> str:
    name = symbol.upper() if isinstance(symbol, str) else None
    if name not in SAMPLE_SYMBOLS:
        raise DataError(
            f"symbol: {symbol!r} is not a sample symbol; choose from {', '.join(SAMPLE_SYMBOLS)}"
        )
    return name


@functools.lru_cache(maxsize=1)
def _read_sample() -> dict[str, dict[str, np.ndarray]]:
    """Columns of the bundled sample file per ticker, read once; arrays are read-only."""
    raw: dict[str, dict[str, list[str]]] = {}
    keys = ("date", "open", "high", "low", "close", "volume", "adj_close")
    with gzip.open(_SAMPLE_FILE, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if header != _SAMPLE_COLUMNS:
            raise DataError(f"{_SAMPLE_FILE}: unexpected columns {header}")
        for ticker, *values in reader:
            cols = raw.setdefault(ticker, {k: [] for k in keys})
            for k, v in zip(keys, values, strict=True):
                cols[k].append(v)
    table = {}
    for ticker, cols in raw.items():
        arrays = {"date": np.array(cols["date"], dtype="datetime64[D]")}
        arrays.update({k: np.array(cols[k], dtype=np.float64) for k in keys[1:]})
        for arr in arrays.values():
            arr.flags.writeable = False
        table[ticker] = arrays
    return table


# ---------------------------------------------------------------------- your own files


def merge_symbols(panels: Sequence[Bars]) -> Bars:
    """Panels of different symbols side by side, over the union of their timestamps.

    A symbol with no row at a timestamp of the union gets a missing bar there (all prices
    NaN, volume 0), as `load_samples` does for a symbol listed later.

    Raises
    ------
    DataError
        If no panel is given or a symbol appears in more than one panel.
    """
    panels = list(panels)
    if not panels:
        raise DataError("panels: no panel given")
    symbols = [symbol for panel in panels for symbol in panel.symbols]
    if len(set(symbols)) != len(symbols):
        dup = next(s for s in symbols if symbols.count(s) > 1)
        raise DataError(f"symbol: {dup!r} is in more than one panel")
    if len(panels) == 1:
        return panels[0]
    times = np.unique(np.concatenate([panel.timestamps for panel in panels]))
    merged = {field: np.full((len(times), len(symbols)), np.nan) for field in FIELDS}
    merged["volume"][:] = 0.0
    column = 0
    for panel in panels:
        rows = np.searchsorted(times, panel.timestamps)
        columns = slice(column, column + panel.n_symbols)
        for field in FIELDS:
            merged[field][rows, columns] = getattr(panel, field)
        column += panel.n_symbols
    return Bars.from_arrays(
        times.view("datetime64[ns]"),
        merged["open"],
        merged["high"],
        merged["low"],
        merged["close"],
        merged["volume"],
        symbols=symbols,
    )


def load_bars(
    symbol: str,
    start: Any = None,
    end: Any = None,
    root: str | os.PathLike[str] | None = None,
    *,
    encoding: str = "utf-8-sig",
    tz: Any = None,
) -> Bars:
    """Daily or intraday bars of one symbol from ``{root}/{symbol}.csv`` or ``.parquet``.

    The file has one row per bar and a header naming a time column (``date``, ``datetime``,
    ``timestamp``, ``time`` or ``trade_date``) and the columns ``open``, ``high``, ``low``,
    ``close`` and ``volume``, in any case and any order; other columns are ignored. Rows may
    come in any order: they are sorted by time. Times are exchange-local wall-clock times:
    ISO-8601 text such as ``2020-01-02`` or ``2020-01-02 09:30:00``, or compact ``20200102``
    dates (text, or integers in Parquet), between 1677-09-21 and 2262-04-11, without a time
    zone. A time with a zone (text such as ``2020-01-02T09:30+08:00``, or a zoned Parquet
    column) is refused unless `tz` names the exchange's zone. An empty price cell reads as NaN,
    so a row with all four prices empty is a missing bar.

    Parameters
    ----------
    symbol : str
        File name without extension, e.g. ``"000001.SZ"``; becomes the panel's symbol.
    start, end : date, str, numpy.datetime64 or None
        Keep bars with ``start <= time`` and time on or before `end`. Both are inclusive;
        a plain date as `end` keeps the whole of that day. None leaves that side open.
    root : path or None
        Directory holding the files; defaults to the ``QUANTA_DATA_DIR`` environment
        variable.
    encoding : str, default "utf-8-sig"
        Text encoding of a CSV file: UTF-8, with or without a byte-order mark. Files from
        many A-share vendors are ``"gbk"`` or ``"gb18030"``.
    tz : str, tzinfo or None
        The exchange's time zone, e.g. ``"Asia/Shanghai"``: zoned times (in the file, or a
        zoned `start`/`end`) are converted to its wall-clock time. Times without a zone are
        already wall-clock times and are kept as they are. None refuses zoned times.

    Returns
    -------
    Bars
        One column named `symbol`.

    Raises
    ------
    DataError
        If no directory is given, no file exists, the file cannot be read or decoded, a
        column is missing, a cell cannot be read, a time has a zone and `tz` is None, no bar
        falls between `start` and `end`, Parquet is asked for without pyarrow or pandas
        installed, or the bars break a rule of `Bars`.
    ConfigError
        If `encoding` or `tz` is unknown.

    Notes
    -----
    When both ``{symbol}.csv`` and ``{symbol}.parquet`` exist, the CSV file is read.

    Examples
    --------
    >>> bars = load_bars("000001.SZ", start="2020-01-01", end="2023-12-31")  # doctest: +SKIP
    """
    if (
        not isinstance(symbol, str)
        or not symbol
        or symbol in (".", "..")
        or any(sep in symbol for sep in ("/", "\\", os.sep))
    ):
        raise DataError(f"symbol: expected a file name without directory, got {symbol!r}")
    zone = time_zone(tz)
    _check_encoding(encoding)
    if root is None:
        root = os.environ.get("QUANTA_DATA_DIR") or None
        if root is None:
            raise DataError(
                f"root: no data directory for {symbol!r}; pass root= or set the "
                f"QUANTA_DATA_DIR environment variable"
            )
    try:
        folder = Path(root)
    except TypeError:
        raise DataError(f"root: expected a directory path, got {root!r}") from None
    lo_ns = None if start is None else bound_ns(start, "start", False, zone)
    hi_ns = None if end is None else bound_ns(end, "end", True, zone)
    if lo_ns is not None and hi_ns is not None and lo_ns > hi_ns:
        raise DataError(f"start: {start!r} is after end {end!r}")
    candidates = [folder / f"{symbol}.csv", folder / f"{symbol}.parquet"]
    try:
        path = next((p for p in candidates if p.is_file()), None)
    except OSError as exc:  # a name too long for the file system, say
        raise DataError(
            f"symbol: cannot look for the file of {_shorten(symbol)} in {folder} "
            f"({exc.strerror or exc})"
        ) from None
    if path is None:
        raise DataError(
            f"symbol: no file for {symbol!r}; looked for {' and '.join(str(p) for p in candidates)}"
        )
    if path.suffix == ".csv":
        times, columns = _read_csv(path, encoding, zone)
    else:
        times, columns = _read_parquet(path, zone)

    order = np.argsort(times, kind="stable")
    times = times[order]
    lo = 0 if lo_ns is None else int(np.searchsorted(times, lo_ns, "left"))
    hi = len(times) if hi_ns is None else int(np.searchsorted(times, hi_ns, "right"))
    if hi <= lo:
        raise DataError(
            f"timestamps: no bars of {symbol!r} between {start!r} and {end!r} in {path}"
        )
    keep = order[lo:hi]
    try:
        return Bars.from_arrays(
            times[lo:hi].view("datetime64[ns]"),
            columns["open"][keep],
            columns["high"][keep],
            columns["low"][keep],
            columns["close"][keep],
            columns["volume"][keep],
            symbols=[symbol],
        )
    except DataError as exc:
        raise DataError(f"{exc} (in {path})") from None


def _shorten(text: str, limit: int = 80) -> str:
    """repr of `text`, cut to `limit` characters with its length said."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text)} characters)"


def _check_encoding(encoding: Any) -> None:
    """Refuse what `open` would not take as a text encoding: unknown names, and codecs
    that exist but do not turn bytes into text ("rot13", "bz2_codec")."""
    examples = "e.g. 'utf-8-sig', 'gbk', 'gb18030'"
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError, ValueError):
        raise ConfigError(f"encoding: unknown text encoding {encoding!r}; {examples}") from None
    try:
        io.TextIOWrapper(io.BytesIO(), encoding=encoding)
    except LookupError:
        raise ConfigError(
            f"encoding: {encoding!r} is a codec but not a text encoding; {examples}"
        ) from None


def _read_csv(
    path: Path, encoding: str, zone: dt.tzinfo | None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time column as int64 ns and the OHLCV columns as float64, read with the csv module."""
    body: list[list[str]] = []
    lines: list[int] = []
    header = None
    try:
        with open(path, encoding=encoding, newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader, None)
                for row in reader:
                    if row:
                        body.append(row)
                        lines.append(reader.line_num)
            except csv.Error as exc:
                raise DataError(f"{path}: line {reader.line_num} cannot be read ({exc})") from None
    except UnicodeError as exc:  # UnicodeDecodeError, or e.g. a UTF-16 file without a BOM
        reason = getattr(exc, "reason", exc)
        raise DataError(
            f"{path}: cannot decode the file as {encoding} ({reason}); pass the file's "
            f"encoding, e.g. encoding='gbk' or encoding='gb18030' for files from many A-share "
            f"vendors"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if header is None:
        raise DataError(f"{path}: empty file, expected a header row")
    if not body:
        raise DataError(f"timestamps: no bars (no data rows) in {path}")
    index = _column_index([h.strip() for h in header], path)
    width = max(index.values()) + 1
    short = next((i for i, r in enumerate(body) if len(r) < width), None)
    if short is not None:
        raise DataError(
            f"{path}: line {lines[short]} has {len(body[short])} cells, expected at least {width}"
        )

    def where(i: int) -> str:
        return f"line {lines[i]} of {path}"

    times = column_times(
        np.array([r[index["time"]] for r in body], dtype=object), "timestamp", zone, where
    )
    columns = {f: _parse_floats([r[index[f]] for r in body], f, where) for f in FIELDS}
    return times, columns


def _column_index(names: Sequence[str], path: Path) -> dict[str, int]:
    """Column number of the time column ("time") and of each OHLCV field."""
    lower = [str(n).lower() for n in names]
    _no_twice(names, path)
    index = {}
    time = next((c for c in TIME_COLUMNS if c in lower), None)
    if time is None:
        raise DataError(
            f"timestamp: no date/datetime/timestamp/trade_date column in {path} "
            f"(columns: {list(names)})"
        )
    index["time"] = lower.index(time)
    for f in FIELDS:
        if f not in lower:
            raise DataError(f"{f}: column missing from {path} (columns: {list(names)})")
        index[f] = lower.index(f)
    return index


def _no_twice(names: Sequence[str], path: Path) -> None:
    """Refuse a file with two columns that could each be the one read (in any case)."""
    lower = [str(n).lower() for n in names]
    for key in (*TIME_COLUMNS, *FIELDS):
        if lower.count(key) > 1:
            same = [n for n in names if str(n).lower() == key]
            raise DataError(f"{key}: more than one such column {same} in {path}")


def _parse_floats(cells: Sequence[str], field: str, where: Callable[[int], str]) -> np.ndarray:
    """Text cells to float64; an empty cell is NaN (a missing bar when all prices are)."""
    cleaned = [c.strip() or "nan" for c in cells]
    try:
        return np.array(cleaned, dtype=np.float64)
    except ValueError:
        pass
    values = np.empty(len(cleaned))
    for i, text in enumerate(cleaned):
        try:
            values[i] = float(text)
        except ValueError:
            raise DataError(
                f"{field}: cannot read {cells[i]!r} as a number at {where(i)}"
            ) from None
    return values


def _read_parquet(path: Path, zone: dt.tzinfo | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Time column as int64 ns and the OHLCV columns as float64, read with pyarrow or pandas."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        pq = None
    stored_zone: Any = None
    if pq is not None:
        try:
            table = pq.read_table(path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise DataError(f"{path}: cannot read the Parquet file ({exc})") from None
        names = list(table.column_names)
        _no_twice(names, path)
        named = {n.lower(): n for n in names}
        if not any(c in named for c in TIME_COLUMNS) and "__index_level_0__" in names:
            named["timestamp"] = "__index_level_0__"  # a pandas DatetimeIndex without a name
        time_name = next((named[c] for c in TIME_COLUMNS if c in named), None)
        if time_name is not None:
            stored_zone = getattr(table.schema.field(time_name).type, "tz", None)

        def column(name: str) -> Any:
            return np.asarray(table.column(name).to_numpy())
    else:
        try:
            import pandas as pd
        except ImportError:
            raise DataError(
                f"{path}: reading Parquet needs pyarrow; install it with "
                f"pip install pyarrow (or the 'pandas' extra of quanta)"
            ) from None
        try:
            frame = pd.read_parquet(path)
        except ImportError as exc:
            raise DataError(f"{path}: reading Parquet needs pyarrow ({exc})") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read the Parquet file ({exc})") from None
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index(names="__index__")
        names = [str(c) for c in frame.columns]
        _no_twice(names, path)
        named = {n.lower(): n for n in names}
        if not any(c in named for c in TIME_COLUMNS) and "__index__" in named:
            named["timestamp"] = "__index__"

        def column(name: str) -> Any:
            return frame[name]

    time_name = next((named[c] for c in TIME_COLUMNS if c in named), None)
    if time_name is None:
        raise DataError(
            f"timestamp: no date/datetime/timestamp/trade_date column in {path} (columns: {names})"
        )
    raw_times = column(time_name)
    field = f"timestamp (column {time_name!r})"

    def where(i: int) -> str:
        return f"row {i} of {path}"

    if getattr(raw_times, "dtype", None) is not None and raw_times.dtype.kind == "f":
        raise DataError(
            f"{field}: {path} holds {raw_times.dtype}; expected dates, datetimes, "
            f"ISO text or YYYYMMDD integers"
        )
    if stored_zone:
        times = zoned_times(np.asarray(raw_times), field, zone, stored_zone, where)
    else:
        times = column_times(raw_times, field, zone, where)
    columns = {}
    for f in FIELDS:
        if f not in named:
            raise DataError(f"{f}: column missing from {path} (columns: {names})")
        raw = column(named[f])
        if getattr(raw.dtype, "kind", "O") == "O" and hasattr(raw, "isna"):  # pandas' NA
            raw = raw.to_numpy(dtype=object, na_value=None)
        wrong = not_numbers(raw)
        if wrong is not None:
            raise DataError(f"{f}: column {named[f]!r} of {path} holds {wrong}, not numbers")
        try:
            columns[f] = np.asarray(raw, dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"{f}: cannot read column {named[f]!r} of {path} as numbers ({exc})"
            ) from None
    return times, columns


# ---------------------------------------------------------------------- synthetic data

_FREQ = re.compile(r"^\s*(\d*)\s*(D|B|h|H|min|T|s|S|ms|us|ns)\s*$")
_UNIT_NS = {"h": 3_600 * 10**9, "min": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_UNIT_ALIASES = {"B": "D", "H": "h", "T": "min", "S": "s"}


def synthetic(
    n_bars: int,
    n_symbols: int = 1,
    seed: int = 0,
    start: Any = "2000-01-03",
    freq: str = "1D",
    start_price: float = 100.0,
    volatility: float = 0.02,
) -> Bars:
    """A seeded geometric random walk of consistent OHLCV bars.

    Each bar opens at the previous close moved by a small gap (a quarter of `volatility`),
    closes at the open moved by a normal log-return of standard deviation `volatility`,
    and its high and low sit above and below both by a random excursion. Volumes are
    positive whole numbers around one million. The same arguments give the same bars, on
    any machine: everything is drawn from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n_bars : int
        Number of bars T, at least 1.
    n_symbols : int, default 1
        Number of symbols N, at least 1; they are named ``S0``, ``S1``, ...
    seed : int, default 0
        Seed of the random generator.
    start : date, str or numpy.datetime64, default "2000-01-03"
        Time of the first bar. For daily bars it is rolled forward to a weekday.
    freq : str, default "1D"
        Spacing of the bars. ``"1D"`` (or ``"D"``, ``"B"``) is one bar per business day,
        Monday to Friday, stamped at midnight; ``"2D"`` every second business day.
        ``"1min"``, ``"5min"``, ``"1h"``, ``"30s"`` and the like space bars evenly, around
        the clock and through weekends.
    start_price : float, default 100.0
        Close before the first bar, positive.
    volatility : float, default 0.02
        Standard deviation of the per-bar log-return, at least 0.

    Returns
    -------
    Bars

    Raises
    ------
    ConfigError
        If an argument is out of range, `freq` cannot be read, the bars would go beyond
        2262-04-11, or n_bars x n_symbols is too large to build in memory (more cells than
        numpy can address, or an allocation fails).

    Examples
    --------
    >>> bars = synthetic(250, n_symbols=3, seed=7)
    >>> bars.symbols
    ('S0', 'S1', 'S2')
    """
    if isinstance(n_bars, bool) or not isinstance(n_bars, (int, np.integer)) or n_bars < 1:
        raise ConfigError(f"n_bars: expected an integer >= 1, got {n_bars!r}")
    if isinstance(n_symbols, bool) or not isinstance(n_symbols, (int, np.integer)) or n_symbols < 1:
        raise ConfigError(f"n_symbols: expected an integer >= 1, got {n_symbols!r}")
    if not _is_finite(start_price) or start_price <= 0:
        raise ConfigError(f"start_price: expected a finite number > 0, got {start_price!r}")
    if not _is_finite(volatility) or volatility < 0:
        raise ConfigError(f"volatility: expected a finite number >= 0, got {volatility!r}")
    shape = (int(n_bars), int(n_symbols))
    too_large = ConfigError(
        f"n_bars, n_symbols: a panel of {shape[0]} bars x {shape[1]} symbols is too large "
        f"to build in memory"
    )
    if shape[0] * shape[1] > np.iinfo(np.intp).max // 8:  # more bytes than numpy can address
        raise too_large
    try:
        return _synthetic(shape, seed, start, freq, start_price, volatility)
    except MemoryError:
        raise too_large from None


def _synthetic(
    shape: tuple[int, int], seed: Any, start: Any, freq: str, start_price: Any, volatility: Any
) -> Bars:
    timestamps = _synthetic_times(shape[0], start, freq)
    try:
        rng = np.random.default_rng(seed)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"seed: {seed!r} cannot seed numpy's default_rng ({exc})") from None

    gap = rng.normal(0.0, volatility / 4.0, shape)
    body = rng.normal(0.0, volatility, shape)
    up = np.abs(rng.normal(0.0, volatility / 2.0, shape))
    down = np.abs(rng.normal(0.0, volatility / 2.0, shape))
    volume = np.round(rng.lognormal(np.log(1e6), 0.5, shape)) + 1.0

    # Log prices: each open is the previous close plus a gap, each close the open plus a body.
    # A huge volatility overflows somewhere below: the check after the block refuses it.
    with np.errstate(all="ignore"):
        log_close = np.log(float(start_price)) + np.cumsum(gap + body, axis=0)
        log_open = log_close - body
        open_ = np.exp(log_open)
        close = np.exp(log_close)
        high = np.maximum(open_, close) * np.exp(up)
        low = np.minimum(open_, close) * np.exp(-down)
    if not (np.isfinite(high).all() and (low > 0.0).all() and np.isfinite(low).all()):
        raise ConfigError(
            f"volatility: the walk from start_price {start_price!r} with volatility "
            f"{volatility!r} leaves the float64 range; use a smaller volatility"
        )
    symbols = [f"S{i}" for i in range(shape[1])]
    times = timestamps.view("datetime64[ns]")  # checked above; may lie in 1970
    return Bars.from_arrays(times, open_, high, low, close, volume, symbols=symbols)


def _is_finite(value: Any) -> bool:
    """A real number (not a bool) that converts to a finite float (10**400 does not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _synthetic_times(n_bars: int, start: Any, freq: str) -> np.ndarray:
    match = _FREQ.match(freq) if isinstance(freq, str) else None
    if match is None:
        raise ConfigError(
            f"freq: cannot read {freq!r}; use '1D' for business days or a "
            f"fixed spacing such as '1h', '5min', '30s'"
        )
    count = int(match.group(1) or 1)
    unit = _UNIT_ALIASES.get(match.group(2), match.group(2))
    if count < 1:
        raise ConfigError(f"freq: the count in {freq!r} must be at least 1")
    try:
        first = bound_ns(start, "start", False)
    except DataError as exc:
        raise ConfigError(str(exc)) from None
    # Exact integers: the spacing, then the last bar (a business day is at least a day).
    step = count * (_NS_PER_DAY if unit == "D" else _UNIT_NS[unit])
    if step > _MAX_NS:
        raise ConfigError(f"freq: a spacing of {freq!r} is beyond the int64 nanosecond range")
    if first + (n_bars - 1) * step > _MAX_NS:
        raise ConfigError(
            f"n_bars: {n_bars} bars of {freq!r} from {start!r} go beyond the "
            f"int64 nanosecond range (2262-04-11)"
        )
    if unit == "D":
        day = np.datetime64(first, "ns").astype("datetime64[D]")
        offsets = np.arange(n_bars, dtype=np.int64) * count
        days = np.busday_offset(day, offsets, roll="forward")
        try:
            return as_timestamps(days)  # refuses dates beyond 2262 instead of wrapping
        except DataError as exc:
            raise ConfigError(f"n_bars: {n_bars} bars from {start!r} {exc}") from None
    return first + np.arange(n_bars, dtype=np.int64) * step


def load_actions(
    path: str | os.PathLike[str],
    source: str = "auto",
    *,
    symbol: str | None = None,
    encoding: str | None = None,
) -> Any:
    """Read a file of corporate actions (CSV or Parquet) as a
    `quanta_ref.actions.CorporateActions`; attach it with ``bars.with_market(actions=...)``.

    Parameters
    ----------
    path : a ``.csv`` or ``.parquet`` file
    source : {"auto", "quanta", "tushare", "akshare"}
        The column layout (see `CorporateActions.from_dataframe`); "auto" tells it by the
        columns.
    symbol : the symbol of every row, for a file without a symbol column (akshare's)
    encoding : str or None
        Text encoding of a CSV file. None: UTF-8 (with or without a byte-order mark), else
        GB18030 (which reads GBK and GB2312), as written by many A-share tools.

    Raises
    ------
    DataError
        If the file is missing or unreadable, or a value is bad (see `CorporateActions`).
    ConfigError
        If `encoding` is unknown.
    """
    import pandas as pd

    from quanta_ref.actions import CorporateActions

    file = Path(path)
    if not file.is_file():
        raise DataError(f"path: no file {str(file)!r}")
    # Codes such as 000001 keep their leading zeros: symbol columns are read as text.
    text = {name: str for name in ("symbol", "ts_code", "代码", "股票代码")}
    try:
        if file.suffix.lower() == ".parquet":
            frame = pd.read_parquet(file)
        elif encoding is not None:
            _check_encoding(encoding)
            frame = pd.read_csv(file, encoding=encoding, dtype=text)
        else:
            try:
                frame = pd.read_csv(file, encoding="utf-8-sig", dtype=text)
            except UnicodeDecodeError:
                frame = pd.read_csv(file, encoding="gb18030", dtype=text)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{file}: cannot decode the file as {encoding} ({exc.reason}); pass the file's "
            "encoding, e.g. encoding='gb18030'"
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{file}: cannot read the file ({exc})") from None
    return CorporateActions.from_dataframe(frame, source, symbol=symbol)
