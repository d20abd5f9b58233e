"""Extreme magnitudes: both backends give the same result, or stop with the same error.

Each example draws a small panel whose prices span the float range (from subnormals to
1.7e308, with jumps of up to 1e300 from one bar to the next), settings over many orders of
magnitude (cash, commission, minimum commission, tax, lot size, leverage), and a script of
orders whose quantities, weights and targets are drawn log-uniformly as well. It runs on both
backends and checks that either both finish with the same result bit for bit (fills, orders,
trades, positions, equity, cash, every statistic with NaN equal to NaN, and what the strategy
saw), or both raise the same `QuantaError` class with the same message, and that nothing
else is ever raised (docs/semantics.md section 7, "Magnitudes").

The number of examples follows the hypothesis profile (``QUANTA_HYPOTHESIS_PROFILE``,
registered in strategies.py): at least 300 here, 10,000 in the deep profile.
"""

from __future__ import annotations

import math
import struct
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from quanta_ref import Bars, Engine, Strategy
from quanta_ref.errors import ConfigError, DataError, OrderError, QuantaError
from strategies import describe_bars
from support import Script, bars_from_rows, run_script
from test_differential import assert_same_result, bits

pytestmark = pytest.mark.usefixtures("backend_rust")

EXTREMES = settings(max_examples=max(300, settings.default.max_examples))

MAX = sys.float_info.max
TINY = 5e-324  # the smallest subnormal
DAY = 86_400 * 10**9
START = int(np.datetime64("2024-01-01", "ns").astype(np.int64))

#: A positive magnitude over the whole float range: 10^k for a uniform k, with a mantissa,
#: plus the edges (subnormals, the largest float) and plain values.
MAGNITUDE = st.one_of(
    st.builds(
        lambda k, m: min(m * 10.0**k, MAX),
        st.integers(-307, 307),
        st.sampled_from([1.0, 1.5, 3.7, 9.99]),
    ),
    st.sampled_from([TINY, 1e-320, 2.2250738585072014e-308, 1e-300, 1e300, 1e308, MAX]),
    st.sampled_from([1.0, 10.0, 0.01, 100.0, 1e6]),
)
#: How a price moves from one bar to the next: mostly a little, sometimes by far.
JUMP = st.one_of(
    st.sampled_from([1.0, 1.0, 1.0, 1.01, 0.99, 1.1, 0.9]),
    st.sampled_from([1e10, 1e-10, 1e100, 1e-100, 1e300, 1e-300]),
)


def clamp(x: float) -> float:
    """`x` inside the positive floats (a clean bar needs finite prices > 0)."""
    if not x > 0.0:
        return TINY
    return MAX if x > MAX else x


@st.composite
def panels(draw: Any) -> Bars:
    """1-3 symbols, 1-25 daily bars, prices anywhere in the float range."""
    n_symbols = draw(st.integers(1, 3))
    n_bars = draw(st.sampled_from([1, 2, 0, 0, 0, 0, 0, 0, 0, 0])) or draw(st.integers(3, 25))
    fields = np.full((5, n_bars, n_symbols), np.nan)
    for n in range(n_symbols):
        level = draw(MAGNITUDE)
        for t in range(n_bars):
            if t > 0 and draw(st.sampled_from([False] * 9 + [True])):
                continue  # a missing bar
            level = clamp(level * draw(JUMP))
            close = clamp(level * draw(st.sampled_from([1.0, 1.05, 0.95])))
            high = clamp(max(level, close) * draw(st.sampled_from([1.0, 1.02])))
            low = clamp(min(level, close) * draw(st.sampled_from([1.0, 0.98])))
            volume = draw(st.sampled_from([1e9, 0.0, 100.0, 1e300]))
            fields[:, t, n] = (level, high, low, close, volume)
    timestamps = START + DAY * np.arange(n_bars, dtype=np.int64)
    symbols = [f"S{n}" for n in range(n_symbols)]
    return Bars.from_arrays(timestamps, *fields, symbols=symbols)


def amount(draw: Any, plain: list[float]) -> float:
    """One of the `plain` values, or (one time in len(plain) + 1) any magnitude."""
    value = draw(st.sampled_from([*plain, None]))
    return draw(MAGNITUDE) if value is None else value


