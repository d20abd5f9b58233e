"""Hand-computed tests of docs/semantics.md section 21: the times in force IOC, FOK and GTD,
and trailing stops, on both backends."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quanta_ref import OrderError, OrderStatus
from quanta_ref.api import BacktestResult, Context
from support import DAY, START, bars_from_rows, run, run_script

HOURS_8 = 8 * 3600 * 10**9  # three bars a day: 00:00, 08:00, 16:00

# (open, high, low, close, volume): 1_000 shares a bar, so a 10 % participation is 100.
ROWS = [
    (10.0, 11.0, 9.0, 10.5, 1_000.0),
    (12.0, 13.0, 11.0, 12.5, 1_000.0),
    (14.0, 15.0, 13.0, 14.0, 1_000.0),
    (14.0, 15.0, 13.0, 14.0, 1_000.0),
]


def state(result: BacktestResult, order_id: int = 1) -> tuple[str, float, str | None]:
    order = result.orders[order_id - 1]
    return order.status.value, order.filled_quantity, order.reject_reason


def order_events(script: Any) -> list[tuple[int, str]]:
    return [e for kind, e in script.events if kind == "order"]


# =============================================================== IOC
def test_ioc_partial_fill_under_the_participation_limit_cancels_the_rest(backend: str) -> None:
    result, script = run_script(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 300, time_in_force="ioc")},
        max_volume_fraction=0.1,
    )
    # Bar 1: 10 % of 1_000 = 100 fill at the open, 12.0; the other 200 end with the attempt.
    assert state(result) == ("cancelled", 100.0, "time_in_force")
    assert [(f.quantity, f.price) for f in result.fills] == [(100.0, 12.0)]
    assert order_events(script) == [
        (1, "pending"),
        (1, "partially_filled"),
        (1, "cancelled"),
    ]
    assert result.rejections == {}  # cancelled, not rejected: nobody refused it


def test_ioc_limit_that_does_not_reach_its_price_is_cancelled_at_its_first_bar(
    backend: str,
) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 100, "limit", limit_price=9.0, time_in_force="ioc")},
    )
    assert state(result) == ("cancelled", 0.0, "time_in_force")
    assert result.fills == []


def test_ioc_whose_symbol_is_suspended_on_its_first_eligible_row_is_cancelled(
    backend: str,
) -> None:
    rows = {"A": ROWS, "X": [ROWS[0], None, ROWS[2], ROWS[3]]}
    result, script = run_script(
        backend, bars_from_rows(rows), {0: lambda ctx: ctx.buy("X", 100, time_in_force="ioc")}
    )
    assert state(result) == ("cancelled", 0.0, "time_in_force")
    assert result.fills == []
    # Cancelled in bar 1's open phase, before the strategy sees bar 1.
    events = script.events
    assert events.index(("order", (1, "cancelled"))) < events.index(("bar", ("A", 1)))


def test_ioc_market_order_in_close_mode_has_its_one_chance_at_that_close(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 300, time_in_force="ioc")},
        fill_at="close",
        max_volume_fraction=0.1,
    )
    assert state(result) == ("cancelled", 100.0, "time_in_force")
    assert [(f.timestamp, f.price) for f in result.fills] == [(int(START), 10.5)]


def test_ioc_ended_by_the_cash_keeps_its_own_reason(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 100, time_in_force="ioc")},
        initial_cash=1_000.0,
    )
    # 1_000 / 12 buys 83 shares; the rest is cancelled for the cash, at the fill.
    assert state(result) == ("cancelled", 83.0, "insufficient_cash")


# =============================================================== FOK
def test_fok_the_participation_limit_would_cut_is_cancelled_with_nothing_booked(
    backend: str,
) -> None:
    result, script = run_script(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 300, time_in_force="fok")},
        max_volume_fraction=0.1,
    )
    assert state(result) == ("cancelled", 0.0, "time_in_force")
    assert result.fills == []
    assert list(result.cash) == [100_000.0] * 4
    assert order_events(script) == [(1, "pending"), (1, "cancelled")]


def test_fok_the_cash_would_cut_is_cancelled_with_nothing_booked(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 100, time_in_force="fok")},
        initial_cash=1_000.0,
    )
    assert state(result) == ("cancelled", 0.0, "time_in_force")
    assert result.fills == []
    assert result.rejections == {}


def test_fok_that_fits_fills_whole(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.buy("X", 100, time_in_force="fok")},
        max_volume_fraction=0.1,
        commission_rate=0.001,
    )
    assert state(result) == ("filled", 100.0, None)
    assert [(f.quantity, f.price, f.commission) for f in result.fills] == [
        (100.0, 12.0, 1_200.0 * 0.001)
    ]
    assert result.cash[1] == 100_000.0 - 1_200.0 - 1_200.0 * 0.001


def test_fok_target_order_is_sized_first_then_must_fill_whole(backend: str) -> None:
    # All in at 12.0 with 1_000 cash: 83 shares, which the cash pays whole: filled.
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.order_target_percent("X", 1.0, time_in_force="fok")},
        initial_cash=1_000.0,
    )
    assert state(result) == ("filled", 83.0, None)
    # A target of 300 under a 100-share participation is cut: nothing booked.
    result = run(
        backend,
        bars_from_rows(ROWS),
        {0: lambda ctx: ctx.order_target_quantity("X", 300, time_in_force="fok")},
        max_volume_fraction=0.1,
    )
    assert state(result) == ("cancelled", 0.0, "time_in_force")


# =============================================================== GTD
def low_on(bar: int) -> list[tuple[float, ...]]:
    """Five daily bars whose low reaches 9.0 only at `bar` (a buy limit at 9.5 fills there)."""
    rows = [(10.0, 10.5, 9.8, 10.0)] * 5
    rows[bar] = (10.0, 10.5, 9.0, 10.0)
    return rows


def test_gtd_lives_through_the_bar_stamped_at_expire_at(backend: str) -> None:
    expire = int(START) + 2 * DAY  # bar 2's timestamp
    buy = {0: lambda ctx: ctx.buy("X", 100, "limit", 9.5, time_in_force="gtd", expire_at=expire)}
    result = run(backend, bars_from_rows(low_on(2)), buy)
    assert state(result) == ("filled", 100.0, None)
    assert result.fills[0].timestamp == expire
    assert result.orders[0].expire_at == expire


def test_gtd_expires_at_the_first_bar_after_expire_at(backend: str) -> None:
    expire = int(START) + 2 * DAY
    buy = {0: lambda ctx: ctx.buy("X", 100, "limit", 9.5, time_in_force="gtd", expire_at=expire)}
    result, script = run_script(backend, bars_from_rows(low_on(3)), buy)
    assert state(result) == ("expired", 0.0, "expired")
    assert result.fills == []
    # Expired at bar 3's new-day step, before its open phase (whose low would have filled it).
    events = script.events
    assert events.index(("order", (1, "expired"))) == events.index(("bar", ("X", 2))) + 1


def test_gtd_with_a_date_keeps_the_whole_day_with_intraday_bars(backend: str) -> None:
    # Three bars a day; the order is made at 00:00 of 2024-01-01 and may trade through 16:00.
    bars = bars_from_rows([(10.0, 10.5, 9.8, 10.0)] * 6, step=HOURS_8)
    orders = {
        0: [
            lambda ctx: ctx.buy("X", 1, "limit", 5.0, time_in_force="gtd", expire_at="2024-01-01"),
            lambda ctx: ctx.buy(
                "X", 1, "limit", 5.0, time_in_force="gtd", expire_at=np.datetime64("2024-01-01")
            ),
            lambda ctx: ctx.buy(
                "X", 1, "limit", 5.0, time_in_force="gtd", expire_at="2024-01-01T08:00"
            ),
        ]
    }
    expired_at: dict[int, int] = {}

    def watch(ctx: Context) -> None:
        for order_id in (1, 2, 3):
            order = ctx.get_order(order_id)
            if order.status is OrderStatus.EXPIRED and order_id not in expired_at:
                expired_at[order_id] = ctx.bar_index

    actions: dict[int, Any] = {t: watch for t in range(1, 6)}
    actions[0] = orders[0]
    result = run(backend, bars, actions)
    last_instant = int(START) + DAY - 1
    assert [o.expire_at for o in result.orders] == [
        last_instant,
        last_instant,
        int(START) + HOURS_8,
    ]
    # A date: expired at bar 3 (2024-01-02 00:00); 08:00: expired at bar 2 (16:00).
    assert expired_at == {1: 3, 2: 3, 3: 2}
    assert [o.reject_reason for o in result.orders] == ["expired"] * 3


# =============================================================== trailing stops
# Long 100 bought at bar 1's open (10.0); the trailing sell is made in bar 1's on_bar.
TRAIL_ROWS = [
    (10.0, 10.0, 10.0, 10.0),
    (10.0, 11.0, 10.0, 10.0),
    (10.5, 12.5, 10.2, 12.0),  # the close rises: the stop follows
    (11.5, 11.8, 11.05, 11.2),  # the close falls: the stop stays
]


def trail_run(
    backend: str, last_bar: tuple[float, ...], side: str, **trail: float
) -> tuple[BacktestResult, list[float | None]]:
    """Open a position at bar 1 (long for a sell stop, short for a buy stop), make the
    trailing stop that closes it in bar 1's on_bar, and note its level at every later bar."""
    levels: list[float | None] = []
    opening = "sell" if side == "buy" else "buy"
    rows = TRAIL_ROWS if side == "sell" else MIRROR_ROWS

    def submit(ctx: Context) -> int:
        return ctx.submit_order("X", side, 100, "trailing_stop", **trail)

    def note(ctx: Context) -> None:
        levels.append(ctx.get_order(2).stop_price)

    actions: dict[int, Any] = {
        0: lambda ctx: ctx.submit_order("X", opening, 100),
        1: [submit, note],
        2: note,
        3: note,
    }
    result = run(
        backend,
        bars_from_rows([*rows, last_bar]),
        actions,
        slippage_bps=10.0,
        allow_short=side == "buy",
    )
    return result, levels


