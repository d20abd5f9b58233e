"""Property tests: invariants every run must satisfy, and bad input that must never crash.

Scenarios (random bars, engine settings and an order script) come from tests/strategies.py;
the number of examples comes from its hypothesis profile (QUANTA_HYPOTHESIS_PROFILE: "ci",
the default, or "deep"). Every invariant is checked against the result alone, by replaying
the fills and the bars as docs/semantics.md says, never by asking the engine.
"""

from __future__ import annotations

import math
import traceback
import warnings
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from quanta_ref import (
    Bars,
    Engine,
    FixedBps,
    PerShare,
    PerValue,
    RangeFraction,
    SquareRootImpact,
    Strategy,
    Tiered,
)
from quanta_ref.api import BacktestResult
from quanta_ref.config import INSTRUMENT_FIELDS, EngineConfig
from quanta_ref.errors import ConfigError, DataError, QuantaError
from quanta_ref.orders import Fill, OrderStatus, OrderType, Side, TimeInForce
from strategies import (
    CN_A_ON_OTHER_DATA,
    NS_DAY,
    ODD_VALUES,
    STARTS,
    SYMBOLS,
    ScriptedStrategy,
    bar_specs,
    describe_bars,
    impact_slippage,
    make_bars,
    per_share_commission,
    scenarios,
)

FIXTURE_OK = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def _note(text: str) -> None:
    """hypothesis.note, also usable from the plain (pinned-example) tests."""
    try:
        note(text)
    except InvalidArgument:  # not inside a hypothesis test
        pass


# ====================================================================== running a scenario
@dataclass
class Run:
    bars: Bars
    settings: dict[str, Any]
    script: dict[str, Any]
    cfg: EngineConfig
    strategy: ScriptedStrategy
    result: BacktestResult


def run_scenario(backend: str, scenario: tuple[Bars, dict[str, Any], dict[str, Any]]) -> Run:
    bars, engine_settings, script = scenario
    # The invariants below restate the engine-wide rules; per-symbol settings (multipliers,
    # margins, own lots and limits) are checked by tests/test_semantics_instruments.py and
    # the differential tests.
    engine_settings = {k: v for k, v in engine_settings.items() if k != "instruments"}
    _note(describe_bars(bars))
    _note(f"settings = {engine_settings!r}")
    _note(f"script = {script!r}")
    engine = Engine(backend=backend, **engine_settings)
    strategy = ScriptedStrategy(script, engine.config.lot_size, engine.config.fractional)
    result = engine.run(bars, strategy)
    for fill in result.fills:
        _note(f"fill {fill!r}")
    for order in result.orders:
        _note(
            f"order {order!r} created_at={order.created_at} tif={order.time_in_force.value}"
            f" limit={order.limit_price!r} stop={order.stop_price!r}"
        )
    return Run(bars, engine_settings, script, engine.config, strategy, result)


def _row(bars: Bars, timestamp: int) -> int:
    t = int(np.searchsorted(bars.timestamps, timestamp))
    assert t < bars.n_bars and bars.timestamps[t] == timestamp, (
        f"fill timestamp {timestamp} is not a bar timestamp"
    )
    return t


def _day(timestamp: int) -> int:
    return timestamp // NS_DAY


def _replay_positions(run: Run) -> list[list[float]]:
    """Position of every symbol after each fill, in booking order (held before fill k is
    index k, after it k + 1)."""
    column = {s: n for n, s in enumerate(run.bars.symbols)}
    pos = [0.0] * run.bars.n_symbols
    out = [list(pos)]
    for fill in run.result.fills:
        n = column[fill.symbol]
        pos[n] = pos[n] + (fill.quantity if fill.side is Side.BUY else -fill.quantity)
        out.append(list(pos))
    return out


# ====================================================================== the invariants
def check_cash_account(run: Run) -> None:
    """Cash account: cash never negative at any bar, no position ever negative."""
    if run.cfg.allow_short:
        return
    cash = run.result.cash
    for t in range(len(cash)):
        assert cash[t] >= 0.0, f"cash {cash[t]!r} < 0 at bar {t} in a cash account"
    column = {s: n for n, s in enumerate(run.bars.symbols)}
    positions = _replay_positions(run)
    for k, fill in enumerate(run.result.fills):
        after = positions[k + 1][column[fill.symbol]]
        assert after >= 0.0, f"fill {k} {fill!r} leaves position {after!r} in a cash account"


def check_fill_prices(run: Run) -> None:
    """Every fill inside its bar's [low, high]; limits respected; section 4 prices."""
    bars, cfg = run.bars, run.cfg
    column = {s: n for n, s in enumerate(bars.symbols)}
    orders = {o.order_id: o for o in run.result.orders}
    s = _fixed_slippage(cfg)
    for fill in run.result.fills:
        t, n = _row(bars, fill.timestamp), column[fill.symbol]
        o, h, lo, c = (float(getattr(bars, f)[t, n]) for f in ("open", "high", "low", "close"))
        assert not math.isnan(c), f"{fill!r} at a missing bar (row {t})"
        assert lo <= fill.price <= h, f"{fill!r} outside [low {lo!r}, high {h!r}] (row {t})"
        order = orders[fill.order_id]
        assert order.symbol == fill.symbol and order.side is fill.side, (order, fill)
        buy = fill.side is Side.BUY
        limit, stop = order.limit_price, order.stop_price
        if limit is not None:
            ok = fill.price <= limit if buy else fill.price >= limit
            assert ok, f"{fill!r} beyond its limit {limit!r} ({order!r})"
        if s is None:
            continue  # another slippage model: tests/test_semantics_costs.py prices it
        if order.order_type is OrderType.MARKET:
            base = c if cfg.fill_at == "close" else o
            expected = min(base * (1.0 + s), h) if buy else max(base * (1.0 - s), lo)
            assert fill.price == expected, (
                f"market {fill!r}: price should be {expected!r} (base {base!r}, row {t})"
            )
        elif order.order_type is OrderType.LIMIT:
            assert limit is not None
            expected = o if (o <= limit if buy else o >= limit) else limit
            assert fill.price == expected, f"limit {fill!r}: price should be {expected!r}"
        elif order.order_type in (OrderType.STOP, OrderType.TRAILING_STOP):
            # A trailing stop stops moving when triggered: its stop is the level that was hit.
            assert stop is not None
            if buy:
                allowed = {min(o * (1.0 + s), h), min(stop * (1.0 + s), h)}
            else:
                allowed = {max(o * (1.0 - s), lo), max(stop * (1.0 - s), lo)}
            assert fill.price in allowed, f"stop {fill!r}: price not in {allowed!r}"
        else:
            assert limit is not None and stop is not None
            assert fill.price in {o, limit, stop}, f"stop-limit {fill!r}: not open/limit/stop"


