"""Coarser bars and joined panels: the data work behind `Bars.resample` and `Bars.concat`.

Plain numpy, shared by both backends: an engine only ever sees the panel that comes out.
The functions here take panels and return arrays; `Bars` builds the new panel from them
through its usual checks. (This module does not import `bars`, which imports it.)

The rules, and why a coarse bar is labelled as it is, are in docs/semantics.md, section 1,
"Resampling and joining panels". In short: bins never span two sessions or two days, and a
coarse bar's timestamp is never earlier than any bar it was made of, so at its timestamp
every price it holds was known.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from quanta_ref.errors import ConfigError, DataError

NS_PER_DAY = 86_400 * 10**9
_NS_PER_SECOND = 10**9
_MAX_NS = int(np.iinfo(np.int64).max)

SESSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "cn_a": (("09:30", "11:30"), ("13:00", "15:00")),
    "us": (("09:30", "16:00"),),
}
"""Named trading sessions (exchange-local wall-clock times): Shanghai/Shenzhen A-shares with
their lunch break, and the US regular session."""

RULES = "'<n>min' or '<n>h' (up to a day, e.g. '30min', '60min', '1h'), '1D' (or 'D'), 'W'"
"""The rules `Bars.resample` accepts, as its error messages spell them."""

_INTRADAY = re.compile(r"^([1-9][0-9]*)(min|h)$")
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


class Panel(Protocol):
    """What these functions read of a `Bars` panel."""

    @property
    def timestamps(self) -> np.ndarray: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    @property
    def open(self) -> np.ndarray: ...
    @property
    def high(self) -> np.ndarray: ...
    @property
    def low(self) -> np.ndarray: ...
    @property
    def close(self) -> np.ndarray: ...
    @property
    def volume(self) -> np.ndarray: ...


def _fields(panel: Panel) -> list[np.ndarray]:
    return [panel.open, panel.high, panel.low, panel.close, panel.volume]


def _when(ts: Any) -> str:
    return str(np.datetime64(int(ts), "ns"))


# ---------------------------------------------------------------------- settings


def parse_rule(rule: Any) -> tuple[str, int]:
    """`rule` as ("intraday", bin width in ns), ("day", 0) or ("week", 0); else a ConfigError."""
    if isinstance(rule, str):
        if rule in ("1D", "D"):
            return "day", 0
        if rule in ("W", "1W"):
            return "week", 0
        match = _INTRADAY.match(rule)
        if match:
            minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1)
            if minutes <= 24 * 60:
                return "intraday", minutes * 60 * _NS_PER_SECOND
            raise ConfigError(
                f"rule: {rule!r} is longer than a day; intraday bins never span two sessions, "
                f"use '1D' or 'W'"
            )
    raise ConfigError(f"rule: {rule!r} is not a bar size quanta resamples to; use {RULES}")


def _time_of_day(value: Any, end: bool) -> int:
    """A session bound ("09:30", "09:30:00" or a `datetime.time`) as ns since midnight;
    "24:00" is the end of the day and only an end."""
    if isinstance(value, dt.time) and value.tzinfo is None:
        return (
            value.hour * 3600 + value.minute * 60 + value.second
        ) * _NS_PER_SECOND + value.microsecond * 1000
    match = _TIME_OF_DAY.match(value) if isinstance(value, str) else None
    if match:
        hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
        if (
            minute < 60
            and second < 60
            and (hour < 24 or (end and (hour, minute, second) == (24, 0, 0)))
        ):
            return (hour * 3600 + minute * 60 + second) * _NS_PER_SECOND
    raise ConfigError(
        f"sessions: {value!r} is not a time of day; write 'HH:MM' or 'HH:MM:SS' (e.g. '09:30', "
        f"'24:00' only as an end) or give a datetime.time without time zone"
    )


def session_bounds(sessions: Any) -> np.ndarray | None:
    """`sessions` (None, a name in `SESSIONS`, or (start, end) pairs) as an int64 array of
    shape (S, 2), ns since midnight; None stays None (each calendar day is one session)."""
    if sessions is None:
        return None
    if isinstance(sessions, str):
        if sessions not in SESSIONS:
            raise ConfigError(
                f"sessions: unknown name {sessions!r}; known: {sorted(SESSIONS)}, or give "
                f"(start, end) pairs such as [('09:30', '11:30'), ('13:00', '15:00')]"
            )
        sessions = SESSIONS[sessions]
    try:
        if any(isinstance(pair, str) for pair in sessions):
            raise TypeError  # ("09:30", "15:00") is one pair, not a list of them
        pairs = [tuple(pair) for pair in sessions]
    except TypeError:
        raise ConfigError(
            f"sessions: expected a name or a list of (start, end) pairs, got {sessions!r}"
        ) from None
    if not pairs:
        raise ConfigError("sessions: no session given")
    bounds: list[tuple[int, int]] = []
    for pair in pairs:
        if len(pair) != 2:
            raise ConfigError(f"sessions: expected (start, end) pairs, got {sessions!r}")
        start, end = _time_of_day(pair[0], False), _time_of_day(pair[1], True)
        if start >= end:
            raise ConfigError(
                f"sessions: {pair!r} ends before it starts; a session lies within one day "
                f"(a night session across midnight is not supported)"
            )
        if bounds and start < bounds[-1][1]:
            raise ConfigError(
                f"sessions: {pair!r} starts before the session before it ends; give sessions "
                f"in order of the day, without overlap"
            )
        bounds.append((start, end))
    return np.array(bounds, dtype=np.int64)


# ---------------------------------------------------------------------- resampling


def resample_panel(
    panel: Panel,
    rule: Any,
    *,
    sessions: Any = None,
    closed: Any = None,
    outside: Any = "raise",
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Coarse bars of `panel`: int64 labels (G,) and open, high, low, close, volume (G, N).

    See `Bars.resample` for the parameters and docs/semantics.md, section 1, for the rules.
    """
    kind, width = parse_rule(rule)
    if closed not in (None, "left", "right"):
        raise ConfigError(f"closed: expected 'left' or 'right', got {closed!r}")
    if kind == "intraday" and closed is None:
        raise ConfigError(
            f"closed: say how the bars to resample to {rule!r} are stamped: 'right' for bars "
            f"stamped at their end (A-share vendors: 09:31 .. 11:30, 13:01 .. 15:00), 'left' "
            f"for bars stamped at their start (US vendors: 09:30 .. 15:59)"
        )
    if outside not in ("raise", "drop"):
        raise ConfigError(f"outside: expected 'raise' or 'drop', got {outside!r}")
    bounds = session_bounds(sessions)
    day_bounds = np.array([[0, NS_PER_DAY]], dtype=np.int64) if bounds is None else bounds

    ts = panel.timestamps
    fields = _fields(panel)
    present = ~np.isnan(panel.close)
    day = ts // NS_PER_DAY  # the engine's trading day: floor, also before 1970
    time_of_day = ts - day * NS_PER_DAY
    session = _session_of(time_of_day, day_bounds, closed)

    away = (session < 0) & present.any(axis=1)
    if away.any() and outside == "raise":
        t = int(np.argmax(away))
        n = int(np.argmax(present[t]))
        shown = [(_clock(s), _clock(e)) for s, e in day_bounds.tolist()]
        raise DataError(
            f"timestamps: symbol {panel.symbols[n]!r}, bar {t} ({_when(ts[t])}) is outside "
            f"every session {shown}; pass outside='drop' to leave such bars out"
        )
    # Rows outside the sessions that hold no bar carry nothing: they go without a word.
    kept = np.flatnonzero(session >= 0)
    if len(kept) == 0 or not present[kept].any():
        raise DataError(
            "timestamps: no bar to resample (every bar is missing or outside the sessions)"
        )
    ts, day, time_of_day, session = ts[kept], day[kept], time_of_day[kept], session[kept]
    present = present[kept]
    fields = [field[kept] for field in fields]

    if kind == "intraday":
        key, edge_label = _intraday_bins(ts, day, time_of_day, session, day_bounds, width, closed)
    elif kind == "day":
        key, edge_label = day, None
    else:  # weeks run Monday to Sunday: 1970-01-01 (day 0) was a Thursday
        key, edge_label = (day + 3) // 7, None

    # Rows come in time order and keys never decrease with time, so each bin is a run of
    # consecutive rows.
    starts = np.concatenate(([0], np.flatnonzero(key[1:] != key[:-1]) + 1))
    row = np.arange(len(ts))[:, None]
    first = np.minimum.reduceat(np.where(present, row, len(ts)), starts, axis=0)
    last = np.maximum.reduceat(np.where(present, row, -1), starts, axis=0)
    has_bar = last >= 0
    column = np.arange(present.shape[1])
    open_, high, low, close, volume = fields
    out = [
        np.where(has_bar, open_[np.minimum(first, len(ts) - 1), column], np.nan),
        np.fmax.reduceat(high, starts, axis=0),  # fmax/fmin skip the NaN of missing bars
        np.fmin.reduceat(low, starts, axis=0),
        np.where(has_bar, close[np.maximum(last, 0), column], np.nan),
        np.add.reduceat(volume, starts, axis=0),  # a missing bar's volume is 0
    ]
    if edge_label is None:  # "1D", "W": the last bar of any symbol in the bin
        labels = ts[last.max(axis=1).clip(0)]
    else:
        labels = edge_label[starts]
    keep = has_bar.any(axis=1)  # a bin in which no symbol has a bar makes no row
    return labels[keep], [np.ascontiguousarray(a[keep]) for a in out]


