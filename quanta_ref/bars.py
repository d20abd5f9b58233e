"""`Bars`: the columnar OHLCV panel every backtest reads.

A panel has T timestamps and N symbols. Timestamps are int64 nanoseconds since the Unix
epoch, read as exchange-local wall-clock time (no time zone). Prices and volumes are float64
arrays of shape (T, N), C-contiguous and read-only once built. Every way into a panel (the
constructor, `from_arrays`, `from_dataframe`, the loaders of `quanta_ref.data`, unpickling)
runs the same checks.

Every time value that enters (arrays, file cells, frame columns, start/end arguments) goes
through one set of functions below: values outside 1677-09-21 .. 2262-04-11 are refused
rather than wrapped; a time zone is refused unless the caller names the exchange's zone
(``tz=``), which converts to its wall-clock time; compact YYYYMMDD dates are read as dates
where a date is expected and refused elsewhere; integers are nanoseconds, but integers that
all fall in 1970 are refused as dates or epoch seconds in disguise. docs/semantics.md,
section 1, has the rules.

A bar whose open, high, low and close are all NaN is a *missing bar* (a suspension or a
symbol not yet listed): it trades nothing and its symbol keeps its last close. Anything else
that is not a clean bar is refused with a `DataError` naming the field, the symbol and the bar.
"""

from __future__ import annotations

import datetime as dt
import decimal
import numbers
import re
import warnings
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from quanta_ref.errors import ConfigError, DataError

FIELDS = ("open", "high", "low", "close", "volume")


def format_timestamp(ts: int) -> str:
    """ISO-8601 text of an int64 nanosecond timestamp, as used in every error message."""
    return str(np.datetime64(int(ts), "ns"))


def _where(bars_ts: np.ndarray, symbols: Sequence[str], t: int, n: int) -> str:
    return f"symbol {symbols[n]!r}, bar {t} ({format_timestamp(bars_ts[t])})"


# ---------------------------------------------------------------------- time values
# Every time value that enters quanta (arrays, file cells, frame columns, start/end
# arguments) becomes int64 nanoseconds through the functions below, which refuse what
# does not fit instead of letting numpy wrap it around.

NS_RANGE = "1677-09-21 .. 2262-04-11"
"""The instants int64 nanoseconds can hold; anything outside is refused, never wrapped."""

_NAT = int(np.iinfo(np.int64).min)  # numpy's not-a-time, never a valid nanosecond
_MAX_NS = int(np.iinfo(np.int64).max)
_NS_PER_UNIT = {
    "W": 7 * 86_400 * 10**9,
    "D": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}
_FIRST_INTEGER_NS = 365 * 86_400 * 10**9
"""1971-01-01: integer timestamps all in [0, this) are refused (see `_integer_ns`)."""

_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_INTEGER = re.compile(r"^[+-]?\d+$")
# A time of day followed by a UTC offset: "...T09:30+08:00", "... 09:30:00Z", "...T09+0800".
_OFFSET = re.compile(
    r"^(.*[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d+)?)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)$"
)
_ZONE_HINT = (
    "timestamps are exchange-local wall-clock time without a time zone: drop the zone; "
    "Bars.from_dataframe, load_bars and Bars.between take tz= (e.g. tz='Asia/Shanghai') "
    "to convert zoned times to that zone's wall-clock time"
)

Where = Callable[[int], str]


def _at_position(i: int) -> str:
    return f"position {i}"


def _at(where: str) -> str:
    return f" at {where}" if where else ""


def _out_of_range(field: str, value: Any, where: str) -> DataError:
    return DataError(
        f"{field}: {value}{_at(where)} is outside the int64 nanosecond range ({NS_RANGE})"
    )


def time_zone(tz: Any) -> dt.tzinfo | None:
    """The `tz=` argument as a tzinfo: None, an IANA name such as "Asia/Shanghai", or a
    `datetime.tzinfo`; anything else is a ConfigError."""
    if tz is None or isinstance(tz, dt.tzinfo):
        return tz
    if isinstance(tz, str):
        try:
            return zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"tz: unknown time zone {tz!r} ({exc})") from None
    raise ConfigError(f"tz: expected a time zone name such as 'Asia/Shanghai', got {tz!r}")