def check_lots(run: Run) -> None:
    """Not fractional: buys are whole lots, sells whole lots or down to exactly 0."""
    if run.cfg.fractional:
        return
    lot = run.cfg.lot_size
    column = {s: n for n, s in enumerate(run.bars.symbols)}
    positions = _replay_positions(run)
    for k, fill in enumerate(run.result.fills):
        after = positions[k + 1][column[fill.symbol]]
        whole = fill.quantity == math.floor(fill.quantity) and math.fmod(fill.quantity, lot) == 0
        if fill.side is Side.BUY:
            assert whole, f"buy fill {fill!r} is not a whole number of lots of {lot}"
        else:
            assert whole or after == 0.0, (
                f"sell fill {fill!r} is neither whole lots of {lot} nor leaves 0 (leaves {after!r})"
            )


def check_t_plus_1(run: Run) -> None:
    """T+1: a day's sells never exceed the holding at the start of that day."""
    if run.cfg.settlement != "T+1":
        return
    column = {s: n for n, s in enumerate(run.bars.symbols)}
    positions = _replay_positions(run)
    start_of_day: dict[tuple[str, int], float] = {}
    sold: dict[tuple[str, int], float] = {}
    for k, fill in enumerate(run.result.fills):
        key = (fill.symbol, _day(fill.timestamp))
        start_of_day.setdefault(key, positions[k][column[fill.symbol]])
        if fill.side is Side.SELL:
            sold[key] = sold.get(key, 0.0) + fill.quantity
            assert sold[key] <= start_of_day[key], (
                f"T+1: {fill!r} brings day {key[1]}'s sells of {key[0]} to {sold[key]!r}, "
                f"but only {start_of_day[key]!r} was held at the start of the day"
            )


def _fixed_slippage(cfg: EngineConfig) -> float | None:
    """The slippage fraction of a FixedBps run (slippage_bps or the model), else None."""
    if cfg.slippage is None:
        return cfg.slippage_bps / 10_000.0
    if isinstance(cfg.slippage, FixedBps):
        return cfg.slippage.bps / 10_000.0
    return None


def _commission(cfg: EngineConfig, f: Fill, value: float) -> float:
    """The commission of fill `f` worth `value` by the run's commission model."""
    model = cfg.commission
    if model is None:
        return max(cfg.min_commission, value * cfg.commission_rate)
    if isinstance(model, (PerValue, PerShare, Tiered)):
        return model.commission(f.quantity, value)
    return float(model(f.symbol, f.side.value, f.quantity, f.price))


def check_equity_and_cash(run: Run) -> None:
    """cash[t] and equity[t] rebuilt from the fills and bars, bit for bit (sections 2.6, 7.6)."""
    bars, cfg, result = run.bars, run.cfg, run.result
    column = {s: n for n, s in enumerate(bars.symbols)}
    cash = cfg.initial_cash
    pos = [0.0] * bars.n_symbols
    last = [math.nan] * bars.n_symbols
    fills = result.fills
    k = 0
    for t in range(bars.n_bars):
        while k < len(fills) and fills[k].timestamp == bars.timestamps[t]:
            f = fills[k]
            value = f.quantity * f.price
            commission = _commission(cfg, f, value)
            tax = value * cfg.sell_tax_rate if f.side is Side.SELL else 0.0
            assert f.commission == commission, f"{f!r}: commission should be {commission!r}"
            assert f.tax == tax, f"{f!r}: tax should be {tax!r}"
            n = column[f.symbol]
            if f.side is Side.BUY:
                cash = cash - value - f.commission
                pos[n] = pos[n] + f.quantity
            else:
                cash = cash + value - f.commission - f.tax
                pos[n] = pos[n] - f.quantity
            k += 1
        for n in range(bars.n_symbols):
            if not math.isnan(bars.close[t, n]):
                last[n] = float(bars.close[t, n])
        equity = cash
        for n in range(bars.n_symbols):
            if pos[n] != 0.0:  # a flat symbol adds 0 (and may not have a close yet)
                equity = equity + pos[n] * last[n]
        assert result.cash[t] == cash, (
            f"cash[{t}] = {float(result.cash[t]).hex()} but the fills give {cash.hex()}"
        )
        assert result.equity[t] == equity, (
            f"equity[{t}] = {float(result.equity[t]).hex()} ({result.equity[t]!r}) but cash + "
            f"positions x closes = {equity.hex()} ({equity!r})"
        )
    assert k == len(fills), f"fill {fills[k]!r} is not at a bar timestamp, or out of order"
    final = [p.quantity for p in result.positions]
    assert final == pos, f"final positions {final} but the fills give {pos}"


def check_orders(run: Run) -> None:
    """Ids 1..n; filled quantity = sum of fills; FILLED complete; REJECTED without fills; a
    bracket's exits of the bracket's side and never more than its entry filled."""
    result = run.result
    ids = [o.order_id for o in result.orders]
    assert ids == list(range(1, len(ids) + 1)), f"order ids {ids}"
    # Every order but a bracket's exits (made by the engine at a fill) was returned to it.
    made = [o.order_id for o in result.orders if o.parent_id is None]
    assert run.strategy.ids == made, "the ids returned to the strategy are not its orders"
    filled: dict[int, float] = {}
    count: dict[int, int] = {}
    for f in result.fills:
        assert 1 <= f.order_id <= len(ids), f"{f!r} has no order"
        filled[f.order_id] = filled.get(f.order_id, 0.0) + f.quantity
        count[f.order_id] = count.get(f.order_id, 0) + 1
    for o in result.orders:
        total = filled.get(o.order_id, 0.0)
        if run.cfg.fractional:
            assert math.isclose(o.filled_quantity, total, rel_tol=1e-9, abs_tol=0.0), (o, total)
        else:
            assert o.filled_quantity == total, f"{o!r}: fills sum to {total!r}"
        if o.status is OrderStatus.FILLED:
            assert o.filled_quantity == o.quantity, f"FILLED {o!r}"
        if o.status is OrderStatus.REJECTED:
            assert o.order_id not in count, f"REJECTED {o!r} has fills"
            assert o.reject_reason, f"REJECTED {o!r} without a reason"
        if o.status is OrderStatus.PENDING:
            assert o.order_id not in count, f"PENDING {o!r} has fills"
        if o.status is OrderStatus.PARTIALLY_FILLED:
            assert 0.0 < o.filled_quantity < o.quantity, f"{o!r}"
        if o.status is OrderStatus.EXPIRED:
            assert o.time_in_force in (TimeInForce.DAY, TimeInForce.GTD), o
            assert o.reject_reason == "expired", o
        if o.time_in_force is TimeInForce.FOK:
            assert o.filled_quantity in (0.0, o.quantity), f"FOK {o!r} filled in part"
            assert count.get(o.order_id, 0) <= 1, f"FOK {o!r} filled more than once"
        if o.order_id in count and not o.is_target:
            assert o.filled_quantity <= o.quantity, o
        if o.parent_id is not None:
            entry = result.orders[o.parent_id - 1]
            assert entry.side is not None and o.side is not entry.side, (o, entry)
            assert o.quantity <= entry.filled_quantity, (o, entry)


