"""Coarser bars and joined panels (`Bars.resample`, `Bars.concat`): hand-computed bins, no
look-ahead, pandas as an independent oracle, and round trips.

The rules are in docs/semantics.md, section 1, "Resampling and joining panels".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from quanta_ref import Bars, Engine
from quanta_ref.bars import FIELDS
from quanta_ref.errors import ConfigError, DataError
from strategies import STARTS
from support import Script

NS_MINUTE = 60 * 10**9
NS_DAY = 86_400 * 10**9
CN_A = [("09:30", "11:30"), ("13:00", "15:00")]


def ns(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


def texts(timestamps: np.ndarray) -> list[str]:
    return [str(t) for t in timestamps.astype("datetime64[ns]").astype("datetime64[s]")]


def minutes(day: str, first: str, last: str) -> np.ndarray:
    """Every minute from `first` to `last` (inclusive) on `day`, as int64 ns."""
    lo, hi = ns(f"{day}T{first}"), ns(f"{day}T{last}")
    return np.arange(lo, hi + 1, NS_MINUTE, dtype=np.int64)


def a_share_day(day: str, stamped: str = "end") -> np.ndarray:
    """The 240 one-minute bars of an A-share day: 09:31 .. 11:30, 13:01 .. 15:00 when
    stamped at their end, 09:30 .. 11:29, 13:00 .. 14:59 when stamped at their start."""
    if stamped == "end":
        return np.concatenate([minutes(day, "09:31", "11:30"), minutes(day, "13:01", "15:00")])
    return np.concatenate([minutes(day, "09:30", "11:29"), minutes(day, "13:00", "14:59")])


def ramp(times: np.ndarray, symbols: tuple[str, ...] = ("X",)) -> Bars:
    """Bar i (of every symbol): open 10 + i / 100, close open + 0.005, high close + 0.01,
    low open - 0.01, volume 100 + i."""
    i = np.arange(len(times), dtype=np.float64)[:, None] * np.ones(len(symbols))
    open_ = 10.0 + i / 100
    close = open_ + 0.005
    return Bars.from_arrays(
        times.view("datetime64[ns]"), open_, close + 0.01, open_ - 0.01, close, 100 + i, symbols
    )


def rows(bars: Bars, column: int = 0) -> list[tuple[float, ...]]:
    return [tuple(float(getattr(bars, f)[t, column]) for f in FIELDS) for t in range(bars.n_bars)]


def close_to(expected: list[tuple[float, ...]]) -> Any:
    return [pytest.approx(row, rel=1e-12) for row in expected]


# ---------------------------------------------------------------------- intraday, by hand


def test_a_share_minutes_stamped_at_their_end_make_four_60min_bars_around_lunch():
    bars = ramp(a_share_day("2024-01-02"))
    hourly = bars.resample("60min", sessions="cn_a", closed="right")
    assert texts(hourly.timestamps) == [
        "2024-01-02T10:30:00",
        "2024-01-02T11:30:00",
        "2024-01-02T14:00:00",
        "2024-01-02T15:00:00",
    ]
    # bin b holds minute bars 60b .. 60b + 59: open 10 + 0.6 b, close 10 + (60b + 59) / 100
    # + 0.005, high that + 0.01, low the open - 0.01, volume 60 x 100 + sum(60b .. 60b + 59)
    assert rows(hourly) == close_to(
        [
            (10.00, 10.605, 9.99, 10.595, 6000 + 1770),
            (10.60, 11.205, 10.59, 11.195, 6000 + 3600 + 1770),
            (11.20, 11.805, 11.19, 11.795, 6000 + 7200 + 1770),
            (11.80, 12.405, 11.79, 12.395, 6000 + 10800 + 1770),
        ]
    )


def test_a_share_30min_bars_stop_at_11_30_and_start_again_after_13_00():
    halves = ramp(a_share_day("2024-01-02")).resample("30min", sessions=CN_A, closed="right")
    assert [t[11:16] for t in texts(halves.timestamps)] == [
        "10:00",
        "10:30",
        "11:00",
        "11:30",
        "13:30",
        "14:00",
        "14:30",
        "15:00",
    ]
    # 30 bars each; bin b: volume 30 x 100 + sum(30b .. 30b + 29) = 3000 + 900 b + 435
    assert halves.volume[:, 0].tolist() == [3000 + 900 * b + 435 for b in range(8)]
    assert halves.open[:, 0] == pytest.approx([10 + 0.3 * b for b in range(8)], rel=1e-12)


def test_60min_with_the_us_session_reads_times_as_given_and_hour_is_60min():
    bars = ramp(minutes("2024-01-02", "09:30", "15:59"))  # stamped at their start
    hourly = bars.resample("1h", sessions="us", closed="left")
    # 09:30-10:30 ... 14:30-15:30, then 15:30-16:00 cut at the close
    assert [t[11:16] for t in texts(hourly.timestamps)] == [
        "10:30",
        "11:30",
        "12:30",
        "13:30",
        "14:30",
        "15:30",
        "16:00",
    ]
    assert hourly.volume[:, 0].tolist()[-1] == 30 * 100 + sum(range(360, 390))
    same = bars.resample("60min", sessions=[("09:30", "16:00")], closed="left")
    assert rows(same) == rows(hourly)


def test_start_stamped_minutes_with_closed_left_give_the_same_bars_as_end_stamped_ones():
    end = ramp(a_share_day("2024-01-02", "end")).resample("60min", sessions="cn_a", closed="right")
    start = ramp(a_share_day("2024-01-02", "start")).resample(
        "60min", sessions="cn_a", closed="left"
    )
    assert texts(start.timestamps) == texts(end.timestamps)
    assert rows(start) == rows(end)


def test_reading_start_stamped_bars_as_end_stamped_moves_one_minute_to_the_next_bin():
    start = ramp(a_share_day("2024-01-02", "start"))
    wrong = start.resample("60min", sessions="cn_a", closed="right")
    # 09:30 (at the open) joins the first bin, but 10:30 (the minute 10:30-10:31) is read
    # as ending at 10:30: 61 bars, then 59
    assert [float(v) for v in wrong.volume[:2, 0]] == [
        61 * 100 + sum(range(61)),
        59 * 100 + sum(range(61, 120)),
    ]


def test_an_opening_auction_bar_at_09_30_joins_the_first_bin_when_bars_are_end_stamped():
    times = np.concatenate([[ns("2024-01-02T09:30")], a_share_day("2024-01-02")])
    hourly = ramp(times).resample("60min", sessions="cn_a", closed="right")
    assert hourly.n_bars == 4
    assert hourly.open[0, 0] == 10.0  # the 09:30 bar's open
    assert hourly.volume[0, 0] == 61 * 100 + sum(range(61))
    assert texts(hourly.timestamps)[0] == "2024-01-02T10:30:00"


def test_a_closing_print_at_the_close_joins_the_last_bin_when_bars_are_start_stamped():
    times = np.concatenate([minutes("2024-01-02", "09:30", "15:59"), [ns("2024-01-02T16:00")]])
    hourly = ramp(times).resample("60min", sessions="us", closed="left")
    assert texts(hourly.timestamps)[-1] == "2024-01-02T16:00:00"
    assert hourly.close[-1, 0] == pytest.approx(10 + 390 / 100 + 0.005, rel=1e-12)


def test_a_bar_outside_every_session_is_refused_naming_it_unless_dropped():
    times = np.concatenate([a_share_day("2024-01-02"), [ns("2024-01-02T15:30")]])
    bars = ramp(times)
    with pytest.raises(DataError, match=r"symbol 'X', bar 240 \(2024-01-02T15:30.*outside="):
        bars.resample("60min", sessions="cn_a", closed="right")
    dropped = bars.resample("60min", sessions="cn_a", closed="right", outside="drop")
    assert rows(dropped) == rows(
        ramp(a_share_day("2024-01-02")).resample("60min", sessions="cn_a", closed="right")
    )


def test_a_lunch_bar_is_outside_the_a_share_sessions():
    times = np.sort(np.concatenate([a_share_day("2024-01-02"), [ns("2024-01-02T12:00")]]))
    with pytest.raises(DataError, match=r"12:00:00.* is outside every session"):
        ramp(times).resample("30min", sessions="cn_a", closed="right")


def test_a_row_of_missing_bars_outside_the_sessions_is_no_error():
    times = np.sort(np.concatenate([a_share_day("2024-01-02"), [ns("2024-01-02T12:00")]]))
    bars = ramp(times)
    lunch = int(np.searchsorted(times, ns("2024-01-02T12:00")))
    fields = {f: getattr(bars, f).copy() for f in FIELDS}
    for f in ("open", "high", "low", "close"):
        fields[f][lunch] = np.nan
    fields["volume"][lunch] = 0.0
    gap = Bars.from_arrays(times.view("datetime64[ns]"), *(fields[f] for f in FIELDS))
    assert gap.resample("60min", sessions="cn_a", closed="right").n_bars == 4


def test_without_sessions_bins_start_at_midnight_and_the_last_one_stays_on_its_day():
    times = np.array([ns(t) for t in ("2024-01-02T22:10", "2024-01-02T23:30", "2024-01-03T00:00")])
    hourly = ramp(times).resample("1h", closed="left")
    # [22:00, 23:00) and [23:00, 24:00): midnight is the next day, so the day's last
    # nanosecond labels the last bin; 00:00 starts the next day's first bin
    assert texts(hourly.timestamps) == [
        "2024-01-02T23:00:00",
        "2024-01-02T23:59:59",
        "2024-01-03T01:00:00",
    ]
    assert hourly.timestamps[1] == ns("2024-01-03") - 1
    end_stamped = ramp(times).resample("1h", closed="right")
    # (22:00, 23:00], (23:00, 24:00); 00:00 is on the next day, at its open: first bin
    assert texts(end_stamped.timestamps) == texts(hourly.timestamps)


def test_a_bin_cut_by_the_session_end_is_labelled_at_the_end():
    bars = ramp(minutes("2024-01-02", "09:31", "10:40"))
    bins = bars.resample("45min", sessions=[("09:30", "10:40")], closed="right")
    assert [t[11:16] for t in texts(bins.timestamps)] == ["10:15", "10:40"]
    assert bins.volume[:, 0].tolist() == [45 * 100 + sum(range(45)), 25 * 100 + sum(range(45, 70))]


def test_bins_without_any_bar_make_no_row():
    times = np.concatenate(
        [minutes("2024-01-02", "09:31", "09:40"), minutes("2024-01-02", "14:01", "14:05")]
    )
    hourly = ramp(times).resample("60min", sessions="cn_a", closed="right")
    assert texts(hourly.timestamps) == ["2024-01-02T10:30:00", "2024-01-02T15:00:00"]


# ---------------------------------------------------------------------- days and weeks


def test_1d_makes_one_bar_per_trading_day_labelled_with_its_last_bar():
    times = np.concatenate([a_share_day("2024-01-02"), a_share_day("2024-01-03")])
    daily = ramp(times).resample("1D", sessions="cn_a")
    assert texts(daily.timestamps) == ["2024-01-02T15:00:00", "2024-01-03T15:00:00"]
    assert rows(daily) == close_to(
        [
            (10.00, 12.405, 9.99, 12.395, 240 * 100 + sum(range(240))),
            (12.40, 14.805, 12.39, 14.795, 240 * 100 + sum(range(240, 480))),
        ]
    )
    assert rows(ramp(times).resample("D")) == rows(daily)  # no sessions: calendar days


def test_1d_of_daily_bars_stamped_at_midnight_is_the_same_panel():
    times = np.arange(ns("2024-01-01"), ns("2024-01-11"), NS_DAY)
    bars = ramp(times)
    daily = bars.resample("1D")
    np.testing.assert_array_equal(daily.timestamps, bars.timestamps)
    assert rows(daily) == rows(bars)


def test_weeks_run_monday_to_sunday_and_are_labelled_with_their_last_bar():
    # 2024-01-01 is a Monday; bars every day from Wednesday 2023-12-27 to Tuesday 2024-01-09
    times = np.arange(ns("2023-12-27"), ns("2024-01-10"), NS_DAY)
    weekly = ramp(times).resample("W")
    assert texts(weekly.timestamps) == [
        "2023-12-31T00:00:00",  # Wed .. Sun: 5 bars (0 .. 4)
        "2024-01-07T00:00:00",  # Mon .. Sun: 7 bars (5 .. 11)
        "2024-01-09T00:00:00",  # Mon, Tue: 2 bars (12, 13)
    ]
    assert rows(weekly) == close_to(
        [
            (10.00, 10.055, 9.99, 10.045, 500 + 10),
            (10.05, 10.125, 10.04, 10.115, 700 + sum(range(5, 12))),
            (10.12, 10.145, 10.11, 10.135, 200 + 25),
        ]
    )


def test_weeks_before_1970_are_monday_to_sunday_too():
    # 1969-12-29 is a Monday, 1970-01-04 a Sunday, 1970-01-05 a Monday
    times = np.array([ns(d) for d in ("1969-12-28", "1969-12-29", "1970-01-04", "1970-01-05")])
    weekly = ramp(times).resample("W")
    assert texts(weekly.timestamps) == [
        "1969-12-28T00:00:00",
        "1970-01-04T00:00:00",
        "1970-01-05T00:00:00",
    ]
    assert weekly.volume[:, 0].tolist() == [100, 101 + 102, 103]


# ---------------------------------------------------------------------- several symbols


def test_symbols_of_a_bin_share_its_label_and_a_symbol_without_a_bar_gets_a_missing_bar():
    times = a_share_day("2024-01-02")[:120]  # the morning
    bars = ramp(times, ("A", "B"))
    fields = {f: getattr(bars, f).copy() for f in FIELDS}
    # B trades only from 09:41 to 10:10 (bars 10 .. 39): nothing in the second hour
    for f in ("open", "high", "low", "close"):
        fields[f][:10, 1] = np.nan
        fields[f][40:, 1] = np.nan
    fields["volume"][:10, 1] = 0.0
    fields["volume"][40:, 1] = 0.0
    panel = Bars.from_arrays(times.view("datetime64[ns]"), *(fields[f] for f in FIELDS), ["A", "B"])
    hourly = panel.resample("60min", sessions="cn_a", closed="right")
    assert texts(hourly.timestamps) == ["2024-01-02T10:30:00", "2024-01-02T11:30:00"]
    assert rows(hourly, 1)[0] == pytest.approx(
        (10.10, 10.405, 10.09, 10.395, 30 * 100 + sum(range(10, 40))), rel=1e-12
    )
    assert np.isnan(
        [hourly.open[1, 1], hourly.high[1, 1], hourly.low[1, 1], hourly.close[1, 1]]
    ).all()
    assert hourly.volume[1, 1] == 0.0
    assert hourly.is_missing(1, 1) and not hourly.is_missing(1, 0)


def test_a_daily_label_is_the_last_bar_of_any_symbol():
    times = np.concatenate([minutes("2024-01-02", "09:31", "09:35"), [ns("2024-01-02T14:58")]])
    bars = ramp(times, ("A", "B"))
    close = bars.close.copy()
    fields = {f: getattr(bars, f).copy() for f in FIELDS}
    for f in ("open", "high", "low", "close"):
        fields[f][5, 0] = np.nan  # A has no bar at 14:58, B has
    fields["volume"][5, 0] = 0.0
    panel = Bars.from_arrays(times.view("datetime64[ns]"), *(fields[f] for f in FIELDS), ["A", "B"])
    daily = panel.resample("1D", sessions="cn_a")
    assert texts(daily.timestamps) == ["2024-01-02T14:58:00"]
    assert daily.close[0].tolist() == [close[4, 0], close[5, 1]]


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize("rule", ["2D", "1M", "90s", "1H", "0min", "25h", "", 5, None, "30 min"])
def test_a_rule_outside_the_accepted_set_is_a_config_error_naming_rule(rule):
    with pytest.raises(ConfigError, match=r"^rule: "):
        ramp(a_share_day("2024-01-02")).resample(rule, closed="right")


def test_an_intraday_rule_needs_to_be_told_how_bars_are_stamped():
    with pytest.raises(ConfigError, match=r"^closed: .*'right' for bars stamped at their end"):
        ramp(a_share_day("2024-01-02")).resample("30min", sessions="cn_a")
    with pytest.raises(ConfigError, match=r"^closed: "):
        ramp(a_share_day("2024-01-02")).resample("30min", closed="both")


@pytest.mark.parametrize(
    "sessions",
    [
        "hk_x",
        [("11:30", "09:30")],
        [("13:00", "15:00"), ("09:30", "11:30")],
        [("09:30", "11:30"), ("11:00", "15:00")],
        ("09:30", "15:00"),
        [("9h30", "15:00")],
        [("09:30", "24:30")],
        [("24:00", "24:00")],
        [("09:30",)],
        [],
        5,
    ],
)
def test_bad_sessions_are_a_config_error_naming_sessions(sessions):
    with pytest.raises(ConfigError, match=r"^sessions: "):
        ramp(a_share_day("2024-01-02")).resample("30min", sessions=sessions, closed="right")


def test_sessions_take_seconds_and_datetime_times():
    bars = ramp(a_share_day("2024-01-02"))
    given = bars.resample(
        "60min", sessions=[("09:30:00", dt.time(11, 30)), (dt.time(13), "15:00")], closed="right"
    )
    assert rows(given) == rows(bars.resample("60min", sessions="cn_a", closed="right"))


def test_outside_takes_raise_or_drop_only():
    with pytest.raises(ConfigError, match=r"^outside: "):
        ramp(a_share_day("2024-01-02")).resample("30min", closed="right", outside="keep")


def test_nothing_to_resample_is_a_data_error():
    bars = ramp(minutes("2024-01-02", "12:00", "12:10"))
    with pytest.raises(DataError, match="no bar to resample"):
        bars.resample("30min", sessions="cn_a", closed="right", outside="drop")


# ---------------------------------------------------------------------- concat, by hand


def test_concat_along_time_takes_periods_in_any_order_and_the_first_panels_symbols_order():
    times = np.arange(ns("2024-01-01"), ns("2024-01-07"), NS_DAY)
    bars = ramp(times, ("A", "B"))
    early, late = bars.between(end="2024-01-03"), bars.between(start="2024-01-04")
    joined = Bars.concat([late.select(["B", "A"]), early], axis="time")
    assert joined.symbols == ("B", "A")
    np.testing.assert_array_equal(joined.timestamps, bars.timestamps)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(joined, f), getattr(bars.select(["B", "A"]), f))


def test_concat_along_time_names_the_first_timestamp_where_periods_clash():
    times = np.arange(ns("2024-01-01"), ns("2024-01-11"), NS_DAY)
    bars = ramp(times)
    a = bars.between(end="2024-01-05")
    b = bars.between(start="2024-01-04", end="2024-01-06")  # overlaps a from the 4th
    c = bars.between(start="2024-01-08")
    with pytest.raises(DataError, match=r"panel 1 and panel 0 overlap at 2024-01-04T00:00"):
        Bars.concat([a, b, c])
    odd = Bars.from_arrays(
        times[1::2].view("datetime64[ns]"), *(getattr(bars, f)[1::2] for f in FIELDS)
    )
    even = Bars.from_arrays(
        times[::2].view("datetime64[ns]"), *(getattr(bars, f)[::2] for f in FIELDS)
    )
    with pytest.raises(DataError, match=r"overlap at 2024-01-02T00:00"):  # interleaved
        Bars.concat([odd, even])
    with pytest.raises(DataError, match=r"overlap at 2024-01-01T00:00"):  # the same panel twice
        Bars.concat([bars, bars])


def test_concat_along_time_refuses_panels_of_other_symbols():
    times = np.arange(ns("2024-01-01"), ns("2024-01-05"), NS_DAY)
    ab = ramp(times, ("A", "B"))
    later = ramp(times + 10 * NS_DAY, ("A", "C"))
    with pytest.raises(DataError, match=r"^symbols: panel 1 has 'C'.*axis='symbols'"):
        Bars.concat([ab, later])
    with pytest.raises(DataError, match=r"^symbols: panel 1 lacks 'B'"):
        Bars.concat([ab, later.select(["A"])])


def test_concat_along_symbols_unions_timestamps_with_missing_bars():
    a = ramp(np.array([ns("2024-01-01"), ns("2024-01-03")]), ("A",))
    b = ramp(np.array([ns("2024-01-02"), ns("2024-01-03")]), ("B", "C"))
    joined = Bars.concat([a, b], axis="symbols")
    assert joined.symbols == ("A", "B", "C")
    assert texts(joined.timestamps) == [
        "2024-01-01T00:00:00",
        "2024-01-02T00:00:00",
        "2024-01-03T00:00:00",
    ]
    assert joined.close[:, 0].tolist()[0] == 10.005 and np.isnan(joined.close[1, 0])
    assert np.isnan(joined.close[0, 1:]).all() and joined.volume[0, 1:].tolist() == [0.0, 0.0]
    assert joined.close[2].tolist() == [10.015, 10.015, 10.015]


def test_concat_along_symbols_names_a_symbol_given_twice():
    times = np.arange(ns("2024-01-01"), ns("2024-01-05"), NS_DAY)
    with pytest.raises(DataError, match=r"^symbols: 'B' is in panel 0 and panel 1"):
        Bars.concat([ramp(times, ("A", "B")), ramp(times, ("B",))], axis="symbols")


def test_concat_refuses_what_is_not_a_list_of_panels():
    bars = ramp(np.arange(ns("2024-01-01"), ns("2024-01-05"), NS_DAY))
    with pytest.raises(DataError, match=r"^panels: an empty list"):
        Bars.concat([])
    with pytest.raises(DataError, match=r"^panels: item 1 is a dict, not a Bars panel"):
        Bars.concat([bars, {"close": [1.0]}])
    with pytest.raises(DataError, match=r"^panels: expected a list of Bars panels, got Bars"):
        Bars.concat(bars)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^axis: "):
        Bars.concat([bars], axis="columns")


def test_concat_of_one_panel_is_a_checked_copy():
    bars = ramp(np.arange(ns("2024-01-01"), ns("2024-01-05"), NS_DAY))
    copy = Bars.concat([bars])
    assert copy is not bars and rows(copy) == rows(bars)
    np.testing.assert_array_equal(copy.timestamps, bars.timestamps)


# ---------------------------------------------------------------------- the engine


def test_both_backends_trade_resampled_bars_alike(backend):
    times = np.concatenate([a_share_day("2024-01-02"), a_share_day("2024-01-03")])
    hourly = ramp(times).resample("60min", sessions="cn_a", closed="right")
    assert hourly.n_bars == 8
    buy = {0: lambda ctx: ctx.buy("X", 100)}
    result = Engine(backend=backend, initial_cash=100_000).run(hourly, Script(buy))
    reference = Engine(backend="python", initial_cash=100_000).run(hourly, Script(buy))
    [fill] = result.fills
    # bought at the second 60-min bar's open: minute bar 60's open, 10 + 60 / 100
    assert fill.price == pytest.approx(10.60, rel=1e-12)
    assert fill.timestamp == ns("2024-01-02T11:30")
    # equity at the end: 100_000 - 100 x 10.60 + 100 x the last close (10 + 479 / 100 + 0.005)
    assert result.equity[-1] == pytest.approx(100_000 - 1060 + 100 * 14.795, rel=1e-12)
    np.testing.assert_array_equal(result.equity, reference.equity)
    np.testing.assert_array_equal(result.cash, reference.cash)


# ---------------------------------------------------------------------- properties

RULES = ["1min", "5min", "7min", "30min", "60min", "1h", "90min", "2h", "1D", "W"]


@st.composite
def panels(draw: Any, max_rows: int = 60) -> Bars:
    """A random panel of 1-3 symbols over up to three days, bars at random minutes (some at
    odd seconds), with missing bars."""
    n_symbols = draw(st.integers(1, 3))
    offsets = draw(
        st.lists(st.integers(0, 3 * 1440 - 1), min_size=1, max_size=max_rows, unique=True)
    )
    seconds = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    start = draw(st.sampled_from(STARTS))
    rng = np.random.default_rng(seed)
    times = start + np.sort(np.array(offsets, dtype=np.int64)) * NS_MINUTE
    if seconds:
        times = times + rng.integers(0, 60, len(times)) * 10**9
    shape = (len(times), n_symbols)
    open_ = rng.uniform(5, 15, shape)
    close = rng.uniform(5, 15, shape)
    high = np.maximum(open_, close) + rng.uniform(0, 1, shape)
    low = np.minimum(open_, close) - rng.uniform(0, 1, shape)
    volume = rng.integers(0, 1000, shape).astype(np.float64)
    missing = rng.random(shape) < draw(st.sampled_from([0.0, 0.2, 0.6]))
    for a in (open_, high, low, close):
        a[missing] = np.nan
    volume[missing] = 0.0
    symbols = [f"S{n}" for n in range(n_symbols)]
    return Bars.from_arrays(times.view("datetime64[ns]"), open_, high, low, close, volume, symbols)


@st.composite
def session_lists(draw: Any) -> Any:
    """None, a preset, or 1-3 random sessions in minutes of the day (an end may be 24:00)."""
    kind = draw(st.sampled_from(["none", "cn_a", "us", "random"]))
    if kind == "none":
        return None
    if kind != "random":
        return kind
    points = sorted(draw(st.lists(st.integers(0, 1440), min_size=2, max_size=6, unique=True)))
    points = points[: len(points) // 2 * 2]
    return [(hhmm(points[i]), hhmm(points[i + 1])) for i in range(0, len(points), 2)]


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


PRESETS = {"cn_a": CN_A, "us": [("09:30", "16:00")]}


def bin_of(ts: int, rule: str, sessions: Any, closed: str | None) -> tuple[Any, int | None] | None:
    """The bin of a bar at `ts` and its label as the rules state them, or None outside every
    session: written out one bar at a time with datetime, apart from the module's arrays."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=ts // 1000)
    day = moment.date()
    midnight = ts - (ts % NS_DAY)
    clock = ts - midnight
    spans = [(0, NS_DAY)]
    if sessions is not None:
        pairs = PRESETS[sessions] if isinstance(sessions, str) else sessions
        spans = [(minute_ns(a), minute_ns(b)) for a, b in pairs]
    found = None
    for j, (a, b) in enumerate(spans):  # inside, by how the bars are stamped
        if (closed == "left" and a <= clock < b) or (closed == "right" and a < clock <= b):
            found = j
            break
        if closed is None and a <= clock <= b:
            found = j
            break
    if found is None and closed is not None:  # at an open (right) or a close (left)
        for j, (a, b) in enumerate(spans):
            if clock == (a if closed == "right" else b):
                found = j
                break
    if found is None:
        return None
    if rule == "1D":
        return ("day", day), None
    if rule == "W":
        return ("week", day - dt.timedelta(days=day.weekday())), None
    width = {"h": 60}.get(rule[-1], 1) * int(rule.rstrip("minh")) * NS_MINUTE
    a, b = spans[found]
    lower = a
    while True:
        upper = min(lower + width, b)
        inside = lower <= clock < upper if closed == "left" else lower < clock <= upper
        if inside or (clock == a and lower == a) or (clock == b and upper == b):
            break
        lower = upper
    label = midnight + upper if upper < NS_DAY else midnight + NS_DAY - 1
    return ("bin", day, found, lower), label


