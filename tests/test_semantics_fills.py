"""Hand-computed tests of docs/semantics.md section 7 (at the fill: price limits,
participation, cash-account sells and buys, costs) and the suspension rules of section 11.
"""

from __future__ import annotations

from typing import Any

import pytest

from quanta_ref import OrderStatus, Side
from quanta_ref.api import BacktestResult
from support import DAY, START, bars_from_rows, run, run_script, same

HOURS_8 = 8 * 3600 * 10**9  # three bars a day: 00:00, 08:00, 16:00


def flat(price: float, volume: float = 1e9) -> tuple[float, ...]:
    """A bar with open = high = low = close = `price`."""
    return (price, price, price, price, volume)


def fills(result: BacktestResult, step: int = DAY) -> list[tuple[int, int, float, float]]:
    """(order id, bar, quantity, price) of every fill."""
    return [
        (f.order_id, int((f.timestamp - int(START)) // step), f.quantity, f.price)
        for f in result.fills
    ]


def status(result: BacktestResult, order_id: int = 1) -> tuple[OrderStatus, str | None]:
    order = result.orders[order_id - 1]
    return order.status, order.reject_reason


def hold(quantity: float, price: float = 10.0) -> Any:
    """An on_start action buying `quantity` at bar 0's open (limit `price` >= that open)."""
    return lambda ctx: ctx.buy("X", quantity, "limit", limit_price=price)


# =============================================================== 7.1 price limits
def test_buy_at_limit_up_does_not_fill_and_stays_live(backend: str) -> None:
    # P = 10 -> up = 10 x 1.1 = 11.00 (tick 0.01). Bar 1 opens at 11: 11 >= 11 - 0.005.
    # Bar 2: P = 11 -> up = 12.10; the open 11.5 fills.
    seen: list[Any] = []
    bars = bars_from_rows([flat(10.0), flat(11.0), (11.5, 12.0, 11.2, 11.8)])
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100), 1: lambda ctx: seen.append(ctx.get_order(1).status)},
        price_limit=0.1,
        tick_size=0.01,
    )
    assert seen == [OrderStatus.PENDING]
    assert fills(result) == [(1, 2, 100.0, 11.5)]


def test_sell_at_limit_down_does_not_fill_and_stays_live(backend: str) -> None:
    # bought at bar 0 (first day: no limit). P = 10 -> down = 9.00; bar 1 opens at 9:
    # 9 <= 9 + 0.005. Bar 2: P = 9 -> down = 8.10; the open 9.2 fills.
    bars = bars_from_rows([flat(10.0), flat(9.0), (9.2, 9.5, 9.0, 9.3)])
    result = run(
        backend,
        bars,
        {-1: hold(100), 0: lambda ctx: ctx.sell("X", 100)},
        price_limit=0.1,
        tick_size=0.01,
    )
    assert fills(result) == [(1, 0, 100.0, 10.0), (2, 2, 100.0, 9.2)]


def test_price_limit_without_tick_size_has_no_half_tick_margin(backend: str) -> None:
    # P = 10, limit 0.25 -> up = 12.5 exactly. A opens at 12.5: blocked; B at 12.49 < 12.5
    # fills. Bar 2: P(A) = 12.5 -> up 15.625; A's open 12.6 fills.
    bars = bars_from_rows(
        {"A": [flat(10.0), flat(12.5), flat(12.6)], "B": [flat(10.0), flat(12.49), flat(12.6)]}
    )
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("A", 100), lambda ctx: ctx.buy("B", 100)]},
        price_limit=0.25,
    )
    assert fills(result) == [(2, 1, 100.0, 12.49), (1, 2, 100.0, 12.6)]