def test_trailing_sell_stop_by_percent_follows_the_closes_up_and_triggers_in_the_bar(
    backend: str,
) -> None:
    # Bar 4 opens above the stop and its low reaches it: a stop fill at the level, slipped.
    result, levels = trail_run(backend, (11.0, 11.1, 10.5, 10.6), "sell", trail_percent=0.1)
    up = 12.0 * (1.0 - 0.1)
    assert levels == [10.0 * (1.0 - 0.1), up, up]  # 11.2 x 0.9 = 10.08 is below: it stays
    assert state(result, 2) == ("filled", 100.0, None)
    fill = result.fills[-1]
    assert (fill.timestamp, fill.price) == (int(START) + 4 * DAY, up * (1.0 - 0.001))
    assert result.orders[1].stop_price == up
    assert result.orders[1].trail_percent == 0.1 and result.orders[1].trail_amount is None


def test_trailing_sell_stop_by_amount_triggers_at_an_open_gap(backend: str) -> None:
    # Bar 4 opens at 10.5, below the stop 11.0: triggered at the open, filled there, slipped.
    result, levels = trail_run(backend, (10.5, 10.8, 10.0, 10.2), "sell", trail_amount=1.0)
    assert levels == [9.0, 11.0, 11.0]  # 11.2 - 1 = 10.2 is below 11.0: it stays
    fill = result.fills[-1]
    assert (fill.side.value, fill.price) == ("sell", 10.5 * (1.0 - 0.001))
    assert state(result, 2) == ("filled", 100.0, None)


