"""Data at its edges: every way into a `Bars` panel either reads the data right or refuses it
with a DataError (or a ConfigError for a bad argument) naming the field, and every panel an
engine sees was checked, on both backends."""

from __future__ import annotations

import datetime as dt
import decimal
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quanta_ref import Engine, Strategy
from quanta_ref.bars import FIELDS
from quanta_ref.data import Bars, load_bars, load_sample, load_samples, synthetic
from quanta_ref.errors import ConfigError, DataError, QuantaError
from support import bars_from_rows

RANGE = r"outside the int64 nanosecond range \(1677-09-21 \.\. 2262-04-11\)"
HEADER = "date,open,high,low,close,volume\n"
ROW = ",10,11,9,10,100\n"
PRICES = {f: [10.0, 10.0] for f in FIELDS}


def dates(bars: Bars) -> list[str]:
    return [str(d) for d in bars.timestamps.astype("datetime64[ns]").astype("datetime64[D]")]


def wall_times(bars: Bars) -> list[str]:
    return [str(t) for t in bars.timestamps.astype("datetime64[ns]").astype("datetime64[m]")]


def write_csv(root: Path, name: str, times: list[str], encoding: str = "utf-8") -> Path:
    path = root / f"{name}.csv"
    path.write_bytes((HEADER + "".join(t + ROW for t in times)).encode(encoding))
    return path


def write_parquet(root: Path, name: str, times: Any) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    n = len(times)
    table = pa.table({"date": times, **{f: [10.0] * n for f in FIELDS}})
    path = root / f"{name}.parquet"
    pq.write_table(table, path)
    return path


def frame(times: Any, **columns: Any) -> Any:
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"date": times, **{**PRICES, **columns}})


# ---------------------------------------------------------------------- the ns range


def test_csv_date_beyond_2262_is_refused(tmp_path: Path) -> None:
    write_csv(tmp_path, "X", ["2020-01-02", "2302-01-04"])
    with pytest.raises(DataError, match=f"timestamp: 2302-01-04 at line 3 of .*X.csv is {RANGE}"):
        load_bars("X", root=tmp_path)


def test_csv_sentinel_date_9999_12_31_is_refused(tmp_path: Path) -> None:
    write_csv(tmp_path, "X", ["2020-01-02", "9999-12-31"])
    with pytest.raises(DataError, match=f"9999-12-31 at line 3 of .*X.csv is {RANGE}"):
        load_bars("X", root=tmp_path)


def test_parquet_timestamp_us_9999_12_31_is_refused(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    times = pa.array([dt.datetime(2020, 1, 2), dt.datetime(9999, 12, 31)], pa.timestamp("us"))
    write_parquet(tmp_path, "X", times)
    with pytest.raises(DataError, match=f"9999-12-31T00:00:00.000000 at row 1 of .* is {RANGE}"):
        load_bars("X", root=tmp_path)


def test_load_bars_start_beyond_2262_is_refused_not_ignored(tmp_path: Path) -> None:
    write_csv(tmp_path, "X", ["2020-01-02", "2020-01-03"])
    with pytest.raises(DataError, match=f"start: 2500-01-01 is {RANGE}"):
        load_bars("X", root=tmp_path, start="2500-01-01")
    with pytest.raises(DataError, match=f"end: 2500-01-01 is {RANGE}"):
        load_bars("X", root=tmp_path, end="2500-01-01")


def test_load_bars_start_2_to_the_64_is_refused(tmp_path: Path) -> None:
    write_csv(tmp_path, "X", ["2020-01-02"])
    with pytest.raises(DataError, match=f"start: 18446744073709551616 is {RANGE}"):
        load_bars("X", root=tmp_path, start=2**64)


def test_bars_between_beyond_2262_is_refused_not_ignored() -> None:
    bars = load_sample("IBM")
    with pytest.raises(DataError, match=f"start: 2500-01-01 is {RANGE}"):
        bars.between("2500-01-01")
    with pytest.raises(DataError, match=f"end: 2500-01-01 is {RANGE}"):
        bars.between(None, "2500-01-01")
    with pytest.raises(DataError, match=f"start: 18446744073709551616 is {RANGE}"):
        bars.between(2**64)


def test_an_end_date_on_the_last_representable_day_keeps_every_bar() -> None:
    bars = load_sample("IBM")
    assert (
        bars.between("2010-01-04", "2262-04-11").timestamps[0]
        == bars.between("2010-01-04").timestamps[0]
    )


def test_from_arrays_and_the_constructor_refuse_times_beyond_the_range() -> None:
    for times in (
        np.array(["2020-01-02", "2302-01-04"], dtype="datetime64[D]"),
        np.array([2**63, 2**64 - 1], dtype=np.uint64),
        [2**64, 2**65],
        np.array(["2020-01-02", "9999-12-31"], dtype="datetime64[us]"),
    ):
        with pytest.raises(DataError, match=RANGE):
            Bars.from_arrays(times, *([[10.0, 10.0]] * 4))
        with pytest.raises(DataError, match=RANGE):
            Bars(times, ["X"], *([[10.0, 10.0]] * 4))


def test_from_dataframe_refuses_datetime64_seconds_beyond_the_range() -> None:
    df = frame(np.array(["2020-01-02", "9999-12-31"], dtype="datetime64[s]"))
    with pytest.raises(DataError, match=f"timestamp \\(column 'date'\\): 9999-12-31.* {RANGE}"):
        Bars.from_dataframe(df)


def test_synthetic_start_outside_the_range_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=f"start: 18446744073709551616 is {RANGE}"):
        synthetic(3, start=2**64)
    with pytest.raises(ConfigError, match=f"start: 2500-01-01 is {RANGE}"):
        synthetic(3, start="2500-01-01")