def minute_ns(text: str) -> int:
    hours, minutes_ = text.split(":")
    return (int(hours) * 60 + int(minutes_)) * NS_MINUTE


@given(
    panels(),
    st.sampled_from(RULES),
    session_lists(),
    st.sampled_from(["left", "right", None]),
)
def test_each_coarse_bar_is_exactly_its_bins_bars_and_none_is_later_than_its_label(
    bars, rule, sessions, closed
):
    if rule not in ("1D", "W") and closed is None:
        closed = "right"
    present = ~np.isnan(bars.close)
    bins: dict[Any, list[int]] = {}
    labels: dict[Any, int | None] = {}
    outside = False
    for t, ts in enumerate(bars.timestamps.tolist()):
        found = bin_of(ts, rule, sessions, closed)
        if found is None:
            outside = outside or bool(present[t].any())
            continue
        key, label = found
        bins.setdefault(key, []).append(t)
        labels[key] = label
    filled = [key for key in bins if present[bins[key]].any()]
    if outside:
        with pytest.raises(DataError, match="outside every session"):
            bars.resample(rule, sessions=sessions, closed=closed)
    if not filled:
        with pytest.raises(DataError, match="no bar to resample"):
            bars.resample(rule, sessions=sessions, closed=closed, outside="drop")
        return
    coarse = bars.resample(rule, sessions=sessions, closed=closed, outside="drop")
    assert coarse.n_bars == len(filled)
    assert coarse.symbols == bars.symbols
    for row, key in enumerate(filled):
        members = bins[key]
        used = [t for t in members if present[t].any()]
        label = int(coarse.timestamps[row])
        if labels[key] is None:  # 1D and W: the last bar of any symbol
            assert label == int(bars.timestamps[used[-1]])
        else:
            assert label == labels[key]
        # no look-ahead: every bar used is known at the label, on the label's trading day
        # (weeks aside)
        for t in used:
            assert int(bars.timestamps[t]) <= label
            if rule != "W":
                assert int(bars.timestamps[t]) // NS_DAY == label // NS_DAY
        for n in range(bars.n_symbols):
            mine = [t for t in members if present[t, n]]
            got = tuple(float(getattr(coarse, f)[row, n]) for f in FIELDS)
            if not mine:
                assert np.isnan(got[:4]).all() and got[4] == 0.0
                continue
            expected = (
                bars.open[mine[0], n],
                max(bars.high[t, n] for t in mine),
                min(bars.low[t, n] for t in mine),
                bars.close[mine[-1], n],
                sum(bars.volume[t, n] for t in mine),
            )
            assert got == tuple(float(x) for x in expected)


