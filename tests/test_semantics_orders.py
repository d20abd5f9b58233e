"""Hand-computed tests of docs/semantics.md sections 5 and 6: the order life cycle (statuses,
callbacks, cancel, DAY and GTC), malformed calls (`OrderError`) and acceptance at submission.
"""

from __future__ import annotations

from typing import Any

import pytest

from quanta_ref import OrderError, OrderStatus, OrderType, Side, TimeInForce
from quanta_ref.api import BacktestResult, Context
from support import DAY, START, Script, bars_from_rows, run, run_script

HOURS_8 = 8 * 3600 * 10**9  # three bars a day: 00:00, 08:00, 16:00

ROWS = [(10.0, 11.0, 9.0, 10.5), (12.0, 13.0, 11.0, 12.5), (14.0, 15.0, 13.0, 14.0)]


def timeline(script: Script) -> list[tuple[str, Any]]:
    """The recorded callbacks, a fill shown as its order id."""
    return [(kind, e.order_id if kind == "fill" else e) for kind, e in script.events]


def status(result: BacktestResult, order_id: int = 1) -> tuple[OrderStatus, str | None]:
    order = result.orders[order_id - 1]
    return order.status, order.reject_reason


# =============================================================== 5. life cycle
def test_fill_calls_on_fill_then_on_order_and_submission_calls_on_order(backend: str) -> None:
    result, script = run_script(backend, bars_from_rows(ROWS), {0: lambda ctx: ctx.buy("X", 100)})
    assert script.ids == [1]
    assert timeline(script) == [
        ("bar", ("X", 0)),
        ("order", (1, "pending")),  # right after on_bar returns
        ("fill", 1),
        ("order", (1, "filled")),  # bar 1's open phase
        ("bar", ("X", 1)),
        ("bar", ("X", 2)),
    ]
    order = result.orders[0]
    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        OrderStatus.FILLED,
        100.0,
        12.0,
    )


def test_order_ids_count_from_one_in_submission_order(backend: str) -> None:
    _, script = run_script(
        backend,
        bars_from_rows(ROWS),
        {
            -1: lambda ctx: ctx.buy("X", 1, "limit", limit_price=1.0),
            0: [lambda ctx: ctx.buy("X", 1), lambda ctx: ctx.order_target_quantity("X", 5)],
        },
    )
    assert script.ids == [1, 2, 3]


def test_cancel_ends_a_live_order_and_returns_true_then_false(backend: str) -> None:
    answers: list[bool] = []
    result, script = run_script(
        backend,
        bars_from_rows(ROWS),
        {
            0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=5.0),
            1: lambda ctx: answers.append(ctx.cancel(1)),
            2: lambda ctx: answers.append(ctx.cancel(1)),
        },
    )
    assert answers == [True, False]
    assert status(result) == (OrderStatus.CANCELLED, None)
    assert ("order", (1, "cancelled")) in timeline(script)
    assert (
        timeline(script).index(("order", (1, "cancelled")))
        == timeline(script).index(("bar", ("X", 1))) + 1
    )


def test_cancel_of_a_filled_order_returns_false(backend: str) -> None:
    answers: list[bool] = []
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 100), 1: lambda ctx: answers.append(ctx.cancel(1))},
    )
    assert answers == [False]
    assert status(result) == (OrderStatus.FILLED, None)


@pytest.mark.parametrize("order_id", [0, 2, 99])
def test_cancel_of_an_unknown_order_id_raises_order_error(backend: str, order_id: int) -> None:
    with pytest.raises(OrderError):
        run(
            backend,
            bars_from_rows(ROWS),
            {0: [lambda ctx: ctx.buy("X", 1), lambda ctx: ctx.cancel(order_id)]},
        )