NS_TEXT_BEYOND = [
    "9999-12-31T23:59:59.999999999",
    "2263-01-01T00:00:00.000000000",
    "2262-04-11T23:47:16.854775808",
    "1600-01-01T00:00:00.000000000",
    "1677-09-21T00:12:43.145224192",
]


@pytest.mark.parametrize("text", NS_TEXT_BEYOND)
def test_nanosecond_text_beyond_the_range_is_refused_not_wrapped(tmp_path: Path, text: str):
    bars = synthetic(5)
    with pytest.raises(DataError, match=f"start: {text} is {RANGE}"):
        bars.between(text)
    with pytest.raises(DataError, match=f"end: {text} is {RANGE}"):
        bars.between(end=text)
    with pytest.raises(DataError, match=f"timestamps: {text} at position 1 is {RANGE}"):
        Bars.from_arrays(np.array(["2020-01-02", text]), *([[10.0, 10.0]] * 4))
    with pytest.raises(DataError, match=f"{text} at position 1 is {RANGE}"):
        Bars.from_dataframe(frame(["2020-01-02", text]))
    write_csv(tmp_path, "X", ["2020-01-02", text])
    with pytest.raises(DataError, match=f"timestamp: {text} at line 3 of .*X.csv is {RANGE}"):
        load_bars("X", root=tmp_path)
    write_csv(tmp_path, "Y", ["2020-01-02", "2020-01-03"])
    with pytest.raises(DataError, match=f"start: {text} is {RANGE}"):
        load_bars("Y", root=tmp_path, start=text)
    with pytest.raises(ConfigError, match=f"start: {text} is {RANGE}"):
        synthetic(3, start=text)


def test_a_nanosecond_time_makes_no_other_date_in_the_column_wrap(tmp_path: Path) -> None:
    # numpy parses a whole column in its finest unit: one nanosecond time used to drag a
    # 9999-12-31 sentinel into nanoseconds, where it wrapped to 1816.
    write_csv(tmp_path, "X", ["2020-01-02T09:30:00.000000001", "9999-12-31"])
    with pytest.raises(DataError, match=f"9999-12-31 at line 3 of .*X.csv is {RANGE}"):
        load_bars("X", root=tmp_path)


def test_parquet_text_times_in_nanoseconds_beyond_the_range_are_refused(tmp_path: Path):
    pa = pytest.importorskip("pyarrow")
    write_parquet(tmp_path, "X", pa.array(["2020-01-02", "9999-12-31T23:59:59.999999999"]))
    with pytest.raises(DataError, match=f"9999-12-31T23:59:59.999999999 at row 1 of .* {RANGE}"):
        load_bars("X", root=tmp_path)


def test_digits_finer_than_a_nanosecond_are_dropped_not_wrapped(tmp_path: Path) -> None:
    # numpy parses a 12-digit fraction in picoseconds, whose range ends 106 days from 1970.
    text = "2020-01-02T09:30:00.123456789123"
    want = np.datetime64("2020-01-02T09:30:00.123456789", "ns").astype(np.int64)
    assert Bars.from_arrays(np.array([text]), *([[10.0]] * 4)).timestamps[0] == want
    assert Bars.from_dataframe(frame([text, "2020-01-03"])).timestamps[0] == want
    write_csv(tmp_path, "X", [text, "2020-01-03"])
    assert load_bars("X", root=tmp_path).timestamps[0] == want
    assert load_bars("X", root=tmp_path, start=text).timestamps[0] == want
    assert synthetic(2, start=text, freq="1h").timestamps[0] == want
    sub = "1969-12-31T23:59:59.999999999999"
    assert Bars.from_arrays(np.array([sub]), *([[10.0]] * 4)).timestamps[0] == -1
    bars = synthetic(5, start="2020-01-06")
    assert bars.between("2020-01-07T00:00:00.000000000001").n_bars == 4  # to the ns
    assert bars.between(end="2020-01-07T00:00:00.000000000001").n_bars == 2


