"""Hand-computed tests of docs/semantics.md sections 9-11: risk limits, margin accounts, the
settings (presets and `ConfigError`), positions and FIFO round-trip trades.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quanta_ref import ConfigError, Engine, Strategy
from quanta_ref.api import BacktestResult, Context
from support import DAY, START, bars_from_rows, run, same


def flat(price: float) -> tuple[float, ...]:
    return (price, price, price, price)


def fills(result: BacktestResult) -> list[tuple[int, int, str, float, float]]:
    """(order id, bar, side, quantity, price) of every fill."""
    return [
        (f.order_id, int((f.timestamp - int(START)) // DAY), f.side.value, f.quantity, f.price)
        for f in result.fills
    ]


def statuses(result: BacktestResult) -> list[tuple[str, str | None]]:
    return [(o.status.value, o.reject_reason) for o in result.orders]


def hold(quantity: float, price: float, symbol: str = "X") -> Any:
    """An on_start action buying `quantity` at bar 0's open (limit `price` >= that open)."""
    return lambda ctx: ctx.buy(symbol, quantity, "limit", limit_price=price)


def ts(bar: int) -> int:
    return int(START) + bar * DAY


# =============================================================== 10. margin accounts
def test_margin_account_may_sell_short_and_cash_goes_up(backend: str) -> None:
    bars = bars_from_rows([flat(50.0), (50.0, 51.0, 47.0, 48.0)])
    result = run(backend, bars, {0: lambda ctx: ctx.sell("X", 100)}, allow_short=True)
    assert fills(result) == [(1, 1, "sell", 100.0, 50.0)]
    assert result.cash[1] == 105_000.0  # 100_000 + 100 x 50
    assert result.equity[1] == 100_200.0  # 105_000 - 100 x 48
    position = result.positions[0]
    assert (position.quantity, position.average_cost) == (-100.0, 50.0)
    assert position.unrealized_pnl == 200.0  # (48 - 50) x -100


def test_margin_account_cash_may_go_negative(backend: str) -> None:
    # 3_000 x 50 = 150_000 <= 2 x 100_000
    bars = bars_from_rows([flat(50.0), flat(50.0)])
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 3_000)}, allow_short=True)
    assert result.cash[1] == -50_000.0
    assert result.equity[1] == 100_000.0  # -50_000 + 3_000 x 50


def test_margin_account_default_max_leverage_is_two(backend: str) -> None:
    # equity 100_000, close 50: short 4_100 -> 205_000 > 200_000 refused; 4_000 -> 200_000 ok
    assert Engine(backend=backend, allow_short=True).config.max_leverage == 2.0
    bars = bars_from_rows([flat(50.0), flat(50.0)])
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.sell("X", 4_100), lambda ctx: ctx.sell("X", 4_000)]},
        allow_short=True,
    )
    assert statuses(result) == [("rejected", "max_leverage"), ("filled", None)]


def test_margin_account_explicit_max_leverage_wins(backend: str) -> None:
    # max_leverage 1: 2_100 x 50 = 105_000 > 100_000
    bars = bars_from_rows([flat(50.0), flat(50.0)])
    result = run(
        backend, bars, {0: lambda ctx: ctx.sell("X", 2_100)}, allow_short=True, max_leverage=1.0
    )
    assert statuses(result) == [("rejected", "max_leverage")]


def test_t_plus_1_settlement_in_a_margin_account_is_a_config_error(backend: str) -> None:
    with pytest.raises(ConfigError, match="settlement"):
        Engine(backend=backend, allow_short=True, settlement="T+1")
    with pytest.raises(ConfigError, match="settlement"):
        Engine(backend=backend, market="cn_a", allow_short=True)  # the preset's T+1
    Engine(backend="python", market="cn_a", allow_short=True, settlement="T+0")


# =============================================================== 9. risk limits
def test_max_position_quantity_refuses_a_larger_position(backend: str) -> None:
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {
            0: [lambda ctx: ctx.buy("X", 600), lambda ctx: ctx.buy("X", 500)],
            1: lambda ctx: ctx.buy("X", 1),
        },
        max_position_quantity=500.0,
    )
    # 600 > 500; 500 is fine; then 500 + 1 = 501 > 500
    assert statuses(result) == [
        ("rejected", "max_position"),
        ("filled", None),
        ("rejected", "max_position"),
    ]


def test_max_position_weight_refuses_a_position_worth_more_than_the_share_of_equity(
    backend: str,
) -> None:
    # close 10, equity 100_000: 5_001 x 10 = 50_010 > 0.5 x 100_000; 5_000 x 10 = 50_000 ok
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("X", 5_001), lambda ctx: ctx.buy("X", 5_000)]},
        max_position_weight=0.5,
    )
    assert statuses(result) == [("rejected", "max_position"), ("filled", None)]


