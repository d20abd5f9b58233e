"""Hand-computed tests of docs/semantics.md sections 2-4: the bar loop and what a strategy
sees, when an order can first trade, fill prices, and the order of matching.

Every expected number is worked out from the doc, with the arithmetic in a comment. The
engine's own helpers are never used to compute an expectation. The other sections are in
the test_semantics_*.py files beside this one.
"""

from __future__ import annotations

from typing import Any

import pytest

from quanta_ref import Engine, OrderStatus, Side, Strategy
from quanta_ref.api import Context
from support import DAY, START, Script, bars_from_rows, run, run_script, same


def bar_of(timestamp: int) -> int:
    """Row of a daily bar built by `bars_from_rows` from its timestamp."""
    return int((timestamp - int(START)) // DAY)


ROWS = [(10.0, 11.0, 9.0, 10.5), (12.0, 13.0, 11.0, 12.5), (14.0, 15.0, 13.0, 14.0)]


# =============================================================== 2-3. time and the bar loop
def test_market_order_fills_at_the_next_bar_open(backend: str) -> None:
    bars = bars_from_rows(ROWS)
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 100)})
    [fill] = result.fills
    assert fill.price == 12.0  # bar 1's open, not bar 0's close
    assert fill.timestamp == int(bars.timestamps[1])
    # cash: 100_000 - 100 x 12 = 98_800; equity = cash + 100 x close
    assert result.cash.tolist() == [100_000.0, 98_800.0, 98_800.0]
    # bar 1: 98_800 + 1_250 = 100_050; bar 2: 98_800 + 1_400 = 100_200
    assert result.equity.tolist() == [100_000.0, 100_050.0, 100_200.0]


def test_order_submitted_in_on_start_is_first_matched_against_bar_0(backend: str) -> None:
    seen: list[Any] = []

    def start(ctx: Context) -> int:
        seen.extend([ctx.now, ctx.bar_index])
        # a market order cannot be valued yet (no_price), a limit order can
        return ctx.buy("X", 100, "limit", limit_price=10.5)

    result = run(backend, bars_from_rows(ROWS), {-1: start})
    assert seen == [None, -1]
    [fill] = result.fills
    assert (fill.price, bar_of(fill.timestamp)) == (10.0, 0)  # open 10 <= limit 10.5
    # cash 100_000 - 1_000 = 99_000; equity[0] = 99_000 + 100 x 10.5 = 100_050
    assert result.cash[0] == 99_000.0
    assert result.equity[0] == 100_050.0


def test_close_mode_market_order_fills_at_the_same_bar_close(backend: str) -> None:
    result = run(backend, bars_from_rows(ROWS), {0: lambda ctx: ctx.buy("X", 100)}, fill_at="close")
    [fill] = result.fills
    assert (fill.price, bar_of(fill.timestamp)) == (10.5, 0)
    # cash 100_000 - 1_050 = 98_950; equity = 98_950 + 100 x 10.5 = 100_000
    assert result.cash[0] == 98_950.0
    assert result.equity[0] == 100_000.0


def test_close_mode_market_fill_gets_slippage_clamped_to_the_high(backend: str) -> None:
    bars = bars_from_rows({"A": [(10.0, 11.0, 9.0, 10.5)], "B": [(10.0, 10.6, 9.0, 10.5)]})
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("A", 10), lambda ctx: ctx.buy("B", 10)]},
        fill_at="close",
        slippage_bps=100.0,
    )
    a, b = result.fills
    assert a.price == same(10.605)  # min(10.5 x 1.01, 11) = 10.605
    assert b.price == 10.6  # min(10.605, 10.6) = 10.6: nobody traded above the high


def test_close_mode_limit_order_waits_for_the_next_bar(backend: str) -> None:
    # Bar 0 (low 9, close 10.5) would satisfy a limit of 11, but limit orders keep the
    # next-bar rule. Bar 1: open 12 > 11, low 11 <= 11 -> fills at the limit, 11.
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=11.0)},
        fill_at="close",
    )
    [fill] = result.fills
    assert (fill.price, bar_of(fill.timestamp)) == (11.0, 1)


class SellOnBuyFill(Script):
    """Sells 100 X from on_fill when a buy fills (a callback in the middle of a phase)."""

    def on_fill(self, ctx: Context, fill: Any) -> None:
        super().on_fill(ctx, fill)
        if fill.side is Side.BUY:
            ctx.sell("X", 100)