@given(
    panels(),
    st.sampled_from([1, 5, 15, 30, 60, 120, 180, 240]),
    st.integers(0, 1438),
    st.integers(1, 1439),
)
def test_intraday_bins_agree_with_pandas_resample_in_one_session_closed_and_labelled_right(
    bars, width, open_minute, length
):
    pd = pytest.importorskip("pandas")
    close_minute = min(open_minute + length, 1439)
    sessions = [(hhmm(open_minute), hhmm(close_minute))]
    rule = f"{width}min"
    clock = bars.timestamps % NS_DAY
    inside = (clock > open_minute * NS_MINUTE) & (clock <= close_minute * NS_MINUTE)
    if not (inside[:, None] & ~np.isnan(bars.close)).any():
        return
    kept = np.flatnonzero(inside)
    bars = Bars.from_arrays(
        bars.timestamps[kept].view("datetime64[ns]"),
        *(getattr(bars, f)[kept] for f in FIELDS),
        symbols=bars.symbols,
    )
    coarse = bars.resample(rule, sessions=sessions, closed="right")

    index = pd.DatetimeIndex(bars.timestamps.view("datetime64[ns]"))
    first_day = int(bars.timestamps[0]) // NS_DAY * NS_DAY
    origin = pd.Timestamp(
        first_day + open_minute * NS_MINUTE
    )  # every day's open: 1440 % width == 0
    how = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    oracle = {
        f: pd.DataFrame(getattr(bars, f), index=index)
        .resample(rule, closed="right", label="right", origin=origin)
        .agg(how[f])
        for f in FIELDS
    }
    rows_with_a_bar = oracle["close"].notna().any(axis=1).to_numpy()
    expected_labels = oracle["close"].index.to_numpy()[rows_with_a_bar].astype(np.int64)
    # pandas does not cut a bin at the session's close; quanta does
    bin_open = expected_labels - width * NS_MINUTE  # on the day of the session
    session_close = bin_open // NS_DAY * NS_DAY + close_minute * NS_MINUTE
    np.testing.assert_array_equal(coarse.timestamps, np.minimum(expected_labels, session_close))
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(coarse, f), oracle[f].to_numpy()[rows_with_a_bar])


