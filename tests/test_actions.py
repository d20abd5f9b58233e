"""Corporate actions (docs/semantics.md, "Corporate actions"): the table and its readers, and
dividends, bonus shares and splits applied on the ex-date on both backends, hand-computed."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quanta_ref import ConfigError, DataError, Engine, Strategy, data
from quanta_ref.actions import CorporateActions, reference_closes, schedule
from quanta_ref.api import BacktestResult
from quanta_ref.bars import Bars
from quanta_ref.orders import CorporateActionRecord
from support import DAY, START, Script, bars_from_rows, run, same


def flat(price: float) -> tuple[float, ...]:
    return (price, price, price, price)


def ts(bar: int) -> int:
    return int(START) + bar * DAY


def day(bar: int) -> str:
    """The date of bar `bar` of `bars_from_rows` (one bar per calendar day from START)."""
    return str(np.datetime64(ts(bar), "ns").astype("datetime64[D]"))


def with_actions(bars: Bars, *rows: tuple[str, str, float, float]) -> Bars:
    """`bars` with actions (symbol, ex-date, cash, shares)."""
    symbols, dates, cash, shares = zip(*rows, strict=True)
    return bars.with_market(actions=CorporateActions(symbols, dates, cash, shares))


def hold(quantity: float, price: float, symbol: str = "X") -> Any:
    """An on_start action buying `quantity` at bar 0's open (limit `price` >= that open)."""
    return lambda ctx: ctx.buy(symbol, quantity, "limit", limit_price=price)


def statuses(result: BacktestResult) -> list[tuple[str, str | None]]:
    return [(o.status.value, o.reject_reason) for o in result.orders]


# =============================================================== cash dividends
def test_a_cash_dividend_is_credited_on_its_ex_date_less_the_dividend_tax(backend: str) -> None:
    bars = with_actions(
        bars_from_rows([flat(10.0), flat(10.0), flat(9.5), flat(9.5)]), ("X", day(2), 0.5, 0.0)
    )
    result = run(backend, bars, {-1: hold(1000, 10.0)}, dividend_tax_rate=0.1)
    # Bought 1000 at 10: cash 90_000. Bar 2: 1000 x 0.5 = 500 credited, 50 withheld.
    assert list(result.cash) == [90_000.0, 90_000.0, 90_450.0, 90_450.0]
    assert list(result.equity) == [100_000.0, 100_000.0, 99_950.0, 99_950.0]
    assert result.corporate_actions == [
        CorporateActionRecord(ts(2), "X", 1000.0, 1000.0, 500.0, 50.0)
    ]
    assert result.positions[0].quantity == 1000.0


def test_the_holding_is_valued_at_the_ex_rights_price_until_the_symbol_closes(
    backend: str,
) -> None:
    seen: list[float] = []
    bars = with_actions(bars_from_rows([flat(10.0), flat(9.0)]), ("X", day(1), 0.5, 0.0))
    script = Script({-1: hold(1000, 10.0)})
    script.on_order = lambda ctx, order: seen.append(ctx.equity)  # type: ignore[method-assign]
    bars = bars
    Engine(backend=backend, initial_cash=100_000.0).run(bars, script)
    # The fill at bar 0 sees 100_000; equity is continuous over the dividend: at the start
    # of bar 1 (no tax) cash 90_500 + 1000 x 9.5 = 100_000.
    assert seen[-1] == 100_000.0


def test_the_records_read_as_a_frame(backend: str) -> None:
    bars = with_actions(bars_from_rows([flat(10.0), flat(9.5)]), ("X", day(1), 0.5, 0.0))
    frame = run(backend, bars, {-1: hold(1000, 10.0)}).corporate_actions_frame()
    assert frame.to_dict("records") == [
        {
            "timestamp": pd.Timestamp(day(1)),
            "symbol": "X",
            "quantity_before": 1000.0,
            "quantity_after": 1000.0,
            "cash": 500.0,
            "tax": 0.0,
        }
    ]