def test_times_at_the_lower_end_of_the_range_are_read_not_refused() -> None:
    # numpy converts 1677-09-21T00:12:44 from nanoseconds back to seconds as 2262-04-11.
    for times in (
        np.array(["1677-09-21T00:12:44", "2000-01-03"], dtype="datetime64[s]"),
        np.array(["1677-09-21T00:12:44", "2000-01-03"]),
        np.array(["1677-09-21T00:12:43.145224193", "2000-01-03"]),
    ):
        bars = Bars.from_arrays(times, *([[10.0, 10.0]] * 4))
        assert bars.timestamps[0] == np.datetime64(str(times[0]), "ns").astype(np.int64)
    assert synthetic(3, start="1677-09-21T00:12:44", freq="1h").n_bars == 3


def test_synthetic_spacing_or_size_beyond_reach_is_a_config_error() -> None:
    for freq in ("99999999999999999999D", "99999999999999999999h", "200000D"):
        with pytest.raises(ConfigError, match=f"freq: a spacing of '{freq}' is beyond the int64"):
            synthetic(3, freq=freq)
    with pytest.raises(ConfigError, match="n_bars: 3 bars of '1h' from '2262-04-11T23:00' go"):
        synthetic(3, start="2262-04-11T23:00", freq="1h")
    assert synthetic(1, start="2262-04-11T23:00", freq="1h").n_bars == 1
    too_large = "n_bars, n_symbols: a panel of .* is too large to build in memory"
    with pytest.raises(ConfigError, match=too_large):
        synthetic(2**63)
    with pytest.raises(ConfigError, match=too_large):
        synthetic(3, n_symbols=10**17)  # more than any address space
    with pytest.raises(ConfigError, match="n_bars: 1000000000000 bars of '1D' .* go beyond"):
        synthetic(10**12)


# ---------------------------------------------------------------------- time zones

ZONE_HINT = "timestamps are exchange-local wall-clock time without a time zone"


def test_from_dataframe_refuses_a_tz_aware_column_without_tz() -> None:
    pd = pytest.importorskip("pandas")
    times = pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("Asia/Shanghai")
    with pytest.raises(DataError, match=f"time zone Asia/Shanghai; {ZONE_HINT}.*tz="):
        Bars.from_dataframe(frame(times))
    df = pd.DataFrame(PRICES, index=times)
    with pytest.raises(DataError, match=r"timestamp \(index\): the times have time zone"):
        Bars.from_dataframe(df)


def test_from_dataframe_with_tz_keeps_the_exchange_wall_clock_dates() -> None:
    pd = pytest.importorskip("pandas")
    times = pd.to_datetime(["2020-01-01 09:30", "2020-01-02 09:30"]).tz_localize("Asia/Shanghai")
    bars = Bars.from_dataframe(frame(times), tz="Asia/Shanghai")
    assert wall_times(bars) == ["2020-01-01T09:30", "2020-01-02T09:30"]
    utc = Bars.from_dataframe(frame(times.tz_convert("UTC")), tz="Asia/Shanghai")
    assert wall_times(utc) == wall_times(bars)
    indexed = Bars.from_dataframe(pd.DataFrame(PRICES, index=times), tz="Asia/Shanghai")
    assert wall_times(indexed) == wall_times(bars)


def test_from_dataframe_refuses_iso_text_with_an_offset_without_tz() -> None:
    df = frame(["2020-01-01T00:00+08:00", "2020-01-02T00:00+08:00"])
    with pytest.raises(DataError, match="'2020-01-01T00:00\\+08:00' at position 0 has a UTC"):
        Bars.from_dataframe(df)
    bars = Bars.from_dataframe(df, tz="Asia/Shanghai")
    assert dates(bars) == ["2020-01-01", "2020-01-02"]
    z = Bars.from_dataframe(frame(["2019-12-31T16:00Z", "2020-01-01T16:00Z"]), tz="Asia/Shanghai")
    assert dates(z) == ["2020-01-01", "2020-01-02"]


def test_naive_times_with_tz_are_kept_as_they_are() -> None:
    bars = Bars.from_dataframe(frame(["2020-01-01T09:30", "2020-01-02T09:30"]), tz="Asia/Shanghai")
    assert wall_times(bars) == ["2020-01-01T09:30", "2020-01-02T09:30"]


def test_from_arrays_refuses_zoned_text() -> None:
    with pytest.raises(DataError, match="timestamps: '2020-01-01T00:00\\+08:00' at position 0"):
        Bars.from_arrays(["2020-01-01T00:00+08:00"], *([[10.0]] * 4))