@given(panels(), st.sampled_from([("1D", "D"), ("W", "W-MON")]))
def test_days_and_weeks_agree_with_pandas_resample(bars, rules):
    pd = pytest.importorskip("pandas")
    ours, theirs = rules
    if np.isnan(bars.close).all():
        return
    coarse = bars.resample(ours)
    index = pd.DatetimeIndex(bars.timestamps.view("datetime64[ns]"))
    how = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    # calendar days; weeks as [Monday, next Monday)
    oracle = {
        f: pd.DataFrame(getattr(bars, f), index=index)
        .resample(theirs, closed="left", label="left")
        .agg(how[f])
        for f in FIELDS
    }
    rows_with_a_bar = oracle["close"].notna().any(axis=1).to_numpy()
    assert coarse.n_bars == int(rows_with_a_bar.sum())
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(coarse, f), oracle[f].to_numpy()[rows_with_a_bar])


@given(panels(), st.data())
def test_splitting_a_panel_by_rows_and_joining_it_again_gives_it_back(bars, data):
    cuts = sorted(
        data.draw(st.sets(st.integers(1, max(bars.n_bars - 1, 1)), max_size=4))
        if bars.n_bars > 1
        else []
    )
    edges = [0, *cuts, bars.n_bars]
    pieces = [
        Bars.from_arrays(
            bars.timestamps[a:b].view("datetime64[ns]"),
            *(getattr(bars, f)[a:b] for f in FIELDS),
            symbols=bars.symbols,
        )
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    shuffled = data.draw(st.permutations(pieces))
    joined = Bars.concat(list(shuffled), axis="time")
    assert joined.symbols == bars.symbols
    np.testing.assert_array_equal(joined.timestamps, bars.timestamps)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(joined, f), getattr(bars, f))


