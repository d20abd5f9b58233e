"""Market data in: the bundled sample, CSV/Parquet files, synthetic walks, and the rules of Bars."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from quanta_ref.bars import FIELDS
from quanta_ref.data import Bars, load_bars, load_sample, load_samples, merge_symbols, synthetic
from quanta_ref.errors import ConfigError, DataError, QuantaError

NS_PER_DAY = 86_400 * 10**9


def ns(text: str) -> int:
    return int(np.datetime64(text, "ns").astype(np.int64))


def days(timestamps: np.ndarray) -> np.ndarray:
    """int64 ns timestamps as datetime64[D] dates."""
    return timestamps.astype("datetime64[ns]").astype("datetime64[D]")


# ---------------------------------------------------------------------- bundled sample


def test_sample_aapl_has_every_trading_day_from_2000_03_01_to_2013_03_01():
    bars = load_sample("AAPL")
    assert bars.symbols == ("AAPL",)
    assert bars.n_bars == 3270
    assert bars.timestamps[0] == ns("2000-03-01")
    assert bars.timestamps[-1] == ns("2013-03-01")
    assert (np.diff(bars.timestamps) > 0).all()


@pytest.mark.parametrize(
    ("symbol", "rows", "first"),
    [
        ("AAPL", 3270, "2000-03-01"),
        ("GOOG", 2148, "2004-08-19"),
        ("IBM", 3270, "2000-03-01"),
        ("MSFT", 3270, "2000-03-01"),
    ],
)
def test_sample_row_counts_and_first_dates(symbol, rows, first):
    bars = load_sample(symbol, adjusted=False)
    assert bars.n_bars == rows
    assert bars.timestamps[0] == ns(first)
    assert bars.timestamps[-1] == ns("2013-03-01")


def test_sample_timestamps_are_dates_at_midnight():
    bars = load_samples()
    assert bars.timestamps.dtype == np.int64
    assert (bars.timestamps % NS_PER_DAY == 0).all()


def test_sample_symbol_is_case_insensitive():
    assert load_sample("msft").symbols == ("MSFT",)
    np.testing.assert_array_equal(load_sample("ibm").close, load_sample("IBM").close)


def test_unknown_sample_symbol_raises_data_error_naming_it_and_the_choices():
    with pytest.raises(DataError, match=r"'FB'.*AAPL, GOOG, IBM, MSFT"):
        load_sample("FB")


def test_unadjusted_sample_is_the_file_as_traded():
    bars = load_sample("AAPL", adjusted=False)
    # First row of the file: AAPL,2000-03-01,118.56,132.06,118.5,130.31,9616100,4.18...
    first = [getattr(bars, f)[0, 0] for f in FIELDS]
    assert first == [118.56, 132.06, 118.5, 130.31, 9616100.0]


def test_adjusted_sample_scales_prices_by_adj_close_over_close_and_keeps_traded_value():
    raw = load_sample("AAPL", adjusted=False)
    adj = load_sample("AAPL", adjusted=True)
    factor = adj.close / raw.close
    assert adj.close[0, 0] == pytest.approx(4.186662803811, rel=1e-12)
    for f in ("open", "high", "low"):
        np.testing.assert_allclose(getattr(adj, f) / getattr(raw, f), factor, rtol=1e-12)
    np.testing.assert_allclose(adj.close * adj.volume, raw.close * raw.volume, rtol=1e-12)
    assert (factor < 1).all()  # every later split and dividend lowers earlier prices


def test_adjusted_sample_has_no_jump_on_a_split_day():
    day = np.searchsorted(load_sample("AAPL").timestamps, ns("2000-06-21"))
    raw = load_sample("AAPL", adjusted=False).close[:, 0]
    adj = load_sample("AAPL").close[:, 0]
    assert raw[day] / raw[day - 1] < 0.6  # 2-for-1 split
    assert adj[day] / adj[day - 1] == pytest.approx(1.0, abs=0.1)


def test_load_samples_outer_joins_dates_with_missing_bars_before_goog_listed():
    bars = load_samples()
    assert bars.symbols == ("AAPL", "GOOG", "IBM", "MSFT")
    assert bars.close.shape == (3270, 4)
    goog = bars.symbol_index("GOOG")
    listed = int(np.searchsorted(bars.timestamps, ns("2004-08-19")))
    assert listed == 3270 - 2148
    for f in ("open", "high", "low", "close"):
        assert np.isnan(getattr(bars, f)[:listed, goog]).all()
        assert not np.isnan(getattr(bars, f)[listed:, goog]).any()
    assert (bars.volume[:listed, goog] == 0).all()
    others = [bars.symbol_index(s) for s in ("AAPL", "IBM", "MSFT")]
    assert not np.isnan(bars.close[:, others]).any()


def test_load_samples_keeps_the_order_given_and_matches_single_loads():
    bars = load_samples(["ibm", "AAPL"], adjusted=False)
    assert bars.symbols == ("IBM", "AAPL")
    np.testing.assert_array_equal(bars.close[:, 1], load_sample("AAPL", adjusted=False).close[:, 0])


def test_load_samples_refuses_a_repeated_symbol():
    with pytest.raises(DataError, match="'AAPL'"):
        load_samples(["AAPL", "aapl"])


def test_sample_bars_are_read_only():
    bars = load_sample("IBM")
    with pytest.raises(ValueError):
        bars.close[0, 0] = 1.0


# ---------------------------------------------------------------------- load_bars


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def bars_as_rows(bars: Bars, n: int = 0) -> list[list[object]]:
    dates = bars.timestamps.astype("datetime64[ns]").astype(str)
    return [
        [d, *(repr(float(getattr(bars, f)[t, n])) for f in FIELDS)] for t, d in enumerate(dates)
    ]


def test_load_bars_round_trips_a_csv_file(tmp_path):
    original = synthetic(50, seed=3)
    write_csv(
        tmp_path / "000001.SZ.csv",
        ["Date", "Open", "High", "Low", "Close", "Volume"],
        bars_as_rows(original),
    )
    loaded = load_bars("000001.SZ", root=tmp_path)
    assert loaded.symbols == ("000001.SZ",)
    np.testing.assert_array_equal(loaded.timestamps, original.timestamps)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(loaded, f), getattr(original, f))


def test_load_bars_start_and_end_are_inclusive_dates(tmp_path):
    original = synthetic(30, seed=1, start="2020-01-01")
    write_csv(
        tmp_path / "X.csv",
        ["date", "open", "high", "low", "close", "volume"],
        bars_as_rows(original),
    )
    bars = load_bars("X", start="2020-01-06", end="2020-01-10", root=tmp_path)
    dates = days(bars.timestamps).astype(str).tolist()
    assert dates == ["2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09", "2020-01-10"]
    first = int(np.searchsorted(original.timestamps, bars.timestamps[0]))
    np.testing.assert_array_equal(bars.close, original.close[first : first + 5])
    assert load_bars("X", start=dt.date(2020, 2, 11), root=tmp_path).n_bars == 1
    assert load_bars("X", end=np.datetime64("2020-01-02"), root=tmp_path).n_bars == 2


def test_load_bars_end_date_keeps_the_whole_day_of_intraday_bars(tmp_path):
    original = synthetic(48, seed=2, start="2021-03-01", freq="1h")
    write_csv(
        tmp_path / "X.csv",
        ["datetime", "open", "high", "low", "close", "volume"],
        bars_as_rows(original),
    )
    bars = load_bars("X", start="2021-03-01", end="2021-03-01", root=tmp_path)
    assert bars.n_bars == 24
    bars = load_bars("X", start="2021-03-01T10:00", end="2021-03-01 12:00", root=tmp_path)
    assert bars.n_bars == 3


def test_load_bars_takes_the_directory_from_quanta_data_dir(tmp_path, monkeypatch):
    write_csv(
        tmp_path / "AAA.csv",
        ["timestamp", "open", "high", "low", "close", "volume"],
        [["2020-01-02", 10, 11, 9, 10.5, 100]],
    )
    monkeypatch.setenv("QUANTA_DATA_DIR", str(tmp_path))
    assert load_bars("AAA").close[0, 0] == 10.5


def test_load_bars_without_a_directory_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("QUANTA_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="QUANTA_DATA_DIR"):
        load_bars("AAA")


def test_load_bars_missing_file_names_the_paths_tried(tmp_path):
    with pytest.raises(DataError, match=r"'NOPE'.*NOPE\.csv.*NOPE\.parquet"):
        load_bars("NOPE", root=tmp_path)


def test_load_bars_refuses_a_symbol_that_is_a_path(tmp_path):
    with pytest.raises(DataError, match="symbol"):
        load_bars("../etc/passwd", root=tmp_path)


def test_load_bars_missing_column_is_named(tmp_path):
    write_csv(
        tmp_path / "A.csv",
        ["date", "open", "high", "low", "close"],
        [["2020-01-02", 10, 11, 9, 10.5]],
    )
    with pytest.raises(DataError, match="^volume: column missing"):
        load_bars("A", root=tmp_path)


def test_load_bars_unreadable_number_names_field_and_line(tmp_path):
    write_csv(
        tmp_path / "A.csv",
        ["date", "open", "high", "low", "close", "volume"],
        [["2020-01-02", 10, 11, 9, 10.5, 100], ["2020-01-03", 10, "n/a", 9, 10.5, 100]],
    )
    with pytest.raises(DataError, match="^high: cannot read 'n/a'.*line 3"):
        load_bars("A", root=tmp_path)


def test_load_bars_sorts_rows_and_reads_compact_dates(tmp_path):
    write_csv(
        tmp_path / "A.csv",
        ["trade_date", "date", "open", "high", "low", "close", "volume"],
        [["x", "20200103", 10, 12, 9, 11, 100], ["x", "20200102", 10, 11, 9, 10.5, 100]],
    )
    bars = load_bars("A", root=tmp_path)
    assert bars.timestamps.tolist() == [ns("2020-01-02"), ns("2020-01-03")]
    assert bars.close[:, 0].tolist() == [10.5, 11.0]


@pytest.mark.parametrize("bad_time", ["2020-01-02T09:30+08:00", "1577923200", "", "02/01/2020"])
def test_load_bars_refuses_times_it_cannot_read_without_guessing(tmp_path, bad_time):
    write_csv(
        tmp_path / "A.csv",
        ["date", "open", "high", "low", "close", "volume"],
        [["2020-01-01", 10, 11, 9, 10.5, 100], [bad_time, 10, 11, 9, 10.5, 100]],
    )
    with pytest.raises(DataError, match="^timestamp: .*line 3"):
        load_bars("A", root=tmp_path)


def test_load_bars_empty_prices_make_a_missing_bar(tmp_path):
    write_csv(
        tmp_path / "A.csv",
        ["date", "open", "high", "low", "close", "volume"],
        [["2020-01-02", 10, 11, 9, 10.5, 100], ["2020-01-03", "", "", "", "", 0]],
    )
    bars = load_bars("A", root=tmp_path)
    assert bars.is_missing(1, 0)


def test_load_bars_bad_bar_in_the_file_names_field_symbol_bar_and_file(tmp_path):
    write_csv(
        tmp_path / "A.csv",
        ["date", "open", "high", "low", "close", "volume"],
        [["2020-01-02", 10, 11, 9, 10.5, 100], ["2020-01-03", 10, 10.2, 9, 10.5, 100]],
    )
    with pytest.raises(DataError, match=r"^high: .*'A', bar 1 \(2020-01-03.*A\.csv"):
        load_bars("A", root=tmp_path)


def test_load_bars_no_bar_in_range(tmp_path):
    write_csv(
        tmp_path / "A.csv",
        ["date", "open", "high", "low", "close", "volume"],
        [["2020-01-02", 10, 11, 9, 10.5, 100]],
    )
    with pytest.raises(DataError, match="no bars"):
        load_bars("A", start="2021-01-01", root=tmp_path)


def test_load_bars_round_trips_a_parquet_file(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    original = synthetic(40, seed=5, start="2019-12-30")
    table = pa.table(
        {
            "Date": original.timestamps.astype("datetime64[ns]"),
            **{f.upper(): getattr(original, f)[:, 0] for f in FIELDS},
        }
    )
    pq.write_table(table, tmp_path / "B.parquet")
    loaded = load_bars("B", start="2020-01-01", end="2020-01-31", root=tmp_path)
    keep = (original.timestamps >= ns("2020-01-01")) & (original.timestamps < ns("2020-02-01"))
    np.testing.assert_array_equal(loaded.timestamps, original.timestamps[keep])
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(loaded, f)[:, 0], getattr(original, f)[keep, 0])


def test_load_bars_refuses_time_zone_aware_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table(
        {
            "timestamp": pa.array([0], type=pa.timestamp("ns", tz="Asia/Shanghai")),
            **{f: [1.0] for f in FIELDS},
        }
    )
    pq.write_table(table, tmp_path / "C.parquet")
    with pytest.raises(DataError, match="time zone"):
        load_bars("C", root=tmp_path)


# ---------------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic_for_a_seed():
    a, b = synthetic(300, n_symbols=3, seed=42), synthetic(300, n_symbols=3, seed=42)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.close, synthetic(300, n_symbols=3, seed=43).close)


def test_synthetic_bars_are_consistent():
    bars = synthetic(2000, n_symbols=4, seed=9, volatility=0.05)
    assert bars.close.shape == (2000, 4)
    assert bars.symbols == ("S0", "S1", "S2", "S3")
    o, h, lo, c, v = (getattr(bars, f) for f in FIELDS)
    assert (h >= np.maximum(o, c)).all() and (lo <= np.minimum(o, c)).all() and (lo > 0).all()
    assert (v > 0).all() and (v == np.round(v)).all()
    # Each open is the previous close moved by a small gap, not an unrelated price.
    assert np.abs(np.log(o[1:] / c[:-1])).max() < 0.1


def test_synthetic_daily_bars_fall_on_business_days():
    bars = synthetic(20, start="2000-01-01")  # a Saturday: rolls to Monday 2000-01-03
    dates = days(bars.timestamps)
    assert str(dates[0]) == "2000-01-03"
    assert np.is_busday(dates).all()
    assert (bars.timestamps % NS_PER_DAY == 0).all()


def test_synthetic_intraday_bars_are_evenly_spaced():
    bars = synthetic(10, start="2020-01-03 09:30", freq="1min")
    assert bars.timestamps[0] == ns("2020-01-03T09:30")
    assert (np.diff(bars.timestamps) == 60 * 10**9).all()
    assert (np.diff(synthetic(5, freq="1h").timestamps) == 3_600 * 10**9).all()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_bars": 0},
        {"n_bars": 2.5},
        {"n_symbols": 0},
        {"start_price": -1.0},
        {"start_price": float("nan")},
        {"volatility": -0.1},
        {"freq": "1fortnight"},
        {"start": "not a date"},
    ],
)
def test_synthetic_refuses_bad_arguments(kwargs):
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        synthetic(**{"n_bars": 5, **kwargs})


# ---------------------------------------------------------------------- Bars rules


def clean_panel() -> dict[str, Any]:
    """Three clean bars of two symbols, AAA and BBB, as from_arrays keyword arguments."""
    return {
        "timestamps": np.array(["2020-01-02", "2020-01-03", "2020-01-06"], "datetime64[ns]"),
        "open": np.array([[10.0, 20.0], [10.5, 20.5], [11.0, 21.0]]),
        "high": np.array([[11.0, 21.0], [11.5, 21.5], [12.0, 22.0]]),
        "low": np.array([[9.0, 19.0], [9.5, 19.5], [10.0, 20.0]]),
        "close": np.array([[10.5, 20.5], [11.0, 21.0], [11.5, 21.5]]),
        "volume": np.array([[100.0, 200.0], [110.0, 210.0], [120.0, 220.0]]),
        "symbols": ["AAA", "BBB"],
    }


def test_clean_panel_builds():
    bars = Bars.from_arrays(**clean_panel())
    assert (bars.n_bars, bars.n_symbols) == (3, 2)


def test_unsorted_timestamps_are_refused_naming_the_bar():
    panel = clean_panel()
    panel["timestamps"] = panel["timestamps"][[0, 2, 1]]
    with pytest.raises(DataError, match=r"^timestamps: not ascending at bar 2 \(2020-01-03"):
        Bars.from_arrays(**panel)


def test_duplicate_timestamps_are_refused_naming_the_bar():
    panel = clean_panel()
    panel["timestamps"] = panel["timestamps"][[0, 1, 1]]
    with pytest.raises(DataError, match=r"^timestamps: duplicated at bar 2 \(2020-01-03"):
        Bars.from_arrays(**panel)


def test_partial_nan_bar_is_refused():
    panel = clean_panel()
    panel["high"][1, 1] = np.nan
    with pytest.raises(DataError, match=r"^high: NaN .*'BBB', bar 1 \(2020-01-03"):
        Bars.from_arrays(**panel)


def test_non_positive_price_is_refused():
    panel = clean_panel()
    panel["low"][2, 0] = 0.0
    with pytest.raises(DataError, match=r"^low: must be positive.*'AAA', bar 2 \(2020-01-06"):
        Bars.from_arrays(**panel)


def test_high_below_close_is_refused():
    panel = clean_panel()
    panel["high"][1, 0] = 10.9  # close is 11.0
    with pytest.raises(DataError, match=r"^high: 10.9 is below .*'AAA', bar 1 \(2020-01-03"):
        Bars.from_arrays(**panel)


def test_low_above_open_is_refused():
    panel = clean_panel()
    panel["low"][0, 1] = 20.2  # open is 20.0
    with pytest.raises(DataError, match=r"^low: 20.2 is above .*'BBB', bar 0 \(2020-01-02"):
        Bars.from_arrays(**panel)


def test_negative_volume_is_refused():
    panel = clean_panel()
    panel["volume"][2, 1] = -1.0
    with pytest.raises(DataError, match=r"^volume: .*-1.0, .*'BBB', bar 2 \(2020-01-06"):
        Bars.from_arrays(**panel)


def test_shape_mismatch_is_refused_naming_the_field():
    panel = clean_panel()
    panel["close"] = panel["close"][:, :1]
    with pytest.raises(DataError, match=r"^close: expected shape \(3, 2\)"):
        Bars.from_arrays(**panel)


def test_a_whole_missing_bar_is_accepted_with_zero_volume():
    panel = clean_panel()
    for f in ("open", "high", "low", "close", "volume"):
        panel[f][1, 0] = np.nan
    bars = Bars.from_arrays(**panel)
    assert bars.is_missing(1, 0) and bars.volume[1, 0] == 0.0


# Garbage in: every input to from_arrays drawn from many dtypes and shapes, valid or not.
_DTYPES = st.sampled_from(
    ["f8", "f4", "i8", "u1", "?", "c16", "M8[ns]", "M8[D]", "m8[s]", "U8", "O"]
)


@st.composite
def garbage(draw: st.DrawFn, n_bars: int, n_symbols: int) -> object:
    if draw(st.integers(0, 9)) == 0:  # a ragged nest of lists
        return draw(
            st.lists(st.one_of(st.floats(), st.lists(st.floats(), max_size=2)), max_size=n_bars + 1)
        )
    shape = draw(
        st.sampled_from(
            [(n_bars,), (n_bars, n_symbols), (n_bars + 1,), (), (n_bars, n_symbols, 1), (0,)]
        )
    )
    dtype = draw(_DTYPES)
    if dtype == "O":
        return draw(
            hnp.arrays(
                object,
                shape,
                elements=st.one_of(st.none(), st.floats(), st.integers(-5, 5), st.text(max_size=3)),
            )
        )
    if dtype == "f8":
        # Mostly plausible prices, so that some draws build a valid panel.
        return draw(
            hnp.arrays(
                np.float64,
                shape,
                elements=st.one_of(
                    st.floats(0.5, 2.0), st.floats(allow_nan=True, allow_infinity=True)
                ),
            )
        )
    return draw(hnp.arrays(np.dtype(dtype), shape))


@st.composite
def from_arrays_inputs(draw: st.DrawFn) -> dict[str, Any]:
    n_bars, n_symbols = draw(st.integers(0, 4)), draw(st.integers(1, 3))
    timestamps = draw(
        st.one_of(
            hnp.arrays(
                np.int64, (n_bars,), elements=st.integers(-(10**18), 10**18), unique=True
            ).map(np.sort),
            st.lists(
                st.sampled_from(
                    [
                        "2020-01-02",
                        "2020-01-03T09:30",
                        "2020-01-02T09:30+08:00",
                        "20200102",
                        "",
                        "NaT",
                        "x",
                    ]
                ),
                min_size=n_bars,
                max_size=n_bars,
            ),
            garbage(n_bars, n_symbols),
        )
    )
    fields = {f: draw(garbage(n_bars, n_symbols)) for f in ("open", "high", "low", "close")}
    fields["volume"] = draw(st.one_of(st.none(), garbage(n_bars, n_symbols)))
    symbols = draw(
        st.one_of(
            st.none(),
            st.lists(st.text(max_size=2), min_size=n_symbols, max_size=n_symbols),
            st.lists(st.one_of(st.integers(), st.none()), min_size=1, max_size=2),
        )
    )
    return {"timestamps": timestamps, **fields, "symbols": symbols}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(from_arrays_inputs())
def test_garbage_arrays_build_a_valid_panel_or_raise_a_quanta_error(kwargs):
    try:
        bars = Bars.from_arrays(**kwargs)
    except QuantaError:
        return
    n_bars, n_symbols = len(bars.timestamps), len(bars.symbols)
    assert n_bars >= 1 and n_symbols >= 1
    assert bars.timestamps.dtype == np.int64 and (np.diff(bars.timestamps) > 0).all()
    o, h, lo, c, v = (getattr(bars, f) for f in FIELDS)
    for arr in (o, h, lo, c, v):
        assert arr.dtype == np.float64 and arr.shape == (n_bars, n_symbols)
        assert arr.flags.c_contiguous and not arr.flags.writeable
    missing = np.isnan(c)
    assert (np.isnan(o) == missing).all() and (np.isnan(h) == missing).all()
    assert (np.isnan(lo) == missing).all() and (v[missing] == 0).all()
    present = ~missing
    assert (h[present] >= np.maximum(o, c)[present]).all()
    assert (lo[present] <= np.minimum(o, c)[present]).all()
    assert (lo[present] > 0).all() and np.isfinite(h[present]).all()
    assert (v[present] >= 0).all() and np.isfinite(v).all()


# ---------------------------------------------------------------- Bars.from_dataframe
def test_from_dataframe_one_symbol_with_a_datetime_index() -> None:
    pd = pytest.importorskip("pandas")
    index = pd.to_datetime(["2024-01-02", "2024-01-03"])
    frame = pd.DataFrame(
        {
            "Open": [10.0, 11.0],
            "High": [11.0, 12.0],
            "Low": [9.0, 10.5],
            "Close": [10.5, 11.5],
            "Volume": [100.0, 200.0],
        },
        index=index,
    )
    bars = Bars.from_dataframe(frame, symbol="ABC")
    assert bars.symbols == ("ABC",)
    assert bars.close[:, 0].tolist() == [10.5, 11.5]
    assert bars.timestamps.tolist() == index.astype("datetime64[ns]").astype("int64").tolist()


def test_from_dataframe_long_layout_gives_missing_bars_where_a_symbol_has_no_row() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03"]),
            "symbol": ["A", "B", "A"],
            "open": [1.0, 2.0, 1.1],
            "high": [1.2, 2.2, 1.3],
            "low": [0.9, 1.9, 1.0],
            "close": [1.1, 2.1, 1.2],
            "volume": [10.0, 20.0, 30.0],
        }
    )
    bars = Bars.from_dataframe(frame)
    assert bars.symbols == ("A", "B")
    assert bars.is_missing(1, 1) and not bars.is_missing(1, 0)
    assert bars.volume[1, 1] == 0.0
    round_trip = bars.to_dataframe()
    assert len(round_trip) == 4 and list(round_trip["symbol"]) == ["A", "B", "A", "B"]


def test_from_dataframe_refuses_a_duplicated_row_and_a_missing_column() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-02", "2024-01-02"]),
            "symbol": ["A", "A"],
            "open": [1.0, 1.0],
            "high": [1.0, 1.0],
            "low": [1.0, 1.0],
            "close": [1.0, 1.0],
            "volume": [1.0, 1.0],
        }
    )
    with pytest.raises(DataError, match="more than one row.*'A'"):
        Bars.from_dataframe(frame)
    with pytest.raises(DataError, match="volume"):
        Bars.from_dataframe(frame.drop(columns=["volume"]))


def test_synthetic_refuses_a_span_beyond_the_nanosecond_range() -> None:
    # 100_000 business days from 2000 reach past 2262: refused, not wrapped around
    with pytest.raises(ConfigError, match="n_bars"):
        synthetic(100_000, 1, seed=1)
    with pytest.raises(ConfigError, match="n_bars"):
        synthetic(3_000_000, 1, seed=1, freq="1h")


def test_wrapped_int64_timestamps_are_not_ascending() -> None:
    # np.diff would overflow on these and call them ascending
    top = np.iinfo(np.int64).max
    with pytest.raises(DataError, match="not ascending"):
        Bars.from_arrays(np.array([top - 1, -top]), [1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0])


def test_merge_symbols_puts_panels_side_by_side_on_the_union_of_their_times() -> None:
    aapl, goog = load_sample("AAPL"), load_sample("GOOG")
    merged = merge_symbols([aapl, goog])
    expected = load_samples(["AAPL", "GOOG"])
    assert merged.symbols == expected.symbols
    np.testing.assert_array_equal(merged.timestamps, expected.timestamps)
    for field in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(merged, field), getattr(expected, field))
    with pytest.raises(DataError, match="'AAPL' is in more than one panel"):
        merge_symbols([aapl, aapl])
    with pytest.raises(DataError, match="no panel"):
        merge_symbols([])
