"""The public contract: names, enums, engine construction, strategy parameters, callbacks."""

from __future__ import annotations

import traceback

import numpy as np
import pytest

import quanta_ref
from quanta_ref import (
    BackendUnavailable,
    ConfigError,
    Engine,
    OrderStatus,
    OrderType,
    Side,
    Strategy,
    TimeInForce,
    data,
)
from quanta_ref.events import BarEvent, ControlEvent, EventBus, OrderEvent
from quanta_ref.examples import SmaCross
from support import bars_from_rows, run

ROWS = [(10, 11, 9, 10), (10, 11, 9, 10.5), (10.5, 12, 10, 11), (11, 11.5, 10.5, 11)]


def test_enums_accept_their_names_in_any_case() -> None:
    assert Side("buy") is Side.BUY and Side("SELL") is Side.SELL
    assert OrderType("stop_limit") is OrderType.STOP_LIMIT
    assert OrderType("Market") is OrderType.MARKET
    assert TimeInForce("gtc") is TimeInForce.GTC and TimeInForce("DAY") is TimeInForce.DAY
    assert OrderStatus("partially_filled") is OrderStatus.PARTIALLY_FILLED
    with pytest.raises(ValueError):
        Side("hold")


def test_contract_names_are_importable() -> None:
    for name in (
        "Engine",
        "Strategy",
        "Bars",
        "data",
        "Fill",
        "Order",
        "Trade",
        "QuantaError",
        "ConfigError",
        "DataError",
        "OrderError",
        "BackendUnavailable",
    ):
        assert hasattr(quanta_ref, name), name


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="backend"):
        Engine(backend="gpu")


def test_rust_backend_without_engine_is_unavailable_and_auto_falls_back() -> None:
    from quanta_ref import backends

    try:
        backends.load("rust")
        available = True
    except BackendUnavailable:
        available = False
    if available:
        assert Engine(backend="auto").backend == "rust"
        return
    with pytest.raises(BackendUnavailable):
        Engine(backend="rust")
    assert Engine(backend="auto").backend == "python"


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"initial_cash": -1.0}, "initial_cash"),
        ({"initial_cash": float("nan")}, "initial_cash"),
        ({"commission_rate": "0.1"}, "commission_rate"),
        ({"fill_at": "open"}, "fill_at"),
        ({"settlement": "T+2"}, "settlement"),
        ({"lot_size": 0}, "lot_size"),
        ({"lot_size": 2.5}, "lot_size"),
        ({"market": "nyse"}, "market"),
        ({"comission_rate": 0.1}, "comission_rate"),
        ({"allow_short": 1}, "allow_short"),
        ({"max_volume_fraction": 1.5}, "max_volume_fraction"),
    ],
)
def test_bad_engine_settings_raise_config_error_naming_the_setting(settings, field) -> None:
    with pytest.raises(ConfigError, match=field):
        Engine(**settings)


def test_market_preset_cn_a_and_explicit_override() -> None:
    cfg = Engine(market="cn_a").config
    assert (
        cfg.lot_size,
        cfg.settlement,
        cfg.min_commission,
        cfg.price_limit,
        cfg.tick_size,
    ) == (100.0, "T+1", 5.0, "cn_a", 0.01)
    assert Engine(market="cn_a", min_commission=0.0).config.min_commission == 0.0


def test_strategy_parameters_are_constructor_keywords() -> None:
    assert SmaCross(fast=5, slow=20).fast == 5
    assert SmaCross().slow == 30
    with pytest.raises(ConfigError, match="fats"):
        SmaCross(fats=5)


def test_strategy_subclass_may_define_init() -> None:
    class WithInit(Strategy):
        window = 3

        def __init__(self, label: str, **params: object) -> None:
            super().__init__(**params)
            self.label = label

    s = WithInit("x", window=7)
    assert (s.label, s.window) == ("x", 7)


def test_result_indexing_reads_stats(backend: str) -> None:
    result = Engine(backend=backend).run(
        data.load_sample("IBM").between("2010-01-01", None), SmaCross()
    )
    assert result["sharpe_ratio"] == result.stats["sharpe_ratio"]
    assert result.equity.dtype == np.float64 and len(result.equity) == len(result.timestamps)
    for key in (
        "total_return",
        "cagr",
        "annual_volatility",
        "sharpe_ratio",
        "sortino_ratio",
        "max_drawdown",
        "max_drawdown_duration",
        "calmar_ratio",
        "win_rate",
        "profit_factor",
        "n_trades",
        "exposure",
        "turnover",
    ):
        assert key in result.stats