@given(panels(), st.data())
def test_splitting_a_panel_by_symbols_and_joining_it_again_gives_it_back(bars, data):
    order = data.draw(st.permutations(bars.symbols))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    groups: list[list[str]] = []
    rest = list(order)
    for size in sizes:
        if rest:
            groups.append(rest[:size])
            rest = rest[size:]
    if rest:
        groups.append(rest)
    joined = Bars.concat([bars.select(group) for group in groups], axis="symbols")
    expected = bars.select(order)
    assert joined.symbols == expected.symbols
    np.testing.assert_array_equal(joined.timestamps, bars.timestamps)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(joined, f), getattr(expected, f))


@given(panels(), st.sampled_from(RULES[:8]), session_lists(), st.sampled_from(["left", "right"]))
def test_intraday_labels_depend_only_on_the_bin_so_symbols_resampled_apart_line_up(
    bars, rule, sessions, closed
):
    assume(bars.n_symbols > 1)
    parts = [bars.select(list(bars.symbols[:1])), bars.select(list(bars.symbols[1:]))]
    assume(all(not np.isnan(part.close).all() for part in parts))
    try:
        whole = bars.resample(rule, sessions=sessions, closed=closed, outside="drop")
        apart = [p.resample(rule, sessions=sessions, closed=closed, outside="drop") for p in parts]
    except DataError:  # a part with no bar inside the sessions
        return
    joined = Bars.concat(apart, axis="symbols")
    np.testing.assert_array_equal(joined.timestamps, whole.timestamps)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(joined, f), getattr(whole, f))


