"""Loading data as A-share (and other) users have it: tushare, akshare and yfinance files,
long files of many symbols, GBK text, polars and pyarrow frames, hive Parquet folders; each
in one call, checked against the true values the generator wrote (tests/ashare_files.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import ashare_files
from quanta_ref import Engine
from quanta_ref.bars import Bars, table_columns
from quanta_ref.data import load_bars
from quanta_ref.errors import ConfigError, DataError
from quanta_ref.examples import SmaCross
from quanta_ref.sources import frame_table
from test_market_cn import Orders

SYMBOLS = ["600519.SH", "000001.SZ", "300750.SZ", "688981.SH"]
TRUE = ashare_files.bars()


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("pyarrow")
    made = {}
    for name in ("tushare", "akshare_gbk", "akshare_bom", "yfinance"):
        made[name] = tmp_path_factory.mktemp(name)
    ashare_files.write_tushare(made["tushare"])
    ashare_files.write_akshare(made["akshare_gbk"], "gbk")
    ashare_files.write_akshare(made["akshare_bom"], "utf-8-sig")
    ashare_files.write_yfinance(made["yfinance"])
    made["hive"] = ashare_files.write_hive(tmp_path_factory.mktemp("hive") / "daily")
    return made


def load(folders: dict[str, Path], kind: str, symbols: list[str] | None = SYMBOLS, **kw) -> Bars:
    tz = "Asia/Shanghai" if kind == "yfinance" else None
    return load_bars(symbols, root=folders[kind], tz=tz, **kw)


def days(bars: Bars) -> np.ndarray:
    return bars.timestamps.view("datetime64[ns]").astype("datetime64[D]")


def assert_true_values(bars: Bars, symbols: list[str]) -> None:
    """Each symbol's bars are the generator's, volume in shares (lots x 100), and the
    panel's times are the union of the symbols' days."""
    assert list(bars.symbols) == symbols
    union = np.unique(np.concatenate([TRUE[s]["date"] for s in symbols]))
    assert np.array_equal(days(bars), union)
    for n, symbol in enumerate(symbols):
        true = TRUE[symbol]
        rows = np.searchsorted(days(bars), true["date"])
        for field in ("open", "high", "low", "close"):
            assert np.array_equal(getattr(bars, field)[rows, n], true[field])
        assert np.array_equal(bars.volume[rows, n], true["vol"] * 100)
        others = np.setdiff1d(np.arange(bars.n_bars), rows)
        assert np.isnan(bars.close[others, n]).all() and (bars.volume[others, n] == 0).all()


@pytest.mark.parametrize("kind", ["tushare", "akshare_gbk", "akshare_bom", "yfinance", "hive"])
def test_each_format_loads_the_true_bars_of_many_symbols_in_one_call(folders, kind) -> None:
    assert_true_values(load(folders, kind), SYMBOLS)


def test_suspensions_and_a_later_listing_are_missing_bars_on_the_union_of_days(folders) -> None:
    bars = load(folders, "tushare")
    star = bars.symbol_index("688981.SH")
    assert days(bars)[0] == np.datetime64("2020-06-01")
    first = int(np.argmax(~np.isnan(bars.close[:, star])))
    assert days(bars)[first] == np.datetime64("2020-07-16")  # the listing day
    suspended = np.setdiff1d(ashare_files.DAYS, TRUE["600519.SH"]["date"])
    assert len(suspended) > 0
    row = int(np.searchsorted(days(bars), suspended[0]))
    assert bars.is_missing(row, bars.symbol_index("600519.SH"))


def test_tushare_volume_is_lots_times_100_and_rows_newest_first_are_sorted(folders) -> None:
    path = folders["tushare"] / "daily_20200601_20231229.csv"
    second_line = path.read_text().splitlines()[1].split(",")
    assert second_line[:2] == ["688981.SH", "20231229"]  # newest first in the file
    bars = load_bars("688981.SH", root=folders["tushare"], source="tushare")
    assert days(bars)[-1] == np.datetime64("2023-12-29")
    assert bars.volume[-1, 0] == float(second_line[9]) * 100


def test_start_and_end_keep_only_those_days(folders) -> None:
    for kind in ("tushare", "hive"):
        bars = load(folders, kind, ["688981.SH", "600519.SH"], start="2020-07-01", end="20200731")
        assert days(bars)[0] == np.datetime64("2020-07-01")
        assert days(bars)[-1] == np.datetime64("2020-07-31")
        assert bars.is_missing(0, 0) and not bars.is_missing(0, 1)  # STAR listed 07-16


def test_every_file_of_the_folder_is_read_when_no_symbol_is_named(folders) -> None:
    bars = load_bars(root=folders["akshare_gbk"])
    assert list(bars.symbols) == sorted(SYMBOLS)  # by file name; 000001 named as its file


def test_akshare_code_read_as_a_number_comes_back_as_six_digit_text() -> None:
    pd = pytest.importorskip("pandas")
    true = TRUE["000001.SZ"]
    frame = pd.DataFrame(
        {
            "日期": true["date"].astype(str),
            "股票代码": 1,
            "开盘": true["open"],
            "收盘": true["close"],
            "最高": true["high"],
            "最低": true["low"],
            "成交量": true["vol"],
        }
    )
    bars = Bars.from_dataframe(frame)
    assert bars.symbols == ("000001",)
    assert np.array_equal(bars.volume[:, 0], true["vol"] * 100)


def test_gbk_file_is_read_by_the_gb18030_fallback_and_refused_as_explicit_utf8(folders) -> None:
    path = folders["akshare_gbk"] / "600519.SH.csv"
    with pytest.raises(DataError, match=f"{path}: cannot decode the file as utf-8"):
        load_bars("600519.SH", root=folders["akshare_gbk"], encoding="utf-8")
    assert load_bars("600519.SH", root=folders["akshare_gbk"], encoding="gbk").n_bars > 800


def test_yfinance_dates_with_an_offset_need_tz(folders) -> None:
    with pytest.raises(DataError, match="has a UTC offset"):
        load_bars("600519.SH", root=folders["yfinance"])


def test_pandas_polars_and_pyarrow_frames_give_the_same_panel(folders) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    path = folders["tushare"] / "daily_20200601_20231229.csv"
    frame = pd.read_csv(path, dtype={"ts_code": str, "trade_date": str})
    panels = [
        Bars.from_dataframe(frame),
        Bars.from_dataframe(pl.from_pandas(frame)),
        Bars.from_dataframe(pa.Table.from_pandas(frame, preserve_index=False)),
    ]
    for bars in panels:
        assert_true_values(bars.select(SYMBOLS), SYMBOLS)
        assert bars.symbols == panels[0].symbols


def test_zoned_times_are_refused_alike_and_converted_alike_in_every_frame_kind() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    utc = pd.to_datetime(["2024-01-01T16:00", "2024-01-02T16:00"]).tz_localize("UTC")
    prices = {"open": [10.0, 11.0], "high": [11.0, 12.0], "low": [9.0, 10.0]}
    frame = pd.DataFrame({"date": utc, **prices, "close": [10.5, 11.5], "volume": [1.0, 2.0]})
    kinds = [frame, pl.from_pandas(frame), pa.Table.from_pandas(frame, preserve_index=False)]
    for df in kinds:
        with pytest.raises(DataError, match=r"^timestamp \(column 'date'\): the times have time"):
            Bars.from_dataframe(df)
        bars = Bars.from_dataframe(df, tz="Asia/Shanghai")
        assert [str(d) for d in days(bars)] == ["2024-01-02", "2024-01-03"]


def test_hive_reads_only_the_requested_partitions(folders, tmp_path) -> None:
    import shutil

    root = tmp_path / "daily"
    shutil.copytree(folders["hive"], root)
    (root / "symbol=688981.SH" / "part-2021.parquet").write_bytes(b"PAR1 corrupt PAR1")
    bars = load_bars(["600519.SH", "000001.SZ"], root=root)
    assert_true_values(bars, ["600519.SH", "000001.SZ"])
    with pytest.raises(DataError, match="cannot read the Parquet dataset"):
        load_bars(root=root)
    with pytest.raises(DataError, match=r"no partition symbol=601318.SH in .*daily"):
        load_bars("601318.SH", root=root)


def test_a_header_that_fits_several_sources_or_none_is_refused_naming_the_columns(tmp_path):
    both = tmp_path / "both.csv"
    both.write_text("trade_date,open,high,low,close,vol,volume\n20240102,1,1,1,1,1,100\n")
    with pytest.raises(
        DataError,
        match=r"fit more than one source \(quanta, tushare\) \(columns: \['trade_date', 'open'.*"
        r"'vol', 'volume'\]\); sources known: quanta, tushare, akshare, yfinance; pass source=",
    ):
        load_bars("both", root=tmp_path)
    assert load_bars("both", root=tmp_path, source="tushare").volume[0, 0] == 100.0
    assert load_bars("both", root=tmp_path, source="quanta").volume[0, 0] == 100.0
    (tmp_path / "none.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"fit no known source \(columns: \['a', 'b'\]\); sour"):
        load_bars("none", root=tmp_path)


def test_a_named_source_names_the_missing_column_and_the_columns_present(tmp_path) -> None:
    (tmp_path / "X.csv").write_text(
        "date,open,high,low,close,volume,note\n2024-01-02,1,1,1,1,1,a\n"
    )
    with pytest.raises(
        DataError,
        match=r"^timestamp: no trade_date column in .*X.csv \(columns: \['date', .*'note'\]\)",
    ):
        load_bars("X", root=tmp_path, source="tushare")
    (tmp_path / "Y.csv").write_text("trade_date,open,high,low,close,volume\n20240102,1,1,1,1,1\n")
    with pytest.raises(DataError, match=r"^volume: column 'vol' of source 'tushare' missing"):
        load_bars("Y", root=tmp_path, source="tushare")
    with pytest.raises(ConfigError, match="source: expected one of auto, quanta, tushare"):
        load_bars("Y", root=tmp_path, source="wind")


def test_a_symbol_in_two_long_files_or_a_named_file_of_several_symbols_is_refused(
    folders, tmp_path
) -> None:
    import shutil

    source = folders["tushare"] / "daily_20200601_20231229.csv"
    shutil.copy(source, tmp_path / "a.csv")
    shutil.copy(source, tmp_path / "b.csv")
    with pytest.raises(DataError, match=r"'600519.SH' is in .*a.csv and in .*b.csv: ambiguous"):
        load_bars("600519.SH", root=tmp_path)
    shutil.copy(source, tmp_path / "000001.SZ.csv")
    with pytest.raises(DataError, match=r"named after '000001.SZ' but holds the symbols"):
        load_bars("000001.SZ", root=tmp_path)
    with pytest.raises(DataError, match=r"no file for 'NOPE'; looked for .*NOPE\.csv"):
        load_bars(["NOPE"], root=folders["tushare"])


def test_named_files_and_long_files_mix_in_one_folder(folders, tmp_path) -> None:
    import shutil

    shutil.copy(folders["tushare"] / "daily_20200601_20231229.csv", tmp_path / "daily.csv")
    shutil.copy(folders["akshare_bom"] / "688981.SH.csv", tmp_path / "688981.SH.csv")
    bars = load_bars(["688981.SH", "000001.SZ"], root=tmp_path)
    assert_true_values(bars, ["688981.SH", "000001.SZ"])


def test_limit_prices_and_st_flags_are_carried_in_the_normalised_columns() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "ts_code": ["000001.SZ"] * 2,
            "trade_date": ["20240103", "20240102"],
            **{f: [10.0, 10.0] for f in ("open", "high", "low", "close")},
            "vol": [3.0, 4.0],
            "up_limit": [11.0, 11.11],
            "down_limit": [9.0, 9.09],
            "is_st": [0, 1],
        }
    )
    columns = table_columns(frame_table(frame), "auto", None)
    assert columns["up_limit"].tolist() == [11.0, 11.11]
    assert columns["down_limit"].tolist() == [9.0, 9.09]
    assert columns["is_st"].tolist() == [False, True]
    assert columns["volume"].tolist() == [300.0, 400.0]
    assert columns["symbol"] == ["000001.SZ"] * 2


def test_a_cn_a_backtest_on_each_format_gives_one_equity_on_both_backends(folders, backend) -> None:
    curves = []
    for kind in ("tushare", "akshare_gbk", "yfinance", "hive"):
        bars = load(folders, kind, start="2021-01-01", end="2022-12-31")
        result = Engine(backend=backend, market="cn_a", price_limit=0.1).run(bars, SmaCross())
        reference = Engine(backend="python", market="cn_a", price_limit=0.1).run(bars, SmaCross())
        assert np.array_equal(result.equity, reference.equity)  # bit for bit
        assert len(result.fills) > 10
        curves.append(result.equity)
    for equity in curves[1:]:
        assert np.array_equal(equity, curves[0])


def test_polars_and_pyarrow_frames_need_no_pandas(monkeypatch) -> None:
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    columns = {
        "ts_code": ["300750.SZ", "300750.SZ"],
        "trade_date": [20240103, 20240102],
        **{f: [150.0, 151.0] for f in ("open", "high", "low", "close")},
        "vol": [7.0, 8.0],
    }
    polars_frame, arrow_table = pl.DataFrame(columns), pa.table(columns)
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    for df in (polars_frame, arrow_table):
        bars = Bars.from_dataframe(df, source="tushare")
        assert [str(d) for d in days(bars)] == ["2024-01-02", "2024-01-03"]
        assert bars.volume[:, 0].tolist() == [800.0, 700.0]


def test_a_symbol_in_two_files_of_a_listed_folder_and_an_empty_symbol_are_refused(
    folders, tmp_path
) -> None:
    import shutil

    shutil.copy(folders["tushare"] / "daily_20200601_20231229.csv", tmp_path / "daily.csv")
    shutil.copy(folders["akshare_bom"] / "688981.SH.csv", tmp_path / "688981.SH.csv")
    with pytest.raises(DataError, match=r"'688981.SH' is in .*688981.SH.csv and in .*daily.csv"):
        load_bars(root=tmp_path)
    (tmp_path / "long.csv").write_text(
        "symbol,date,open,high,low,close,volume\nA,2024-01-02,1,1,1,1,1\n,2024-01-02,1,1,1,1,1\n"
    )
    with pytest.raises(DataError, match=r"symbol: missing \(column 'symbol'\) in line 3 of"):
        load_bars("A", root=tmp_path)


def test_looking_for_a_symbol_skips_files_of_one_symbol_without_parsing_them(tmp_path) -> None:
    (tmp_path / "A.csv").write_text("date,open,high,low,close,volume\n2024-01-02,x,1,1,1,1\n")
    (tmp_path / "long.csv").write_text(
        "ticker,date,open,high,low,close,volume\nB,2024-01-02,1,2,1,2,5\n"
    )
    bars = load_bars("B", root=tmp_path)
    assert bars.symbols == ("B",) and bars.close[0, 0] == 2.0
    with pytest.raises(DataError, match="^open: cannot read 'x' as a number at line 2"):
        load_bars("A", root=tmp_path)


def test_nullable_integer_trade_dates_of_a_pandas_frame_are_dates() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "trade_date": pd.array([20240103, 20240102], dtype="Int64"),
            **{f: pd.array([10.0, 11.0], dtype="Float64") for f in ("open", "high", "low")},
            "close": [10.0, 11.0],
            "vol": pd.array([1, 2], dtype="Int64"),
            "ts_code": ["000001.SZ"] * 2,
        }
    )
    bars = Bars.from_dataframe(frame)
    assert [str(d) for d in days(bars)] == ["2024-01-02", "2024-01-03"]
    assert bars.volume[:, 0].tolist() == [200.0, 100.0]


def test_a_root_that_is_no_directory_or_holds_no_file_is_refused(tmp_path) -> None:
    with pytest.raises(DataError, match=r"^root: .*nope is not a directory"):
        load_bars("X", root=tmp_path / "nope")
    with pytest.raises(DataError, match=r"^root: no .csv or .parquet file in "):
        load_bars(root=tmp_path)


def test_a_hive_folder_of_unknown_columns_says_so_not_that_it_is_unreadable(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    (tmp_path / "symbol=A").mkdir()
    pq.write_table(pa.table({"a": [1.0]}), tmp_path / "symbol=A" / "part-0.parquet")
    with pytest.raises(DataError, match=r"^source: the columns of .* fit no known source"):
        load_bars("A", root=tmp_path)


def test_vendor_limit_prices_and_st_flags_become_market_data_in_every_frame_kind(
    backend: str,
) -> None:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    frame = pd.DataFrame(
        {
            "ts_code": ["300750.SZ"] * 2 + ["600000.SH"] * 2,
            "trade_date": [20240104, 20240103] * 2,
            "open": [10.5, 10.2, 8.1, 8.2],
            "high": [10.6, 10.3, 8.2, 8.3],
            "low": [10.4, 10.1, 8.0, 8.1],
            "close": [10.5, 10.2, 8.1, 8.2],
            "vol": [10.0] * 4,
            "amount": [1.0] * 4,
            "up_limit": [12.24, 12.0, 8.1, 8.91],
            "down_limit": [8.16, 8.0, 7.38, 7.29],
            "is_st": [False, False, True, False],
        }
    )
    for table in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame)):
        bars = Bars.from_dataframe(table)
        assert bars.symbols == ("300750.SZ", "600000.SH")
        np.testing.assert_array_equal(bars.up_limit, [[12.0, 8.91], [12.24, 8.1]])
        np.testing.assert_array_equal(bars.down_limit, [[8.0, 7.29], [8.16, 7.38]])
        np.testing.assert_array_equal(bars.st, [[False, False], [False, True]])
    # The vendor's limit is the truth: 600000.SH's limit-up is 8.10 on the second day, so a buy
    # at its open of 8.10 does not fill, where the 10 % rule (9.02) would have let it.
    plan = {0: [("600000.SH", "buy", 100.0), ("300750.SZ", "buy", 100.0)]}
    result = Engine(backend=backend, market="cn_a").run(bars, Orders(plan))
    assert [(f.symbol, f.price) for f in result.fills] == [("300750.SZ", 10.5)]


def test_load_bars_carries_vendor_limits_of_each_file_into_one_panel(tmp_path: Path) -> None:
    header = "ts_code,trade_date,open,high,low,close,vol,amount,up_limit,down_limit\n"
    (tmp_path / "600000.SH.csv").write_text(
        header + "600000.SH,20240103,8.2,8.3,8.1,8.2,10,1,8.91,7.29\n"
    )
    (tmp_path / "300750.SZ.csv").write_text(
        header + "300750.SZ,20240104,10.5,10.6,10.4,10.5,10,1,12.24,8.16\n"
    )
    bars = load_bars(["600000.SH", "300750.SZ"], root=tmp_path)
    np.testing.assert_array_equal(bars.up_limit, [[8.91, np.nan], [np.nan, 12.24]])


def test_a_hive_folder_whose_files_repeat_the_partition_key_loads(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for code in ("600000.SH", "000001.SZ"):
        part = tmp_path / f"symbol={code}"
        part.mkdir()
        days = np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[ns]")
        columns = {f: [10.0, 10.5] for f in ("open", "high", "low", "close")}
        table = pa.table({"symbol": [code] * 2, "date": days, **columns, "volume": [1.0, 2.0]})
        pq.write_table(table, part / "part-0.parquet")
    bars = load_bars(["000001.SZ"], root=tmp_path)
    assert bars.symbols == ("000001.SZ",)
    np.testing.assert_array_equal(bars.close[:, 0], [10.0, 10.5])