def _clock(ns: int) -> str:
    seconds = ns // _NS_PER_SECOND
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}"
    return text if seconds % 60 == 0 else f"{text}:{seconds % 60:02d}"


def _session_of(time_of_day: np.ndarray, bounds: np.ndarray, closed: str | None) -> np.ndarray:
    """The session (row of `bounds`) each time of day falls in, -1 for none.

    Bars stamped at their end (closed="right") belong to (start, end], bars stamped at their
    start to [start, end). A bar stamped exactly at a session's open (closed="right": the
    opening auction, which many A-share vendors print as a 09:30 bar) or close
    (closed="left": a closing auction print) joins that session when no session holds it.
    For "1D" and "W" (closed=None) a session is [start, end].
    """
    session = np.full(len(time_of_day), -1, dtype=np.int64)
    for j, (start, end) in enumerate(bounds.tolist()):
        if closed == "left":
            inside = (time_of_day >= start) & (time_of_day < end)
        elif closed == "right":
            inside = (time_of_day > start) & (time_of_day <= end)
        else:
            inside = (time_of_day >= start) & (time_of_day <= end)
        session[inside & (session < 0)] = j
    if closed is not None:
        for j, (start, end) in enumerate(bounds.tolist()):
            edge = time_of_day == (start if closed == "right" else end)
            session[edge & (session < 0)] = j
    return session


