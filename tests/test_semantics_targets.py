"""Hand-computed tests of docs/semantics.md section 8: target orders, sized when they first
reach a bar where they can trade, at the fill price.
"""

from __future__ import annotations

from typing import Any

from quanta_ref import OrderStatus, Side
from quanta_ref.api import BacktestResult
from support import DAY, START, bars_from_rows, run, run_script, same


def flat(price: float) -> tuple[float, ...]:
    return (price, price, price, price)


def fills(result: BacktestResult) -> list[tuple[int, int, str, float, float]]:
    """(order id, bar, side, quantity, price) of every fill."""
    return [
        (f.order_id, int((f.timestamp - int(START)) // DAY), f.side.value, f.quantity, f.price)
        for f in result.fills
    ]


def status(result: BacktestResult, order_id: int = 1) -> tuple[OrderStatus, str | None]:
    order = result.orders[order_id - 1]
    return order.status, order.reject_reason


def hold(quantity: float, price: float) -> Any:
    """An on_start action buying `quantity` at bar 0's open (limit `price` >= that open)."""
    return lambda ctx: ctx.buy("X", quantity, "limit", limit_price=price)


def test_target_percent_all_in_buys_the_largest_affordable_lots_with_commission(
    backend: str,
) -> None:
    # E = 100_000 flat, B = p = 25: target 100_000 / 25 = 4_000 (whole lots of 100).
    # 4_000 x 25 = 100_000 + commission 100 > cash -> 3_900: 97_500 + 97.5 = 97_597.5 fits.
    bars = bars_from_rows([flat(25.0)] * 2)
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_percent("X", 1.0)},
        lot_size=100,
        commission_rate=0.001,
    )
    assert fills(result) == [(1, 1, "buy", 3_900.0, 25.0)]
    assert status(result) == (OrderStatus.FILLED, None)
    assert result.orders[0].quantity == 3_900.0
    assert result.cash[1] == same(2_402.5)  # 100_000 - 97_500 - 97.5


def test_target_percent_all_in_counts_the_minimum_commission(backend: str) -> None:
    # cash 2_000 at 10: target 200, but 2_000 + max(5, 0.6) > 2_000 -> 100: 1_000 + 5
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_percent("X", 1.0)},
        initial_cash=2_000.0,
        lot_size=100,
        commission_rate=0.0003,
        min_commission=5.0,
    )
    assert fills(result) == [(1, 1, "buy", 100.0, 10.0)]
    assert result.cash[1] == 995.0


def test_target_percent_in_close_mode_is_sized_at_the_close(backend: str) -> None:
    # p = bar 0's close 25: 100_000 / 25 = 4_000; no costs, so 4_000 x 25 spends all the cash
    bars = bars_from_rows([(20.0, 26.0, 19.0, 25.0)])
    result = run(
        backend, bars, {0: lambda ctx: ctx.order_target_percent("X", 1.0)}, fill_at="close"
    )
    assert fills(result) == [(1, 0, "buy", 4_000.0, 25.0)]
    assert result.cash[0] == 0.0
    assert result.equity[0] == 100_000.0


def test_target_percent_buy_is_sized_at_the_slipped_fill_price(backend: str) -> None:
    # B = 50, s = 0.01 -> p = 50.5; E(p) = 100_000 (flat): 0.5 x 100_000 / 50.5 = 990.09 -> 990
    bars = bars_from_rows([flat(50.0), (50.0, 52.0, 49.0, 51.0)])
    result = run(
        backend, bars, {0: lambda ctx: ctx.order_target_percent("X", 0.5)}, slippage_bps=100.0
    )
    assert fills(result) == [(1, 1, "buy", 990.0, same(50.5))]


def test_target_percent_sell_values_the_position_at_the_fill_price(backend: str) -> None:
    # hold 1_000 bought at 50, cash 50_000. Bar 2: B = 60, E(60) = 110_000;
    # 0.2 x 110_000 / 60 = 366.7 < 1_000 -> sell; p = max(60 x 0.99, 58) = 59.4;
    # E(59.4) = 50_000 + 59_400 = 109_400; target = 0.2 x 109_400 / 59.4 = 368.35;
    # 1_000 - 368.35 = 631.65 -> 631
    bars = bars_from_rows([flat(50.0), flat(55.0), (60.0, 61.0, 58.0, 60.0)])
    result = run(
        backend,
        bars,
        {-1: hold(1_000, 50.0), 1: lambda ctx: ctx.order_target_percent("X", 0.2)},
        slippage_bps=100.0,
    )
    assert fills(result)[1] == (2, 2, "sell", 631.0, same(59.4))
    assert result.positions[0].quantity == 369.0