def test_load_bars_refuses_zoned_csv_text_unless_tz_is_given(tmp_path: Path) -> None:
    write_csv(tmp_path, "X", ["2020-01-02T09:30+08:00", "2020-01-03T01:30Z"])
    with pytest.raises(DataError, match=f"at line 2 of .*X.csv has a UTC offset; {ZONE_HINT}"):
        load_bars("X", root=tmp_path)
    bars = load_bars("X", root=tmp_path, tz="Asia/Shanghai")
    assert wall_times(bars) == ["2020-01-02T09:30", "2020-01-03T09:30"]


def test_load_bars_converts_zoned_parquet_only_with_tz(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    times = [dt.datetime(2020, 1, 2, 1, 30), dt.datetime(2020, 1, 3, 1, 30)]
    write_parquet(tmp_path, "X", pa.array(times, pa.timestamp("us", tz="UTC")))
    with pytest.raises(DataError, match="the times have time zone UTC"):
        load_bars("X", root=tmp_path)
    bars = load_bars("X", root=tmp_path, tz="Asia/Shanghai")
    assert wall_times(bars) == ["2020-01-02T09:30", "2020-01-03T09:30"]


def test_zoned_start_is_refused_unless_tz_is_given() -> None:
    bars = load_sample("IBM")
    start = dt.datetime(2010, 1, 4, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with pytest.raises(DataError, match="start: .* has a time zone"):
        bars.between(start)
    assert dates(bars.between(start, tz="Asia/Shanghai"))[0] == "2010-01-04"


def test_an_unknown_tz_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="tz: unknown time zone 'Mars/Olympus'"):
        Bars.from_dataframe(frame(["2020-01-01", "2020-01-02"]), tz="Mars/Olympus")
    with pytest.raises(ConfigError, match="tz: expected a time zone name"):
        load_bars("X", root=".", tz=8)


# ---------------------------------------------------------------------- compact dates


def test_from_dataframe_reads_tushare_integer_trade_dates_as_dates() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"trade_date": [20230104, 20230103], "ts_code": ["000001.SZ"] * 2, **PRICES})
    bars = Bars.from_dataframe(df)
    assert bars.symbols == ("000001.SZ",)
    assert dates(bars) == ["2023-01-03", "2023-01-04"]


def test_from_dataframe_reads_compact_date_text_as_dates() -> None:
    bars = Bars.from_dataframe(frame(["20230103", "20230104"]))
    assert dates(bars) == ["2023-01-03", "2023-01-04"]


def test_load_bars_reads_integer_trade_dates_in_parquet(tmp_path: Path) -> None:
    write_parquet(tmp_path, "X", [20230103, 20230104])
    assert dates(load_bars("X", root=tmp_path)) == ["2023-01-03", "2023-01-04"]


def test_from_dataframe_refuses_a_compact_date_that_is_no_date() -> None:
    with pytest.raises(DataError, match="cannot read '2023-13-45' at position 1"):
        Bars.from_dataframe(frame([20230103, 20231345]))


@pytest.mark.parametrize(
    ("times", "looks_like"),
    [
        ([20230103, 20230104], "20230103"),
        ([1672704000, 1672790400], "epoch seconds"),
        ([1672704000_000, 1672790400_000], "milliseconds"),
        ([1672704000_000_000, 1672790400_000_000], "microseconds"),
    ],
    ids=["yyyymmdd", "seconds", "milliseconds", "microseconds"],
)
def test_from_arrays_refuses_integers_that_fall_in_1970_as_nanoseconds(
    times: list[int], looks_like: str
) -> None:
    with pytest.raises(DataError, match="timestamps: the integer .* at position 0 would be 1970"):
        Bars.from_arrays(times, *([[10.0, 10.0]] * 4))


def test_integer_nanoseconds_that_cross_the_epoch_or_lie_after_1970_are_read() -> None:
    for days in (["1969-12-31", "1970-01-02"], ["1970-12-31", "1971-01-01"]):
        ns = np.array(days, dtype="datetime64[ns]").astype(np.int64)
        assert dates(Bars.from_arrays(ns, *([[10.0, 10.0]] * 4))) == days
    in_1970 = np.array(["1970-01-02", "1970-06-01"], dtype="datetime64[ns]")
    with pytest.raises(DataError, match="may not all fall in 1970"):
        Bars.from_arrays(in_1970.astype(np.int64), *([[10.0, 10.0]] * 4))
    assert dates(Bars.from_arrays(in_1970, *([[10.0, 10.0]] * 4))) == ["1970-01-02", "1970-06-01"]


def test_between_refuses_a_compact_integer_date() -> None:
    with pytest.raises(DataError, match="start: the integer 20100104 would be 1970"):
        load_sample("IBM").between(20100104)
    assert dates(load_sample("IBM").between("20100104"))[0] == "2010-01-04"


# ---------------------------------------------------------------------- plain exceptions


