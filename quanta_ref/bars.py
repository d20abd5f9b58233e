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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from quanta_ref import sources
from quanta_ref.errors import ConfigError, DataError

FIELDS = ("open", "high", "low", "close", "volume")
#: The optional market data a panel may carry (see `Bars.with_market`).
MARKET_FIELDS = ("up_limit", "down_limit", "st", "listing_dates", "actions")


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
#: Nanoseconds in a day: a timestamp's trading day is floor(timestamp / NS_PER_DAY).
NS_PER_DAY = _NS_PER_UNIT["D"]
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
        # In their natural units (a month of year 0 from "0-01" text); to ns, range checked.
        return _datetime64_ns(np.array(stamps), field, where)
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


def as_floats(name: str, values: Any) -> np.ndarray:
    """`values` as a float64 array (maybe a view), or DataError unless they are real numbers."""
    wrong = not_numbers(values)
    if wrong is not None:
        raise DataError(f"{name}: expected real numbers, got {wrong}")
    try:
        return np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{name}: cannot convert to float64 ({exc})") from None


def _as_panel(name: str, values: Any, n_bars: int, n_symbols: int) -> np.ndarray:
    arr = as_floats(name, values)
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
    rebound. Optional market data, None when absent (see `with_market`): `up_limit`,
    `down_limit` (float (T, N) vendor limit prices, NaN where not given), `st` (bool (T, N)),
    `listing_dates` (int64 (N,) ns, `NO_DATE` where unknown).
    """

    __slots__ = (
        "timestamps",
        "symbols",
        "open",
        "high",
        "low",
        "close",
        "volume",
        *MARKET_FIELDS,
        "_limit_cache",
    )
    timestamps: np.ndarray
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    # Market data (docs/semantics.md, section 10), None when absent; see `with_market`.
    up_limit: np.ndarray | None
    down_limit: np.ndarray | None
    st: np.ndarray | None
    listing_dates: np.ndarray | None
    actions: Any  # a quanta_ref.actions.CorporateActions of the panel's symbols, or None
    # The price-limit tables of the last settings a run asked for (quanta_ref.market).
    _limit_cache: tuple[Any, Any] | None

    def __init__(
        self,
        timestamps: Any,
        symbols: Sequence[str] | None,
        open: Any,
        high: Any,
        low: Any,
        close: Any,
        volume: Any = None,
        **market: Any,
    ) -> None:
        """Validate and store a panel; the arguments are those of `from_arrays`."""
        ts, names, panels = _checked(timestamps, symbols, open, high, low, close, volume)
        self._store(ts, names, *(panels[f] for f in FIELDS))
        if market:
            self._store_market(_checked_market(self, market))

    def _store(self, timestamps: np.ndarray, symbols: Sequence[str], *panels: np.ndarray) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "timestamps", frozen_view(timestamps))
        setattr_(self, "symbols", tuple(symbols))
        for name, arr in zip(FIELDS, panels, strict=True):
            setattr_(self, name, frozen_view(arr))
        for name in MARKET_FIELDS:
            setattr_(self, name, None)
        setattr_(self, "_limit_cache", None)

    def _store_market(self, market: dict[str, Any]) -> None:
        """Store checked market data (new arrays; frozen here)."""
        for name, arr in market.items():
            frozen = frozen_view(arr) if isinstance(arr, np.ndarray) else arr  # actions: own
            object.__setattr__(self, name, frozen)

    def _cache_limits(self, key: Any, limits: Any) -> None:
        """Keep the price-limit tables of the settings `key` (quanta_ref.market.prepare)."""
        object.__setattr__(self, "_limit_cache", (key, limits))

    def _market(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MARKET_FIELDS}

    @classmethod
    def _trusted(
        cls,
        timestamps: np.ndarray,
        symbols: Sequence[str],
        *panels: np.ndarray,
        market: dict[str, Any] | None = None,
    ) -> Bars:
        """A panel derived from a valid one (a selection or a slice), stored unchecked: the
        arrays must be new, int64/float64 and C-contiguous, and the bars valid."""
        bars = object.__new__(cls)
        bars._store(timestamps, symbols, *panels)
        if market:
            bars._store_market(market)
        return bars

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Bars is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Bars is read-only: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickling goes through the constructor, so it checks and freezes again.
        args = (_ns_times(self.timestamps), self.symbols, *(getattr(self, f) for f in FIELDS))
        market: dict[str, Any] = {k: v for k, v in self._market().items() if v is not None}
        if "listing_dates" in market:  # as dates, the way with_market takes them
            market["listing_dates"] = _listing_mapping(self, market["listing_dates"])
        return (_unpickle, (args, market))

    def with_market(
        self,
        *,
        up_limit: Any = None,
        down_limit: Any = None,
        st: Any = None,
        listing_dates: Any = None,
        actions: Any = None,
    ) -> Bars:
        """A new panel with market data attached (an argument left None keeps the current
        value); docs/semantics.md, section 10, says how each is used.

        Parameters
        ----------
        up_limit, down_limit : float arrays (T, N), or (T,) for one symbol
            The vendor's daily limit prices at each bar (NaN: not given there). Each value is
            finite and > 0, or NaN; down <= up where both are given. They override the
            ``price_limit`` rule where given, each side on its own.
        st : bool array (T, N); a collection of symbols (ST throughout); or a mapping
            symbol -> True/False, or symbol -> list of (start, end) periods (inclusive dates,
            None for an open side)
            Which bars are under risk warning (ST, *ST): the A-share rule's narrower limits.
        listing_dates : mapping symbol -> date
            Listing dates (the A-share rule's first days without a limit).
        actions : quanta_ref.actions.CorporateActions
            Dividends, bonus shares and splits of the panel's symbols (an action of another
            symbol is a DataError naming it), applied on their ex-dates during a run.

        Raises
        ------
        DataError
            naming the field, the symbol and the bar of anything that does not fit.
        """
        given = {
            "up_limit": up_limit,
            "down_limit": down_limit,
            "st": st,
            "listing_dates": listing_dates,
            "actions": actions,
        }
        market = self._market()
        market.update(_checked_market(self, {k: v for k, v in given.items() if v is not None}))
        _check_limit_order(self, market["down_limit"], market["up_limit"])
        return Bars._trusted(
            self.timestamps,
            self.symbols,
            *(getattr(self, f) for f in FIELDS),
            market=market,
        )

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
        **market: Any,
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
        **market : up_limit, down_limit, st, listing_dates, as `with_market` takes them
        """
        return cls(timestamps, symbols, open, high, low, close, volume, **market)

    @classmethod
    def from_dataframe(
        cls, df: Any, symbol: str | None = None, tz: Any = None, *, source: str = "auto"
    ) -> Bars:
        """Build a panel from a pandas DataFrame, a polars DataFrame or a pyarrow Table.

        Two layouts are read:

        * one symbol: a time column and open, high, low, close, volume (or a pandas
          DatetimeIndex for the time); the symbol is `symbol` (default "X");
        * long: the same plus a symbol column (``symbol``, ``ticker`` or ``ts_code``; the
          source's own, e.g. tushare's ``ts_code``), one row per symbol and time. Symbols
          keep their order of first appearance; a symbol without a row at a timestamp gets
          a missing bar there.

        Column names follow `source` (see `quanta_ref.sources`): ``"quanta"`` (the names
        above, in any case, the time column ``timestamp``/``datetime``/``date``/``time``/
        ``trade_date``), ``"tushare"`` (``vol`` in lots of 100 shares: volume = vol x 100),
        ``"akshare"`` (成交量 in lots of 100 shares; codes as six-digit text),
        ``"yfinance"`` (``Adj Close`` not read), or ``"auto"`` to detect it from the
        columns. Rows may come in any order (tushare's newest first): they are sorted by
        time.

        Times are exchange-local wall-clock times: datetime64 values, ISO-8601 text, compact
        YYYYMMDD dates (integers such as 20230103 or text "20230103", as tushare's
        ``trade_date``), or int64 nanoseconds. A time-zone-aware column or index (pandas,
        a polars Datetime with a time zone, an arrow timestamp with one), or text with a
        UTC offset, is refused unless `tz` (e.g. ``"Asia/Shanghai"``) names the exchange's
        zone: then the times are converted to that zone's wall-clock time and the zone
        dropped. Times without a zone are already wall-clock times and stay as they are
        whatever `tz` says.

        Prices and volumes must be numbers (integer or float columns, or objects that are
        real numbers or missing): bool, text and complex columns are refused. A row without
        a symbol, a column given twice (in any case), and `symbol` given for a frame with a
        symbol column are refused too. polars and pyarrow are imported only when such a
        frame is given; pandas is not needed for them.
        """
        table = sources.frame_table(df)
        columns = table_columns(table, source, time_zone(tz))
        return columns_bars(columns, symbol)

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
        market = {
            name: None if arr is None else np.ascontiguousarray(arr[..., idx])
            for name, arr in self._market().items()
            if name != "actions"
        }
        market["actions"] = None if self.actions is None else self.actions.select(wanted)
        return Bars._trusted(
            self.timestamps.copy(),
            wanted,
            *(np.ascontiguousarray(getattr(self, f)[:, idx]) for f in FIELDS),
            market=market,
        )

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
        market = {
            name: None if arr is None else arr.copy() if arr.ndim == 1 else arr[lo:hi].copy()
            for name, arr in self._market().items()
            if name != "actions"
        }
        market["actions"] = self.actions  # kept whole: a run applies those that fall in it
        return Bars._trusted(
            self.timestamps[lo:hi].copy(),
            self.symbols,
            *(getattr(self, f)[lo:hi].copy() for f in FIELDS),
            market=market,
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
        extra = [name for name in MARKET_FIELDS if getattr(self, name) is not None]
        market = f", with {', '.join(extra)}" if extra else ""
        return (
            f"Bars({self.n_bars} bars x {self.n_symbols} symbols {list(self.symbols)}, "
            f"{span}{market})"
        )

    # ---------------------------------------------------------------- resampling and joining
    def resample(
        self, rule: str, *, sessions: Any = None, closed: str | None = None, outside: str = "raise"
    ) -> Bars:
        """Coarser bars: each symbol's open, high, low, close and volume over bins of `rule`.

        open is the first constituent bar's open, high the highest high, low the lowest low,
        close the last close and volume the sum; a symbol with no bar in a bin gets a missing
        bar, and a bin in which no symbol has a bar makes no row. Bins never span two
        sessions or two days. docs/semantics.md, section 1, has the rules.

        Parameters
        ----------
        rule : str
            ``"<n>min"`` or ``"<n>h"`` (bins of n minutes or hours, at most a day, anchored
            at each session's open and cut at its end: 60-minute A-share bars are
            09:30-10:30, 10:30-11:30, 13:00-14:00, 14:00-15:00), ``"1D"`` (or ``"D"``: one
            bar per trading day, ``floor(timestamp / 1 day)``) or ``"W"`` (one bar per week,
            Monday to Sunday). Anything else is a ConfigError.
        sessions : None, "cn_a", "us" or a list of (start, end) times of day
            The trading sessions, e.g. ``[("09:30", "11:30"), ("13:00", "15:00")]`` (that is
            "cn_a"; "us" is 09:30-16:00), as "HH:MM[:SS]" text or `datetime.time`, in order,
            within one day. None: each calendar day is one session.
        closed : "left", "right" or None
            How the bars are stamped, required for intraday rules: "right" for bars stamped
            at their end (A-share vendors: 09:31 .. 11:30, 13:01 .. 15:00; bins (a, b]),
            "left" for bars stamped at their start (US vendors: 09:30 .. 15:59; bins
            [a, b)). A bar stamped exactly at a session's open ("right") or close ("left")
            joins that session's first or last bin (an auction print).
        outside : "raise" or "drop"
            A bar outside every session is a DataError naming it ("raise"), or left out
            ("drop").

        Returns
        -------
        Bars
            Intraday bars are labelled with their bin's right edge, cut at the session's
            end (a bin ending at midnight: 23:59:59.999999999); "1D" and "W" bars with the
            timestamp of the bin's last bar of any symbol. So a coarse bar is never stamped
            before a price it holds.
        """
        from quanta_ref.resample import resample_panel

        labels, panels = resample_panel(
            self, rule, sessions=sessions, closed=closed, outside=outside
        )
        coarse = Bars(_ns_times(labels), self.symbols, *panels)
        market = _resampled_market(self, coarse, weekly=str(rule).upper() in ("W", "1W"))
        return coarse.with_market(**market) if market else coarse

    @staticmethod
    def concat(panels: Sequence[Bars], *, axis: str = "time") -> Bars:
        """Join panels into one, checked like any other.

        Parameters
        ----------
        panels : list of Bars
            At least one panel.
        axis : "time" or "symbols"
            "time": panels of the same symbols (in any order; the result has the first
            panel's order) over separate periods, given in any order; periods that overlap
            or interleave are a DataError naming the first timestamp where they clash.
            "symbols": panels of different symbols (a symbol twice is a DataError naming
            it), over the union of their timestamps; a symbol gets a missing bar where its
            panel has no row.
        """
        from quanta_ref.resample import concat_panels

        timestamps, symbols, fields = concat_panels(panels, axis, Bars)
        joined = Bars(_ns_times(timestamps), symbols, *fields)
        market = _joined_market(panels, joined)
        return joined.with_market(**market) if market else joined


#: `listing_dates` of a symbol whose listing date is unknown.
NO_DATE = int(np.iinfo(np.int64).min)


def _listing_mapping(bars: Bars, dates: np.ndarray) -> dict[str, np.datetime64]:
    """`listing_dates` of `bars` (int64 per symbol) as the mapping `with_market` takes."""
    pairs = zip(bars.symbols, dates.tolist(), strict=True)
    return {s: np.datetime64(d, "ns") for s, d in pairs if d != NO_DATE}


def _joined_market(panels: Sequence[Bars], joined: Bars) -> dict[str, Any]:
    """The market data of `panels` on the panel they were joined into: limit prices and ST
    flags at the rows and columns their bars went to (NaN and False elsewhere), listing dates
    by symbol (two panels that give one symbol different dates are refused)."""
    market: dict[str, Any] = {}
    for name in MARKET_FIELDS:
        if all(getattr(p, name) is None for p in panels):
            continue
        if name == "actions":  # one table of every panel's actions, each once
            tables = [p.actions for p in panels if p.actions is not None]
            market[name] = tables[0].joined(tables[1:])
            continue
        if name == "listing_dates":
            dates: dict[str, int] = {}
            for p in panels:
                if p.listing_dates is None:
                    continue
                for symbol, date in zip(p.symbols, p.listing_dates.tolist(), strict=True):
                    if date == NO_DATE:
                        continue
                    if dates.setdefault(symbol, date) != date:
                        raise DataError(
                            f"listing_dates: the panels give {symbol!r} two listing dates, "
                            f"{format_timestamp(dates[symbol])} and {format_timestamp(date)}"
                        )
            market[name] = {s: np.datetime64(d, "ns") for s, d in dates.items()}
            continue
        flags = name == "st"
        arr = np.full(
            joined.close.shape, False if flags else np.nan, dtype=bool if flags else float
        )
        for p in panels:
            values = getattr(p, name)
            if values is not None:
                rows = np.searchsorted(joined.timestamps, p.timestamps)
                columns = np.array([joined.symbol_index(s) for s in p.symbols], dtype=np.int64)
                arr[np.ix_(rows, columns)] = values
        market[name] = arr
    return market


def _resampled_market(fine: Bars, coarse: Bars, weekly: bool) -> dict[str, Any]:
    """The market data of `fine` on its resampled panel `coarse`. Listing dates carry over.
    Limit prices and ST flags hold for a trading day, and an intraday or daily bin lies within
    one day: each coarse bar takes its day's values (the day's limit prices, ST if flagged at
    any bar of the day). A week has several days' limits: weekly bars refuse them."""
    market: dict[str, Any] = {} if fine.actions is None else {"actions": fine.actions}
    if weekly and fine.actions is not None:
        _check_weekly_actions(fine, coarse)
    if fine.listing_dates is not None:
        market["listing_dates"] = _listing_mapping(fine, fine.listing_dates)
    daily = [name for name in ("up_limit", "down_limit", "st") if getattr(fine, name) is not None]
    if daily and weekly:
        raise DataError(
            f"{daily[0]}: weekly bars cannot hold a trading day's limit prices or ST flags; "
            f"resample a panel built without them"
        )
    if not daily:
        return market
    fine_days = fine.timestamps // NS_PER_DAY  # the engine's trading day
    starts = np.flatnonzero(np.r_[True, fine_days[1:] != fine_days[:-1]])
    coarse_day = np.searchsorted(fine_days[starts], coarse.timestamps // NS_PER_DAY)
    for name in daily:
        values = getattr(fine, name)
        if name == "st":
            per_day = np.logical_or.reduceat(values, starts, axis=0)
        else:
            per_day = np.fmax.reduceat(values, starts, axis=0)  # NaN: no limit that day
        market[name] = per_day[coarse_day]
    return market


def _check_weekly_actions(fine: Bars, coarse: Bars) -> None:
    """A corporate action applies before a bar's open; a weekly bar opens at its week's first
    trading day. An ex-date later in the week would apply the action to the week's bar whose
    open is still before it (a holding doubled by a bonus, valued at the old price): refused."""
    table = fine.actions
    for r, symbol in zip(table.rows(fine.timestamps).tolist(), table.symbol, strict=True):
        if r >= fine.n_bars:
            continue  # after the last bar: never applies
        week = int(np.searchsorted(coarse.timestamps, fine.timestamps[r], "left"))
        first = (
            0
            if week == 0
            else int(np.searchsorted(fine.timestamps, coarse.timestamps[week - 1], "right"))
        )
        if r != first:
            raise DataError(
                f"actions: the action of symbol {symbol!r} applies on "
                f"{format_timestamp(int(fine.timestamps[r]))[:10]}, after the first trading "
                f"day of its week: a weekly bar's open is before it; run on daily bars, or "
                f"resample a panel without actions"
            )


def _unpickle(args: tuple[Any, ...], market: dict[str, Any]) -> Bars:
    """A pickled panel, checked again by the constructor."""
    return Bars(*args, **market)


def _checked_market(bars: Bars, given: dict[str, Any]) -> dict[str, Any]:
    """Market data for `bars` as new arrays, each checked (see `Bars.with_market`)."""
    unknown = [k for k in given if k not in MARKET_FIELDS]
    if unknown:
        raise TypeError(f"Bars: unexpected keyword argument {unknown[0]!r}")
    checked: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            checked[name] = None
        elif name in ("up_limit", "down_limit"):
            checked[name] = _limit_panel(bars, name, value)
        elif name == "st":
            checked[name] = _st_panel(bars, value)
        elif name == "listing_dates":
            checked[name] = _listing_dates(bars, value)
        else:
            checked[name] = _checked_actions(bars, value)
    if "up_limit" in checked or "down_limit" in checked:
        _check_limit_order(bars, checked.get("down_limit"), checked.get("up_limit"))
    return checked


def _checked_actions(bars: Bars, actions: Any) -> Any:
    """`actions` if it is a CorporateActions of the panel's symbols (else a DataError)."""
    if not hasattr(actions, "aligned_to"):
        raise DataError(
            f"actions: expected a quanta_ref.actions.CorporateActions, got {type(actions).__name__}"
        )
    return actions.aligned_to(bars.symbols)


def _limit_panel(bars: Bars, name: str, values: Any) -> np.ndarray:
    arr = _as_panel(name, values, bars.n_bars, bars.n_symbols)
    bad = ~(np.isnan(arr) | (np.isfinite(arr) & (arr > 0.0)))
    first = _first(bad)
    if first is not None:
        t, n = first
        raise DataError(
            f"{name}: {float(arr[t, n])!r} at {_where(bars.timestamps, bars.symbols, t, n)} is "
            "not a "
            "price; a limit price is finite and > 0, or NaN where none is given"
        )
    return arr


def _check_limit_order(bars: Bars, down: np.ndarray | None, up: np.ndarray | None) -> None:
    if down is None or up is None:
        return
    with np.errstate(invalid="ignore"):
        first = _first(down > up)
    if first is not None:
        t, n = first
        raise DataError(
            f"down_limit: {float(down[t, n])!r} is above up_limit {float(up[t, n])!r} at "
            f"{_where(bars.timestamps, bars.symbols, t, n)}"
        )


def _column_of(bars: Bars, field: str, symbol: Any) -> int:
    if not isinstance(symbol, str) or symbol not in bars.symbols:
        raise DataError(f"{field}: unknown symbol {symbol!r}; the data has {list(bars.symbols)}")
    return bars.symbols.index(symbol)


def _st_panel(bars: Bars, value: Any) -> np.ndarray:
    """The ST flags as a bool (T, N) panel (see `Bars.with_market`)."""
    shape = (bars.n_bars, bars.n_symbols)
    if isinstance(value, np.ndarray) and value.dtype.kind == "b":
        arr = value.reshape(-1, 1) if value.ndim == 1 else value
        if arr.shape != shape:
            raise DataError(f"st: expected shape {shape}, got {value.shape}")
        return np.array(arr, dtype=bool, order="C", copy=True)
    flags = np.zeros(shape, dtype=bool)
    if isinstance(value, Mapping):
        for symbol, periods in value.items():
            n = _column_of(bars, "st", symbol)
            if isinstance(periods, (bool, np.bool_)):
                flags[:, n] = bool(periods)
                continue
            try:
                spans = list(periods)
            except TypeError:
                raise DataError(
                    f"st: {symbol!r}: expected True/False or a list of (start, end) periods, "
                    f"got {periods!r}"
                ) from None
            for span in spans:
                if not isinstance(span, (tuple, list)) or len(span) != 2:
                    raise DataError(f"st: {symbol!r}: a period is (start, end), got {span!r}")
                lo = 0 if span[0] is None else bound_ns(span[0], "st", False)
                hi = _MAX_NS if span[1] is None else bound_ns(span[1], "st", True)
                flags[:, n] |= (bars.timestamps >= lo) & (bars.timestamps <= hi)
        return flags
    if isinstance(value, str) or not isinstance(value, (Sequence, set, frozenset)):
        raise DataError(
            "st: expected a bool panel, a collection of symbols, or a mapping symbol -> "
            f"True/False or periods, got {type(value).__name__}"
        )
    for symbol in value:
        flags[:, _column_of(bars, "st", symbol)] = True
    return flags


def _listing_dates(bars: Bars, value: Any) -> np.ndarray:
    """Listing dates as int64 ns (N,), NO_DATE for a symbol not given."""
    if not isinstance(value, Mapping):
        raise DataError(
            f"listing_dates: expected a mapping symbol -> date, got {type(value).__name__}"
        )
    dates = np.full(bars.n_symbols, NO_DATE, dtype=np.int64)
    for symbol, date in value.items():
        dates[_column_of(bars, "listing_dates", symbol)] = one_timestamp(date, "listing_dates")
    return dates


TIME_COLUMNS = sources.TIME_COLUMNS


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


# ---------------------------------------------------------------------- tables to panels
# A file or a frame becomes a panel in two steps: `table_columns` reads its columns under a
# source's convention into normalised columns, `columns_bars` lays them out as a panel.


def table_columns(table: sources.Table, source: Any, zone: dt.tzinfo | None) -> dict[str, Any]:
    """The normalised columns of `table` read under `source` (see `quanta_ref.sources`).

    Keys: ``timestamp`` (int64 ns, in the table's row order), ``symbol`` (a list of text, or
    None when the table has no symbol column), ``open``, ``high``, ``low``, ``close`` and
    ``volume`` (float64; volume in shares, the source's lots converted), and the extra
    columns the table has among ``up_limit``, ``down_limit`` (float64) and ``is_st`` (bool).
    """
    read = sources.reading(table, source)
    columns: dict[str, Any] = {"timestamp": _table_times(table, read.time, zone)}
    for f, name in read.fields.items():
        columns[f] = _table_numbers(table, name, f)
    columns["volume"] = columns["volume"] * read.volume_shares
    for extra, name in read.extras.items():
        if extra == "is_st":
            columns[extra] = _table_flags(table, name)
        else:
            columns[extra] = _table_numbers(table, name, extra)
    columns["symbol"] = None
    if read.symbol is not None:
        raw = table.column(read.symbol)
        values = raw.tolist() if hasattr(raw, "tolist") else list(raw)
        columns["symbol"] = sources.symbol_texts(values, read, table.row)
    return columns


def _table_times(table: sources.Table, name: str | None, zone: dt.tzinfo | None) -> np.ndarray:
    if name is None:
        return column_times(table.index, f"timestamp ({table.index_name})", zone, table.where)
    raw = table.column(name)
    if table.text:
        return column_times(np.asarray(raw, dtype=object), "timestamp", zone, table.where)
    field = f"timestamp (column {name!r})"
    if getattr(raw, "dtype", None) is not None and raw.dtype.kind == "f":
        raise DataError(
            f"{field}: {table.label} holds {raw.dtype}; expected dates, datetimes, "
            f"ISO text or YYYYMMDD integers"
        )
    stored_zone = table.zone(name)
    if stored_zone:
        return zoned_times(np.asarray(raw), field, zone, stored_zone, table.where)
    return column_times(raw, field, zone, table.where)


def _table_numbers(table: sources.Table, name: str, field: str) -> np.ndarray:
    """A price, volume or limit column as float64; CSV text is parsed, an empty cell NaN."""
    raw = table.column(name)
    if table.text:
        return parse_floats(raw, field, table.where)
    wrong = not_numbers(raw)
    if wrong is not None:
        raise DataError(f"{field}: column {name!r} of {table.label} holds {wrong}, not numbers")
    try:
        return np.asarray(raw, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"{field}: cannot read column {name!r} of {table.label} as numbers ({exc})"
        ) from None


def _table_flags(table: sources.Table, name: str) -> np.ndarray:
    """A flag column (``is_st``) as bool: bools, 0/1, or text 0/1/true/false in any case."""
    raw = np.asarray(table.column(name), dtype=object)
    spelt = {"1": True, "0": False, "true": True, "false": False}
    flags = np.empty(len(raw), dtype=bool)
    for i, value in enumerate(raw.tolist()):
        key = str(value).strip().lower()
        if isinstance(value, (bool, np.bool_)) or value in (0, 1):
            flags[i] = bool(value)
        elif isinstance(value, str) and key in spelt:
            flags[i] = spelt[key]
        else:
            raise DataError(
                f"is_st: cannot read {value!r} at {table.where(i)} as a flag; "
                f"expected true/false or 1/0"
            )
    return flags


def parse_floats(cells: Sequence[str], field: str, where: Where) -> np.ndarray:
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


def select_rows(columns: dict[str, Any], keep: np.ndarray) -> dict[str, Any]:
    """The normalised `columns` of the rows where `keep` (a bool array) is True."""
    rows = np.flatnonzero(keep)
    picked: dict[str, Any] = {k: v[rows] for k, v in columns.items() if isinstance(v, np.ndarray)}
    symbols = columns["symbol"]
    picked["symbol"] = None if symbols is None else [symbols[i] for i in rows.tolist()]
    return picked


def columns_bars(columns: dict[str, Any], symbol: str | None = None) -> Bars:
    """A panel of normalised columns: one symbol (`symbol`, default "X") when they have
    no symbol column, else one per symbol in order of first appearance, over the union of
    their times; a symbol without a row at a time gets a missing bar there."""
    if symbol is not None and (not isinstance(symbol, str) or not symbol):
        raise DataError(f"symbol: expected a non-empty string, got {symbol!r}")
    sym_values = columns["symbol"]
    if symbol is not None and sym_values is not None:
        raise DataError(
            f"symbol: {symbol!r} given for a frame with a symbol column: ambiguous; pass "
            f"symbol= only for a frame of one symbol without that column"
        )
    times = columns["timestamp"]
    if sym_values is None:
        sym_values = ["X" if symbol is None else symbol] * len(times)
    symbols = list(dict.fromkeys(sym_values))
    unique_ts = np.unique(times)
    row = np.searchsorted(unique_ts, times)
    col_of = {s: i for i, s in enumerate(symbols)}
    col = np.array([col_of[s] for s in sym_values], dtype=np.int64)
    counts = np.zeros((len(unique_ts), len(symbols)), dtype=np.int64)
    np.add.at(counts, (row, col), 1)
    dup = _first(counts > 1)
    if dup is not None:
        t, n = dup
        raise DataError(f"timestamp: more than one row for {_where(unique_ts, symbols, t, n)}")
    panels = {}
    for f in FIELDS:
        panel = np.full((len(unique_ts), len(symbols)), np.nan)
        panel[row, col] = columns[f]
        panels[f] = panel
    panels["volume"][counts == 0] = 0.0
    # The vendor's limit prices and ST flag, when the source has them (tushare's stk_limit
    # up_limit/down_limit, an is_st column), become the panel's market data.
    market: dict[str, np.ndarray] = {}
    for name, field in (("up_limit", "up_limit"), ("down_limit", "down_limit"), ("is_st", "st")):
        if columns.get(name) is not None:
            flags = name == "is_st"
            panel = np.full(
                counts.shape, False if flags else np.nan, dtype=bool if flags else float
            )
            panel[row, col] = columns[name]
            market[field] = panel
    return Bars(_ns_times(unique_ts), symbols, *(panels[f] for f in FIELDS), **market)


def _validate(
    ts: np.ndarray, symbols: Sequence[str], p: dict[str, np.ndarray], first_row: int = 0
) -> None:
    """Refuse anything but clean bars and whole missing bars; see the module docstring.
    `first_row`: the panel row of the first of these rows (a live session's new rows)."""

    def _where(ts: np.ndarray, symbols: Sequence[str], t: int, n: int) -> str:
        return f"symbol {symbols[n]!r}, bar {t + first_row} ({format_timestamp(ts[t])})"

    # Compare neighbours rather than np.diff, which overflows on extreme int64 values.
    bad = ts[1:] <= ts[:-1]
    if bad.any():
        t = int(np.argmax(bad)) + 1
        kind = "duplicated" if ts[t] == ts[t - 1] else "not ascending"
        raise DataError(
            f"timestamps: {kind} at bar {t + first_row} ({format_timestamp(ts[t])}); "
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