def test_day_order_with_daily_bars_gets_exactly_the_next_bar(backend: str) -> None:
    # limit 9.5: bar 1 (low 9.8) misses it; bar 2 (open 9.4) would fill it, but the order's
    # day (bar 1's) is over: it expires at bar 2's new-day step, before the open phase.
    bars = bars_from_rows([(10.0, 10.0, 10.0, 10.0), (10.0, 10.5, 9.8, 10.0), (9.4, 9.6, 9.0, 9.5)])
    result, script = run_script(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=9.5, time_in_force="day")},
    )
    assert result.fills == []
    assert status(result) == (OrderStatus.EXPIRED, "expired")
    events = timeline(script)
    assert events.index(("order", (1, "expired"))) == events.index(("bar", ("X", 2))) - 1


def test_gtc_order_lives_until_filled(backend: str) -> None:
    bars = bars_from_rows(
        [
            (10.0, 10.0, 10.0, 10.0),
            (10.0, 10.5, 9.8, 10.0),
            (9.9, 10.0, 9.8, 9.9),
            (9.4, 9.6, 9.0, 9.5),
        ]
    )
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=9.5)})
    [fill] = result.fills
    assert (fill.timestamp, fill.price) == (int(START) + 3 * DAY, 9.4)  # open 9.4 <= 9.5
    assert status(result) == (OrderStatus.FILLED, None)


INTRADAY = [
    (10.0, 10.0, 10.0, 10.0),
    (10.0, 10.2, 9.9, 10.0),
    (9.8, 9.9, 9.6, 9.7),  # day 0
    (9.0, 9.2, 8.9, 9.1),
    (9.3, 9.4, 9.2, 9.3),
]  # day 1


def test_day_order_with_intraday_bars_lives_every_bar_of_its_day(backend: str) -> None:
    # limit 9.6, submitted at bar 0: bar 1 misses (low 9.9); bar 2, same day: open 9.8 > 9.6,
    # low 9.6 <= 9.6 -> fills at 9.6
    bars = bars_from_rows(INTRADAY, step=HOURS_8)
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=9.6, time_in_force="day")},
    )
    [fill] = result.fills
    assert (fill.timestamp, fill.price) == (int(bars.timestamps[2]), 9.6)


def test_day_order_with_intraday_bars_expires_at_the_next_day_first_bar(backend: str) -> None:
    # limit 9.5: bars 1 and 2 (day 0) miss it; bar 3 (day 1, open 9.0) would fill, but the
    # order expires first
    bars = bars_from_rows(INTRADAY, step=HOURS_8)
    result, script = run_script(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=9.5, time_in_force="day")},
    )
    assert result.fills == []
    assert status(result) == (OrderStatus.EXPIRED, "expired")
    events = timeline(script)
    assert events.index(("order", (1, "expired"))) == events.index(("bar", ("X", 3))) - 1


def test_day_order_submitted_at_the_last_bar_of_a_day_lives_through_the_next_day(
    backend: str,
) -> None:
    # Submitted at bar 2 (day 0's last bar): first examined at bar 3, so its day is day 1.
    # Buy limit 9.3: bar 3 misses it (low 9.35); bar 4, same day 1: open 9.3 <= 9.3 -> 9.3.
    rows = INTRADAY[:3] + [(9.5, 9.6, 9.35, 9.4), (9.3, 9.4, 9.2, 9.3), (9.0, 9.1, 8.9, 9.0)]
    bars = bars_from_rows(rows, step=HOURS_8)
    result = run(
        backend,
        bars,
        {2: lambda ctx: ctx.buy("X", 100, "limit", limit_price=9.3, time_in_force="day")},
    )
    [fill] = result.fills
    assert (fill.timestamp, fill.price) == (int(bars.timestamps[4]), 9.3)


# =============================================================== 5. malformed calls
def order_error(backend: str, call: Any) -> str:
    """The message of the OrderError that `call(ctx)` raises at bar 0."""
    with pytest.raises(OrderError) as info:
        run(backend, bars_from_rows(ROWS), {0: call})
    return str(info.value)


def assert_names(message: str, field: str, symbol: str = "X") -> None:
    """The doc: the message names the field, the symbol and the bar."""
    assert message.startswith(field), message
    assert repr(symbol) in message, message
    assert "bar 0" in message, message