def test_trailing_stop_moves_make_no_order_events(backend: str) -> None:
    levels: list[float | None] = []
    result, script = run_script(
        backend,
        bars_from_rows([*TRAIL_ROWS, (11.0, 11.1, 10.5, 10.6)]),
        {
            0: lambda ctx: ctx.buy("X", 100),
            1: lambda ctx: ctx.sell("X", 100, "trailing_stop", trail_amount=1.0),
            3: lambda ctx: levels.append(ctx.get_order(2).stop_price),
        },
    )
    assert levels == [11.0]
    assert [e for e in order_events(script) if e[0] == 2] == [(2, "pending"), (2, "filled")]


# Short 100 sold at bar 1's open (10.0); the trailing buy is made in bar 1's on_bar.
MIRROR_ROWS = [
    (10.0, 10.0, 10.0, 10.0),
    (10.0, 10.0, 9.0, 10.0),
    (9.5, 9.8, 7.5, 8.0),  # the close falls: the stop follows down
    (8.5, 8.9, 8.2, 8.6),  # the close rises: the stop stays
]


@pytest.mark.parametrize(
    ("trail", "first", "level"),
    [({"trail_amount": 1.0}, 11.0, 9.0), ({"trail_percent": 0.1}, 10.0 * 1.1, 8.0 * 1.1)],
)
def test_trailing_buy_stop_covering_a_short_mirrors_the_sell(
    backend: str, trail: dict[str, float], first: float, level: float
) -> None:
    # Bar 4 opens below the stop and its high reaches it: filled at the level, slipped up.
    result, levels = trail_run(backend, (8.7, 9.5, 8.6, 9.2), "buy", **trail)
    assert levels == [first, level, level]
    fill = result.fills[-1]
    assert (fill.side.value, fill.price) == ("buy", level * (1.0 + 0.001))
    assert result.positions[0].quantity == 0.0


