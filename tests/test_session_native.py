"""The Rust backend's half of a live session (`quanta_fast.engine.RustSession`), driven
directly over a stand-in for the session's growing panel.

Rows pushed a few at a time (the core kept between calls) give exactly what one batch run
over the same bars gives, bit for bit; an external broker's reports book the fills and
statuses it gives (hand-computed); the engine never matches nor expires an order itself
under external execution.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from quanta_ref import Engine, Strategy
from quanta_ref.actions import ActionSchedule, schedule
from quanta_ref.bars import FIELDS, Bars
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError, OrderError, QuantaError
from quanta_ref.market import RunMarket, prepare
from quanta_ref.orders import OrderStatus, Reason
from strategies import describe_actions, describe_bars, scenarios
from test_differential import Recording, assert_same_result, bits, fill_fields

pytestmark = pytest.mark.usefixtures("backend_rust")

DAY = 86_400 * 10**9


class Pushes:
    """A stand-in for `quanta_ref.session.Panel`, filled from `bars` row by row: arrays with
    room for more rows than are filled, rebound to bigger ones as it grows (twice the rows),
    so the native session must read them anew at every call."""

    def __init__(self, bars: Bars) -> None:
        self.bars = bars
        self.panel = SimpleNamespace(symbols=tuple(bars.symbols), n_bars=0)
        self._grow(1)

    def _grow(self, capacity: int) -> None:
        n = len(self.bars.symbols)
        timestamps = np.zeros(capacity, dtype=np.int64)
        timestamps[: self.panel.n_bars] = getattr(self.panel, "timestamps", [])[: self.panel.n_bars]
        self.panel.timestamps = timestamps
        for field in FIELDS:
            values = np.full((capacity, n), np.nan)
            values[: self.panel.n_bars] = getattr(self.panel, field, values)[: self.panel.n_bars]
            setattr(self.panel, field, values)

    def push(self, count: int) -> int:
        """Fill the next `count` rows (fewer at the end of the bars); the rows filled now."""
        panel, t = self.panel, self.panel.n_bars
        stop = min(t + count, self.bars.n_bars)
        while stop > len(panel.timestamps):
            self._grow(2 * len(panel.timestamps))
        panel.timestamps[t:stop] = self.bars.timestamps[t:stop]
        for field in FIELDS:
            getattr(panel, field)[t:stop] = getattr(self.bars, field)[t:stop]
        panel.n_bars = stop
        return stop


def actions_before(bars: Bars, stop: int) -> ActionSchedule | None:
    """The corporate actions of a run over `bars` that apply before row `stop`."""
    plan = schedule(bars)
    if plan is None:
        return None
    keep = plan.row < stop
    if not keep.any():
        return None
    return ActionSchedule(
        row=plan.row[keep], column=plan.column[keep], cash=plan.cash[keep], shares=plan.shares[keep]
    )


def rust_session(panel: Any, strategy: Strategy, config: EngineConfig, external: bool) -> Any:
    from quanta_fast.engine import RustBackend

    return RustBackend().session(panel, strategy, config, external)


@settings(max_examples=max(150, settings.default.max_examples))
@given(
    scenario=scenarios(max_bars=120, corporate_actions=True),
    chunks=st.lists(st.integers(1, 9), min_size=1, max_size=30),
    split=st.floats(0.0, 1.0),
)
def test_rows_pushed_in_parts_give_the_batch_run_bit_for_bit(backend, scenario, chunks, split):
    """The scripted strategies of the differential test, their rows pushed 1 to 9 at a time:
    every event the strategy hears and the whole result equal one batch run's; a result
    taken part-way equals the batch run over the rows so far."""
    bars, engine_settings, script = scenario
    note(describe_bars(bars))
    note(describe_actions(bars))
    note(f"settings = {engine_settings!r}, chunks = {chunks!r}")
    engine = Engine(backend=backend, **engine_settings)
    batch_strategy = Recording.for_settings(script, engine_settings)
    batch = engine.run(bars, batch_strategy)

    config = engine.config
    market = prepare(bars, config)  # the full tables: the session reads their first rows
    strategy = Recording.for_settings(script, engine_settings)
    pushes = Pushes(bars)
    session = rust_session(pushes.panel, strategy, config, external=False)
    middle = max(1, math.ceil(split * bars.n_bars))
    k = 0
    while pushes.panel.n_bars < bars.n_bars:
        stop = pushes.push(chunks[k % len(chunks)])
        k += 1
        session.rows(stop, market, actions_before(bars, stop), [])
        if stop >= middle and middle > 0:
            prefix = bars.between(end=bars.timestamps[stop - 1].astype("datetime64[ns]"))
            part = session.result(prefix)
            try:
                whole = engine.run(prefix, Recording.for_settings(script, engine_settings))
            except ConfigError:  # a participation limit over rows with no volume yet
                middle = 0
                continue
            assert [fill_fields(f) for f in part.fills] == [fill_fields(f) for f in whole.fills]
            assert part.equity.tobytes() == whole.equity.tobytes()
            assert part.cash.tobytes() == whole.cash.tobytes()
            assert part.stats == pytest.approx(whole.stats, rel=1e-12, nan_ok=True)
            middle = 0  # once
    session.end()
    assert strategy.ids == batch_strategy.ids
    assert strategy.log == batch_strategy.log
    assert_same_result(batch, session.result(bars))
    for start in (0, 1, len(batch.signals)):
        assert signal_bits(session.signals_since(start)) == signal_bits(batch.signals[start:])


def signal_bits(signals: list[Any]) -> list[Any]:
    return [bits(tuple(s.__dict__.values())) for s in signals]


# ---------------------------------------------------------------------- external execution
class Buyer(Strategy):
    """Buys 300 of S0 at market (GTC) and 100 of S1 with a DAY limit at row 0; logs the
    events it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[Any, ...]] = []

    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == 0 and bar.symbol == "S0":
            ctx.buy("S0", 300)
            ctx.buy("S1", 100, order_type="limit", limit_price=30.0, time_in_force="day")

    def on_fill(self, ctx: Any, fill: Any) -> None:
        self.heard.append(("fill", fill.order_id, fill.quantity, fill.price, fill.commission))
        self.heard.append(("cash", ctx.cash, ctx.position(fill.symbol)))

    def on_order(self, ctx: Any, order: Any) -> None:
        self.heard.append(("order", order.order_id, order.status, order.reject_reason))

    def on_end(self, ctx: Any) -> None:
        self.heard.append(("end", ctx.bar_index))