def test_max_order_value_refuses_a_larger_order(backend: str) -> None:
    # 1_001 x 10 = 10_010 > 10_000; 1_000 x 10 = 10_000 ok
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("X", 1_001), lambda ctx: ctx.buy("X", 1_000)]},
        max_order_value=10_000.0,
    )
    assert statuses(result) == [("rejected", "max_order_value"), ("filled", None)]


def test_max_leverage_counts_other_symbols_at_their_last_close(backend: str) -> None:
    # hold 4_000 A at 10 (40_000), cash 60_000, equity 100_000, limit 0.5 x 100_000:
    # B 1_100 x 10: 40_000 + 11_000 = 51_000 > 50_000 refused; 1_000: 50_000 ok
    bars = bars_from_rows({"A": [flat(10.0)] * 2, "B": [flat(10.0)] * 2})
    result = run(
        backend,
        bars,
        {
            -1: hold(4_000, 10.0, "A"),
            0: [lambda ctx: ctx.buy("B", 1_100), lambda ctx: ctx.buy("B", 1_000)],
        },
        max_leverage=0.5,
    )
    assert statuses(result) == [("filled", None), ("rejected", "max_leverage"), ("filled", None)]


def test_risk_limits_are_checked_in_the_documented_order(backend: str) -> None:
    # 2_000 x 10 = 20_000 breaks max_order_value, max_position and max_leverage at once
    bars = bars_from_rows([flat(10.0)] * 2)
    limits = dict(max_order_value=10_000.0, max_position_quantity=1_000.0, max_leverage=0.1)
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 2_000)}, **limits)
    assert statuses(result) == [("rejected", "max_order_value")]
    del limits["max_order_value"]
    result = run(backend, bars, {0: lambda ctx: ctx.buy("X", 2_000)}, **limits)
    assert statuses(result) == [("rejected", "max_position")]


def test_orders_that_only_reduce_a_position_are_never_refused(backend: str) -> None:
    # two buys of 500 x 10 = 5_000 each pass max_order_value 6_000; selling all 1_000
    # (10_000) only reduces the position and passes too
    bars = bars_from_rows([flat(10.0)] * 3)
    result = run(
        backend,
        bars,
        {
            0: [lambda ctx: ctx.buy("X", 500), lambda ctx: ctx.buy("X", 500)],
            1: lambda ctx: ctx.sell("X", 1_000),
        },
        max_order_value=6_000.0,
    )
    assert statuses(result) == [("filled", None)] * 3


def test_reversal_through_zero_is_not_a_reducing_order(backend: str) -> None:
    # long 100; selling 300 ends at -200 (|-200| > 100): max_position 150 refuses it
    bars = bars_from_rows([flat(10.0)] * 2)
    result = run(
        backend,
        bars,
        {-1: hold(100, 10.0), 0: lambda ctx: ctx.sell("X", 300)},
        allow_short=True,
        max_position_quantity=150.0,
    )
    assert statuses(result) == [("filled", None), ("rejected", "max_position")]


DROP = [flat(100.0), flat(100.0), flat(70.0), flat(70.0), flat(70.0)]


def test_drawdown_stop_halts_new_buying_but_lets_you_sell(backend: str) -> None:
    # 500 bought at 100: cash 50_000. Equity: 100_000, 100_000, then 50_000 + 500 x 70 =
    # 85_000: 15 % below the peak 100_000 >= 10 % -> halted at bar 2's record step.
    # The buy submitted during bar 2 (before the record) is accepted, but its fill at bar 3
    # is checked again and refused (REJECTED: nothing filled); at bar 3 a new buy is refused
    # at once and a sell accepted.
    bars = bars_from_rows(DROP)
    result = run(
        backend,
        bars,
        {
            -1: hold(500, 100.0),
            2: lambda ctx: ctx.buy("X", 10),
            3: [lambda ctx: ctx.buy("X", 10), lambda ctx: ctx.sell("X", 100)],
        },
        max_drawdown_stop=0.1,
    )
    assert result.equity[2] == 85_000.0
    assert statuses(result) == [
        ("filled", None),
        ("rejected", "drawdown_halt"),
        ("rejected", "drawdown_halt"),
        ("filled", None),
    ]
    assert fills(result)[-1] == (4, 4, "sell", 100.0, 70.0)


