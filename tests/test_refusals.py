"""Every refusal docs/semantics.md writes down that no other test showed on both backends:
the settings of section 10, the order calls of section 5, the data of section 7.2, and the
argument checks of section 15 (the same class and message on both)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from quanta_ref import ConfigError, Engine, OrderError, QuantaError
from quanta_ref.api import Context
from support import Script, bars_from_rows, run

ROWS = [(10.0, 11.0, 9.0, 10.5), (12.0, 13.0, 11.0, 12.5), (14.0, 15.0, 13.0, 14.0)]


def error_of(call: Callable[[], Any]) -> QuantaError:
    with pytest.raises(QuantaError) as info:
        call()
    return info.value


def order_error(backend: str, action: Callable[[Context], Any]) -> str:
    """The message of the OrderError `action(ctx)` raises at bar 0 on `backend`."""
    error = error_of(lambda: run(backend, bars_from_rows(ROWS), {0: action}))
    assert type(error) is OrderError, error
    return str(error)


# ========================================================== section 10: settings
def test_tick_size_without_price_limit_is_a_config_error(backend: str) -> None:
    with pytest.raises(ConfigError) as info:
        Engine(backend=backend, tick_size=0.01)
    assert str(info.value) == (
        "tick_size: 0.01 rounds the price limits only, and price_limit is not set; set "
        "price_limit too, or leave tick_size out"
    )


def test_dropping_the_cn_a_price_limit_needs_dropping_its_tick_too(backend: str) -> None:
    with pytest.raises(ConfigError, match="^tick_size: "):
        Engine(backend=backend, market="cn_a", price_limit=None)
    config = Engine(backend=backend, market="cn_a", price_limit=None, tick_size=None).config
    assert (config.price_limit, config.tick_size) == (None, None)


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"initial_cash": 0.0}, "initial_cash"),
        ({"initial_cash": float("inf")}, "initial_cash"),
        ({"commission_rate": 1.5}, "commission_rate"),
        ({"commission_rate": -0.1}, "commission_rate"),
        ({"sell_tax_rate": 1.01}, "sell_tax_rate"),
        ({"min_commission": -1.0}, "min_commission"),
        ({"slippage_bps": 10_001.0}, "slippage_bps"),
        ({"slippage_bps": -1.0}, "slippage_bps"),
        ({"max_volume_fraction": 0.0}, "max_volume_fraction"),
        ({"max_volume_fraction": 1.01}, "max_volume_fraction"),
        ({"max_drawdown_stop": 0.0}, "max_drawdown_stop"),
        ({"max_drawdown_stop": 1.5}, "max_drawdown_stop"),
        ({"max_leverage": 0.0}, "max_leverage"),
        ({"max_position_quantity": 0.0}, "max_position_quantity"),
        ({"max_position_weight": -0.5}, "max_position_weight"),
        ({"max_order_value": 0.0}, "max_order_value"),
        ({"price_limit": 0.0}, "price_limit"),
        ({"price_limit": 0.1, "tick_size": 0.0}, "tick_size"),
        ({"periods_per_year": 0.0}, "periods_per_year"),
        ({"lot_size": 2.5}, "lot_size"),
        ({"lot_size": -1.0, "fractional": True}, "lot_size"),
        ({"fractional": 1}, "fractional"),
        ({"commission_rate": "0.1"}, "commission_rate"),
        ({"initial_cash": float("nan")}, "initial_cash"),
        ({"settlement": "T+1", "allow_short": True}, "settlement"),
        ({"market": "nyse"}, "market"),
        ({"market": ["cn_a"]}, "market"),
        ({"comission_rate": 0.1}, "comission_rate"),
    ],
)
def test_every_documented_bad_setting_is_a_config_error_naming_it(
    backend: str, settings: dict[str, Any], name: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Engine(backend=backend, **settings)
    assert str(info.value).startswith(f"{name}: "), str(info.value)


# ========================================================== section 7.2: participation
def test_participation_limit_on_data_without_volume_is_a_config_error_at_run(
    backend: str,
) -> None:
    bars = bars_from_rows([(10.0, 10.0, 10.0, 10.0, 0.0)] * 2)
    engine = Engine(backend=backend, max_volume_fraction=0.5)  # the settings are fine
    with pytest.raises(ConfigError, match="^max_volume_fraction: the data has no volume"):
        engine.run(bars, Script())


# ========================================================== section 5: order calls
def test_stop_order_without_a_stop_price_is_an_order_error(backend: str) -> None:
    message = order_error(backend, lambda ctx: ctx.sell("X", 100, "stop"))
    assert message.startswith("stop_price: required for a stop order (symbol 'X', bar 0 (")


@pytest.mark.parametrize("price", [0.0, -1.0, float("nan"), float("inf"), "9", 10**400])
def test_stop_price_that_is_not_finite_positive_is_an_order_error(backend: str, price: Any) -> None:
    message = order_error(backend, lambda ctx: ctx.sell("X", 100, "stop", stop_price=price))
    assert message.startswith("stop_price: ") and "symbol 'X', bar 0 (" in message


@pytest.mark.parametrize("method", ["order_target_quantity", "order_target_percent"])
def test_target_order_for_an_unknown_symbol_is_an_order_error(backend: str, method: str) -> None:
    message = order_error(backend, lambda ctx: getattr(ctx, method)("Z", 1.0))
    assert message.startswith("symbol: unknown symbol 'Z' at bar 0 (")


@pytest.mark.parametrize(
    ("method", "field"),
    [("order_target_quantity", "target_quantity"), ("order_target_percent", "target_percent")],
)
@pytest.mark.parametrize("target", [float("nan"), float("inf"), -(10**400), "1", None, True])
def test_target_order_with_a_target_that_is_not_a_finite_number_is_an_order_error(
    backend: str, method: str, field: str, target: Any
) -> None:
    message = order_error(backend, lambda ctx: getattr(ctx, method)("X", target))
    assert message.startswith(f"{field}: ") and "symbol 'X', bar 0 (" in message


@pytest.mark.parametrize("method", ["order_target_quantity", "order_target_percent"])
def test_target_order_with_a_bad_time_in_force_is_an_order_error(backend: str, method: str) -> None:
    message = order_error(backend, lambda ctx: getattr(ctx, method)("X", 1.0, "gtx"))
    assert message.startswith(
        "time_in_force: 'gtx' is not one of 'gtc', 'day', 'ioc', 'fok', 'gtd' (symbol 'X'"
    )


def test_a_refused_target_order_creates_no_order(backend: str) -> None:
    def bad_then_good(ctx: Context) -> None:
        with pytest.raises(OrderError):
            ctx.order_target_percent("X", float("nan"))
        ctx.order_target_percent("X", 0.5)

    result = run(backend, bars_from_rows(ROWS), {0: bad_then_good})
    assert [o.order_id for o in result.orders] == [1]


@pytest.mark.parametrize("order_id", [0, 2, -1, 1.0, "1", None, 10**400])
def test_get_order_of_an_unknown_id_is_an_order_error(backend: str, order_id: Any) -> None:
    message = order_error(backend, lambda ctx: ctx.get_order(order_id))
    assert message.startswith(f"order_id: no order {order_id!r} (bar 0 (2024-01-01T")


# ========================================================== section 15: the same on both
@pytest.mark.parametrize(
    "action",
    [
        lambda ctx: ctx.buy("Z", 1),
        lambda ctx: ctx.sell("X", 1, "stop"),
        lambda ctx: ctx.buy("X", 1, "limit", limit_price=-1.0),
        lambda ctx: ctx.submit_order("X", "hold", 1),
        lambda ctx: ctx.order_target_percent("X", float("inf")),
        lambda ctx: ctx.order_target_quantity("X", 1, None),
        lambda ctx: ctx.cancel(7),
        lambda ctx: ctx.history("X", "vwap"),
        lambda ctx: ctx.signal("x", float("inf")),
    ],
    ids=[
        "symbol",
        "stop_price",
        "limit_price",
        "side",
        "target",
        "time_in_force",
        "order_id",
        "field",
        "signal",
    ],
)
def test_a_refused_call_has_the_same_class_and_message_on_both_backends(
    backend_rust: None, action: Callable[[Context], Any]
) -> None:
    errors = {}
    for backend in ("python", "rust"):
        error = error_of(lambda: run(backend, bars_from_rows(ROWS), {0: action}))
        errors[backend] = (type(error), str(error))
    assert errors["python"] == errors["rust"]