def _limited_minutes() -> Bars:
    """Two days of A-share minute bars of 600000.SH with the vendor's limits, ST on day 2."""
    ts = np.array(
        ["2024-01-02T09:31", "2024-01-02T10:00", "2024-01-02T15:00"]
        + ["2024-01-03T09:31", "2024-01-03T15:00"],
        dtype="datetime64[ns]",
    )
    c = np.array([10.0, 10.2, 10.4, 10.5, 10.6])
    bars = Bars.from_arrays(ts, c, c + 0.05, c - 0.05, c, np.ones(5), symbols=["600000.SH"])
    return bars.with_market(
        up_limit=np.array([11.0] * 3 + [11.44] * 2),
        down_limit=np.array([9.0] * 3 + [9.36] * 2),
        st={"600000.SH": [("2024-01-03", "2024-01-03")]},
        listing_dates={"600000.SH": "1999-11-10"},
    )


def test_resampled_bars_keep_their_days_limit_prices_st_flags_and_listing_dates() -> None:
    bars = _limited_minutes()
    coarse = bars.resample("30min", sessions="cn_a", closed="right")
    assert coarse.up_limit is not None and coarse.st is not None
    np.testing.assert_array_equal(coarse.up_limit[:, 0], [11.0, 11.0, 11.44, 11.44])
    np.testing.assert_array_equal(coarse.st[:, 0], [False, False, True, True])
    assert coarse.listing_dates is not None and bars.listing_dates is not None
    np.testing.assert_array_equal(coarse.listing_dates, bars.listing_dates)
    daily = bars.resample("1D")
    assert daily.down_limit is not None
    np.testing.assert_array_equal(daily.down_limit[:, 0], [9.0, 9.36])
    with pytest.raises(DataError, match="up_limit: weekly bars cannot hold"):
        bars.resample("W")


