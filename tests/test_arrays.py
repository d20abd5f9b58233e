"""Hand-computed tests of docs/semantics.md section 16: array strategies (`run_signals`,
`run_targets`), on both backends. Every expected fill is worked out in the comment above it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quanta_ref import Engine, OrderStatus, Strategy
from quanta_ref.api import BacktestResult
from quanta_ref.bars import Bars
from quanta_ref.errors import ConfigError, DataError
from support import DAY, START, bars_from_rows, same

T, F = True, False


def flat(price: float) -> tuple[float, ...]:
    return (price, price, price, price)


def engine(backend: str, **settings: Any) -> Engine:
    settings.setdefault("initial_cash", 100_000.0)
    return Engine(backend, **settings)


def fills(result: BacktestResult, step: int = DAY) -> list[tuple[Any, ...]]:
    """(order id, bar, side, quantity, price) of every fill (bars `step` apart)."""
    return [
        (f.order_id, int((f.timestamp - int(START)) // step), f.side.value, f.quantity, f.price)
        for f in result.fills
    ]


def symbol_fills(result: BacktestResult) -> list[tuple[Any, ...]]:
    """(order id, bar, symbol, side, quantity, price) of every fill."""
    return [
        (
            f.order_id,
            int((f.timestamp - int(START)) // DAY),
            f.symbol,
            f.side.value,
            f.quantity,
            f.price,
        )
        for f in result.fills
    ]


def status(result: BacktestResult, order_id: int) -> tuple[OrderStatus, str | None]:
    order = result.orders[order_id - 1]
    return order.status, order.reject_reason


# ---------------------------------------------------------------------- regressions
def test_an_int_size_beyond_the_float_range_is_a_config_error(backend: str) -> None:
    # float(10**400) raises OverflowError; the check must turn it into the ConfigError
    bars = bars_from_rows([flat(10.0)] * 2)
    with pytest.raises(ConfigError) as caught:
        Engine(backend).run_signals(bars, [True, False], [False, False], size=10**400)
    assert str(caught.value) == f"size: must be a finite number > 0, got {10**400!r}"


def test_an_infinite_weight_is_named_as_a_plain_float(backend: str) -> None:
    # the element of a float64 array is np.float64, whose repr is "np.float64(inf)"
    bars = bars_from_rows([flat(10.0)] * 3)
    with pytest.raises(DataError) as caught:
        Engine(backend).run_targets(bars, np.array([np.nan, np.inf, 0.5]))
    assert str(caught.value) == (
        "weights: inf is not finite (NaN = no change), symbol 'X', "
        "bar 1 (2024-01-02T00:00:00.000000000)"
    )


def test_a_wrong_shape_message_reports_the_shape_given(backend: str) -> None:
    # a (3,) array for one symbol was reported as "(3, 1)", the shape after the reshape
    bars = bars_from_rows([flat(10.0)] * 4)
    with pytest.raises(DataError) as caught:
        Engine(backend).run_signals(bars, [True, False, False], [False] * 4)
    assert str(caught.value) == "entries: expected shape (4, 1) (bars x symbols), got (3,)"


# ---------------------------------------------------------------------- entries and exits
def test_entry_fills_at_the_next_open_all_in_whole_lots_commission_included(backend: str) -> None:
    # bar 1 open 25, cash 100_000: 100_000 / 25 = 4_000, but 100_000 + commission 100 > cash
    # -> 3_900 (lots of 100): 97_500 + 97.5 fits; cash 2_402.5
    bars = bars_from_rows([flat(25.0), (25.0, 26.0, 24.0, 25.5)])
    result = engine(backend, lot_size=100, commission_rate=0.001).run_signals(bars, [T, F], [F, F])
    assert fills(result) == [(1, 1, "buy", 3_900.0, 25.0)]
    assert result.fills[0].commission == same(97.5)
    assert status(result, 1) == (OrderStatus.FILLED, None)
    assert result.orders[0].target_percent == 1.0
    assert result.cash[1] == same(2_402.5)
    assert result.equity[1] == same(2_402.5 + 3_900.0 * 25.5)


def test_exit_goes_flat_at_the_next_open(backend: str) -> None:
    # buy 100_000 / 11 -> 9_090 at 11 (99_990, cash 10); exit at bar 2 sells all 9_090 at
    # bar 3's open 13: cash 10 + 118_170; one trade of (13 - 11) x 9_090
    bars = bars_from_rows([flat(10.0), flat(11.0), flat(12.0), flat(13.0)])
    result = engine(backend).run_signals(bars, [T, F, F, F], [F, F, T, F])
    assert fills(result) == [(1, 1, "buy", 9_090.0, 11.0), (2, 3, "sell", 9_090.0, 13.0)]
    assert result.orders[1].target_percent == 0.0
    assert result.positions[0].quantity == 0.0
    assert [t.pnl for t in result.trades] == [18_180.0]
    assert result.cash[3] == 118_180.0 and result.equity[3] == 118_180.0


def test_repeated_entries_while_long_place_no_orders(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 4)
    result = engine(backend).run_signals(bars, [T, T, T, T], [F, F, F, F])
    assert len(result.orders) == 1
    assert fills(result) == [(1, 1, "buy", 10_000.0, 10.0)]


def test_entry_with_exit_on_one_bar_does_nothing_when_flat(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 3)
    result = engine(backend).run_signals(bars, [T, F, F], [T, F, F])
    assert result.orders == [] and result.fills == []


def test_entry_with_exit_on_one_bar_exits_when_long(backend: str) -> None:
    # long from bar 1; bar 2 has both: the exit wins, sold at bar 3
    bars = bars_from_rows([flat(10.0)] * 4)
    result = engine(backend).run_signals(bars, [T, F, T, F], [F, F, T, F])
    assert fills(result) == [(1, 1, "buy", 10_000.0, 10.0), (2, 3, "sell", 10_000.0, 10.0)]


def test_long_and_short_entry_together_are_both_ignored(backend: str) -> None:
    # bar 0: both from flat -> nothing; bar 1: long entry (bought at bar 2); bar 2: both while
    # long -> no reversal
    bars = bars_from_rows([flat(10.0)] * 4)
    result = engine(backend, allow_short=True).run_signals(
        bars, [T, T, T, F], [F, F, F, F], short_entries=[T, F, T, F]
    )
    assert fills(result) == [(1, 2, "buy", 10_000.0, 10.0)]
    assert len(result.orders) == 1


# ---------------------------------------------------------------------- shorts and reversals
def test_short_entry_and_reversals_on_a_margin_account(backend: str) -> None:
    # bar 1 open 10: target -100_000 / 10 = -10_000: sell 10_000, cash 200_000.
    # bar 2 open 8: E(8) = 200_000 - 80_000 = 120_000, target 120_000 / 8 = 15_000: buy 25_000
    #   for 200_000, cash 0 (exposure 120_000 <= 2 x 120_000).
    # bar 3 open 10: E(10) = 150_000, target -15_000: sell 30_000, cash 300_000.
    bars = bars_from_rows([flat(10.0), flat(10.0), flat(8.0), flat(10.0)])
    result = engine(backend, allow_short=True).run_signals(
        bars, [F, T, F, F], [F, F, F, F], short_entries=[T, F, T, F]
    )
    assert fills(result) == [
        (1, 1, "sell", 10_000.0, 10.0),
        (2, 2, "buy", 25_000.0, 8.0),
        (3, 3, "sell", 30_000.0, 10.0),
    ]
    assert [o.target_percent for o in result.orders] == [-1.0, 1.0, -1.0]
    position = result.positions[0]
    assert (position.quantity, position.average_cost) == (-15_000.0, 10.0)
    # short 10_000 from 10 to 8, long 15_000 from 8 to 10
    assert [(t.direction, t.quantity, t.pnl) for t in result.trades] == [
        (-1, 10_000.0, 20_000.0),
        (1, 15_000.0, 30_000.0),
    ]
    assert result.cash[3] == 300_000.0 and result.equity[3] == 150_000.0


def test_short_exit_covers_the_short_and_a_long_exit_does_not(backend: str) -> None:
    # short 10_000 at 10 (cash 200_000); covered at bar 2's open 9: cash 110_000
    bars = bars_from_rows([flat(10.0), flat(10.0), flat(9.0)])
    run = engine(backend, allow_short=True)
    covered = run.run_signals(
        bars, [F, F, F], [F, F, F], short_entries=[T, F, F], short_exits=[F, T, F]
    )
    assert fills(covered) == [(1, 1, "sell", 10_000.0, 10.0), (2, 2, "buy", 10_000.0, 9.0)]
    assert covered.equity[2] == 110_000.0
    kept = run.run_signals(bars, [F, F, F], [F, T, F], short_entries=[T, F, F])
    assert len(kept.orders) == 1 and kept.positions[0].quantity == -10_000.0


# ---------------------------------------------------------------------- sizing
def test_size_as_a_fraction_of_equity(backend: str) -> None:
    # 0.5 x 100_000 / 30 = 1_666.7 -> 1_600 in lots of 100
    bars = bars_from_rows([flat(30.0)] * 2)
    result = engine(backend, lot_size=100).run_signals(bars, [T, F], [F, F], size=0.5)
    assert fills(result) == [(1, 1, "buy", 1_600.0, 30.0)]


def test_size_as_a_quantity_and_its_reversal(backend: str) -> None:
    # target +300, then -300: buy 300, sell 600
    bars = bars_from_rows([flat(10.0)] * 4)
    result = engine(backend, allow_short=True).run_signals(
        bars, [T, F, F, F], [F, F, F, F], short_entries=[F, F, T, F], size=300, size_type="quantity"
    )
    assert fills(result) == [(1, 1, "buy", 300.0, 10.0), (2, 3, "sell", 600.0, 10.0)]
    assert [o.target_quantity for o in result.orders] == [300.0, -300.0]
    assert result.positions[0].quantity == -300.0


def test_size_as_a_quantity_is_rounded_down_to_lots(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 2)
    result = engine(backend, lot_size=100).run_signals(
        bars, [T, F], [F, F], size=250, size_type="quantity"
    )
    assert fills(result) == [(1, 1, "buy", 200.0, 10.0)]


# ---------------------------------------------------------------------- stop-loss, take-profit
def bracket_run(backend: str, bar_2: tuple[float, ...], **options: Any) -> BacktestResult:
    """Long 100 at 100 (cash 10_000, bought at bar 1), exits from bar 2 on, bar 2 = `bar_2`."""
    bars = bars_from_rows([flat(100.0), flat(100.0), bar_2, flat(100.0)])
    return engine(backend, initial_cash=10_000.0).run_signals(
        bars, [T, F, F, F], [F] * 4, **options
    )


def test_stop_loss_sells_at_the_stop_price(backend: str) -> None:
    # stop at cost x (1 - 0.1) = 90; bar 2 opens at 98 and trades down to 85: filled at 90
    result = bracket_run(backend, (98.0, 99.0, 85.0, 88.0), stop_loss=0.1)
    stop = result.orders[1]
    assert (stop.order_type.value, stop.side.value, stop.quantity, stop.stop_price) == (
        "stop",
        "sell",
        100.0,
        100.0 * (1.0 - 0.1),
    )
    assert fills(result) == [(1, 1, "buy", 100.0, 100.0), (2, 2, "sell", 100.0, 90.0)]
    assert result.cash[2] == 9_000.0
    assert [t.pnl for t in result.trades] == [-1_000.0]


def test_take_profit_sells_at_the_limit_and_cancels_the_stop(backend: str) -> None:
    # stop 90, limit 100 x (1 + 0.1); bar 2 (105, 112, 104): the high reaches the limit
    result = bracket_run(backend, (105.0, 112.0, 104.0, 111.0), stop_loss=0.1, take_profit=0.1)
    limit = result.orders[2]
    assert (limit.order_type.value, limit.side.value, limit.limit_price) == (
        "limit",
        "sell",
        100.0 * (1.0 + 0.1),
    )
    assert fills(result)[1:] == [(3, 2, "sell", 100.0, 100.0 * (1.0 + 0.1))]
    assert status(result, 2) == (OrderStatus.CANCELLED, "oco")
    assert status(result, 3) == (OrderStatus.FILLED, None)


def test_stop_and_take_profit_inside_one_bar_take_the_stop(backend: str) -> None:
    # bar 2 (100, 115, 85): both levels inside; the stop is older and matched first
    result = bracket_run(backend, (100.0, 115.0, 85.0, 100.0), stop_loss=0.1, take_profit=0.1)
    assert fills(result)[1:] == [(2, 2, "sell", 100.0, 90.0)]
    assert status(result, 3) == (OrderStatus.CANCELLED, "oco")


def test_a_bar_opening_above_the_take_profit_and_reaching_the_stop_takes_the_stop(
    backend: str,
) -> None:
    # The rule of section 16 as written: the stop is matched first whenever both levels are in
    # the bar, even when the bar opened beyond the take-profit (as backtesting.py does).
    result = bracket_run(backend, (115.0, 116.0, 85.0, 100.0), stop_loss=0.1, take_profit=0.1)
    assert fills(result)[1:] == [(2, 2, "sell", 100.0, 90.0)]
    assert status(result, 3) == (OrderStatus.CANCELLED, "oco")


def test_a_gap_through_the_stop_fills_at_the_open(backend: str) -> None:
    # slippage 10 bps. Bar 1: the entry at min(100 x 1.001, high 100) = 100 -> 100 shares.
    # Bar 2 opens at 80, below the stop 90: max(80 x (1 - 0.001), low 75) = 79.92
    bars = bars_from_rows([flat(100.0), flat(100.0), (80.0, 82.0, 75.0, 81.0)])
    result = engine(backend, initial_cash=10_000.0, slippage_bps=10.0).run_signals(
        bars, [T, F, F], [F, F, F], stop_loss=0.1, take_profit=0.1
    )
    assert fills(result) == [(1, 1, "buy", 100.0, 100.0), (2, 2, "sell", 100.0, same(79.92))]
    assert status(result, 3) == (OrderStatus.CANCELLED, "oco")


def test_short_exits_are_a_buy_stop_above_and_a_buy_limit_below_the_cost(backend: str) -> None:
    # short 100 at 100 (cash 20_000): buy stop at 100 x 1.1, buy limit at 100 x 0.9 = 90;
    # bar 2 (95, 96, 88): the low reaches the limit -> bought back at 90, cash 11_000
    bars = bars_from_rows([flat(100.0), flat(100.0), (95.0, 96.0, 88.0, 90.0), flat(90.0)])
    result = engine(backend, initial_cash=10_000.0, allow_short=True).run_signals(
        bars, [F] * 4, [F] * 4, short_entries=[T, F, F, F], stop_loss=0.1, take_profit=0.1
    )
    stop, limit = result.orders[1], result.orders[2]
    assert (stop.side.value, stop.quantity, stop.stop_price) == ("buy", 100.0, 100.0 * (1.0 + 0.1))
    assert (limit.side.value, limit.quantity, limit.limit_price) == (
        "buy",
        100.0,
        100.0 * (1.0 - 0.1),
    )
    assert fills(result) == [(1, 1, "sell", 100.0, 100.0), (3, 2, "buy", 100.0, 90.0)]
    assert status(result, 2) == (OrderStatus.CANCELLED, "oco")
    assert result.cash[2] == 11_000.0


def test_exit_signal_cancels_the_live_exit_orders(backend: str) -> None:
    # exits 2 (stop 90) and 3 (limit 110) from the fill at bar 1; the exit at bar 2 cancels
    # the stop (and with it, by their group, the limit) and sends order 4, filled at bar 3's
    # open 95 although bar 3 reaches the stop
    bars = bars_from_rows([flat(100.0), flat(100.0), flat(100.0), (95.0, 96.0, 85.0, 90.0)])
    result = engine(backend, initial_cash=10_000.0).run_signals(
        bars, [T, F, F, F], [F, F, T, F], stop_loss=0.1, take_profit=0.1
    )
    assert status(result, 2) == (OrderStatus.CANCELLED, None)
    assert status(result, 3) == (OrderStatus.CANCELLED, "oco")
    assert fills(result) == [(1, 1, "buy", 100.0, 100.0), (4, 3, "sell", 100.0, 95.0)]


def test_a_reversal_replaces_the_exits_by_those_of_the_new_side(backend: str) -> None:
    # long 100 at 100: sell stop 2 at 90. Short entry at bar 1 cancels it; bar 2: E = 10_000,
    # target -100: sell 200 at 100; then a buy stop (order 4) for the 100 short at 100 x 1.1
    bars = bars_from_rows([flat(100.0)] * 4)
    result = engine(backend, initial_cash=10_000.0, allow_short=True).run_signals(
        bars, [T, F, F, F], [F] * 4, short_entries=[F, T, F, F], stop_loss=0.1
    )
    assert fills(result) == [(1, 1, "buy", 100.0, 100.0), (3, 2, "sell", 200.0, 100.0)]
    assert status(result, 2) == (OrderStatus.CANCELLED, None)
    stop = result.orders[3]
    assert (
        stop.order_type.value,
        stop.side.value,
        stop.quantity,
        stop.stop_price,
        stop.status,
    ) == ("stop", "buy", 100.0, 100.0 * (1.0 + 0.1), OrderStatus.PENDING)


def test_exits_follow_each_partial_fill_of_the_entry(backend: str) -> None:
    # cash 3_000 at 10: target 300; volume 1_000 x 0.1 = 100 per bar -> 100 at bars 1, 2, 3.
    # After each fill the exits are replaced for the whole position: stops of 100, 200, 300
    # at 10 x 0.9 (the entry, older, is matched first and cancels the previous stop)
    bars = bars_from_rows([(10.0, 10.0, 10.0, 10.0, 1_000.0)] * 5)
    result = engine(backend, initial_cash=3_000.0, max_volume_fraction=0.1).run_signals(
        bars, [T, F, F, F, F], [F] * 5, stop_loss=0.1
    )
    assert fills(result) == [
        (1, 1, "buy", 100.0, 10.0),
        (1, 2, "buy", 100.0, 10.0),
        (1, 3, "buy", 100.0, 10.0),
    ]
    stops = [(o.order_id, o.quantity, o.stop_price, o.status) for o in result.orders[1:]]
    assert stops == [
        (2, 100.0, 10.0 * 0.9, OrderStatus.CANCELLED),
        (3, 200.0, 10.0 * 0.9, OrderStatus.CANCELLED),
        (4, 300.0, 10.0 * 0.9, OrderStatus.PENDING),
    ]


def test_stop_loss_sells_exactly_a_fractional_holding(backend: str) -> None:
    # fractional, lots of 0.001: 1_000 / 3 -> floor(333_333.3) x 0.001; the stop sells exactly
    # what is held (at 3 x 0.9 = 2.7) and leaves no dust
    bars = bars_from_rows([flat(3.0), flat(3.0), (2.9, 2.95, 2.0, 2.5)])
    result = engine(backend, initial_cash=1_000.0, fractional=True, lot_size=0.001).run_signals(
        bars, [T, F, F], [F, F, F], stop_loss=0.1
    )
    held = 333_333.0 * 0.001
    assert fills(result) == [(1, 1, "buy", held, 3.0), (2, 2, "sell", held, 3.0 * 0.9)]
    assert result.positions[0].quantity == 0.0


def test_close_mode_fills_at_the_decision_close_and_exits_start_next_bar(backend: str) -> None:
    # bar 0 close 11: 100_000 / 11 -> 9_090. Stop at 11 x 0.9 = 9.9, below bar 0's low 9
    # but live only from bar 1, whose low 9.5 reaches it: sold at 9.9
    bars = bars_from_rows([(10.0, 12.0, 9.0, 11.0), (10.0, 10.5, 9.5, 10.0), flat(10.0)])
    result = engine(backend, fill_at="close").run_signals(bars, [T, F, F], [F, F, F], stop_loss=0.1)
    assert fills(result) == [
        (1, 0, "buy", 9_090.0, 11.0),
        (2, 1, "sell", 9_090.0, 11.0 * (1.0 - 0.1)),
    ]


# ---------------------------------------------------------------------- market rules
def test_an_entry_waiting_at_limit_up_is_replaced_by_an_exit(backend: str) -> None:
    # cn_a: bar 1 is at limit-up (10 x 1.1 = 11.00), the entry waits unsized. The exit at
    # bar 1 cancels it and sends a target 0, which has nothing to do at bar 2.
    bars = bars_from_rows([flat(10.0), flat(11.0), flat(11.5)])
    result = engine(backend, market="cn_a", price_limit=0.1).run_signals(bars, [T, F, F], [F, T, F])
    assert result.fills == []
    assert status(result, 1) == (OrderStatus.CANCELLED, None)
    assert result.orders[0].side is None
    assert status(result, 2) == (OrderStatus.CANCELLED, "zero_quantity")


def test_an_entry_waiting_at_limit_up_fills_when_the_limit_opens(backend: str) -> None:
    # bar 2: limit-up 11 x 1.1 = 12.10, open 11.5 trades. 100_000 / 11.5 -> 8_600 (lots of
    # 100): 98_900 + minimum commission 5 + transfer fee 0.989 (2024: 0.001 %) fits
    bars = bars_from_rows([flat(10.0), flat(11.0), flat(11.5)])
    cn_a = engine(backend, market="cn_a", price_limit=0.1)
    result = cn_a.run_signals(bars, [T, F, F], [F, F, F])
    assert fills(result) == [(1, 2, "buy", 8_600.0, 11.5)]
    assert (result.fills[0].commission, result.fills[0].tax) == (5.0, same(0.989))
    assert result.cash[2] == same(1_095.0 - 0.989)


def test_a_stop_at_limit_down_waits_and_sells_at_the_next_open(backend: str) -> None:
    # cn_a (2024 costs; 10 % limits): 100_000 at 10 -> 9_900 (99_000 + 5 + 0.99 transfer fee
    # fits, 10_000 would not); cash 994.01. Stop at 10 x 0.95 = 9.5; bar 2 opens at
    # limit-down 9.00: triggered, not filled. Bar 3 (limit-down 8.10): the triggered stop
    # sells at the open 8.5: 84_150 - 5 - 42.075 stamp duty - 0.8415 transfer fee
    bars = bars_from_rows([flat(10.0), flat(10.0), flat(9.0), (8.5, 8.8, 8.2, 8.6)])
    cn_a = engine(backend, market="cn_a", price_limit=0.1)
    result = cn_a.run_signals(bars, [T, F, F, F], [F] * 4, stop_loss=0.05)
    assert fills(result) == [(1, 1, "buy", 9_900.0, 10.0), (2, 3, "sell", 9_900.0, 8.5)]
    assert result.fills[1].tax == same(42.075 + 0.8415)
    assert result.cash[3] == same(994.01 + 84_150.0 - 5.0 - 42.075 - 0.8415)


def test_t_plus_1_exit_on_the_buy_day_sells_the_next_day(backend: str) -> None:
    # three bars a day; bought at bar 1 (day 0); the exit's order meets bar 2 (day 0) where
    # nothing is sellable, waits unsized, and sells all at bar 3 (day 1)
    step = DAY // 3
    bars = bars_from_rows([flat(10.0)] * 3 + [flat(12.0)], step=step)
    result = engine(backend, settlement="T+1", lot_size=100).run_signals(
        bars, [T, F, F, F], [F, T, F, F]
    )
    assert fills(result, step) == [(1, 1, "buy", 10_000.0, 10.0), (2, 3, "sell", 10_000.0, 12.0)]


def test_t_plus_1_stop_triggered_on_the_buy_day_sells_at_the_next_days_open(backend: str) -> None:
    # bar 2 (day 0) reaches the stop 90 but the shares were bought today: triggered, waits;
    # bar 3 (day 1): sold at its open 87 as a market order
    step = DAY // 3
    bars = bars_from_rows(
        [flat(100.0), flat(100.0), (95.0, 96.0, 85.0, 88.0), (87.0, 89.0, 80.0, 85.0)], step=step
    )
    result = engine(backend, initial_cash=10_000.0, settlement="T+1").run_signals(
        bars, [T, F, F, F], [F] * 4, stop_loss=0.1, take_profit=0.1
    )
    assert fills(result, step) == [(1, 1, "buy", 100.0, 100.0), (2, 3, "sell", 100.0, 87.0)]
    assert status(result, 3) == (OrderStatus.CANCELLED, "oco")


# ---------------------------------------------------------------------- missing bars
def test_signals_on_a_missing_bar_are_ignored(backend: str) -> None:
    bars = bars_from_rows([flat(10.0), flat(10.0), None, flat(10.0)])
    result = engine(backend).run_signals(bars, [T, F, F, F], [F, F, T, F])
    assert len(result.orders) == 1 and result.positions[0].quantity == 10_000.0


def test_signals_before_a_symbols_first_bar_are_ignored(backend: str) -> None:
    # B is listed from bar 2: its entries at bars 0 and 1 are ignored; the one at bar 2 is
    # bought at bar 3
    bars = bars_from_rows({"A": [flat(10.0)] * 4, "B": [None, None, flat(20.0), flat(20.0)]})
    entries = np.array([[F, T]] * 4)
    result = engine(backend).run_signals(bars, entries, np.zeros((4, 2), bool))
    assert symbol_fills(result) == [(1, 3, "B", "buy", 5_000.0, 20.0)]


def test_a_row_is_decided_even_when_its_last_symbol_is_missing(backend: str) -> None:
    # bar 1 has A only: A's entry is decided there (bought at bar 2)
    bars = bars_from_rows({"A": [flat(10.0)] * 3, "B": [flat(20.0), None, flat(20.0)]})
    entries = np.array([[F, F], [T, F], [F, F]])
    result = engine(backend).run_signals(bars, entries, np.zeros((3, 2), bool))
    assert symbol_fills(result) == [(1, 2, "A", "buy", 10_000.0, 10.0)]


def test_one_symbol_takes_t_arrays_or_t_by_1(backend: str) -> None:
    bars = bars_from_rows([flat(10.0), flat(11.0), flat(9.0), flat(12.0)])
    entries, exits = np.array([T, F, T, F]), np.array([F, T, F, F])
    flat_run = engine(backend).run_signals(bars, entries, exits)
    column = engine(backend).run_signals(bars, entries[:, None], exits[:, None])
    assert fills(flat_run) == fills(column) and len(flat_run.fills) == 3
    assert flat_run.equity.tobytes() == column.equity.tobytes()


def test_sells_are_sent_before_buys_across_symbols(backend: str) -> None:
    # A (first in data order) enters while B exits at bar 1: B's sell is order 2, A's buy
    # order 3; at bar 2 the sale frees 100_000 for A: 5_000 at 20
    bars = bars_from_rows({"A": [flat(20.0)] * 3, "B": [flat(10.0)] * 3})
    entries = np.array([[F, T], [T, F], [F, F]])
    exits = np.array([[F, F], [F, T], [F, F]])
    result = engine(backend).run_signals(bars, entries, exits)
    assert symbol_fills(result) == [
        (1, 1, "B", "buy", 10_000.0, 10.0),
        (2, 2, "B", "sell", 10_000.0, 10.0),
        (3, 2, "A", "buy", 5_000.0, 20.0),
    ]


# ---------------------------------------------------------------------- rejected orders
def test_a_rejected_entry_leaves_the_symbol_flat_and_the_next_entry_tries_again(
    backend: str,
) -> None:
    # cash 100, minimum commission 50: at 60 one share costs 110 -> rejected. At 20:
    # min(100 / 20, (100 - 50) / 20) -> 2 shares, 40 + 50; the entry at bar 2 is a repeat
    bars = bars_from_rows([flat(60.0), flat(60.0), flat(20.0), flat(20.0)])
    result = engine(backend, initial_cash=100.0, min_commission=50.0).run_signals(
        bars, [T, T, T, F], [F] * 4
    )
    assert status(result, 1) == (OrderStatus.REJECTED, "insufficient_cash")
    assert fills(result) == [(2, 2, "buy", 2.0, 20.0)]
    assert len(result.orders) == 2
    assert result.cash[2] == 10.0


def test_a_reversal_refused_at_the_fill_leaves_the_position_without_exit_orders(
    backend: str,
) -> None:
    # The rule of section 16 as written: a decision cancels the exits before its order is
    # sent. Short 100 at 100 (cash 20_000), buy stop at 150. Bar 2 closes at 120: equity
    # 8_000, a 20 % drawdown -> buying halted. The entry at bar 2 cancels the stop; its
    # reversal (buy 166 at bar 3) is refused (drawdown_halt), and the short stays unprotected.
    bars = bars_from_rows([flat(100.0), flat(100.0), flat(120.0), flat(120.0), flat(200.0)])
    result = engine(
        backend, initial_cash=10_000.0, allow_short=True, max_drawdown_stop=0.1
    ).run_signals(bars, [F, F, T, F, F], [F] * 5, short_entries=[T, F, F, F, F], stop_loss=0.5)
    assert status(result, 2) == (OrderStatus.CANCELLED, None)
    assert status(result, 3) == (OrderStatus.REJECTED, "drawdown_halt")
    assert len(result.orders) == 3 and len(result.fills) == 1
    assert result.positions[0].quantity == -100.0


EXIT_PRICE_ERRORS = [
    # cost 10 x (1 + 1e308) overflows: refused at the call, not at bar 1 naming limit_price
    (
        10.0,
        {"take_profit": 1e308},
        "take_profit: the exit price cost x (1 + take_profit) is inf for a cost of 10.0 "
        "(a price of the panel), not a finite price > 0; got 1e+308",
    ),
    (
        1e300,
        {"take_profit": 1e10},
        "take_profit: the exit price cost x (1 + take_profit) is inf for a cost of 1e+300 "
        "(a price of the panel), not a finite price > 0; got 10000000000.0",
    ),
    # a short's stop above the cost overflows for a price near the top of the float range
    (
        1.5e308,
        {"stop_loss": 0.5, "short_entries": [F, F, T]},
        "stop_loss: the exit price cost x (1 + stop_loss) is inf for a cost of 1.5e+308 "
        "(a price of the panel), not a finite price > 0; got 0.5",
    ),
    # a long's stop just above 0 rounds to 0 for a subnormal price
    (
        1e-310,
        {"stop_loss": 0.9999999999999999},
        "stop_loss: the exit price cost x (1 - stop_loss) is 0.0 for a cost of 1e-310 "
        "(a price of the panel), not a finite price > 0; got 0.9999999999999999",
    ),
]


@pytest.mark.parametrize(("price", "options", "message"), EXIT_PRICE_ERRORS)
def test_an_exit_level_that_is_no_finite_price_is_refused_at_the_call(
    backend: str, price: float, options: dict[str, Any], message: str
) -> None:
    bars = bars_from_rows([flat(price)] * 3)
    run = engine(backend, initial_cash=1e303, allow_short=True, fractional=True)
    with pytest.raises(ConfigError) as caught:
        run.run_signals(bars, [T, F, F], [F, F, F], **options)
    assert str(caught.value) == message


def test_the_largest_take_profit_with_a_finite_exit_price_trades(backend: str) -> None:
    # 10 x (1 + 1e307) is finite: allowed, and the limit simply never fills
    bars = bars_from_rows([flat(10.0)] * 3)
    result = engine(backend).run_signals(bars, [T, F, F], [F, F, F], take_profit=1e307)
    assert [o.limit_price for o in result.orders if o.limit_price is not None] == [1e308]


# ---------------------------------------------------------------------- targets
def test_rebalance_sends_sells_before_buys_so_the_buys_get_the_cash(backend: str) -> None:
    # Bar 0: all in B (10_000 at 10, cash 0). Bar 1: A -> 1.0, B -> 0.0. A comes first in
    # data order, but B's sale is order 2 and A's buy order 3: at bar 2 the sale frees
    # 100_000 and A buys 100_000 / 20 = 5_000. (A first would have had no cash.)
    bars = bars_from_rows({"A": [flat(20.0)] * 3, "B": [flat(10.0)] * 3})
    weights = np.array([[np.nan, 1.0], [1.0, 0.0], [np.nan, np.nan]])
    result = engine(backend).run_targets(bars, weights)
    assert symbol_fills(result) == [
        (1, 1, "B", "buy", 10_000.0, 10.0),
        (2, 2, "B", "sell", 10_000.0, 10.0),
        (3, 2, "A", "buy", 5_000.0, 20.0),
    ]


def test_a_nan_weight_leaves_the_position_as_it_is(backend: str) -> None:
    # 0.5 x 100_000 / 10 = 5_000 at bar 1; then NaN: no order while the price moves
    bars = bars_from_rows([flat(10.0), flat(10.0), flat(12.0), flat(15.0)])
    result = engine(backend).run_targets(bars, [0.5, np.nan, np.nan, np.nan])
    assert fills(result) == [(1, 1, "buy", 5_000.0, 10.0)]
    assert len(result.orders) == 1
    assert result.equity[3] == 50_000.0 + 5_000.0 * 15.0


def test_a_weight_repeated_on_every_bar_corrects_drift(backend: str) -> None:
    # bar 1: A 5_000 at 10 (E = 100_000), B: E = 50_000 + 5_000 x 10 -> 5_000 at 10; cash 0.
    # A closes bar 1 at 20: E = 150_000; 0.5 x 150_000 / 20 = 3_750 < 5_000 (A sells first),
    # 0.5 x 150_000 / 10 = 7_500. Bar 2: A sells 1_250 at 20 (cash 25_000); B: E = 25_000 +
    # 3_750 x 20 + 5_000 x 10 = 150_000 -> buys 2_500 at 10 (cash 0). Bar 3: both targets
    # met -> cancelled, zero_quantity.
    bars = bars_from_rows(
        {"A": [flat(10.0), (10.0, 20.0, 10.0, 20.0), flat(20.0), flat(20.0)], "B": [flat(10.0)] * 4}
    )
    weights = np.array([[0.5, 0.5]] * 3 + [[np.nan, np.nan]])
    result = engine(backend).run_targets(bars, weights)
    assert symbol_fills(result) == [
        (1, 1, "A", "buy", 5_000.0, 10.0),
        (2, 1, "B", "buy", 5_000.0, 10.0),
        (3, 2, "A", "sell", 1_250.0, 20.0),
        (4, 2, "B", "buy", 2_500.0, 10.0),
    ]
    assert [status(result, k) for k in (5, 6)] == [(OrderStatus.CANCELLED, "zero_quantity")] * 2
    assert [p.quantity for p in result.positions] == [3_750.0, 7_500.0]


def test_a_weight_of_a_symbol_missing_in_its_row_is_skipped(backend: str) -> None:
    # bar 1 has A only (so A's on_bar decides): B's weight there is ignored
    bars = bars_from_rows({"A": [flat(10.0)] * 3, "B": [flat(10.0), None, flat(10.0)]})
    weights = np.array([[np.nan, np.nan], [0.5, 0.5], [np.nan, np.nan]])
    result = engine(backend).run_targets(bars, weights)
    assert symbol_fills(result) == [(1, 2, "A", "buy", 5_000.0, 10.0)]
    assert len(result.orders) == 1


def test_a_new_weight_replaces_the_live_target_order(backend: str) -> None:
    # cn_a: bar 1 at limit-up, the 1.0 target waits; the 0.5 at bar 1 cancels it. Bar 2:
    # 0.5 x 100_000 / 11.5 = 4_347.8 -> 4_300 (lots of 100): 49_450 + 5
    bars = bars_from_rows([flat(10.0), flat(11.0), flat(11.5)])
    result = engine(backend, market="cn_a", price_limit=0.1).run_targets(bars, [1.0, 0.5, np.nan])
    assert status(result, 1) == (OrderStatus.CANCELLED, None)
    assert fills(result) == [(2, 2, "buy", 4_300.0, 11.5)]


def test_a_zero_weight_for_a_flat_symbol_with_no_live_order_sends_no_order(backend: str) -> None:
    # A at 0.5 from bar 0; B flat at weight 0 on every bar: no order for B at bars 0 and 1.
    # Bar 1 moves A to 0 (it holds 5_000): its order is sent, and fills at bar 2's open.
    # Bar 2: A is flat again and its weight 0 sends nothing.
    bars = bars_from_rows({"A": [flat(10.0)] * 4, "B": [flat(20.0)] * 4})
    weights = np.array([[0.5, 0.0], [0.0, 0.0], [0.0, 0.0], [np.nan, np.nan]])
    result = engine(backend).run_targets(bars, weights)
    assert symbol_fills(result) == [
        (1, 1, "A", "buy", 5_000.0, 10.0),
        (2, 2, "A", "sell", 5_000.0, 10.0),
    ]
    assert len(result.orders) == 2


def test_zero_weights_that_send_no_order_change_no_fill_or_equity(backend: str) -> None:
    # The same weights sent as a Python strategy that orders every weight, zeros included:
    # the same fills (but for the order ids) and the same equity, bit for bit.
    rng = np.random.default_rng(7)
    n_bars, n_symbols = 40, 6
    close = 10.0 + np.cumsum(rng.normal(0.0, 0.2, (n_bars, n_symbols)), axis=0)
    rows = {f"S{n}": [flat(float(c)) for c in close[:, n]] for n in range(n_symbols)}
    bars = bars_from_rows(rows)
    weights = np.full((n_bars, n_symbols), np.nan)
    for t in range(0, n_bars, 5):  # every 5 bars: 1/2 in two random symbols, 0 elsewhere
        weights[t] = 0.0
        weights[t, rng.choice(n_symbols, 2, replace=False)] = 0.5
    result = engine(backend).run_targets(bars, weights)

    class EveryWeight(Strategy):
        def on_bar(self, ctx: Any, bar: Any) -> None:
            t = ctx.bar_index
            if bar.symbol != bars.symbols[-1] or np.isnan(weights[t]).all():
                return
            equity = ctx.equity
            order = sorted(
                range(n_symbols),
                key=lambda n: weights[t, n] * equity / close[t, n] >= ctx.position(f"S{n}"),
            )  # sells first, each group in data order (a stable sort)
            for n in order:
                ctx.order_target_percent(f"S{n}", float(weights[t, n]))

    every = engine(backend).run(bars, EveryWeight())
    assert len(every.orders) > len(result.orders)  # the zeros were orders there
    assert symbol_fills(result)  # it trades
    assert [f[1:] for f in symbol_fills(result)] == [f[1:] for f in symbol_fills(every)]
    assert result.equity.tobytes() == every.equity.tobytes()


# ---------------------------------------------------------------------- input errors
TWO = bars_from_rows({"A": [flat(10.0)] * 3, "B": [flat(20.0)] * 3})
NO = np.zeros((3, 2), bool)
SIGNAL_ERRORS = [
    (
        dict(entries=np.zeros((3, 1), bool)),
        DataError,
        "entries: expected shape (3, 2) (bars x symbols), got (3, 1)",
    ),
    (
        dict(entries=np.zeros(3, bool)),
        DataError,
        "entries: expected shape (3, 2) (bars x symbols), got (3,)",
    ),
    (
        dict(exits=np.zeros((2, 3), bool)),
        DataError,
        "exits: expected shape (3, 2) (bars x symbols), got (2, 3)",
    ),
    (dict(entries=np.zeros((3, 2), int)), DataError, "entries: expected booleans, got dtype int64"),
    (dict(exits=np.zeros((3, 2))), DataError, "exits: expected booleans, got dtype float64"),
    (dict(entries=[[True, None]] * 3), DataError, "entries: expected booleans, got dtype object"),
    (
        dict(short_entries=NO),
        ConfigError,
        "short_entries: short positions need a margin account (allow_short=True)",
    ),
    (dict(size=0.0), ConfigError, "size: must be a finite number > 0, got 0.0"),
    (dict(size=-1), ConfigError, "size: must be a finite number > 0, got -1"),
    (dict(size=float("nan")), ConfigError, "size: must be a finite number > 0, got nan"),
    (dict(size=float("inf")), ConfigError, "size: must be a finite number > 0, got inf"),
    (dict(size=True), ConfigError, "size: expected a number, got True"),
    (dict(size="1"), ConfigError, "size: expected a number, got '1'"),
    (
        dict(size_type="shares"),
        ConfigError,
        "size_type: must be one of ('percent', 'quantity'), got 'shares'",
    ),
    (
        dict(size_type=None),
        ConfigError,
        "size_type: must be one of ('percent', 'quantity'), got None",
    ),
    (
        dict(stop_loss=1.0),
        ConfigError,
        "stop_loss: must be below 1 (a fraction of the cost), got 1.0",
    ),
    (dict(stop_loss=0.0), ConfigError, "stop_loss: must be a finite number > 0, got 0.0"),
    (dict(take_profit=-0.5), ConfigError, "take_profit: must be a finite number > 0, got -0.5"),
]


@pytest.mark.parametrize(("options", "error", "message"), SIGNAL_ERRORS)
def test_bad_signal_inputs_raise_the_same_error_on_both_backends(
    backend: str, options: dict[str, Any], error: type, message: str
) -> None:
    arguments: dict[str, Any] = {"entries": NO, "exits": NO, **options}
    with pytest.raises(error) as caught:
        Engine(backend).run_signals(TWO, **arguments)
    assert type(caught.value) is error and str(caught.value) == message


def test_take_profit_of_1_or_more_is_refused_when_shorts_are_traded(backend: str) -> None:
    # a short's take-profit is cost x (1 - take_profit), which must stay > 0; longs only: fine
    message = (
        "take_profit: must be below 1 when short positions are traded (a short's "
        "target is cost x (1 - take_profit)), got 1.0"
    )
    with pytest.raises(ConfigError) as caught:
        Engine(backend, allow_short=True).run_signals(
            TWO, NO, NO, short_entries=NO, take_profit=1.0
        )
    assert str(caught.value) == message
    Engine(backend).run_signals(TWO, NO, NO, take_profit=1.0)


def test_take_profit_of_1_or_more_is_allowed_with_short_exits_alone(backend: str) -> None:
    # without short entries no short can open, so short exits alone do not limit p; it was
    # refused as soon as short_exits was given
    bars = bars_from_rows([flat(10.0), flat(10.0), (10.0, 30.0, 10.0, 25.0), flat(25.0)])
    result = engine(backend, initial_cash=1_000.0).run_signals(
        bars, [T, F, F, F], [F] * 4, short_exits=[F, F, T, F], take_profit=1.0
    )
    # long 100 at 10: the sell limit at 10 x (1 + 1.0) = 20 fills in bar 2 (high 30)
    assert fills(result) == [(1, 1, "buy", 100.0, 10.0), (2, 2, "sell", 100.0, 20.0)]


WEIGHT_ERRORS = [
    (
        np.full((3, 2), np.nan)[:, :1],
        DataError,
        "weights: expected shape (3, 2) (bars x symbols), got (3, 1)",
    ),
    (np.zeros((3, 2), bool), DataError, "weights: expected numbers, got dtype bool"),
    (
        np.array([[0.5, np.nan], [np.nan, np.nan], [np.nan, -np.inf]]),
        DataError,
        "weights: -inf is not finite (NaN = no change), symbol 'B', bar 2 "
        "(2024-01-03T00:00:00.000000000)",
    ),
    ([["a", "b"]] * 3, DataError, "weights: expected numbers, got dtype <U1"),
]


@pytest.mark.parametrize(("weights", "error", "message"), WEIGHT_ERRORS)
def test_bad_weights_raise_the_same_error_on_both_backends(
    backend: str, weights: Any, error: type, message: str
) -> None:
    with pytest.raises(error) as caught:
        Engine(backend).run_targets(TWO, weights)
    assert type(caught.value) is error and str(caught.value) == message


def test_run_many_refuses_a_job_of_the_wrong_type(backend: str) -> None:
    from quanta_ref.arrays import Signals, Targets

    jobs = [Signals(NO, NO), Targets(np.full((3, 2), 0.5)), "sma"]
    with pytest.raises(ConfigError) as caught:
        Engine(backend).run_many(TWO, jobs)
    assert str(caught.value) == (
        "job: expected Signals, Targets, a Strategy or a CompiledStrategy (job 2), got str"
    )


# ---------------------------------------------------------------------- against a Strategy
def walk(n_bars: int, seed: int) -> Bars:
    """A random walk with some range, one symbol (prices on a 0.01 grid)."""
    rng = np.random.default_rng(seed)
    close = np.round(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n_bars))), 2)
    open_ = np.round(np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 0.005, n_bars)), 2)
    high = np.maximum(open_, close) + 0.05
    low = np.minimum(open_, close) - 0.05
    timestamps = int(START) + DAY * np.arange(n_bars, dtype=np.int64)
    return Bars.from_arrays(
        timestamps,
        open_[:, None],
        high[:, None],
        low[:, None],
        close[:, None],
        np.full((n_bars, 1), 1e6),
        symbols=["X"],
    )


def test_sma_crossover_signals_trade_exactly_as_the_sma_cross_strategy(backend: str) -> None:
    from quanta_ref.examples import SmaCross
    from quanta_ref.indicators import crossed_above, crossed_below, sma

    bars = walk(400, seed=7)
    close = bars.close[:, 0]
    fast, slow = sma(close, 10), sma(close, 30)
    settings = dict(initial_cash=1_000_000.0, commission_rate=0.0003, lot_size=100)
    arrays = Engine(backend, **settings).run_signals(
        bars, crossed_above(fast, slow), crossed_below(fast, slow)
    )
    strategy = Engine(backend, **settings).run(bars, SmaCross(fast=10, slow=30))
    assert len(strategy.fills) >= 6
    assert [f.__dict__ for f in arrays.fills] == [f.__dict__ for f in strategy.fills]
    assert [o.as_dict() for o in arrays.orders] == [o.as_dict() for o in strategy.orders]
    assert arrays.equity.tobytes() == strategy.equity.tobytes()
    assert arrays.cash.tobytes() == strategy.cash.tobytes()