def external_session(n_rows: int) -> tuple[Buyer, Any, Pushes]:
    """A session under external execution over 2 symbols with closes 20 and 25 (S1 bars
    low enough for the limit to fill), `n_rows` rows run, one per day."""
    timestamps = 19_723 * DAY + np.arange(6, dtype=np.int64) * DAY
    close = np.array([[20.0, 25.0]] * 6)
    volume = np.full_like(close, 1e6)
    bars = Bars.from_arrays(
        timestamps, close, close + 1.0, close - 10.0, close, volume, symbols=["S0", "S1"]
    )
    strategy = Buyer()
    pushes = Pushes(bars)
    config = EngineConfig.build(initial_cash=100_000.0, commission_rate=0.001, fill_at="close")
    session = rust_session(pushes.panel, strategy, config, external=True)
    session.rows(pushes.push(n_rows), RunMarket(), None, [])
    return strategy, session, pushes


def test_external_execution_never_fills_nor_expires_an_order_itself():
    strategy, session, _ = external_session(5)
    ctx = session.context
    assert [o.status for o in ctx.open_orders()] == [OrderStatus.PENDING, OrderStatus.PENDING]
    assert ctx.cash == 100_000.0
    assert [h[0] for h in strategy.heard] == ["order", "order"]  # the two acceptances
    assert session.result(session_bars(session)).fills == []


def session_bars(session: Any) -> Bars:
    """The rows a session's panel holds so far, as `Bars`."""
    panel = session._panel
    n = panel.n_bars
    fields = (getattr(panel, f)[:n] for f in FIELDS)
    return Bars.from_arrays(panel.timestamps[:n], *fields, symbols=panel.symbols)