def test_unknown_symbol_is_an_order_error(backend: str) -> None:
    assert_names(order_error(backend, lambda ctx: ctx.buy("Z", 100)), "symbol", "Z")


@pytest.mark.parametrize("quantity", [0, -100, 0.0, float("nan"), float("inf"), True])
def test_quantity_that_is_not_a_finite_positive_number_is_an_order_error(
    backend: str, quantity: Any
) -> None:
    assert_names(order_error(backend, lambda ctx: ctx.buy("X", quantity)), "quantity")


def test_limit_order_without_a_limit_price_is_an_order_error(backend: str) -> None:
    assert_names(order_error(backend, lambda ctx: ctx.buy("X", 100, "limit")), "limit_price")


def test_stop_limit_order_without_a_stop_price_is_an_order_error(backend: str) -> None:
    message = order_error(backend, lambda ctx: ctx.buy("X", 100, "stop_limit", limit_price=10.0))
    assert_names(message, "stop_price")


def test_market_order_with_a_limit_price_is_an_order_error(backend: str) -> None:
    assert_names(
        order_error(backend, lambda ctx: ctx.buy("X", 100, limit_price=10.0)), "limit_price"
    )


def test_limit_order_with_a_stop_price_is_an_order_error(backend: str) -> None:
    message = order_error(
        backend, lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.0, stop_price=9.0)
    )
    assert_names(message, "stop_price")


def test_stop_order_with_a_limit_price_is_an_order_error(backend: str) -> None:
    message = order_error(
        backend, lambda ctx: ctx.buy("X", 100, "stop", limit_price=10.0, stop_price=11.0)
    )
    assert_names(message, "limit_price")


@pytest.mark.parametrize("price", [0.0, -1.0, float("nan")])
def test_limit_price_that_is_not_finite_positive_is_an_order_error(
    backend: str, price: float
) -> None:
    assert_names(
        order_error(backend, lambda ctx: ctx.buy("X", 100, "limit", limit_price=price)),
        "limit_price",
    )


def test_bad_side_string_is_an_order_error(backend: str) -> None:
    assert_names(order_error(backend, lambda ctx: ctx.submit_order("X", "hold", 100)), "side")


def test_bad_order_type_and_time_in_force_are_order_errors(backend: str) -> None:
    assert_names(order_error(backend, lambda ctx: ctx.buy("X", 100, "iceberg")), "order_type")
    assert_names(
        order_error(backend, lambda ctx: ctx.buy("X", 100, time_in_force="good_till_never")),
        "time_in_force",
    )


def test_a_malformed_call_creates_no_order(backend: str) -> None:
    def bad_then_good(ctx: Context) -> int:
        with pytest.raises(OrderError):
            ctx.buy("X", 0)
        return ctx.buy("X", 100)

    result, script = run_script(backend, bars_from_rows(ROWS), {0: bad_then_good})
    assert script.ids == [1]
    assert len(result.orders) == 1
    assert [e for kind, e in script.events if kind == "order"][0] == (1, "pending")


def test_enums_accept_their_names_as_strings_in_any_case(backend: str) -> None:
    seen: list[Any] = []

    def submit(ctx: Context) -> None:
        first = ctx.submit_order(
            "X", "BUY", 100, "Stop_Limit", limit_price=11.0, stop_price=10.5, time_in_force="DAY"
        )
        second = ctx.submit_order("X", "Sell", 100, "LIMIT", limit_price=20.0, time_in_force="Gtc")
        seen.extend([ctx.get_order(first), ctx.get_order(second)])

    run(
        backend,
        bars_from_rows(ROWS),
        {-1: lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.0), 0: submit},
    )
    first, second = seen
    assert (first.side, first.order_type, first.time_in_force) == (
        Side.BUY,
        OrderType.STOP_LIMIT,
        TimeInForce.DAY,
    )
    assert (second.side, second.order_type, second.time_in_force) == (
        Side.SELL,
        OrderType.LIMIT,
        TimeInForce.GTC,
    )


