"""Hand-computed tests of docs/semantics.md section 22: one-cancels-other groups (`ctx.oco`)
and brackets (`ctx.bracket`), their events, their refusals, and sessions with them.

One symbol "X", daily bars, no costs, cash 100_000 unless a test says otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quanta_ref import Engine, OrderError, OrderStatus, OrderType, Strategy
from quanta_ref.api import BacktestResult, Context
from quanta_ref.engine import describe_bar
from quanta_ref.session import Session
from support import START, bars_from_rows

FLAT = (10.0, 10.2, 9.8, 10.0)  # reaches neither 9 nor 11


def snapshot(order: Any) -> tuple[Any, ...]:
    """What a test reads of an order event: id, status, quantity, filled, reason, group,
    parent."""
    return (
        order.order_id,
        order.status.value,
        order.quantity,
        order.filled_quantity,
        order.reject_reason,
        order.oco_group,
        order.parent_id,
    )


class Recorder(Strategy):
    """Runs `actions[t](ctx)` in `on_bar` at bar t; records every fill and order event, and
    the `OrderError` messages of the actions (an action that raises records its message)."""

    def __init__(self, actions: dict[int, list[Any]] | None = None) -> None:
        super().__init__()
        self.actions = actions or {}
        self.events: list[tuple[Any, ...]] = []
        self.errors: list[str] = []

    def on_bar(self, ctx: Context, bar: Any) -> None:
        for action in self.actions.get(ctx.bar_index, []):
            try:
                action(ctx)
            except OrderError as exc:
                self.errors.append(str(exc))

    def on_fill(self, ctx: Context, fill: Any) -> None:
        self.events.append(("fill", fill.order_id, fill.side.value, fill.quantity, fill.price))

    def on_order(self, ctx: Context, order: Any) -> None:
        self.events.append(("order", *snapshot(order)))


def run(
    backend: str, rows: list[Any], actions: dict[int, list[Any]], **settings: Any
) -> tuple[BacktestResult, Recorder]:
    settings.setdefault("initial_cash", 100_000.0)
    strategy = Recorder(actions)
    return Engine(backend=backend, **settings).run(bars_from_rows(rows), strategy), strategy


def final(result: BacktestResult) -> list[tuple[Any, ...]]:
    return [snapshot(o) for o in result.orders]


def buy_bracket(ctx: Context) -> int:
    return ctx.bracket("X", "buy", 100, stop_loss=9.0, take_profit=11.0)


# ======================================================================= brackets
def test_bracket_take_profit_fills_and_the_group_cancels_the_stop(backend: str) -> None:
    # Bar 1: the entry fills at the open 10; its own bar reaches 11.5 but the exits (made
    # during the fill) trade from bar 2 only. Bar 2 (10.5, 11.5, 10.4): the stop 9 (older,
    # matched first) is not reached; the limit 11 is (open 10.5 < 11 <= high): sold at 11.
    rows = [FLAT, (10.0, 11.5, 9.8, 11.2), (10.5, 11.5, 10.4, 11.2), FLAT]
    result, strategy = run(backend, rows, {0: [buy_bracket]})
    assert strategy.events == [
        ("order", 1, "pending", 100.0, 0.0, None, None, None),
        ("fill", 1, "buy", 100.0, 10.0),
        ("order", 1, "filled", 100.0, 100.0, None, None, None),
        ("order", 2, "pending", 100.0, 0.0, None, 1, 1),  # the stop-loss first, in group 1
        ("order", 3, "pending", 100.0, 0.0, None, 1, 1),
        ("fill", 3, "sell", 100.0, 11.0),
        ("order", 3, "filled", 100.0, 100.0, None, 1, 1),
        ("order", 2, "cancelled", 100.0, 0.0, "oco", 1, 1),
    ]
    stop, limit = result.orders[1], result.orders[2]
    assert (stop.order_type.value, stop.side.value, stop.stop_price) == ("stop", "sell", 9.0)
    assert (limit.order_type.value, limit.side.value, limit.limit_price) == ("limit", "sell", 11.0)
    assert [t.pnl for t in result.trades] == [100.0]  # (11 - 10) x 100
    assert result.cash[-1] == 100_000.0 - 1_000.0 + 1_100.0


def test_bracket_stop_loss_fills_and_the_group_cancels_the_take_profit(backend: str) -> None:
    # Bar 2 (9.5, 9.6, 8.5): the stop 9 is reached inside the bar: sold at 9
    rows = [FLAT, FLAT, (9.5, 9.6, 8.5, 9.0), FLAT]
    result, _ = run(backend, rows, {0: [buy_bracket]})
    assert [(f.order_id, f.price) for f in result.fills] == [(1, 10.0), (2, 9.0)]
    assert final(result)[1:] == [
        (2, "filled", 100.0, 100.0, None, 1, 1),
        (3, "cancelled", 100.0, 0.0, "oco", 1, 1),
    ]
    assert [t.pnl for t in result.trades] == [-100.0]


def test_both_levels_inside_one_bar_take_the_stop_loss(backend: str) -> None:
    # Bar 2 (10, 11.5, 8.5) reaches 9 and 11: the stop-loss is the older order, matched first
    rows = [FLAT, FLAT, (10.0, 11.5, 8.5, 10.0), FLAT]
    result, _ = run(backend, rows, {0: [buy_bracket]})
    assert [(f.order_id, f.price) for f in result.fills] == [(1, 10.0), (2, 9.0)]
    assert result.orders[2].status is OrderStatus.CANCELLED
    assert result.orders[2].reject_reason == "oco"


def test_a_partly_filled_entry_makes_exits_of_its_first_fill_then_grows_them(
    backend: str,
) -> None:
    # max_volume_fraction 0.1. Bar 1 (volume 600): 60 of the 100 fill; exits of 60. Bar 2
    # (volume 1_000): the other 40 fill and each live exit grows to 100 (an order event
    # each). Bar 3 reaches the take-profit: all 100 sold at 11.
    rows = [FLAT, (*FLAT, 600.0), (*FLAT, 1_000.0), (10.5, 11.5, 10.4, 11.2)]
    result, strategy = run(backend, rows, {0: [buy_bracket]}, max_volume_fraction=0.1)
    assert strategy.events == [
        ("order", 1, "pending", 100.0, 0.0, None, None, None),
        ("fill", 1, "buy", 60.0, 10.0),
        ("order", 1, "partially_filled", 100.0, 60.0, None, None, None),
        ("order", 2, "pending", 60.0, 0.0, None, 1, 1),
        ("order", 3, "pending", 60.0, 0.0, None, 1, 1),
        ("fill", 1, "buy", 40.0, 10.0),
        ("order", 1, "filled", 100.0, 100.0, None, None, None),
        ("order", 2, "pending", 100.0, 0.0, None, 1, 1),
        ("order", 3, "pending", 100.0, 0.0, None, 1, 1),
        ("fill", 3, "sell", 100.0, 11.0),
        ("order", 3, "filled", 100.0, 100.0, None, 1, 1),
        ("order", 2, "cancelled", 100.0, 0.0, "oco", 1, 1),
    ]
    assert len(result.orders) == 3


def test_a_sell_bracket_mirrors_a_buy(backend: str) -> None:
    # Short 100 at 10 (margin account): a buy stop at 11 above, a buy limit at 9 below. Bar 2
    # (9.5, 9.6, 8.5): the limit is reached, bought back at 9; the stop is cancelled.
    rows = [FLAT, FLAT, (9.5, 9.6, 8.5, 9.0), FLAT]

    def sell_bracket(ctx: Context) -> int:
        return ctx.bracket("X", "sell", 100, stop_loss=11.0, take_profit=9.0)

    result, _ = run(backend, rows, {0: [sell_bracket]}, allow_short=True)
    stop, limit = result.orders[1], result.orders[2]
    assert (stop.side.value, stop.order_type.value, stop.stop_price) == ("buy", "stop", 11.0)
    assert (limit.side.value, limit.order_type.value, limit.limit_price) == ("buy", "limit", 9.0)
    assert [(f.order_id, f.side.value, f.price) for f in result.fills] == [
        (1, "sell", 10.0),
        (3, "buy", 9.0),
    ]
    assert (stop.status, stop.reject_reason) == (OrderStatus.CANCELLED, "oco")
    assert result.cash[-1] == 100_000.0 + 1_000.0 - 900.0
    assert [t.pnl for t in result.trades] == [100.0]


def test_an_entry_that_never_fills_makes_no_exits(backend: str) -> None:
    # A buy limit at 5 is never reached; a second bracket's entry is cancelled before its fill
    def limit_entry(ctx: Context) -> int:
        return ctx.bracket("X", "buy", 100, "limit", limit_price=5.0, take_profit=11.0)

    def cancelled_entry(ctx: Context) -> int:
        return ctx.bracket("X", "buy", 100, stop_loss=9.0)

    rows = [FLAT] * 4
    result, _ = run(backend, rows, {0: [limit_entry, cancelled_entry, lambda ctx: ctx.cancel(2)]})
    assert final(result) == [
        (1, "pending", 100.0, 0.0, None, None, None),
        (2, "cancelled", 100.0, 0.0, None, None, None),
    ]
    assert result.fills == []


def test_a_bracket_with_only_a_stop_loss_makes_one_exit_and_no_group(backend: str) -> None:
    rows = [FLAT, FLAT, (9.5, 9.6, 8.5, 9.0)]
    result, _ = run(backend, rows, {0: [lambda ctx: ctx.bracket("X", "buy", 100, stop_loss=9.0)]})
    assert final(result) == [
        (1, "filled", 100.0, 100.0, None, None, None),
        (2, "filled", 100.0, 100.0, None, None, 1),
    ]


# ======================================================================= groups
def two_limits(ctx: Context) -> None:
    """Buy limits at 9.9 (order 1) and 9.0 (order 2), grouped."""
    first = ctx.buy("X", 100, "limit", limit_price=9.9)
    second = ctx.buy("X", 100, "limit", limit_price=9.0)
    assert ctx.oco([first, second]) == 1
    assert (ctx.get_order(first).oco_group, ctx.get_order(second).oco_group) == (1, 1)


def test_an_oco_group_cancels_the_others_when_one_fills(backend: str) -> None:
    # Bar 1 (10, 10.2, 9.8): the limit 9.9 fills at 9.9; the limit 9.0 is cancelled with it
    result, strategy = run(backend, [FLAT, FLAT, (9.0, 9.0, 8.0, 8.5)], {0: [two_limits]})
    assert strategy.events[2:] == [
        ("fill", 1, "buy", 100.0, 9.9),
        ("order", 1, "filled", 100.0, 100.0, None, 1, None),
        ("order", 2, "cancelled", 100.0, 0.0, "oco", 1, None),
    ]
    assert len(result.fills) == 1  # bar 2 would have filled order 2


def test_cancelling_a_member_cancels_the_others(backend: str) -> None:
    rows = [FLAT] * 3
    _, strategy = run(backend, rows, {0: [two_limits, lambda ctx: ctx.cancel(1)]})
    assert strategy.events[2:] == [
        ("order", 1, "cancelled", 100.0, 0.0, None, 1, None),
        ("order", 2, "cancelled", 100.0, 0.0, "oco", 1, None),
    ]


def test_an_expired_day_member_cancels_the_others(backend: str) -> None:
    # A DAY limit at 5 expires at bar 2 (a new day); its GTC partner goes with it
    def grouped(ctx: Context) -> None:
        day = ctx.buy("X", 1, "limit", limit_price=5.0, time_in_force="day")
        gtc = ctx.buy("X", 1, "limit", limit_price=5.0)
        ctx.oco([day, gtc])

    result, _ = run(backend, [FLAT] * 3, {0: [grouped]})
    assert [(o.status.value, o.reject_reason) for o in result.orders] == [
        ("expired", "expired"),
        ("cancelled", "oco"),
    ]


def test_bad_groups_and_brackets_are_refused_naming_the_field(backend: str) -> None:
    where = describe_bar(0, int(START))
    sym = f"symbol 'X', {where}"
    # A bracket's entry is any order type but a trailing stop: the message lists those.
    kinds = ", ".join(repr(kind.value) for kind in OrderType if kind is not OrderType.TRAILING_STOP)

    def attempts(ctx: Context) -> None:
        ctx.buy("X", 1, "limit", limit_price=5.0)  # 1
        ctx.buy("X", 1, "limit", limit_price=5.0)  # 2
        ctx.buy("X", 1, "limit", limit_price=5.0)  # 3
        ctx.cancel(3)
        for ids in ([1], (1, 7), [1, 1], [1, 3], 5, [1, True]):
            try:
                ctx.oco(ids)
            except OrderError as exc:
                strategy.errors.append(str(exc))
        ctx.oco([1, 2])
        for ids in ([2, 1], [4, 2]):
            try:
                ctx.oco(ids)
            except OrderError as exc:
                strategy.errors.append(str(exc))
        ctx.bracket("X", "buy", 1, stop_loss=11.0, take_profit=11.0)

    def more(ctx: Context) -> None:
        ctx.bracket("X", "sell", 1, stop_loss=9.0, take_profit=11.0)

    def nothing(ctx: Context) -> None:
        ctx.bracket("X", "buy", 1)

    def bad_level(ctx: Context) -> None:
        ctx.bracket("X", "buy", 1, take_profit=-1.0)

    def bad_entry(ctx: Context) -> None:
        ctx.bracket("X", "buy", 1, "trailing", stop_loss=9.0)

    strategy = Recorder({0: [attempts, more, nothing, bad_level, bad_entry]})
    result = Engine(backend=backend, initial_cash=100_000.0).run(
        bars_from_rows([FLAT] * 2), strategy
    )
    assert strategy.errors == [
        f"order_ids: a one-cancels-other group needs two or more orders, got 1 ({where})",
        f"order_ids: no order 7 ({where})",
        f"order_ids: order 1 is given twice ({where})",
        f"order_ids: order 3 is cancelled, not live; only live orders form a one-cancels-other "
        f"group ({where})",
        f"order_ids: expected a list or tuple of order ids, got 5 ({where})",
        f"order_ids: no order True ({where})",
        f"order_ids: order 2 is already in one-cancels-other group 1 ({where})",
        f"order_ids: no order 4 ({where})",
        f"stop_loss: must be below take_profit for a buy bracket, got stop_loss=11.0 and "
        f"take_profit=11.0 ({sym})",
        f"stop_loss: must be above take_profit for a sell bracket, got stop_loss=9.0 and "
        f"take_profit=11.0 ({sym})",
        f"stop_loss, take_profit: a bracket needs one or both ({sym})",
        f"take_profit: must be a finite number > 0, got -1.0 ({sym})",
        f"entry: 'trailing' is not one of {kinds} ({sym})",
    ]
    # Nothing changed: three orders, one group of two, order 1 and 2 only in it.
    assert [(o.order_id, o.oco_group) for o in result.orders] == [(1, 1), (2, 1), (3, None)]


# ======================================================================= sessions
class BracketTrader(Strategy):
    """A bracket at bar 0 and a group of two limits at bar 1 (what a session replays)."""

    def on_bar(self, ctx: Context, bar: Any) -> None:
        if ctx.bar_index == 0:
            ctx.bracket("X", "buy", 100, stop_loss=9.0, take_profit=11.0)
        elif ctx.bar_index == 1:
            ctx.oco([ctx.buy("X", 10, "limit", limit_price=9.5), ctx.buy("X", 10, "limit", 9.7)])


SESSION_ROWS = [FLAT, FLAT, (9.6, 10.5, 9.6, 10.0), (10.5, 11.5, 10.4, 11.2), FLAT]


def outcome(result: BacktestResult) -> tuple[Any, ...]:
    return (
        final(result),
        [tuple(vars(f).values()) for f in result.fills],
        result.equity.tobytes(),
        result.cash.tobytes(),
    )


def push_all(session: Session, bars: Any, start: int, stop: int) -> None:
    for i in range(start, stop):
        row = (getattr(bars, f)[i] for f in ("open", "high", "low", "close", "volume"))
        session.push(np.datetime64(int(bars.timestamps[i]), "ns"), *row)


def test_a_paper_session_with_groups_and_brackets_is_the_batch_run(backend: str) -> None:
    bars = bars_from_rows(SESSION_ROWS)
    batch = Engine(backend=backend).run(bars, BracketTrader())
    # bar 2 fills the 9.7 limit (order 5) and cancels its partner; bar 3 the take-profit
    assert final(batch)[3:] == [
        (4, "cancelled", 10.0, 0.0, "oco", 2, None),
        (5, "filled", 10.0, 10.0, None, 2, None),
    ]
    assert final(batch)[2][1] == "filled"
    session = Engine(backend=backend).session(BracketTrader(), symbols=["X"])
    push_all(session, bars, 0, 2)
    snapshot = session.snapshot()
    push_all(session, bars, 2, len(SESSION_ROWS))
    assert outcome(session.end()) == outcome(batch)
    # Restored from the snapshot (on either backend), the replay makes the same group and
    # bracket again, and the rest of the run is the batch's.
    for restored_on in ("python", "rust"):
        restored = Session.restore(snapshot, backend=restored_on)
        push_all(restored, bars, 2, len(SESSION_ROWS))
        assert outcome(restored.end()) == outcome(batch)


class ExternalBroker:
    def submit(self, order: Any) -> None:
        pass

    def cancel(self, order_id: int) -> None:
        pass


def test_an_external_session_refuses_groups_and_brackets(backend: str) -> None:
    session = Engine(backend=backend).session(
        Strategy(), symbols=["X"], mode="external", broker=ExternalBroker()
    )
    push_all(session, bars_from_rows([FLAT]), 0, 1)
    first = session.ctx.buy("X", 1, "limit", limit_price=5.0)
    second = session.ctx.buy("X", 1, "limit", limit_price=5.0)
    with pytest.raises(OrderError, match="^oco: an external session's broker manages"):
        session.ctx.oco([first, second])
    with pytest.raises(OrderError, match="^bracket: an external session's broker manages"):
        session.ctx.bracket("X", "buy", 1, stop_loss=9.0)
    assert [o.oco_group for o in session.result().orders] == [None, None]


def test_a_member_the_engine_rejects_at_its_fill_leaves_the_group_as_it_is(
    backend: str,
) -> None:
    # Cash 8.5, minimum commission 5: the buy of 1 at 1.0 leaves 2.5. At bar 2 the sell limit
    # 1.0 would bring 1.0 and cost 5.0: REJECTED (insufficient_cash) at its fill, nothing
    # filled; its partner, the sell limit 3.0, still protects the holding and stays live.
    rows = [(1.0, 1.02, 0.98, 1.0)] * 3

    def grouped(ctx: Context) -> None:
        ctx.oco([ctx.sell("X", 1, "limit", limit_price=1.0), ctx.sell("X", 1, "limit", 3.0)])

    result, _ = run(
        backend,
        rows,
        {0: [lambda ctx: ctx.buy("X", 1)], 1: [grouped]},
        initial_cash=8.5,
        min_commission=5.0,
    )
    assert final(result) == [
        (1, "filled", 1.0, 1.0, None, None, None),
        (2, "rejected", 1.0, 0.0, "insufficient_cash", 1, None),
        (3, "pending", 1.0, 0.0, None, 1, None),
    ]


def test_a_gtd_member_expiring_cancels_its_group_and_the_scan_goes_on(backend: str) -> None:
    # Orders 2 and 3 are GTD to bar 0's timestamp: both expire at bar 1, before its open
    # phase; order 2 takes its partner, the older order 1, with it.
    def orders(ctx: Context) -> None:
        gtc = ctx.buy("X", 1, "limit", limit_price=5.0)
        gtd = ctx.buy("X", 1, "limit", limit_price=5.0, time_in_force="gtd", expire_at=ctx.now)
        ctx.buy("X", 1, "limit", limit_price=5.0, time_in_force="gtd", expire_at=ctx.now)
        ctx.oco([gtc, gtd])

    _, strategy = run(backend, [FLAT] * 3, {0: [orders]})
    assert strategy.events[3:] == [
        ("order", 2, "expired", 1.0, 0.0, "expired", 1, None),
        ("order", 1, "cancelled", 1.0, 0.0, "oco", 1, None),
        ("order", 3, "expired", 1.0, 0.0, "expired", None, None),
    ]


def test_a_bracket_entry_takes_any_time_in_force_but_is_no_trailing_stop(backend: str) -> None:
    # A GTD limit entry that expires unfilled makes no exit; a trailing-stop entry is refused.
    def brackets(ctx: Context) -> None:
        ctx.bracket(
            "X", "buy", 100, "limit", limit_price=5.0, stop_loss=4.0, take_profit=6.0,
            time_in_force="gtd", expire_at=ctx.now,
        )  # fmt: skip
        ctx.bracket("X", "buy", 100, "trailing_stop", stop_loss=4.0)

    result, strategy = run(backend, [FLAT] * 3, {0: [brackets]})
    assert final(result) == [(1, "expired", 100.0, 0.0, "expired", None, None)]
    assert strategy.errors == [
        "entry: a bracket's entry is a market, limit, stop or stop_limit order, got "
        f"'trailing_stop' (symbol 'X', {describe_bar(0, int(START))})"
    ]