def _wall_ns(utc_ns: np.ndarray, zone: dt.tzinfo, field: str, where: Where) -> np.ndarray:
    """UTC instants (int64 ns) as the wall-clock times of `zone` (int64 ns)."""
    unique, inverse = np.unique(utc_ns, return_inverse=True)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    wall = np.empty(len(unique), dtype=np.int64)
    for k, instant in enumerate(unique.tolist()):
        moment = epoch + dt.timedelta(microseconds=instant // 1000)
        offset = moment.astimezone(zone).utcoffset() or dt.timedelta(0)
        value = instant + (offset // dt.timedelta(microseconds=1)) * 1000
        if not _NAT < value <= _MAX_NS:
            i = int(np.argmax(inverse == k))
            raise _out_of_range(field, format_timestamp(instant), where(i))
        wall[k] = value
    return wall[inverse.reshape(-1)]


def _datetime64_ns(arr: np.ndarray, field: str, where: Where = _at_position) -> np.ndarray:
    """datetime64 values of any unit as int64 ns; NaT and values beyond the range refused."""
    nat = np.isnat(arr)
    if nat.any():
        raise DataError(f"{field}: empty time (NaT){_at(where(int(np.argmax(nat))))}")
    # numpy converts units without overflow checks (and converts wrongly near the lower
    # end of the range), so the range is checked exactly, in the values' own unit.
    given, unit = arr, np.datetime_data(arr.dtype)[0]
    values = arr.astype(np.int64)
    if unit in ("Y", "M"):  # no fixed length: as days, once clearly within reach of them
        far = np.abs(values) > 10**6
        if far.any():
            i = int(np.argmax(far))
            raise _out_of_range(field, given[i], where(i))
        arr, unit = arr.astype("datetime64[D]"), "D"
        values = arr.astype(np.int64)
    if unit not in _NS_PER_UNIT:  # ps, fs, as: dividing cannot overflow; digits are dropped
        return arr.astype("datetime64[ns]").astype(np.int64)
    per = _NS_PER_UNIT[unit]
    outside = (values < -((_MAX_NS) // per)) | (values > _MAX_NS // per)
    if outside.any():
        i = int(np.argmax(outside))
        raise _out_of_range(field, given[i], where(i))
    return values * per


def _integer_ns(arr: np.ndarray, field: str, where: Where = _at_position) -> np.ndarray:
    """Integers as int64 nanoseconds since 1970-01-01 (the native format).

    Integers that all lie in [0, 1971-01-01) are refused: they are nearly always something
    else read as nanoseconds (compact dates such as 20230103, epoch seconds, milliseconds or
    microseconds), which all land in 1970. Data that crosses the epoch, or starts before it
    or after 1970, is read. One value (a `start` or `end`) follows the same rule.
    """
    if arr.dtype.kind == "u" and len(arr) and int(arr.max()) > _MAX_NS:
        i = int(np.argmax(arr > _MAX_NS))
        raise _out_of_range(field, int(arr[i]), where(i))
    ns = arr.astype(np.int64)
    bad = ns == _NAT
    if bad.any():
        i = int(np.argmax(bad))
        raise _out_of_range(field, int(ns[i]), where(i))
    if len(ns) and bool(((ns >= 0) & (ns < _FIRST_INTEGER_NS)).all()):
        raise DataError(
            f"{field}: the integer {int(ns[0])}{_at(where(0))} would be "
            f"{format_timestamp(ns[0])} as nanoseconds; integers are int64 nanoseconds and "
            f"may not all fall in 1970: this looks like YYYYMMDD dates or epoch "
            f"seconds/ms/us, pass datetime64 values, ISO text or nanoseconds"
        )
    return ns


def _text_datetime64(
    text: str, field: str, where: str, zone: dt.tzinfo | None, compact: bool = True
) -> np.datetime64:
    """ISO-8601 text (or a compact YYYYMMDD date when `compact`) as datetime64 in its own
    unit. A UTC offset is refused without `zone`, else converted to `zone`'s wall time."""
    text = text.strip()
    if _COMPACT_DATE.match(text) and compact:
        text = _COMPACT_DATE.sub(r"\1-\2-\3", text)
    elif _INTEGER.match(text):
        # numpy reads a string of digits as a year: refuse rather than guess.
        spelt = " or a YYYYMMDD date" if compact else "; write a date as '2020-01-02'"
        raise DataError(
            f"{field}: cannot read {text!r}{_at(where)} as a time: a bare integer is not "
            f"ISO-8601 text{spelt}"
        )
    offset = _OFFSET.match(text)
    if offset is not None:
        if zone is None:
            raise DataError(f"{field}: {text!r}{_at(where)} has a UTC offset; {_ZONE_HINT}")
        local = _text_datetime64(offset.group(1), field, where, None, compact)
        sign, digits = offset.group(2)[0], offset.group(2)[1:].replace(":", "")
        minutes = 0 if sign == "Z" else int(digits[:2]) * 60 + int(digits[2:] or 0)
        utc = int(_datetime64_ns(np.array([local]), field, lambda _: where)[0])
        utc -= (-1 if sign == "-" else 1) * minutes * 60 * 10**9
        return np.datetime64(int(_wall_ns(np.array([utc]), zone, field, lambda _: where)[0]), "ns")
    try:
        stamps, wrapped = _parse_iso([text])
    except (ValueError, TypeError, OverflowError, Warning) as exc:
        raise DataError(
            f"{field}: cannot read {text!r}{_at(where)} as an ISO-8601 wall-clock time "
            f"without time zone ({exc})"
        ) from None
    if wrapped is not None:
        raise _out_of_range(field, text, where)
    if np.isnat(stamps[0]):
        raise DataError(f"{field}: empty time {text!r}{_at(where)}")
    return stamps[0]


def _parse_iso(texts: Sequence[str]) -> tuple[np.ndarray, int | None]:
    """ISO-8601 text as datetime64 in the finest unit spelt, at most nanoseconds, and the
    position of the first value numpy wrapped around (None when there is none).

    numpy parses a time with 4 to 9 fractional digits in ms, us or ns, and one with more in
    ps, fs or as, without an overflow check: "9999-12-31T23:59:59.999999999" comes back as a
    date in 1816, and a 12-digit fraction lands near 1970. So text that needs a unit finer
    than seconds is parsed again in seconds, which holds any year numpy reads, and a value
    that disagrees with it wrapped. Digits beyond the ninth are dropped: times are kept to
    the nanosecond, as datetime64 values in finer units are. Parse errors are numpy's
    (ValueError, or a Warning about a time zone, raised as an error here).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns about, then drops, any time zone left
        stamps = np.array(texts, dtype="datetime64")
        unit = np.datetime_data(stamps.dtype)[0]
        if unit in ("ps", "fs", "as"):
            stamps = np.array(texts, dtype="datetime64[ns]")
        if unit not in ("ms", "us", "ns", "ps", "fs", "as"):
            return stamps, None
        seconds = np.array(texts, dtype="datetime64[s]")
    # Whole seconds by integer floor division: numpy's own unit conversion is unreliable
    # near the lower end of the range. A value that wrapped onto NaT counts as wrapped.
    per_second = 10**9 // _NS_PER_UNIT[np.datetime_data(stamps.dtype)[0]]
    floored = stamps.astype(np.int64) // per_second
    wrapped = ((floored != seconds.astype(np.int64)) | np.isnat(stamps)) & ~np.isnat(seconds)
    return stamps, (int(np.argmax(wrapped)) if wrapped.any() else None)


def as_datetime64(
    value: Any, field: str, tz: dt.tzinfo | None = None, where: str = "", compact: bool = True
) -> np.datetime64:
    """One time value as numpy.datetime64 in its natural unit (a date stays a date).

    Reads ISO text, a compact YYYYMMDD date, `datetime.date`/`datetime`, numpy.datetime64,
    pandas.Timestamp, or an integer taken as nanoseconds (see `_integer_ns`). A time zone is
    refused unless `tz` is given, which converts to that zone's wall-clock time.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        if not _NAT < int(value) <= _MAX_NS:
            raise _out_of_range(field, int(value), where)
        ns = _integer_ns(np.array([int(value)]), field, lambda _: where)
        return np.datetime64(int(ns[0]), "ns")
    if isinstance(value, str):
        return _text_datetime64(value, field, where, tz, compact)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            if tz is None:
                raise DataError(f"{field}: {value!r}{_at(where)} has a time zone; {_ZONE_HINT}")
            value = value.astimezone(tz).replace(tzinfo=None)
        value = value.to_datetime64() if hasattr(value, "to_datetime64") else np.datetime64(value)
    elif isinstance(value, dt.date):
        value = np.datetime64(value, "D")
    if not isinstance(value, np.datetime64):
        raise DataError(
            f"{field}: expected a date, a time, ISO-8601 text or int64 nanoseconds"
            f"{_at(where)}, got {type(value).__name__} {value!r}"
        )
    if np.isnat(value):
        raise DataError(f"{field}: empty time (NaT){_at(where)}")
    _datetime64_ns(np.array([value]), field, lambda _: where)  # in range
    return value


def one_timestamp(value: Any, field: str, tz: dt.tzinfo | None = None) -> int:
    """One time value as int64 nanoseconds, range checked (see `as_datetime64`)."""
    stamp = as_datetime64(value, field, tz)
    return int(_datetime64_ns(np.array([stamp]), field, lambda _: "")[0])


def bound_ns(value: Any, field: str, end: bool, tz: dt.tzinfo | None = None) -> int:
    """An inclusive `start` or `end` bound as int64 ns.

    As an end, a date (or a month or year, such as "2023-12" or "2023") keeps the whole of
    it; a time keeps bars up to and including that instant.
    """
    stamp = as_datetime64(value, field, tz, where="")
    first = int(_datetime64_ns(np.array([stamp]), field, lambda _: "")[0])
    if end and np.datetime_data(stamp.dtype)[0] in ("Y", "M", "W", "D"):
        following = np.array([stamp + 1])
        after = following.astype("datetime64[ns]").astype(np.int64)[0]
        if following.astype("datetime64[ns]").astype(stamp.dtype)[0] != following[0]:
            return _MAX_NS  # the period runs past the last nanosecond: keep everything
        return int(after) - 1
    return first


def _text_ns(
    texts: Sequence[str],
    field: str,
    where: Where = _at_position,
    zone: dt.tzinfo | None = None,
    compact: bool = True,
) -> np.ndarray:
    """ISO-8601 (or, when `compact`, YYYYMMDD) text as int64 ns, range checked."""
    spelt = [_COMPACT_DATE.sub(r"\1-\2-\3", t.strip()) if compact else t.strip() for t in texts]
    if not any(_INTEGER.match(t) or _OFFSET.match(t) for t in spelt):
        try:
            stamps, wrapped = _parse_iso(spelt)
        except (ValueError, TypeError, OverflowError, Warning):
            stamps, wrapped = None, None
        if wrapped is not None:
            raise _out_of_range(field, spelt[wrapped], where(wrapped))
        if stamps is not None and not np.isnat(stamps).any():
            return _datetime64_ns(stamps, field, where)
    # Slow path, one value at a time: the first bad cell is named, offsets are converted.
    stamps = np.array(
        [_text_datetime64(t, field, where(i), zone, compact) for i, t in enumerate(texts)]
    )
    if stamps.dtype.kind != "M":  # mixed units come back as objects
        stamps = stamps.astype("datetime64[ns]")
    return _datetime64_ns(stamps, field, where)


def as_timestamps(
    timestamps: Any,
    field: str = "timestamps",
    where: Where = _at_position,
    tz: Any = None,
    compact: bool = False,
) -> np.ndarray:
    """Turn datetime64 values, integers (taken as nanoseconds), ISO strings or date objects
    into int64 ns, refusing values outside `NS_RANGE`, integers all in 1970 (see
    `_integer_ns`) and time zones unless `tz` names the zone to convert to. Compact
    YYYYMMDD text is read as a date when `compact`, else refused."""
    zone = time_zone(tz)
    try:
        arr = np.asarray(timestamps)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{field}: cannot read as an array ({exc})") from None
    if arr.ndim != 1:
        raise DataError(f"{field}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:  # an empty list arrives as float64
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "M":
        return _datetime64_ns(arr, field, where)
    if arr.dtype.kind in "iu":
        return _integer_ns(arr, field, where)
    if arr.dtype.kind in "US" or (
        arr.dtype.kind == "O" and all(isinstance(x, str) for x in arr.tolist())
    ):
        return _text_ns([str(x) for x in arr.astype(str).tolist()], field, where, zone, compact)
    if arr.dtype.kind == "O":
        stamps = [as_datetime64(x, field, zone, where(i), compact) for i, x in enumerate(arr)]
        ns = np.array(stamps).astype("datetime64[ns]")  # each checked in range above
        return ns.astype(np.int64)
    raise DataError(
        f"{field}: expected datetime64, int64 nanoseconds or ISO strings, got dtype {arr.dtype}"
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


def not_numbers(values: Any) -> str | None:
    """What makes `values` (an array, a list, a pandas column) other than real numbers, or
    None when they are numbers. numpy would read True as 1.0 and the text "10" as 10.0,
    and would cut a complex number to its real part with only a warning: prices and volumes
    are refused unless their dtype is an integer or float one, or they are objects that are
    each a real number (int, float, Decimal, ...; not bool) or missing (None)."""
    dtype = getattr(values, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ragged nests; the conversion reports them
                values = np.asarray(values)
        except (ValueError, TypeError, OverflowError):
            return None
        dtype, kind = values.dtype, values.dtype.kind
    if kind in ("f", "i", "u"):
        return None
    if kind != "O":
        return f"dtype {dtype}"
    flat = values.ravel().tolist() if isinstance(values, np.ndarray) else list(values)
    for x in flat:
        if x is not None and (
            isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, decimal.Decimal))
        ):
            return f"{type(x).__name__} {x!r}"
    return None


def _as_panel(name: str, values: Any, n_bars: int, n_symbols: int) -> np.ndarray:
    wrong = not_numbers(values)
    if wrong is not None:
        raise DataError(f"{name}: expected real numbers, got {wrong}")
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


def frozen_view(arr: np.ndarray) -> np.ndarray:
    """A read-only view of `arr`, a new array nobody else holds.

    Clearing the flag on `arr` itself would not do: an array that owns its data can be made
    writeable again (``arr.flags.writeable = True``). numpy refuses that for a view of a
    read-only base, so a panel checked once stays as checked. The base is the array that
    owns the memory (numpy skips views in between); it is frozen too, so `arr` may be a
    view of an array nobody else holds (a selection), and memory held by another kind of
    object is copied.
    """
    owner = arr if arr.base is None else arr.base
    if not isinstance(owner, np.ndarray):
        arr = owner = arr.copy()
    owner.flags.writeable = False
    view = arr.view()
    view.flags.writeable = False
    return view


def _first(mask: np.ndarray) -> tuple[int, int] | None:
    """The first True cell of a (T, N) mask in bar-then-symbol order, or None."""
    if not mask.any():
        return None
    flat = int(np.argmax(mask.ravel()))
    return divmod(flat, mask.shape[1])


class Bars:
    """A validated OHLCV panel: T timestamps x N symbols.

    Build one with `Bars(...)`, `Bars.from_arrays`, `Bars.from_dataframe`, or the loaders in
    `quanta_ref.data`: every way in, unpickling included, runs the same checks and stores
    its own read-only copies. Attributes `timestamps` (T,), `symbols` (N,), and `open`,
    `high`, `low`, `close`, `volume` (T, N) are read-only numpy arrays and cannot be
    rebound.
    """

    __slots__ = ("timestamps", "symbols", "open", "high", "low", "close", "volume", "actions")
    timestamps: np.ndarray
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    #: None, or the `quanta_ref.actions.CorporateActions` of the panel's symbols
    #: (attached with `with_market`).
    actions: Any

    def __init__(
        self,
        timestamps: Any,
        symbols: Sequence[str] | None,
        open: Any,
        high: Any,
        low: Any,
        close: Any,
        volume: Any = None,
    ) -> None:
        """Validate and store a panel; the arguments are those of `from_arrays`."""
        ts, names, panels = _checked(timestamps, symbols, open, high, low, close, volume)
        self._store(ts, names, *(panels[f] for f in FIELDS))

    def _store(self, timestamps: np.ndarray, symbols: Sequence[str], *panels: np.ndarray) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "timestamps", frozen_view(timestamps))
        setattr_(self, "symbols", tuple(symbols))
        for name, arr in zip(FIELDS, panels, strict=True):
            setattr_(self, name, frozen_view(arr))
        setattr_(self, "actions", None)

    @classmethod
    def _trusted(cls, timestamps: np.ndarray, symbols: Sequence[str], *panels: np.ndarray) -> Bars:
        """A panel derived from a valid one (a selection or a slice), stored unchecked: the
        arrays must be new, int64/float64 and C-contiguous, and the bars valid."""
        bars = object.__new__(cls)
        bars._store(timestamps, symbols, *panels)
        return bars

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Bars is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Bars is read-only: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickling goes through the constructor, so it checks and freezes again.
        args = (_ns_times(self.timestamps), self.symbols, *(getattr(self, f) for f in FIELDS))
        if self.actions is not None:
            return (_with_actions, (args, self.actions))
        return (Bars, args)

    def with_market(self, *, actions: Any = None) -> Bars:
        """This panel with market data attached: `actions`, a
        `quanta_ref.actions.CorporateActions` of the panel's symbols (an action of another
        symbol is a `DataError` naming it), or None for none. The prices are shared."""
        if actions is not None and not hasattr(actions, "aligned_to"):
            raise DataError(
                f"actions: expected a quanta_ref.actions.CorporateActions, got "
                f"{type(actions).__name__}"
            )
        bars = Bars._trusted(self.timestamps, self.symbols, *(getattr(self, f) for f in FIELDS))
        object.__setattr__(
            bars, "actions", None if actions is None else actions.aligned_to(self.symbols)
        )
        return bars

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
        timestamps : array, shape (T,)
            datetime64 values, ISO-8601 strings without time zone, or int64 nanoseconds
            since 1970-01-01 (exchange-local wall-clock time). Times outside 1677-09-21 ..
            2262-04-11 are refused, and so are integers that all lie in [0, 1971-01-01)
            (YYYYMMDD dates or epoch seconds read as nanoseconds), zoned text and compact
            ``20200102`` text (write ``2020-01-02``).
        open, high, low, close : float arrays, shape (T,) for one symbol or (T, N)
        volume : float array of the same shape, or None for zero volume everywhere
        symbols : N symbol names; defaults to ``["X"]`` for one column, else required
        """
        return cls(timestamps, symbols, open, high, low, close, volume)

    @classmethod
    def from_dataframe(cls, df: Any, symbol: str | None = None, tz: Any = None) -> Bars:
        """Build a panel from a pandas DataFrame.

        Two layouts are read, column names in any case:

        * one symbol: columns open, high, low, close, volume, with a DatetimeIndex or a
          ``timestamp``/``datetime``/``date``/``time``/``trade_date`` column; the symbol is
          `symbol` (default "X");
        * long: the same plus a ``symbol`` (or ``ticker``, ``ts_code``) column, one row per
          symbol and time. Symbols keep their order of first appearance; a symbol without a
          row at a timestamp gets a missing bar there.

        Times are exchange-local wall-clock times: datetime64 values, ISO-8601 text, compact
        YYYYMMDD dates (integers such as 20230103 or text "20230103", as tushare's
        ``trade_date``), or int64 nanoseconds. A time-zone-aware column or index, or text
        with a UTC offset, is refused unless `tz` (e.g. ``"Asia/Shanghai"``) names the
        exchange's zone: then the times are converted to that zone's wall-clock time and
        the zone dropped. Times without a zone are already wall-clock times and stay as
        they are whatever `tz` says.

        Prices and volumes must be numbers (integer or float columns, or objects that are
        real numbers or missing): bool, text and complex columns are refused. A row without
        a symbol, a column given twice (in any case), and `symbol` given for a frame with a
        symbol column are refused too.
        """
        try:
            import pandas as pd
        except ImportError:  # without pandas nothing can be a DataFrame
            pd = None
        if pd is None or not isinstance(df, pd.DataFrame):
            raise DataError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
        zone = time_zone(tz)
        cols = {str(c).lower(): c for c in df.columns}
        lower = [str(c).lower() for c in df.columns]
        for key in (*TIME_COLUMNS, *FIELDS, "symbol", "ticker", "ts_code"):
            if lower.count(key) > 1:
                same = [c for c in df.columns if str(c).lower() == key]
                raise DataError(f"{key}: the frame has more than one such column {same}")
        time_col = next((cols[c] for c in TIME_COLUMNS if c in cols), None)
        if time_col is not None:
            times = column_times(df[time_col], f"timestamp (column {time_col!r})", zone)
        elif isinstance(df.index, pd.DatetimeIndex):
            times = column_times(df.index, "timestamp (index)", zone)
        else:
            raise DataError(
                "timestamp: the frame has no DatetimeIndex and no "
                "timestamp/datetime/date/time/trade_date column"
            )
        missing = [f for f in FIELDS if f not in cols]
        if missing:
            raise DataError(
                f"{missing[0]}: column missing from the frame (columns: {list(df.columns)})"
            )
        values = {}
        for f in FIELDS:
            column = df[cols[f]]
            if getattr(column.dtype, "kind", "O") == "O":  # pandas' NA as None
                column = column.to_numpy(dtype=object, na_value=None)
            wrong = not_numbers(column)
            if wrong is not None:
                raise DataError(f"{f}: column {cols[f]!r} of the frame holds {wrong}, not numbers")
            try:
                values[f] = np.asarray(
                    df[cols[f]].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64
                )
            except (ValueError, TypeError) as exc:
                raise DataError(
                    f"{f}: cannot read column {cols[f]!r} of the frame as numbers ({exc})"
                ) from None
        sym_col = next((cols[c] for c in ("symbol", "ticker", "ts_code") if c in cols), None)
        if symbol is not None and (not isinstance(symbol, str) or not symbol):
            raise DataError(f"symbol: expected a non-empty string, got {symbol!r}")
        if symbol is not None and sym_col is not None:
            raise DataError(
                f"symbol: {symbol!r} given for a frame with a symbol column {sym_col!r}: "
                f"ambiguous; pass symbol= only for a frame of one symbol without that column"
            )
        if sym_col is None:
            return cls(
                _ns_times(times),
                ["X" if symbol is None else symbol],
                values["open"],
                values["high"],
                values["low"],
                values["close"],
                values["volume"],
            )
        absent = np.asarray(pd.isna(df[sym_col]))
        if absent.any():
            i = int(np.argmax(absent))
            raise DataError(
                f"symbol: missing (column {sym_col!r}) in row {i} (index {df.index[i]!r}) "
                f"of the frame"
            )
        raw_symbols = df[sym_col].to_numpy().tolist()
        sym_values = [str(s) for s in raw_symbols]
        symbols = list(dict.fromkeys(sym_values))
        if len(symbols) < len(dict.fromkeys(raw_symbols)):  # e.g. 600000 and "600000"
            text: dict[str, Any] = {}
            for raw in dict.fromkeys(raw_symbols):
                first = text.setdefault(str(raw), raw)
                if first is not raw:
                    raise DataError(
                        f"symbol: {first!r} and {raw!r} in column {sym_col!r} are the same "
                        f"symbol {str(raw)!r} as text: give every symbol as a string"
                    )
        unique_ts = np.unique(times)
        row = np.searchsorted(unique_ts, times)
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
        return cls(_ns_times(unique_ts), symbols, *(panels[f] for f in FIELDS))

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
        """Column of `symbol`; a DataError naming it if it is not in the panel."""
        try:
            return self.symbols.index(symbol)
        except ValueError:
            shown = list(self.symbols[:10]) + (["..."] if self.n_symbols > 10 else [])
            raise DataError(f"symbol: {symbol!r} is not in the panel (symbols: {shown})") from None

    def is_missing(self, t: int, n: int) -> bool:
        """True when symbol column `n` has no bar at timestamp row `t`; both are integers
        counted from 0 (no negative indexing from the end), else a DataError."""
        row = _position(t, "t", "bar number", self.n_bars)
        column = _position(n, "n", "symbol column", self.n_symbols)
        return bool(np.isnan(self.close[row, column]))

    def select(self, symbols: Sequence[str]) -> Bars:
        """A panel with only `symbols` (a name or a list of names, each at most once), in
        the given order."""
        wanted = _symbol_list(symbols)
        idx = [self.symbol_index(s) for s in wanted]
        bars = Bars._trusted(
            self.timestamps.copy(),
            wanted,
            *(np.ascontiguousarray(getattr(self, f)[:, idx]) for f in FIELDS),
        )
        if self.actions is not None:
            object.__setattr__(bars, "actions", self.actions.select(wanted))
        return bars

    def between(self, start: Any = None, end: Any = None, tz: Any = None) -> Bars:
        """A panel restricted to start <= timestamp <= end, both inclusive.

        `start` and `end` are dates, times, ISO-8601 or YYYYMMDD text, or int64 nanoseconds
        (read as in `from_arrays`), or None for an open side. A date (or a month, a year)
        as `end` keeps the whole of it. A zoned `datetime` is refused unless `tz` names
        the exchange's zone, as in `from_dataframe`.
        """
        zone = time_zone(tz)
        lo_ns = None if start is None else bound_ns(start, "start", False, zone)
        hi_ns = None if end is None else bound_ns(end, "end", True, zone)
        if lo_ns is not None and hi_ns is not None and lo_ns > hi_ns:
            raise DataError(f"start: {start!r} is after end {end!r}")
        lo = 0 if lo_ns is None else int(np.searchsorted(self.timestamps, lo_ns, "left"))
        hi = self.n_bars if hi_ns is None else int(np.searchsorted(self.timestamps, hi_ns, "right"))
        if hi <= lo:
            raise DataError(f"timestamps: no bars between {start!r} and {end!r}")
        bars = Bars._trusted(
            self.timestamps[lo:hi].copy(),
            self.symbols,
            *(getattr(self, f)[lo:hi].copy() for f in FIELDS),
        )
        # The actions are kept whole: a run applies those that fall in it.
        object.__setattr__(bars, "actions", self.actions)
        return bars

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


TIME_COLUMNS = ("timestamp", "datetime", "date", "time", "trade_date")


def _with_actions(args: tuple[Any, ...], actions: Any) -> Bars:
    """Unpickle a panel with corporate actions (both checked again)."""
    return Bars(*args).with_market(actions=actions)


def _position(value: Any, name: str, what: str, size: int) -> int:
    """An index in 0 .. size - 1 (an int, not a bool), or a DataError naming `name`."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        if 0 <= int(value) < size:
            return int(value)
    raise DataError(f"{name}: expected a {what} from 0 to {size - 1}, got {value!r}")


def _ns_times(ns: np.ndarray) -> np.ndarray:
    """Checked int64 ns as datetime64[ns], so that building a panel from them again reads
    them as times, not as integers (which `_integer_ns` would refuse all in 1970)."""
    return ns.view("datetime64[ns]")


def _symbol_list(symbols: Any) -> list[str]:
    """Symbol names as a list of distinct non-empty strings (a single name is a list of one)."""
    if isinstance(symbols, str):
        symbols = [symbols]
    try:
        names = list(symbols)
    except TypeError:
        raise DataError(f"symbols: expected a list of names, got {symbols!r}") from None
    for s in names:
        if not isinstance(s, str) or not s:
            raise DataError(f"symbols: every symbol must be a non-empty string, got {s!r}")
    seen: set[str] = set()
    for s in names:
        if s in seen:
            raise DataError(f"symbols: {s!r} appears more than once")
        seen.add(s)
    if not names:
        raise DataError("symbols: no symbols")
    return names


def _checked(
    timestamps: Any,
    symbols: Sequence[str] | None,
    open: Any,
    high: Any,
    low: Any,
    close: Any,
    volume: Any,
) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """The checks and conversions of every way into `Bars`: new int64 timestamps, symbol
    names and C-contiguous float64 panels, or a DataError naming what is wrong."""
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
    names = _symbol_list(symbols)
    n_symbols = len(names)
    if volume is None:
        volume = np.zeros((n_bars, n_symbols))
    panels = {
        name: _as_panel(name, values, n_bars, n_symbols)
        for name, values in zip(FIELDS, (open, high, low, close, volume), strict=True)
    }
    _validate(ts, names, panels)
    return ts, names, panels


def _compact_integers(arr: np.ndarray) -> bool:
    """True when integer times are all eight digits, i.e. YYYYMMDD dates: as nanoseconds
    they would all fall in the first second of 1970, which `_integer_ns` refuses anyway."""
    return arr.dtype.kind in "iu" and bool(((arr >= 10000101) & (arr <= 99991231)).all())


def column_times(
    values: Any, field: str, zone: dt.tzinfo | None, where: Where = _at_position
) -> np.ndarray:
    """The time column of a frame or a file (a pandas Series or Index, or a numpy array) as
    int64 ns: as `as_timestamps`, plus integer YYYYMMDD dates read as dates and zoned
    pandas values converted to `zone`'s wall-clock time (refused without a zone)."""
    dtype = getattr(values, "dtype", None)
    pandas_zone = getattr(dtype, "tz", None)
    if pandas_zone is not None:
        utc = values.dt.tz_convert(None) if hasattr(values, "dt") else values.tz_convert(None)
        return zoned_times(np.asarray(utc.to_numpy()), field, zone, pandas_zone, where)
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim == 1 and len(arr) and _compact_integers(arr):
        return _text_ns([str(v) for v in arr.tolist()], field, where, compact=True)
    return as_timestamps(arr, field, where, zone, compact=True)


def zoned_times(
    utc: np.ndarray, field: str, zone: dt.tzinfo | None, stored_zone: Any, where: Where
) -> np.ndarray:
    """datetime64 UTC instants of a column stored with time zone `stored_zone`, as `zone`'s
    wall-clock int64 ns; refused when the caller named no zone."""
    if zone is None:
        raise DataError(f"{field}: the times have time zone {stored_zone}; {_ZONE_HINT}")
    return _wall_ns(_datetime64_ns(utc, field, where), zone, field, where)


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