def test_drawdown_peak_starts_at_the_initial_cash(backend: str) -> None:
    # the equity never rises above 100_000: bought 500 at 100 in on_start, bar 0 closes at 78
    # -> 50_000 + 39_000 = 89_000, 11 % below the initial cash -> halted from bar 0 on
    bars = bars_from_rows([(100.0, 100.0, 78.0, 78.0), flat(78.0)])
    result = run(
        backend,
        bars,
        {-1: hold(500, 100.0), 1: lambda ctx: ctx.buy("X", 10)},
        max_drawdown_stop=0.1,
    )
    assert statuses(result)[-1] == ("rejected", "drawdown_halt")


def test_drawdown_halt_still_lets_a_short_be_covered(backend: str) -> None:
    # short 500 at 100: cash 150_000. At 130: 150_000 - 65_000 = 85_000, halted.
    # Buying 500 back reduces the position (allowed); buying 600 would reverse it (refused).
    bars = bars_from_rows([flat(100.0), flat(100.0), flat(130.0), flat(130.0), flat(130.0)])
    result = run(
        backend,
        bars,
        {
            0: lambda ctx: ctx.sell("X", 500),
            3: [lambda ctx: ctx.buy("X", 600), lambda ctx: ctx.buy("X", 500)],
        },
        allow_short=True,
        max_drawdown_stop=0.1,
    )
    assert result.equity[2] == 85_000.0
    assert statuses(result) == [("filled", None), ("rejected", "drawdown_halt"), ("filled", None)]


# =============================================================== 10. settings
def test_cn_a_preset_values(backend: str) -> None:
    config = Engine(backend=backend, market="cn_a").config
    assert (
        config.lot_size,
        config.settlement,
        config.min_commission,
        config.price_limit,
        config.tick_size,
    ) == (100.0, "T+1", 5.0, "cn_a", 0.01)
    day = (np.datetime64("2023-08-28") - np.datetime64("1970-01-01")).astype(int)
    assert config.rate_on_day("sell_tax_rate", day) == 0.0005
    assert config.rate_on_day("sell_tax_rate", day - 1) == 0.001
    assert config.rate_on_day("buy_tax_rate", day) == 0.0
    assert config.rate_on_day("transfer_fee_rate", day) == 0.00001


def test_explicit_keywords_override_the_cn_a_preset(backend: str) -> None:
    config = Engine(
        backend=backend,
        market="cn_a",
        lot_size=1,
        settlement="T+0",
        min_commission=0.0,
        price_limit=0.2,
        sell_tax_rate=0.0005,
    ).config
    assert (
        config.lot_size,
        config.settlement,
        config.min_commission,
        config.price_limit,
        config.sell_tax_rate,
    ) == (1.0, "T+0", 0.0, 0.2, 0.0005)
    assert config.tick_size == 0.01  # not overridden


