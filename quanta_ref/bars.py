"""`Bars`: the columnar OHLCV panel every backtest reads.

A panel has T timestamps and N symbols. Timestamps are int64 nanoseconds since the Unix
epoch, read as exchange-local wall-clock time (no time zone). Prices and volumes are float64
arrays of shape (T, N), C-contiguous and read-only once built.

A bar whose open, high, low and close are all NaN is a *missing bar* (a suspension or a
symbol not yet listed): it trades nothing and its symbol keeps its last close. Anything else
that is not a clean bar is refused with a `DataError` naming the field, the symbol and the bar.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from quanta_ref.errors import DataError

FIELDS = ("open", "high", "low", "close", "volume")


def format_timestamp(ts: int) -> str:
    """ISO-8601 text of an int64 nanosecond timestamp, as used in every error message."""
    return str(np.datetime64(int(ts), "ns"))


def _where(bars_ts: np.ndarray, symbols: Sequence[str], t: int, n: int) -> str:
    return f"symbol {symbols[n]!r}, bar {t} ({format_timestamp(bars_ts[t])})"


# Whole seconds representable as int64 nanoseconds, with a margin for the sub-second part.
_MAX_NS_SECONDS = np.iinfo(np.int64).max // 1_000_000_000 - 1


def as_timestamps(timestamps: Any) -> np.ndarray:
    """Turn datetime64 values, integers (taken as nanoseconds) or ISO strings into int64 ns."""
    try:
        arr = np.asarray(timestamps)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"timestamps: cannot read as an array ({exc})") from None
    if arr.ndim != 1:
        raise DataError(f"timestamps: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:  # an empty list arrives as float64
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "M":
        if np.isnat(arr).any():
            raise DataError(f"timestamps: NaT at position {int(np.argmax(np.isnat(arr)))}")
        # numpy converts units without overflow checks: test the range in seconds first.
        seconds = arr.astype("datetime64[s]").astype(np.int64)
        if len(arr) and int(np.abs(seconds).max()) > _MAX_NS_SECONDS:
            raise DataError(
                "timestamps: outside the int64 nanosecond range (1677-09-21 .. 2262-04-11)"
            )
        return arr.astype("datetime64[ns]").astype(np.int64)
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and len(arr) and int(arr.max()) > np.iinfo(np.int64).max:
            raise DataError("timestamps: beyond the int64 nanosecond range")
        return arr.astype(np.int64)
    if arr.dtype.kind in "UOS":
        try:
            with warnings.catch_warnings():
                # numpy warns about an explicit time zone, then drops it: refuse it instead.
                warnings.simplefilter("error")
                converted = arr.astype("datetime64")
        except (ValueError, TypeError, OverflowError, Warning) as exc:
            raise DataError(f"timestamps: cannot read as dates ({exc})") from None
        try:
            return as_timestamps(converted)
        except DataError as exc:
            raise DataError(
                f"{exc}; note that numpy reads a compact date such as '20200102' "
                f"as a year: write '2020-01-02'"
            ) from None
    raise DataError(
        f"timestamps: expected datetime64, int64 nanoseconds or ISO strings, got dtype {arr.dtype}"
    )


def as_series(name: str, values: Any) -> np.ndarray:
    """Convert `values` to a 1-D float64 array, or raise DataError naming `name`."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{name}: cannot convert to float64 ({exc})") from None
    if arr.ndim != 1:
        raise DataError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    return arr


def _as_panel(name: str, values: Any, n_bars: int, n_symbols: int) -> np.ndarray:
    if getattr(getattr(values, "dtype", None), "kind", "") == "c":
        # numpy would only warn and drop the imaginary part.
        raise DataError(f"{name}: expected real numbers, got dtype {values.dtype}")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{name}: cannot convert to float64 ({exc})") from None
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape != (n_bars, n_symbols):
        raise DataError(
            f"{name}: expected shape ({n_bars}, {n_symbols}) to match "
            f"{n_bars} timestamps and {n_symbols} symbols, got {np.shape(values)}"
        )
    return np.array(arr, dtype=np.float64, order="C", copy=True)


