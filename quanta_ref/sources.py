"""Column conventions: how the files and frames users have name and scale their columns.

A *source* is a way of writing bars that some data vendor or library uses. Each is a
`Convention`: which column holds the time, the symbol, the open, high, low, close and volume,
and what unit the volume is in. `reading` picks the convention of a table (named with
``source=``, or detected from its header with ``source="auto"``) and says which column is
read as what; `quanta_ref.bars` turns the columns into a panel with the same checks for every
source. docs/semantics.md, section 1, "Sources: column conventions", states the rules:

* ``"quanta"``: ``date``/``datetime``/``timestamp``/``time``/``trade_date``, ``open``,
  ``high``, ``low``, ``close``, ``volume`` in shares, optional ``symbol``/``ticker``/
  ``ts_code``; any case.
* ``"tushare"`` (``pro.daily``): ``ts_code``, ``trade_date`` (YYYYMMDD), ``open``, ``high``,
  ``low``, ``close``, ``vol``. ``vol`` is in lots (手) of 100 shares: volume = vol x 100.
  ``pre_close``, ``change``, ``pct_chg`` and ``amount`` (thousands of CNY) are not read.
* ``"akshare"`` (``stock_zh_a_hist``): 日期, 股票代码 (optional), 开盘, 收盘, 最高, 最低,
  成交量 (lots of 100 shares: volume = 成交量 x 100). 成交额 (CNY), 振幅, 涨跌幅, 涨跌额
  and 换手率 are not read. A code stored as a number (000001 read as 1) is given back as
  six-digit text, "000001".
* ``"yfinance"``: ``Date`` or ``Datetime``, ``Open``, ``High``, ``Low``, ``Close``,
  ``Volume`` (shares), optional ``Ticker``. ``Adj Close`` is not read: prices are taken as
  given (adjust them before, if you want adjusted prices).

Every source also carries the columns ``up_limit``, ``down_limit`` (tushare ``stk_limit``'s
limit prices) and ``is_st`` (an ST flag) when present, under those names, into the
normalised columns (`quanta_ref.bars.table_columns`); a panel does not store them yet.

This module holds no rule about bars; it imports neither pandas, polars nor pyarrow unless
a table of theirs is handed to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from quanta_ref.errors import ConfigError, DataError

__all__ = [
    "CONVENTIONS",
    "EXTRA_COLUMNS",
    "SOURCES",
    "Convention",
    "Reading",
    "Table",
    "check_source",
    "frame_table",
    "reading",
    "symbol_texts",
]

FIELDS = ("open", "high", "low", "close", "volume")
TIME_COLUMNS = ("timestamp", "datetime", "date", "time", "trade_date")
SYMBOL_COLUMNS = ("symbol", "ticker", "ts_code")
EXTRA_COLUMNS = ("up_limit", "down_limit", "is_st")
"""Recognised extra columns, carried under these names whatever the source."""


@dataclass(frozen=True)
class Convention:
    """The column names of one source and the unit of its volume.

    `times` and `symbols` are the candidate names of the time and symbol columns (the first
    present is read); `fields` the columns of open, high, low, close and volume, in that
    order. Names match in any case. `volume_shares` is the number of shares in one unit of
    the volume column (100 for a lot, 手).
    """

    name: str
    times: tuple[str, ...]
    fields: tuple[str, str, str, str, str]
    symbols: tuple[str, ...]
    volume_shares: float = 1.0
    six_digit_codes: bool = False


CONVENTIONS = {
    "quanta": Convention("quanta", TIME_COLUMNS, FIELDS, SYMBOL_COLUMNS),
    "tushare": Convention(
        "tushare", ("trade_date",), ("open", "high", "low", "close", "vol"), ("ts_code",), 100.0
    ),
    "akshare": Convention(
        "akshare",
        ("日期",),
        ("开盘", "最高", "最低", "收盘", "成交量"),
        ("股票代码",),
        100.0,
        six_digit_codes=True,
    ),
    "yfinance": Convention(
        "yfinance", ("Date", "Datetime"), ("Open", "High", "Low", "Close", "Volume"), ("Ticker",)
    ),
}
SOURCES = ("auto", *CONVENTIONS)
"""The values `source=` takes."""
SYMBOL_NAMES = frozenset(n.lower() for c in CONVENTIONS.values() for n in c.symbols)
"""The symbol column names of every source, in lower case."""


@dataclass(frozen=True)
class Table:
    """The columns of a file or a frame by name, before any convention is applied.

    `column(name)` gives a column's values (a numpy array, or a pandas Series); `zone(name)`
    the time zone a zoned time column is stored with (its values are then UTC instants),
    else None. `index` holds the values of a time index that is no column (a pandas
    DatetimeIndex, pandas' index saved in Parquet), read when no time column is found.
    `label` names the table in messages ("the frame", a path); `where(i)` names row i in
    a time or number error, `row(i)` in a symbol error. CSV cells are `text`.
    """

    names: list[str]
    column: Callable[[str], Any]
    zone: Callable[[str], Any] = field(default=lambda name: None)
    label: str = "the frame"
    where: Callable[[int], str] = field(default=lambda i: f"position {i}")
    row: Callable[[int], str] = field(default=lambda i: f"row {i} of the frame")
    text: bool = False
    index: Any = None
    index_name: str = "index"


@dataclass(frozen=True)
class Reading:
    """Which column of a table is read as what, under the convention `source`. `time` is
    None when the time comes from the table's index."""

    source: str
    time: str | None
    fields: dict[str, str]
    symbol: str | None
    extras: dict[str, str]
    volume_shares: float
    six_digit_codes: bool


# ---------------------------------------------------------------------- the convention


def reading(table: Table, source: Any = "auto") -> Reading:
    """The convention `source` applied to `table`'s columns.

    With ``source="auto"`` the convention is the one whose time and price columns all appear
    in the header; a header that fits none or several is a DataError naming the columns
    seen and the sources known. yfinance's columns are quanta's in capitals: a header that
    fits both is read as yfinance, which reads the same. With a named source, a column it
    expects that is missing is a DataError naming it and the columns present.
    """
    check_source(source)
    if source == "auto":
        convention = _detect(table)
    else:
        convention = CONVENTIONS[source]
        missing = _missing(table, convention)
        if missing is not None:
            raise DataError(missing)
    named = _lower_names(table.names)
    _no_twice(table, convention)
    time = next((named[c.lower()] for c in convention.times if c.lower() in named), None)
    return Reading(
        source=convention.name,
        time=time,
        fields={f: named[c.lower()] for f, c in zip(FIELDS, convention.fields, strict=True)},
        symbol=next((named[c.lower()] for c in convention.symbols if c.lower() in named), None),
        extras={c: named[c] for c in EXTRA_COLUMNS if c in named},
        volume_shares=convention.volume_shares,
        six_digit_codes=convention.six_digit_codes,
    )


def check_source(source: Any) -> None:
    """Refuse a `source=` that is not one of `SOURCES` with a ConfigError."""
    if not isinstance(source, str) or source not in SOURCES:
        raise ConfigError(f"source: expected one of {', '.join(SOURCES)}, got {source!r}")


def _lower_names(names: Sequence[str]) -> dict[str, str]:
    return {str(n).lower(): str(n) for n in names}


def _fits(table: Table, convention: Convention) -> bool:
    # yfinance writes capitals (in lower case its columns are quanta's); the others any case
    exact = convention.name == "yfinance"
    names = set(table.names) if exact else set(_lower_names(table.names))
    wanted = [c if exact else c.lower() for c in (*convention.times, *convention.fields)]
    times, fields = wanted[: len(convention.times)], wanted[len(convention.times) :]
    has_time = table.index is not None or any(c in names for c in times)
    return has_time and all(c in names for c in fields)


def _detect(table: Table) -> Convention:
    """The one convention that fits `table`'s header."""
    fits = [c for c in CONVENTIONS.values() if _fits(table, c)]
    if len(fits) == 2 and {c.name for c in fits} == {"quanta", "yfinance"}:
        fits = [CONVENTIONS["yfinance"]]  # the same reading: Adj Close is not read either way
    known = f"sources known: {', '.join(CONVENTIONS)}; pass source= to name one"
    if len(fits) > 1:
        raise DataError(
            f"source: the columns of {table.label} fit more than one source "
            f"({', '.join(c.name for c in fits)}) (columns: {list(table.names)}); {known}"
        )
    if fits:
        return fits[0]
    named = _lower_names(table.names)
    closest = max(
        CONVENTIONS.values(),
        key=lambda c: sum(n.lower() in named for n in (*c.times, *c.fields)),
    )
    missing = _missing(table, closest)
    if missing is None or not any(n.lower() in named for n in (*closest.times, *closest.fields)):
        raise DataError(
            f"source: the columns of {table.label} fit no known source "
            f"(columns: {list(table.names)}); {known}"
        )
    raise DataError(f"{missing}; read as the closest source, {closest.name!r}; {known}")


def _missing(table: Table, convention: Convention) -> str | None:
    """What names the first column of `convention` missing from `table`, or None."""
    named = _lower_names(table.names)
    columns = f"(columns: {list(table.names)})"
    if table.index is None and not any(c.lower() in named for c in convention.times):
        index = " and no DatetimeIndex" if table.label == "the frame" else ""
        return (
            f"timestamp: no {'/'.join(convention.times)} column{index} in {table.label} {columns}"
        )
    for f, name in zip(FIELDS, convention.fields, strict=True):
        if name.lower() not in named:
            spelt = "" if name == f else f"{name!r} of source {convention.name!r} "
            return f"{f}: column {spelt}missing from {table.label} {columns}"
    return None


def _no_twice(table: Table, convention: Convention) -> None:
    """Refuse two columns that could each be the one read (in any case)."""
    lower = [str(n).lower() for n in table.names]
    for key in (*convention.times, *convention.fields, *convention.symbols, *EXTRA_COLUMNS):
        if lower.count(key.lower()) > 1:
            same = [n for n in table.names if str(n).lower() == key.lower()]
            raise DataError(f"{key.lower()}: more than one such column {same} in {table.label}")


def symbol_texts(values: Sequence[Any], read: Reading, row: Callable[[int], str]) -> list[str]:
    """The symbol of each row as text: a missing one (None, NaN) is a DataError naming the
    row, and two values that differ but read the same (600000 and "600000") are refused.
    Under akshare, a code that is a number or fewer than six digits is padded with zeros
    to six ("1" and 1 become "000001"): spreadsheets and CSV readers drop the zeros."""
    values = list(values)
    for i, value in enumerate(values):
        if (
            value is None
            or (isinstance(value, float) and math.isnan(value))
            or (isinstance(value, str) and not value.strip())
        ):
            raise DataError(f"symbol: missing (column {read.symbol!r}) in {row(i)}")
    texts = [_code(v) if read.six_digit_codes else str(v) for v in values]
    text_of: dict[str, Any] = {}
    for raw, text in dict.fromkeys(zip(values, texts, strict=True)):
        first = text_of.setdefault(text, raw)
        if first != raw:
            raise DataError(
                f"symbol: {first!r} and {raw!r} in column {read.symbol!r} are the same "
                f"symbol {text!r} as text: give every symbol as a string"
            )
    return texts


def _code(value: Any) -> str:
    """An akshare stock code as six-digit text."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return f"{int(value):06d}"
    text = str(value).strip()
    return text.zfill(6) if text.isdigit() else text


# ---------------------------------------------------------------------- frames as tables


def frame_table(df: Any) -> Table:
    """A pandas or polars DataFrame, or a pyarrow Table, as a `Table`; its library is
    imported only when such a frame is given."""
    package = type(df).__module__.partition(".")[0]
    if package == "pandas":
        import pandas as pd

        if isinstance(df, pd.DataFrame):
            return pandas_table(df)
    elif package == "polars":
        import polars as pl

        if isinstance(df, pl.DataFrame):
            return polars_table(df)
    elif package == "pyarrow":
        import pyarrow as pa

        if isinstance(df, pa.Table):
            return arrow_table(df)
    raise DataError(
        f"df: expected a pandas DataFrame, a polars DataFrame or a pyarrow Table, "
        f"got {type(df).__name__}"
    )


def pandas_table(df: Any, label: str = "the frame", where: Any = None) -> Table:
    """A pandas DataFrame: columns are Series (their missing values read as None or NaN)."""
    import pandas as pd

    by_name = {str(c): c for c in df.columns}

    def column(name: str) -> Any:
        values = df[by_name[name]]
        if getattr(values.dtype, "kind", "O") == "O":  # pandas' NA as None
            return values.to_numpy(dtype=object, na_value=None)
        nullable = isinstance(values.dtype, pd.api.extensions.ExtensionDtype)
        if nullable and values.dtype.kind in "iuf":  # Int64, Float64: NA as NaN, if any
            if values.isna().any():
                return values.to_numpy(dtype=np.float64, na_value=np.nan)
            return values.to_numpy(dtype=values.dtype.numpy_dtype)
        return values

    index = df.index if isinstance(df.index, pd.DatetimeIndex) else None
    extra = {} if where is None else {"where": where, "row": where}
    return Table(
        names=list(by_name),
        column=column,
        label=label,
        row=lambda i: f"row {i} (index {df.index[i]!r}) of {label}",
        index=index,
        **extra,
    )


def polars_table(df: Any) -> Table:
    """A polars DataFrame: columns as numpy arrays (nulls as None, NaN or NaT); a zoned
    Datetime column as UTC instants with its zone."""
    import polars as pl

    def column(name: str) -> Any:
        series = df.get_column(name)
        if isinstance(series.dtype, pl.Datetime) and series.dtype.time_zone is not None:
            series = series.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return series.to_numpy()

    def zone(name: str) -> Any:
        dtype = df.schema[name]
        return dtype.time_zone if isinstance(dtype, pl.Datetime) else None

    return Table(names=list(df.columns), column=column, zone=zone)


def arrow_table(
    table: Any, label: str = "the frame", where: Callable[[int], str] | None = None
) -> Table:
    """A pyarrow Table: columns as numpy arrays (nulls as None or NaN); a zoned timestamp
    column as UTC instants with its zone. pandas' index saved beside the columns
    (``__index_level_0__``) is the time index."""
    names = [n for n in table.column_names if n != "__index_level_0__"]

    def column(name: str) -> Any:
        return np.asarray(table.column(name).to_numpy())

    def zone(name: str) -> Any:
        return getattr(table.schema.field(name).type, "tz", None)

    index_name = "__index_level_0__"
    index = column(index_name) if index_name in table.column_names else None
    rows = where or (lambda i: f"row {i} of {label}")
    return Table(
        names=names,
        column=column,
        zone=zone,
        label=label,
        where=where or (lambda i: f"position {i}"),
        row=rows,
        index=index,
        index_name=f"column {index_name!r}",
    )