def test_reported_fills_are_booked_with_their_costs_in_the_next_rows_open_phase():
    strategy, session, pushes = external_session(2)
    strategy.heard.clear()
    reports = [("fill", 1, 100.0, 20.5, 3.25, 0.75), ("fill", 1, 200.0, 21.0, 4.0, 1.0)]
    session.rows(pushes.push(1), RunMarket(), None, reports)
    # 100 x 20.5 = 2050 plus the reported commission and tax (not the engine's 0.1 %).
    cash = 100_000.0 - 2050.0 - 3.25 - 0.75
    then = cash - 200.0 * 21.0 - 4.0 - 1.0
    assert strategy.heard == [
        ("fill", 1, 100.0, 20.5, 3.25),
        ("cash", cash, 100.0),
        ("order", 1, OrderStatus.PARTIALLY_FILLED, None),
        ("fill", 1, 200.0, 21.0, 4.0),
        ("cash", then, 300.0),
        ("order", 1, OrderStatus.FILLED, None),
    ]
    order = session.context.get_order(1)
    assert order.average_fill_price == (20.5 * 100.0 + 21.0 * 200.0) / 300.0
    result = session.result(session_bars(session))
    assert [(f.timestamp, f.commission, f.tax) for f in result.fills] == [
        (int(pushes.panel.timestamps[2]), 3.25, 0.75),
        (int(pushes.panel.timestamps[2]), 4.0, 1.0),
    ]
    assert list(result.cash) == [100_000.0, 100_000.0, then]
    assert result.equity[-1] == then + 300.0 * 20.0


def test_a_report_made_inside_a_callback_is_booked_at_once_and_heard_after_it():
    strategy, session, _ = external_session(1)
    strategy.heard.clear()
    session.context._report(("status", 2, OrderStatus.REJECTED, Reason.BROKER))
    session.context._report(("status", 1, "cancelled", None))
    assert session.context.open_orders() == []
    assert strategy.heard == []  # queued until the running row delivers them
    session.drain()
    assert strategy.heard == [
        ("order", 2, OrderStatus.REJECTED, "broker"),
        ("order", 1, OrderStatus.CANCELLED, None),
    ]
    with pytest.raises(OrderError, match="order_id: no live order 1"):
        session.context._report(("status", 1, OrderStatus.CANCELLED, None))


def test_end_delivers_on_end_and_closes_the_context():
    strategy, session, _ = external_session(3)
    ctx = session.context
    session.end()
    assert strategy.heard[-1] == ("end", 2)
    with pytest.raises(OrderError):
        ctx.cash  # noqa: B018 (the read is the test)
    assert len(session.result(session_bars(session)).equity) == 3


class Fails(Strategy):
    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == 2:
            raise ZeroDivisionError("the strategy's own error")


def flat_pushes(n_rows: int) -> Pushes:
    """Daily bars of one symbol, every price 10, to be pushed."""
    prices = np.full((n_rows, 1), 10.0)
    timestamps = 19_723 * DAY + np.arange(n_rows, dtype=np.int64) * DAY
    bars = Bars.from_arrays(timestamps, prices, prices, prices, prices, prices, symbols=["S0"])
    return Pushes(bars)


def test_a_strategy_error_passes_through_and_stops_the_session():
    pushes = flat_pushes(4)
    session = rust_session(pushes.panel, Fails(), EngineConfig.build(), external=False)
    session.rows(pushes.push(2), RunMarket(), None, [])
    with pytest.raises(ZeroDivisionError, match="the strategy's own error"):
        session.rows(pushes.push(1), RunMarket(), None, [])
    with pytest.raises(QuantaError, match="stopped at an error"):
        session.rows(pushes.push(1), RunMarket(), None, [])


def test_a_reported_fill_outside_the_float_range_raises_the_runs_error_and_books_nothing():
    _, session, _ = external_session(2)
    message = (
        r"value: the fill of order 1 would make it inf, outside the float range; nothing of "
        r"the fill is booked \(symbol 'S0', bar 1 \(2024-01-02"
    )
    with pytest.raises(OrderError, match=message):
        session.context._report(("fill", 1, 300.0, 1e307, 0.0, 0.0))
    assert session.context.cash == 100_000.0


class TargetBuyer(Strategy):
    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == 0:
            ctx.order_target_quantity(bar.symbol, 100)


def test_a_fill_reported_for_an_unsized_target_order_is_refused():
    pushes = flat_pushes(2)
    session = rust_session(pushes.panel, TargetBuyer(), EngineConfig.build(), external=True)
    session.rows(pushes.push(2), RunMarket(), None, [])
    with pytest.raises(OrderError, match="order_id: order 1 is a target order"):
        session.context._report(("fill", 1, 100.0, 10.0, 0.0, 0.0))
    assert session.context.get_order(1).status is OrderStatus.PENDING