@st.composite
def extreme_settings(draw: Any) -> dict[str, Any]:
    """Valid engine settings, each amount plain or drawn over many orders of magnitude."""
    s: dict[str, Any] = {"initial_cash": amount(draw, [1e4, 1e6, 1e9])}
    s["fill_at"] = draw(st.sampled_from(["next_open", "close"]))
    s["commission_rate"] = draw(st.sampled_from([0.0, 0.0, 0.001, 1e-300, 0.5, 1.0]))
    s["min_commission"] = amount(draw, [0.0, 0.0, 5.0])
    s["sell_tax_rate"] = draw(st.sampled_from([0.0, 0.0005, 1.0]))
    s["slippage_bps"] = draw(st.sampled_from([0.0, 5.0, 10_000.0]))
    if draw(st.booleans()):
        s["fractional"] = True
        s["lot_size"] = max(amount(draw, [1e-8, 0.01, 1.0]), 1e-18)  # the smallest allowed
    else:
        s["lot_size"] = float(draw(st.sampled_from([1, 1, 1, 100, 100, 10**15, 10**300])))
    if draw(st.booleans()):
        s["allow_short"] = True
        s["max_leverage"] = amount(draw, [1.0, 2.0, 100.0])
    else:
        s["settlement"] = draw(st.sampled_from(["T+0", "T+1"]))
    if draw(st.sampled_from([False] * 5 + [True])):
        s["max_volume_fraction"] = draw(st.sampled_from([1e-300, 0.01, 1.0]))
    if draw(st.sampled_from([False] * 5 + [True])):
        s["price_limit"] = draw(st.sampled_from([0.1, 1e300]))
    for key in ("max_position_quantity", "max_order_value", "max_position_weight"):
        if draw(st.sampled_from([False] * 9 + [True])):
            s[key] = draw(MAGNITUDE)
    if draw(st.sampled_from([False] * 5 + [True])):
        s["max_drawdown_stop"] = draw(st.sampled_from([1e-300, 0.5, 1.0]))
    return s


def actions(n_symbols: int) -> st.SearchStrategy[dict[str, Any]]:
    """One scripted call (see `Extreme._act`)."""
    symbol = st.integers(0, n_symbols - 1)
    return st.one_of(
        st.fixed_dictionaries(
            {
                "op": st.just("submit"),
                "sym": symbol,
                "side": st.sampled_from(["buy", "buy", "sell"]),
                "type": st.sampled_from(["market", "market", "limit", "stop"]),
                "qty": MAGNITUDE,
                # None: `qty` as drawn; else this fraction of the holding (a sell of a long
                # position) or of what the cash buys at the price
                "of": st.sampled_from([None, 1e-6, 0.5, 1.0, 2.0]),
                "whole": st.sampled_from([False, True, True]),
                "off": st.sampled_from([0.0, 0.05, -0.05, 1e10, -0.999]),
            }
        ),
        st.fixed_dictionaries(
            {
                "op": st.just("target_pct"),
                "sym": symbol,
                "w": st.one_of(
                    st.sampled_from([0.0, 1.0, 0.5, -1.0]),
                    MAGNITUDE,
                    MAGNITUDE.map(lambda x: -x),
                ),
            }
        ),
        st.fixed_dictionaries(
            {
                "op": st.just("target_qty"),
                "sym": symbol,
                "q": st.one_of(st.just(0.0), MAGNITUDE, MAGNITUDE.map(lambda x: -x)),
            }
        ),
        st.fixed_dictionaries({"op": st.just("cancel"), "pick": st.integers(0, 20)}),
    )


@st.composite
def scenarios(draw: Any) -> tuple[Bars, dict[str, Any], dict[int, list[dict[str, Any]]]]:
    bars = draw(panels())
    engine = draw(extreme_settings())
    if not (bars.volume > 0.0).any():
        engine.pop("max_volume_fraction", None)  # a ConfigError at run: nothing could fill
    if draw(st.booleans()):  # cash in proportion to the first price: orders that fill
        first = float(bars.close[0, 0])
        engine["initial_cash"] = clamp(first * draw(st.sampled_from([1.0, 1e3, 1e9, 1e300])))
    script: dict[int, list[dict[str, Any]]] = {}
    for _ in range(draw(st.integers(1, 12))):
        t = draw(st.sampled_from([-1] + [0] * 9)) or draw(
            st.integers(0, bars.n_bars - 1)
        )  # -1: on_start
        script.setdefault(t, []).append(draw(actions(bars.n_symbols)))
    return bars, engine, script


