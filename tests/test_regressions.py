"""Named regression tests: each pins a bug found by review or by hypothesis."""

from __future__ import annotations

import numpy as np
import pytest

from quanta_ref import ConfigError, Engine, QuantaError
from support import Script, bars_from_rows, run

FLAT = (10.0, 10.0, 10.0, 10.0, 1e6)


def test_orders_accepted_together_cannot_pass_the_position_limit_together(backend: str) -> None:
    # ten buys of 100 accepted at once against max_position_quantity 300: only 3 fill
    bars = bars_from_rows([FLAT] * 3)
    result = run(backend, bars, {0: [lambda c: c.buy("X", 100)] * 10}, max_position_quantity=300.0)
    assert len(result.fills) == 3
    assert [o.reject_reason for o in result.orders[3:]] == ["max_position"] * 7


def test_a_short_cannot_grow_through_orders_accepted_as_reducing(backend: str) -> None:
    bars = bars_from_rows([FLAT] * 4)
    result = run(
        backend,
        bars,
        {0: lambda c: c.buy("X", 100), 1: [lambda c: c.sell("X", 100)] * 5},
        allow_short=True,
        max_position_quantity=100.0,
    )
    assert result.positions[0].quantity == -100.0


def test_target_order_is_not_sized_at_a_bar_where_it_cannot_trade(backend: str) -> None:
    # bar 1 has no volume: the 50 % target waits unsized and is sized at bar 2's open (20)
    rows = [FLAT, (10.0, 10.0, 10.0, 10.0, 0.0), (20.0, 20.0, 20.0, 20.0, 1e6)]
    result = run(
        backend,
        bars_from_rows(rows),
        {0: lambda c: c.order_target_percent("X", 0.5)},
        max_volume_fraction=1.0,
    )
    assert [(f.quantity, f.price) for f in result.fills] == [(2_500.0, 20.0)]


def test_all_in_with_more_lots_than_float_resolution_still_buys(backend: str) -> None:
    row = (1.339, 1.339, 1.339, 1.339, 1e20)
    result = run(
        backend,
        bars_from_rows([row] * 3),
        {0: lambda c: c.order_target_percent("X", 1.0)},
        initial_cash=6.96e9,
        fractional=True,
        lot_size=1e-8,
    )
    assert result.orders[0].status.value == "filled"
    assert result.cash[-1] >= 0.0 and result.cash[-1] < 1.0


def test_on_order_sees_the_partial_fill_even_if_on_fill_cancels(backend: str) -> None:
    class CancelOnFill(Script):
        def on_fill(self, ctx, fill):
            super().on_fill(ctx, fill)
            ctx.cancel(fill.order_id)

    rows = [FLAT, (10.0, 10.0, 10.0, 10.0, 100.0), FLAT]
    strategy = CancelOnFill({0: lambda c: c.buy("X", 50)})
    Engine(backend=backend, max_volume_fraction=0.1).run(bars_from_rows(rows), strategy)
    orders = [e for kind, e in strategy.events if kind == "order"]
    assert orders == [(1, "pending"), (1, "partially_filled"), (1, "cancelled")]


def test_no_phantom_trade_after_a_fractional_position_goes_flat(backend: str) -> None:
    bars = bars_from_rows([FLAT] * 6)
    result = run(
        backend,
        bars,
        {
            0: lambda c: c.buy("X", 0.7),
            1: lambda c: c.buy("X", 0.1),
            2: lambda c: c.order_target_quantity("X", 0.0),
            3: lambda c: c.buy("X", 1.0),
            4: lambda c: c.sell("X", 1.0),
        },
        fractional=True,
    )
    assert len(result.trades) == 3  # 0.7 and 0.1 closed, then 1.0 round trip


def test_a_tiny_sale_under_a_minimum_commission_cannot_make_cash_negative(backend: str) -> None:
    bars = bars_from_rows([(1.0, 1.0, 1.0, 1.0, 1e6)] * 4)
    result = run(
        backend,
        bars,
        {0: lambda c: c.order_target_percent("X", 1.0), 2: lambda c: c.sell("X", 1)},
        initial_cash=10.0,
        min_commission=5.0,
    )
    assert (result.cash >= 0.0).all()
    assert result.orders[1].reject_reason == "insufficient_cash"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.buy("X", 10**400),
        lambda c: c.order_target_percent("X", 10**400),
        lambda c: c.buy(["X"], 1),
        lambda c: c.signal("a", 1.0, symbol=["X"]),
    ],
)
def test_overflowing_or_unhashable_arguments_are_quanta_errors(backend: str, call) -> None:
    with pytest.raises(QuantaError):
        run(backend, bars_from_rows([FLAT] * 2), {0: call})


def test_huge_config_number_is_a_config_error() -> None:
    with pytest.raises(QuantaError, match="initial_cash"):
        Engine(initial_cash=10**400)


def test_participation_limit_on_data_without_volume_is_refused(backend: str) -> None:
    bars = bars_from_rows([(10.0, 10.0, 10.0, 10.0, 0.0)] * 2)
    with pytest.raises(QuantaError, match="max_volume_fraction"):
        run(backend, bars, {}, max_volume_fraction=0.5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.submit_order("X", "buy", 1, time_in_force=None), "time_in_force: None"),
        (lambda c: c.buy("X", 1, order_type=None), "order_type: None"),
        (lambda c: c.order_target_percent("X", 0.5, time_in_force=None), "time_in_force: None"),
        (lambda c: c.order_target_quantity("X", 5, time_in_force=None), "time_in_force: None"),
        (lambda c: c.history("X", None), "field: None"),
    ],
    ids=[
        "submit_tif",
        "buy_order_type",
        "target_percent_tif",
        "target_quantity_tif",
        "history_field",
    ],
)
def test_an_explicit_none_does_not_select_the_default(backend: str, call, message) -> None:
    # Found by the differential test: the Rust context first read None as "left out".
    with pytest.raises(QuantaError, match=message):
        run(backend, bars_from_rows([FLAT] * 2), {0: call})


@pytest.mark.parametrize("name", ["fill_at", "settlement"])
def test_an_array_as_a_text_setting_is_a_config_error(name: str) -> None:
    # numpy's truth test of `np.array([]) in (...)` raised a bare ValueError
    with pytest.raises(ConfigError, match=name):
        Engine(**{name: np.array([])})
