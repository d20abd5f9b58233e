"""Corporate actions: cash dividends, bonus shares and splits, applied during the run.

A backtest on back-adjusted prices reads the future: today's adjusted price depends on the
dividends paid after today. quanta instead runs on the prices as they were traded and applies
each action on its ex-date, to the account, as the exchange does (docs/semantics.md,
"Corporate actions"). This module holds the table of actions (`CorporateActions`), its
readers for the usual vendor layouts, and `schedule`, which says at which row of a panel each
action applies; both engines read that schedule, so they apply the same actions in the same
order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from quanta_ref.bars import NS_PER_DAY, Bars, column_times, format_timestamp
from quanta_ref.errors import DataError

#: The column layouts `CorporateActions.from_dataframe` reads, and the columns each needs.
SOURCES: dict[str, tuple[str, ...]] = {
    # quanta's own: one row per action, amounts per share held.
    "quanta": ("symbol", "ex_date"),
    # tushare `pro.dividend(ts_code=...)`: per share held; one row per stage of the plan.
    "tushare": ("ts_code", "ex_date", "cash_div_tax", "stk_div", "div_proc"),
    # akshare `stock_history_dividend_detail(symbol=..., indicator="分红")`: per 10 shares.
    "akshare": ("除权除息日", "送股", "转增", "派息", "进度"),
}

#: The stage of a dividend plan that is carried out (tushare's div_proc, akshare's 进度).
IMPLEMENTED = "实施"


class CorporateActions:
    """A validated, read-only table of corporate actions, one row per (symbol, ex-date).

    Attributes (read-only numpy arrays of one length, sorted by ex-date then symbol):

    - `symbol` (tuple of str): the symbol of each action;
    - `ex_date` (int64 ns, midnight): the ex-date, the first day the shares trade without
      the dividend or the bonus;
    - `cash` (float64, finite >= 0): the cash dividend per share held, before tax;
    - `shares` (float64, finite > -1): new shares per share held: a bonus of 3 shares per
      10 (10送3) is 0.3, a 2-for-1 split 1.0, a 1-for-10 reverse split -0.9.

    Build it from columns (``CorporateActions(symbol, ex_date, cash, shares)``) or from a
    frame (`from_dataframe`, `quanta_ref.data.load_actions`). Bad values are a `DataError`
    naming the field, the symbol and the row; so are two actions of one symbol on one date.
    """

    __slots__ = ("symbol", "ex_date", "cash", "shares")
    symbol: tuple[str, ...]
    ex_date: np.ndarray
    cash: np.ndarray
    shares: np.ndarray

    def __init__(self, symbol: Any, ex_date: Any, cash: Any = None, shares: Any = None) -> None:
        """Check and store the columns (a missing `cash` or `shares` column is 0)."""
        symbols = _symbols(symbol)
        k = len(symbols)
        dates = column_times(
            np.asarray(ex_date) if k else np.zeros(0, np.int64),
            "ex_date",
            None,
            lambda i: f"symbol {symbols[i]!r}, row {i}" if i < k else f"row {i}",
        )
        cash_ = _amounts("cash", cash, k)
        shares_ = _amounts("shares", shares, k)
        if len(dates) != k:
            raise DataError(f"ex_date: {len(dates)} values for {k} symbols")
        for i in range(k):
            where = f"symbol {symbols[i]!r}, row {i}"
            if dates[i] % NS_PER_DAY != 0:
                raise DataError(
                    f"ex_date: {format_timestamp(int(dates[i]))} is not a date (it has a time "
                    f"of day) ({where})"
                )
            if not (math.isfinite(cash_[i]) and cash_[i] >= 0.0):
                raise DataError(
                    f"cash: must be a finite number >= 0, got {float(cash_[i])!r} ({where})"
                )
            if not (math.isfinite(shares_[i]) and shares_[i] > -1.0):
                raise DataError(
                    f"shares: must be a finite number > -1 (new shares per share held), got "
                    f"{float(shares_[i])!r} ({where})"
                )
        # A row repeated exactly is one event given twice (vendors re-announce): kept once.
        # Two different rows of one symbol and date are refused: which is meant is unknown.
        seen: dict[tuple[str, int], int] = {}
        kept: list[int] = []
        for i in range(k):
            key = (symbols[i], int(dates[i]))
            if key in seen:
                j = seen[key]
                if cash_[i] == cash_[j] and shares_[i] == shares_[j]:
                    continue
                raise DataError(
                    f"ex_date: two different actions of symbol {symbols[i]!r} on "
                    f"{format_timestamp(key[1])[:10]} (rows {j} and {i}); if they are two "
                    "events of one date, combine them into one row (add the cash, and the "
                    "shares as (1 + a) x (1 + b) - 1); if one is a correction, keep that one"
                )
            seen[key] = i
            kept.append(i)
        symbols = [symbols[i] for i in kept]
        dates, cash_, shares_ = (np.asarray(a)[kept] for a in (dates, cash_, shares_))
        order = np.lexsort((np.array(symbols, dtype=str), dates)) if kept else np.zeros(0, np.int64)
        setattr_ = object.__setattr__
        setattr_(self, "symbol", tuple(symbols[i] for i in order))
        for name, values, dtype in (
            ("ex_date", dates, np.int64),
            ("cash", cash_, np.float64),
            ("shares", shares_, np.float64),
        ):
            column = np.ascontiguousarray(np.asarray(values, dtype=dtype)[order])
            column.flags.writeable = False
            setattr_(self, name, column)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"CorporateActions is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"CorporateActions is read-only: cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickling goes through the constructor, so it checks again.
        dates = self.ex_date.astype("datetime64[ns]")
        return (CorporateActions, (self.symbol, dates, self.cash.copy(), self.shares.copy()))

    def __len__(self) -> int:
        return len(self.symbol)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CorporateActions):
            return NotImplemented
        return (
            self.symbol == other.symbol
            and np.array_equal(self.ex_date, other.ex_date)
            and np.array_equal(self.cash, other.cash)
            and np.array_equal(self.shares, other.shares)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CorporateActions({len(self)} actions, {len(set(self.symbol))} symbols)"

    def to_dataframe(self) -> Any:
        """The table as a pandas DataFrame (symbol, ex_date as datetime64, cash, shares)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "symbol": list(self.symbol),
                "ex_date": self.ex_date.astype("datetime64[ns]"),
                "cash": self.cash,
                "shares": self.shares,
            }
        )

    def select(self, symbols: Any) -> CorporateActions:
        """The actions of `symbols` only."""
        wanted = set(symbols)
        keep = [i for i, s in enumerate(self.symbol) if s in wanted]
        return CorporateActions(
            [self.symbol[i] for i in keep],
            self.ex_date[keep].astype("datetime64[ns]"),
            self.cash[keep],
            self.shares[keep],
        )

    def joined(self, others: Sequence[CorporateActions]) -> CorporateActions:
        """One table of this one's actions and `others'`, an action found in several (the
        same symbol, ex-date, cash and shares: panels joined along time share their tables)
        once; two different actions of one symbol on one date are a DataError."""
        rows = dict.fromkeys(
            (s, int(d), float(c), float(k))
            for table in (self, *others)
            for s, d, c, k in zip(
                table.symbol,
                table.ex_date.tolist(),
                table.cash.tolist(),
                table.shares.tolist(),
                strict=True,
            )
        )
        symbol, ex_date, cash, shares = zip(*rows, strict=True) if rows else ((), (), (), ())
        return CorporateActions(
            list(symbol),
            np.array(ex_date, dtype=np.int64).astype("datetime64[ns]"),
            np.array(cash, dtype=np.float64),
            np.array(shares, dtype=np.float64),
        )

    def rows(self, timestamps: np.ndarray) -> np.ndarray:
        """The row of a panel with these int64 `timestamps` at which each action applies: the
        first row whose trading day is on or after its ex-date (a day before the first row:
        0; after the last: ``len(timestamps)``, never)."""
        days = timestamps // NS_PER_DAY  # floor: a day before 1970 is negative
        return np.searchsorted(days, self.ex_date // NS_PER_DAY, "left").astype(np.int64)

    def aligned_to(self, symbols: tuple[str, ...]) -> CorporateActions:
        """This table, checked against a panel's `symbols`: an action of a symbol the panel
        does not have is a `DataError` naming those symbols (what `Bars.with_market` calls)."""
        unknown = sorted(set(self.symbol) - set(symbols))
        if unknown:
            raise DataError(
                f"actions: symbols {unknown} are not in the panel, which has {list(symbols)}; "
                "select the actions of the panel's symbols"
            )
        return self

    # ---------------------------------------------------------------- readers
    @classmethod
    def from_dataframe(
        cls, df: Any, source: str = "auto", *, symbol: str | None = None
    ) -> CorporateActions:
        """Read a frame of actions in one of the layouts of `SOURCES`.

        Parameters
        ----------
        df : pandas.DataFrame, or a polars DataFrame / pyarrow Table (converted to pandas)
        source : {"auto", "quanta", "tushare", "akshare"}
            "auto" recognises the layout by its columns (a `DataError` when none or several
            fit). "quanta": ``symbol, ex_date, cash, shares`` (per share held; a missing
            cash or shares column is 0). "tushare" (``pro.dividend``): ``ts_code, ex_date,
            cash_div_tax`` (cash per share before tax), ``stk_div`` (shares per share) and
            ``div_proc``: only the rows whose ``div_proc`` is 实施 (carried out) and that
            have an ex-date are read, the other stages of a plan (预案, 股东大会通过) are
            not actions. "akshare" (``stock_history_dividend_detail(indicator="分红")``):
            ``除权除息日``, ``送股`` and ``转增`` (shares per 10 held), ``派息`` (cash per 10
            before tax), ``进度`` (only 实施 rows with an ex-date are read); amounts are
            divided by 10. akshare's frame has no symbol column: pass ``symbol=``.
            Vendors leave blank amounts for "none": in their layouts a blank is 0.
        symbol : the symbol of every row, for a frame without a symbol column
        """
        frame = _as_pandas(df)
        columns = [str(c) for c in frame.columns]
        frame.columns = columns
        if not isinstance(source, str) or source not in ("auto", *SOURCES):
            raise DataError(f"source: {source!r} is not one of {['auto', *SOURCES]}")
        if source == "auto":
            source = _detect(columns)
        if symbol is not None and (not isinstance(symbol, str) or not symbol):
            raise DataError(f"symbol: expected a non-empty string, got {symbol!r}")
        if source == "quanta":
            name = "symbol"
            _require(columns, ("ex_date",) + (() if symbol is not None else ("symbol",)), source)
            if "cash" not in columns and "shares" not in columns:
                _require(columns, ("cash", "shares"), source)
            cash = frame["cash"].to_numpy() if "cash" in columns else None
            shares = frame["shares"].to_numpy() if "shares" in columns else None
            date_column = "ex_date"
        elif source == "tushare":
            name = "ts_code"
            need = [c for c in SOURCES["tushare"] if not (c == "ts_code" and symbol is not None)]
            _require(columns, tuple(need), source)
            done = (frame["div_proc"].astype(str) == IMPLEMENTED) & frame["ex_date"].notna()
            frame = frame[done.to_numpy()]
            cash = _blank_zero("cash_div_tax", frame["cash_div_tax"].to_numpy())
            shares = _blank_zero("stk_div", frame["stk_div"].to_numpy())
            date_column = "ex_date"
        else:
            name = ""
            pay = _akshare_cash_column(columns)
            need = ["除权除息日", "送股", "转增", pay, "进度"]
            _require(columns, tuple(need), source)
            done = (frame["进度"].astype(str) == IMPLEMENTED) & frame["除权除息日"].notna()
            frame = frame[done.to_numpy()]
            bonus = _blank_zero("送股", frame["送股"].to_numpy())
            converted = _blank_zero("转增", frame["转增"].to_numpy())
            cash = _blank_zero(pay, frame[pay].to_numpy()) / 10.0
            shares = (bonus + converted) / 10.0
            date_column = "除权除息日"
            for key in ("symbol", "代码", "股票代码"):
                if key in columns:
                    name = key
        if symbol is not None and name in columns:
            raise DataError(
                f"symbol: the frame has a {name!r} column and symbol={symbol!r} was given; "
                "which one is meant? Drop one"
            )
        if symbol is None and name not in columns:
            raise DataError(
                f"symbol: the {source} frame has no symbol column; pass symbol=... (columns: "
                f"{columns})"
            )
        n = len(frame)
        symbols = [symbol] * n if symbol is not None else frame[name].tolist()
        dates = frame[date_column]
        if dates.dtype.kind == "f" and (dates == dates.round()).all():
            dates = dates.astype(np.int64)  # YYYYMMDD integers, floats after a blank cell
        dates = column_times(dates, "ex_date", None)
        return cls(symbols, dates.astype("datetime64[ns]"), cash, shares)


def _as_pandas(df: Any) -> Any:
    """A pandas DataFrame of `df` (polars and pyarrow frames are converted)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is an extra
        raise ImportError(
            "reading corporate actions from a frame needs pandas: pip install quanta[pandas]"
        ) from None
    if isinstance(df, pd.DataFrame):
        return df.reset_index(drop=True).copy()
    if hasattr(df, "to_pandas"):  # polars DataFrame, pyarrow Table
        return df.to_pandas().reset_index(drop=True)
    raise DataError(f"df: expected a pandas or polars DataFrame, got {type(df).__name__}")


def _akshare_cash_column(columns: list[str]) -> str:
    """akshare's cash column: 派息, or a spelling with its unit (派息(税前)(元))."""
    for column in columns:
        if column.startswith("派息"):
            return column
    return "派息"


def _detect(columns: list[str]) -> str:
    """The layout whose marker columns the frame has; DataError when none or several do."""
    markers = {
        "quanta": {"ex_date", "symbol"} <= set(columns) and bool({"cash", "shares"} & set(columns)),
        "tushare": "div_proc" in columns or "cash_div_tax" in columns or "stk_div" in columns,
        "akshare": "除权除息日" in columns,
    }
    found = [name for name, fits in markers.items() if fits]
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(
            f"source: cannot tell the layout of the actions from the columns {columns}; name "
            f"it with source= (one of {list(SOURCES)}): quanta needs symbol, ex_date, cash, "
            "shares"
        )
    raise DataError(f"source: the columns {columns} fit several layouts {found}; name one")


def _require(columns: list[str], needed: tuple[str, ...], source: str) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(
            f"{missing[0]}: missing column{'s' if len(missing) > 1 else ''} {missing} for "
            f"source {source!r}; the frame has {columns}"
        )


def _blank_zero(field: str, values: Any) -> np.ndarray:
    """A vendor's amount column as float64, blanks (None, NaN) as 0."""
    out = np.zeros(len(values))
    for i, value in enumerate(values.tolist() if hasattr(values, "tolist") else values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out[i] = _number(field, value, i)
    return out


def _number(field: str, value: Any, row: int) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        try:
            import decimal

            if isinstance(value, decimal.Decimal):
                return float(value)
        except ImportError:  # pragma: no cover
            pass
        raise DataError(f"{field}: expected a number, got {value!r} (row {row})")
    return float(value)


def _amounts(field: str, values: Any, k: int) -> np.ndarray:
    """A column of amounts per share as float64 (None: zeros)."""
    if values is None:
        return np.zeros(k)
    items = list(values.tolist() if hasattr(values, "tolist") else values)
    if len(items) != k:
        raise DataError(f"{field}: {len(items)} values for {k} symbols")
    out = np.empty(k)
    for i, value in enumerate(items):
        out[i] = _number(field, value, i) if value is not None else math.nan
    return out


def _symbols(symbol: Any) -> list[str]:
    items = list(symbol.tolist() if hasattr(symbol, "tolist") else symbol)
    out = []
    for i, s in enumerate(items):
        if s is None or (isinstance(s, float) and math.isnan(s)):
            raise DataError(f"symbol: missing symbol (row {i})")
        text = str(s)
        if not text:
            raise DataError(f"symbol: empty symbol (row {i})")
        out.append(text)
    return out


# ==================================================================== when actions apply
@dataclass(frozen=True)
class ActionSchedule:
    """The actions of a run in application order: action k applies to symbol column
    `column[k]` at the new-day step of row `row[k]` (docs/semantics.md, "Corporate
    actions"). int64 `row`, `column`; float64 `cash`, `shares`."""

    row: np.ndarray
    column: np.ndarray
    cash: np.ndarray
    shares: np.ndarray

    def __len__(self) -> int:
        return len(self.row)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, cash, shares), what the native engine takes."""
        return self.row, self.column, self.cash, self.shares


def schedule(bars: Bars) -> ActionSchedule | None:
    """When each action of `bars.actions` applies in a run over `bars`, or None (no action
    falls in the run).

    An action applies at the first row whose trading day is on or after its ex-date: on the
    ex-date itself when it is a trading day of the panel, else at the next one (an ex-date on
    a holiday, or before the first row: row 0); an action after the last row never applies.
    Order: by ex-date, then panel column.
    """
    table = bars.actions
    if table is None or len(table) == 0:
        return None
    rows = table.rows(bars.timestamps)
    columns = np.array([bars.symbol_index(s) for s in table.symbol], dtype=np.int64)
    keep = rows < bars.n_bars
    if not keep.any():
        return None
    order = np.lexsort((columns[keep], table.ex_date[keep]))
    plan = ActionSchedule(
        row=np.ascontiguousarray(rows[keep][order]),
        column=np.ascontiguousarray(columns[keep][order]),
        cash=np.ascontiguousarray(table.cash[keep][order]),
        shares=np.ascontiguousarray(table.shares[keep][order]),
    )
    _check_ex_rights(bars, plan)
    return plan


def _check_ex_rights(bars: Bars, plan: ActionSchedule) -> None:
    """Refuse a dividend that is not below the price it is paid out of: the ex-rights price
    (previous close - cash) / (1 + shares) must stay > 0. Such a dividend is nearly always one
    given per 10 shares where quanta reads per share (akshare's tables are per 10)."""
    adjusted: dict[tuple[int, int], float] = {}  # (column, row of the close) -> moved price
    present = ~np.isnan(bars.close)
    for r, c, cash, shares in zip(*(a.tolist() for a in plan.arrays()), strict=True):
        closes = np.flatnonzero(present[:r, c])
        if len(closes) == 0:
            continue  # no price yet: nothing is held, nothing to move
        key = (c, int(closes[-1]))
        price = adjusted.get(key, float(bars.close[key[1], c]))
        moved = ex_rights_price(price, cash, shares)
        if not moved > 0.0:
            raise DataError(
                f"cash: the dividend {cash!r} of symbol {bars.symbols[c]!r} on "
                f"{format_timestamp(int(bars.timestamps[r]))[:10]} is not below its previous "
                f"close {price!r}: the ex-rights price would be {moved!r}; cash is per share "
                "held (akshare's dividend tables are per 10 shares)"
            )
        adjusted[key] = moved


def ex_rights_price(price: float, cash: float, shares: float) -> float:
    """The exchange's ex-rights reference price of a share that closed at `price`:
    (price - cash) / (1 + shares). The engines value a holding at it from the ex-date until
    the symbol's next close, and the daily price limits of the ex-date are set around it."""
    return (price - cash) / (1.0 + shares)


def reference_closes(
    bars: Bars, rounded: Callable[[np.ndarray, int], np.ndarray] | None = None
) -> np.ndarray:
    """The reference price of each bar's daily price limits, (T, N) float64: the symbol's
    last close on an earlier trading day, moved to its ex-rights price by every action
    applied since (`ex_rights_price`, in `schedule` order), NaN before the symbol's first
    close. This is the price the engines hold as the symbol's last price when its first bar
    of the day opens; a limit computation in shared Python uses it in place of the plain
    previous close. `rounded(prices, column)` rounds ex-rights prices of a column (the
    exchange's reference price is on the tick)."""
    t, n = bars.close.shape
    days = bars.timestamps // NS_PER_DAY
    # The first row of each row's trading day, and the last close before it, per column.
    starts = np.searchsorted(days, days, "left")
    rows = np.arange(t)
    present = ~np.isnan(bars.close)
    last_row = np.where(present, rows[:, None], -1)
    last_row = np.maximum.accumulate(last_row, axis=0)  # last row with a close, up to r
    before = np.where(starts[:, None] > 0, last_row[np.maximum(starts - 1, 0)], -1)
    out = np.where(before >= 0, bars.close[np.maximum(before, 0), np.arange(n)], np.nan)
    plan = schedule(bars)
    if plan is not None:
        for r, c, cash, shares in zip(*(a.tolist() for a in plan.arrays()), strict=True):
            # Bars from row r on whose reference close was made before the action.
            hit = (rows >= r) & (before[:, c] < r)
            moved = (out[hit, c] - cash) / (1.0 + shares)
            out[hit, c] = moved if rounded is None else rounded(moved, c)
    return out