def test_close_mode_order_submitted_in_the_close_phase_trades_at_the_next_close(
    backend: str,
) -> None:
    strategy = SellOnBuyFill({0: lambda ctx: ctx.buy("X", 100)})
    result = Engine(backend=backend, fill_at="close").run(bars_from_rows(ROWS), strategy)
    buy, sell = result.fills
    assert (buy.side, buy.price, bar_of(buy.timestamp)) == (Side.BUY, 10.5, 0)
    assert (sell.side, sell.price, bar_of(sell.timestamp)) == (Side.SELL, 12.5, 1)


@pytest.mark.parametrize(("fill_at", "bar", "price"), [("next_open", 2, 14.0), ("close", 1, 12.5)])
def test_order_submitted_from_on_fill_in_an_open_phase_is_at_that_bar(
    backend: str, fill_at: str, bar: int, price: float
) -> None:
    # the limit buy fills in bar 1's open phase (open 12 <= 12); the sell from on_fill is
    # "at bar 1": next_open -> bar 2's open 14; close -> bar 1's own close 12.5
    strategy = SellOnBuyFill({0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=12.0)})
    result = Engine(backend=backend, fill_at=fill_at).run(bars_from_rows(ROWS), strategy)
    buy, sell = result.fills
    assert (buy.price, bar_of(buy.timestamp)) == (12.0, 1)
    assert (sell.side, sell.price, bar_of(sell.timestamp)) == (Side.SELL, price, bar)


def test_close_mode_market_order_on_a_missing_bar_trades_at_the_next_present_close(
    backend: str,
) -> None:
    bars = bars_from_rows(
        {"A": ROWS, "X": [(10.0, 11.0, 9.0, 10.5), None, (14.0, 15.0, 13.0, 14.5)]}
    )
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("A", 1), 1: lambda ctx: ctx.buy("X", 1)},
        fill_at="close",
    )
    a, x = result.fills
    assert (a.symbol, a.price, bar_of(a.timestamp)) == ("A", 10.5, 0)
    assert (x.symbol, x.price, bar_of(x.timestamp)) == ("X", 14.5, 2)


def test_on_bar_runs_timestamps_ascending_then_symbols_in_data_order(backend: str) -> None:
    bars = bars_from_rows({"B": ROWS[:2], "A": ROWS[:2]})  # data order: B before A
    _, script = run_script(backend, bars)
    assert [e for kind, e in script.events if kind == "bar"] == [
        ("B", 0),
        ("A", 0),
        ("B", 1),
        ("A", 1),
    ]


def test_missing_bar_makes_no_on_bar_call(backend: str) -> None:
    bars = bars_from_rows({"A": ROWS, "B": [ROWS[0], None, ROWS[2]]})
    _, script = run_script(backend, bars)
    assert [e for kind, e in script.events if kind == "bar"] == [
        ("A", 0),
        ("B", 0),
        ("A", 1),
        ("A", 2),
        ("B", 2),
    ]


def test_ctx_shows_the_current_bar_complete_and_nothing_later(backend: str) -> None:
    seen: dict[str, Any] = {}

    def look(ctx: Context) -> None:
        seen["now"] = ctx.now
        seen["index"] = ctx.bar_index
        seen["close"] = ctx.history("X").tolist()
        seen["open"] = ctx.history("X", "open").tolist()
        seen["last"] = ctx.history("X", "close", 1).tolist()

    bars = bars_from_rows(ROWS)
    run(backend, bars, {1: look})
    assert seen["now"] == int(bars.timestamps[1])
    assert seen["index"] == 1
    assert seen["close"] == [10.5, 12.5]  # ends at row 1: bar 2's 14.0 is never shown
    assert seen["open"] == [10.0, 12.0]
    assert seen["last"] == [12.5]


def test_ctx_equity_during_on_bar_values_positions_at_the_current_close(backend: str) -> None:
    seen: list[tuple[float, float]] = []

    def look(ctx: Context) -> None:
        seen.append((ctx.cash, ctx.equity))

    run(
        backend,
        bars_from_rows(ROWS),
        {-1: lambda ctx: ctx.buy("X", 100, "limit", limit_price=20.0), 0: look, 1: look},
    )
    # bought 100 at bar 0's open 10: cash 99_000
    # bar 0: 99_000 + 100 x 10.5 = 100_050; bar 1: 99_000 + 100 x 12.5 = 100_250
    assert seen == [(99_000.0, 100_050.0), (99_000.0, 100_250.0)]


