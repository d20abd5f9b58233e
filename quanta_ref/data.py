"""Getting market data into a `Bars` panel.

Three sources, all ending in the same validated `Bars`:

* `load_sample` / `load_samples`: real daily prices of AAPL, GOOG, IBM and MSFT from
  2000-03-01 to 2013-03-01, shipped inside the package (public domain, see
  ``quanta_ref/_data/NOTICE.md``). Examples, tests and benchmarks run on these offline.
* `load_bars`: your own files, one or many symbols in one call: ``{root}/{symbol}.csv`` or
  ``.parquet``, long files of many symbols (a tushare export), or a hive-partitioned Parquet
  folder; columns as quanta, tushare, akshare or yfinance name them (`quanta_ref.sources`).
* `synthetic`: a seeded random walk of any length and width, for benchmarks and property
  tests.

Timestamps are int64 nanoseconds of exchange-local wall-clock time; a daily bar is stamped
at midnight of its trading date. Nothing here needs pandas: CSV goes through the standard
library's `csv` module, and only Parquet needs pyarrow (or pandas; a hive folder pyarrow).
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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from quanta_ref import sources
from quanta_ref.bars import (
    FIELDS,
    Bars,
    as_timestamps,
    bound_ns,
    columns_bars,
    select_rows,
    table_columns,
    time_zone,
)
from quanta_ref.errors import ConfigError, DataError
from quanta_ref.sources import SYMBOL_COLUMNS

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
    return Bars.concat(panels, axis="symbols")  # market data (limits, ST, listing) included


def load_bars(
    symbols: str | Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    root: str | os.PathLike[str] | None = None,
    *,
    source: str = "auto",
    encoding: str | None = None,
    tz: Any = None,
) -> Bars:
    """Daily or intraday bars of one symbol, several, or all, from the files in `root`, as
    one panel.

    Where a symbol's bars are found:

    1. ``{root}/{symbol}.csv``, else ``{root}/{symbol}.parquet``: the file is the
       symbol's (a symbol column in it may hold one value only, under any spelling, such
       as akshare's ``000001`` in ``000001.SZ.csv``). Listing every symbol (`symbols`
       None), a file is named after its symbol when it has no symbol column, or when the
       column's one value is the file name or its part before a dot (``000001`` in
       ``000001.SZ.csv``); otherwise its symbols are those of its symbol column;
    2. else the rows of that symbol in the other ``.csv``/``.parquet`` files of `root` that
       have a symbol column (long files, e.g. a tushare export of a date range). A symbol
       found in more than one such file is refused as ambiguous;
    3. a `root` of hive partitions, ``{root}/symbol=000001.SZ/part-0.parquet`` (any number
       of part files per folder, the key ``symbol``, ``ticker`` or ``ts_code``), is read as
       one Parquet dataset: the partition key is the symbol, and only the partitions of the
       requested symbols are opened.

    Each file's columns follow `source` (see `quanta_ref.sources`). ``"quanta"``: a time
    column (``date``, ``datetime``, ``timestamp``, ``time`` or ``trade_date``), ``open``,
    ``high``, ``low``, ``close``, ``volume`` in shares, in any case and order, an optional
    ``symbol``/``ticker``/``ts_code``. ``"tushare"``: ``trade_date``, ``ts_code``, ``vol`` in
    lots of 100 shares (volume = vol x 100); ``amount`` (thousands of CNY) is not stored.
    ``"akshare"``: 日期, 股票代码, 开盘, 收盘, 最高, 最低, 成交量 in lots of 100 shares
    (volume = 成交量 x 100), codes as six-digit text; 成交额 is not stored. ``"yfinance"``:
    ``Date``/``Datetime``, ``Open`` ... ``Volume``; ``Adj Close`` is not read (prices as
    given). ``"auto"`` detects the source of each file from its header. Other columns are
    ignored; ``up_limit``, ``down_limit`` and ``is_st`` are recognised but not stored yet.

    Rows may come in any order: they are sorted by time. Times are exchange-local wall-clock
    times: ISO-8601 text such as ``2020-01-02`` or ``2020-01-02 09:30:00``, or compact
    ``20200102`` dates (text, or integers in Parquet), between 1677-09-21 and 2262-04-11,
    without a time zone. A time with a zone (text such as ``2020-01-02T09:30+08:00``, or a
    zoned Parquet column) is refused unless `tz` names the exchange's zone. An empty price
    cell reads as NaN, so a row with all four prices empty is a missing bar.

    Parameters
    ----------
    symbols : str, list of str, or None
        A symbol such as ``"000001.SZ"``, a list of them (the panel keeps their order), or
        None for every symbol in `root`: each file in order of name, a long file's symbols
        in order of first appearance, every hive partition.
    start, end : date, str, numpy.datetime64 or None
        Keep bars with ``start <= time`` and time on or before `end`. Both are inclusive;
        a plain date as `end` keeps the whole of that day. None leaves that side open.
    root : path or None
        Directory holding the files; defaults to the ``QUANTA_DATA_DIR`` environment
        variable.
    source : {"auto", "quanta", "tushare", "akshare", "yfinance"}, default "auto"
        The column convention of the files.
    encoding : str or None, default None
        Text encoding of the CSV files. None reads UTF-8 (with or without a byte-order
        mark) and, for a file whose bytes are not UTF-8, GB18030, the superset of GBK that
        many A-share vendors write. That choice is safe: GBK text (two bytes per Chinese
        character, the first >= 0x81) is almost never valid UTF-8, whose multi-byte
        sequences follow a strict lead/continuation pattern. Any Python text codec name
        forces that encoding.
    tz : str, tzinfo or None
        The exchange's time zone, e.g. ``"Asia/Shanghai"``: zoned times (in the file, or a
        zoned `start`/`end`) are converted to its wall-clock time. Times without a zone are
        already wall-clock times and are kept as they are. None refuses zoned times.

    Returns
    -------
    Bars
        One column per symbol over the union of the symbols' timestamps; a symbol without
        a bar at a timestamp has a missing bar there.

    Raises
    ------
    DataError
        If no directory is given, no file holds a symbol or more than one does, a file
        cannot be read or decoded, its columns fit no source or several (``"auto"``), a
        column is missing, a cell cannot be read, a time has a zone and `tz` is None, no bar
        of a symbol falls between `start` and `end`, Parquet is asked for without pyarrow
        or pandas installed, or the bars break a rule of `Bars`.
    ConfigError
        If `source`, `encoding` or `tz` is unknown.

    Examples
    --------
    >>> bars = load_bars("000001.SZ", start="2020-01-01", end="2023-12-31")  # doctest: +SKIP
    >>> bars = load_bars(["600519.SH", "000001.SZ"], root="tushare/")  # doctest: +SKIP
    """
    wanted = None if symbols is None else _symbol_names(symbols)
    zone = time_zone(tz)
    if encoding is not None:
        _check_encoding(encoding)
    sources.check_source(source)
    folder = _data_folder(root, wanted)
    lo_ns = None if start is None else bound_ns(start, "start", False, zone)
    hi_ns = None if end is None else bound_ns(end, "end", True, zone)
    if lo_ns is not None and hi_ns is not None and lo_ns > hi_ns:
        raise DataError(f"start: {start!r} is after end {end!r}")
    files = _Files(folder, source, encoding, zone, (lo_ns, hi_ns), f"between {start!r} and {end!r}")
    key = _hive_key(folder)
    panel = files.hive(key, wanted) if key else files.panel(wanted)
    return panel if wanted is None else panel.select(wanted)


def _symbol_names(symbols: Any) -> list[str]:
    """The `symbols` argument as a list of names that can each be a file name."""
    names = [symbols] if isinstance(symbols, str) else symbols
    try:
        names = list(names)
    except TypeError:
        raise DataError(f"symbols: expected a name or a list of names, got {symbols!r}") from None
    if not names:
        raise DataError("symbols: no symbols")
    for symbol in names:
        if (
            not isinstance(symbol, str)
            or not symbol
            or symbol in (".", "..")
            or any(sep in symbol for sep in ("/", "\\", os.sep))
        ):
            raise DataError(f"symbol: expected a file name without directory, got {symbol!r}")
    if len(set(names)) != len(names):
        dup = next(s for s in names if names.count(s) > 1)
        raise DataError(f"symbols: {dup!r} appears more than once")
    return names


def _data_folder(root: Any, wanted: list[str] | None) -> Path:
    if root is None:
        root = os.environ.get("QUANTA_DATA_DIR") or None
        if root is None:
            what = "the bars" if wanted is None else ", ".join(map(repr, wanted))
            raise DataError(
                f"root: no data directory for {what}; pass root= or set the "
                f"QUANTA_DATA_DIR environment variable"
            )
    try:
        folder = Path(root)
    except TypeError:
        raise DataError(f"root: expected a directory path, got {root!r}") from None
    try:
        is_folder = folder.is_dir()
    except (OSError, ValueError) as exc:  # a path too long, or with a NUL character
        raise DataError(f"root: cannot look at {_shorten(str(folder))} ({exc})") from None
    if not is_folder:
        raise DataError(f"root: {folder} is not a directory")
    return folder


def _hive_key(folder: Path) -> str | None:
    """The partition key when `folder` holds hive partitions (``symbol=...`` folders)."""
    try:
        keys = {p.name.partition("=")[0] for p in folder.iterdir() if p.is_dir() and "=" in p.name}
    except OSError as exc:
        raise DataError(f"root: cannot list {folder} ({exc.strerror or exc})") from None
    found = sorted(keys & set(SYMBOL_COLUMNS))
    if len(keys) > 1 or (keys and not found):
        raise DataError(
            f"root: {folder} holds partitions by {sorted(keys)}; expected one key of "
            f"{', '.join(SYMBOL_COLUMNS)} (folders such as symbol=000001.SZ)"
        )
    return found[0] if found else None


class _Files:
    """What `load_bars` reads in one folder, with its settings: the panel of the wanted
    symbols from the files, or from a hive dataset."""

    def __init__(
        self,
        folder: Path,
        source: str,
        encoding: str | None,
        zone: dt.tzinfo | None,
        bounds: tuple[int | None, int | None],
        span: str,
    ) -> None:
        self.folder, self.source, self.encoding, self.zone = folder, source, encoding, zone
        self.bounds, self.span = bounds, span

    # ------------------------------------------------------------ one file per symbol, or long
    def panel(self, wanted: list[str] | None) -> Bars:
        if wanted is None:
            files = self._data_files()
            if not files:
                raise DataError(f"root: no .csv or .parquet file in {self.folder}")
            panels = [self._panel(path, None, None) for path in files]
            seen: dict[str, Path] = {}
            for path, panel in zip(files, panels, strict=True):
                for symbol in panel.symbols:
                    if seen.setdefault(symbol, path) != path:
                        raise DataError(
                            f"symbol: {symbol!r} is in {seen[symbol]} and in {path}: "
                            f"ambiguous; keep it in one file"
                        )
            return merge_symbols(panels)
        own = {symbol: self._own_file(symbol) for symbol in wanted}
        panels = [self._panel(path, symbol, None) for symbol, path in own.items() if path]
        rest = [symbol for symbol, path in own.items() if path is None]
        if rest:
            panels += self._from_long_files(rest, skip={p for p in own.values() if p})
        return merge_symbols(panels)

    def _own_file(self, symbol: str) -> Path | None:
        candidates = [self.folder / f"{symbol}.csv", self.folder / f"{symbol}.parquet"]
        try:
            return next((p for p in candidates if p.is_file()), None)
        except OSError as exc:  # a name too long for the file system, say
            raise DataError(
                f"symbol: cannot look for the file of {_shorten(symbol)} in {self.folder} "
                f"({exc.strerror or exc})"
            ) from None

    def _data_files(self) -> list[Path]:
        """The data files of the folder, by name; a .parquet file beside the .csv file of the
        same name is left out, as when a symbol is looked up (the .csv file is read)."""
        try:
            files = sorted(
                p for p in self.folder.iterdir() if p.suffix in _SUFFIXES and p.is_file()
            )
        except OSError as exc:
            raise DataError(f"root: cannot list {self.folder} ({exc.strerror or exc})") from None
        texts = {p.stem for p in files if p.suffix == ".csv"}
        return [p for p in files if p.suffix == ".csv" or p.stem not in texts]

    def _from_long_files(self, rest: list[str], skip: set[Path]) -> list[Bars]:
        """The panels of the symbols `rest` from the long files of the folder."""
        found: dict[str, Path] = {}
        panels = []
        for path in self._data_files():
            if path in skip or not self._has_symbol_column(path):
                continue
            columns = self._columns(path)
            if columns["symbol"] is None:
                continue
            present = set(columns["symbol"])
            held = [s for s in rest if s in present]
            for symbol in held:
                if symbol in found:
                    raise DataError(
                        f"symbol: {symbol!r} is in {found[symbol]} and in {path}: ambiguous; "
                        f"keep it in one file"
                    )
                found[symbol] = path
            if held:
                panels.append(self._bars(columns, path, keep=held))
        absent = [s for s in rest if s not in found]
        if absent:
            symbol = absent[0]
            tried = [self.folder / f"{symbol}.csv", self.folder / f"{symbol}.parquet"]
            raise DataError(
                f"symbol: no file for {symbol!r}; looked for "
                f"{' and '.join(str(p) for p in tried)}, and for its rows in the files of "
                f"{self.folder} with a symbol column"
            )
        return panels

    def _has_symbol_column(self, path: Path) -> bool:
        """Whether the header of the file at `path` names a symbol column of some source:
        read first, so that looking for a symbol skips files of one symbol unparsed."""
        if path.suffix == ".csv":
            try:
                with _csv_text(path, self.encoding) as fh:
                    names = next(csv.reader(fh), [])
            except (OSError, UnicodeError, csv.Error, DataError):
                return True  # reading the whole file says what is wrong
        else:
            try:
                import pyarrow.parquet as pq

                names = pq.read_schema(path).names
            except Exception:  # no pyarrow, or not Parquet: reading it says what is wrong
                return True
        return any(name.strip().lower() in sources.SYMBOL_NAMES for name in names)

    def _panel(self, path: Path, symbol: str | None, keep: list[str] | None) -> Bars:
        """The bars of the file at `path`; `symbol` names a file of one symbol."""
        columns = self._columns(path)
        held = None if columns["symbol"] is None else list(dict.fromkeys(columns["symbol"]))
        if symbol is None and (held is None or _named_after(path, held)):
            symbol = path.stem
        if symbol is not None and held is not None:
            if len(held) > 1:
                raise DataError(
                    f"symbol: {path} is named after {symbol!r} but holds the symbols "
                    f"{held[:5]}{'...' if len(held) > 5 else ''}: ambiguous; read it by those "
                    f"symbols under another file name"
                )
            columns["symbol"] = None
        return self._bars(columns, path, keep, symbol)

    def _columns(self, path: Path) -> dict[str, Any]:
        if path.suffix == ".csv":
            table = _csv_table(path, self.encoding)
        else:
            table = _parquet_table(path)
        return table_columns(table, self.source, self.zone)

    def _bars(
        self,
        columns: dict[str, Any],
        label: Path | str,
        keep: list[str] | None,
        symbol: str | None = None,
    ) -> Bars:
        """The panel of `columns` (of the file or dataset `label`), keeping the symbols
        `keep` (None: all) and the rows between the bounds."""
        times = columns["timestamp"]
        lo, hi = self.bounds
        in_range = np.ones(len(times), dtype=bool)
        if lo is not None:
            in_range &= times >= lo
        if hi is not None:
            in_range &= times <= hi
        names: Sequence[str | None] = [symbol]
        present = {symbol} if in_range.any() else set()
        if columns["symbol"] is not None:
            codes = np.array(columns["symbol"], dtype=object)
            if keep is not None:
                in_range &= np.isin(codes, np.array(keep, dtype=object))
            names, present = keep or [], set(codes[in_range].tolist())
        absent = [name for name in names if name not in present]
        if absent or not in_range.any():
            of = f" of {absent[0]!r}" if absent else ""
            raise DataError(f"timestamps: no bars{of} {self.span} in {label}")
        try:
            return columns_bars(select_rows(columns, in_range), symbol)
        except DataError as exc:
            raise DataError(f"{exc} (in {label})") from None

    # ------------------------------------------------------------ hive partitions
    def hive(self, key: str, wanted: list[str] | None) -> Bars:
        """The wanted symbols of a hive-partitioned Parquet folder, read as one dataset."""
        try:
            import pyarrow as pa
            import pyarrow.dataset as ds
        except ImportError:
            raise DataError(
                f"root: {self.folder} holds Parquet partitions; reading them needs pyarrow "
                f"(pip install quanta[arrow])"
            ) from None
        parts = sorted(p for p in self.folder.iterdir() if p.is_dir() and "=" in p.name)
        names = [p.name.partition("=")[2] for p in parts]
        if wanted is not None:
            absent = [s for s in wanted if s not in names]
            if absent:
                raise DataError(
                    f"symbol: no partition {key}={absent[0]} in {self.folder} "
                    f"(partitions: {names[:10]}{'...' if len(names) > 10 else ''})"
                )
        first = parts[names.index(wanted[0])] if wanted else parts[0]
        try:
            # The schema comes from a wanted partition, so that opening the dataset reads
            # no file of another one: with a schema given, pyarrow only lists the files.
            schema = ds.dataset(first, format="parquet").schema
            if key in schema.names:  # files that repeat their partition's key: it wins
                schema = schema.remove(schema.get_field_index(key))
            schema = schema.append(pa.field(key, pa.string()))
            dataset = ds.dataset(
                self.folder,
                format="parquet",
                schema=schema,
                partitioning=ds.partitioning(pa.schema([(key, pa.string())]), flavor="hive"),
            )
            row_filter = None if wanted is None else ds.field(key).isin(wanted)
            time_filter = self._time_filter(schema, key)
            if time_filter is not None:
                row_filter = time_filter if row_filter is None else row_filter & time_filter
            table = dataset.to_table(filter=row_filter)
        except DataError:
            raise  # the columns fit no source: said as for a file
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise DataError(f"{self.folder}: cannot read the Parquet dataset ({exc})") from None
        codes = table.column(key).to_pylist()
        label = str(self.folder)
        columns = table_columns(
            sources.arrow_table(table.drop_columns([key]), label, lambda i: f"row {i} of {label}"),
            self.source,
            self.zone,
        )
        columns["symbol"] = codes  # the partition key is the symbol
        return self._bars(columns, label, wanted)

    def _time_filter(self, schema: Any, key: str) -> Any:
        """A filter on the time column that the dataset applies while reading, when the
        column holds dates or times without a zone; None otherwise (text or integer dates,
        zoned times): then every row of the wanted partitions is read and the bounds are
        applied after reading."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        lo, hi = self.bounds
        empty = sources.arrow_table(schema.empty_table().drop_columns([key]))
        time = sources.reading(empty, self.source).time
        kind = None if time is None else schema.field(time).type
        if kind is None or not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
            return None
        if getattr(kind, "tz", None) is not None:
            return None
        # Cast to the column's coarser unit, a bound moves to a neighbouring whole unit;
        # the column's values are whole units, so the filter keeps every row within the
        # bounds (and perhaps those of one unit more), and the exact bounds cut after reading.
        result = None
        for bound, side in ((lo, "lo"), (hi, "hi")):
            if bound is None:
                continue
            value = pc.cast(pa.scalar(bound, pa.timestamp("ns")), kind, safe=False)
            part = ds.field(time) >= value if side == "lo" else ds.field(time) <= value
            result = part if result is None else result & part
        return result