def test_gbk_csv_is_read_by_default_and_refused_as_utf8_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_bytes(("日期,date,open,high,low,close,volume\n平安,2020-01-02" + ROW).encode("gbk"))
    with pytest.raises(DataError, match=f"{path}: cannot decode the file as utf-8-sig.*gb18030"):
        load_bars("X", root=tmp_path, encoding="utf-8-sig")
    assert load_bars("X", root=tmp_path).n_bars == 1  # UTF-8 fails, GB18030 reads it
    assert load_bars("X", root=tmp_path, encoding="gbk").n_bars == 1
    with pytest.raises(ConfigError, match="encoding: unknown text encoding 'klingon'"):
        load_bars("X", root=tmp_path, encoding="klingon")


def test_a_utf16_encoding_on_a_utf8_file_is_a_data_error_naming_the_file(tmp_path: Path):
    path = write_csv(tmp_path, "X", ["2020-01-02"])
    with pytest.raises(DataError, match=f"{path}: cannot decode the file as utf-16 \\(UTF-16"):
        load_bars("X", root=tmp_path, encoding="utf-16")


@pytest.mark.parametrize("encoding", ["rot13", "bz2_codec", "hex"])
def test_a_codec_that_is_no_text_encoding_is_a_config_error(tmp_path: Path, encoding: str):
    write_csv(tmp_path, "X", ["2020-01-02"])
    with pytest.raises(ConfigError, match=f"encoding: '{encoding}' is a codec but not a text"):
        load_bars("X", root=tmp_path, encoding=encoding)


def test_a_symbol_too_long_for_a_file_name_is_a_data_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"symbol: cannot look for the file of 'XXX.*\.\.\. "):
        load_bars("X" * 5000, root=tmp_path)


def test_utf8_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "X.csv").write_bytes(b"\xef\xbb\xbf" + (HEADER + "2020-01-02" + ROW).encode())
    assert load_bars("X", root=tmp_path).n_bars == 1


def test_a_huge_csv_cell_is_a_data_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text(HEADER + "2020-01-02,10,11,9,10," + "9" * 200_000 + "\n")
    with pytest.raises(DataError, match=f"{path}: line 2 cannot be read \\(field larger"):
        load_bars("X", root=tmp_path)


@pytest.mark.parametrize("content", [b"", b"PAR1 not parquet PAR1"], ids=["empty", "corrupt"])
def test_an_unreadable_parquet_file_is_a_data_error_naming_it(tmp_path: Path, content: bytes):
    pytest.importorskip("pyarrow")
    path = tmp_path / "X.parquet"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"{path}: cannot read the Parquet file"):
        load_bars("X", root=tmp_path)


def test_load_bars_root_that_is_no_path_is_a_data_error() -> None:
    with pytest.raises(DataError, match="root: expected a directory path, got 5"):
        load_bars("X", root=5)  # type: ignore[arg-type]


def test_load_samples_of_a_number_is_a_data_error() -> None:
    with pytest.raises(DataError, match="symbols: expected sample symbols .* got 123"):
        load_samples(123)  # type: ignore[arg-type]


@pytest.mark.parametrize("df", [[1, 2], None, {"close": [1.0]}, np.ones((2, 5))])
def test_from_dataframe_refuses_what_is_not_a_frame(df: Any) -> None:
    with pytest.raises(
        DataError,
        match=f"df: expected a pandas DataFrame, a polars DataFrame or a pyarrow Table, got "
        f"{type(df).__name__}",
    ):
        Bars.from_dataframe(df)


def test_from_dataframe_bad_date_and_string_price_name_the_column() -> None:
    with pytest.raises(DataError, match="timestamp \\(column 'date'\\): cannot read 'soon'"):
        Bars.from_dataframe(frame(["2020-01-01", "soon"]))
    with pytest.raises(DataError, match="close: column 'close' of the frame holds str '10', n"):
        Bars.from_dataframe(frame(["2020-01-01", "2020-01-02"], close=["10", "ten"]))


def test_from_dataframe_refuses_what_from_arrays_refuses() -> None:
    pd = pytest.importorskip("pandas")
    days = ["2020-01-02", "2020-01-03"]
    for column, held in [
        ([10 + 5j, 10], "dtype complex128"),
        ([True, True], "dtype bool"),
        (["10", "10"], "str '10'"),
        (pd.array([True, None], dtype="boolean"), "dtype boolean"),
        ([10.0, "10"], "str '10'"),
    ]:
        with pytest.raises(DataError, match=f"close: column 'close' of the frame holds {held}"):
            Bars.from_dataframe(frame(days, close=column))
        with pytest.raises(DataError, match="close: expected real numbers, got "):
            Bars.from_arrays(np.array(days), *([[10.0, 10.0]] * 3), np.array(column))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way
        with pytest.raises(DataError):
            Bars.from_dataframe(frame(days, close=[10 + 5j, 10]))
    decimals = [decimal.Decimal("10.5"), 2]  # e.g. a SQL DECIMAL column
    assert Bars.from_dataframe(frame(days, volume=decimals)).volume.tolist() == [[10.5], [2.0]]