def test_target_percent_zero_closes_the_whole_position_including_an_odd_lot(backend: str) -> None:
    # an odd lot of 150 (lot 100) needs fractional=True to exist; target 0 sells all 150
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {-1: hold(150, 10.0), 0: lambda ctx: ctx.order_target_percent("X", 0.0)},
        lot_size=100,
        fractional=True,
    )
    assert fills(result)[1] == (2, 1, "sell", 150.0, 10.0)
    assert result.positions[0].quantity == 0.0


def test_target_quantity_goes_up_and_down(backend: str) -> None:
    bars = bars_from_rows([flat(10.0), flat(11.0), flat(12.0)])
    result = run(
        backend,
        bars,
        {
            0: lambda ctx: ctx.order_target_quantity("X", 300),
            1: lambda ctx: ctx.order_target_quantity("X", 100),
        },
    )
    assert fills(result) == [(1, 1, "buy", 300.0, 11.0), (2, 2, "sell", 200.0, 12.0)]
    assert result.positions[0].quantity == 100.0


def test_target_quantity_difference_is_rounded_down_to_lots(backend: str) -> None:
    # |250 - 0| = 250 -> 200 in lots of 100; then target 0 closes the 200
    bars = bars_from_rows([flat(10.0)] * 3)
    result = run(
        backend,
        bars,
        {
            0: lambda ctx: ctx.order_target_quantity("X", 250),
            1: lambda ctx: ctx.order_target_quantity("X", 0),
        },
        lot_size=100,
    )
    assert fills(result) == [(1, 1, "buy", 200.0, 10.0), (2, 2, "sell", 200.0, 10.0)]


def test_target_already_met_is_cancelled_zero_quantity(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 2)
    result, script = run_script(
        backend, bars, {-1: hold(300, 10.0), 0: lambda ctx: ctx.order_target_quantity("X", 300)}
    )
    assert len(result.fills) == 1
    assert status(result, 2) == (OrderStatus.CANCELLED, "zero_quantity")
    assert [e for kind, e in script.events if kind == "order"][-2:] == [
        (2, "pending"),
        (2, "cancelled"),
    ]


def test_target_percent_already_met_is_cancelled_zero_quantity(backend: str) -> None:
    # hold 5_000 at 10, cash 50_000, E = 100_000: 0.5 x 100_000 / 10 = 5_000 = held
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend, bars, {-1: hold(5_000, 10.0), 0: lambda ctx: ctx.order_target_percent("X", 0.5)}
    )
    assert status(result, 2) == (OrderStatus.CANCELLED, "zero_quantity")


def test_target_quantity_that_rounds_to_zero_lots_is_cancelled_zero_quantity(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(backend, bars, {0: lambda ctx: ctx.order_target_quantity("X", 50)}, lot_size=100)
    assert result.fills == []
    assert status(result) == (OrderStatus.CANCELLED, "zero_quantity")


def test_negative_target_in_a_cash_account_is_rejected_at_submission(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 2)
    result, script = run_script(
        backend,
        bars,
        {
            0: [
                lambda ctx: ctx.order_target_quantity("X", -100),
                lambda ctx: ctx.order_target_percent("X", -0.5),
            ]
        },
    )
    assert status(result, 1) == (OrderStatus.REJECTED, "insufficient_position")
    assert status(result, 2) == (OrderStatus.REJECTED, "insufficient_position")
    assert [e for kind, e in script.events if kind == "order"] == [(1, "rejected"), (2, "rejected")]


def test_fractional_target_quantity_is_rejected_lot_size(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(backend, bars, {0: lambda ctx: ctx.order_target_quantity("X", 10.5)})
    assert status(result) == (OrderStatus.REJECTED, "lot_size")


def test_unaffordable_target_buy_is_rejected_insufficient_cash(backend: str) -> None:
    # cash 500 < one lot of 100 x 10
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_quantity("X", 100)},
        initial_cash=500.0,
        lot_size=100,
    )
    assert status(result) == (OrderStatus.REJECTED, "insufficient_cash")