def test_cn_a_market_rules_in_a_run(backend: str) -> None:
    # lot 100 (150 refused), min commission 5, T+1; in 2024 stamp duty 0.05 % on sells and a
    # transfer fee of 0.001 % on both sides. "X" is no A-share code: a fixed 10 % limit.
    bars = bars_from_rows([flat(10.0), flat(10.5), flat(11.0)])
    result = run(
        backend,
        bars,
        {
            0: [lambda ctx: ctx.buy("X", 150), lambda ctx: ctx.buy("X", 100)],
            1: lambda ctx: ctx.sell("X", 100),
        },
        market="cn_a",
        price_limit=0.1,
    )
    assert statuses(result) == [("rejected", "lot_size"), ("filled", None), ("filled", None)]
    assert fills(result) == [(2, 1, "buy", 100.0, 10.5), (3, 2, "sell", 100.0, 11.0)]
    assert result.cash[1] == same(100_000 - 1_050 - 5 - 0.0105)
    assert result.cash[2] == same(100_000 - 1_050 - 5 - 0.0105 + 1_100 - 5 - 0.55 - 0.011)
    assert [f.tax for f in result.fills] == [same(0.0105), same(0.561)]


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"commission_rate": -0.1}, "commission_rate"),
        ({"min_commission": -1.0}, "min_commission"),
        ({"slippage_bps": float("nan")}, "slippage_bps"),
        ({"initial_cash": 0.0}, "initial_cash"),
        ({"lot_size": 0.0}, "lot_size"),
        ({"fill_at": "open"}, "fill_at"),
        ({"settlement": "T+2"}, "settlement"),
        ({"market": "us"}, "market"),
        ({"slipage_bps": 5.0}, "slipage_bps"),
        ({"max_leverage": -1.0}, "max_leverage"),
        ({"allow_short": "yes"}, "allow_short"),
    ],
)
def test_bad_setting_is_a_config_error_naming_it(
    backend: str, settings: dict[str, Any], name: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Engine(backend=backend, **settings)
    assert str(info.value).startswith(name), str(info.value)


# =============================================================== 11. positions and trades
def test_average_cost_on_adds_and_realized_pnl_on_a_partial_close(backend: str) -> None:
    seen: list[tuple[float, float, float]] = []

    def look(ctx: Context) -> None:
        p = ctx.get_position("X")
        seen.append((p.quantity, p.average_cost, p.realized_pnl))

    bars = bars_from_rows([flat(10.0), flat(12.0), flat(13.0), flat(14.0), flat(15.0)])
    result = run(
        backend,
        bars,
        {
            -1: hold(100, 10.0),
            0: lambda ctx: ctx.buy("X", 300),
            1: [look, lambda ctx: ctx.sell("X", 100)],
            2: [look, lambda ctx: ctx.sell("X", 300)],
            3: look,
            4: look,
        },
    )
    assert seen == [
        (400.0, 11.5, 0.0),  # (100 x 10 + 300 x 12) / 400 = 4_600 / 400 = 11.5
        (300.0, 11.5, 150.0),  # sold 100 at 13: (13 - 11.5) x 100 = 150; average kept
        (0.0, 0.0, 900.0),  # sold 300 at 14: 150 + (14 - 11.5) x 300 = 900; flat -> 0
        (0.0, 0.0, 900.0),
    ]
    assert result.positions[0].unrealized_pnl == 0.0


def test_unrealized_pnl_is_last_price_minus_average_cost_times_quantity(backend: str) -> None:
    bars = bars_from_rows([flat(10.0), flat(12.0), flat(13.5)])
    result = run(backend, bars, {-1: hold(100, 10.0), 0: lambda ctx: ctx.buy("X", 300)})
    position = result.positions[0]
    assert position.average_cost == 11.5
    assert position.unrealized_pnl == 800.0  # (13.5 - 11.5) x 400


def test_trades_are_fifo_with_pnl_net_of_pro_rata_entry_and_exit_costs(backend: str) -> None:
    # commission 0.1 %, sell tax 0.1 %.
    # buys: 100 @ 10 (commission 1.0 -> 0.01/unit), 300 @ 12 (3.6 -> 0.012/unit)
    # sell 200 @ 13: commission 2.6 + tax 2.6 = 5.2 -> 0.026/unit
    # sell 200 @ 14: commission 2.8 + tax 2.8 = 5.6 -> 0.028/unit
    bars = bars_from_rows([flat(10.0), flat(12.0), flat(13.0), flat(14.0)])
    result = run(
        backend,
        bars,
        {
            -1: hold(100, 10.0),
            0: lambda ctx: ctx.buy("X", 300),
            1: lambda ctx: ctx.sell("X", 200),
            2: lambda ctx: ctx.sell("X", 200),
        },
        commission_rate=0.001,
        sell_tax_rate=0.001,
    )
    first, second, third = result.trades
    # lot 1 closed whole: (13 - 10) x 100 - 0.01 x 100 - 0.026 x 100 = 300 - 1 - 2.6
    assert (first.direction, first.quantity, first.entry_price, first.exit_price) == (
        1,
        100.0,
        10.0,
        13.0,
    )
    assert (first.entry_time, first.exit_time) == (ts(0), ts(2))
    assert first.pnl == same(296.4)
    assert first.return_ == same(0.2964)  # 296.4 / (10 x 100)
    # lot 2, first 100: (13 - 12) x 100 - 0.012 x 100 - 0.026 x 100 = 100 - 1.2 - 2.6
    assert (second.quantity, second.entry_price, second.entry_time) == (100.0, 12.0, ts(1))
    assert second.pnl == same(96.2)
    assert second.return_ == same(96.2 / 1_200)  # 0.080166...
    # lot 2, last 200: (14 - 12) x 200 - 0.012 x 200 - 0.028 x 200 = 400 - 2.4 - 5.6
    assert (third.quantity, third.exit_price, third.exit_time) == (200.0, 14.0, ts(3))
    assert third.pnl == same(392.0)
    assert third.return_ == same(392.0 / 2_400)  # 0.163333...


def test_reversal_through_zero_opens_a_new_lot_at_the_fill_price(backend: str) -> None:
    # margin, commission 0.1 %. Long 100 @ 10 (1.0 -> 0.01/unit).
    # Sell 300 @ 12 (commission 3.6 -> 0.012/unit): closes 100, opens a short of 200 at 12.
    # Buy 200 @ 11 (commission 2.2 -> 0.011/unit) closes the short.
    seen: list[tuple[float, float, float]] = []

    def look(ctx: Context) -> None:
        p = ctx.get_position("X")
        seen.append((p.quantity, p.average_cost, p.realized_pnl))

    bars = bars_from_rows([flat(10.0), flat(12.0), flat(11.0)])
    result = run(
        backend,
        bars,
        {
            -1: hold(100, 10.0),
            0: lambda ctx: ctx.sell("X", 300),
            1: [look, lambda ctx: ctx.buy("X", 200)],
            2: look,
        },
        allow_short=True,
        commission_rate=0.001,
    )
    assert seen == [
        (-200.0, 12.0, 200.0),  # (12 - 10) x 100
        (0.0, 0.0, 400.0),
    ]  # 200 + (11 - 12) x 200 x -1
    long, short = result.trades
    # long: (12 - 10) x 100 - 0.01 x 100 - 0.012 x 100 = 200 - 1 - 1.2
    assert (long.direction, long.quantity, long.entry_price, long.exit_price) == (
        1,
        100.0,
        10.0,
        12.0,
    )
    assert long.pnl == same(197.8)
    assert long.return_ == same(0.1978)  # 197.8 / 1_000
    # short: (11 - 12) x 200 x -1 - 0.012 x 200 - 0.011 x 200 = 200 - 2.4 - 2.2
    assert (short.direction, short.quantity, short.entry_price, short.exit_price) == (
        -1,
        200.0,
        12.0,
        11.0,
    )
    assert (short.entry_time, short.exit_time) == (ts(1), ts(2))
    assert short.pnl == same(195.4)
    assert short.return_ == same(195.4 / 2_400)  # 0.0814166...


def test_result_fills_are_in_booking_order(backend: str) -> None:
    bars = bars_from_rows({"A": [flat(10.0)] * 3, "B": [flat(20.0)] * 3})
    result = run(
        backend,
        bars,
        {
            0: [lambda ctx: ctx.buy("B", 1), lambda ctx: ctx.buy("A", 1)],
            1: lambda ctx: ctx.sell("B", 1),
        },
    )
    assert [(f.order_id, f.symbol) for f in result.fills] == [(1, "B"), (2, "A"), (3, "B")]


def test_t_plus_1_never_sells_more_than_the_start_of_day_holding_by_float_dust(
    backend: str,
) -> None:
    # Day 0: 0.15999999999999998 bought. Day 1: 0.1 bought, then 0.16 sold at the close. The
    # holding less the day's buys is (0.15999999999999998 + 0.1) - 0.1 = 0.16 in float, more
    # than the start-of-day holding; the sellable quantity is that holding itself, so the
    # sale is 0.15 (whole lots of 0.01) and the rest goes the next day.
    start = 0.15999999999999998
    result = run(
        backend,
        bars_from_rows([flat(10.0)] * 3),
        {
            -1: hold(start, 10.0),
            0: lambda ctx: ctx.buy("X", 0.1, "limit", limit_price=10.0),
            1: lambda ctx: ctx.sell("X", 0.16),
        },
        fractional=True,
        lot_size=0.01,
        settlement="T+1",
        fill_at="close",
    )
    assert fills(result) == [
        (1, 0, "buy", start, 10.0),
        (2, 1, "buy", 0.1, 10.0),
        (3, 1, "sell", 0.15, 10.0),
        (3, 2, "sell", 0.16 - 0.15, 10.0),
    ]
    sold_on_day_1 = sum(
        f.quantity for f in result.fills if f.side.value == "sell" and f.timestamp == ts(1)
    )
    assert sold_on_day_1 <= start


def test_a_position_opened_at_its_symbols_first_open_is_valued_at_the_fill_price(
    backend: str,
) -> None:
    # B has no bar before bar 1: bought at its open, it has no close yet. Until bar 1
    # closes it is valued at the fill price (10 x 20), so on_fill sees a finite equity.
    seen: list[float] = []

    class Watch(Strategy):
        def on_start(self, ctx: Context) -> None:
            ctx.buy("B", 10, "limit", limit_price=20.0)

        def on_fill(self, ctx: Context, fill: Any) -> None:
            seen.append(ctx.equity)

    bars = bars_from_rows({"A": [flat(10.0)] * 3, "B": [None, flat(20.0), flat(21.0)]})
    Engine(backend=backend, initial_cash=1_000.0).run(bars, Watch())
    assert seen == [1_000.0 - 200.0 + 10 * 20.0]