def test_price_limits_are_rounded_to_the_tick(backend: str) -> None:
    # P = 10.04: up = 11.044 -> 11.04, down = 9.036 -> 9.04 (tick 0.01).
    # Buy A at 11.04 >= 11.035: blocked; buy B at 11.03 < 11.035: fills.
    bars = bars_from_rows({"A": [flat(10.04), flat(11.04)], "B": [flat(10.04), flat(11.03)]})
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("A", 100), lambda ctx: ctx.buy("B", 100)]},
        price_limit=0.1,
        tick_size=0.01,
    )
    assert fills(result) == [(2, 1, 100.0, 11.03)]
    # Sell at 9.04 <= 9.045: blocked; sell at 9.05 > 9.045: fills.
    bars = bars_from_rows({"X": [flat(10.04), flat(9.04), flat(9.05)]})
    result = run(
        backend,
        bars,
        {-1: hold(100, 10.04), 0: lambda ctx: ctx.sell("X", 100)},
        price_limit=0.1,
        tick_size=0.01,
    )
    # bar 2: P = 9.04 -> down = 8.136 -> 8.14; 9.05 fills
    assert fills(result) == [(1, 0, 100.0, 10.04), (2, 2, 100.0, 9.05)]


def test_price_limit_is_within_half_a_tick(backend: str) -> None:
    # P = 10, up = 11.00: 10.996 >= 10.995 is at the limit; 10.99 is not
    bars = bars_from_rows({"A": [flat(10.0), flat(10.996)], "B": [flat(10.0), flat(10.99)]})
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("A", 100), lambda ctx: ctx.buy("B", 100)]},
        price_limit=0.1,
        tick_size=0.01,
    )
    assert fills(result) == [(2, 1, 100.0, 10.99)]


def test_price_limit_reference_is_the_previous_trading_day_close(backend: str) -> None:
    # 8-hour bars. Day 0 closes at 10.0 (bar 2). Bar 4 (day 1) opens at 11.0: against P = 10
    # up = 11.00 -> blocked (against bar 3's close 10.8 it would be 11.88, no block).
    # Bar 6 (day 2): P = day 1's last close 11.0 -> up = 12.10; the open 11.2 fills.
    rows = [flat(9.5), flat(9.8), flat(10.0), flat(10.8), flat(11.0), flat(11.0), flat(11.2)]
    bars = bars_from_rows(rows, step=HOURS_8)
    result = run(backend, bars, {3: lambda ctx: ctx.buy("X", 100)}, price_limit=0.1, tick_size=0.01)
    assert fills(result, HOURS_8) == [(1, 6, 100.0, 11.2)]


def test_suspended_symbol_keeps_the_close_before_the_suspension_as_reference(backend: str) -> None:
    # X: close 10, suspended, then opens at 11: P = 10 -> up = 11.00 -> blocked at bar 2.
    # Bar 3: P = 11 -> up 12.10; 11.5 fills.
    bars = bars_from_rows({"A": [flat(5.0)] * 4, "X": [flat(10.0), None, flat(11.0), flat(11.5)]})
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 100)}, price_limit=0.1, tick_size=0.01)
    assert fills(result) == [(1, 3, 100.0, 11.5)]


def test_first_day_of_a_symbol_has_no_price_limit(backend: str) -> None:
    # B lists at bar 1: no previous close, so any price fills
    bars = bars_from_rows({"A": [flat(5.0)] * 2, "B": [None, flat(50.0)]})
    result = run(
        backend,
        bars,
        {-1: lambda ctx: ctx.buy("B", 100, "limit", limit_price=60.0)},
        price_limit=0.1,
        tick_size=0.01,
    )
    assert fills(result) == [(1, 1, 100.0, 50.0)]


# =============================================================== 7.2 participation
def test_participation_limit_fills_whole_lots_over_several_bars(backend: str) -> None:
    # f = 0.1, volume 2_500 -> capacity 250 a bar -> 200 in lots of 100.
    # 500 = 200 (bar 1, open 10) + 200 (bar 2, open 11) + 100 (bar 3, open 12, fits)
    bars = bars_from_rows(
        [flat(10.0, 2_500), flat(10.0, 2_500), flat(11.0, 2_500), flat(12.0, 2_500)]
    )
    result, script = run_script(
        backend, bars, {0: lambda ctx: ctx.buy("X", 500)}, lot_size=100, max_volume_fraction=0.1
    )
    assert fills(result) == [(1, 1, 200.0, 10.0), (1, 2, 200.0, 11.0), (1, 3, 100.0, 12.0)]
    assert [e for kind, e in script.events if kind == "order"] == [
        (1, "pending"),
        (1, "partially_filled"),
        (1, "partially_filled"),
        (1, "filled"),
    ]
    # (200 x 10 + 200 x 11 + 100 x 12) / 500 = 5_400 / 500 = 10.8
    assert result.orders[0].average_fill_price == same(10.8)