# =============================================================== 6. acceptance
def test_market_order_before_any_bar_is_rejected_no_price(backend: str) -> None:
    result, script = run_script(backend, bars_from_rows(ROWS), {-1: lambda ctx: ctx.buy("X", 100)})
    assert script.ids == [1]  # the id is still returned
    assert timeline(script)[0] == ("order", (1, "rejected"))  # on_order called
    assert status(result) == (OrderStatus.REJECTED, "no_price")
    assert result.fills == []


def test_target_order_before_any_bar_is_rejected_no_price(backend: str) -> None:
    result = run(backend, bars_from_rows(ROWS), {-1: lambda ctx: ctx.order_target_percent("X", 1)})
    assert status(result) == (OrderStatus.REJECTED, "no_price")


def test_market_order_for_a_symbol_not_yet_listed_is_rejected_no_price(backend: str) -> None:
    bars = bars_from_rows({"A": ROWS, "B": [None, ROWS[1], ROWS[2]]})
    result = run(backend, bars, {0: lambda ctx: ctx.buy("B", 100)})
    assert status(result) == (OrderStatus.REJECTED, "no_price")


def test_limit_and_stop_orders_before_any_bar_are_valued_at_their_price(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {
            -1: [
                lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.0),
                lambda ctx: ctx.buy("X", 100, "stop", stop_price=13.5),
            ]
        },
    )
    assert [o.status for o in result.orders] == [OrderStatus.FILLED, OrderStatus.FILLED]
    # limit: bar 0 open 10 <= 10; stop: bar 1 (high 13 < 13.5) misses, bar 2 opens 14 >= 13.5
    assert [(f.order_id, f.price) for f in result.fills] == [(1, 10.0), (2, 14.0)]


def test_quantity_not_a_multiple_of_the_lot_is_rejected_lot_size(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: [lambda ctx: ctx.buy("X", 150), lambda ctx: ctx.buy("X", 200)]},
        lot_size=100,
    )
    assert status(result, 1) == (OrderStatus.REJECTED, "lot_size")
    assert status(result, 2) == (OrderStatus.FILLED, None)


def test_non_whole_quantity_is_rejected_lot_size_unless_fractional(backend: str) -> None:
    result = run(backend, bars_from_rows(ROWS), {0: lambda ctx: ctx.buy("X", 10.5)})
    assert status(result) == (OrderStatus.REJECTED, "lot_size")
    result = run(
        backend, bars_from_rows(ROWS), {0: lambda ctx: ctx.buy("X", 10.5)}, fractional=True
    )
    assert status(result) == (OrderStatus.FILLED, None)
    assert result.fills[0].quantity == 10.5


def test_partial_sell_of_a_holding_must_be_whole_lots(backend: str) -> None:
    # hold 300 (lots of 100): selling 150 is refused, selling 100 or all 300 is fine
    result = run(
        backend,
        bars_from_rows(ROWS),
        {
            -1: lambda ctx: ctx.buy("X", 300, "limit", limit_price=10.0),
            0: [lambda ctx: ctx.sell("X", 150), lambda ctx: ctx.sell("X", 100)],
            1: lambda ctx: ctx.sell("X", 200),
        },
        lot_size=100,
    )
    assert status(result, 2) == (OrderStatus.REJECTED, "lot_size")
    assert status(result, 3) == (OrderStatus.FILLED, None)
    assert status(result, 4) == (OrderStatus.FILLED, None)


def test_whole_odd_lot_holding_may_be_sold_at_once(backend: str) -> None:
    # With fractional=False every fill is whole lots, so an odd-lot holding cannot be built
    # through the engine; fractional=True (lot 100) is the only way to hold 150. A sell of
    # exactly the holding then passes and closes the position exactly.
    result = run(
        backend,
        bars_from_rows(ROWS),
        {
            -1: lambda ctx: ctx.buy("X", 150, "limit", limit_price=10.0),
            0: lambda ctx: ctx.sell("X", 150),
        },
        lot_size=100,
        fractional=True,
    )
    assert status(result, 2) == (OrderStatus.FILLED, None)
    assert result.positions[0].quantity == 0.0