_SUFFIXES = (".csv", ".parquet")


def _named_after(path: Path, held: list[str]) -> bool:
    """Whether the file at `path` is named after the one symbol its rows hold:
    ``000001.SZ.csv`` holding ``000001.SZ``, or ``000001`` (akshare's code without the
    exchange)."""
    return len(held) == 1 and (path.stem == held[0] or path.stem.startswith(f"{held[0]}."))


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


def _csv_text(path: Path, encoding: str | None) -> io.TextIOBase:
    """The file's text: in `encoding`, or UTF-8 (BOM or not) falling back to GB18030."""
    if encoding is not None:
        return open(path, encoding=encoding, newline="")
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        return io.StringIO(data.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError:
        pass
    try:
        return io.StringIO(data.decode("gb18030"), newline="")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: cannot decode the file as UTF-8 nor as GB18030 ({exc.reason}); pass "
            f"the file's encoding as encoding="
        ) from None


def _csv_table(path: Path, encoding: str | None) -> sources.Table:
    """A CSV file as a table of text cells, read with the csv module."""
    body: list[list[str]] = []
    lines: list[int] = []
    header = None
    try:
        with _csv_text(path, encoding) as fh:
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
            f"vendors, or leave encoding=None to try UTF-8 then GB18030"
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if header is None:
        raise DataError(f"{path}: empty file, expected a header row")
    if not body:
        raise DataError(f"timestamps: no bars (no data rows) in {path}")
    names = [h.strip() for h in header]
    index = {name: i for i, name in reversed(list(enumerate(names)))}

    def column(name: str) -> list[str]:
        i = index[name]
        short = next((k for k, r in enumerate(body) if len(r) <= i), None)
        if short is not None:
            raise DataError(
                f"{path}: line {lines[short]} has {len(body[short])} cells, expected at "
                f"least {i + 1}"
            )
        return [r[i] for r in body]

    def where(i: int) -> str:
        return f"line {lines[i]} of {path}"

    return sources.Table(
        names=names, column=column, label=str(path), where=where, row=where, text=True
    )