def test_a_short_position_pays_the_dividend_without_tax(backend: str) -> None:
    bars = with_actions(bars_from_rows([flat(50.0), flat(49.0)]), ("X", day(1), 1.0, 0.0))
    sell = {-1: lambda ctx: ctx.sell("X", 100, "limit", limit_price=50.0)}
    result = run(backend, bars, sell, allow_short=True, dividend_tax_rate=0.2)
    assert list(result.cash) == [105_000.0, 104_900.0]  # pays 100 x 1
    assert list(result.equity) == [100_000.0, 100_000.0]  # 104_900 - 100 x 49
    assert result.corporate_actions == [
        CorporateActionRecord(ts(1), "X", -100.0, -100.0, -100.0, 0.0)
    ]


def test_an_action_on_a_flat_symbol_is_not_recorded_and_moves_only_its_last_price(
    backend: str,
) -> None:
    bars = with_actions(bars_from_rows([flat(10.0), flat(10.0)]), ("X", day(1), 0.5, 0.0))
    result = run(backend, bars)
    assert result.corporate_actions == []
    assert list(result.cash) == [100_000.0, 100_000.0]


# =============================================================== bonus shares and splits
def test_a_bonus_of_3_per_10_gives_1300_shares_at_the_cost_over_1_3_sellable_at_once(
    backend: str,
) -> None:
    bars = with_actions(
        bars_from_rows([flat(13.0), flat(10.0), flat(11.0)]), ("X", day(1), 0.0, 0.3)
    )
    actions = {-1: hold(1000, 13.0), 1: lambda ctx: ctx.sell("X", 1300)}
    # T+1 and fills at the close: the bonus shares sell on their ex-date, like the shares
    # bought the day before that they came from.
    result = run(backend, bars, actions, settlement="T+1", lot_size=100.0, fill_at="close")
    assert result.corporate_actions == [CorporateActionRecord(ts(1), "X", 1000.0, 1300.0, 0.0, 0.0)]
    sell = result.fills[-1]
    assert (sell.quantity, sell.price, sell.timestamp) == (1300.0, 10.0, ts(1))
    assert list(result.equity) == [100_000.0, 100_000.0, 100_000.0]
    trade = result.trades[0]
    # The lot: 1000 at 13 became 1300 at 13 / 1.3 = 10.
    assert (trade.quantity, trade.entry_price, trade.exit_price) == (1300.0, 10.0, 10.0)
    assert trade.pnl == 0.0


def test_a_bonus_scales_the_average_cost_and_a_later_trade_pays_from_the_new_cost(
    backend: str,
) -> None:
    bars = with_actions(
        bars_from_rows([flat(13.0), flat(10.0), flat(11.0)]), ("X", day(1), 0.0, 0.3)
    )
    result = run(backend, bars, {-1: hold(1000, 13.0), 1: lambda ctx: ctx.sell("X", 1300)})
    assert result.positions[0].quantity == 0.0
    (trade,) = result.trades
    assert (trade.quantity, trade.entry_price, trade.exit_price) == (1300.0, 10.0, 11.0)
    assert trade.pnl == 1300.0  # (11 - 10) x 1300
    assert result.positions[0].realized_pnl == 1300.0


def test_a_two_for_one_split_doubles_the_holding_and_halves_the_cost(backend: str) -> None:
    bars = with_actions(bars_from_rows([flat(50.0), flat(25.0)]), ("X", day(1), 0.0, 1.0))
    result = run(backend, bars, {-1: hold(100, 50.0)})
    position = result.positions[0]
    assert (position.quantity, position.average_cost) == (200.0, 25.0)
    assert list(result.equity) == [100_000.0, 100_000.0]


def test_a_reverse_split_drops_the_fraction_of_a_share(backend: str) -> None:
    # 1 for 10: 105 shares become 10.5, rounded toward zero to 10; no cash in lieu.
    bars = with_actions(bars_from_rows([flat(10.0), flat(100.0)]), ("X", day(1), 0.0, -0.9))
    result = run(backend, bars, {-1: hold(105, 10.0)})
    position = result.positions[0]
    assert position.quantity == 10.0
    assert position.average_cost == same(100.0)
    assert list(result.cash) == [98_950.0, 98_950.0]
    assert list(result.equity) == [100_000.0, 99_950.0]  # the half share is gone


def test_fractional_accounts_keep_the_fraction(backend: str) -> None:
    bars = with_actions(bars_from_rows([flat(10.0), flat(100.0)]), ("X", day(1), 0.0, -0.9))
    result = run(backend, bars, {-1: hold(105, 10.0)}, fractional=True)
    assert result.positions[0].quantity == 105 * (1 + -0.9)