def test_equity_is_cash_plus_quantity_times_last_close_at_every_bar(backend: str) -> None:
    bars = bars_from_rows({"A": ROWS, "B": [(5.0, 6.0, 4.0, 5.5), None, (6.0, 7.0, 5.0, 6.5)]})
    result = run(
        backend,
        bars,
        {
            -1: [
                lambda ctx: ctx.buy("A", 100, "limit", limit_price=20.0),
                lambda ctx: ctx.buy("B", 200, "limit", limit_price=20.0),
            ]
        },
    )
    # bar 0 opens: A 100 x 10 = 1_000, B 200 x 5 = 1_000 -> cash 98_000 from then on
    assert result.cash.tolist() == [98_000.0] * 3
    assert result.equity.tolist() == [
        100_150.0,  # 98_000 + 100 x 10.5 + 200 x 5.5
        100_350.0,  # 98_000 + 100 x 12.5 + 200 x 5.5 (B missing: its last close)
        100_700.0,  # 98_000 + 100 x 14.0 + 200 x 6.5
    ]


def test_orders_placed_in_on_end_are_never_matched_and_live_orders_stay_pending(
    backend: str,
) -> None:
    class Late(Strategy):
        def on_bar(self, ctx: Context, bar: Any) -> None:
            if ctx.bar_index == 0:
                ctx.buy("X", 100, "limit", limit_price=5.0)  # never reached

        def on_end(self, ctx: Context) -> None:
            ctx.buy("X", 100)

    result = Engine(backend=backend).run(bars_from_rows(ROWS), Late())
    assert result.fills == []
    assert [o.status for o in result.orders] == [OrderStatus.PENDING, OrderStatus.PENDING]


# =============================================================== 4. fill prices
BAR = (20.0, 22.0, 19.0, 21.0)  # open, high, low, close of the bar under test (bar 1)


def fills_of(
    backend: str,
    side: str,
    order_type: str = "market",
    limit: float | None = None,
    stop: float | None = None,
    later: tuple[Any, ...] = (BAR,),
    **settings: Any,
) -> list[tuple[int, float]]:
    """Submit 100 X at bar 0 (o=h=l=c=20) and return the (bar, price) of its fills over the
    bars `later` (bar 1, 2, ...). A sell first buys 100 in on_start (at bar 0's open)."""
    actions: dict[int, Any] = {
        0: lambda ctx: ctx.submit_order(
            "X", side, 100, order_type, limit_price=limit, stop_price=stop
        )
    }
    if side == "sell":
        actions[-1] = lambda ctx: ctx.buy("X", 100, "limit", limit_price=20.0)
    settings.setdefault("slippage_bps", 100.0)  # s = 0.01
    bars = bars_from_rows([(20.0, 20.0, 20.0, 20.0), *later])
    result = run(backend, bars, actions, **settings)
    tested = result.orders[-1].order_id
    return [(bar_of(f.timestamp), f.price) for f in result.fills if f.order_id == tested]


def test_market_buy_fills_at_open_plus_slippage(backend: str) -> None:
    assert fills_of(backend, "buy") == [(1, same(20.2))]  # 20 x 1.01 = 20.2 <= high 22


def test_market_buy_slippage_is_clamped_to_the_high(backend: str) -> None:
    # 20 x 1.01 = 20.2 > high 20.1
    assert fills_of(backend, "buy", later=((20.0, 20.1, 19.0, 20.0),)) == [(1, 20.1)]


def test_market_sell_fills_at_open_minus_slippage(backend: str) -> None:
    assert fills_of(backend, "sell") == [(1, same(19.8))]  # 20 x 0.99 = 19.8 >= low 19


def test_market_sell_slippage_is_clamped_to_the_low(backend: str) -> None:
    # 20 x 0.99 = 19.8 < low 19.9
    assert fills_of(backend, "sell", later=((20.0, 21.0, 19.9, 20.5),)) == [(1, 19.9)]


def test_limit_buy_fills_at_open_when_open_is_at_or_below_the_limit(backend: str) -> None:
    # open 20 <= 21: the open, price improvement and no slippage
    assert fills_of(backend, "buy", "limit", limit=21.0) == [(1, 20.0)]
    assert fills_of(backend, "buy", "limit", limit=20.0) == [(1, 20.0)]