class Extreme(Strategy):
    """Plays a script of orders and records what it sees (cash, equity, events) as bits."""

    def __init__(self, script: dict[int, list[dict[str, Any]]], lot: float) -> None:
        super().__init__()
        self.script = script
        self.lot = lot
        self.ids: list[int] = []
        self.log: list[Any] = []
        self._last = -2

    def on_start(self, ctx: Any) -> None:
        self._play(ctx, -1)

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.log.append(bits(("bar", bar.symbol, ctx.cash, ctx.equity)))
        if ctx.bar_index != self._last:
            self._last = ctx.bar_index
            self._play(ctx, ctx.bar_index)

    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.log.append(bits(("fill", tuple(fill.__dict__.values()))))

    def on_order(self, ctx: Any, order: Any) -> None:
        self.log.append(bits(("order", order.order_id, order.status.value, order.quantity)))

    def _play(self, ctx: Any, t: int) -> None:
        for action in self.script.get(t, ()):
            result = self._act(ctx, action)
            if isinstance(result, int) and not isinstance(result, bool):
                self.ids.append(result)

    def _act(self, ctx: Any, a: dict[str, Any]) -> Any:
        op = a["op"]
        if op == "cancel":
            return ctx.cancel(self.ids[a["pick"] % len(self.ids)]) if self.ids else None
        symbol = ctx.symbols[a["sym"]]
        if op == "target_pct":
            return ctx.order_target_percent(symbol, a["w"])
        if op == "target_qty":
            return ctx.order_target_quantity(symbol, a["q"])
        kind = a["type"]
        closes = ctx.history(symbol, "close") if ctx.bar_index >= 0 else np.array([])
        closes = closes[~np.isnan(closes)]
        ref = float(closes[-1]) if len(closes) else 1.0
        quantity = a["qty"]
        held = ctx.position(symbol)
        if a["of"] is not None:
            base = held if a["side"] == "sell" and held > 0.0 else abs(ctx.cash) / ref
            quantity = clamp(base * a["of"])
        if a["whole"]:  # whole lots (at least one)
            lots = quantity / self.lot
            if math.isfinite(lots):
                quantity = max(math.floor(lots) * self.lot, self.lot)
        price = clamp(ref * (1.0 + a["off"]))
        prices = {"limit_price": price} if kind == "limit" else {}
        if kind == "stop":
            prices = {"stop_price": price}
        return ctx.submit_order(symbol, a["side"], quantity, kind, **prices)


def outcome(backend: str, bars: Bars, engine: dict[str, Any], script: Any) -> Any:
    """(strategy, result) of a run, or the QuantaError it raised; anything else fails."""
    strategy = Extreme(script, float(engine.get("lot_size", 1.0)))
    try:
        return strategy, Engine(backend=backend, **engine).run(bars, strategy)
    except QuantaError as exc:
        return strategy, exc


def same_stats(ref: dict[str, float], fast: dict[str, float]) -> None:
    assert list(fast) == list(ref)
    for key, value in ref.items():
        got = fast[key]
        assert (math.isnan(value) and math.isnan(got)) or (
            struct.pack("<d", value) == struct.pack("<d", got)
        ), (key, value, got)


@EXTREMES
@given(scenario=scenarios())
def test_extreme_magnitudes_give_the_same_result_or_error_on_both_backends(scenario):
    bars, engine, script = scenario
    note(describe_bars(bars))
    note(f"settings = {engine!r}")
    note(f"script = {script!r}")
    (ref_strategy, ref), (fast_strategy, fast) = (
        outcome(backend, bars, engine, script) for backend in ("python", "rust")
    )
    if isinstance(ref, QuantaError) or isinstance(fast, QuantaError):
        assert (type(fast), str(fast)) == (type(ref), str(ref))
    else:
        assert_same_result(ref, fast)
        same_stats(ref.stats, fast.stats)
    assert fast_strategy.ids == ref_strategy.ids
    assert fast_strategy.log == ref_strategy.log


# ---------------------------------------------------------------------- named examples
def flat(price: float) -> tuple[float, ...]:
    return (price, price, price, price)


BAR_1 = "bar 1 (2024-01-02T00:00:00.000000000)"
BAR_2 = "bar 2 (2024-01-03T00:00:00.000000000)"


def refused_fill(field: str, value: str, order_id: int, where: str) -> str:
    return (
        f"{field}: the fill of order {order_id} would make it {value}, outside the float "
        f"range; nothing of the fill is booked (symbol 'X', {where})"
    )