def test_participation_capacity_is_shared_by_orders_in_matching_order(backend: str) -> None:
    # capacity 250: order 1 takes 200, 50 left rounds to 0 lots for order 2, which fills at
    # bar 2
    bars = bars_from_rows([flat(10.0, 2_500)] * 3)
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("X", 200), lambda ctx: ctx.buy("X", 200)]},
        lot_size=100,
        max_volume_fraction=0.1,
    )
    assert fills(result) == [(1, 1, 200.0, 10.0), (2, 2, 200.0, 10.0)]


def test_zero_volume_bar_fills_nothing_under_a_participation_limit(backend: str) -> None:
    bars = bars_from_rows([flat(10.0, 1_000), flat(10.5, 0.0), flat(11.0, 1_000)])
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 100)}, max_volume_fraction=0.5)
    assert fills(result) == [(1, 2, 100.0, 11.0)]  # capacity 0 at bar 1, 500 at bar 2


def test_zero_volume_bar_still_fills_without_a_participation_limit(backend: str) -> None:
    bars = bars_from_rows([flat(10.0, 1_000), flat(10.5, 0.0), flat(11.0, 1_000)])
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 100)})
    assert fills(result) == [(1, 1, 100.0, 10.5)]


# =============================================================== 7.3 cash-account sells
INTRADAY = [flat(10.0), flat(10.0), flat(9.8), flat(9.0), flat(9.3), flat(9.4), flat(9.5)]


@pytest.mark.parametrize(("settlement", "bar", "price"), [("T+1", 3, 9.0), ("T+0", 2, 9.8)])
def test_t_plus_1_sell_on_the_buy_day_waits_for_the_next_day(
    backend: str, settlement: str, bar: int, price: float
) -> None:
    # 8-hour bars: bought at bar 1 (day 0); the sell, submitted at bar 1, meets bar 2 (still
    # day 0): under T+1 nothing is sellable, it waits for bar 3 (day 1); T+0 sells at bar 2
    bars = bars_from_rows(INTRADAY, step=HOURS_8)
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100), 1: lambda ctx: ctx.sell("X", 100)},
        settlement=settlement,
    )
    assert fills(result, HOURS_8) == [(1, 1, 100.0, 10.0), (2, bar, 100.0, price)]
    assert status(result, 2) == (OrderStatus.FILLED, None)


@pytest.mark.parametrize(("settlement", "bar", "price"), [("T+1", 2, 11.5), ("T+0", 1, 10.5)])
def test_t_plus_1_in_close_mode_a_sell_on_the_buy_day_waits_for_the_next_close(
    backend: str, settlement: str, bar: int, price: float
) -> None:
    # close mode, daily bars: the limit buy fills at bar 1's open (10); the market sell
    # submitted at bar 1 meets bar 1's close (same day): T+1 waits for bar 2's close 11.5
    # (market orders in close mode trade only at closes); T+0 sells at bar 1's close 10.5
    bars = bars_from_rows([flat(10.0), (10.0, 11.0, 9.5, 10.5), (11.0, 12.0, 10.5, 11.5)])
    result = run(
        backend,
        bars,
        {
            0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.0),
            1: lambda ctx: ctx.sell("X", 100),
        },
        settlement=settlement,
        fill_at="close",
    )
    assert fills(result) == [(1, 1, 100.0, 10.0), (2, bar, 100.0, price)]


def test_t_plus_1_sells_yesterdays_shares_now_and_todays_tomorrow(backend: str) -> None:
    # 200 bought at bar 0 (day 0); 100 more at bar 3 (day 1); sell 300 submitted at bar 3.
    # Bar 4 (day 1): sellable 300 - 100 = 200, not the whole holding -> 200 in lots.
    # Bar 5 (day 1): sellable 100 - 100 = 0 -> waits. Bar 6 (day 2): the last 100.
    bars = bars_from_rows(INTRADAY, step=HOURS_8)
    result = run(
        backend,
        bars,
        {-1: hold(200), 2: lambda ctx: ctx.buy("X", 100), 3: lambda ctx: ctx.sell("X", 300)},
        settlement="T+1",
        lot_size=100,
    )
    assert fills(result, HOURS_8) == [
        (1, 0, 200.0, 10.0),
        (2, 3, 100.0, 9.0),
        (3, 4, 200.0, 9.3),
        (3, 6, 100.0, 9.5),
    ]
    assert status(result, 3) == (OrderStatus.FILLED, None)


