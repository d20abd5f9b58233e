"""Hand-computed tests of docs/semantics.md section 23: commission and slippage models,
Python callables in their place, the affordability search, and the settings' checks."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest

from quanta_ref import (
    ConfigError,
    Engine,
    FixedBps,
    OrderError,
    OrderStatus,
    PerShare,
    PerValue,
    RangeFraction,
    Session,
    SquareRootImpact,
    Strategy,
    Tiered,
)
from quanta_ref.api import BacktestResult
from support import DAY, START, bars_from_rows, run, run_script, same

BAR = (10.0, 11.0, 9.0, 10.5, 10_000.0)  # open, high, low, close, volume


def one_fill(result: BacktestResult, k: int = 0) -> tuple[float, float, float]:
    """(quantity, price, commission) of fill `k`."""
    fill = result.fills[k]
    return fill.quantity, fill.price, fill.commission


def buy(quantity: float) -> Any:
    """A bar-0 action: a market buy of `quantity` X (fills at bar 1's open)."""
    return lambda ctx: ctx.buy("X", quantity)


# =============================================================== commission models
def test_per_value_takes_the_larger_of_the_rate_and_the_minimum(backend: str) -> None:
    # 100 x 10 = 1_000 x 0.001 = 1.00 < 5 -> 5; 1_000 x 10 = 10_000 x 0.001 = 10.00 > 5.
    bars = bars_from_rows([BAR, BAR, BAR])
    small = run(backend, bars, {0: buy(100)}, commission=PerValue(0.001, 5.0))
    large = run(backend, bars, {0: buy(1_000)}, commission=PerValue(0.001, 5.0))
    assert one_fill(small) == (100.0, 10.0, 5.0)
    assert one_fill(large) == (1_000.0, 10.0, 10.0)


def test_per_value_is_the_commission_rate_and_minimum_bit_for_bit(backend: str) -> None:
    bars = bars_from_rows([BAR, BAR, (10.3, 10.9, 9.7, 10.1), BAR])
    actions = {0: buy(333), 1: lambda ctx: ctx.sell("X", 200)}
    old = run(backend, bars, actions, commission_rate=0.0007, min_commission=3.0)
    new = run(backend, bars, actions, commission=PerValue(0.0007, 3.0))
    assert [one_fill(old, k) for k in (0, 1)] == [one_fill(new, k) for k in (0, 1)]
    assert old.equity.tobytes() == new.equity.tobytes()


def test_per_share_minimum_then_cap_of_the_traded_value(backend: str) -> None:
    # IB fixed: 0.005/share, min 1.00, max 1 % of value.
    # 100 at 10: 0.50 -> min 1.00; cap 10.00: 1.00.
    # 10 at 10: 0.05 -> min 1.00; cap 1.00 (100 x 1 %): 1.00 (exactly at the cap).
    # 4 at 10: 0.02 -> min 1.00; cap 0.40: 0.40 (the cap wins over the minimum).
    # 5_000 at 10: 25.00, cap 500: 25.00.
    bars = bars_from_rows([BAR, BAR, BAR])
    ib = PerShare(0.005, minimum=1.0, maximum_rate=0.01)
    for quantity, commission in ((100, 1.0), (10, 1.0), (4, 0.4), (5_000, 25.0)):
        result = run(backend, bars, {0: buy(quantity)}, commission=ib)
        assert one_fill(result) == (quantity, 10.0, same(commission))


def test_tiered_is_marginal_by_traded_value_with_a_minimum(backend: str) -> None:
    # Tiers: 0.003 up to 1_000, 0.001 up to 5_000, 0.0005 above; minimum 2.
    # 50 x 10 = 500: 1.50 -> 2.00. 100 x 10 = 1_000 (a boundary): 3.00.
    # 800 x 10 = 8_000: 1_000 x 0.003 + 4_000 x 0.001 + 3_000 x 0.0005 = 3 + 4 + 1.5 = 8.50.
    bars = bars_from_rows([BAR, BAR, BAR])
    tiered = Tiered([(0.0, 0.003), (1_000.0, 0.001), (5_000.0, 0.0005)], minimum=2.0)
    for quantity, commission in ((50, 2.0), (100, 3.0), (500, 7.0), (800, 8.5)):
        result = run(backend, bars, {0: buy(quantity)}, commission=tiered)
        assert one_fill(result) == (quantity, 10.0, same(commission))


def test_a_commission_model_charges_sells_too(backend: str) -> None:
    # Sell 300 at bar 1's open 10: 300 x 0.01 = 3 per-share commission.
    bars = bars_from_rows([BAR, BAR, BAR])
    actions = {0: buy(300), 1: lambda ctx: ctx.sell("X", 300)}
    result = run(backend, bars, actions, commission=PerShare(0.01))
    assert one_fill(result, 1) == (300.0, 10.0, 3.0)
    assert result.cash[-1] == same(100_000.0 - 3.0 - 3.0)


# =============================================================== slippage models
def test_fixed_bps_moves_the_price_and_stays_in_the_bar(backend: str) -> None:
    # 50 bps: 10 x 1.005 = 10.05 (high 11). 1_500 bps: 11.5 -> the high, 11.
    bars = bars_from_rows([BAR, BAR, BAR])
    assert one_fill(run(backend, bars, {0: buy(1)}, slippage=FixedBps(50)))[1] == same(10.05)
    assert one_fill(run(backend, bars, {0: buy(1)}, slippage=FixedBps(1_500)))[1] == 11.0


def test_range_fraction_moves_by_a_fraction_of_the_range(backend: str) -> None:
    # Range 11 - 9 = 2. Buy: 10 + 0.25 x 2 = 10.5; sell (bar 1): 10 - 0.5 = 9.5.
    # Fraction 1: buy 10 + 2 = 12 -> the high, 11.
    bars = bars_from_rows([BAR, BAR, BAR])
    actions = {0: buy(100), 1: lambda ctx: ctx.sell("X", 100)}
    result = run(backend, bars, actions, slippage=RangeFraction(0.25))
    assert [one_fill(result, k)[1] for k in (0, 1)] == [10.5, 9.5]
    assert one_fill(run(backend, bars, {0: buy(1)}, slippage=RangeFraction(1.0)))[1] == 11.0


def test_square_root_impact_by_the_quantity_asked(backend: str) -> None:
    # s = 0.1 x sqrt(100 / 10_000) = 0.01: buy 10 x 1.01 = 10.1; sell 10 x 0.99 = 9.9.
    bars = bars_from_rows([BAR, BAR, BAR])
    actions = {0: buy(100), 1: lambda ctx: ctx.sell("X", 100)}
    result = run(backend, bars, actions, slippage=SquareRootImpact(0.1))
    assert [one_fill(result, k)[1] for k in (0, 1)] == [same(10.1), same(9.9)]


def test_square_root_impact_of_a_fill_cut_by_participation_is_the_asks(backend: str) -> None:
    # Participation 1 % of 10_000 = 100 per bar; the order asks 400.
    # Bar 0: s = 0.1 x sqrt(400 / 10_000) = 0.02 -> 100 at 10.2 (the ask's impact).
    # Bar 1: the rest, 300: s = 0.1 x sqrt(0.03) -> 100 at 10 x (1 + s).
    bars = bars_from_rows([BAR, BAR, BAR, BAR])
    result = run(
        backend, bars, {0: buy(400)}, slippage=SquareRootImpact(0.1), max_volume_fraction=0.01
    )
    assert one_fill(result, 0)[:2] == (100.0, same(10.2))
    assert one_fill(result, 1)[:2] == (100.0, same(10.0 * (1.0 + 0.1 * math.sqrt(0.03))))


def test_square_root_impact_of_a_target_order_asks_target_minus_held(backend: str) -> None:
    # Target 100 from 0: asked 100, s = 0.01 -> 10.1.
    bars = bars_from_rows([BAR, BAR, BAR])
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_quantity("X", 100)},
        slippage=SquareRootImpact(0.1),
    )
    assert one_fill(result)[:2] == (100.0, same(10.1))


