"""A-share daily bars as the vendors write them, for the loading tests.

The prices are SYNTHETIC: a seeded random walk, not market data (no A-share price set with a
public-domain or permissive licence is published as a package). Everything else is as the
real files are: the codes of four boards (600519.SH main board Shanghai, 000001.SZ main
board Shenzhen, 300750.SZ ChiNext, 688981.SH STAR, listed on 2020-07-16), business days
2020-06-01 .. 2023-12-29 with suspensions (days without a row), prices on the 0.01 tick
within the daily limit of the board (10%; 20% on ChiNext from 2020-08-24 and on STAR), and
volumes in lots of 100 shares. `bars()` gives the true values to compare a loaded panel with.

Writers (each returns the folder or file it wrote):

* `write_tushare`: one long CSV of every symbol, newest first, as ``pro.daily`` exports a
  date range (UTF-8), ``vol`` in lots, ``amount`` in thousands of CNY;
* `write_akshare`: one CSV per symbol as ``stock_zh_a_hist`` (Chinese headers), in GBK or
  UTF-8 with a byte-order mark; the code of 000001.SZ is written as the number 1, as a
  spreadsheet would;
* `write_yfinance`: one CSV per symbol, ``Date`` with the +08:00 offset yfinance writes;
* `write_hive`: ``symbol=<code>/part-<year>.parquet`` folders, quanta's columns.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

SYMBOLS = ("600519.SH", "000001.SZ", "300750.SZ", "688981.SH")
FIRST_PRICE = {"600519.SH": 1420.0, "000001.SZ": 12.9, "300750.SZ": 150.2, "688981.SH": 82.0}
LISTED = {"688981.SH": np.datetime64("2020-07-16")}
DAYS = np.arange(np.datetime64("2020-06-01"), np.datetime64("2023-12-30"))
DAYS = DAYS[np.is_busday(DAYS)]
TICK = 0.01


def _limit(symbol: str, day: np.datetime64) -> float:
    if symbol.startswith("688") or (
        symbol.startswith("300") and day >= np.datetime64("2020-08-24")
    ):
        return 0.2
    return 0.1


def _ticks(x: np.ndarray | float) -> np.ndarray:
    return np.round(np.asarray(x) / TICK) * TICK


def bars(seed: int = 7) -> dict[str, dict[str, np.ndarray]]:
    """Per symbol: ``date`` (datetime64[D]), ``open``, ``high``, ``low``, ``close`` (CNY),
    ``pre_close`` and ``vol`` (lots of 100 shares), only the days with a bar."""
    rng = np.random.default_rng(seed)
    out = {}
    for symbol in SYMBOLS:
        days = DAYS[DAYS >= LISTED.get(symbol, DAYS[0])]
        suspended = rng.random(len(days)) < 0.01  # about 1 day in 100 without a bar
        days = days[~suspended]
        rows: dict[str, list[float]] = {k: [] for k in ("open", "high", "low", "close", "pre")}
        close = FIRST_PRICE[symbol]
        for day in days:
            limit = _limit(symbol, day)
            up, down = _ticks(close * (1 + limit)), _ticks(close * (1 - limit))
            o = float(np.clip(_ticks(close * np.exp(rng.normal(0, 0.006))), down, up))
            c = float(np.clip(_ticks(o * np.exp(rng.normal(0, 0.018))), down, up))
            h = float(np.clip(_ticks(max(o, c) * (1 + abs(rng.normal(0, 0.008)))), max(o, c), up))
            lo = float(
                np.clip(_ticks(min(o, c) * (1 - abs(rng.normal(0, 0.008)))), down, min(o, c))
            )
            for key, value in zip(rows, (o, h, lo, c, close), strict=True):
                rows[key].append(round(value, 2))
            close = c
        out[symbol] = {
            "date": days,
            **{k: np.array(v) for k, v in rows.items() if k != "pre"},
            "pre_close": np.array(rows["pre"]),
            "vol": np.round(rng.lognormal(np.log(2e5), 0.4, len(days))),
        }
    return out


def _price(x: float) -> str:
    return f"{x:.2f}"


def write_tushare(folder: Path) -> Path:
    """``daily_20200601_20231229.csv``: every symbol, newest day first, as pro.daily."""
    path = folder / "daily_20200601_20231229.csv"
    data = bars()
    rows = []
    for symbol, b in data.items():
        for i, day in enumerate(b["date"]):
            o, h, lo, c, pre = (b[k][i] for k in ("open", "high", "low", "close", "pre_close"))
            vol = b["vol"][i]
            rows.append(
                [
                    symbol,
                    str(day).replace("-", ""),
                    *map(_price, (o, h, lo, c, pre)),
                    _price(c - pre),
                    f"{(c / pre - 1) * 100:.4f}",
                    f"{vol:.2f}",
                    f"{vol * 100 * (o + c) / 2 / 1000:.3f}",  # thousands of CNY
                ]
            )
    rows.sort(key=lambda r: (r[1], r[0]), reverse=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "ts_code",
                "trade_date",
                "open",
                "high",
                "low",
                "close",
                "pre_close",
                "change",
                "pct_chg",
                "vol",
                "amount",
            ]
        )
        writer.writerows(rows)
    return path


def write_akshare(folder: Path, encoding: str = "gbk") -> Path:
    """``{symbol}.csv`` per symbol with stock_zh_a_hist's columns, in `encoding`."""
    header = ["日期", "股票代码", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "振幅"]
    header += ["涨跌幅", "涨跌额", "换手率"]
    for symbol, b in bars().items():
        code = symbol.split(".")[0]
        code = str(int(code)) if symbol == "000001.SZ" else code  # zeros lost, as in Excel
        with open(folder / f"{symbol}.csv", "w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for i, day in enumerate(b["date"]):
                o, h, lo, c, pre = (b[k][i] for k in ("open", "high", "low", "close", "pre_close"))
                vol = int(b["vol"][i])
                writer.writerow(
                    [
                        str(day),
                        code,
                        *map(_price, (o, c, h, lo)),
                        vol,
                        f"{vol * 100 * (o + c) / 2:.1f}",
                        f"{(h - lo) / pre * 100:.2f}",
                        f"{(c / pre - 1) * 100:.2f}",
                        _price(c - pre),
                        "0.35",
                    ]
                )
    return folder


def write_yfinance(folder: Path) -> Path:
    """``{symbol}.csv`` per symbol as yfinance writes a history: zoned dates, shares."""
    for symbol, b in bars().items():
        with open(folder / f"{symbol}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"])
            for i, day in enumerate(b["date"]):
                o, h, lo, c = (b[k][i] for k in ("open", "high", "low", "close"))
                adjusted = c * 0.9  # a dividend-adjusted close: not read
                row = [f"{day} 00:00:00+08:00", *map(_price, (o, h, lo, c)), f"{adjusted:.6f}"]
                writer.writerow([*row, int(b["vol"][i]) * 100])
    return folder


def write_hive(folder: Path) -> Path:
    """``symbol=<code>/part-<year>.parquet``: quanta's columns, a date32 time column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for symbol, b in bars().items():
        part = folder / f"symbol={symbol}"
        part.mkdir(parents=True)
        years = b["date"].astype("datetime64[Y]")
        for year in np.unique(years):
            rows = years == year
            table = pa.table(
                {
                    "date": pa.array(b["date"][rows].astype("datetime64[D]"), pa.date32()),
                    **{k: b[k][rows] for k in ("open", "high", "low", "close")},
                    "volume": b["vol"][rows] * 100,
                }
            )
            pq.write_table(table, part / f"part-{year}.parquet")
    return folder