def check_fill_timing(run: Run) -> None:
    """No fill at a missing bar (section 11) or before its order could trade (section 3: the
    next bar; at or after its own bar for a market order in close mode; bar 0 for an order
    placed in on_start, whose created_at is bar 0's timestamp); a DAY order's fills share
    one trading day, an IOC or FOK order's one bar, and a GTD order's come at or before its
    expire_at."""
    bars, cfg = run.bars, run.cfg
    column = {s: n for n, s in enumerate(bars.symbols)}
    orders = {o.order_id: o for o in run.result.orders}
    close_mode = cfg.fill_at == "close"
    day_of: dict[int, int] = {}
    attempt_of: dict[int, int] = {}
    for f in run.result.fills:
        t = _row(bars, f.timestamp)
        assert not math.isnan(bars.close[t, column[f.symbol]]), f"{f!r} at a missing bar {t}"
        o = orders[f.order_id]
        if f.order_id in run.strategy.start_ids:
            assert f.timestamp >= bars.timestamps[0]
        elif close_mode and o.order_type is OrderType.MARKET:
            assert f.timestamp >= o.created_at, f"{f!r} before its order {o!r}"
        else:
            assert f.timestamp > o.created_at, (
                f"{f!r} not after its order's bar {o.created_at} ({o!r})"
            )
        if o.time_in_force is TimeInForce.DAY:
            day = day_of.setdefault(f.order_id, _day(f.timestamp))
            assert day == _day(f.timestamp), f"DAY order {o!r} filled on two days"
        if o.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            first = attempt_of.setdefault(f.order_id, f.timestamp)
            assert first == f.timestamp, f"{o!r} filled at two bars: it has one attempt"
        if o.time_in_force is TimeInForce.GTD:
            assert o.expire_at is not None and f.timestamp <= o.expire_at, f"{f!r} after {o!r}"


def check_price_limits(run: Run) -> None:
    """With price_limit: no buy at/above limit-up, no sell at/below limit-down (section 7.1:
    "at" within half a tick, or 1e-9 of the limit price without a tick size)."""
    bars, cfg = run.bars, run.cfg
    if cfg.price_limit is None:
        return
    limit, tick = cfg.price_limit, cfg.tick_size
    # reference[t][n]: the close of symbol n's latest bar on a day before bar t's day
    reference = np.full(bars.close.shape, np.nan)
    last = [math.nan] * bars.n_symbols
    ref = [math.nan] * bars.n_symbols
    day = None
    for t in range(bars.n_bars):
        d = _day(int(bars.timestamps[t]))
        if d != day:
            day, ref = d, list(last)
        reference[t] = ref
        for n in range(bars.n_symbols):
            if not math.isnan(bars.close[t, n]):
                last[n] = float(bars.close[t, n])
    column = {s: n for n, s in enumerate(bars.symbols)}

    def rounded(x: float) -> float:
        return x if tick is None else math.floor(x / tick + 0.5) * tick

    for f in run.result.fills:
        t, n = _row(bars, f.timestamp), column[f.symbol]
        p = float(reference[t, n])
        if math.isnan(p):
            continue  # the symbol's first day has no limit
        up, down = rounded(p * (1.0 + limit)), rounded(p * (1.0 - limit))
        if f.side is Side.BUY:
            tolerance = tick * 0.5 if tick is not None else up * 1e-9
            assert f.price < up - tolerance, (
                f"{f!r} buys at/above limit-up {up!r} (P = {p!r}, tolerance {tolerance!r})"
            )
        else:
            tolerance = tick * 0.5 if tick is not None else down * 1e-9
            assert f.price > down + tolerance, (
                f"{f!r} sells at/below limit-down {down!r} (P = {p!r}, tolerance {tolerance!r})"
            )


def check_risk_limits(run: Run) -> None:
    """Section 9 / 7.6: every fill that is not purely reducing respects every risk limit, with
    the position, cash and closes of its moment and the drawdown stop of the bars before."""
    bars, cfg, result = run.bars, run.cfg, run.result
    if (
        cfg.max_drawdown_stop is None
        and cfg.max_order_value is None
        and cfg.max_leverage is None
        and cfg.max_position_quantity is None
        and cfg.max_position_weight is None
    ):
        return
    n_symbols = bars.n_symbols
    column = {s: n for n, s in enumerate(bars.symbols)}
    orders = {o.order_id: o for o in result.orders}
    # closes before row t (open phase) and up to row t (close phase)
    last_before, last_upto = [], []
    last = [math.nan] * n_symbols
    for t in range(bars.n_bars):
        last_before.append(list(last))
        for n in range(n_symbols):
            if not math.isnan(bars.close[t, n]):
                last[n] = float(bars.close[t, n])
        last_upto.append(list(last))
    # the drawdown stop in force during row t (set at the record step of an earlier row)
    halted_during, halted, peak = [], False, cfg.initial_cash
    for t in range(bars.n_bars):
        halted_during.append(halted)
        equity_t = float(result.equity[t])
        peak = max(peak, equity_t)
        if cfg.max_drawdown_stop is not None and 1.0 - equity_t / peak >= cfg.max_drawdown_stop:
            halted = True
    cash, pos = cfg.initial_cash, [0.0] * n_symbols
    first_fill = [math.nan] * n_symbols  # a symbol with no close yet: its first fill's price
    for f in result.fills:
        t, n = _row(bars, f.timestamp), column[f.symbol]
        close_phase = cfg.fill_at == "close" and orders[f.order_id].order_type is OrderType.MARKET
        marks = last_upto[t] if close_phase else last_before[t]
        marks = [first_fill[m] if math.isnan(x) else x for m, x in enumerate(marks)]
        held = pos[n]
        buy = f.side is Side.BUY
        after = held + (f.quantity if buy else -f.quantity)
        reducing = abs(after) <= abs(held) and (after == 0.0 or (after > 0.0) == (held > 0.0))
        if not reducing:
            equity = cash
            for m in range(n_symbols):
                if pos[m] != 0.0:
                    equity = equity + pos[m] * (f.price if m == n else marks[m])
            what = f"{f!r} (held {held!r}, after {after!r}, equity {equity!r})"
            assert not (buy and halted_during[t]), f"drawdown_halt: {what} buys after the stop"
            if cfg.max_order_value is not None:
                assert f.quantity * f.price <= cfg.max_order_value, f"max_order_value: {what}"
            if cfg.max_position_quantity is not None:
                assert abs(after) <= cfg.max_position_quantity, f"max_position: {what}"
            if cfg.max_position_weight is not None:
                assert abs(after) * f.price <= cfg.max_position_weight * equity, (
                    f"max_position (weight): {what}"
                )
            if cfg.max_leverage is not None:
                exposure = 0.0
                for m in range(n_symbols):
                    if m == n:
                        if after != 0.0:
                            exposure = exposure + abs(after) * f.price
                    elif pos[m] != 0.0:
                        exposure = exposure + abs(pos[m]) * marks[m]
                assert exposure <= cfg.max_leverage * equity, (
                    f"max_leverage: {what}, exposure {exposure!r}"
                )
        value = f.quantity * f.price
        if buy:
            cash = cash - value - f.commission
        else:
            cash = cash + value - f.commission - f.tax
        pos[n] = after
        if math.isnan(first_fill[n]):
            first_fill[n] = f.price