def test_square_root_impact_in_a_bar_without_volume_is_the_bars_edge(backend: str) -> None:
    # Volume 0: s = inf, a buy pays the high (11), a sell gets the low (9).
    empty = (10.0, 11.0, 9.0, 10.5, 0.0)
    bars = bars_from_rows([empty, empty, empty])
    actions = {0: buy(100), 1: lambda ctx: ctx.sell("X", 100)}
    result = run(backend, bars, actions, slippage=SquareRootImpact(0.1))
    assert [one_fill(result, k)[1] for k in (0, 1)] == [11.0, 9.0]


def test_a_limit_order_pays_no_slippage(backend: str) -> None:
    bars = bars_from_rows([BAR, BAR, BAR])
    limit = {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=10.0)}
    assert one_fill(run(backend, bars, limit, slippage=RangeFraction(0.5)))[1] == 10.0


# =============================================================== affordability
def test_per_share_minimum_buys_the_most_affordable_lots(backend: str) -> None:
    # Cash 10_000 at 10, lots of 100, 0.02/share, minimum 15. 1_000: 10_000 + 20 > cash.
    # Bisection on lots in [0, 10]: 5 (5_015) ok, 7 (7_015) ok, 8 (8_016) ok, 9 (9_018) ok:
    # 900, commission 18; the rest of the order is cancelled (insufficient cash).
    bars = bars_from_rows([BAR, BAR, BAR])
    result = run(
        backend,
        bars,
        {0: buy(1_000)},
        initial_cash=10_000.0,
        lot_size=100.0,
        commission=PerShare(0.02, minimum=15.0),
    )
    assert one_fill(result) == (900.0, 10.0, 18.0)
    order = result.orders[0]
    assert (order.status, order.reject_reason) == (OrderStatus.CANCELLED, "insufficient_cash")