@pytest.mark.parametrize("missing", [None, np.nan])
def test_from_dataframe_refuses_a_row_without_a_symbol(missing: Any) -> None:
    df = frame(["2020-01-02", "2020-01-02"], symbol=["A", missing])
    with pytest.raises(DataError, match=r"symbol: missing \(column 'symbol'\) in row 1 \(index 1"):
        Bars.from_dataframe(df)


def test_from_dataframe_refuses_an_empty_or_ambiguous_symbol_argument() -> None:
    one = frame(["2020-01-02", "2020-01-03"])
    for bad in ("", 5):
        with pytest.raises(DataError, match=f"symbol: expected a non-empty string, got {bad!r}"):
            Bars.from_dataframe(one, symbol=bad)  # type: ignore[arg-type]
    assert Bars.from_dataframe(one, symbol="ZZ").symbols == ("ZZ",)
    long = frame(["2020-01-02", "2020-01-02"], symbol=["A", "B"])
    with pytest.raises(DataError, match="symbol: 'ZZ' given for a frame with a symbol column"):
        Bars.from_dataframe(long, symbol="ZZ")


def test_from_dataframe_refuses_symbols_that_are_the_same_only_as_text() -> None:
    df = frame(["2020-01-02", "2020-01-03"], symbol=[600000, "600000"])
    with pytest.raises(DataError, match="symbol: 600000 and '600000' in column 'symbol' are"):
        Bars.from_dataframe(df)
    ints = frame(["2020-01-02", "2020-01-02"], symbol=[600000, 1])
    assert Bars.from_dataframe(ints).symbols == ("600000", "1")


def test_from_dataframe_refuses_a_column_given_twice_in_any_case() -> None:
    df = frame(["2020-01-02", "2020-01-03"]).assign(Close=[99.0, 99.0])
    with pytest.raises(
        DataError, match=r"close: more than one such column \['close', 'Close'\] in the frame"
    ):
        Bars.from_dataframe(df)


def test_a_file_with_a_column_given_twice_in_any_case_is_refused(tmp_path: Path) -> None:
    (tmp_path / "X.csv").write_text(
        "Date,date,open,high,low,close,volume\n2020-01-02,2020-01-03" + ROW
    )
    with pytest.raises(DataError, match=r"date: more than one such column \['Date', 'date'\] in"):
        load_bars("X", root=tmp_path)
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"date": ["2020-01-02"], **{f: [10.0] for f in FIELDS}, "Close": [9.0]})
    pq.write_table(table, tmp_path / "Y.parquet")
    with pytest.raises(DataError, match=r"close: more than one such column \['close', 'Close'\]"):
        load_bars("Y", root=tmp_path)


def test_parquet_bool_or_text_prices_are_refused(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    days = ["2020-01-02", "2020-01-03"]
    for close, held in [([True, True], "dtype bool"), (["10", "10"], "str '10'")]:
        table = pa.table({"date": days, **{f: [10.0] * 2 for f in FIELDS}, "close": close})
        pq.write_table(table, tmp_path / "X.parquet")
        with pytest.raises(DataError, match=f"close: column 'close' of .*X.parquet holds {held}"):
            load_bars("X", root=tmp_path)
    table = pa.table({"date": days, **{f: [10.0] * 2 for f in FIELDS}})
    table = table.set_column(4, "close", pa.array([decimal.Decimal("10")] * 2))
    pq.write_table(table, tmp_path / "X.parquet")
    assert load_bars("X", root=tmp_path).close.tolist() == [[10.0], [10.0]]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ([1, 2], None, "start: expected a date, a time, ISO-8601 text or int64 nanoseconds, "),
        (object(), None, "start: expected a date"),
        (None, 1.5, "end: expected a date"),
        (True, None, "start: expected a date"),
        ("soon", None, "start: cannot read 'soon'"),
        ("2011-01-01", "2010-01-01", "start: '2011-01-01' is after end '2010-01-01'"),
        ("1990-01-01", "1990-02-01", "timestamps: no bars between"),
    ],
)
def test_between_with_bad_input_is_a_data_error(start: Any, end: Any, message: str) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        load_sample("IBM").between(start, end)


def test_select_an_unknown_symbol_or_none_is_a_data_error() -> None:
    bars = load_samples(("IBM", "MSFT"))
    with pytest.raises(DataError, match=r"symbol: 'ZZZ' is not in the panel \(symbols: \['IBM'"):
        bars.select(["IBM", "ZZZ"])
    with pytest.raises(DataError, match="symbols: no symbols"):
        bars.select([])
    with pytest.raises(DataError, match="symbols: 'IBM' appears more than once"):
        bars.select(["IBM", "IBM"])
    assert bars.select("MSFT").symbols == ("MSFT",)