def _intraday_bins(
    ts: np.ndarray,
    day: np.ndarray,
    time_of_day: np.ndarray,
    session: np.ndarray,
    bounds: np.ndarray,
    width: int,
    closed: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's bin (a key that grows with time) and its label (the bin's right edge).

    Bins are anchored at each session's open and cut at its end. A bin that would end at
    midnight is labelled with the day's last nanosecond, 23:59:59.999999999: midnight is the
    next trading day.
    """
    start, end = bounds[session, 0], bounds[session, 1]
    offset = time_of_day - start
    # closed="right": (start + k w, start + (k + 1) w]; a bar at the open joins bin 0.
    step = offset if closed == "left" else np.maximum(offset - 1, 0)
    last_bin = (bounds[:, 1] - bounds[:, 0] - 1) // width  # of each session
    k = np.minimum(step // width, last_bin[session])  # a bar at the close joins the last bin
    first_bin = np.concatenate(([0], np.cumsum(last_bin + 1)[:-1]))
    key = day * int(last_bin.sum() + len(last_bin)) + first_bin[session] + k
    edge = np.minimum(start + (k + 1) * width, end)
    edge = np.minimum(edge, NS_PER_DAY - 1)
    # ts + (edge - time_of_day), without running past the last int64 nanosecond (a bin
    # only the last one can reach): clamped, it is still >= every bar in the bin.
    gap = edge - time_of_day
    label = np.where(ts > _MAX_NS - gap, _MAX_NS, ts + gap)
    return key, label


# ---------------------------------------------------------------------- joining


def concat_panels(
    panels: Any, axis: Any, kind: type
) -> tuple[np.ndarray, tuple[str, ...], list[np.ndarray]]:
    """Timestamps, symbols and the five (T, N) fields of `panels` joined along `axis`.

    `kind` is the panel class (`Bars`) every item must be. See `Bars.concat`.
    """
    if axis not in ("time", "symbols"):
        raise ConfigError(f"axis: expected 'time' or 'symbols', got {axis!r}")
    if isinstance(panels, kind) or not isinstance(panels, Sequence) or isinstance(panels, str):
        raise DataError(f"panels: expected a list of Bars panels, got {type(panels).__name__}")
    panels = list(panels)
    if not panels:
        raise DataError("panels: an empty list; give at least one Bars panel")
    for i, panel in enumerate(panels):
        if not isinstance(panel, kind):
            raise DataError(
                f"panels: item {i} is a {type(panel).__name__}, not a Bars panel (build one "
                f"with Bars.from_dataframe or Bars.from_arrays)"
            )
    if axis == "time":
        return _along_time(panels)
    return _along_symbols(panels)


def _along_time(panels: list[Panel]) -> tuple[np.ndarray, tuple[str, ...], list[np.ndarray]]:
    symbols = panels[0].symbols
    for i, panel in enumerate(panels[1:], start=1):
        extra = [s for s in panel.symbols if s not in symbols]
        lacking = [s for s in symbols if s not in panel.symbols]
        if extra or lacking:
            what = f"has {extra[0]!r}, which" if extra else f"lacks {lacking[0]!r}, which"
            raise DataError(
                f"symbols: panel {i} {what} panel 0 "
                f"{'lacks' if extra else 'has'}; panels joined along time hold the same "
                f"symbols (join other symbols with axis='symbols')"
            )
    # Panels may come in any order; their periods must not overlap or interleave.
    order = sorted(range(len(panels)), key=lambda i: int(panels[i].timestamps[0]))
    latest, holder = None, -1
    for i in order:
        first, last = int(panels[i].timestamps[0]), int(panels[i].timestamps[-1])
        if latest is not None and first <= latest:
            raise DataError(
                f"timestamps: panel {i} and panel {holder} overlap at {_when(first)}; panels "
                f"joined along time cover separate periods (they may come in any order)"
            )
        if latest is None or last > latest:
            latest, holder = last, i
    timestamps = np.concatenate([panels[i].timestamps for i in order])
    fields = []
    for f in range(5):
        parts = []
        for i in order:
            columns = [panels[i].symbols.index(s) for s in symbols]
            parts.append(_fields(panels[i])[f][:, columns])
        fields.append(np.concatenate(parts, axis=0))
    return timestamps, symbols, fields


def _along_symbols(panels: list[Panel]) -> tuple[np.ndarray, tuple[str, ...], list[np.ndarray]]:
    owner: dict[str, int] = {}
    for i, panel in enumerate(panels):
        for s in panel.symbols:
            if s in owner:
                raise DataError(
                    f"symbols: {s!r} is in panel {owner[s]} and panel {i}; panels joined "
                    f"along symbols hold different symbols (join periods with axis='time')"
                )
            owner[s] = i
    timestamps = np.unique(np.concatenate([panel.timestamps for panel in panels]))
    shape = (len(timestamps), len(owner))
    # Where a panel has no row, its symbols get a missing bar: prices NaN, volume 0.
    fields = [np.full(shape, np.nan) for _ in range(4)] + [np.zeros(shape)]
    column = 0
    for panel in panels:
        rows = np.searchsorted(timestamps, panel.timestamps)
        columns = slice(column, column + len(panel.symbols))
        for out, values in zip(fields, _fields(panel), strict=True):
            out[rows, columns] = values
        column += len(panel.symbols)
    return timestamps, tuple(owner), fields