def test_trailing_stop_without_a_close_yet_is_rejected_no_price(backend: str) -> None:
    result = run(
        backend,
        bars_from_rows(ROWS),
        {-1: lambda ctx: ctx.buy("X", 100, "trailing_stop", trail_amount=1.0)},
    )
    assert state(result) == ("rejected", 0.0, "no_price")
    assert result.orders[0].stop_price is None


# =============================================================== bad keywords
WHERE = "(symbol 'X', bar 0 (2024-01-01T00:00:00.000000000))"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda ctx: ctx.buy("X", 1, time_in_force="gtd"),
            f"expire_at: required for a gtd order {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, expire_at="2024-02-01"),
            f"expire_at: not used by a gtc order {WHERE}",
        ),
        (
            lambda ctx: ctx.order_target_percent("X", 0.5, "ioc", "2024-02-01"),
            f"expire_at: not used by a ioc order {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, time_in_force="gtd", expire_at="2023-12-31"),
            "expire_at: 2023-12-31T23:59:59.999999999 is before the current bar; the order "
            f"would expire before it could trade {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, "trailing_stop"),
            f"trail_amount: a trailing_stop order needs trail_amount or trail_percent {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, "trailing_stop", trail_amount=1.0, trail_percent=0.1),
            "trail_percent: a trailing_stop order takes trail_amount or trail_percent, not "
            f"both {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, "trailing_stop", trail_percent=1.0),
            f"trail_percent: must be a fraction between 0 and 1, got 1.0 {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, "trailing_stop", trail_amount=-1.0),
            f"trail_amount: must be a finite number > 0, got -1.0 {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, "limit", 9.0, trail_amount=1.0),
            f"trail_amount: not used by a limit order {WHERE}",
        ),
        (
            lambda ctx: ctx.buy("X", 1, "trailing_stop", stop_price=9.0, trail_amount=1.0),
            f"stop_price: not used by a trailing_stop order {WHERE}",
        ),
        (
            lambda ctx: ctx.sell("X", 1, "trailing_stop", trail_amount=20.0),
            "trail_amount: 20.0 from the last close 10.5 puts the stop at -9.5, not a price > 0 "
            f"{WHERE}",
        ),
    ],
)
def test_bad_time_in_force_and_trail_keywords_are_order_errors_naming_the_field(
    backend: str, call: Any, message: str
) -> None:
    with pytest.raises(OrderError) as caught:
        run(backend, bars_from_rows(ROWS), {0: call}, allow_short=True)
    assert str(caught.value) == message


def test_an_unreadable_expire_at_is_an_order_error_naming_it(backend: str) -> None:
    call = {0: lambda ctx: ctx.buy("X", 1, time_in_force="gtd", expire_at="soon")}
    with pytest.raises(OrderError, match=r"^expire_at: .*\(symbol 'X', bar 0 ") as caught:
        run(backend, bars_from_rows(ROWS), call)
    assert "soon" in str(caught.value)


def test_orders_frame_shows_expire_at_and_the_trail(backend: str) -> None:
    pd = pytest.importorskip("pandas")
    result = run(
        backend,
        bars_from_rows(ROWS),
        {
            0: [
                lambda ctx: ctx.buy(
                    "X", 1, "limit", 5.0, time_in_force="gtd", expire_at="2024-01-02"
                ),
                lambda ctx: ctx.sell("X", 1, "trailing_stop", trail_percent=0.1),
            ]
        },
        allow_short=True,
    )
    frame = result.orders_frame()
    assert str(frame["expire_at"].dtype) == "datetime64[ns]"
    assert frame["expire_at"][0] == pd.Timestamp("2024-01-02T23:59:59.999999999")
    assert pd.isna(frame["expire_at"][1])
    assert pd.isna(frame["trail_amount"]).all()
    assert pd.isna(frame["trail_percent"][0]) and frame["trail_percent"][1] == 0.1