def test_joined_panels_keep_their_market_data_where_their_bars_went() -> None:
    bars = _limited_minutes()
    again = Bars.concat([bars.between(start="2024-01-03"), bars.between(end="2024-01-02")])
    for name in ("up_limit", "down_limit", "st", "listing_dates"):
        np.testing.assert_array_equal(getattr(again, name), getattr(bars, name))
    other = Bars.from_arrays(bars.timestamps[:2], [5.0, 5.0], [5.0, 5.0], [5.0, 5.0], [5.0, 5.0])
    side = Bars.concat([bars, other], axis="symbols")
    assert side.up_limit is not None and side.st is not None
    assert np.isnan(side.up_limit[:, 1]).all() and not side.st[:, 1].any()
    np.testing.assert_array_equal(side.up_limit[:, :1], bars.up_limit)  # type: ignore[arg-type]
    relisted = bars.with_market(listing_dates={"600000.SH": "2000-01-04"})
    with pytest.raises(DataError, match="listing_dates: the panels give '600000.SH' two"):
        Bars.concat([bars.between(end="2024-01-02"), relisted.between(start="2024-01-03")])


def test_weekly_bars_refuse_an_action_after_the_first_day_of_its_week() -> None:
    from quanta_ref.actions import CorporateActions

    days = np.array(
        ["2024-01-08", "2024-01-09", "2024-01-10", "2024-01-15"], dtype="datetime64[ns]"
    )
    prices = np.array([20.0, 20.0, 10.0, 10.0])
    bars = Bars.from_arrays(days, prices, prices, prices, prices, symbols=["600000.SH"])
    midweek = bars.with_market(
        actions=CorporateActions(["600000.SH"], ["2024-01-10"], shares=[1.0])
    )
    with pytest.raises(DataError, match="actions: the action of symbol '600000.SH' applies on "):
        midweek.resample("W")
    monday = bars.with_market(actions=CorporateActions(["600000.SH"], ["2024-01-15"], shares=[1.0]))
    assert monday.resample("W").actions == monday.actions
    assert midweek.resample("1D").actions == midweek.actions