def test_limit_buy_fills_at_the_limit_when_the_low_reaches_it(backend: str) -> None:
    assert fills_of(backend, "buy", "limit", limit=19.5) == [(1, 19.5)]  # open 20 > 19.5 >= 19
    assert fills_of(backend, "buy", "limit", limit=19.0) == [(1, 19.0)]  # low == limit


def test_limit_buy_does_not_fill_when_the_low_stays_above_the_limit(backend: str) -> None:
    assert fills_of(backend, "buy", "limit", limit=18.9) == []


def test_limit_sell_fills_at_open_when_open_is_at_or_above_the_limit(backend: str) -> None:
    assert fills_of(backend, "sell", "limit", limit=19.5) == [(1, 20.0)]


def test_limit_sell_fills_at_the_limit_when_the_high_reaches_it(backend: str) -> None:
    assert fills_of(backend, "sell", "limit", limit=21.5) == [(1, 21.5)]
    assert fills_of(backend, "sell", "limit", limit=22.0) == [(1, 22.0)]  # high == limit


def test_limit_sell_does_not_fill_when_the_high_stays_below_the_limit(backend: str) -> None:
    assert fills_of(backend, "sell", "limit", limit=22.1) == []


def test_stop_buy_triggered_at_the_open_fills_at_open_plus_slippage(backend: str) -> None:
    # open 20 >= 19.5 (and >= 20): min(20 x 1.01, 22) = 20.2
    assert fills_of(backend, "buy", "stop", stop=19.5) == [(1, same(20.2))]
    assert fills_of(backend, "buy", "stop", stop=20.0) == [(1, same(20.2))]


def test_stop_buy_triggered_in_the_bar_fills_at_stop_plus_slippage(backend: str) -> None:
    # open 20 < 21 <= high 22: min(21 x 1.01, 22) = 21.21
    assert fills_of(backend, "buy", "stop", stop=21.0) == [(1, same(21.21))]


def test_stop_buy_fill_is_clamped_to_the_high(backend: str) -> None:
    # min(21.9 x 1.01 = 22.119, 22) = 22
    assert fills_of(backend, "buy", "stop", stop=21.9) == [(1, 22.0)]


def test_stop_buy_above_the_high_does_not_trigger(backend: str) -> None:
    assert fills_of(backend, "buy", "stop", stop=22.5) == []


def test_stop_sell_triggered_at_the_open_fills_at_open_minus_slippage(backend: str) -> None:
    # open 20 <= 20.5: max(20 x 0.99, 19) = 19.8
    assert fills_of(backend, "sell", "stop", stop=20.5) == [(1, same(19.8))]


def test_stop_sell_triggered_in_the_bar_fills_at_stop_minus_slippage(backend: str) -> None:
    # open 20 > 19.5 >= low 19: max(19.5 x 0.99, 19) = 19.305
    assert fills_of(backend, "sell", "stop", stop=19.5) == [(1, same(19.305))]


def test_stop_sell_fill_is_clamped_to_the_low(backend: str) -> None:
    # max(19.1 x 0.99 = 18.909, 19) = 19
    assert fills_of(backend, "sell", "stop", stop=19.1) == [(1, 19.0)]


def test_stop_sell_below_the_low_does_not_trigger(backend: str) -> None:
    assert fills_of(backend, "sell", "stop", stop=18.5) == []


def test_stop_limit_buy_triggered_at_the_open_uses_the_limit_rule(backend: str) -> None:
    # open 20 >= stop 19.5; limit 20.5: open 20 <= 20.5 -> the open, no slippage
    assert fills_of(backend, "buy", "stop_limit", limit=20.5, stop=19.5) == [(1, 20.0)]
    # limit 19.8: open 20 > 19.8, low 19 <= 19.8 -> the limit, in this same bar
    assert fills_of(backend, "buy", "stop_limit", limit=19.8, stop=19.5) == [(1, 19.8)]


def test_stop_limit_buy_triggered_at_the_open_with_limit_out_of_reach_waits_as_a_limit(
    backend: str,
) -> None:
    # bar 1: open 20 >= stop 19.5 triggers; limit 18.5 < low 19: no fill. Bar 2 (high 19.2 <
    # stop) as a limit order: open 18.8 > 18.5, low 18.4 <= 18.5 -> 18.5
    later = (BAR, (18.8, 19.2, 18.4, 19.0))
    assert fills_of(backend, "buy", "stop_limit", limit=18.5, stop=19.5, later=later) == [(2, 18.5)]


