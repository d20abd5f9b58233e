"""Hand-computed tests of docs/semantics.md section 24: per-symbol settings (lot size, tick,
price limit), contract multipliers, futures margin and the margin call rule.

The index future of these tests is a CSI 300 future: 300 yuan per index point, 12 % initial
margin, 10 % maintenance margin where set.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest

from quanta_ref import ConfigError, Engine, Session, Strategy
from quanta_ref.analysis import buy_and_hold_equity
from quanta_ref.config import EngineConfig, Instrument
from quanta_ref.costs import PerShare, Tiered
from quanta_ref.market import prepare
from support import DAY, START, Script, bars_from_rows, run, run_script, same

FUTURE = {"IF": {"multiplier": 300, "margin": 0.12}}


def flat(price: float) -> tuple[float, ...]:
    return (price, price, price, price)


def fills(result: Any) -> list[tuple[int, int, str, float, float]]:
    """(order id, bar, side, quantity, price) of every fill."""
    return [
        (f.order_id, int((f.timestamp - int(START)) // DAY), f.side.value, f.quantity, f.price)
        for f in result.fills
    ]


def statuses(result: Any) -> list[tuple[str, str | None]]:
    return [(o.status.value, o.reject_reason) for o in result.orders]


def future_bars() -> Any:
    return bars_from_rows(
        {"IF": [flat(4000.0), (4000.0, 4060.0, 3990.0, 4050.0), (4100.0, 4110.0, 4090.0, 4100.0)]}
    )


# =============================================================== multipliers
def test_an_index_future_long_books_notional_value_and_pnl_times_the_multiplier(backend):
    # Buy 2 at 4_000 (bar 1), sell 2 at 4_100 (bar 2); commission 0.01 % of the notional.
    result = run(
        backend,
        future_bars(),
        {0: lambda ctx: ctx.buy("IF", 2), 1: lambda ctx: ctx.sell("IF", 2)},
        initial_cash=1_000_000.0,
        allow_short=True,
        commission_rate=0.0001,
        instruments=FUTURE,
    )
    assert fills(result) == [(1, 1, "buy", 2.0, 4000.0), (2, 2, "sell", 2.0, 4100.0)]
    buy, sell = result.fills
    assert buy.commission == same(240.0)  # 2 x 4_000 x 300 = 2_400_000 x 0.0001
    assert sell.commission == same(246.0)  # 2 x 4_100 x 300 = 2_460_000 x 0.0001
    # Cash pays the notional (a margin account borrows it); equity = cash + 2 x 4_050 x 300.
    assert result.cash[1] == same(1_000_000.0 - 2_400_000.0 - 240.0)
    assert result.equity[1] == same(-1_400_240.0 + 2_430_000.0)
    assert result.cash[2] == result.equity[2] == same(1_059_514.0)
    (trade,) = result.trades
    assert trade.pnl == same(60_000.0 - 240.0 - 246.0)  # 100 points x 2 x 300, less costs
    assert trade.return_ == same(59_514.0 / 2_400_000.0)  # over the entry's notional
    position = result.positions[0]
    assert (position.quantity, position.realized_pnl, position.multiplier) == (0.0, 60_000, 300)
    assert result.stats["total_commission"] == same(486.0)


def test_an_index_future_short_gains_when_the_index_falls_and_values_its_position(backend):
    bars = bars_from_rows({"IF": [flat(4000.0), flat(4000.0), flat(3950.0), flat(3900.0)]})
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.sell("IF", 2)},
        initial_cash=1_000_000.0,
        allow_short=True,
        instruments=FUTURE,
    )
    assert fills(result) == [(1, 1, "sell", 2.0, 4000.0)]
    assert result.cash[3] == 1_000_000.0 + 2_400_000.0
    assert result.equity[3] == 3_400_000.0 - 2 * 3900.0 * 300  # 1_060_000
    position = result.positions[0]
    assert position.unrealized_pnl == (3900.0 - 4000.0) * -2 * 300  # 60_000
    assert position.market_value == -2 * 3900.0 * 300
    frame = result.positions_frame()
    assert frame["market_value"].tolist() == [-2_340_000.0]


def test_a_target_percent_sizes_contracts_by_their_notional(backend):
    # 50 % of 1_000_000 in contracts of 4_000 x 300 = 1_200_000: 0.4166 -> 0 contracts; 150 %
    # (a margin account) -> 1.25 -> 1 contract.
    bars = bars_from_rows({"IF": [flat(4000.0), flat(4000.0), flat(4000.0)]})
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_percent("IF", 1.5)},
        initial_cash=1_000_000.0,
        allow_short=True,
        max_leverage=2.0,
        instruments={"IF": {"multiplier": 300}},
    )
    assert fills(result) == [(1, 1, "buy", 1.0, 4000.0)]


def test_run_targets_sizes_contracts_by_their_notional_and_sends_sells_first(backend):
    # Bar 0: IF to 150 % of 3_000_000 (3.75 contracts of 1_200_000 -> 3), S to 10 %.
    # Bar 1: IF to 50 % (1.25 contracts: a sale of the 1.75 floored to 1, in the sells group
    # because 1.25 < 3 held) and S to 90 %; the sale first keeps the S buy within
    # max_leverage 2 (2_700_000 + 2_400_000 <= 6_000_000; before it: 2_700_000 + 3_600_000).
    bars = bars_from_rows({"S": [flat(10.0)] * 3, "IF": [flat(4000.0)] * 3})
    weights = np.array([[0.1, 1.5], [0.9, 0.5], [np.nan, np.nan]])
    engine = Engine(
        backend=backend,
        initial_cash=3_000_000.0,
        allow_short=True,
        max_leverage=2.0,
        instruments={"IF": {"multiplier": 300}},
    )
    result = engine.run_targets(bars, weights)
    assert [(f.symbol, f.side.value, f.quantity) for f in result.fills] == [
        ("S", "buy", 30_000.0),
        ("IF", "buy", 3.0),
        ("IF", "sell", 1.0),
        ("S", "buy", 240_000.0),
    ]
    assert result.rejections == {}


# =============================================================== initial margin
def test_an_order_beyond_the_initial_margin_is_refused_at_acceptance(backend):
    # Each contract at 4_000 needs 4_000 x 300 x 0.12 = 144_000: 7 need 1_008_000 > 1_000_000.
    bars = bars_from_rows({"IF": [flat(4000.0), flat(4000.0)]})
    result = run(
        backend,
        bars,
        {
            0: [
                lambda ctx: ctx.buy("IF", 7),
                lambda ctx: ctx.sell("IF", 7),
                lambda ctx: ctx.buy("IF", 6),
            ]
        },
        initial_cash=1_000_000.0,
        allow_short=True,
        max_leverage=1.0,  # left out for a margin symbol: 6 x 1_200_000 is far above it
        instruments=FUTURE,
    )
    assert statuses(result) == [
        ("rejected", "insufficient_margin"),
        ("rejected", "insufficient_margin"),
        ("filled", None),
    ]


def test_orders_accepted_together_are_refused_at_the_fill_past_the_initial_margin(backend):
    # Two orders of 4 pass acceptance alone (576_000 each); at the fill the second would make
    # 8 contracts: 1_152_000 > the equity.
    bars = bars_from_rows({"IF": [flat(4000.0), flat(4000.0)]})
    result = run(
        backend,
        bars,
        {0: [lambda ctx: ctx.buy("IF", 4), lambda ctx: ctx.buy("IF", 4)]},
        initial_cash=1_000_000.0,
        allow_short=True,
        instruments=FUTURE,
    )
    assert statuses(result) == [("filled", None), ("rejected", "insufficient_margin")]
    # Reducing is never refused: selling 4 of 4 passes whatever the margin.


# =============================================================== the margin call
def margin_call_run(backend: str) -> tuple[Any, Any]:
    rows: dict[str, list[Any]] = {
        "IF": [
            flat(4000.0),
            flat(4000.0),
            flat(3900.0),
            flat(3800.0),
            flat(3800.0),
            flat(3800.0),
            flat(3800.0),
        ],
        "S": [flat(10.0)] * 7,
    }
    actions = {
        0: lambda ctx: ctx.buy("IF", 6),
        2: [
            lambda ctx: ctx.buy("IF", 1, "limit", limit_price=3000.0),
            lambda ctx: ctx.buy("S", 10, "limit", limit_price=1.0),
        ],
        4: lambda ctx: ctx.buy("IF", 1),
        5: lambda ctx: ctx.buy("IF", 1),
    }
    return run_script(
        backend,
        bars_from_rows(rows),
        actions,
        initial_cash=1_000_000.0,
        allow_short=True,
        instruments={"IF": {"multiplier": 300, "margin": 0.12, "maintenance_margin": 0.1}},
    )


def test_a_margin_call_ends_the_orders_and_closes_the_position_at_the_next_bar(backend):
    result, script = margin_call_run(backend)
    # Bar 2: equity 1_000_000 - 6 x 100 x 300 = 820_000 >= 6 x 3_900 x 300 x 0.1 = 702_000.
    # Bar 3: equity 640_000 < 6 x 3_800 x 300 x 0.1 = 684_000: the margin call.
    assert result.equity[2] == 820_000.0
    assert result.equity[3] == 640_000.0
    orders = result.orders
    assert statuses(result) == [
        ("filled", None),  # 1: the 6 contracts
        ("rejected", "margin_call"),  # 2: the future's live limit order ends at the call
        ("pending", None),  # 3: the stock's order is not the call's business
        ("filled", None),  # 4: the engine's order closing the position
        ("rejected", "margin_call"),  # 5: opening during the call
        ("filled", None),  # 6: the call cleared at bar 4's record step
    ]
    closing = orders[3]
    assert (closing.target_quantity, closing.created_at) == (0.0, int(START) + 3 * DAY)
    assert fills(result) == [
        (1, 1, "buy", 6.0, 4000.0),
        (4, 4, "sell", 6.0, 3800.0),
        (6, 6, "buy", 1.0, 3800.0),
    ]
    assert result.equity[4] == 640_000.0
    # The strategy hears the call's order changes after bar 3's bars.
    events = script.events
    at_call = events.index(("order", (2, "rejected")))
    assert events[at_call - 1] == ("bar", ("S", 3))
    assert events[at_call + 1] == ("order", (4, "pending"))
    assert result.rejections == {"margin_call": 2}


def test_margin_symbols_leave_the_leverage_sum_of_the_other_symbols(backend):
    # 6 contracts (7_200_000 notional) do not count against a stock buy's max_leverage 1.
    bars = bars_from_rows({"IF": [flat(4000.0)] * 3, "S": [flat(10.0)] * 3})
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.buy("IF", 6), 1: lambda ctx: ctx.buy("S", 10_000)},
        initial_cash=1_000_000.0,
        allow_short=True,
        max_leverage=1.0,
        instruments=FUTURE,
    )
    assert statuses(result) == [("filled", None), ("filled", None)]


# =============================================================== lots, ticks, limits
def test_each_symbol_trades_in_its_own_lots(backend):
    bars = bars_from_rows({"X": [flat(10.0)] * 3, "Y": [flat(10.0)] * 3})
    result = run(
        backend,
        bars,
        {
            0: [
                lambda ctx: ctx.buy("X", 150),
                lambda ctx: ctx.buy("Y", 150),
                lambda ctx: ctx.order_target_quantity("X", 250),
                lambda ctx: ctx.order_target_quantity("Y", 250),
            ]
        },
        lot_size=100,
        instruments={"Y": {"lot_size": 1}},
    )
    assert statuses(result)[:2] == [("rejected", "lot_size"), ("filled", None)]
    assert [(f.symbol, f.quantity) for f in result.fills] == [
        ("Y", 150.0),
        ("X", 200.0),  # 250 floored to whole lots of 100
        ("Y", 100.0),  # to 250 from 150, in lots of 1
    ]


def etf_bars() -> Any:
    # 510300 (an ETF: no A-share board) closes at 3.456; the day after opens at 3.801, just
    # under its own limit-up 3.456 x 1.1 = 3.8016 -> 3.802 on its 0.001 tick.
    return bars_from_rows(
        {
            "600000": [flat(10.0), flat(10.0), flat(11.0)],
            "510300": [flat(3.456), (3.801, 3.801, 3.5, 3.5), flat(3.85)],
        }
    )


def test_an_etf_in_a_cn_a_universe_takes_its_own_limit_and_tick(backend):
    with pytest.raises(ConfigError, match="'cn_a' does not know the symbol '510300'"):
        run(backend, etf_bars(), market="cn_a")
    own = {"510300": {"price_limit": 0.1, "tick_size": 0.001}}
    config = EngineConfig.build(market="cn_a", instruments=own)
    market = prepare(etf_bars(), config)
    assert market.limit_up is not None and market.limit_down is not None
    assert market.limit_up[1].tolist() == [11.0, 3.802]  # the stock: 10 x 1.1 on 0.01
    assert market.limit_up[2, 1] == 3.85  # 3.5 x 1.1
    assert market.limit_down[1, 1] == 3.11  # 3.456 x 0.9 = 3.1104 -> 3.110
    result = run(
        backend,
        etf_bars(),
        {0: lambda ctx: ctx.buy("510300", 100), 1: lambda ctx: ctx.buy("510300", 100)},
        market="cn_a",
        instruments=own,
    )
    # 3.801 is more than half a 0.001 tick under 3.802: it fills (on the 0.01 tick of the
    # engine it would be at its limit 3.80). Bar 2 opens at limit-up 3.85: no buy.
    assert fills(result) == [(1, 1, "buy", 100.0, 3.801)]
    assert statuses(result)[1] == ("pending", None)


# =============================================================== the settings
def test_instruments_from_a_mapping_a_pandas_frame_and_an_arrow_table_are_one_config(backend):
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    mapping = {
        "IF": {"multiplier": 300, "margin": 0.12, "maintenance_margin": 0.1},
        "510300": {"lot_size": 100, "price_limit": 0.1, "tick_size": None},
    }
    frame = pd.DataFrame(
        {
            "symbol": ["IF", "510300"],
            "multiplier": [300.0, np.nan],
            "margin": [0.12, np.nan],
            "maintenance_margin": [0.1, None],
            "lot_size": [np.nan, 100.0],
            "price_limit": [None, 0.1],
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    configs = [
        Engine(backend=backend, allow_short=True, instruments=given).config
        for given in (mapping, frame, table)
    ]
    assert configs[0] == configs[1] == configs[2]
    assert configs[0].instruments == (
        Instrument("510300", lot_size=100.0, price_limit=0.1),
        Instrument("IF", multiplier=300.0, margin=0.12, maintenance_margin=0.1),
    )
    # The stored form rebuilds and pickles to the same settings.
    config = configs[0]
    assert EngineConfig.build(**config.as_dict()) == config
    assert pickle.loads(pickle.dumps(config)) == config
    # maintenance_margin defaults to the margin rate.
    built = EngineConfig.build(allow_short=True, instruments={"IF": {"margin": 0.15}})
    assert built.instruments[0].maintenance_margin == 0.15


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"instruments": {"IF": {"multiplier": 0}}}, r"instruments\['IF'\]\.multiplier: must be >"),
        ({"instruments": {"IF": {"multiplier": "300"}}}, r"instruments\['IF'\]\.multiplier: exp"),
        ({"instruments": {"IF": {"multiplier": math.inf}}}, r"\['IF'\]\.multiplier: must be fin"),
        ({"instruments": {"IF": {"size": 1}}}, r"instruments\['IF'\]: unknown setting 'size'"),
        ({"instruments": {"IF": {"margin": 0.1}}}, r"instruments\['IF'\]\.margin: margin rates"),
        (
            {"allow_short": True, "instruments": {"IF": {"margin": 1.5}}},
            r"instruments\['IF'\]\.margin: must be > 0.0 and <= 1.0",
        ),
        (
            {
                "allow_short": True,
                "instruments": {"IF": {"margin": 0.1, "maintenance_margin": 0.2}},
            },
            r"instruments\['IF'\]\.maintenance_margin: must be > 0.0 and <= 0.1",
        ),
        (
            {"allow_short": True, "instruments": {"IF": {"maintenance_margin": 0.2}}},
            r"instruments\['IF'\]\.maintenance_margin: given without a margin rate",
        ),
        ({"instruments": {"Y": {"lot_size": 0.5}}}, r"instruments\['Y'\]\.lot_size: must be a wh"),
        ({"instruments": {"Y": {"tick_size": 0.01}}}, r"instruments\['Y'\]\.tick_size: 0.01 rou"),
        ({"instruments": {1: {}}}, r"instruments: a symbol must be a string"),
        ({"instruments": [1, 2]}, r"instruments: expected a mapping"),
        ({"instruments": {"Y": 3}}, r"instruments\['Y'\]: expected a mapping of settings"),
    ],
)
def test_bad_instruments_raise_config_errors_naming_the_field_and_the_symbol(
    backend, settings, message
):
    with pytest.raises(ConfigError, match=message):
        Engine(backend=backend, **settings)


def test_a_table_naming_a_symbol_twice_or_an_unknown_column_is_refused(backend):
    pd = pytest.importorskip("pandas")
    twice = pd.DataFrame({"symbol": ["IF", "IF"], "multiplier": [300.0, 200.0]})
    with pytest.raises(ConfigError, match=r"instruments\['IF'\]: the symbol appears twice"):
        Engine(backend=backend, instruments=twice)
    unknown = pd.DataFrame({"symbol": ["IF"], "point_value": [300.0]})
    with pytest.raises(ConfigError, match="unknown setting 'point_value'"):
        Engine(backend=backend, instruments=unknown)
    with pytest.raises(ConfigError, match="no 'symbol' column"):
        Engine(backend=backend, instruments=pd.DataFrame({"multiplier": [300.0]}))


def test_symbols_of_the_table_not_in_the_panel_are_ignored(backend):
    bars = bars_from_rows({"X": [flat(10.0)] * 2})
    plain = run(backend, bars, {0: lambda ctx: ctx.buy("X", 10)})
    other = run(
        backend, bars, {0: lambda ctx: ctx.buy("X", 10)}, instruments={"IF": {"multiplier": 300}}
    )
    assert other.equity.tolist() == plain.equity.tolist()
    assert fills(other) == fills(plain)


class BuyTwoAtStart(Strategy):
    """Buys 2 contracts of IF at the first bar (module level: a snapshot pickles it)."""

    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == 0:
            ctx.buy("IF", 2)


def test_a_session_snapshot_keeps_the_instruments(backend):
    bars = future_bars()
    engine = Engine(backend=backend, allow_short=True, initial_cash=1_000_000.0, instruments=FUTURE)
    session = engine.session(BuyTwoAtStart(), symbols=bars.symbols)
    session.push_bars(bars)
    restored = Session.restore(session.snapshot(), backend=backend)
    result = restored.end()
    assert result.config == engine.config
    assert result.equity.tolist() == engine.run(bars, BuyTwoAtStart()).equity.tolist()
    assert result.equity[2] == 1_000_000.0 + 2 * 100.0 * 300.0


# =============================================================== own commission models
def test_a_symbols_own_commission_model_replaces_the_engine_wide_rate_schedule(backend):
    # A pays PerShare(0.01, minimum=1.0); B pays the engine-wide commission_rate, 0.1 % to
    # 2024-01-03 and 0.2 % from 2024-01-04 (bar 3) on. Every order fills at the next open.
    bars = bars_from_rows({"A": [flat(40.0)] * 4, "B": [flat(20.0)] * 4})
    result = run(
        backend,
        bars,
        {
            0: [lambda ctx: ctx.buy("A", 50), lambda ctx: ctx.buy("B", 100)],
            1: [lambda ctx: ctx.buy("A", 500), lambda ctx: ctx.buy("B", 100)],
            2: [lambda ctx: ctx.sell("A", 550), lambda ctx: ctx.sell("B", 200)],
        },
        commission_rate={"2024-01-01": 0.001, "2024-01-04": 0.002},
        instruments={"A": {"commission": PerShare(0.01, minimum=1.0)}},
    )
    got = [(f.symbol, int((f.timestamp - int(START)) // DAY), f.commission) for f in result.fills]
    assert got == [
        ("A", 1, same(1.0)),  # 50 x 0.01 = 0.50, raised to the minimum 1.00 (not 0.1 % = 2.00)
        ("B", 1, same(2.0)),  # 100 x 20 = 2_000 x 0.001
        ("A", 2, same(5.0)),  # 500 x 0.01 (not 0.1 % of 20_000 = 20.00)
        ("B", 2, same(2.0)),  # 2_000 x 0.001
        ("A", 3, same(5.5)),  # 550 x 0.01 (not 0.2 % of 22_000 = 44.00): the schedule is B's
        ("B", 3, same(8.0)),  # 200 x 20 = 4_000 x 0.002
    ]
    assert result.stats["total_commission"] == same(23.5)
    assert result.cash[3] == same(100_000.0 - 23.5)


def test_a_symbols_own_tiered_model_beside_an_engine_wide_per_share_model(backend):
    # T pays 0.1 % of the first 10_000 of a fill's value and 0.05 % above, at least 2.00;
    # U pays the engine-wide PerShare(0.005, minimum=1.0).
    tiered = Tiered([(0.0, 0.001), (10_000.0, 0.0005)], minimum=2.0)
    bars = bars_from_rows({"T": [flat(50.0)] * 3, "U": [flat(20.0)] * 3})
    result = run(
        backend,
        bars,
        {
            0: [lambda ctx: ctx.buy("T", 300), lambda ctx: ctx.buy("U", 1000)],
            1: [lambda ctx: ctx.buy("T", 10), lambda ctx: ctx.buy("U", 100)],
        },
        commission=PerShare(0.005, minimum=1.0),
        instruments={"T": {"commission": tiered}},
    )
    assert [(f.symbol, f.commission) for f in result.fills] == [
        ("T", same(12.5)),  # 15_000: 10_000 x 0.001 + 5_000 x 0.0005
        ("U", same(5.0)),  # 1_000 x 0.005
        ("T", same(2.0)),  # 500 x 0.001 = 0.50, raised to 2.00
        ("U", same(1.0)),  # 100 x 0.005 = 0.50, raised to 1.00
    ]


def test_a_target_percent_buy_affords_the_symbols_own_model(backend):
    # 100 % of 10_000 in A at 40 with PerShare(1.0): 40q + q <= 10_000 gives q = 243
    # (the engine-wide 0.1 % would afford 249).
    bars = bars_from_rows({"A": [flat(40.0)] * 2})
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_percent("A", 1.0)},
        initial_cash=10_000.0,
        commission_rate=0.001,
        instruments={"A": {"commission": PerShare(1.0)}},
    )
    assert [(f.quantity, f.commission) for f in result.fills] == [(243.0, same(243.0))]


def test_the_buy_and_hold_benchmark_pays_each_symbols_own_model():
    bars = bars_from_rows({"A": [flat(40.0)] * 2, "B": [flat(20.0)] * 2})
    config = EngineConfig.build(
        initial_cash=100_000.0,
        commission_rate={"2024-01-01": 0.001},
        instruments={"A": {"commission": PerShare(0.01, minimum=1.0)}},
    )
    equity = buy_and_hold_equity(bars, config)
    # A: 40q + 0.01q = 50_000; B: value x 1.001 = 50_000, at unchanged prices.
    assert equity[-1] == pytest.approx(50_000.0 * 40.0 / 40.01 + 50_000.0 / 1.001, rel=1e-12)


def test_a_callable_commission_per_symbol_is_refused_with_the_reason(backend):
    with pytest.raises(
        ConfigError,
        match=r"instruments\['X'\]\.commission: a callable is not accepted per symbol; the "
        r"engine-wide commission callable receives the symbol .*give one callable that "
        r"dispatches on it",
    ):
        Engine(backend=backend, instruments={"X": {"commission": lambda *args: 1.0}})
    with pytest.raises(ConfigError, match=r"\['X'\]\.commission: expected one of PerValue, Per"):
        Engine(backend=backend, instruments={"X": {"commission": 0.001}})


def test_own_commission_models_from_a_pandas_table_match_the_mapping(backend):
    pd = pytest.importorskip("pandas")
    model = PerShare(0.01, minimum=1.0)
    frame = pd.DataFrame(
        {"symbol": ["A", "B"], "commission": [model, np.nan], "lot_size": [np.nan, 100.0]}
    )
    mapping = {"A": {"commission": model}, "B": {"lot_size": 100, "commission": None}}
    by_table = Engine(backend=backend, commission_rate=0.001, instruments=frame)
    by_mapping = Engine(backend=backend, commission_rate=0.001, instruments=mapping)
    assert by_table.config == by_mapping.config
    assert by_table.config.instruments == (
        Instrument("A", commission=model),
        Instrument("B", lot_size=100.0),
    )
    assert pickle.loads(pickle.dumps(by_table.config)) == by_table.config
    bars = bars_from_rows({"A": [flat(40.0)] * 2, "B": [flat(20.0)] * 2})
    script = {0: [lambda ctx: ctx.buy("A", 50), lambda ctx: ctx.buy("B", 100)]}
    commissions = [f.commission for f in by_table.run(bars, Script(script)).fills]
    assert commissions == [same(1.0), same(2.0)]


def test_a_session_applies_the_symbols_own_commission_model(backend):
    bars = bars_from_rows({"A": [flat(40.0)] * 3})
    engine = Engine(
        backend=backend, commission_rate=0.001, instruments={"A": {"commission": PerShare(0.02)}}
    )
    session = engine.session(Script({0: lambda ctx: ctx.buy("A", 100)}), symbols=bars.symbols)
    session.push_bars(bars)
    assert [f.commission for f in session.end().fills] == [same(2.0)]