# =============================================================== when an action applies
def test_an_ex_date_on_a_suspended_day_applies_at_that_row(backend: str) -> None:
    bars = with_actions(bars_from_rows([flat(10.0), None, flat(9.5)]), ("X", day(1), 0.5, 0.0))
    result = run(backend, bars, {-1: hold(1000, 10.0)})
    assert list(result.cash) == [90_000.0, 90_500.0, 90_500.0]
    # Row 1 has no bar: the holding is valued at the ex-rights price 9.5.
    assert list(result.equity) == [100_000.0, 100_000.0, 100_000.0]


def test_an_ex_date_on_a_non_trading_day_applies_at_the_next_trading_day(backend: str) -> None:
    stamps = np.array(["2024-01-05", "2024-01-08", "2024-01-09"], dtype="datetime64[ns]")
    prices = np.array([10.0, 9.5, 9.5])
    bars = Bars.from_arrays(stamps, prices, prices, prices, prices, np.full(3, 1e9))
    bars = with_actions(bars, ("X", "2024-01-06", 0.5, 0.0))  # a Saturday
    result = run(backend, bars, {-1: hold(1000, 10.0)})
    assert list(result.cash) == [90_000.0, 90_500.0, 90_500.0]
    assert result.corporate_actions[0].timestamp == int(stamps[1].astype(np.int64))


def test_actions_before_the_first_bar_apply_at_row_0_and_after_the_last_never() -> None:
    bars = with_actions(
        bars_from_rows([flat(10.0), flat(10.0)]),
        ("X", "2023-06-01", 0.5, 0.0),
        ("X", day(5), 0.1, 0.0),
    )
    plan = schedule(bars)
    assert plan is not None
    assert plan.row.tolist() == [0] and plan.cash.tolist() == [0.5]


def test_actions_apply_in_ex_date_then_column_order() -> None:
    rows = {"A": [flat(10.0)] * 3, "B": [flat(20.0)] * 3}
    bars = with_actions(
        bars_from_rows(rows),
        ("B", day(1), 1.0, 0.0),
        ("A", day(1), 2.0, 0.0),
        ("A", day(0), 3.0, 0),
    )
    plan = schedule(bars)
    assert plan is not None
    assert (plan.row.tolist(), plan.column.tolist()) == ([0, 1, 1], [0, 0, 1])
    assert plan.cash.tolist() == [3.0, 2.0, 1.0]


# =============================================================== live orders
def test_a_bonus_cancels_sized_orders_and_keeps_unsized_target_orders(backend: str) -> None:
    bars = with_actions(
        bars_from_rows([flat(13.0), flat(10.0), flat(10.0)]), ("X", day(1), 0.0, 0.3)
    )
    orders = {
        -1: hold(1000, 13.0),
        0: [
            lambda ctx: ctx.sell("X", 500, "limit", limit_price=20.0),
            lambda ctx: ctx.order_target_quantity("X", 1500),
        ],
    }
    result = run(backend, bars, orders)
    assert statuses(result) == [
        ("filled", None),
        ("cancelled", "corporate_action"),
        ("filled", None),
    ]
    assert result.fills[-1].quantity == 200.0  # 1300 held after the bonus, target 1500


def test_a_cash_dividend_leaves_live_orders_alone(backend: str) -> None:
    bars = with_actions(bars_from_rows([flat(10.0), flat(9.5)]), ("X", day(1), 0.5, 0.0))
    orders = {-1: hold(1000, 10.0), 0: lambda ctx: ctx.sell("X", 500, "limit", limit_price=20.0)}
    result = run(backend, bars, orders)
    assert statuses(result) == [("filled", None), ("pending", None)]


def test_the_ex_rights_price_is_the_reference_of_the_daily_price_limits() -> None:
    bars = with_actions(
        bars_from_rows([flat(13.0), flat(10.0), None, flat(10.0)]),
        ("X", day(1), 0.0, 0.3),
        ("X", day(2), 1.0, 0.0),
    )
    closes = reference_closes(bars)[:, 0]
    assert np.isnan(closes[0])
    assert closes[1:].tolist() == [13.0 / 1.3, 9.0, 9.0]  # row 2 has no bar: no limit