def test_a_fill_whose_value_overflows_stops_the_run_before_anything_is_booked(
    backend: str,
) -> None:
    # 1e306 x 1000 = inf: a leverage limit of 1e300 x equity 1e308 (inf) does not stop it.
    bars = bars_from_rows([flat(1e3)] * 3)
    with pytest.raises(OrderError) as caught:
        run_script(
            backend,
            bars,
            {0: lambda ctx: ctx.buy("X", 1e306)},
            initial_cash=1e308,
            allow_short=True,
            max_leverage=1e300,
        )
    assert str(caught.value) == refused_fill("value", "inf", 1, BAR_1)


def test_a_fill_that_books_nothing_calls_no_on_fill(backend: str) -> None:
    seen: list[Any] = []

    class Watch(Strategy):
        def on_bar(self, ctx: Any, bar: Any) -> None:
            if ctx.bar_index == 0:
                ctx.submit_order("X", "buy", 1e306)
            seen.append((ctx.bar_index, ctx.cash, ctx.position("X")))

        def on_fill(self, ctx: Any, fill: Any) -> None:
            seen.append(fill)

    engine = Engine(backend=backend, initial_cash=1e308, allow_short=True, max_leverage=1e300)
    with pytest.raises(OrderError):
        engine.run(bars_from_rows([flat(1e3)] * 3), Watch())
    assert seen == [(0, 1e308, 0.0)]


def test_an_infinite_target_in_a_cash_account_buys_what_the_cash_affords(backend: str) -> None:
    # 1e308 x 100_000 / 10 is inf: more than any float, so the cash decides (all in).
    result, _ = run_script(
        backend,
        bars_from_rows([flat(10.0)] * 3),
        {0: lambda ctx: ctx.order_target_percent("X", 1e308)},
    )
    assert [(f.quantity, f.price) for f in result.fills] == [(10_000.0, 10.0)]
    assert result.orders[0].status.value == "filled"


def test_an_infinite_target_under_an_infinite_leverage_limit_is_stopped_at_the_fill(
    backend: str,
) -> None:
    # 1e3 x equity 1e308 overflows: the target is inf; the leverage limit 1e300 x 1e308 is
    # inf too, so the fill's value (inf) is what stops the run.
    bars = bars_from_rows([flat(1e3)] * 3)
    with pytest.raises(OrderError) as caught:
        run_script(
            backend,
            bars,
            {0: lambda ctx: ctx.order_target_percent("X", 1e3)},
            initial_cash=1e308,
            allow_short=True,
            max_leverage=1e300,
        )
    assert str(caught.value) == refused_fill("value", "inf", 1, BAR_1)


def test_a_weight_of_zero_closes_the_position_even_when_the_equity_overflows(
    backend: str,
) -> None:
    # A and B each 1e10 shares; at bar 2 both open at 1e298 (1e308 each, equity inf). The
    # weight 0 on B sells all of B (0 x inf would be NaN); then A alone takes the equity at
    # the close out of the float range.
    up = [flat(1.0), flat(1.0), flat(1e298)]
    bars = bars_from_rows({"A": up, "B": up})
    script = Script(
        {
            0: [
                lambda ctx: ctx.order_target_percent("A", 0.5),
                lambda ctx: ctx.order_target_percent("B", 0.5),
            ],
            1: lambda ctx: ctx.order_target_percent("B", 0.0),
        }
    )
    with pytest.raises(DataError) as caught:
        Engine(backend=backend, initial_cash=2e10).run(bars, script)
    assert str(caught.value) == (
        f"equity: the close values the account at inf, outside the float range (symbol 'A', "
        f"{BAR_2})"
    )
    fills = [(f.symbol, f.side.value, f.quantity, f.price) for k, f in script.events if k == "fill"]
    assert fills[-1] == ("B", "sell", 1e10, 1e298)


def test_a_count_of_lots_beyond_the_float_range_leaves_the_quantity_as_it_is(
    backend: str,
) -> None:
    # 0.5 x 1e6 / 1e-300 = 5e305 shares: 5e323 lots of 1e-18 overflow, and 5e305 is a whole
    # number of lots to float precision, so it is bought as it is.
    result, _ = run_script(
        backend,
        bars_from_rows([flat(1e-300)] * 3),
        {0: lambda ctx: ctx.order_target_percent("X", 0.5)},
        initial_cash=1e6,
        fractional=True,
        lot_size=1e-18,
    )
    assert [(f.quantity, f.price) for f in result.fills] == [(0.5 * 1e6 / 1e-300, 1e-300)]