def test_tiered_target_buys_the_largest_affordable_quantity(backend: str) -> None:
    # Cash 10_000 at 10; 1 % up to 5_000, 0.2 % above. A value V > 5_000 costs
    # V + 50 + 0.002 (V - 5_000) = 1.002 V + 40 <= 10_000: V <= 9_940.1 -> 994 shares
    # (9_940 + 50 + 9.88 = 9_999.88; 995 would cost 10_009.9).
    bars = bars_from_rows([BAR, BAR, BAR])
    result = run(
        backend,
        bars,
        {0: lambda ctx: ctx.order_target_percent("X", 1.0)},
        initial_cash=10_000.0,
        commission=Tiered([(0.0, 0.01), (5_000.0, 0.002)]),
    )
    assert one_fill(result) == (994.0, 10.0, same(59.88))
    assert result.cash[1] == same(10_000.0 - 9_940.0 - 59.88)


# =============================================================== callables
def per_share(symbol: str, side: str, quantity: float, price: float) -> float:
    """PerShare(0.005, 1.0, 0.01) as a callable."""
    commission = quantity * 0.005
    commission = commission if commission > 1.0 else 1.0
    cap = quantity * price * 0.01
    return commission if commission < cap else cap


def impact(bar: Any, side: str, quantity: float, price: float) -> float:
    """SquareRootImpact(0.1) as a callable."""
    # No volume: a finite fraction large enough to reach the bar's edge, as inf does.
    return 0.1 * math.sqrt(quantity / bar.volume) if bar.volume > 0.0 else 1e300


class Trader(Strategy):
    """Market, stop and target orders over a few bars of two symbols."""

    def on_bar(self, ctx: Any, bar: Any) -> None:
        t = ctx.bar_index
        if t % 3 == 0:
            ctx.order_target_percent(bar.symbol, 0.4 if t % 2 == 0 else 0.1)
        if t % 4 == 1:
            ctx.buy(bar.symbol, 130, "stop", stop_price=bar.close * 1.01)
        if t % 5 == 2 and ctx.get_position(bar.symbol).quantity > 0:
            ctx.sell(bar.symbol, 50)


def walk(n_bars: int = 40) -> Any:
    rng = np.random.default_rng(7)
    rows: dict[str, list[Any]] = {"X": [], "Y": []}
    for symbol, start in (("X", 10.0), ("Y", 25.0)):
        price = start
        for _ in range(n_bars):
            open_ = price * (1.0 + rng.normal(0.0, 0.01))
            close = open_ * (1.0 + rng.normal(0.0, 0.02))
            volume = float(rng.integers(0, 3_000))
            rows[symbol].append(
                (open_, max(open_, close) * 1.01, min(open_, close) * 0.99, close, volume)
            )
            price = close
    return bars_from_rows(rows)


def test_callables_give_the_named_models_results(backend: str) -> None:
    bars = walk()
    engine = {"initial_cash": 20_000.0}
    named = Engine(
        backend=backend,
        commission=PerShare(0.005, 1.0, 0.01),
        slippage=SquareRootImpact(0.1),
        **engine,
    ).run(bars, Trader())
    given = Engine(backend=backend, commission=per_share, slippage=impact, **engine).run(
        bars, Trader()
    )
    assert len(named.fills) > 10
    assert named.fills == given.fills
    assert named.equity.tobytes() == given.equity.tobytes()