ALL_CHECKS = (
    check_cash_account,
    check_fill_prices,
    check_lots,
    check_t_plus_1,
    check_equity_and_cash,
    check_orders,
    check_fill_timing,
    check_price_limits,
    check_risk_limits,
)


# ====================================================================== invariant tests
@FIXTURE_OK
@given(scenario=scenarios())
def test_cash_account_never_goes_negative(backend, scenario):
    check_cash_account(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_fills_are_inside_the_bar_and_respect_limit_prices(backend, scenario):
    check_fill_prices(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_fills_are_whole_lots(backend, scenario):
    check_lots(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_t_plus_1_never_sells_shares_bought_today(backend, scenario):
    check_t_plus_1(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_equity_is_cash_plus_positions_at_last_close_bit_for_bit(backend, scenario):
    check_equity_and_cash(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_order_bookkeeping_matches_the_fills(backend, scenario):
    check_orders(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_no_fill_before_the_order_can_trade_or_at_a_missing_bar(backend, scenario):
    check_fill_timing(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_price_limits_block_buys_at_limit_up_and_sells_at_limit_down(backend, scenario):
    check_price_limits(run_scenario(backend, scenario))


@FIXTURE_OK
@given(scenario=scenarios())
def test_fills_respect_the_risk_limits(backend, scenario):
    check_risk_limits(run_scenario(backend, scenario))


# ====================================================================== garbage in
_SMALL_SPEC = {
    "n_symbols": 2,
    "n_bars": 10,
    "seed": 1,
    "start": STARTS[0],
    "intraday": False,
    "time_of_day": 0,
    "skip_weekends": False,
    "p_holiday": 0.0,
    "bars_per_day": 2,
    "step_minutes": 5,
    "first_offset": 0,
    "sigma": 0.02,
    "p_missing": 0.0,
    "missing_prefix": [0, 0],
    "missing_suffix": [0, 0],
    "p_limit": 0.0,
    "p_gap": 0.0,
    "p_zero_volume": 0.0,
    "small_volume": False,
    "tick_prices": False,
    "start_prices": [10.0, 20.0],
}
_PIN_SPEC = {
    **_SMALL_SPEC,
    "n_symbols": 1,
    "missing_prefix": [0],
    "missing_suffix": [0],
    "start_prices": [10.0],
}

GARBAGE = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.sampled_from(ODD_VALUES),
    st.sampled_from(ODD_VALUES),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.complex_numbers(),
    st.builds(np.float64, st.floats()),
    st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)),
)

_VALID_SETTINGS: dict[str, st.SearchStrategy[Any]] = {
    "initial_cash": st.sampled_from([1.0, 1e5, 1e12, 1e308, 5e-324]),
    "commission_rate": st.sampled_from([0.0, 0.001, 1.0]),
    "min_commission": st.sampled_from([0.0, 5.0]),
    "sell_tax_rate": st.sampled_from([0.0, 0.001, {"2020-01-01": 0.001, "2024-01-03": 0.0005}]),
    "buy_tax_rate": st.sampled_from([0.0, 0.001, [("2030-01-01", 0.001)]]),
    "transfer_fee_rate": st.sampled_from([0.0, 0.00002, {"1990-01-01": 1.0}]),
    "slippage_bps": st.sampled_from([0.0, 10.0, 10_000.0]),
    "fill_at": st.sampled_from(["next_open", "close"]),
    "lot_size": st.sampled_from([1, 100, 0.01, 5e-324, 1e300]),
    "fractional": st.booleans(),
    "settlement": st.sampled_from(["T+0", "T+1"]),
    "price_limit": st.sampled_from([None, 0.1, 5.0, 1e308, 5e-324]),
    "tick_size": st.sampled_from([None, 0.01, 1.0, 5e-324, 1e308]),
    "max_volume_fraction": st.sampled_from([None, 0.1, 1.0, 5e-324]),
    "allow_short": st.booleans(),
    "max_leverage": st.sampled_from([None, 1.0, 1e-9, 1e308]),
    "max_position_quantity": st.sampled_from([None, 1.0, 1e9]),
    "max_position_weight": st.sampled_from([None, 0.5]),
    "max_order_value": st.sampled_from([None, 1.0]),
    "max_drawdown_stop": st.sampled_from([None, 0.5, 1.0]),
    "periods_per_year": st.sampled_from([None, 252, 1e-300, 1e308]),
    "dividend_tax_rate": st.sampled_from([0.0, 0.1, 1.0, 5e-324]),
    "market": st.sampled_from([None, "cn_a"]),
    "instruments": st.one_of(
        st.sampled_from(
            [
                None,
                {},
                {"S0": {"multiplier": 300.0}},
                {"S0": {"lot_size": 100, "multiplier": 1e308}},
                {"S1": {"price_limit": 0.2, "tick_size": 0.01}},
                {"S0": {"margin": 0.5}, "S9": {"multiplier": 5e-324}},
            ]
        ),
        st.dictionaries(
            st.sampled_from(["S0", "S1"]),
            st.dictionaries(st.sampled_from(INSTRUMENT_FIELDS), GARBAGE, max_size=2),
            max_size=2,
        ),
    ),
    "commission": st.sampled_from([None, PerShare(0.005, 1.0, 0.01), per_share_commission]),
    "slippage": st.sampled_from([None, RangeFraction(1.0), SquareRootImpact(9.0), impact_slippage]),
}
KNOWN_SETTINGS = [f.name for f in fields(EngineConfig)]


def _maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`valid` two times in three, else garbage (st.one_of would flatten GARBAGE's branches
    and pick `valid` rarely)."""
    return st.sampled_from([True, True, False]).flatmap(lambda ok: valid if ok else GARBAGE)


@st.composite
def garbage_settings(draw: Any) -> dict[str, Any]:
    """A few known settings, each valid two times in three, else garbage; now and then an
    unknown name (rarely: it is refused before any value is looked at)."""
    keys = draw(st.lists(st.sampled_from(KNOWN_SETTINGS), unique=True, max_size=5))
    out = {key: draw(_maybe(_VALID_SETTINGS[key])) for key in keys}
    if draw(st.sampled_from([False] * 7 + [True])):
        out[draw(st.text(max_size=12).filter(lambda k: k not in KNOWN_SETTINGS + ["backend"]))] = (
            draw(GARBAGE)
        )
    return out


def _small_bars() -> Bars:
    spec = {
        "n_symbols": 2,
        "n_bars": 30,
        "seed": 7,
        "start": STARTS[0],
        "intraday": False,
        "time_of_day": 0,
        "skip_weekends": True,
        "p_holiday": 0.0,
        "bars_per_day": 2,
        "step_minutes": 5,
        "first_offset": 0,
        "sigma": 0.02,
        "p_missing": 0.1,
        "missing_prefix": [0, 3],
        "missing_suffix": [0, 0],
        "p_limit": 0.1,
        "p_gap": 0.1,
        "p_zero_volume": 0.1,
        "small_volume": False,
        "tick_prices": True,
        "start_prices": [10.0, 33.3],
    }
    bars = make_bars(spec)
    # A-share codes (a main-board stock and a ChiNext one), so that market="cn_a" applies.
    fields = (getattr(bars, f) for f in ("open", "high", "low", "close", "volume"))
    return Bars(bars.timestamps, ["600000.SH", "300750.SZ"], *fields)


SMALL_BARS = _small_bars()
SMALL_SCRIPT: dict[str, Any] = {
    "start": [{"op": "target_pct", "sym": 0, "w": 0.5, "tif": "gtc"}],
    "bars": {
        3: [{"op": "target_pct", "sym": 1, "w": 0.5, "tif": "gtc"}],
        10: [
            {
                "op": "submit",
                "sym": 0,
                "side": "sell",
                "type": "limit",
                "tif": "gtc",
                "qty": {"mode": "held", "f": 0.5},
                "limit_off": 0.01,
                "stop_off": 0.0,
                "round": True,
            }
        ],
        20: [
            {"op": "target_pct", "sym": 0, "w": 0.0, "tif": "day"},
            {
                "op": "submit",
                "sym": 1,
                "side": "buy",
                "type": "stop",
                "tif": "gtc",
                "qty": {"mode": "lots", "n": 1},
                "limit_off": 0.0,
                "stop_off": 0.02,
                "round": False,
            },
        ],
    },
    "fills": {},
    "end": [],
}


@FIXTURE_OK
@given(
    engine_settings=garbage_settings(),
    backend_value=st.sampled_from([True] * 5 + [False]).flatmap(
        lambda ok: st.none() if ok else GARBAGE
    ),
)
def test_garbage_engine_settings_build_or_raise_quanta_error(
    backend, engine_settings, backend_value
):
    """Engine(...) with any settings either builds or raises a QuantaError; an engine that
    builds runs a small backtest to the end, or stops it with the DataError of an account
    that leaves the float range (e.g. an initial cash near 1.8e308 that a rising close
    values at inf: docs/semantics.md section 7), or the ConfigError of a cost schedule that
    begins after the first bar."""
    chosen = backend if backend_value is None else backend_value
    try:
        engine = Engine(backend=chosen, **engine_settings)
    except QuantaError:
        return
    _note(f"built {engine!r}")
    strategy = ScriptedStrategy(SMALL_SCRIPT, engine.config.lot_size, engine.config.fractional)
    try:
        result = engine.run(SMALL_BARS, strategy)
    except DataError as exc:
        assert "outside the float range" in str(exc)
        return
    except ConfigError as exc:  # a cost schedule that begins after the first bar
        assert "before the schedule's first date" in str(exc)
        return
    assert len(result.equity) == SMALL_BARS.n_bars


@pytest.mark.parametrize(
    ("engine_settings", "backend_value"),
    [
        ({"market": [1]}, None),
        ({"min_commission": -(10**400)}, None),
        ({"price_limit": 1e308, "tick_size": 0.01}, None),
        ({"price_limit": 0.1, "tick_size": 5e-324}, None),
        ({"fractional": True, "lot_size": 5e-324}, None),
        ({}, np.array([])),
        ({"allow_short": np.array([])}, None),
        ({"allow_short": np.array([1, 2])}, None),
    ],
    ids=[
        "unhashable_market",
        "huge_int_setting",
        "huge_price_limit_with_tick",
        "tiny_tick",
        "tiny_fractional_lot",
        "backend_empty_array",
        "allow_short_empty_array",
        "allow_short_two_element_array",
    ],
)
def test_bad_engine_settings_found_by_the_properties(backend, engine_settings, backend_value):
    """Settings the property test above found, kept as regression tests: build or
    QuantaError, and an engine that builds runs."""
    test_garbage_engine_settings_build_or_raise_quanta_error.hypothesis.inner_test(
        backend, engine_settings, backend_value
    )


_PIN_ARGS: dict[str, Any] = {
    "timestamps": np.array([STARTS[0], STARTS[0] + NS_DAY]),
    "open": [[10.0], [11.0]],
    "high": [[10.5], [11.5]],
    "low": [[9.5], [10.5]],
    "close": [[10.0], [11.0]],
    "volume": [[100.0], [100.0]],
    "symbols": ["S0"],
}
_BAD_FLOATS = [math.nan, math.inf, -math.inf, -1.0, 0.0, -0.0, 5e-324, 1e308, 1e-300]


_TS_MUTATIONS = [
    "reverse",
    "duplicate",
    "float",
    "iso",
    "nat",
    "days",
    "object",
    "garbage_text",
    "2d",
    "uint_big",
    "extreme",
    "list",
    "empty",
    "far_dates",
    "unsorted",
]


def _mutate_timestamps(ts: Any, how: str) -> Any:
    ts = np.asarray(ts)
    n = len(ts)
    if how == "reverse":
        return ts[::-1]
    if how == "duplicate" and n > 1:
        ts = ts.copy()
        ts[1] = ts[0]
        return ts
    if how == "unsorted" and n > 2:
        return ts[[1, 0, *range(2, n)]]
    if how == "float":
        return ts.astype(float)
    if how == "iso":
        return np.array([str(np.datetime64(int(x), "ns")) for x in ts])
    if how == "nat":
        return np.array([np.datetime64("NaT", "ns")] * n)
    if how == "days":
        return ts.astype("datetime64[ns]").astype("datetime64[D]")
    if how == "object":
        return np.array([None] * n, dtype=object)
    if how == "garbage_text":
        return np.array(["not a date"] * n)
    if how == "2d":
        return ts.reshape(-1, 1)
    if how == "uint_big":
        return np.full(n, 2**64 - 1 - n, dtype=np.uint64) + np.arange(n, dtype=np.uint64)
    if how == "extreme" and n:
        return np.array([-(2**63) + 1] + [2**63 - 1] * (n - 1), dtype=np.int64)
    if how == "far_dates":
        return np.array([f"{99999 + i}-01-01" for i in range(n)])
    if how == "list":
        return ts.tolist()
    if how == "empty":
        return np.array([], dtype=np.int64)
    return ts


@st.composite
def from_arrays_garbage(draw: Any) -> dict[str, Any]:
    """Arguments for Bars.from_arrays: a clean panel, then a few random corruptions."""
    n_bars, n_symbols = draw(st.integers(0, 6)), draw(st.integers(1, 3))
    close = 10.0 + np.arange(n_bars * n_symbols, dtype=float).reshape(n_bars, n_symbols)
    args: dict[str, Any] = {
        "timestamps": STARTS[0] + NS_DAY * np.arange(n_bars, dtype=np.int64),
        "open": close.copy(),
        "high": close + 1.0,
        "low": close - 1.0,
        "close": close,
        "volume": np.full((n_bars, n_symbols), 100.0),
        "symbols": list(SYMBOLS[:n_symbols]),
    }
    prices = ("open", "high", "low", "close", "volume")
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(
                ["cell", "missing", "swap", "timestamps", "shape", "type", "symbols", "volume_none"]
            )
        )
        if kind == "cell" and n_bars:
            field = draw(st.sampled_from(prices))
            t, n = draw(st.integers(0, n_bars - 1)), draw(st.integers(0, n_symbols - 1))
            arr = (
                np.array(args[field], dtype=float, copy=True)
                if isinstance(args[field], np.ndarray) and args[field].dtype.kind == "f"
                else None
            )
            if arr is not None and arr.shape == (n_bars, n_symbols):
                arr[t, n] = draw(st.one_of(st.sampled_from(_BAD_FLOATS), st.floats()))
                args[field] = arr
        elif kind == "missing" and n_bars:
            t, n = draw(st.integers(0, n_bars - 1)), draw(st.integers(0, n_symbols - 1))
            for field in prices[:4]:
                if (
                    isinstance(args[field], np.ndarray)
                    and args[field].dtype.kind == "f"
                    and args[field].shape == (n_bars, n_symbols)
                ):
                    args[field] = args[field].copy()
                    args[field][t, n] = np.nan
            if (
                isinstance(args["volume"], np.ndarray)
                and args["volume"].shape == (n_bars, n_symbols)
                and args["volume"].dtype.kind == "f"
            ):
                args["volume"] = args["volume"].copy()
                args["volume"][t, n] = draw(st.sampled_from([math.nan, 0.0, 5.0, -1.0]))
        elif kind == "swap":
            args["high"], args["low"] = args["low"], args["high"]
        elif kind == "timestamps":
            how = draw(st.sampled_from(_TS_MUTATIONS))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    args["timestamps"] = _mutate_timestamps(args["timestamps"], how)
            except (TypeError, ValueError, OverflowError, IndexError):
                pass  # this mutation does not apply to what is there already
        elif kind == "shape":
            field = draw(st.sampled_from(prices))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    arr = np.atleast_2d(np.asarray(args[field]))
            except (TypeError, ValueError):
                continue  # already garbage: leave it
            how = draw(
                st.sampled_from(
                    ["drop_row", "add_col", "3d", "1d", "scalar", "ragged", "transpose"]
                )
            )
            if how == "drop_row":
                args[field] = arr[:-1]
            elif how == "add_col" and arr.ndim == 2:
                args[field] = np.hstack([arr, arr[:, :1]])
            elif how == "3d":
                args[field] = arr[..., None]
            elif how == "1d":
                args[field] = arr.ravel()
            elif how == "scalar":
                args[field] = 10.0
            elif how == "ragged" and n_bars > 1:
                args[field] = [[1.0] * n_symbols, [1.0] * (n_symbols + 1)] + [[1.0] * n_symbols] * (
                    n_bars - 2
                )
            elif how == "transpose":
                args[field] = arr.T
        elif kind == "type":
            field = draw(st.sampled_from(prices))
            args[field] = draw(
                st.one_of(
                    GARBAGE,
                    st.sampled_from(["x", b"x", None]),
                    st.just(np.full((n_bars, n_symbols), "10.0")),
                    st.just(np.full((n_bars, n_symbols), 10, dtype=np.int64)),
                    st.just(np.full((n_bars, n_symbols), True)),
                    st.just(np.full((n_bars, n_symbols), 10 + 1j)),
                    st.just(np.full((n_bars, n_symbols), None, dtype=object)),
                    st.just(np.full((n_bars, n_symbols), 10.0, dtype=np.float16)),
                )
            )
        elif kind == "symbols":
            args["symbols"] = draw(
                st.one_of(
                    st.none(),
                    GARBAGE,
                    st.just([]),
                    st.just(["S0", "S0", "S2"][:n_symbols]),
                    st.just(["S0"] * (n_symbols + 1)),
                    st.just(list(SYMBOLS[: n_symbols + 1])),
                    st.lists(
                        st.one_of(st.text(max_size=2), st.integers(), st.none()),
                        min_size=n_symbols,
                        max_size=n_symbols,
                    ),
                )
            )
        elif kind == "volume_none":
            args["volume"] = None
    return args


def _assert_valid_bars(bars: Bars) -> None:
    ts = bars.timestamps
    assert ts.dtype == np.int64 and ts.ndim == 1 and len(ts) >= 1
    assert (np.diff(ts) > 0).all()
    shape = (bars.n_bars, bars.n_symbols)
    assert len(set(bars.symbols)) == bars.n_symbols >= 1
    assert all(isinstance(s, str) and s for s in bars.symbols)
    o, h, lo, c, v = bars.open, bars.high, bars.low, bars.close, bars.volume
    for arr in (o, h, lo, c, v):
        assert arr.shape == shape and arr.dtype == np.float64 and not arr.flags.writeable
    missing = np.isnan(o) & np.isnan(h) & np.isnan(lo) & np.isnan(c)
    present = ~missing
    with np.errstate(invalid="ignore"):
        assert (np.isnan(o) == missing).all() and (np.isnan(c) == missing).all()
        assert (np.isnan(h) == missing).all() and (np.isnan(lo) == missing).all()
        for arr in (o, h, lo, c):
            assert (np.isfinite(arr[present]) & (arr[present] > 0)).all()
        assert (h[present] >= np.maximum(o[present], c[present])).all()
        assert (lo[present] <= np.minimum(o[present], c[present])).all()
        assert (np.isfinite(v) & (v >= 0)).all()
        assert (v[missing] == 0).all()


_NS_PER_UNIT = {
    "W": 7 * NS_DAY,
    "D": NS_DAY,
    "h": 3_600 * 10**9,
    "m": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}


def _expected_timestamps(timestamps: Any) -> list[int] | None:
    """The instants `timestamps` names, as exact ns integers (Python ints, so nothing wraps),
    or None when it is not a plain 1-D array of integers, datetime64 values or ISO strings."""
    if isinstance(timestamps, list) and timestamps and all(type(x) is int for x in timestamps):
        return list(timestamps)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(timestamps)
            if arr.ndim != 1:
                return None
            if arr.dtype.kind in "iu":
                return [int(x) for x in arr.tolist()]
            if arr.dtype.kind in "US":
                arr = np.array([np.datetime64(str(x)) for x in arr.tolist()])
            if arr.dtype.kind != "M" or np.isnat(arr).any():
                return None
            unit, count = np.datetime_data(arr.dtype)
            if unit in ("Y", "M"):
                arr = arr.astype("datetime64[D]")
                unit, count = "D", 1
            return [int(x) * _NS_PER_UNIT[unit] * count for x in arr.astype(np.int64).tolist()]
    except (TypeError, ValueError, OverflowError, KeyError):
        return None


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(args=from_arrays_garbage())
def test_garbage_for_bars_from_arrays_gives_valid_bars_or_quanta_error(args):
    """Bars.from_arrays on corrupted input: valid bars at the very instants given, or a
    QuantaError; never another exception, and never timestamps that silently wrapped."""
    _note(f"args = {args!r}")
    _check_from_arrays(args)


@pytest.mark.parametrize(
    "args",
    [
        {**_PIN_ARGS, "symbols": False},
        {**_PIN_ARGS, "volume": 10**400},
        {**_PIN_ARGS, "low": [[10**400]] * 2},
        {**_PIN_ARGS, "timestamps": [10**20, 10**21]},
        {**_PIN_ARGS, "timestamps": np.array(["99999-01-01", "100000-01-01"])},
        {**_PIN_ARGS, "timestamps": np.array([2**64 - 2, 2**64 - 1], dtype=np.uint64)},
    ],
    ids=[
        "symbols_false",
        "volume_huge_int",
        "low_huge_int",
        "timestamps_beyond_int64",
        "iso_dates_beyond_2262",
        "uint64_timestamps_beyond_int64",
    ],
)
def test_bad_bars_input_found_by_the_properties(args):
    """Inputs the property test above found, kept as regression tests."""
    _check_from_arrays(args)


def _check_from_arrays(args: dict[str, Any]) -> None:
    expected = _expected_timestamps(args["timestamps"])
    try:
        bars = Bars.from_arrays(**args)
    except QuantaError:
        return
    _assert_valid_bars(bars)
    if expected is not None:
        got = [int(x) for x in bars.timestamps]
        assert got == expected, (
            f"timestamps {args['timestamps']!r} were read as {got} "
            f"({[str(np.datetime64(x, 'ns')) for x in got]}), not as the instants {expected}"
        )


# ---------------------------------------------------------------------- garbage ctx calls
_SYMBOL = _maybe(st.sampled_from(SYMBOLS))
_SIDE = _maybe(st.sampled_from(["buy", "sell", "SELL", Side.BUY]))
_QTY = _maybe(
    st.sampled_from([1, 100, 1000.0, 0.5, np.int64(200), np.float64(100.0), 1e308, 5e-324])
)
_KIND = _maybe(
    st.sampled_from(["market", "limit", "stop", "stop_limit", OrderType.STOP, "trailing_stop"])
)
_PRICE = st.sampled_from([0, 1, 2]).flatmap(
    lambda k: [
        st.none(),
        st.sampled_from([10.0, 30.0, 5, np.float64(11.0), 1e308, 5e-324]),
        GARBAGE,
    ][k]
)
_TIF_ARG = _maybe(st.sampled_from(["gtc", "day", TimeInForce.DAY, "ioc", "FOK", "gtd"]))
# The keywords of section 21, given now and then (optional keys of the calls' dictionaries).
_TERMS = {
    "expire_at": _maybe(
        st.sampled_from(
            [None, "2024-06-01", "2200-01-01", "1999-01-01", 0, 2**62, np.datetime64("2024-03")]
        )
    ),
    "trail_amount": _maybe(st.sampled_from([None, 0.5, 1, 20.0, 1e308, 5e-324, np.float64(2.0)])),
    "trail_percent": _maybe(st.sampled_from([None, 0.1, 0.999, 1.0, 1.5, np.float64(0.2)])),
}
_WEIGHT = _maybe(
    st.one_of(st.floats(-0.5, 1.5), st.sampled_from([0, 1, -1.0, 1e308, -1e308, 1e300, 5e-324]))
)
_ORDER_ID = _maybe(st.integers(1, 6))

GARBAGE_CALLS = st.one_of(
    st.tuples(
        st.just("submit_order"),
        st.fixed_dictionaries(
            {
                "symbol": _SYMBOL,
                "side": _SIDE,
                "quantity": _QTY,
                "order_type": _KIND,
                "limit_price": _PRICE,
                "stop_price": _PRICE,
                "time_in_force": _TIF_ARG,
            },
            optional=_TERMS,
        ),
    ),
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.fixed_dictionaries(
            {
                "symbol": _SYMBOL,
                "quantity": _QTY,
                "order_type": _KIND,
                "limit_price": _PRICE,
                "stop_price": _PRICE,
                "time_in_force": _TIF_ARG,
            },
            optional=_TERMS,
        ),
    ),
    st.tuples(
        st.just("order_target_percent"),
        st.fixed_dictionaries(
            {"symbol": _SYMBOL, "weight": _WEIGHT, "time_in_force": _TIF_ARG},
            optional={"expire_at": _TERMS["expire_at"]},
        ),
    ),
    st.tuples(
        st.just("order_target_quantity"),
        st.fixed_dictionaries(
            {
                "symbol": _SYMBOL,
                "quantity": _maybe(st.sampled_from([0, 100, -100, 250.0, 1e308, -1e308, 1e300])),
                "time_in_force": _TIF_ARG,
            },
            optional={"expire_at": _TERMS["expire_at"]},
        ),
    ),
    st.tuples(st.just("cancel"), st.fixed_dictionaries({"order_id": _ORDER_ID})),
    st.tuples(
        st.just("oco"),
        st.fixed_dictionaries(
            {
                "order_ids": _maybe(
                    st.one_of(
                        st.lists(_ORDER_ID, max_size=4),
                        st.lists(st.integers(1, 6), max_size=4).map(tuple),
                    )
                )
            }
        ),
    ),
    st.tuples(
        st.just("bracket"),
        st.fixed_dictionaries(
            {
                "symbol": _SYMBOL,
                "side": _SIDE,
                "quantity": _QTY,
                "entry": _KIND,
                "limit_price": _PRICE,
                "stop_price": _PRICE,
                "stop_loss": _PRICE,
                "take_profit": _PRICE,
                "time_in_force": _TIF_ARG,
            }
        ),
    ),
)


class GarbageCaller(Strategy):
    """Makes the given calls at bars (and in on_start); QuantaError from a call is caught and
    the run goes on; any other exception escapes."""

    def __init__(self, calls: dict[int, list[tuple[str, dict[str, Any]]]]) -> None:
        super().__init__()
        self.calls = calls
        self.ids: list[int] = []
        self.start_ids: set[int] = set()
        self.errors: list[QuantaError] = []
        self._last = -2
        self._brackets = False  # a bracket's exits take ids the strategy is not given

    def _play(self, ctx: Any) -> None:
        if ctx.bar_index == self._last:
            return
        self._last = ctx.bar_index
        for method, kwargs in self.calls.get(ctx.bar_index, ()):
            n_before = len(self.ids)
            try:
                out = getattr(ctx, method)(**kwargs)
            except QuantaError as exc:
                self.errors.append(exc)
                continue
            if method == "cancel":
                assert isinstance(out, bool), f"cancel returned {out!r}"
            elif method == "oco":  # a group id, not an order id
                assert isinstance(out, int) and not isinstance(out, bool), out
            else:
                assert isinstance(out, int) and not isinstance(out, bool), out
                if self._brackets:
                    assert out > (self.ids[-1] if self.ids else 0), f"{method} returned id {out}"
                else:
                    expected = n_before + 1
                    assert out == expected, f"{method} returned id {out}, expected {expected}"
                self._brackets = self._brackets or method == "bracket"
                self.ids.append(out)

    def on_start(self, ctx: Any) -> None:
        self._play(ctx)
        self.start_ids = set(self.ids)

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self._play(ctx)


_CTX_SETTINGS = st.sampled_from(
    [
        {},
        {"allow_short": True},
        CN_A_ON_OTHER_DATA,
        {"fill_at": "close", "lot_size": 10, "min_commission": 1.0},
        {"fractional": True, "lot_size": 0.01},
    ]
)


@FIXTURE_OK
@given(
    spec=bar_specs(max_symbols=3, max_bars=40),
    engine_settings=_CTX_SETTINGS,
    calls=st.lists(st.tuples(st.integers(-1, 39), GARBAGE_CALLS), min_size=1, max_size=25),
)
def test_garbage_ctx_calls_return_an_id_or_raise_quanta_error(
    backend, spec, engine_settings, calls
):
    """Any arguments to the ctx order calls give an order id (or a bool for cancel) or raise
    a QuantaError from the call itself; the strategy catches it and the run goes on, and the
    result still satisfies every invariant."""
    bars = make_bars(spec)
    by_bar: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for t, call in calls:
        by_bar.setdefault(t, []).append(call)
    _note(describe_bars(bars))
    strategy = GarbageCaller(by_bar)
    engine = Engine(backend=backend, **engine_settings)
    result = engine.run(bars, strategy)
    _note(f"errors: {strategy.errors!r}")
    script: dict[str, Any] = {"start": [], "bars": {}, "fills": {}, "end": []}
    run = Run(
        bars,
        engine_settings,
        script,
        engine.config,
        ScriptedStrategy(script, engine.config.lot_size, engine.config.fractional),
        result,
    )
    run.strategy.ids, run.strategy.start_ids = strategy.ids, strategy.start_ids
    for check in ALL_CHECKS:
        check(run)


@pytest.mark.parametrize(
    ("engine_settings", "calls"),
    [
        (
            {},
            [
                (
                    0,
                    (
                        "order_target_percent",
                        {"symbol": "S0", "weight": 1e308, "time_in_force": "gtc"},
                    ),
                )
            ],
        ),
        (
            {"allow_short": True},
            [
                (
                    0,
                    (
                        "order_target_percent",
                        {"symbol": "S0", "weight": -1e308, "time_in_force": "gtc"},
                    ),
                )
            ],
        ),
        (
            {},
            [(0, ("order_target_percent", {"symbol": [], "weight": 0.5, "time_in_force": "gtc"}))],
        ),
        (
            {},
            [
                (
                    0,
                    (
                        "submit_order",
                        {
                            "symbol": "S0",
                            "side": "buy",
                            "quantity": 10**400,
                            "order_type": "market",
                            "limit_price": None,
                            "stop_price": None,
                            "time_in_force": "gtc",
                        },
                    ),
                )
            ],
        ),
    ],
    ids=["huge_weight", "huge_negative_weight_margin", "unhashable_symbol", "huge_int_quantity"],
)
def test_bad_ctx_calls_found_by_the_properties(backend, engine_settings, calls):
    """Calls the property test above found, kept as regression tests."""
    test_garbage_ctx_calls_return_an_id_or_raise_quanta_error.hypothesis.inner_test(
        backend, _PIN_SPEC, engine_settings, calls
    )


# ---------------------------------------------------------------------- strategy exceptions
class MyError(Exception):
    pass


class Raiser(Strategy):
    """Trades a little, and raises `exc` in callback `where` at its `at`-th call."""

    def __init__(self, exc: BaseException, where: str, at: int) -> None:
        super().__init__()
        self.exc, self.where, self.at = exc, where, at
        self.calls = {"on_start": 0, "on_bar": 0, "on_fill": 0, "on_order": 0, "on_end": 0}

    def _maybe_raise(self, where: str) -> None:
        k = self.calls[where]
        self.calls[where] = k + 1
        if where == self.where and k == self.at:
            raise self.exc

    def on_start(self, ctx: Any) -> None:
        ctx.order_target_percent(ctx.symbols[0], 0.5)
        self._maybe_raise("on_start")

    def on_bar(self, ctx: Any, bar: Any) -> None:
        ctx.order_target_percent(bar.symbol, 0.9 if ctx.bar_index % 2 else 0.1)
        self._maybe_raise("on_bar")

    def on_fill(self, ctx: Any, fill: Any) -> None:
        self._maybe_raise("on_fill")

    def on_order(self, ctx: Any, order: Any) -> None:
        self._maybe_raise("on_order")

    def on_end(self, ctx: Any) -> None:
        self._maybe_raise("on_end")


@FIXTURE_OK
@given(
    spec=bar_specs(max_symbols=3, max_bars=40),
    where=st.sampled_from(["on_start", "on_bar", "on_fill", "on_order", "on_end"]),
    at=st.integers(0, 20),
    make=st.sampled_from(
        [
            lambda: KeyError("mine"),
            lambda: ValueError("mine"),
            lambda: MyError("mine"),
            lambda: ZeroDivisionError("mine"),
            lambda: QuantaError("mine"),
            lambda: StopIteration("mine"),
        ]
    ),
    fill_at=st.sampled_from(["next_open", "close"]),
)
def test_a_strategy_exception_surfaces_unchanged(backend, spec, where, at, make, fill_at):
    """An exception raised in any callback leaves `run` as the same object (section 12), its
    traceback still holding the strategy's frames, and the engine runs again afterwards."""
    bars = make_bars(spec)
    exc = make()
    at = 0 if where in ("on_start", "on_end") else at
    strategy = Raiser(exc, where, at)
    engine = Engine(backend=backend, fill_at=fill_at)
    try:
        engine.run(bars, strategy)
    except BaseException as caught:  # the point is what comes out, whatever it is
        assert caught is exc, f"got {caught!r} instead of the strategy's own exception"
        frames = [frame.f_code for frame, _ in traceback.walk_tb(caught.__traceback__)]
        assert getattr(Raiser, where).__code__ in frames, "the strategy's frame is lost"
        assert frames[-1] is Raiser._maybe_raise.__code__, "the raise is not the last frame"
    else:
        assert strategy.calls[where] <= at, "raised, but the run finished"
        return  # never reached: the run simply finished
    # the engine is still usable afterwards
    again = engine.run(bars, Strategy())
    assert len(again.equity) == bars.n_bars


def test_strategy_exception_example_keyerror_in_on_bar(backend):
    """A KeyError raised in on_bar reaches the caller as the very same object, with the
    strategy's on_bar in its traceback."""
    bars = make_bars({**_SMALL_SPEC, "missing_prefix": [0, 0]})
    mine = KeyError("mine")

    class Boom(Strategy):
        def on_bar(self, ctx: Any, bar: Any) -> None:
            if ctx.bar_index == 3:
                raise mine

    with pytest.raises(KeyError) as info:
        Engine(backend=backend).run(bars, Boom())
    assert info.value is mine
    assert any(entry.name == "on_bar" for entry in info.traceback)