def test_t_plus_1_sale_proceeds_are_usable_at_once(backend: str) -> None:
    # cash 1_000 all spent at bar 0; on day 1 the sale (order 2) books 1_000 before order 3
    # buys 100 x 10 with it
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {-1: hold(100), 0: [lambda ctx: ctx.sell("X", 100), lambda ctx: ctx.buy("X", 100)]},
        initial_cash=1_000.0,
        settlement="T+1",
    )
    assert fills(result) == [(1, 0, 100.0, 10.0), (2, 1, 100.0, 10.0), (3, 1, 100.0, 10.0)]
    assert result.cash.tolist() == [0.0, 0.0]


def test_cash_account_sell_of_a_position_already_gone_ends_insufficient_position(
    backend: str,
) -> None:
    # both sells were accepted (100 held at submission); order 2 sells it, order 3 finds 0
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {-1: hold(100), 0: [lambda ctx: ctx.sell("X", 100), lambda ctx: ctx.sell("X", 100)]},
    )
    assert status(result, 2) == (OrderStatus.FILLED, None)
    assert status(result, 3) == (OrderStatus.REJECTED, "insufficient_position")


def test_cash_account_sell_larger_than_the_holding_at_the_fill_sells_all_and_cancels_rest(
    backend: str,
) -> None:
    # hold 200; order 2 sells 100 first, order 3 (200) then finds 100 = the whole holding
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {-1: hold(200), 0: [lambda ctx: ctx.sell("X", 100), lambda ctx: ctx.sell("X", 200)]},
    )
    assert fills(result)[1:] == [(2, 1, 100.0, 10.0), (3, 1, 100.0, 10.0)]
    assert status(result, 3) == (OrderStatus.CANCELLED, "insufficient_position")
    assert result.orders[2].filled_quantity == 100.0


def test_sell_capped_by_participation_at_the_whole_holding_cancels_the_rest_at_once(
    backend: str,
) -> None:
    # capacity 0.1 x 3_000 = 300 a bar, lot 100. Hold 300; orders 2 (sell 100) and 3 (sell
    # 300) are both accepted. Bar 1: order 2 sells 100 (capacity 200 left, 200 held); order 3
    # fills 200 = the whole holding while it wanted 300: the rest is cancelled
    # (insufficient_position) with this fill, before bar 1's on_bar.
    seen: list[Any] = []
    bars = bars_from_rows([flat(10.0, 3_000)] * 3)
    result = run(
        backend,
        bars,
        {
            -1: hold(300),
            0: [lambda ctx: ctx.sell("X", 100), lambda ctx: ctx.sell("X", 300)],
            1: lambda ctx: seen.append((ctx.get_order(3).status, ctx.get_order(3).reject_reason)),
        },
        lot_size=100,
        max_volume_fraction=0.1,
    )
    assert fills(result)[1:] == [(2, 1, 100.0, 10.0), (3, 1, 200.0, 10.0)]
    assert seen == [(OrderStatus.CANCELLED, "insufficient_position")]
    assert status(result, 3) == (OrderStatus.CANCELLED, "insufficient_position")


# =============================================================== 7.4 cash-account buys
def test_cash_account_buy_is_reduced_to_affordable_lots_and_the_rest_cancelled(
    backend: str,
) -> None:
    # cash 10_000, open 25, rate 0.001, lot 100. 400 x 25 = 10_000 + commission 10 leaves
    # -10 < 0; 300 x 25 = 7_500 + 7.5 fits -> 300; cash 10_000 - 7_500 - 7.5 = 2_492.5
    bars = bars_from_rows([flat(25.0)] * 2)
    result, script = run_script(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 400)},
        initial_cash=10_000.0,
        commission_rate=0.001,
        lot_size=100,
    )
    assert fills(result) == [(1, 1, 300.0, 25.0)]
    assert result.fills[0].commission == same(7.5)
    assert status(result) == (OrderStatus.CANCELLED, "insufficient_cash")
    assert result.cash[1] == same(2_492.5)
    assert [e for kind, e in script.events if kind == "order"] == [(1, "pending"), (1, "cancelled")]