@pytest.mark.parametrize("t, n", [(99, 0), (1.5, 0), (-1, 0), (True, 0), (0, 2), (0, -1)])
def test_is_missing_outside_the_panel_is_a_data_error_not_an_index_from_the_end(t, n):
    bars = good()
    name, what, last = ("t", "bar number", 2) if (t, n)[1] == 0 else ("n", "symbol column", 1)
    with pytest.raises(DataError, match=f"{name}: expected a {what} from 0 to {last}, got"):
        bars.is_missing(t, n)
    assert bars.is_missing(np.int64(2), 1) is False


def test_symbol_index_of_an_unknown_symbol_is_a_data_error() -> None:
    with pytest.raises(DataError, match="symbol: 'ZZZ' is not in the panel"):
        load_sample("IBM").symbol_index("ZZZ")


# ---------------------------------------------------------------------- every panel checked


def good() -> Bars:
    return bars_from_rows({"A": [(10.0, 11.0, 9.0, 10.0)] * 3, "B": [(5.0, 6.0, 4.0, 5.0)] * 3})


def arrays(bars: Bars) -> dict[str, Any]:
    return {"timestamps": bars.timestamps, "symbols": bars.symbols} | {
        f: getattr(bars, f) for f in FIELDS
    }


def bad_panels() -> dict[str, dict[str, Any]]:
    a = arrays(good())
    return {
        "no_rows": a | {"timestamps": a["timestamps"][:0]} | {f: a[f][:0] for f in FIELDS},
        "descending": a | {"timestamps": a["timestamps"][::-1].copy()},
        "non_str_symbols": a | {"symbols": ("A", 7)},
        "duplicate_symbols": a | {"symbols": ("A", "A")},
        "no_symbols": a | {"symbols": ()} | {f: a[f][:, :0] for f in FIELDS},
        "int32_days": a | {"timestamps": np.arange(3, dtype=np.int32)},
    }


def build(kwargs: dict[str, Any]) -> Bars:
    k = dict(kwargs)
    return Bars(k.pop("timestamps"), k.pop("symbols"), *(k[f] for f in FIELDS))


def constructor_error(kwargs: dict[str, Any]) -> str:
    with pytest.raises(DataError) as exc:
        build(kwargs)
    return str(exc.value)


@pytest.mark.parametrize("name", list(bad_panels()))
def test_the_constructor_checks_as_from_arrays_does(name: str) -> None:
    kwargs = bad_panels()[name]
    message = constructor_error(kwargs)
    k = dict(kwargs)
    with pytest.raises(DataError) as exc:
        Bars.from_arrays(k.pop("timestamps"), symbols=k.pop("symbols"), **k)
    assert str(exc.value) == message


def test_the_constructor_stores_its_own_read_only_float64_copies() -> None:
    a = arrays(good())
    loose = {f: np.array(a[f], dtype=np.float32) for f in FIELDS}
    bars = Bars(a["timestamps"].copy(), list(a["symbols"]), *loose.values())
    for f in FIELDS:
        arr = getattr(bars, f)
        assert arr.dtype == np.float64 and arr.flags.c_contiguous and not arr.flags.writeable
    assert loose["close"].flags.writeable  # the caller's arrays are left alone
    with pytest.raises(AttributeError, match="read-only"):
        bars.close = loose["close"]  # type: ignore[misc]


def test_unpickling_checks_and_freezes_the_panel() -> None:
    bars = good()
    back = pickle.loads(pickle.dumps(bars))
    assert all(not getattr(back, f).flags.writeable for f in ("timestamps", *FIELDS))
    assert back.symbols == bars.symbols and (back.close == bars.close).all()
    a = arrays(bars)
    twice = Bars._trusted(a["timestamps"], ("A", "A"), *(a[f].copy() for f in FIELDS))
    with pytest.raises(DataError, match="symbols: 'A' appears more than once"):
        pickle.loads(pickle.dumps(twice))


def test_panel_and_result_arrays_cannot_be_made_writeable_again(backend: str) -> None:
    bars = good()
    panels = [
        bars,
        pickle.loads(pickle.dumps(bars)),
        bars.select(["B"]),
        bars.between(end=int(bars.timestamps[1])),
        load_sample("IBM"),
        synthetic(3),
    ]
    for panel in panels:
        for name in ("timestamps", *FIELDS):
            with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
                getattr(panel, name).flags.writeable = True
    result = Engine(backend=backend).run(bars, Strategy())
    for name in ("timestamps", "equity", "cash"):
        with pytest.raises(ValueError, match="cannot set WRITEABLE flag"):
            getattr(result, name).flags.writeable = True


