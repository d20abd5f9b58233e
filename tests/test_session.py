"""Live sessions: fed row by row they are the batch run, bit for bit, on both backends; they
survive a restart in another process and on the other backend; an external broker that fills
as the paper rules would gives the same result again; bad input changes nothing."""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import os
import pickle
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from quanta_ref import Bars, Engine, Strategy
from quanta_ref.bars import FIELDS
from quanta_ref.errors import ConfigError, DataError, OrderError
from quanta_ref.examples import SmaCross
from quanta_ref.orders import OrderStatus
from quanta_ref.session import Session, SnapshotError
from session_support import at, feed, finish_in_fresh_process, outcome, rows
from strategies import cn_a_scenarios, describe_bars, scenarios
from test_differential import Recording, assert_same_result, bits, order_fields

pytestmark = pytest.mark.usefixtures("backend_rust")

# Each example runs a batch and a session on both backends.
IDENTITY = settings(
    max_examples=max(150, settings.default.max_examples // 4),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)
BACKENDS = tuple(os.environ.get("QUANTA_SESSION_BACKENDS", "python,rust").split(","))


def without_bar_market(bars: Bars) -> Bars:
    """`bars` without per-bar market data (vendor limits, ST flags), which a session's pushed
    rows cannot carry; listing dates and corporate actions stay."""
    if bars.st is None and bars.up_limit is None and bars.down_limit is None:
        return bars
    plain = rows(bars, 0, bars.n_bars)
    listing = None
    if bars.listing_dates is not None:
        listing = {
            s: np.datetime64(int(d), "ns")
            for s, d in zip(bars.symbols, bars.listing_dates.tolist(), strict=True)
            if d != np.iinfo(np.int64).min
        }
    return plain.with_market(listing_dates=listing or None, actions=bars.actions)


@st.composite
def chunking(draw: Any, n_bars: int, min_history: int) -> tuple[int, list[int]]:
    """(history rows, the ends of the chunks pushed after it)."""
    history = draw(st.integers(min_history, n_bars))
    if history == n_bars:
        return history, []
    cuts = sorted(set(draw(st.lists(st.integers(history + 1, n_bars), max_size=8))))
    if history < n_bars and (not cuts or cuts[-1] != n_bars):
        cuts.append(n_bars)
    # Single rows often: the path of a live feed.
    singles = draw(st.lists(st.integers(history + 1, n_bars), max_size=6))
    return history, sorted(set(cuts) | set(singles))


def start_session(
    backend: str, bars: Bars, settings_: dict[str, Any], strategy: Strategy, history: int, **kw: Any
) -> Session:
    engine = Engine(backend=backend, **settings_)
    if history == 0:
        return engine.session(strategy, symbols=bars.symbols, **kw)
    return engine.session(strategy, history=bars.between(end=at(bars, history - 1)), **kw)


def check_identity(scenario: Any, data: Any) -> None:
    bars, engine, script = scenario
    bars = without_bar_market(bars)
    note(describe_bars(bars))
    market_data = bars.actions is not None or bars.listing_dates is not None
    history, cuts = data.draw(chunking(bars.n_bars, 1 if market_data else 0))
    note(f"history {history}, cuts {cuts}")
    for backend in BACKENDS:
        batch_strategy = Recording.for_settings(script, engine)
        batch = Engine(backend=backend, **engine).run(bars, batch_strategy)
        strategy = Recording.for_settings(script, engine)
        session = start_session(backend, bars, engine, strategy, history)
        feed(session, bars, history, cuts)
        assert_same_result(batch, session.end())
        assert strategy.log == batch_strategy.log, backend


@IDENTITY
@given(scenario=scenarios(max_bars=200, corporate_actions=True), data=st.data())
def test_a_session_fed_in_random_chunks_is_the_batch_run_bit_for_bit(scenario, data):
    check_identity(scenario, data)


@IDENTITY
@given(scenario=cn_a_scenarios(max_bars=80), data=st.data())
def test_a_session_on_the_a_share_market_is_the_batch_run_bit_for_bit(scenario, data):
    check_identity(scenario, data)


# ===================================================================== surviving a restart
@pytest.fixture(scope="module")
def fresh_process():
    """One spawned interpreter (nothing inherited from this one) for the restores."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        yield pool


RESTORE = settings(
    max_examples=max(60, settings.default.max_examples // 10),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    deadline=None,
)


@RESTORE
@given(
    scenario=scenarios(max_bars=120, corporate_actions=True),
    data=st.data(),
    taken_on=st.sampled_from(BACKENDS),
    restored_on=st.sampled_from(BACKENDS),
)
def test_a_snapshot_restored_in_a_fresh_process_continues_as_if_uninterrupted(
    fresh_process, scenario, data, taken_on, restored_on
):
    bars, engine, script = scenario
    note(describe_bars(bars))
    history, cuts = data.draw(chunking(bars.n_bars, 1 if bars.actions is not None else 0))
    at = data.draw(st.sampled_from([history, *cuts]))
    note(f"history {history}, cuts {cuts}, snapshot after row {at}: {taken_on} -> {restored_on}")
    uninterrupted = start_session(
        taken_on, bars, engine, Recording.for_settings(script, engine), history
    )
    feed(uninterrupted, bars, history, cuts)
    expected = outcome(uninterrupted)

    session = start_session(taken_on, bars, engine, Recording.for_settings(script, engine), history)
    before = [c for c in cuts if c <= at]
    feed(session, bars, history, before)
    snapshot = session.snapshot()
    after = [c for c in cuts if c > at]
    got = fresh_process.submit(
        finish_in_fresh_process, snapshot, restored_on, bars, max(at, history), after
    ).result()
    assert got == expected


# ===================================================================== external execution
class ShadowBroker:
    """An external broker that fills exactly as the paper rules would: it keeps a paper
    session of its own (same settings, a strategy that does nothing), sends it the orders it
    receives, and reports what that session does with them. The test pushes each row to the
    shadow first, so its fills reach the external session before that row, as a live
    broker's fills arrive between two bars."""

    def __init__(self, engine: Engine, symbols: tuple[str, ...]) -> None:
        self.shadow = engine.session(Strategy(), symbols=symbols)
        self.session: Session | None = None
        self.to_external: dict[int, int] = {}
        self.to_shadow: dict[int, int] = {}
        self.filled: dict[int, float] = {}

    def submit(self, order: Any) -> None:
        shadow_id = self.shadow.ctx.submit_order(
            order.symbol,
            order.side,
            order.quantity,
            order.order_type,
            order.limit_price,
            order.stop_price,
            order.time_in_force,
            # As a datetime64: an integer within 1970 reads as a mistake (section 1).
            None if order.expire_at is None else np.datetime64(order.expire_at, "ns"),
        )
        assert self.shadow.ctx.get_order(shadow_id).status is OrderStatus.PENDING
        self.to_external[shadow_id] = order.order_id
        self.to_shadow[order.order_id] = shadow_id

    def cancel(self, order_id: int) -> None:
        assert self.shadow.ctx.cancel(self.to_shadow[order_id])
        assert self.session is not None
        self.session.report_status(order_id, "cancelled")

    def bar(self, bars: Bars, i: int) -> None:
        """The shadow's row `i`; what it did, reported to the external session."""
        step = self.shadow.push(at(bars, i), *(getattr(bars, f)[i] for f in FIELDS))
        fills = iter(step.fills)
        assert self.session is not None
        for update in step.updates:
            order_id = self.to_external[update.order_id]
            if update.filled_quantity > self.filled.get(order_id, 0.0):
                self.filled[order_id] = update.filled_quantity
                fill = next(fills)
                self.session.report_fill(
                    order_id, fill.quantity, fill.price, fill.commission, fill.tax
                )
            if update.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED):
                self.session.report_status(order_id, update.status, update.reject_reason)


def visible(order: Any) -> tuple[Any, ...]:
    """An order's fields a user reads (not the engine's bookkeeping of when it may match)."""
    fields = dict(zip(type(order).__slots__, order_fields(order), strict=True))
    return tuple(v for k, v in fields.items() if k not in ("active_day", "triggered"))


EXTERNAL = settings(IDENTITY, max_examples=max(40, settings.default.max_examples // 20))


@EXTERNAL
@given(scenario=scenarios(max_bars=60))
def test_an_external_broker_that_fills_as_the_paper_rules_gives_the_batch_result(scenario):
    bars, engine, script = scenario
    # Orders made in on_start or on_fill would reach the shadow after it matched the row they
    # belong to, and target orders are refused in external mode; market orders trade at the
    # next open (fills at a close would come a row late); the drawdown stop is checked at a
    # row's end, which the shadow has passed when the orders of that row reach it. Trailing
    # stops are left out: the engine does not trail an external order (the broker does), so
    # its stop_price would differ from the batch's by design.
    engine = {k: v for k, v in engine.items() if k != "max_drawdown_stop"}
    engine["fill_at"] = "next_open"
    # The engine runs no margin call for an external broker (the broker runs its own).
    engine["instruments"] = {
        symbol: {k: v for k, v in item.items() if k not in ("margin", "maintenance_margin")}
        for symbol, item in engine.get("instruments", {}).items()
    }

    def sized(todo: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Target orders, groups and brackets are refused in external mode; the engine never
        # trails an external order, so a trailing stop's level differs by design.
        refused = ("target_qty", "target_pct", "bracket", "oco")
        return [
            a
            for a in todo
            if a["op"] not in refused and (a["op"] != "submit" or a["type"] != "trailing_stop")
        ]

    script = {
        "start": [],
        "fills": {},
        "bars": {k: sized(todo) for k, todo in script["bars"].items()},
        "end": sized(script["end"]),
    }
    bars = without_bar_market(bars)
    for backend in BACKENDS:
        batch = Engine(backend=backend, **engine).run(bars, Recording.for_settings(script, engine))
        broker = ShadowBroker(Engine(backend=backend, **engine), bars.symbols)
        session = Engine(backend=backend, **engine).session(
            Recording.for_settings(script, engine),
            symbols=bars.symbols,
            mode="external",
            broker=broker,
        )
        broker.session = session
        for i in range(bars.n_bars):
            broker.bar(bars, i)
            session.push(at(bars, i), *(getattr(bars, f)[i] for f in FIELDS))
        result = session.end()
        assert [visible(o) for o in result.orders] == [visible(o) for o in batch.orders]
        for name in ("fills", "trades", "positions"):
            assert [bits(tuple(vars(x).values())) for x in getattr(result, name)] == [
                bits(tuple(vars(x).values())) for x in getattr(batch, name)
            ], name
        assert result.equity.tobytes() == batch.equity.tobytes()
        assert result.cash.tobytes() == batch.cash.tobytes()


# ===================================================================== hand-checked edges
def sample() -> Bars:
    ts = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], dtype="datetime64[ns]")
    close = np.array([[10.0, 20.0], [11.0, 21.0], [12.0, np.nan], [13.0, 23.0]])
    volume = np.where(np.isnan(close), np.nan, 100.0)
    return Bars.from_arrays(ts, close, close + 0.5, close - 0.5, close, volume, symbols=["A", "B"])


class BuyOnce(Strategy):
    """Buys 10 A at the first bar; remembers its ctx (a snapshot must restore it)."""

    def __init__(self) -> None:
        super().__init__()
        self.ctx: Any = None
        self.seen = 0

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.ctx = ctx
        self.seen += 1
        if bar.symbol == "A" and ctx.bar_index == 0:
            ctx.buy("A", 10)


def push_row(session: Session, bars: Bars, i: int) -> Any:
    return session.push(at(bars, i), *(getattr(bars, f)[i] for f in FIELDS))


def test_a_push_returns_what_happened_at_it(backend):
    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    first = push_row(session, bars, 0)
    assert [o.order_id for o in first.submitted] == [1]
    assert first.fills == [] and first.rows == range(0, 1)
    second = push_row(session, bars, 1)
    assert [(f.order_id, f.quantity, f.price) for f in second.fills] == [(1, 10.0, 11.0)]
    assert [o.status for o in second.updates] == [OrderStatus.FILLED]
    result = session.result()
    assert result.equity.tolist() == [1_000_000.0, 1_000_000.0]
    assert session.result().positions[0].quantity == 10.0


def test_result_at_any_moment_is_the_run_of_the_bars_so_far(backend):
    bars = sample()
    session = Engine(backend=backend).session(SmaCross(fast=1, slow=2), symbols=["A", "B"])
    for i in range(bars.n_bars):
        push_row(session, bars, i)
        batch = Engine(backend=backend).run(rows(bars, 0, i + 1), SmaCross(fast=1, slow=2))
        assert_same_result(batch, session.result())


def test_timestamps_must_ascend_and_a_refused_row_changes_nothing(backend):
    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    push_row(session, bars, 1)
    before = session.result()
    with pytest.raises(DataError, match=r"timestamp: 2024-01-03T00:00:00.* is duplicated"):
        push_row(session, bars, 1)
    with pytest.raises(DataError, match="timestamp: .* is not after the last bar pushed"):
        push_row(session, bars, 0)
    with pytest.raises(DataError, match=r"high: 9.0 is below the open .* symbol 'B', bar 2"):
        session.push("2024-01-04", [12, 20], [12.5, 9], [11.5, 8], [12, 9], [1, 1])
    with pytest.raises(DataError, match=r"close: expected 2 values \(one per symbol\)"):
        session.push("2024-01-04", [12, 20], [12.5, 21], [11.5, 19], [12], [1, 1])
    with pytest.raises(DataError, match=r"open: NaN in a bar whose other prices are set"):
        session.push("2024-01-04", [math.nan, 20], [12.5, 21], [11.5, 19], [12, 20], [1, 1])
    assert session.n_bars == 2
    assert_same_result(before, session.result())
    push_row(session, bars, 2)  # and the session goes on
    assert session.n_bars == 3


def test_the_strategys_own_exception_surfaces_and_stops_the_session(backend):
    class Boom(Strategy):
        def on_bar(self, ctx: Any, bar: Any) -> None:
            if ctx.bar_index == 1:
                raise KeyError("mine")

    bars = sample()
    session = Engine(backend=backend).session(Boom(), symbols=["A", "B"])
    push_row(session, bars, 0)
    with pytest.raises(KeyError, match="mine"):
        push_row(session, bars, 1)
    with pytest.raises(OrderError, match="push: the session stopped on an error .*KeyError"):
        push_row(session, bars, 2)


def test_history_warms_the_strategy_up_as_in_a_backtest(backend):
    bars = sample()
    engine = Engine(backend=backend)
    strategy = BuyOnce()
    session = engine.session(strategy, history=rows(bars, 0, 2))
    assert strategy.seen == 4 and session.n_bars == 2
    assert session.result().positions[0].quantity == 10.0
    with pytest.raises(ConfigError, match=r"symbols: \['B', 'A'\] differ from the history's"):
        engine.session(BuyOnce(), symbols=["B", "A"], history=rows(bars, 0, 2))
    st_history = rows(bars, 0, 2).with_market(st=np.zeros((2, 2), dtype=bool))
    with pytest.raises(ConfigError, match="history: carries per-bar st"):
        engine.session(BuyOnce(), history=st_history)


def test_a_snapshot_restores_the_strategy_and_its_ctx(backend, tmp_path):
    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    path = tmp_path / "session.snap"
    data = session.snapshot(path)
    assert path.read_bytes() == data
    other = "rust" if backend == "python" else "python"
    restored = Session.restore(path, backend=other)
    assert restored.backend == other
    assert restored.strategy.ctx is restored.ctx and restored.strategy.seen == 2
    push_row(restored, bars, 1)
    assert restored.ctx.position("A") == 10.0
    assert restored.strategy.seen == 4


def test_a_bad_snapshot_is_refused_clearly(backend):
    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    data = session.snapshot()
    with pytest.raises(SnapshotError, match="not a quanta session snapshot"):
        Session.restore(b"hello", backend=backend)
    with pytest.raises(SnapshotError, match="format version 99; this quanta reads version 1"):
        Session.restore(data[:15] + (99).to_bytes(4, "little") + data[19:], backend=backend)
    corrupted = bytearray(data)
    corrupted[-10] ^= 0xFF
    with pytest.raises(SnapshotError, match="corrupted"):
        Session.restore(bytes(corrupted), backend=backend)
    with pytest.raises(SnapshotError, match="expected the bytes of Session.snapshot"):
        Session.restore(42, backend=backend)


def test_a_snapshot_that_does_not_rebuild_its_state_is_refused(backend):
    import hashlib
    import struct

    from quanta_ref.session import SNAPSHOT_FORMAT, SNAPSHOT_MAGIC

    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    push_row(session, bars, 1)
    state = pickle.loads(session.snapshot()[51:])
    state["fields"]["open"][1, 0] = 10.75  # another fill price than the one recorded
    payload = pickle.dumps(state)
    forged = SNAPSHOT_MAGIC + struct.pack("<I", SNAPSHOT_FORMAT)
    forged += hashlib.sha256(payload).digest() + payload
    with pytest.raises(SnapshotError, match="the rebuilt state differs from the recorded one"):
        Session.restore(forged, backend=backend)
    state["fields"]["open"][1, 0] = 99.0  # above the bar's high: not a bar at all
    payload = pickle.dumps(state)
    forged = SNAPSHOT_MAGIC + struct.pack("<I", SNAPSHOT_FORMAT)
    forged += hashlib.sha256(payload).digest() + payload
    with pytest.raises(SnapshotError, match=r"replaying its log failed: high: 11.5 is below"):
        Session.restore(forged, backend=backend)


class Holder(Strategy):
    """Holds a lock, which cannot be pickled."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()


def test_an_unpicklable_strategy_is_named_when_snapshotting(backend):
    bars = sample()
    session = Engine(backend=backend).session(Holder(), symbols=["A", "B"])
    push_row(session, bars, 0)
    with pytest.raises(ConfigError, match="strategy: Holder cannot be pickled.*lock"):
        session.snapshot()


class Recorder:
    """A broker that records what it is sent."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.cancels: list[int] = []

    def submit(self, order: Any) -> None:
        self.sent.append(order)

    def cancel(self, order_id: int) -> None:
        self.cancels.append(order_id)


class BuyThenCancel(Strategy):
    def on_bar(self, ctx: Any, bar: Any) -> None:
        if bar.symbol == "A" and ctx.bar_index == 0:
            ctx.buy("A", 100, "limit", limit_price=10.0)
            ctx.buy("A", 100)
        if bar.symbol == "A" and ctx.bar_index == 2:
            ctx.cancel(1)


def test_external_orders_go_to_the_broker_and_reports_are_booked_at_the_next_bar(backend):
    bars = sample()
    broker = Recorder()
    engine = Engine(backend=backend, commission_rate=0.001)
    session = engine.session(BuyThenCancel(), symbols=["A", "B"], mode="external", broker=broker)
    step = push_row(session, bars, 0)
    assert [o.order_id for o in broker.sent] == [1, 2] and len(step.submitted) == 2
    # Nothing fills by itself.
    assert push_row(session, bars, 1).fills == []
    session.report_fill(2, 60, 11.2, commission=1.5, tax=0.25)
    assert session.result().positions[0].quantity == 0.0  # booked at the next bar
    step = push_row(session, bars, 2)
    assert [(f.order_id, f.quantity, f.price, f.commission, f.tax) for f in step.fills] == [
        (2, 60.0, 11.2, 1.5, 0.25)
    ]
    assert step.fills[0].timestamp == bars.timestamps[2]
    assert broker.cancels == [1]  # asked; still live until the broker says so
    assert session.ctx.get_order(1).status is OrderStatus.PENDING
    result = session.result()
    assert result.cash[-1] == 1_000_000.0 - 60 * 11.2 - 1.5 - 0.25
    session.report_status(1, "cancelled")
    push_row(session, bars, 3)
    assert session.ctx.get_order(1).status is OrderStatus.CANCELLED


class WithTerms(Strategy):
    """At bar 0: an IOC limit that cannot fill, an FOK market buy, a GTD limit to the end of
    bar 0's day, a trailing sell by percent of A and a trailing buy by amount of B (a margin
    account); at bar 2 another IOC, and (`targets`) an FOK target order. Notes the open orders
    it sees at every bar."""

    targets = True

    def __init__(self) -> None:
        super().__init__()
        self.log: list[Any] = []

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.log.append((bar.symbol, ctx.bar_index, [visible(o) for o in ctx.open_orders()]))
        if bar.symbol != "A":
            return
        if ctx.bar_index == 0:
            ctx.buy("A", 10, "limit", limit_price=9.0, time_in_force="ioc")
            ctx.buy("A", 10, time_in_force="fok")
            ctx.buy("A", 10, "limit", limit_price=9.0, time_in_force="gtd", expire_at="2024-01-02")
            ctx.sell("A", 10, "trailing_stop", trail_percent=0.1)
            ctx.buy("B", 10, "trailing_stop", trail_amount=1.0)
        if ctx.bar_index == 2:
            ctx.sell("A", 5, time_in_force="IOC")
            if self.targets:
                ctx.order_target_quantity("A", 0, time_in_force="fok")


class SendsTerms(WithTerms):
    """`WithTerms` without the target order (an external session refuses those)."""

    targets = False


def test_a_paper_session_with_ioc_fok_gtd_and_trailing_orders_is_the_batch_run(backend):
    bars = sample()
    engine = Engine(backend=backend, allow_short=True)
    batch_strategy = WithTerms()
    batch = engine.run(bars, batch_strategy)
    # What the batch does with them (so the identity below is about these orders).
    assert [(o.status.value, o.reject_reason) for o in batch.orders] == [
        ("cancelled", "time_in_force"),
        ("filled", None),
        ("expired", "expired"),
        ("pending", None),
        ("filled", None),  # B opens at its stop 21.0 at bar 1
        ("filled", None),
        ("filled", None),
    ]
    assert batch.orders[3].stop_price == 13.0 * (1.0 - 0.1)  # it followed the closes up
    session = engine.session(WithTerms(), symbols=bars.symbols)
    push_row(session, bars, 0)
    push_row(session, bars, 1)
    # A snapshot replays the requests with their keywords, on either backend.
    other = "rust" if backend == "python" else "python"
    session = Session.restore(session.snapshot(), backend=other)
    push_row(session, bars, 2)
    push_row(session, bars, 3)
    assert_same_result(batch, session.end())
    assert session.strategy.log == batch_strategy.log


def test_external_orders_with_times_in_force_and_trails_reach_the_broker_untouched(backend):
    bars = sample()
    broker = Recorder()
    engine = Engine(backend=backend, allow_short=True)
    session = engine.session(SendsTerms(), symbols=["A", "B"], mode="external", broker=broker)
    push_row(session, bars, 0)
    sent = [
        (o.order_id, o.order_type.value, o.time_in_force.value, o.stop_price, o.expire_at)
        + (o.trail_amount, o.trail_percent)
        for o in broker.sent
    ]
    day_end = int(np.datetime64("2024-01-03", "ns").astype(np.int64)) - 1
    assert sent == [
        (1, "limit", "ioc", None, None, None, None),
        (2, "market", "fok", None, None, None, None),
        (3, "limit", "gtd", None, day_end, None, None),
        (4, "trailing_stop", "gtc", 10.0 * (1.0 - 0.1), None, None, 0.1),
        (5, "trailing_stop", "gtc", 21.0, None, 1.0, None),
    ]
    for i in (1, 2, 3):
        push_row(session, bars, i)
    # The engine neither cancels the IOC/FOK rest, nor expires the GTD, nor trails the stops:
    # the broker does, and reports.
    result = session.end()
    assert [o.status for o in result.orders] == [OrderStatus.PENDING] * 6
    assert [o.stop_price for o in result.orders[3:5]] == [10.0 * (1.0 - 0.1), 21.0]
    assert result.fills == []
    assert [o.order_id for o in broker.sent] == [1, 2, 3, 4, 5, 6]


def test_bad_reports_are_refused_and_change_nothing(backend):
    bars = sample()
    session = Engine(backend=backend).session(
        BuyThenCancel(), symbols=["A", "B"], mode="external", broker=Recorder()
    )
    with pytest.raises(OrderError, match="no order 1"):
        session.report_fill(1, 10, 10.0)
    push_row(session, bars, 0)
    before = session.result()
    with pytest.raises(OrderError, match="order_id: no order 7"):
        session.report_fill(7, 10, 10.0)
    with pytest.raises(OrderError, match="quantity: 101.0 overfills order 2, 'A': 100.0 of 100"):
        session.report_fill(2, 101, 10.0)
    with pytest.raises(OrderError, match="price: must be a finite number > 0, got -1.0"):
        session.report_fill(2, 10, -1.0)
    with pytest.raises(OrderError, match="commission: must be >= 0"):
        session.report_fill(2, 10, 10.0, commission=-1)
    with pytest.raises(OrderError, match="status: 'done' is not one of"):
        session.report_status(2, "done")
    with pytest.raises(OrderError, match="reason: 'bad' is not one of"):
        session.report_status(2, "rejected", "bad")
    session.report_fill(2, 60, 10.0)
    with pytest.raises(OrderError, match="overfills order 2, 'A': 40.0 of 100.0 remain"):
        session.report_fill(2, 41, 10.0)
    session.report_status(1, "cancelled")
    with pytest.raises(OrderError, match="order 1 .* is reported ended"):
        session.report_fill(1, 10, 10.0)
    assert_same_result(before, session.result())
    push_row(session, bars, 1)
    with pytest.raises(OrderError, match="order 1 .* is cancelled; a report on an ended order"):
        session.report_fill(1, 10, 10.0)
    paper = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(paper, bars, 0)
    with pytest.raises(ConfigError, match="report_fill: a paper session fills its own orders"):
        paper.report_fill(1, 10, 10.0)


def test_an_external_session_refuses_target_orders(backend):
    class Target(Strategy):
        def on_bar(self, ctx: Any, bar: Any) -> None:
            ctx.order_target_percent("A", 0.5)

    session = Engine(backend=backend).session(
        Target(), symbols=["A", "B"], mode="external", broker=Recorder()
    )
    with pytest.raises(OrderError, match="order_target_percent: target orders are sized"):
        push_row(session, sample(), 0)


def test_a_session_is_used_on_its_own_thread(backend):
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    errors: list[BaseException] = []

    def other() -> None:
        try:
            push_row(session, sample(), 0)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert isinstance(errors[0], OrderError) and "another thread" in str(errors[0])


def test_an_ended_session_takes_no_more_bars(backend):
    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    final = session.end()
    assert_same_result(Engine(backend=backend).run(rows(bars, 0, 1), BuyOnce()), final)
    with pytest.raises(OrderError, match="push: the session has ended"):
        push_row(session, bars, 1)
    assert_same_result(final, session.result())


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.lists(
            st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, 1.0, 2.0, 3.0, 1e308]),
            min_size=5,
            max_size=5,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_the_native_row_writer_writes_and_judges_a_row_as_the_reference(values):
    from quanta_fast.engine import RustBackend
    from quanta_ref.session import write_row

    rows = np.array(values).T.copy()  # (5, N): open, high, low, close, volume
    n = rows.shape[1]
    buffers = [np.full((5, 3, n), 7.0) for _ in range(2)]
    verdicts = [
        writer(buffer, 1, *rows)
        for writer, buffer in zip((write_row, RustBackend.write_row), buffers, strict=True)
    ]
    assert verdicts[0] == verdicts[1]
    assert buffers[0].tobytes() == buffers[1].tobytes()
    for writer in (write_row, RustBackend.write_row):
        with pytest.raises(TypeError):
            writer(buffers[0], 0, *np.zeros((5, n), dtype=np.float32))
        with pytest.raises((TypeError, ValueError)):
            writer(buffers[0], 0, *np.zeros((5, n + 1)))


def test_a_dropped_session_is_freed(backend):
    import gc
    import weakref

    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    gone = weakref.ref(session)
    del session
    gc.collect()
    assert gone() is None  # the session, its strategy and engine state: no leak per session


def test_a_restored_session_snapshots_and_restores_again(backend):
    bars = sample()
    other = "rust" if backend == "python" else "python"
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    session = Session.restore(session.snapshot(), backend=other)
    session = Session.restore(session.snapshot(), backend=backend)  # at once, no push between
    push_row(session, bars, 1)
    session = Session.restore(session.snapshot(), backend=other)
    push_row(session, bars, 2)
    push_row(session, bars, 3)
    assert_same_result(Engine(backend=backend).run(bars, BuyOnce()), session.end())


class Nested(Strategy):
    """Calls its own session from inside on_bar."""

    def __init__(self, call: str) -> None:
        super().__init__()
        self.call = call
        self.session: Any = None
        self.errors: list[str] = []

    def on_bar(self, ctx: Any, bar: Any) -> None:
        if self.session is not None and bar.symbol == "A":
            try:
                if self.call == "push":
                    push_row(self.session, sample(), ctx.bar_index + 1)
                else:
                    getattr(self.session, self.call)()
            except OrderError as exc:
                self.errors.append(str(exc))


@pytest.mark.parametrize("call", ["push", "result", "end", "snapshot"])
def test_a_session_is_not_fed_or_read_from_inside_its_own_callbacks(backend, call):
    bars = sample()
    strategy = Nested(call)
    session = Engine(backend=backend).session(strategy, symbols=["A", "B"])
    strategy.session = session
    push_row(session, bars, 0)
    assert strategy.errors == [
        f"{call}: called from inside a strategy callback; a session is fed and read between "
        "callbacks (only a broker's reports may come from inside one)"
    ]
    push_row(session, bars, 1)
    strategy.session = None
    push_row(session, bars, 2)
    push_row(session, bars, 3)
    assert session.n_bars == 4


class FailsOnOrder(Strategy):
    def on_order(self, ctx: Any, order: Any) -> None:
        raise KeyError("mine")


def test_a_callback_failing_after_a_request_between_pushes_stops_the_session(backend):
    bars = sample()
    session = Engine(backend=backend).session(FailsOnOrder(), symbols=["A", "B"])
    push_row(session, bars, 0)
    with pytest.raises(KeyError, match="mine"):
        session.ctx.buy("A", 1)
    for call in (lambda: push_row(session, bars, 1), lambda: session.ctx.buy("A", 1)):
        with pytest.raises(OrderError, match="the session stopped on an error .*KeyError"):
            call()


def test_bad_requests_between_pushes_change_nothing(backend):
    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    push_row(session, bars, 0)
    push_row(session, bars, 1)
    with pytest.raises(OrderError, match="quantity: must be a finite number > 0"):
        session.ctx.buy("A", -5)
    assert session.ctx.sell("A", 10) == 2  # the session goes on
    push_row(session, bars, 2)
    assert [o.status for o in session.result().orders] == [OrderStatus.FILLED] * 2


class Sent:
    """A broker whose submit fails the second time."""

    def __init__(self) -> None:
        self.sent = 0

    def submit(self, order: Any) -> None:
        self.sent += 1
        if self.sent == 2:
            raise ConnectionError("down")

    def cancel(self, order_id: int) -> None:
        pass


def test_external_edges_refused_clearly(backend):
    bars = sample()
    engine = Engine(backend=backend, fractional=True)
    session = engine.session(Strategy(), symbols=["A", "B"], mode="external", broker=Sent())
    push_row(session, bars, 0)
    session.ctx.buy("A", 0.3)
    with pytest.raises(ConnectionError, match="down"):
        session.ctx.buy("A", 1)  # never reached the broker: not live
    assert session.ctx.get_order(2).status is OrderStatus.REJECTED
    assert session.ctx.get_order(2).reject_reason == "broker"
    session.report_fill(1, 0.1, 10.0)
    session.report_fill(1, 0.2, 10.0)  # 0.1 + 0.2 of 0.3: the order is complete
    with pytest.raises(OrderError, match="end: 2 broker report"):
        session.end()
    push_row(session, bars, 1)
    assert session.ctx.get_order(1).status is OrderStatus.FILLED
    session.ctx.buy("A", 10)
    with pytest.raises(OrderError, match=r"price: 10.0 x 1e\+308 is outside the float range"):
        session.report_fill(3, 10, 1e308)
    with pytest.raises(OrderError, match="status: \\['x'\\] is not one of"):
        session.report_status(3, ["x"])


def test_an_external_history_does_not_trade(backend):
    with pytest.raises(OrderError, match="history warms the strategy up without trading"):
        Engine(backend=backend).session(
            BuyOnce(), history=rows(sample(), 0, 2), mode="external", broker=Recorder()
        )


def test_pushed_rows_and_restores_take_only_what_fits(backend):
    bars = sample()
    session = Engine(backend=backend).session(BuyOnce(), symbols=["A", "B"])
    for name, value in (("open", [1 + 1j, 2]), ("close", [True, True])):
        row = {f: getattr(bars, f)[0] for f in FIELDS} | {name: np.array(value)}
        with pytest.raises(DataError, match=f"{name}: expected real numbers"):
            session.push("2024-01-02", *(row[f] for f in FIELDS))
    listed = rows(bars, 0, 1).with_market(listing_dates={"A": "2020-01-02"})
    with pytest.raises(ConfigError, match="bars: carries listing_dates"):
        session.push_bars(listed)
    push_row(session, bars, 0)
    final = session.end()
    with pytest.raises(ConfigError, match="broker: only an external session"):
        Session.restore(session.snapshot(), backend=backend, broker=Recorder())
    assert_same_result(final, Session.restore(session.snapshot(), backend=backend).result())


def test_a_session_is_refused_bad_settings_clearly(backend):
    engine = Engine(backend=backend)
    refused = [
        ({"symbols": ["A"], "mode": "live"}, "mode: 'live' is not one of"),
        ({"symbols": ["A"], "mode": "external"}, "broker: external mode needs a broker"),
        ({"symbols": ["A"], "broker": Recorder()}, "broker: only an external session"),
        ({}, "symbols: a session needs its symbols"),
        ({"symbols": []}, "symbols: expected a non-empty list of names"),
        ({"symbols": ["A", 3]}, "symbols: expected a non-empty list of names"),
        ({"symbols": ["A", "A"]}, "symbols: duplicated names"),
        ({"history": "bars.csv"}, "history: expected a quanta Bars panel"),
    ]
    for kwargs, message in refused:
        with pytest.raises(ConfigError, match=message):
            engine.session(BuyOnce(), **kwargs)
    with pytest.raises(ConfigError, match="strategy: expected a Strategy instance"):
        engine.session(object(), symbols=["A"])
    session = engine.session(BuyOnce(), symbols=["A", "B"])
    with pytest.raises(ConfigError, match="result: nothing pushed yet"):
        session.result()
    with pytest.raises(ConfigError, match="bars: expected a quanta Bars panel"):
        session.push_bars([1, 2])
    with pytest.raises(DataError, match=r"symbols: the bars have \['A'\], the session"):
        session.push_bars(rows(sample(), 0, 1).select(["A"]))
    with pytest.raises(DataError, match="timestamp"):
        session.push("not a date", 1, 1, 1, 1, 1)