def test_an_affordable_count_of_lots_beyond_the_float_range_is_an_order_error(
    backend: str,
) -> None:
    # All in, but the minimum commission makes the 1e306 shares unaffordable: the cash buys
    # (1e6 - 5) / 1e-300 shares, a count of lots of 1e-18 beyond the float range.
    bars = bars_from_rows([flat(1e-300)] * 3)
    with pytest.raises(OrderError) as caught:
        run_script(
            backend,
            bars,
            {0: lambda ctx: ctx.order_target_percent("X", 1.0)},
            initial_cash=1e6,
            min_commission=5.0,
            fractional=True,
            lot_size=1e-18,
        )
    assert str(caught.value) == (
        f"quantity: sizing order 1 gives inf, outside the float range (symbol 'X', {BAR_1})"
    )


def test_a_lot_size_below_one_wei_is_a_config_error(backend: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Engine(backend=backend, fractional=True, lot_size=5e-324)
    assert str(caught.value) == "lot_size: must be >= 1e-18, got 5e-324"


def test_costs_per_unit_beyond_the_float_range_are_an_order_error(backend: str) -> None:
    # A minimum commission of 5 on 5e-324 shares: 5 / 5e-324 per share overflows.
    bars = bars_from_rows([flat(1.0)] * 3)
    with pytest.raises(OrderError) as caught:
        run_script(
            backend,
            bars,
            {0: lambda ctx: ctx.buy("X", 5e-324)},
            fractional=True,
            min_commission=5.0,
        )
    assert str(caught.value) == refused_fill("cost_per_unit", "inf", 1, BAR_1)


def test_a_trade_whose_entry_value_underflows_is_an_order_error_not_a_zero_division(
    backend: str,
) -> None:
    # 1e-30 shares at 1e-300: the entry value 1e-330 underflows to 0, so the trade's return
    # pnl / 0 is not a number (the reference used to raise a bare ZeroDivisionError).
    bars = bars_from_rows([flat(1e-300)] * 3)
    with pytest.raises(OrderError) as caught:
        run_script(
            backend,
            bars,
            {0: lambda ctx: ctx.buy("X", 1e-30), 1: lambda ctx: ctx.sell("X", 1e-30)},
            fractional=True,
        )
    assert str(caught.value) == refused_fill("return_", "nan", 2, BAR_2)


def test_equity_beyond_the_float_range_at_the_close_is_a_data_error_naming_the_symbol(
    backend: str,
) -> None:
    # Half the cash in each symbol; B's price jumps by 1e300 at bar 2.
    bars = bars_from_rows(
        {"A": [flat(1.0)] * 4, "B": [flat(1.0), flat(1.0), flat(1e300), flat(1e300)]}
    )
    with pytest.raises(DataError) as caught:
        run_script(
            backend,
            bars,
            {
                0: [
                    lambda ctx: ctx.order_target_percent("A", 0.5),
                    lambda ctx: ctx.order_target_percent("B", 0.5),
                ]
            },
            initial_cash=1e10,
        )
    assert str(caught.value) == (
        f"equity: the close values the account at inf, outside the float range (symbol 'B', "
        f"{BAR_2})"
    )


@pytest.mark.parametrize(
    "equity",
    [
        [1e-300, 1e300, 5e-324, 1.0],  # returns of 1e600: inf, then the moments are NaN
        [MAX, MAX, 1.0, MAX],
        [5e-324, 0.0, 1.0],  # underflow to 0 is a ruin
        [1e308, -1e308, 1e308],
    ],
)
def test_statistics_of_an_equity_curve_spanning_the_float_range_agree_bit_for_bit(
    backend_rust: None, equity: list[float]
) -> None:
    from quanta_fast import metrics as fast
    from quanta_ref import metrics as ref

    timestamps = START + DAY * np.arange(len(equity), dtype=np.int64)
    kwargs: dict[str, Any] = {"trade_pnls": [1e308, -1e308], "traded_value": MAX}
    for initial_cash in (1e-300, 1.0, MAX):
        expected = ref.compute_stats(
            timestamps, np.array(equity), initial_cash, **kwargs, bars_in_market=1
        )
        got = fast.compute_stats(
            timestamps, np.array(equity), initial_cash, **kwargs, bars_in_market=1
        )
        same_stats(expected, got)


@st.composite
def array_jobs(draw: Any) -> tuple[Bars, dict[str, Any], str, dict[str, Any]]:
    """A panel, settings, and a signal or target job with extreme sizes and weights."""
    bars = draw(panels())
    engine = draw(extreme_settings())
    if not (bars.volume > 0.0).any():
        engine.pop("max_volume_fraction", None)
    shape = (bars.n_bars, bars.n_symbols)
    if draw(st.booleans()):
        weight = st.one_of(st.just(math.nan), st.just(0.0), MAGNITUDE, MAGNITUDE.map(lambda x: -x))
        cells = draw(st.lists(weight, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]))
        if not engine.get("allow_short"):
            cells = [abs(w) for w in cells]
        return bars, engine, "targets", {"weights": np.array(cells).reshape(shape)}
    flags = st.lists(st.booleans(), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])
    job: dict[str, Any] = {
        "entries": np.array(draw(flags)).reshape(shape),
        "exits": np.array(draw(flags)).reshape(shape),
        "size_type": draw(st.sampled_from(["percent", "quantity"])),
        "size": draw(MAGNITUDE),
        "stop_loss": draw(st.sampled_from([None, 0.05, 1e-300, 0.999])),
        "take_profit": draw(st.sampled_from([None, 0.1, 1e300])),
    }
    if engine.get("allow_short") and draw(st.booleans()):
        job["short_entries"] = np.array(draw(flags)).reshape(shape)
        if job["take_profit"] is not None:
            job["take_profit"] = 0.5  # below 1 with short entries
    return bars, engine, "signals", job