def _first(mask: np.ndarray) -> tuple[int, int] | None:
    """The first True cell of a (T, N) mask in bar-then-symbol order, or None."""
    if not mask.any():
        return None
    flat = int(np.argmax(mask.ravel()))
    return divmod(flat, mask.shape[1])


class Bars:
    """A validated OHLCV panel: T timestamps x N symbols.

    Build one with `Bars.from_arrays`, `Bars.from_dataframe`, or the loaders in
    `quanta_ref.data`. Attributes `timestamps` (T,), `symbols` (N,), and `open`, `high`,
    `low`, `close`, `volume` (T, N) are read-only numpy arrays.
    """

    __slots__ = ("timestamps", "symbols", "open", "high", "low", "close", "volume")

    def __init__(
        self,
        timestamps: np.ndarray,
        symbols: Sequence[str],
        open: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
    ) -> None:
        # Callers outside this module use from_arrays, which validates; this stores.
        self.timestamps = timestamps
        self.symbols = tuple(symbols)
        self.open, self.high, self.low, self.close, self.volume = open, high, low, close, volume
        for arr in (self.timestamps, self.open, self.high, self.low, self.close, self.volume):
            arr.flags.writeable = False

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_arrays(
        cls,
        timestamps: Any,
        open: Any,
        high: Any,
        low: Any,
        close: Any,
        volume: Any = None,
        symbols: Sequence[str] | None = None,
    ) -> Bars:
        """Build and validate a panel from arrays of shape (T,) or (T, N).

        Parameters
        ----------
        timestamps : array of datetime64, int64 nanoseconds or ISO date strings, shape (T,)
        open, high, low, close : float arrays, shape (T,) for one symbol or (T, N)
        volume : float array of the same shape, or None for zero volume everywhere
        symbols : N symbol names; defaults to ``["X"]`` for one column, else required
        """
        ts = as_timestamps(timestamps)
        n_bars = len(ts)
        if n_bars == 0:
            raise DataError("timestamps: no bars (empty array)")
        try:
            first = np.asarray(open)
        except (ValueError, TypeError) as exc:
            raise DataError(f"open: cannot convert to float64 ({exc})") from None
        if first.ndim not in (1, 2):
            raise DataError(f"open: expected shape (T,) or (T, N), got {first.shape}")
        n_cols = 1 if first.ndim == 1 else first.shape[1]
        if symbols is None:
            if n_cols != 1:
                raise DataError(f"symbols: required for {n_cols} columns")
            symbols = ["X"]
        if isinstance(symbols, str):
            symbols = [symbols]
        try:
            symbols = list(symbols)
        except TypeError:
            raise DataError(f"symbols: expected a list of names, got {symbols!r}") from None
        for s in symbols:
            if not isinstance(s, str) or not s:
                raise DataError(f"symbols: every symbol must be a non-empty string, got {s!r}")
        if len(set(symbols)) != len(symbols):
            dup = next(s for s in symbols if symbols.count(s) > 1)
            raise DataError(f"symbols: {dup!r} appears more than once")
        n_symbols = len(symbols)
        if n_symbols == 0:
            raise DataError("symbols: no symbols")
        if volume is None:
            volume = np.zeros((n_bars, n_symbols))
        panels = {
            name: _as_panel(name, values, n_bars, n_symbols)
            for name, values in zip(FIELDS, (open, high, low, close, volume), strict=True)
        }
        _validate(ts, symbols, panels)
        return cls(ts, symbols, **panels)

    @classmethod
    def from_dataframe(cls, df: Any, symbol: str | None = None) -> Bars:
        """Build a panel from a pandas DataFrame.

        Two layouts are read, column names in any case:

        * one symbol: columns open, high, low, close, volume, with a DatetimeIndex or a
          ``timestamp``/``date``/``datetime`` column; the symbol is `symbol` (default "X");
        * long: the same plus a ``symbol`` (or ``ticker``) column, one row per symbol and
          time. Symbols keep their order of first appearance; a symbol without a row at a
          timestamp gets a missing bar there.
        """
        cols = {str(c).lower(): c for c in df.columns}
        time_col = next(
            (cols[c] for c in ("timestamp", "datetime", "date", "time") if c in cols), None
        )
        if time_col is not None:
            times = np.asarray(df[time_col].to_numpy()).astype("datetime64[ns]")
        elif np.asarray(df.index).dtype.kind == "M":
            times = np.asarray(df.index).astype("datetime64[ns]")
        else:
            raise DataError(
                "timestamp: the frame has no DatetimeIndex and no timestamp/date/datetime column"
            )
        missing = [f for f in FIELDS if f not in cols]
        if missing:
            raise DataError(
                f"{missing[0]}: column missing from the frame (columns: {list(df.columns)})"
            )
        values = {f: np.asarray(df[cols[f]].to_numpy(), dtype=np.float64) for f in FIELDS}
        sym_col = next((cols[c] for c in ("symbol", "ticker") if c in cols), None)
        if sym_col is None:
            return cls.from_arrays(
                times,
                values["open"],
                values["high"],
                values["low"],
                values["close"],
                values["volume"],
                symbols=[symbol or "X"],
            )
        sym_values = [str(s) for s in df[sym_col].to_numpy()]
        symbols = list(dict.fromkeys(sym_values))
        ts = as_timestamps(times)
        unique_ts = np.unique(ts)
        row = np.searchsorted(unique_ts, ts)
        col_of = {s: i for i, s in enumerate(symbols)}
        col = np.array([col_of[s] for s in sym_values], dtype=np.int64)
        seen = np.zeros((len(unique_ts), len(symbols)), dtype=bool)
        panels = {}
        for f in FIELDS:
            panel = np.full((len(unique_ts), len(symbols)), np.nan)
            panel[row, col] = values[f]
            panels[f] = panel
        np.logical_or.at(seen, (row, col), True)
        counts = np.zeros_like(seen, dtype=np.int64)
        np.add.at(counts, (row, col), 1)
        dup = _first(counts > 1)
        if dup is not None:
            t, n = dup
            raise DataError(f"timestamp: more than one row for {_where(unique_ts, symbols, t, n)}")
        panels["volume"][~seen] = 0.0
        return cls.from_arrays(
            unique_ts,
            panels["open"],
            panels["high"],
            panels["low"],
            panels["close"],
            panels["volume"],
            symbols=symbols,
        )

    # ---------------------------------------------------------------- access
    @property
    def n_bars(self) -> int:
        """Number of timestamps T."""
        return len(self.timestamps)

    @property
    def n_symbols(self) -> int:
        """Number of symbols N."""
        return len(self.symbols)

    def __len__(self) -> int:
        return self.n_bars

    def symbol_index(self, symbol: str) -> int:
        """Column of `symbol`; KeyError if it is not in the panel."""
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise KeyError(symbol) from None

    def is_missing(self, t: int, n: int) -> bool:
        """True when symbol column `n` has no bar at timestamp row `t`."""
        return bool(np.isnan(self.close[t, n]))

    def select(self, symbols: Sequence[str]) -> Bars:
        """A panel with only `symbols`, in the given order."""
        idx = [self.symbol_index(s) for s in symbols]
        return Bars(
            self.timestamps.copy(),
            [self.symbols[i] for i in idx],
            *(np.ascontiguousarray(getattr(self, f)[:, idx]) for f in FIELDS),
        )

    def between(self, start: Any = None, end: Any = None) -> Bars:
        """A panel restricted to start <= timestamp <= end (dates, strings or ns integers)."""
        lo = 0 if start is None else int(np.searchsorted(self.timestamps, _one_ts(start), "left"))
        hi = (
            self.n_bars
            if end is None
            else int(np.searchsorted(self.timestamps, _one_ts(end), "right"))
        )
        if hi <= lo:
            raise DataError(f"timestamps: no bars between {start!r} and {end!r}")
        return Bars(
            self.timestamps[lo:hi].copy(),
            self.symbols,
            *(getattr(self, f)[lo:hi].copy() for f in FIELDS),
        )

    def to_dataframe(self) -> Any:
        """A long pandas DataFrame (timestamp, symbol, open, high, low, close, volume)."""
        import pandas as pd

        n_bars, n_symbols = self.close.shape
        frame = {
            "timestamp": np.repeat(self.timestamps.astype("datetime64[ns]"), n_symbols),
            "symbol": np.tile(np.array(self.symbols, dtype=object), n_bars),
        }
        for f in FIELDS:
            frame[f] = getattr(self, f).ravel()
        return pd.DataFrame(frame)

    def __repr__(self) -> str:
        span = f"{format_timestamp(self.timestamps[0])} .. {format_timestamp(self.timestamps[-1])}"
        return f"Bars({self.n_bars} bars x {self.n_symbols} symbols {list(self.symbols)}, {span})"