# =============================================================== the table and its readers
def test_the_table_is_sorted_read_only_and_pickles() -> None:
    table = CorporateActions(["B", "A"], ["2024-01-03", "2024-01-02"], [0.5, 0.0], [0.0, 0.3])
    assert table.symbol == ("A", "B")
    assert table.ex_date.tolist() == [ts(1), ts(2)]
    assert table.cash.tolist() == [0.0, 0.5] and table.shares.tolist() == [0.3, 0.0]
    with pytest.raises(ValueError):
        table.cash[0] = 1.0
    with pytest.raises(AttributeError):
        table.cash = np.zeros(2)  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(table)) == table


def test_panels_carry_their_actions_through_select_between_and_pickle() -> None:
    rows = {"A": [flat(10.0)] * 3, "B": [flat(20.0)] * 3}
    bars = with_actions(bars_from_rows(rows), ("A", day(1), 1.0, 0.0), ("B", day(2), 0.0, 1.0))
    assert bars.select(["B"]).actions.symbol == ("B",)
    assert len(bars.between(day(2)).actions) == 2
    assert pickle.loads(pickle.dumps(bars)).actions == bars.actions
    assert bars_from_rows(rows).actions is None


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (dict(symbol=["A"], ex_date=["2024-01-02"], cash=[-0.1], shares=[0.0]), "cash: must be"),
        (dict(symbol=["A"], ex_date=["2024-01-02"], cash=[0.1], shares=[-1.0]), "shares: must"),
        (dict(symbol=["A"], ex_date=["2024-01-02"], cash=[np.nan], shares=[0]), "cash: must"),
        (dict(symbol=["A"], ex_date=["2024-13-02"], cash=[0.1], shares=[0.0]), "ex_date: "),
        (dict(symbol=["A"], ex_date=["2024-01-02 10:00"], cash=[0.1], shares=[0]), "a date"),
        (
            dict(symbol=["A", "A"], ex_date=["2024-01-02"] * 2, cash=[0.1, 0.2], shares=[0, 0]),
            "combine them",
        ),
    ],
)
def test_bad_actions_are_refused_naming_field_symbol_and_row(
    columns: dict[str, Any], message: str
) -> None:
    with pytest.raises(DataError, match=message) as info:
        CorporateActions(**columns)
    assert "'A'" in str(info.value)


def test_actions_of_symbols_not_in_the_panel_are_refused() -> None:
    table = CorporateActions(["A", "Z"], ["2024-01-02"] * 2, [0.1, 0.1], [0.0, 0.0])
    with pytest.raises(DataError, match=r"\['Z'\] are not in the panel"):
        bars_from_rows({"A": [flat(1.0)]}).with_market(actions=table)
    with pytest.raises(DataError, match="expected a quanta_ref.actions.CorporateActions"):
        bars_from_rows({"A": [flat(1.0)]}).with_market(actions="x")


def test_the_dividend_tax_rate_is_a_fraction() -> None:
    with pytest.raises(ConfigError, match="dividend_tax_rate: must be >= 0.0 and <= 1.0"):
        Engine(dividend_tax_rate=1.5)


def test_a_tushare_frame_keeps_the_implemented_rows_with_an_ex_date() -> None:
    frame = pd.DataFrame(
        {
            "ts_code": ["600000.SH"] * 3,
            "end_date": ["20231231"] * 3,
            "div_proc": ["预案", "股东大会通过", "实施"],
            "stk_div": [0.3, 0.3, 0.3],
            "cash_div_tax": [0.5, 0.5, 0.5],
            "ex_date": [None, None, "20240603"],
        }
    )
    table = CorporateActions.from_dataframe(frame)
    assert table.symbol == ("600000.SH",)
    assert table.ex_date.tolist() == [int(np.datetime64("2024-06-03", "ns").astype(np.int64))]
    assert (table.cash.tolist(), table.shares.tolist()) == ([0.5], [0.3])