def test_cash_account_sell_larger_than_the_holding_is_rejected(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {
            -1: lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.0),
            0: [lambda ctx: ctx.sell("X", 200), lambda ctx: ctx.sell("X", 100)],
        },
    )
    assert status(result, 2) == (OrderStatus.REJECTED, "insufficient_position")
    assert status(result, 3) == (OrderStatus.FILLED, None)


def test_cash_account_sell_with_nothing_held_is_rejected(backend: str) -> None:
    result = run(backend, bars_from_rows(ROWS), {0: lambda ctx: ctx.sell("X", 100)})
    assert status(result) == (OrderStatus.REJECTED, "insufficient_position")


def test_cash_is_not_checked_at_submission(backend: str) -> None:
    # 100_000 cash cannot pay 20_000 x 10; the order is accepted (PENDING) and reduced at the
    # fill: bar 1 open 12 -> floor(100_000 / 12) = 8_333 shares
    result, script = run_script(
        backend, bars_from_rows(ROWS), {0: lambda ctx: ctx.buy("X", 20_000)}
    )
    assert ("order", (1, "pending")) in timeline(script)
    assert result.fills[0].quantity == 8_333.0
    assert status(result) == (OrderStatus.CANCELLED, "insufficient_cash")


def test_acceptance_checks_no_price_before_lot_size(backend: str) -> None:
    result = run(backend, bars_from_rows(ROWS), {-1: lambda ctx: ctx.buy("X", 150)}, lot_size=100)
    assert status(result) == (OrderStatus.REJECTED, "no_price")


def test_acceptance_checks_lot_size_before_the_position(backend: str) -> None:
    result = run(backend, bars_from_rows(ROWS), {0: lambda ctx: ctx.sell("X", 150)}, lot_size=100)
    assert status(result) == (OrderStatus.REJECTED, "lot_size")


def test_acceptance_checks_the_position_before_the_risk_limits(backend: str) -> None:
    # an oversell would open a short of 100: a max_order_value refusal, had it got that far
    result = run(
        backend,
        bars_from_rows(ROWS),
        {
            -1: lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.0),
            0: lambda ctx: ctx.sell("X", 200),
        },
        max_order_value=1_500.0,
    )
    assert status(result, 2) == (OrderStatus.REJECTED, "insufficient_position")


def test_risk_check_at_acceptance_values_an_order_at_its_limit_else_last_close(
    backend: str,
) -> None:
    # max_order_value 1_100; bar 0 close 10.5.
    # market 100: 100 x 10.5 = 1_050 <= 1_100 accepted
    # limit 100 @ 11.5: 100 x 11.5 = 1_150 > 1_100 rejected although the close is 10.5
    # stop 100 @ 11.2: 1_120 > 1_100 rejected
    # The market order's fill at bar 1's open is checked again (section 7.6):
    # 100 x 12.0 = 1_200 > 1_100, so it ends REJECTED there, after being accepted.
    result, strategy = run_script(
        backend,
        bars_from_rows(ROWS),
        {
            0: [
                lambda ctx: ctx.buy("X", 100),
                lambda ctx: ctx.buy("X", 100, "limit", limit_price=11.5),
                lambda ctx: ctx.buy("X", 100, "stop", stop_price=11.2),
            ]
        },
        max_order_value=1_100.0,
    )
    assert [e for kind, e in strategy.events if kind == "order" and e[0] == 1] == [
        (1, "pending"),
        (1, "rejected"),
    ]
    assert status(result, 1) == (OrderStatus.REJECTED, "max_order_value")
    assert status(result, 2) == (OrderStatus.REJECTED, "max_order_value")
    assert status(result, 3) == (OrderStatus.REJECTED, "max_order_value")