def test_stop_limit_buy_triggered_in_the_bar_fills_at_the_stop_when_within_limit(
    backend: str,
) -> None:
    # open 20 < 21 <= high 22, stop 21 <= limit 21.5 -> the stop, no slippage
    assert fills_of(backend, "buy", "stop_limit", limit=21.5, stop=21.0) == [(1, 21.0)]
    assert fills_of(backend, "buy", "stop_limit", limit=21.0, stop=21.0) == [(1, 21.0)]


def test_stop_limit_buy_with_limit_below_stop_waits_then_fills_as_a_limit(backend: str) -> None:
    # bar 1 triggers (high 22 >= 21) but limit 20.5 < stop 21: no fill in bar 1 even though
    # the low 19 is below 20.5. Bar 2 never reaches the stop (high 20.9), yet as a limit
    # order: open 20.8 > 20.5, low 20.2 <= 20.5 -> 20.5.
    later = (BAR, (20.8, 20.9, 20.2, 20.6))
    assert fills_of(backend, "buy", "stop_limit", limit=20.5, stop=21.0, later=later) == [(2, 20.5)]


def test_stop_limit_sell_triggered_at_the_open_uses_the_limit_rule(backend: str) -> None:
    # open 20 <= stop 20.5; limit 19.5: open 20 >= 19.5 -> the open
    assert fills_of(backend, "sell", "stop_limit", limit=19.5, stop=20.5) == [(1, 20.0)]


def test_stop_limit_sell_triggered_in_the_bar_fills_at_the_stop_when_within_limit(
    backend: str,
) -> None:
    # open 20 > 19.5 >= low 19, stop 19.5 >= limit 19.2 -> 19.5
    assert fills_of(backend, "sell", "stop_limit", limit=19.2, stop=19.5) == [(1, 19.5)]


def test_stop_limit_sell_with_limit_above_stop_waits_then_fills_as_a_limit(backend: str) -> None:
    # bar 1 triggers (low 19 <= 19.5), limit 19.8 > stop: no fill in bar 1 although the high
    # 22 passed 19.8. Bar 2 (low 19.6 > stop): as a limit, open 19.7 < 19.8 <= high 20 -> 19.8
    later = (BAR, (19.7, 20.0, 19.6, 19.9))
    assert fills_of(backend, "sell", "stop_limit", limit=19.8, stop=19.5, later=later) == [
        (2, 19.8)
    ]


@pytest.mark.parametrize("fill_at", ["next_open", "close"])
def test_triggered_stop_stays_triggered_and_then_fills_at_a_later_open(
    backend: str, fill_at: str
) -> None:
    # price_limit 10 % on tick 0.01, previous close 10 -> up = 11.00.
    # Bar 1 touches the stop 11 (high 11): fill price min(11, 11) = 11 >= 11 - 0.005: blocked.
    # Bar 2 (reference 11 -> up 12.10) never reaches the stop (high 10.9), but the order is a
    # market order now: bar 2's open 10.6, also in close mode (not the close 10.7).
    bars = bars_from_rows(
        [(10.0, 10.0, 10.0, 10.0), (10.5, 11.0, 10.4, 11.0), (10.6, 10.9, 10.5, 10.7)]
    )
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("X", 100, "stop", stop_price=11.0)},
        price_limit=0.1,
        tick_size=0.01,
        fill_at=fill_at,
    )
    [fill] = result.fills
    assert (bar_of(fill.timestamp), fill.price) == (2, 10.6)
    assert result.orders[0].triggered is True


# =============================================================== 4. order of matching
def test_older_order_matches_first_and_a_cash_short_second_buy_is_reduced(backend: str) -> None:
    bars = bars_from_rows([(100.0, 100.0, 100.0, 100.0)] * 2)
    result = run(backend, bars, {0: [lambda ctx: ctx.buy("X", 700), lambda ctx: ctx.buy("X", 500)]})
    # order 1: 700 x 100 = 70_000, cash 30_000 left; order 2 then affords 300 x 100 = 30_000
    # (had order 2 gone first it would have filled 500)
    assert [(f.order_id, f.quantity) for f in result.fills] == [(1, 700.0), (2, 300.0)]
    second = result.orders[1]
    assert (second.status, second.reject_reason) == (OrderStatus.CANCELLED, "insufficient_cash")
    assert second.filled_quantity == 300.0
    assert result.cash[1] == 0.0
