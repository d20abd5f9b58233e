"""Compiled (numba) strategies, docs/semantics.md section 26: the same vocabulary and the same
engine rules as a Python strategy, on both backends; errors that name the callback, the bar
and the symbol; parameters, grids and the disk cache."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from typing import Any

import numba
import numpy as np
import pytest

from compiled_strategies import PySmaCross, PyTrailingStop, SmaCross, TrailingStop
from quanta_ref import ConfigError, Engine, OrderError, Strategy, StrategyError, data
from quanta_ref.actions import CorporateActions
from quanta_ref.compiled import CompiledStrategy
from quanta_ref.compiled_numba import BUY, FILLED, REJECTED, SELL
from support import bars_from_rows

ROWS = [
    (10.0, 11.0, 9.0, 10.5),
    (12.0, 13.0, 11.0, 12.5),
    (14.0, 15.0, 13.0, 14.0),
    (13.0, 14.0, 12.0, 13.5),
]


def fills(result: Any) -> list[tuple[Any, ...]]:
    return [
        (f.order_id, f.symbol, f.side.value, f.quantity, f.price, f.commission)
        for f in result.fills
    ]


def orders(result: Any) -> list[tuple[Any, ...]]:
    return [
        (
            o.order_id,
            o.symbol,
            o.order_type.value,
            o.quantity,
            o.limit_price,
            o.stop_price,
            o.status.value,
        )
        for o in result.orders
    ]


# ============================================================================ the vocabulary
@pytest.mark.parametrize(
    ("compiled", "python"),
    [(SmaCross(fast=5, slow=20), PySmaCross(fast=5, slow=20)), (TrailingStop(), PyTrailingStop())],
    ids=["sma_cross", "trailing_stop"],
)
def test_a_compiled_strategy_trades_exactly_as_its_python_twin(backend, compiled, python):
    bars = data.load_samples(["AAPL", "IBM"])
    engine = Engine(backend=backend, commission_rate=0.001, min_commission=1.0, lot_size=100)
    a, b = engine.run(bars, compiled), engine.run(bars, python)
    assert len(a.fills) > 20
    assert fills(a) == fills(b)
    assert orders(a) == orders(b)
    assert a.equity.tobytes() == b.equity.tobytes()
    assert a.cash.tobytes() == b.cash.tobytes()


class Ladder(CompiledStrategy):
    """At bar 0: a limit buy far below, then a market buy; at bar 1 it cancels the limit
    by the id it got back, and buys again with a stop-limit."""

    state_size = 1

    def on_bar(ctx, bar):
        if ctx.bar_index == 0:
            first = ctx.buy(bar.symbol, 100.0, "limit", limit_price=1.0)
            ctx.state[0, 0] = first
            ctx.buy(bar.symbol, 200.0)
        elif ctx.bar_index == 1:
            ctx.cancel(int(ctx.state[0, 0]))
            ctx.submit_order(
                bar.symbol, "buy", 50.0, "stop_limit", limit_price=15.5, stop_price=14.5
            )


def test_requests_are_applied_in_order_and_return_the_ids_the_orders_get(backend):
    result = Engine(backend=backend).run(bars_from_rows(ROWS), Ladder())
    assert orders(result) == [
        (1, "X", "limit", 100.0, 1.0, None, "cancelled"),
        (2, "X", "market", 200.0, None, None, "filled"),
        (3, "X", "stop_limit", 50.0, 15.5, 14.5, "filled"),
    ]
    assert fills(result) == [(2, "X", "buy", 200.0, 12.0, 0.0), (3, "X", "buy", 50.0, 14.5, 0.0)]


class Reader(CompiledStrategy):
    """Writes what it reads (cash, equity, position, average cost, live orders, history,
    the bar) into the prices of limit orders far below the market, to be compared with what
    a Python strategy reads; buys 100 at bar 0 and sells 40 at bar 2."""

    def on_bar(ctx, bar):
        s = bar.symbol
        if ctx.bar_index == 0:
            ctx.buy(s, 100.0)
        if ctx.bar_index == 2:
            ctx.sell(s, 40.0)
        position = ctx.get_position(s)
        live = ctx.open_orders()
        values = (
            ctx.cash,
            ctx.equity,
            1.0 + ctx.position(s),
            1.0 + position.average_cost,
            1.0 + len(live),
            ctx.history(s, "high").sum(),
            ctx.history(s, "low", 1)[0],
            bar.open + bar.high + bar.low + bar.close,
            1.0 + ctx.bar_index + ctx.n_symbols * 10 + ctx.n_bars * 100,
        )
        for value in values:
            ctx.buy(s, 1.0, "limit", limit_price=value * 1e-6, time_in_force="day")

    def on_fill(ctx, fill):
        side = 1.0 if fill.side == BUY else 2.0
        ctx.buy(
            fill.symbol, 1.0, "limit", limit_price=(fill.price + side) * 1e-6, time_in_force="day"
        )

    def on_order(ctx, order):
        if order.status == FILLED:
            ctx.buy(
                order.symbol,
                1.0,
                "limit",
                limit_price=order.filled_quantity * 1e-6,
                time_in_force="day",
            )


def test_the_ctx_shows_what_the_python_ctx_shows(backend):
    result = Engine(backend=backend, commission_rate=0.001).run(bars_from_rows(ROWS), Reader())
    prices = [round(o.limit_price * 1e6, 6) for o in result.orders if o.order_type.value == "limit"]
    # bar 0: nothing held; the market buy fills at bar 1's open (12.0), commission 1.2.
    cash0 = 1_000_000.0
    cash1 = cash0 - 100 * 12.0 - 1.2
    # The call reads the state at the call: its own buy of this call is not live yet.
    assert prices[:9] == [cash0, cash0, 1.0, 1.0, 1.0, 11.0, 9.0, 40.5, 1.0 + 0 + 10 + 400]
    assert prices[9:11] == [13.0, 100.0]  # on_fill (12.0 + buy), on_order (filled 100)
    equity1 = cash1 + 100 * 12.5
    assert prices[11:20] == [
        round(cash1, 6),
        round(equity1, 6),
        101.0,
        1.0 + 12.0,  # the average cost leaves the commission out
        1.0 + 11,  # bar 0's DAY orders live through bar 1, the first day they may trade
        24.0,
        11.0,
        48.5,
        1.0 + 1 + 10 + 400,
    ]


class Reacts(CompiledStrategy):
    """Buys 100 at bar 0; each fill of a buy places a take-profit limit 10 % above the fill
    price, each rejection a market buy of 1."""

    def on_bar(ctx, bar):
        if ctx.bar_index == 0:
            ctx.buy(bar.symbol, 100.0)
            ctx.sell(bar.symbol, 5.0)  # nothing held: rejected

    def on_fill(ctx, fill):
        if fill.side == BUY and fill.quantity == 100.0:
            ctx.sell(fill.symbol, fill.quantity, "limit", limit_price=fill.price * 1.1)

    def on_order(ctx, order):
        if order.status == REJECTED and order.side == SELL:
            ctx.buy(order.symbol, 1.0)


def test_on_fill_and_on_order_receive_the_event_and_may_trade(backend):
    result = Engine(backend=backend).run(bars_from_rows(ROWS), Reacts())
    assert orders(result) == [
        (1, "X", "market", 100.0, None, None, "filled"),
        (2, "X", "market", 5.0, None, None, "rejected"),
        (3, "X", "market", 1.0, None, None, "filled"),
        (4, "X", "limit", 100.0, 12.0 * 1.1, None, "filled"),
    ]
    assert result.orders[1].reject_reason == "insufficient_position"


class Targets(CompiledStrategy):
    weight = 0.5

    def on_bar(ctx, bar):
        if ctx.bar_index == 0:
            ctx.order_target_percent(bar.symbol, ctx.params.weight)
        elif ctx.bar_index == 2:
            expire_at = ctx.now + 86_400_000_000_000
            ctx.order_target_quantity(bar.symbol, 100.0, time_in_force="gtd", expire_at=expire_at)


def test_target_orders_are_sized_as_in_python(backend):
    result = Engine(backend=backend, lot_size=1).run(bars_from_rows(ROWS), Targets(weight=0.3))
    bought = math.floor(0.3 * 1_000_000.0 / 12.0)
    assert [(f.side.value, f.quantity) for f in result.fills] == [
        ("buy", bought),
        ("sell", bought - 100.0),
    ]
    assert result.orders[1].expire_at == result.timestamps[3]


class Rules(CompiledStrategy):
    """Orders the lot, T+1, cash and price-limit rules refuse, and some they accept."""

    def on_bar(ctx, bar):
        if ctx.bar_index == 0:
            ctx.buy(bar.symbol, 150.0)  # not a whole lot
            ctx.buy(bar.symbol, 200.0)
            ctx.buy(bar.symbol, 1_000_000.0)  # more than the cash
        elif ctx.bar_index == 1:
            ctx.sell(bar.symbol, 200.0)  # bought today: T+1
        elif ctx.bar_index == 2:
            ctx.sell(bar.symbol, 100.0, "limit", limit_price=20.0)  # above the limit-up price


class PyRules(Strategy):
    def on_bar(self, ctx, bar):
        if ctx.bar_index == 0:
            ctx.buy(bar.symbol, 150.0)
            ctx.buy(bar.symbol, 200.0)
            ctx.buy(bar.symbol, 1_000_000.0)
        elif ctx.bar_index == 1:
            ctx.sell(bar.symbol, 200.0)
        elif ctx.bar_index == 2:
            ctx.sell(bar.symbol, 100.0, "limit", limit_price=20.0)


def test_the_engine_rules_refuse_what_they_refuse_to_a_python_strategy(backend):
    engine = Engine(
        backend=backend, lot_size=100, settlement="T+1", price_limit=0.1, initial_cash=100_000.0
    )
    a = engine.run(bars_from_rows(ROWS), Rules())
    b = engine.run(bars_from_rows(ROWS), PyRules())
    statuses = [(o.status.value, o.reject_reason) for o in a.orders]
    assert statuses == [(o.status.value, o.reject_reason) for o in b.orders]
    assert ("rejected", "lot_size") in statuses
    assert ("cancelled", "insufficient_cash") in statuses
    assert ("rejected", "insufficient_position") in statuses
    assert orders(a) == orders(b)
    assert fills(a) == fills(b)
    assert a.equity.tobytes() == b.equity.tobytes()


# ============================================================================ errors
class Raises(CompiledStrategy):
    where = 2

    def on_bar(ctx, bar):
        if ctx.bar_index == ctx.params.where:
            raise ValueError("boom")


class OutOfRange(CompiledStrategy):
    state_size = 2

    def on_bar(ctx, bar):
        ctx.state[bar.symbol, ctx.bar_index] = 1.0  # slot 2 does not exist


class BadSymbol(CompiledStrategy):
    def on_bar(ctx, bar):
        if ctx.bar_index == 1:
            ctx.position(7)


class LongHistory(CompiledStrategy):
    def on_bar(ctx, bar):
        ctx.history(bar.symbol, "close", 2)


class Chatty(CompiledStrategy):
    max_requests = 3

    def on_bar(ctx, bar):
        for _ in range(4):
            ctx.buy(bar.symbol, 1.0)


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (Raises(), "on_bar raised an exception inside compiled code"),
        (OutOfRange(), "on_bar raised an exception inside compiled code"),
        (BadSymbol(), "on_bar raised an exception; the ctx had found: ctx: no symbol at column 7"),
        (
            LongHistory(),
            "on_bar raised an exception; the ctx had found: ctx.history: length 2 is not between 1 "
            "and the bars so far",
        ),
        (
            Chatty(),
            "on_bar raised an exception; the ctx had found: ctx: more than 3 requests in one "
            "call (max_requests)",
        ),
    ],
    ids=["raise", "index", "symbol", "history", "requests"],
)
def test_a_failing_callback_raises_a_strategy_error_naming_the_bar_and_symbol(
    backend, strategy, message
):
    with pytest.raises(StrategyError) as error:
        Engine(backend=backend).run(bars_from_rows(ROWS), strategy)
    text = str(error.value)
    assert text.startswith(message)
    assert "symbol 'X'" in text
    assert "bar " in text


def test_the_raising_bar_is_the_one_named(backend):
    with pytest.raises(StrategyError, match=r"bar 2 \(2024-01-03"):
        Engine(backend=backend).run(bars_from_rows(ROWS), Raises(where=2))


class BadQuantity(CompiledStrategy):
    def on_bar(ctx, bar):
        if ctx.bar_index == 1:
            ctx.buy(bar.symbol, 100.0)
            ctx.buy(bar.symbol, -5.0)


class BadPrice(CompiledStrategy):
    def on_bar(ctx, bar):
        ctx.sell(bar.symbol, 1.0, "limit", limit_price=math.inf)


class MissingPrice(CompiledStrategy):
    def on_bar(ctx, bar):
        ctx.buy(bar.symbol, 1.0, "stop")


class UnknownColumn(CompiledStrategy):
    def on_bar(ctx, bar):
        ctx.order_target_percent(3, 0.5)


class UnknownOrder(CompiledStrategy):
    def on_bar(ctx, bar):
        ctx.cancel(42)


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (
            BadQuantity(),
            "quantity: must be a finite number > 0, got -5.0 (symbol 'X', bar 1 (2024-01-02",
        ),
        (BadPrice(), "limit_price: must be a finite number > 0, got inf (symbol 'X', bar 0"),
        (MissingPrice(), "stop_price: required for a stop order (symbol 'X', bar 0"),
        (UnknownColumn(), "symbol: no symbol at column 3; the data has 1: ['X'] (bar 0"),
        (UnknownOrder(), "order_id: no order 42 (bar 0"),
    ],
    ids=["quantity", "price", "missing", "column", "cancel"],
)
def test_a_refused_request_raises_the_order_error_of_the_python_ctx(backend, strategy, message):
    with pytest.raises(OrderError) as error:
        Engine(backend=backend).run(bars_from_rows(ROWS), strategy)
    assert str(error.value).startswith(message)


class NotNumba(CompiledStrategy):
    def on_bar(ctx, bar):
        ctx.buy(bar.symbol, 1.0, {"a": object()})


class DynamicSide(CompiledStrategy):
    def on_bar(ctx, bar):
        side = "buy" if bar.close > 11.0 else "sell"
        ctx.submit_order(bar.symbol, side, 1.0)


def test_a_strategy_numba_cannot_compile_gets_numbas_message_and_what_quanta_expects(backend):
    with pytest.raises(ConfigError, match="numba could not compile the strategy") as error:
        Engine(backend=backend).run(bars_from_rows(ROWS), NotNumba())
    assert "numba said:" in str(error.value)
    assert "\x1b[" not in str(error.value)
    with pytest.raises(
        ConfigError, match="side: one of \\['buy', 'sell'\\] written as a string literal"
    ):
        Engine(backend=backend).run(bars_from_rows(ROWS), DynamicSide())


# ============================================================================ parameters
def test_parameters_are_class_attributes_checked_by_type():
    assert SmaCross(fast=3).params()[0]["fast"] == 3
    with pytest.raises(ConfigError, match="period: not a parameter of SmaCross"):
        SmaCross(period=3)
    with pytest.raises(ConfigError, match="fast: SmaCross declares it int64"):
        SmaCross(fast=2.5).params()
    assert repr(SmaCross(fast=3)) == "SmaCross(fast=3, slow=30)"


def test_settings_are_checked(backend):
    class_ = type("Broken", (Chatty,), {"max_requests": 0})
    with pytest.raises(
        ConfigError, match="max_requests: must be a whole number from 1 to 1,048,576, got 0"
    ):
        Engine(backend=backend).run(bars_from_rows(ROWS), class_())


# ============================================================================ grids
def test_run_many_and_optimize_run_compiled_strategies_with_their_own_state(backend):
    bars = data.load_samples(["AAPL", "IBM"])
    engine = Engine(backend=backend)
    jobs = [SmaCross(fast=f, slow=s) for f in (5, 10) for s in (20, 40)]
    many = engine.run_many(bars, jobs, n_jobs=2)
    alone = [engine.run(bars, job) for job in jobs]
    for a, b in zip(many, alone, strict=True):
        assert fills(a) == fills(b)
        assert a.equity.tobytes() == b.equity.tobytes()
    assert len({len(r.fills) for r in many}) > 1
    best = engine.optimize(
        bars, lambda cache, **params: SmaCross(**params), {"fast": [5, 10], "slow": [20, 40]}
    )
    assert len(best.table) == 4


# ============================================================================ without numba
def test_quanta_imports_and_runs_without_numba():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["numba"] = None  # as if it were not installed
        import quanta_ref
        from quanta_ref import Engine, data
        from quanta_ref.compiled import CompiledStrategy
        assert "numba" not in [m for m in sys.modules if sys.modules[m] is not None]
        class Nothing(CompiledStrategy):
            def on_bar(ctx, bar):
                pass
        try:
            Engine(backend="python").run(data.load_sample("AAPL"), Nothing())
        except quanta_ref.ConfigError as error:
            print(error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "needs numba, an optional extra: pip install 'quanta[numba]'" in done.stdout


class WritesHistory(CompiledStrategy):
    def on_bar(ctx, bar):
        ctx.history(bar.symbol, "close", 1)[0] = 0.0


def test_history_is_read_only_in_compiled_code_as_in_python(backend):
    with pytest.raises(ConfigError, match="numba could not compile the strategy") as error:
        Engine(backend=backend).run(bars_from_rows(ROWS), WritesHistory())
    assert "readonly" in str(error.value)


@numba.njit(boundscheck=False)
def reads_slot(ctx, bar):
    ctx.buy(bar.symbol, 1.0 + ctx.state[bar.symbol, ctx.params.slot])


class Unchecked(CompiledStrategy):
    boundscheck = False
    slot = 1
    state_size = 2
    on_bar = reads_slot


class Checked(Unchecked):
    boundscheck = True
    slot = 5  # out of range


def test_bounds_checking_follows_the_class_whatever_ran_before_or_jitted_the_function(backend):
    # The function was jitted without bounds checks, and a class without them ran first:
    # the class that asks for them still gets them (no cached code of the other).
    Engine(backend=backend).run(bars_from_rows(ROWS), Unchecked())
    with pytest.raises(StrategyError, match="on_bar raised an exception inside compiled code"):
        Engine(backend=backend).run(bars_from_rows(ROWS), Checked())


class NumpyDefaults(CompiledStrategy):
    size = np.float32(2.0)
    every = np.int32(2)
    short = np.bool_(False)

    def on_bar(ctx, bar):
        if ctx.bar_index % ctx.params.every == 0 and not ctx.params.short:
            ctx.buy(bar.symbol, ctx.params.size)


def test_parameters_may_default_to_numpy_scalars(backend):
    result = Engine(backend=backend).run(bars_from_rows(ROWS), NumpyDefaults(every=3))
    assert [o.quantity for o in result.orders] == [2.0, 2.0]
    with pytest.raises(ConfigError, match="every: NumpyDefaults declares it int64"):
        Engine(backend=backend).run(bars_from_rows(ROWS), NumpyDefaults(every=2**70))


class Huge(CompiledStrategy):
    state_size = 2**62

    def on_bar(ctx, bar):
        ctx.state[bar.symbol, 100_000] = 1.0


def test_buffers_too_large_to_allocate_are_refused_before_the_run(backend):
    with pytest.raises(ConfigError, match="state_size: must be a whole number from 0 to"):
        Engine(backend=backend).run(bars_from_rows(ROWS), Huge())


class HoldsAndReads(CompiledStrategy):
    """Buys 100 at bar 0, then writes its position into a far limit price at every bar."""

    def on_bar(ctx, bar):
        if ctx.bar_index == 0:
            ctx.buy(bar.symbol, 100.0)
        ctx.buy(
            bar.symbol,
            1.0,
            "limit",
            limit_price=(1.0 + ctx.position(bar.symbol)) * 1e-6,
            time_in_force="day",
        )


def test_the_account_view_follows_a_corporate_action_on_a_row_without_a_bar(backend):
    # Bonus shares (0.3 per share) on 2024-01-04, a day the symbol has no bar: at the next
    # bar the strategy sees 130 shares (the Rust engine refreshed its view only at bars of
    # rows with an action once).
    rows = [ROWS[0], ROWS[1], ROWS[2], None, ROWS[3], ROWS[3]]
    bars = bars_from_rows(rows)
    day = np.datetime64("2024-01-04", "ns")
    bars = bars.with_market(actions=CorporateActions(["X"], np.array([day]), [0.0], [0.3]))
    result = Engine(backend=backend).run(bars, HoldsAndReads())
    seen = [round(o.limit_price * 1e6, 6) - 1.0 for o in result.orders if o.limit_price]
    assert seen == [0.0, 100.0, 100.0, 130.0, 130.0]