def test_strategy_exception_surfaces_unchanged_with_its_traceback(backend: str) -> None:
    mine = KeyError("mine")

    class Boom(Strategy):
        def on_bar(self, ctx, bar):
            if ctx.bar_index == 2:
                raise mine

    with pytest.raises(KeyError) as info:
        Engine(backend=backend).run(bars_from_rows(ROWS), Boom())
    assert info.value is mine
    frames = [f.name for f in traceback.extract_tb(info.tb)]
    assert frames[-1] == "on_bar"


def test_on_order_for_an_order_from_on_bar_comes_after_that_on_bar(backend: str) -> None:
    rows = {"A": ROWS, "B": ROWS}
    log: list[str] = []

    class Logger(Strategy):
        def on_bar(self, ctx, bar):
            log.append(f"bar {bar.symbol} {ctx.bar_index}")
            if ctx.bar_index == 0 and bar.symbol == "A":
                ctx.buy("A", 1)
                log.append("submitted")

        def on_order(self, ctx, order):
            log.append(f"order {order.order_id} {order.status.value}")

        def on_fill(self, ctx, fill):
            log.append(f"fill {fill.order_id}")

    Engine(backend=backend).run(bars_from_rows(rows), Logger())
    assert log[:8] == [
        "bar A 0",
        "submitted",
        "order 1 pending",
        "bar B 0",
        "fill 1",
        "order 1 filled",
        "bar A 1",
        "bar B 1",
    ]


def test_fills_orders_and_trades_have_the_contract_fields(backend: str) -> None:
    result = run(
        backend, bars_from_rows(ROWS), {0: lambda c: c.buy("X", 10), 1: lambda c: c.sell("X", 10)}
    )
    fill = result.fills[0]
    assert (
        fill.order_id,
        fill.timestamp,
        fill.symbol,
        fill.side,
        fill.quantity,
        fill.price,
        fill.commission,
        fill.tax,
    ) == (1, int(result.timestamps[1]), "X", Side.BUY, 10.0, 10.0, 0.0, 0.0)
    order = result.orders[0]
    for name in (
        "order_id",
        "symbol",
        "side",
        "quantity",
        "filled_quantity",
        "order_type",
        "limit_price",
        "stop_price",
        "time_in_force",
        "status",
        "reject_reason",
        "created_at",
        "filled_at",
    ):
        assert hasattr(order, name), name
    trade = result.trades[0]
    assert (trade.entry_price, trade.exit_price, trade.quantity, trade.pnl) == (
        10.0,
        10.5,
        10.0,
        5.0,
    )
    assert trade.return_ == 5.0 / 100.0


def test_event_bus_delivers_fifo_and_defers_events_published_by_handlers() -> None:
    bus = EventBus()
    seen: list[str] = []

    def on_bar(event: BarEvent) -> None:
        seen.append(f"bar {event.symbol}")
        bus.publish(ControlEvent(0, f"from {event.symbol}"))
        seen.append(f"bar {event.symbol} done")

    bus.subscribe(BarEvent, on_bar)
    bus.subscribe(ControlEvent, lambda e: seen.append(e.kind))
    bus.subscribe(ControlEvent, lambda e: seen.append(e.kind + " again"))
    bus.publish(BarEvent(0, "A", 1, 1, 1, 1, 0))
    assert seen == ["bar A", "bar A done", "from A", "from A again"]
    assert not bus._queue and OrderEvent not in bus._subscribers


def test_event_bus_time_only_moves_forward() -> None:
    bus = EventBus()
    bus.advance_time(5)
    with pytest.raises(ValueError):
        bus.advance_time(4)


def test_quanta_demo_prints_a_table_and_run_time(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from quanta_cli.cli import main

    assert main(["demo", "--backend", backend]) == 0
    out = capsys.readouterr().out
    assert "sharpe_ratio" in out and "run time" in out and "AAPL" in out
    assert f"backend={backend}" in out