def test_cash_account_buy_that_cannot_pay_one_lot_is_rejected(backend: str) -> None:
    # cash 1_000, lot 100 at 10: 1_000 + min commission 5 > 1_000
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100)},
        initial_cash=1_000.0,
        lot_size=100,
        min_commission=5.0,
    )
    assert result.fills == []
    assert status(result) == (OrderStatus.REJECTED, "insufficient_cash")


# =============================================================== 7.6 booking
def test_costs_commission_rate_min_commission_and_sell_tax(backend: str) -> None:
    bars = bars_from_rows([flat(10.0), flat(12.0), flat(14.0)])
    result = run(
        backend,
        bars,
        {-1: hold(5_000), 0: lambda ctx: ctx.sell("X", 5_000), 1: lambda ctx: ctx.buy("X", 100)},
        commission_rate=0.0003,
        min_commission=5.0,
        sell_tax_rate=0.001,
    )
    buy, sell, small = result.fills
    # buy 5_000 x 10 = 50_000: commission max(5, 15) = 15, no tax
    assert (buy.side, buy.commission, buy.tax) == (Side.BUY, same(15.0), 0.0)
    # sell 5_000 x 12 = 60_000: commission 18, tax 60
    assert (sell.side, sell.commission, sell.tax) == (Side.SELL, same(18.0), same(60.0))
    # buy 100 x 14 = 1_400: 1_400 x 0.0003 = 0.42 < 5 -> 5
    assert (small.commission, small.tax) == (5.0, 0.0)
    assert result.cash.tolist() == [
        same(49_985.0),  # 100_000 - 50_000 - 15
        same(109_907.0),  # 49_985 + 60_000 - 18 - 60
        same(108_502.0),  # 109_907 - 1_400 - 5
    ]
    assert result["total_commission"] == same(38.0)  # 15 + 18 + 5
    assert result["total_tax"] == same(60.0)


# =============================================================== 11. suspensions
def test_missing_bar_fills_nothing_and_equity_uses_the_last_close(backend: str) -> None:
    bars = bars_from_rows(
        {"A": [flat(5.0)] * 3, "X": [(10.0, 11.5, 9.5, 11.0), None, (12.0, 12.5, 11.5, 12.5)]}
    )
    result = run(backend, bars, {-1: hold(100), 0: lambda ctx: ctx.sell("X", 100)})
    # bought 100 at 10 (cash 99_000); the sell waits through the missing bar 1, fills at 12
    assert fills(result) == [(1, 0, 100.0, 10.0), (2, 2, 100.0, 12.0)]
    assert result.cash.tolist() == [99_000.0, 99_000.0, 100_200.0]
    # bars 0 and 1: 99_000 + 100 x 11 (bar 1: X's last close); bar 2: flat
    assert result.equity.tolist() == [100_100.0, 100_100.0, 100_200.0]


def test_a_day_order_for_a_suspended_symbol_expires_at_the_next_day(backend: str) -> None:
    # DAY limit 10.5 submitted at bar 0; X is suspended at bar 1, the first row the order is
    # eligible at: that is its one trading day, so it expires at bar 2 without a fill.
    bars = bars_from_rows({"A": [flat(5.0)] * 4, "X": [flat(11.0), None, flat(10.2), flat(10.0)]})
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.5, time_in_force="day")},
    )
    assert fills(result) == []
    assert (result.orders[0].status, result.orders[0].reject_reason) == (
        OrderStatus.EXPIRED,
        "expired",
    )


def test_a_gtc_order_for_a_suspended_symbol_waits(backend: str) -> None:
    bars = bars_from_rows({"A": [flat(5.0)] * 4, "X": [flat(11.0), None, flat(10.2), flat(10.0)]})
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.5, time_in_force="gtc")},
    )
    assert fills(result) == [(1, 2, 100.0, 10.2)]