def test_an_akshare_frame_is_read_per_10_shares_with_the_symbol_given() -> None:
    frame = pd.DataFrame(
        {
            "公告日期": ["2024-05-01", "2023-05-01", "2022-05-01"],
            "送股": [3, 0, 0],
            "转增": [2, 0, 0],
            "派息": [5.0, 2.5, 1.0],
            "进度": ["实施", "实施", "不分配"],
            "除权除息日": ["2024-06-03", "2023-06-05", None],
            "股权登记日": ["2024-05-31", "2023-06-02", None],
        }
    )
    table = CorporateActions.from_dataframe(frame, symbol="600000")
    assert table.symbol == ("600000", "600000")
    assert table.cash.tolist() == [0.25, 0.5]
    assert table.shares.tolist() == [0.0, 0.5]
    with pytest.raises(DataError, match="no symbol column; pass symbol="):
        CorporateActions.from_dataframe(frame)


def test_files_of_each_layout_load_in_utf8_gbk_and_parquet(tmp_path: Path) -> None:
    quanta = tmp_path / "quanta.csv"
    quanta.write_text("symbol,ex_date,cash,shares\n000001,2024-06-03,0.5,0.3\n", "utf-8-sig")
    table = data.load_actions(quanta)
    assert (table.symbol, table.cash.tolist(), table.shares.tolist()) == (("000001",), [0.5], [0.3])
    akshare = tmp_path / "akshare.csv"
    akshare.write_text(
        "公告日期,送股,转增,派息,进度,除权除息日\n2024-05-01,3,2,5.0,实施,2024-06-03\n",
        encoding="gbk",
    )
    table = data.load_actions(akshare, symbol="000001")
    assert (table.cash.tolist(), table.shares.tolist()) == ([0.5], [0.5])
    tushare = tmp_path / "tushare.parquet"
    pd.DataFrame(
        {
            "ts_code": ["000001.SZ"],
            "ex_date": ["20240603"],
            "cash_div_tax": [0.5],
            "stk_div": [0.0],
            "div_proc": ["实施"],
        }
    ).to_parquet(tushare)
    assert data.load_actions(tushare, "tushare").symbol == ("000001.SZ",)


def test_reader_errors_name_the_missing_columns_and_the_layout() -> None:
    with pytest.raises(DataError, match=r"missing column.*'stk_div'.*the frame has"):
        CorporateActions.from_dataframe(
            pd.DataFrame({"ts_code": ["A"], "ex_date": ["20240603"], "div_proc": ["实施"]}),
            "tushare",
        )
    with pytest.raises(DataError, match="cannot tell the layout"):
        CorporateActions.from_dataframe(pd.DataFrame({"code": ["A"]}))
    with pytest.raises(DataError, match="fit several layouts"):
        CorporateActions.from_dataframe(
            pd.DataFrame(
                {"symbol": ["A"], "ex_date": ["2024-01-02"], "cash": [1.0], "除权除息日": [1]}
            )
        )
    with pytest.raises(DataError, match="source: 'yahoo' is not one of"):
        CorporateActions.from_dataframe(pd.DataFrame({"symbol": ["A"]}), "yahoo")
    with pytest.raises(DataError, match="no file"):
        data.load_actions("/nonexistent/actions.csv")


def test_a_row_given_twice_is_one_action_and_different_rows_on_one_date_are_refused() -> None:
    frame = pd.DataFrame(
        {
            "ts_code": ["000001.SZ"] * 2,
            "div_proc": ["实施"] * 2,
            "stk_div": [0.0, 0.0],
            "cash_div_tax": [0.719, 0.719],
            "ex_date": ["20240614", "20240614"],
        }
    )
    table = CorporateActions.from_dataframe(frame)
    assert (table.symbol, table.cash.tolist()) == (("000001.SZ",), [0.719])
    with pytest.raises(DataError, match="two different actions of symbol '000001.SZ'"):
        CorporateActions(["000001.SZ"] * 2, ["2024-06-14"] * 2, cash=[0.719, 0.5])


def test_a_dividend_not_below_the_previous_close_is_refused(backend: str) -> None:
    # 12 per share on a 10.00 stock: nearly always a per-10-shares figure read per share.
    ts = np.array(["2024-01-03", "2024-01-04"], dtype="datetime64[ns]")
    prices = np.array([10.0, 10.0])
    bars = Bars.from_arrays(ts, prices, prices, prices, prices, symbols=["600000.SH"])
    bars = bars.with_market(actions=CorporateActions(["600000.SH"], ["2024-01-04"], cash=[12.0]))
    with pytest.raises(DataError, match="cash: the dividend 12.0 of symbol '600000.SH' on "):
        Engine(backend=backend).run(bars, Strategy())
