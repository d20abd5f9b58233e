"""The Chinese A-share market as it is: price limits by board, date, ST flag and listing date;
vendor limit prices; stamp duty and transfer fee by date; suspensions (docs/semantics.md,
sections 5, 7, 10 and 11). Every number here is worked out by hand in the comments."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from quanta_ref import Bars, ConfigError, DataError, Engine, OrderStatus, Strategy
from quanta_ref.api import Context
from quanta_ref.events import BarEvent
from quanta_ref.market import RunMarket, board, prepare


def daily(symbols: list[str], dates: list[str], closes: list[list[float | None]], **market: Any):
    """Bars at midnight of `dates`, each bar flat at its price (None: suspended)."""
    prices = np.array([[np.nan if c is None else c for c in row] for row in closes])
    timestamps = np.array(dates, dtype="datetime64[ns]")
    return Bars.from_arrays(
        timestamps,
        prices,
        prices,
        prices,
        prices,
        np.where(np.isnan(prices), np.nan, 1e9),
        symbols,
        **market,
    )


class Orders(Strategy):
    """Places `plan[bar_index]`: a list of (symbol, side, quantity) market orders."""

    def __init__(self, plan: dict[int, list[tuple[str, str, float]]]) -> None:
        self.plan = plan
        self.seen = -1

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        if ctx.bar_index == self.seen:
            return
        self.seen = ctx.bar_index
        for symbol, side, quantity in self.plan.get(ctx.bar_index, []):
            ctx.submit_order(symbol, side, quantity)


def bought(backend: str, bars: Bars, **settings: Any) -> list[tuple[str, float]]:
    """Buy 100 of every symbol at bar 0; the (symbol, price) of the fills at bar 1."""
    plan = {0: [(s, "buy", 100.0) for s in bars.symbols]}
    result = Engine(backend=backend, market="cn_a", **settings).run(bars, Orders(plan))
    return [(f.symbol, f.price) for f in result.fills]


# ============================================================ the board's limit by date
def test_chinext_moves_19_percent_after_its_reform_while_the_main_board_stops_at_10(
    backend: str,
) -> None:
    # Previous close 10.00: ChiNext limit-up 12.00 (20 %), 11.90 fills; main board 11.00
    # (10 %), an open at 11.00 is at the limit.
    bars = daily(
        ["300750.SZ", "600000.SH"], ["2021-03-01", "2021-03-02"], [[10.0, 10.0], [11.9, 11.0]]
    )
    assert bought(backend, bars) == [("300750.SZ", 11.9)]


def test_chinext_is_limited_to_10_percent_before_2020_08_24(backend: str) -> None:
    bars = daily(["300750"], ["2020-08-20", "2020-08-21"], [[10.0], [11.5]])
    assert bought(backend, bars) == []
    # The first bar on 2020-08-24 has the new 20 % limit: 11.50 fills.
    after = daily(["300750"], ["2020-08-21", "2020-08-24"], [[10.0], [11.5]])
    assert bought(backend, after) == [("300750", 11.5)]


@pytest.mark.parametrize(
    ("symbol", "inside", "at_limit"),
    [("688981.SH", 11.99, 12.0), ("sh689009", 11.99, 12.0), ("430047.BJ", 12.99, 13.0)],
)
def test_star_market_limits_at_20_percent_and_beijing_at_30(
    backend: str, symbol: str, inside: float, at_limit: float
) -> None:
    dates = ["2024-03-04", "2024-03-05"]
    assert bought(backend, daily([symbol], dates, [[10.0], [inside]])) == [(symbol, inside)]
    assert bought(backend, daily([symbol], dates, [[10.0], [at_limit]])) == []


def test_main_board_st_stocks_move_5_percent_before_2025_07_07_and_10_from_then(
    backend: str,
) -> None:
    st = {"600001.SH": True}
    before = daily(["600001.SH"], ["2025-07-03", "2025-07-04"], [[10.0], [10.5]], st=st)
    assert bought(backend, before) == []  # 10.50 is limit-up (5 %)
    after = daily(["600001.SH"], ["2025-07-04", "2025-07-07"], [[10.0], [10.5]], st=st)
    assert bought(backend, after) == [("600001.SH", 10.5)]  # 10 % from 2025-07-07
    at_ten = daily(["600001.SH"], ["2025-07-07", "2025-07-08"], [[10.0], [11.0]], st=st)
    assert bought(backend, at_ten) == []


def test_st_periods_narrow_the_limit_only_inside_them(backend: str) -> None:
    dates = ["2024-03-04", "2024-03-05", "2024-03-06"]
    bars = daily(["000001.SZ"], dates, [[10.0], [10.0], [10.0]])
    flagged = bars.with_market(st={"000001.SZ": [("2024-03-05", "2024-03-05")]})
    market = prepare(flagged, Engine(market="cn_a").config)
    assert market.limit_up is not None and market.limit_down is not None
    np.testing.assert_array_equal(market.limit_up[:, 0], [np.nan, 10.5, 11.0])
    np.testing.assert_array_equal(market.limit_down[:, 0], [np.nan, 9.5, 9.0])


def test_a_new_star_listing_has_no_limit_on_its_first_five_days(backend: str) -> None:
    dates = [f"2021-03-{d:02d}" for d in (1, 2, 3, 4, 5, 8, 9)]
    closes: list[list[float | None]] = [[10.0], [14.0], [20.0], [25.0], [30.0], [42.0], [50.4]]
    bars = daily(["688001"], dates, closes, listing_dates={"688001": "2021-03-01"})
    market = prepare(bars, Engine(market="cn_a").config)
    assert market.limit_up is not None
    assert np.isnan(market.limit_up[:5, 0]).all()  # days 1 to 5: no limit
    assert market.limit_up[5, 0] == 36.0  # day 6: 30.00 x 1.2
    # Bought at day 5's open +20 %: fills; at day 7 (+20 % on 42.00 = 50.40): blocked.
    plan = {3: [("688001", "buy", 100.0)], 5: [("688001", "buy", 100.0)]}
    result = Engine(backend=backend, market="cn_a").run(bars, Orders(plan))
    assert [(f.price, f.timestamp) for f in result.fills] == [(30.0, int(bars.timestamps[4]))]
    assert result.orders[1].status is OrderStatus.PENDING


def test_a_listing_before_the_panel_is_past_its_window(backend: str) -> None:
    # Listed 2021-03-01, the panel starts 2021-03-03: the first days of the listing are not in
    # the data, so its window is not restarted at the panel's start; limits from day 2.
    dates = ["2021-03-03", "2021-03-04", "2021-03-05"]
    bars = daily(
        ["688001"], dates, [[10.0], [10.0], [10.0]], listing_dates={"688001": "2021-03-01"}
    )
    market = prepare(bars, Engine(backend=backend, market="cn_a").config)
    assert market.limit_up is not None
    np.testing.assert_array_equal(market.limit_up[:, 0], [np.nan, 12.0, 12.0])


def test_a_main_board_listing_before_its_reform_has_one_free_day(backend: str) -> None:
    bars = daily(
        ["603000", "603001"],
        ["2023-04-06", "2023-04-07", "2023-04-10"],
        [[10.0, None], [10.0, None], [10.0, 10.0]],
        listing_dates={"603000": "2023-04-06", "603001": "2023-04-10"},
    )
    market = prepare(bars, Engine(market="cn_a").config)
    assert market.limit_up is not None
    # 603000: free on its first day only (2023-04-06, no previous close anyway), 11.00 after.
    np.testing.assert_array_equal(market.limit_up[:, 0], [np.nan, 11.0, 11.0])


def test_a_listing_date_after_the_first_bar_is_a_data_error(backend: str) -> None:
    bars = daily(
        ["600000"],
        ["2024-03-04", "2024-03-05"],
        [[10.0], [10.0]],
        listing_dates={"600000": "2024-03-05"},
    )
    with pytest.raises(DataError, match="'600000' is listed on 2024-03-05, after its first bar"):
        Engine(backend=backend, market="cn_a").run(bars, Orders({}))


def test_vendor_limit_prices_override_the_rule_each_side_on_its_own(backend: str) -> None:
    # The rule would allow up to 11.00; the vendor says limit-up 10.50 at bar 1.
    dates = ["2024-03-04", "2024-03-05"]
    bars = daily(["600000"], dates, [[10.0], [10.5]], up_limit=[np.nan, 10.5])
    assert bought(backend, bars) == []
    market = prepare(bars, Engine(market="cn_a").config)
    assert market.limit_down is not None and market.limit_down[1, 0] == 9.0  # the rule's
    # Without any rule, the vendor's prices still limit.
    assert bought(backend, bars, price_limit=None, tick_size=None) == []
    # And they name symbols the rule does not know.
    etf = daily(["510300"], dates, [[10.0], [10.4]], up_limit=[20.0, 10.4], down_limit=[1, 1])
    assert bought(backend, etf) == []


def test_a_code_the_rule_does_not_know_is_a_config_error_saying_what_to_do(backend: str) -> None:
    bars = daily(["AAPL"], ["2024-03-04", "2024-03-05"], [[10.0], [10.0]])
    with pytest.raises(ConfigError, match="'AAPL'.*numeric price_limit.*up_limit"):
        Engine(backend=backend, market="cn_a").run(bars, Orders({}))
    assert bought(backend, bars, price_limit=0.1) == [("AAPL", 10.0)]


def test_board_reads_the_usual_spellings_of_a_code() -> None:
    assert [board(s) for s in ("600000", "600000.SH", "sh600000", "SZ000001", "000001.XSHE")] == [
        "main board"
    ] * 5
    assert board("300750.sz") == "ChiNext" and board("688001.XSHG") == "STAR Market"
    assert board("920001.BJ") == "Beijing" and board("830799") == "Beijing"
    assert [board(s) for s in ("510300", "200001", "AAPL", "X", "6000001")] == [None] * 5


# ============================================================ costs by date
def test_stamp_duty_halves_on_2023_08_28_and_the_transfer_fee_is_paid_both_ways(
    backend: str,
) -> None:
    # Buy 200 at 10.00 on 08-24: no stamp duty on buys, transfer fee 0.001 % of 2_000.
    # Sell 100 at 10.00 on 08-25: stamp 0.1 % of 1_000 = 1.00 (+ 0.01); on 08-28: 0.50 + 0.01.
    dates = ["2023-08-23", "2023-08-24", "2023-08-25", "2023-08-28"]
    bars = daily(["600000"], dates, [[10.0]] * 4)
    plan = {0: [("600000", "buy", 200.0)], 1: [("600000", "sell", 100.0)]}
    plan[2] = [("600000", "sell", 100.0)]
    result = Engine(backend=backend, market="cn_a").run(bars, Orders(plan))
    taxes = [f.tax for f in result.fills]
    assert taxes == [2_000.0 * 0.00001, 1_000.0 * 0.001 + 1_000.0 * 0.00001, 0.5 + 0.01]
    assert taxes == pytest.approx([0.02, 1.01, 0.51], abs=1e-15)
    assert [f.commission for f in result.fills] == [5.0, 5.0, 5.0]
    assert result.cash[-1] == 1_000_000.0 - 2_000.0 - 5.0 - 0.02 + 2 * (1_000.0 - 5.0) - 1.01 - 0.51


def test_buys_paid_stamp_duty_until_2008_09_19(backend: str) -> None:
    # 2008-09-18: 0.1 % on both sides (no transfer fee before 2015): 1_000 x 0.001 = 1.00.
    bars = daily(["600000"], ["2008-09-17", "2008-09-18", "2008-09-19"], [[10.0]] * 3)
    plan = {0: [("600000", "buy", 100.0)], 1: [("600000", "buy", 100.0)]}
    result = Engine(backend=backend, market="cn_a").run(bars, Orders(plan))
    assert [f.tax for f in result.fills] == [1.0, 0.0]
    assert result.cash[1] == 1_000_000.0 - 1_000.0 - 5.0 - 1.0


def test_a_schedule_of_any_setting_changes_the_rate_at_its_date(backend: str) -> None:
    bars = daily(["X"], ["2024-03-04", "2024-03-05", "2024-03-06"], [[10.0]] * 3)
    plan = {0: [("X", "buy", 100.0)], 1: [("X", "buy", 100.0)]}
    rates = {"2024-03-01": 0.001, "2024-03-06": 0.002}
    result = Engine(backend=backend, commission_rate=rates).run(bars, Orders(plan))
    assert [f.commission for f in result.fills] == [1.0, 2.0]


def test_a_run_before_a_schedule_begins_is_a_config_error_naming_both_dates(backend: str) -> None:
    bars = daily(["X"], ["2023-12-29", "2024-01-02"], [[10.0]] * 2)
    engine = Engine(backend=backend, commission_rate=[("2024-01-01", 0.001)])
    with pytest.raises(ConfigError, match="commission_rate: .*2023-12-29.*2024-01-01"):
        engine.run(bars, Orders({}))


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"2024-01-01": -0.1}, "sell_tax_rate: must be"),
        ([("2024-01-01", 0.1), ("2024-01-01", 0.2)], "appears twice"),
        ({}, "empty schedule"),
        ({"someday": 0.1}, "sell_tax_rate"),
        ([0.1], "pairs"),
    ],
)
def test_a_bad_schedule_is_a_config_error(value: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Engine(sell_tax_rate=value)


def test_buy_and_hold_pays_the_buy_levies_in_force_on_the_first_day() -> None:
    from quanta_ref.analysis import buy_and_hold_equity

    # 2008-09-18: buys pay 0.1 % stamp duty; 1_000_000 = value x 1.001 + 5 -> value.
    bars = daily(["600000"], ["2008-09-18", "2008-09-19"], [[10.0], [11.0]])
    equity = buy_and_hold_equity(bars, Engine(market="cn_a").config)
    value = (1_000_000.0 - 5.0) / (1.0 + 0.001)
    assert equity.tolist() == [value / 10.0 * 10.0, value / 10.0 * 11.0]


# ============================================================ suspensions
def test_a_suspended_stock_does_not_hold_up_a_rebalance(backend: str) -> None:
    # B is suspended at bar 1: A buys at bar 1's open (0.5 x 1_000_000 / 10 = 50_000);
    # B's target order waits and buys at bar 2's open, sized there: 0.5 x 1_000_000 / 20.
    bars = daily(
        ["A", "B"],
        ["2024-03-04", "2024-03-05", "2024-03-06"],
        [[10.0, 20.0], [10.0, None], [10.0, 20.0]],
    )
    weights = [[0.5, 0.5], [np.nan, np.nan], [np.nan, np.nan]]
    result = Engine(backend=backend).run_targets(bars, weights)
    assert [(f.symbol, f.quantity, f.timestamp) for f in result.fills] == [
        ("A", 50_000.0, int(bars.timestamps[1])),
        ("B", 25_000.0, int(bars.timestamps[2])),
    ]


def test_a_day_order_for_a_suspended_stock_expires_at_the_next_day(backend: str) -> None:
    bars = daily(
        ["A", "B"],
        ["2024-03-04", "2024-03-05", "2024-03-06"],
        [[10.0, 20.0], [10.0, None], [10.0, 20.0]],
    )

    class DayOrder(Strategy):
        def on_bar(self, ctx: Context, bar: BarEvent) -> None:
            if ctx.bar_index == 0 and bar.symbol == "B":
                ctx.buy("B", 100, time_in_force="day")

    result = Engine(backend=backend).run(bars, DayOrder())
    assert result.fills == []
    assert result.orders[0].status is OrderStatus.EXPIRED


# ============================================================ Bars market data
def test_market_data_is_checked_carried_and_pickled() -> None:
    dates = ["2024-03-04", "2024-03-05"]
    bars = daily(["600000", "300750"], dates, [[10.0, 20.0], [10.0, 20.0]])
    with pytest.raises(DataError, match="up_limit: -1.0 at symbol '300750', bar 1"):
        bars.with_market(up_limit=[[11.0, 22.0], [11.0, -1.0]])
    with pytest.raises(DataError, match="down_limit: 12.0 is above up_limit 11.0"):
        bars.with_market(up_limit=[[11.0, 22.0]] * 2, down_limit=[[12.0, 1.0]] * 2)
    with pytest.raises(DataError, match="st: unknown symbol 'Y'"):
        bars.with_market(st=["Y"])
    with pytest.raises(DataError, match="listing_dates: unknown symbol 'Y'"):
        bars.with_market(listing_dates={"Y": "2020-01-01"})
    full = bars.with_market(
        up_limit=[[11.0, 22.0], [11.0, np.nan]],
        st={"300750"},
        listing_dates={"600000": "2000-01-04"},
    )
    assert bars.up_limit is None and full.st is not None and full.st[:, 1].all()
    kept = full.with_market(down_limit=[[9.0, 18.0]] * 2)
    assert kept.up_limit is not None and kept.st is not None and kept.down_limit is not None
    again = pickle.loads(pickle.dumps(kept))
    for name in ("up_limit", "down_limit", "st", "listing_dates"):
        np.testing.assert_array_equal(getattr(again, name), getattr(kept, name))
    one = kept.select(["300750"]).between("2024-03-05")
    assert one.st is not None and one.st.tolist() == [[True]]
    assert one.listing_dates is not None and one.listing_dates.tolist() == [np.iinfo(np.int64).min]
    assert "with up_limit, down_limit, st, listing_dates" in repr(kept)
    with pytest.raises(AttributeError):
        kept.st = None  # type: ignore[misc]


def test_a_run_without_limits_or_schedules_allocates_no_tables() -> None:
    bars = daily(["600000"], ["2024-03-04", "2024-03-05"], [[10.0], [10.0]])
    assert prepare(bars, Engine().config) == RunMarket()
    # With limits, the tables are computed once per panel and settings, then reused.
    config = Engine(market="cn_a").config
    first, second = prepare(bars, config), prepare(bars, config)
    assert first.limit_up is second.limit_up and first.limit_up is not None
    assert not first.limit_up.flags.writeable
    assert prepare(bars, Engine(price_limit=0.2).config).limit_up[1, 0] == 12.0


def test_the_limits_of_an_ex_date_are_set_around_the_ex_rights_price(backend: str) -> None:
    from quanta_ref.actions import CorporateActions

    # 600000 closes at 10.00; on 2024-03-05 it goes ex a 1.00 dividend: the reference price
    # is 9.00, the limits 9.90 and 8.10. A buy at that day's open of 9.90 is at the limit
    # (around the plain close, 11.00, it would fill).
    bars = daily(["600000"], ["2024-03-04", "2024-03-05"], [[10.0], [9.9]])
    bars = bars.with_market(actions=CorporateActions(["600000"], ["2024-03-05"], cash=[1.0]))
    market = prepare(bars, Engine(backend=backend, market="cn_a").config)
    assert market.limit_up is not None and market.limit_down is not None
    assert (market.limit_up[1, 0], market.limit_down[1, 0]) == (9.9, 8.1)
    plan = {0: [("600000", "buy", 100.0)]}
    result = Engine(backend=backend, market="cn_a").run(bars, Orders(plan))
    assert result.fills == [] and result.orders[0].status is OrderStatus.PENDING
    # With a 10-for-10 bonus as well the reference is (10.00 - 1.00) / 2 = 4.50: limits 4.95
    # and 4.05 (4.05 = floor(4.05 / 0.01 + 0.5) x 0.01 of 4.5 x 0.9).
    both = bars.with_market(
        actions=CorporateActions(["600000"], ["2024-03-05"], cash=[1.0], shares=[1.0])
    )
    market = prepare(both, Engine(backend=backend, market="cn_a").config)
    assert market.limit_up is not None and market.limit_down is not None
    assert (market.limit_up[1, 0], market.limit_down[1, 0]) == (4.95, 4.05)


def test_limits_round_half_up_as_the_exchange_does_in_decimal(backend: str) -> None:
    # 2.05 x 1.1 is 2.255 in decimal (limit-up 2.26) but 2.2549999999999994 in float; ST at
    # 4.10 x 0.95 = 3.895 -> 3.90. A buy at 2.25 is below the limit and fills.
    bars = daily(["600000", "000001"], ["2024-03-04", "2024-03-05"], [[2.05, 4.1], [2.25, 4.1]])
    bars = bars.with_market(st={"000001"})
    market = prepare(bars, Engine(backend=backend, market="cn_a").config)
    assert market.limit_up is not None and market.limit_down is not None
    np.testing.assert_allclose(market.limit_up[1], [2.26, 4.31], rtol=0, atol=1e-12)
    np.testing.assert_allclose(market.limit_down[1], [1.85, 3.90], rtol=0, atol=1e-12)
    result = Engine(backend=backend, market="cn_a").run(
        bars, Orders({0: [("600000", "buy", 100.0)]})
    )
    assert [f.price for f in result.fills] == [2.25]


def test_an_ex_rights_reference_price_is_rounded_to_the_tick_before_the_limits(
    backend: str,
) -> None:
    from quanta_ref.actions import CorporateActions

    # (10.00 - 0.333) = 9.667 -> 9.67 on the tick; limits 10.64 and 8.70 (not 10.63).
    bars = daily(["600000"], ["2024-03-04", "2024-03-05"], [[10.0], [9.7]])
    bars = bars.with_market(actions=CorporateActions(["600000"], ["2024-03-05"], cash=[0.333]))
    market = prepare(bars, Engine(backend=backend, market="cn_a").config)
    assert market.limit_up is not None and market.limit_down is not None
    np.testing.assert_allclose(
        [market.limit_up[1, 0], market.limit_down[1, 0]], [10.64, 8.70], rtol=0, atol=1e-12
    )