def test_engine_sees_only_checked_panels(backend: str) -> None:
    """Bad panels are refused while being built, before any engine: the same error
    whichever backend would have run them; a good panel runs on both."""
    for kwargs in bad_panels().values():
        with pytest.raises(DataError):
            Engine(backend=backend).run(build(kwargs), Strategy())
    with pytest.raises(DataError, match="symbols: no symbols"):
        Engine(backend=backend).run(good().select([]), Strategy())
    assert Engine(backend=backend).run(pickle.loads(pickle.dumps(good())), Strategy())


@pytest.mark.parametrize("name", ["no_rows", "non_str_symbols", "duplicate_symbols", "no_symbols"])
def test_native_engine_refuses_an_unchecked_panel_with_the_constructor_message(
    backend_rust: None, name: str
) -> None:
    """Defence in depth: a panel built around the constructor (a private path) never reaches
    the Rust core; it is refused with the constructor's own message, never a panic."""
    kwargs = bad_panels()[name]
    unchecked = Bars._trusted(
        kwargs["timestamps"], kwargs["symbols"], *(np.array(kwargs[f]) for f in FIELDS)
    )
    with pytest.raises(DataError) as exc:
        Engine(backend="rust").run(unchecked, Strategy())
    assert str(exc.value) == constructor_error(kwargs)


def test_garbage_into_the_data_entry_points_is_a_quanta_error(tmp_path: Path) -> None:
    write_csv(tmp_path, "X", ["2020-01-02"])
    calls = [
        lambda: load_bars("X", root=tmp_path, start=b"2020"),
        lambda: load_bars("X", root=tmp_path, end=-(2**70)),
        lambda: load_bars("X", root=tmp_path, encoding=5),  # type: ignore[arg-type]
        lambda: synthetic(3, start=object()),
        lambda: Bars.from_arrays([np.datetime64("NaT")], *([[10.0]] * 4)),
        lambda: Bars.from_arrays([dt.date(2020, 1, 1), "x"], *([[10.0, 10.0]] * 4)),
        lambda: Bars.from_arrays(np.array([1.5e18]), *([[10.0]] * 4)),
        lambda: load_sample("IBM").between(np.datetime64("NaT")),
    ]
    for call in calls:
        with pytest.raises(QuantaError):
            call()


def test_a_panel_wholly_in_1970_round_trips_through_every_entry_point(tmp_path: Path) -> None:
    bars = synthetic(5, start="1970-03-02")
    assert dates(bars)[0] == "1970-03-02"
    assert dates(pickle.loads(pickle.dumps(bars))) == dates(bars)
    assert dates(Bars.from_dataframe(bars.to_dataframe())) == dates(bars)
    write_csv(tmp_path, "X", ["1970-03-02", "1970-03-03"])
    assert dates(load_bars("X", root=tmp_path)) == ["1970-03-02", "1970-03-03"]


# ---------------------------------------------------------------------- garbage, fuzzed

TIME_GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        ["2020-01-02", "20200102", "2020-01-02T09:30+08:00", "2020-01-02T01:30Z", "9999-12-31"]
    ),
    st.datetimes(timezones=st.sampled_from([None, dt.timezone.utc])),
    st.dates(),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=TIME_GARBAGE, end=TIME_GARBAGE, tz=st.sampled_from([None, "Asia/Shanghai"]))
def test_between_on_garbage_bounds_gives_bars_or_a_quanta_error(start, end, tz) -> None:
    bars = load_sample("IBM")
    try:
        part = bars.between(start, end, tz=tz)
    except QuantaError:
        return
    assert part.n_bars >= 1 and set(part.timestamps) <= set(bars.timestamps)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(times=st.lists(TIME_GARBAGE, min_size=1, max_size=3), tz=st.sampled_from([None, "UTC"]))
def test_from_dataframe_on_garbage_times_gives_bars_or_a_quanta_error(times, tz) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"date": pd.Series(times, dtype=object), **{f: 10.0 for f in FIELDS}})
    try:
        bars = Bars.from_dataframe(df, tz=tz)
    except QuantaError:
        return
    assert bars.timestamps.dtype == np.int64 and (bars.timestamps[1:] > bars.timestamps[:-1]).all()


def test_a_frame_mixing_text_and_dates_refuses_text_outside_the_range() -> None:
    import pandas as pd

    # "0-01" is January of year 0: numpy would wrap it into 1753 on the way to nanoseconds.
    frame = pd.DataFrame({"date": ["0-01", dt.date(2046, 1, 1)]} | {f: [1.0, 1.0] for f in FIELDS})
    with pytest.raises(DataError, match="0000-01-01 at position 0 is outside the int64"):
        Bars.from_dataframe(frame)