def test_callables_are_called_with_the_symbols_bar_side_quantity_and_price(backend: str) -> None:
    # Buy 100 at bar 0's open 10: slippage sees bar 0 of X, "buy", 100, 10.0 and gives 1 %.
    calls: list[Any] = []

    def commission(symbol: str, side: str, quantity: float, price: float) -> float:
        calls.append(("commission", symbol, side, quantity, price))
        return 2.5

    def slippage(bar: Any, side: str, quantity: float, price: float) -> float:
        calls.append(("slippage", bar, side, quantity, price))
        return 0.01

    bars = bars_from_rows([BAR, BAR, BAR])
    result = run(backend, bars, {0: buy(100)}, commission=commission, slippage=slippage)
    assert one_fill(result) == (100.0, same(10.1), 2.5)
    (_, bar, *rest), first_commission = calls[0], calls[1]
    assert (bar.timestamp, bar.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
        int(START) + DAY,
        "X",
        *BAR,
    )
    assert rest == ["buy", 100.0, 10.0]
    assert first_commission[:4] == ("commission", "X", "buy", 100.0)
    assert first_commission[4] == same(10.1)


class Boom(Exception):
    pass


def test_a_raising_callable_surfaces_its_own_exception(backend: str) -> None:
    error = Boom("no quote")

    def commission(symbol: str, side: str, quantity: float, price: float) -> float:
        raise error

    bars = bars_from_rows([BAR, BAR, BAR])
    for settings in ({"commission": commission}, {"slippage": commission}):
        fills: list[Any] = []

        class Watch(Strategy):
            def on_bar(self, ctx: Any, bar: Any) -> None:
                ctx.buy("X", 100)

            def on_fill(self, ctx: Any, fill: Any) -> None:
                fills.append(fill)

        with pytest.raises(Boom) as raised:
            Engine(backend=backend, **settings).run(bars, Watch())
        assert raised.value is error
        assert fills == []


@pytest.mark.parametrize("value", [math.nan, -1.0, math.inf, "1"])
def test_a_callable_returning_a_bad_number_is_an_order_error(backend: str, value: Any) -> None:
    bars = bars_from_rows([BAR, BAR, BAR])
    for name in ("commission", "slippage"):
        with pytest.raises(OrderError) as raised:
            run(backend, bars, {0: buy(100)}, **{name: lambda *args: value})
        message = str(raised.value)
        assert message.startswith(f"{name}: the {name} callable returned {value!r} for X at bar 1")


def test_a_callable_model_runs_array_jobs_as_the_named_model(backend: str) -> None:
    bars = walk()
    entries = np.zeros(bars.close.shape, dtype=bool)
    exits = np.zeros(bars.close.shape, dtype=bool)
    entries[1::6], exits[4::6] = True, True
    named = Engine(backend=backend, commission=PerShare(0.005, 1.0, 0.01)).run_signals(
        bars, entries, exits, size=0.3
    )
    given = Engine(backend=backend, commission=per_share).run_signals(
        bars, entries, exits, size=0.3
    )
    assert len(named.fills) > 4
    assert named.fills == given.fills
    assert named.equity.tobytes() == given.equity.tobytes()


# =============================================================== settings
def test_models_are_checked_naming_the_field() -> None:
    for make, field in (
        (lambda: PerValue(-0.1), "PerValue.rate"),
        (lambda: PerValue(0.001, math.nan), "PerValue.minimum"),
        (lambda: PerShare(0.01, 0.0, 1.5), "PerShare.maximum_rate"),
        (lambda: Tiered([(1.0, 0.001)]), "Tiered.tiers"),
        (lambda: Tiered([(0.0, 0.001), (0.0, 0.002)]), "Tiered.tiers"),
        (lambda: Tiered([(0.0, 2.0)]), "Tiered.tiers"),
        (lambda: FixedBps(20_000), "FixedBps.bps"),
        (lambda: RangeFraction(1.5), "RangeFraction.fraction"),
        (lambda: SquareRootImpact(0.0), "SquareRootImpact.coefficient"),
    ):
        with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
            make()


def test_a_model_given_with_the_settings_it_replaces_is_refused(backend: str) -> None:
    for settings, field in (
        ({"commission": PerShare(0.01), "commission_rate": 0.001}, "commission"),
        ({"commission": PerShare(0.01), "min_commission": 5.0}, "commission"),
        ({"slippage": FixedBps(5), "slippage_bps": 5.0}, "slippage"),
        ({"commission": "per share"}, "commission"),
        ({"slippage": 0.001}, "slippage"),
    ):
        with pytest.raises(ConfigError, match=f"^{field}: "):
            Engine(backend=backend, **settings)


def test_a_market_presets_minimum_commission_yields_to_the_model(backend: str) -> None:
    # cn_a's 5 yuan minimum is not applied on top of the model: 100 x 0.01 = 1.
    bars = bars_from_rows({"600000": [BAR, BAR, BAR]})
    engine = Engine(backend=backend, market="cn_a", commission=PerShare(0.01))
    assert engine.config.min_commission == 0.0
    result = engine.run(bars, _BuyOnce())
    assert one_fill(result)[2] == 1.0


