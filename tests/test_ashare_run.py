"""A new user's A-share run, end to end: a folder of tushare (or akshare, or Parquet) files
loaded in one call, run under ``market="cn_a"``: a ChiNext stock moves 19 % and fills, a
main-board stock at +10 % does not, the stamp duty follows the trade date, and a dividend is
credited on its ex-date, the same on both backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from quanta_ref import Engine, OrderStatus, Strategy, data
from quanta_ref.api import Context
from quanta_ref.events import BarEvent

DATES = ["20230823", "20230824", "20230825", "20230828", "20230829"]
# Each bar is flat at its price (open = high = low = close).
PRICES = {
    "000001.SZ": [10.0, 10.0, 10.1, 10.1, 10.1],  # main board, Shenzhen
    "300750.SZ": [10.0, 10.0, 11.9, 11.5, 11.5],  # ChiNext: +19 % on 08-25
    "600000.SH": [10.0, 10.0, 11.0, 11.05, 10.6],  # main board: +10 % (limit-up) on 08-25
}


def write_tushare(folder: Path) -> None:
    """One long CSV as tushare's pro.daily exports it: newest first, vol in lots."""
    lines = ["ts_code,trade_date,open,high,low,close,pre_close,change,pct_chg,vol,amount"]
    for i in reversed(range(len(DATES))):
        for symbol, prices in PRICES.items():
            p = prices[i]
            lines.append(f"{symbol},{DATES[i]},{p},{p},{p},{p},{p},0,0,5000,{p * 500}")
    (folder / "daily.csv").write_text("\n".join(lines) + "\n")


def write_dividends(path: Path) -> None:
    """tushare's dividend table: only the row in force (实施) with an ex-date applies."""
    path.write_text(
        "ts_code,end_date,div_proc,stk_div,cash_div_tax,ex_date\n"
        "600000.SH,20221231,实施,0,0.5,20230829\n"
        "000001.SZ,20221231,预案,0,0.3,\n"
    )


def write_akshare(folder: Path) -> None:
    """One GBK CSV per symbol as akshare's stock_zh_a_hist writes it (Chinese headers)."""
    for symbol, prices in PRICES.items():
        lines = ["日期,股票代码,开盘,收盘,最高,最低,成交量,成交额"]
        for date, p in zip(DATES, prices, strict=True):
            day = f"{date[:4]}-{date[4:6]}-{date[6:]}"
            lines.append(f"{day},{symbol[:6]},{p},{p},{p},{p},5000,{p * 500000}")
        (folder / f"{symbol}.csv").write_bytes(("\n".join(lines) + "\n").encode("gbk"))


def write_hive(folder: Path) -> None:
    """symbol=<code>/part-0.parquet folders, quanta's own columns (volume in shares)."""
    for symbol, prices in PRICES.items():
        part = folder / f"symbol={symbol}"
        part.mkdir()
        days = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in DATES], dtype="datetime64[ns]")
        table = pa.table(
            {"date": days, **{f: prices for f in ("open", "high", "low", "close")}}
            | {"volume": [500_000.0] * len(DATES)}
        )
        pq.write_table(table, part / "part-0.parquet")


class Script(Strategy):
    """Buy 000001.SZ, then sell it and buy the two others, then sell 300750.SZ."""

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        if bar.symbol != "000001.SZ":
            return
        if ctx.bar_index == 0:
            ctx.submit_order("000001.SZ", "buy", 1000)
        elif ctx.bar_index == 1:
            ctx.submit_order("000001.SZ", "sell", 1000)
            ctx.submit_order("300750.SZ", "buy", 1000)
            ctx.submit_order("600000.SH", "buy", 1000)
        elif ctx.bar_index == 2:
            ctx.submit_order("300750.SZ", "sell", 1000)


@pytest.mark.parametrize("layout", ["tushare", "akshare", "hive"])
def test_a_vendor_folder_runs_the_a_share_market_as_it_is(
    backend: str, tmp_path: Path, layout: str
) -> None:
    folder = tmp_path / layout
    folder.mkdir()
    {"tushare": write_tushare, "akshare": write_akshare, "hive": write_hive}[layout](folder)
    write_dividends(tmp_path / "dividend.csv")
    bars = data.load_bars(root=folder)  # one call, every symbol of the folder
    assert sorted(bars.symbols) == sorted(PRICES)
    bars = bars.with_market(actions=data.load_actions(tmp_path / "dividend.csv"))
    engine = Engine(backend=backend, market="cn_a", commission_rate=0.00025)
    result = engine.run(bars, Script())

    fills = [(f.symbol, f.side.value, f.price, f.commission, f.tax) for f in result.fills]
    assert fills == [
        # 08-24: bought; a buy pays the transfer fee (0.001 % since 2022-04-29) only.
        ("000001.SZ", "buy", 10.0, 5.0, 10000.0 * 0.0 + 10000.0 * 0.00001),
        # 08-25: stamp duty 0.1 % on the sell, the rate before 2023-08-28.
        ("000001.SZ", "sell", 10.1, 5.0, 10100.0 * 0.001 + 10100.0 * 0.00001),
        # 08-25: ChiNext +19 % is inside its 20 % band: filled.
        ("300750.SZ", "buy", 11.9, 5.0, 11900.0 * 0.0 + 11900.0 * 0.00001),
        # 08-28: 600000.SH, at its limit-up of 11.00 on 08-25, fills the next day.
        ("600000.SH", "buy", 11.05, 5.0, 11050.0 * 0.0 + 11050.0 * 0.00001),
        # 08-28: stamp duty 0.05 % from this date.
        ("300750.SZ", "sell", 11.5, 5.0, 11500.0 * 0.0005 + 11500.0 * 0.00001),
    ]
    assert [f.timestamp for f in result.fills] == [int(bars.timestamps[i]) for i in (1, 2, 2, 3, 3)]
    assert all(o.status is OrderStatus.FILLED for o in result.orders)
    # 08-29: the 0.50 dividend of 600000.SH on the 1000 shares held, credited on its ex-date.
    (record,) = result.corporate_actions
    assert (record.symbol, record.quantity_before, record.cash, record.tax) == (
        "600000.SH",
        1000.0,
        500.0,
        0.0,
    )
    assert result.cash[4] == result.cash[3] + 500.0