def _parquet_table(path: Path) -> sources.Table:
    """A Parquet file as a table, read with pyarrow (or pandas, without pyarrow)."""

    def where(i: int) -> str:
        return f"row {i} of {path}"

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        pq = None
    if pq is not None:
        try:
            table = pq.read_table(path)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise DataError(f"{path}: cannot read the Parquet file ({exc})") from None
        return sources.arrow_table(table, str(path), where)
    try:
        import pandas as pd
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow; install it with "
            f"pip install pyarrow (or the 'arrow' extra of quanta)"
        ) from None
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow ({exc})") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the Parquet file ({exc})") from None
    return sources.pandas_table(frame, str(path), where)


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
    if encoding is not None:
        _check_encoding(encoding)
    try:
        if file.suffix.lower() == ".parquet":
            frame = pd.read_parquet(file)
        else:  # decoded as every CSV file of quanta's loaders is (`_csv_text`)
            with _csv_text(file, encoding) as fh:
                frame = pd.read_csv(fh, dtype=text)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{file}: cannot decode the file as {encoding} ({exc.reason}); pass the file's "
            "encoding, e.g. encoding='gb18030'"
        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{file}: cannot read the file ({exc})") from None
    return CorporateActions.from_dataframe(frame, source, symbol=symbol)