class _BuyOnce(Strategy):
    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == 0:
            ctx.buy(ctx.symbols[0], 100)


def test_named_models_round_trip_through_pickle_and_snapshots(backend: str) -> None:
    models = {"commission": Tiered([(0.0, 0.003), (1_000.0, 0.001)], 1.0), "slippage": FixedBps(3)}
    engine = Engine(backend=backend, **models)
    assert pickle.loads(pickle.dumps(engine.config)) == engine.config
    session = engine.session(_BuyOnce(), symbols=["X"])
    session.push(int(START), [10.0], [11.0], [9.0], [10.5], [1e4])
    step = session.push(int(START) + DAY, [10.0], [11.0], [9.0], [10.5], [1e4])
    # 100 x 10.003 (3 bps) = 1_000.3: 1_000 x 0.003 + 0.3 x 0.001 = 3.0003.
    assert [(f.quantity, f.commission) for f in step.fills] == [(100.0, same(3.0003))]
    restored = Session.restore(session.snapshot(), backend=backend)
    assert restored._config == engine.config


def test_a_session_with_an_unpicklable_callable_names_it_at_snapshot(backend: str) -> None:
    session = Engine(backend=backend, commission=lambda *args: 0.0).session(
        _BuyOnce(), symbols=["X"]
    )
    with pytest.raises(ConfigError, match="^commission: .* cannot be pickled"):
        session.snapshot()


def test_run_script_records_no_fill_for_a_refused_model(backend: str) -> None:
    # A sanity check of the helpers used above: a plain run still fills.
    result, script = run_script(backend, bars_from_rows([BAR, BAR, BAR]), {0: buy(1)})
    assert [kind for kind, _ in script.events].count("fill") == 1
    assert one_fill(result) == (1.0, 10.0, 0.0)


# =============================================================== the benchmark
def test_the_buy_and_hold_benchmark_pays_the_runs_models() -> None:
    from quanta_ref.analysis import buy_and_hold_equity
    from quanta_ref.config import EngineConfig

    # One symbol, 10_000 bought at bar 0's close 10.5 moved by 0.25 x range 2 = 11.0 (the
    # high). PerShare 0.01: q x 11 + 0.01 q = 10_000 -> q = 10_000 / 11.01, valued at 10.5.
    bars = bars_from_rows([BAR, BAR])
    config = EngineConfig.build(
        initial_cash=10_000.0, commission=PerShare(0.01), slippage=RangeFraction(0.25)
    )
    quantity = 10_000.0 / 11.01
    assert buy_and_hold_equity(bars, config).tolist() == [
        same(quantity * 10.5),
        same(quantity * 10.5),
    ]
    # A PerValue model is the commission_rate rule: the same equity bit for bit.
    named = EngineConfig.build(initial_cash=10_000.0, commission=PerValue(0.001, 5.0))
    rates = EngineConfig.build(initial_cash=10_000.0, commission_rate=0.001, min_commission=5.0)
    assert buy_and_hold_equity(bars, named).tobytes() == buy_and_hold_equity(bars, rates).tobytes()


def test_callables_are_called_in_the_references_sequence(backend: str) -> None:
    # Every call of both models (cash checks, the affordability search, the booking) with
    # its arguments, as the reference makes them.
    def recorded(backend: str) -> list[Any]:
        calls: list[Any] = []

        def commission(symbol: str, side: str, quantity: float, price: float) -> float:
            calls.append((symbol, side, quantity, price))
            return per_share(symbol, side, quantity, price)

        def slippage(bar: Any, side: str, quantity: float, price: float) -> float:
            calls.append((bar, side, quantity, price))
            return impact(bar, side, quantity, price)

        engine = Engine(
            backend=backend, initial_cash=5_000.0, commission=commission, slippage=slippage
        )
        engine.run(walk(), Trader())
        return calls

    calls = recorded(backend)
    assert len(calls) > 50
    assert calls == recorded("python")


def test_a_session_calls_a_callable_model(backend: str) -> None:
    # 100 x 10 at bar 1's open, commission 0.02 x 100 = 2.
    session = Engine(backend=backend, commission=lambda s, side, q, p: 0.02 * q).session(
        _BuyOnce(), symbols=["X"]
    )
    session.push(int(START), [10.0], [11.0], [9.0], [10.5], [1e4])
    step = session.push(int(START) + DAY, [10.0], [11.0], [9.0], [10.5], [1e4])
    assert [(f.quantity, f.price, f.commission) for f in step.fills] == [(100.0, 10.0, 2.0)]