def test_target_order_has_no_side_and_zero_quantity_until_sized(backend: str) -> None:
    seen: list[Any] = []

    def submit(ctx: Any) -> None:
        order = ctx.get_order(ctx.order_target_quantity("X", 300))
        seen.append((order.side, order.quantity, order.status))

    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(backend, bars, {0: submit})
    assert seen == [(None, 0.0, OrderStatus.PENDING)]
    order = result.orders[0]
    assert (order.side, order.quantity, order.status) == (Side.BUY, 300.0, OrderStatus.FILLED)
    assert order.target_quantity == 300.0


def test_target_order_blocked_by_a_price_limit_waits_unsized(backend: str) -> None:
    # bar 1 opens at limit-up (P = 10 -> 11.00): the order stays unsized. Bar 2 (P = 11,
    # up 12.10) opens at 11.5: E = 100_000, 0.5 x 100_000 / 11.5 = 4_347.8 -> 4_347
    seen: list[Any] = []
    bars = bars_from_rows([flat(10.0), flat(11.0), flat(11.5)])
    result = run(
        backend,
        bars,
        {
            0: lambda ctx: ctx.order_target_percent("X", 0.5),
            1: lambda ctx: seen.append((ctx.get_order(1).side, ctx.get_order(1).quantity)),
        },
        price_limit=0.1,
        tick_size=0.01,
    )
    assert seen == [(None, 0.0)]
    assert fills(result) == [(1, 2, "buy", 4_347.0, 11.5)]


def test_target_order_risk_limits_are_checked_when_sized(backend: str) -> None:
    # accepted at submission, refused at bar 1 when sized: 300 > 200 shares
    bars = bars_from_rows([flat(10.0)] * 2)
    result, script = run_script(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_quantity("X", 300)},
        max_position_quantity=200.0,
    )
    assert [e for kind, e in script.events if kind == "order"] == [(1, "pending"), (1, "rejected")]
    assert status(result) == (OrderStatus.REJECTED, "max_position")


def test_target_percent_risk_weight_is_checked_at_the_fill_price(backend: str) -> None:
    # bar 1 opens at 8: E(8) = 100_000 flat; 0.6 x 100_000 / 8 = 7_500 shares;
    # 7_500 x 8 = 60_000 > 0.5 x 100_000 -> max_position
    bars = bars_from_rows([flat(10.0), flat(8.0)])
    result = run(
        backend, bars, {0: lambda ctx: ctx.order_target_percent("X", 0.6)}, max_position_weight=0.5
    )
    assert status(result) == (OrderStatus.REJECTED, "max_position")


def test_fractional_account_rounds_target_quantities_to_the_lot(backend: str) -> None:
    # fractional=True, lot 0.25: 1.0 x 100_000 / 30_000 = 3.33 -> 13 lots of 0.25 = 3.25
    bars = bars_from_rows([flat(30_000.0)] * 2)
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_percent("X", 1.0)},
        fractional=True,
        lot_size=0.25,
    )
    assert fills(result) == [(1, 1, "buy", 3.25, 30_000.0)]
    assert result.cash[1] == 2_500.0  # 100_000 - 3.25 x 30_000


def test_fractional_account_reduces_an_unaffordable_buy_to_whole_lots(backend: str) -> None:
    # plain buy of 5 at 30_000 with 100_000: affordable 3.33 -> 3.25 (lots of 0.25), rest
    # cancelled
    bars = bars_from_rows([flat(30_000.0)] * 2)
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 5)}, fractional=True, lot_size=0.25)
    assert fills(result) == [(1, 1, "buy", 3.25, 30_000.0)]
    assert status(result) == (OrderStatus.CANCELLED, "insufficient_cash")


def test_negative_target_percent_in_a_margin_account_sells_short(backend: str) -> None:
    # E = 100_000 flat, p = 50: -0.5 x 100_000 / 50 = -1_000
    bars = bars_from_rows([flat(50.0)] * 2)
    result = run(
        backend, bars, {0: lambda ctx: ctx.order_target_percent("X", -0.5)}, allow_short=True
    )
    assert fills(result) == [(1, 1, "sell", 1_000.0, 50.0)]
    assert result.positions[0].quantity == -1_000.0


def test_target_quantity_through_zero_in_a_margin_account(backend: str) -> None:
    # long 100, target -100: one sell of 200
    bars = bars_from_rows([flat(50.0)] * 2)
    result = run(
        backend,
        bars,
        {-1: hold(100, 50.0), 0: lambda ctx: ctx.order_target_quantity("X", -100)},
        allow_short=True,
    )
    assert fills(result)[1] == (2, 1, "sell", 200.0, 50.0)
    assert result.positions[0].quantity == -100.0