@EXTREMES
@given(case=array_jobs())
def test_array_jobs_at_extreme_magnitudes_give_the_same_result_or_error_on_both_backends(case):
    bars, engine, kind, job = case
    note(describe_bars(bars))
    note(f"settings = {engine!r}")
    note(f"{kind} = {job!r}")
    outcomes = []
    for backend in ("python", "rust"):
        front = Engine(backend=backend, **engine)
        try:
            if kind == "targets":
                outcomes.append(front.run_targets(bars, job["weights"]))
            else:
                arrays = {k: job[k] for k in ("entries", "exits")}
                options = {k: v for k, v in job.items() if k not in arrays}
                outcomes.append(front.run_signals(bars, **arrays, **options))
        except QuantaError as exc:
            outcomes.append(exc)
    ref, fast = outcomes
    if isinstance(ref, QuantaError) or isinstance(fast, QuantaError):
        assert (type(fast), str(fast)) == (type(ref), str(ref))
    else:
        assert_same_result(ref, fast)
        same_stats(ref.stats, fast.stats)


def test_a_drawdown_far_below_a_tiny_peak_is_computed_without_a_warning(backend: str) -> None:
    # Short 1 at 1e-300 from 1e-300 of cash, then the price goes to 1e10: equity / peak is
    # -1e10 / 1e-300, beyond the float range (-inf, the stop is hit). The reference divided a
    # numpy scalar there, whose overflow warning is an error under pytest.
    bars = bars_from_rows([flat(1e-300), flat(1e-300), flat(1e10), flat(1e10)])
    result, _ = run_script(
        backend,
        bars,
        {0: lambda ctx: ctx.sell("X", 1.0)},
        initial_cash=1e-300,
        allow_short=True,
        max_drawdown_stop=0.5,
    )
    assert [(f.side.value, f.quantity) for f in result.fills] == [("sell", 1.0)]
    assert result.equity[-1] == 2e-300 - 1e10


class _StartOnly(Strategy):
    """Orders in on_start and listens to nothing per bar: its rows run detached."""

    def __init__(self, *calls: Any) -> None:
        super().__init__()
        self.calls = calls

    def on_start(self, ctx: Any) -> None:
        for call in self.calls:
            call(ctx)


def test_an_overflow_in_a_run_without_per_bar_callbacks_is_the_same_error(backend: str) -> None:
    bars = bars_from_rows(
        {"A": [flat(1.0)] * 4, "B": [flat(1.0), flat(1.0), flat(1e300), flat(1e300)]}
    )
    buy = {"order_type": "limit", "limit_price": 1.0}
    strategy = _StartOnly(
        lambda ctx: ctx.buy("A", 1e9, **buy), lambda ctx: ctx.buy("B", 1e9, **buy)
    )
    with pytest.raises(DataError) as caught:
        Engine(backend=backend, initial_cash=1e10).run(bars, strategy)
    assert str(caught.value) == (
        f"equity: the close values the account at inf, outside the float range (symbol 'B', "
        f"{BAR_2})"
    )