def _one_ts(value: Any) -> int:
    if isinstance(value, (int, np.integer)):
        return int(value)
    return int(np.datetime64(value, "ns").astype(np.int64))


def _validate(ts: np.ndarray, symbols: Sequence[str], p: dict[str, np.ndarray]) -> None:
    """Refuse anything but clean bars and whole missing bars; see the module docstring."""
    # Compare neighbours rather than np.diff, which overflows on extreme int64 values.
    bad = ts[1:] <= ts[:-1]
    if bad.any():
        t = int(np.argmax(bad)) + 1
        kind = "duplicated" if ts[t] == ts[t - 1] else "not ascending"
        raise DataError(
            f"timestamps: {kind} at bar {t} ({format_timestamp(ts[t])}); "
            f"timestamps must be sorted and unique"
        )
    o, h, lo, c, v = (p[f] for f in FIELDS)
    price_nan = [np.isnan(a) for a in (o, h, lo, c)]
    missing = price_nan[0] & price_nan[1] & price_nan[2] & price_nan[3]
    for name, nan in zip(("open", "high", "low", "close"), price_nan, strict=True):
        hit = _first(nan & ~missing)
        if hit:
            raise DataError(
                f"{name}: NaN in a bar whose other prices are set, "
                f"{_where(ts, symbols, *hit)}; a missing bar has all four "
                f"prices NaN"
            )
    present = ~missing
    with np.errstate(invalid="ignore"):
        for name, arr in zip(("open", "high", "low", "close"), (o, h, lo, c), strict=True):
            hit = _first(present & ~np.isfinite(arr))
            if hit:
                raise DataError(f"{name}: not finite ({arr[hit]}), {_where(ts, symbols, *hit)}")
            hit = _first(present & (arr <= 0.0))
            if hit:
                raise DataError(
                    f"{name}: must be positive, got {arr[hit]}, {_where(ts, symbols, *hit)}"
                )
        hit = _first(present & ((h < o) | (h < c)))
        if hit:
            raise DataError(
                f"high: {h[hit]} is below the open {o[hit]} or close {c[hit]}, "
                f"{_where(ts, symbols, *hit)}"
            )
        hit = _first(present & ((lo > o) | (lo > c)))
        if hit:
            raise DataError(
                f"low: {lo[hit]} is above the open {o[hit]} or close {c[hit]}, "
                f"{_where(ts, symbols, *hit)}"
            )
        hit = _first(present & ~(np.isfinite(v) & (v >= 0.0)))
        if hit:
            raise DataError(
                f"volume: must be finite and >= 0, got {v[hit]}, {_where(ts, symbols, *hit)}"
            )
        hit = _first(missing & ~(np.isnan(v) | (v == 0.0)))
        if hit:
            raise DataError(
                f"volume: {v[hit]} on a missing bar (all prices NaN), {_where(ts, symbols, *hit)}"
            )
    v[missing] = 0.0
