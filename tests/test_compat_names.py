"""The compatibility names `quanta_fast.RustBacktestEngine` and
`quanta_fast.RustExecutionEngine` (quanta_fast/compat.py) run the two examples of quanta's
original design document.

`example_calling_from_python` and `example_mixed_mode` are those examples' code as written
(their Chinese comments too), except where a comment says otherwise: the import comes from
`quanta_fast` instead of `quanta._rust`, the data is the bundled sample (the examples'
000001.SZ file is not shipped), and whatever the examples leave undefined is filled in. Both
examples name the Rust engines; the `compat_backend` fixture points those names at the
reference too, so every behavioural test here runs on both backends, unchanged.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

from quanta_ref import BacktestResult, ConfigError, Engine, QuantaError, Side
from quanta_ref.data import load_sample
from quanta_ref.events import BarEvent
from quanta_ref.examples import SmaCross
from test_differential import assert_same_result, bits

# The examples' 2020-2023 window of 000001.SZ becomes three years of the bundled AAPL sample.
SYMBOL = "AAPL"
START, END = "2010-01-01", "2012-12-31"
COMPAT_NAMES = ("RustBacktestEngine", "RustExecutionEngine")


def example_calling_from_python() -> dict[str, Any]:
    """The design's "Python调用" (calling from Python) example."""
    from quanta_fast import RustBacktestEngine  # originally: from quanta._rust import ...
    from quanta_ref.data import load_sample  # originally: from quanta.data import load_bars

    strategy = SmaCross()  # (added) the example uses `strategy` without defining it

    # 创建Rust引擎
    engine = RustBacktestEngine(
        initial_cash=1_000_000.0,
        commission_rate=0.0003,
    )

    # 加载数据
    bars = load_sample(SYMBOL).between(START, END)  # originally: load_bars('000001.SZ', start=..)

    # 运行回测
    result = engine.run_backtest(bars, strategy)

    # 获取结果
    equity_curve = engine.get_equity_curve()
    returns = result["total_return"]
    sharpe = result["sharpe_ratio"]

    return locals()  # (added) what the example made, for the asserts


def example_mixed_mode() -> dict[str, Any]:
    """The design's "混合模式" (mixed mode) example: a Python strategy, the engine executes."""
    # Python策略 + Rust执行
    from quanta_fast import RustExecutionEngine  # originally: from quanta._rust import ...

    class MyStrategy:
        def on_bar(self, bar):
            # Python策略逻辑
            if self.should_buy(bar):
                self.engine.submit_order(
                    symbol=bar.symbol,
                    side="BUY",
                    quantity=1000,
                )

        # (added) The example leaves should_buy open: buy on each of the first three up-closes.
        previous_close = math.nan
        buys = 0

        def should_buy(self, bar):
            up = bar.close > self.previous_close
            self.previous_close = bar.close
            if up and self.buys < 3:
                self.buys += 1
                return True
            return False

    # Rust执行引擎执行
    engine = RustExecutionEngine()
    engine.add_data(load_sample(SYMBOL).between(START, END))  # (added) the example gives no data
    engine.register_strategy(MyStrategy())
    result = engine.run()  # (added) `result =`, for the asserts

    return locals()  # (added) what the example made, for the asserts


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """Make `from quanta_fast import RustBacktestEngine` (and RustExecutionEngine) give the
    engine on `backend`: the compatibility names default to Rust."""
    import quanta_fast
    from quanta_fast import compat

    for name in COMPAT_NAMES:
        monkeypatch.setattr(
            quanta_fast, name, functools.partial(getattr(compat, name), backend=backend)
        )


@pytest.fixture
def compat_backend(backend: str, backend_rust: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """`backend`, with the compatibility names pointing at it. Those engines live in
    quanta_fast, so even the Python case needs the extension (`backend_rust` skips without
    it locally and fails in CI)."""
    use_backend(monkeypatch, backend)
    return backend


def compat_engine(name: str, *args: Any, **kwargs: Any) -> Any:
    """A compatibility engine by name, as the test's backend has it."""
    import quanta_fast

    return getattr(quanta_fast, name)(*args, **kwargs)


def run_state_error() -> type[QuantaError]:
    from quanta_fast.compat import RunStateError

    return RunStateError


def sample_bars() -> Any:
    return load_sample(SYMBOL).between(START, END)


# -- RustBacktestEngine: the calling-from-Python example ------------------------------------


def test_backtest_engine_returns_a_result_whose_stats_match_its_equity_curve(
    compat_backend: str,
) -> None:
    made = example_calling_from_python()
    result, equity_curve = made["result"], made["equity_curve"]
    assert made["engine"].backend == compat_backend
    assert isinstance(result, BacktestResult)
    assert isinstance(equity_curve, np.ndarray) and equity_curve.dtype == np.float64
    assert np.array_equal(equity_curve, result.equity)
    assert equity_curve is not result.equity
    assert len(equity_curve) == made["bars"].n_bars
    assert made["returns"] == equity_curve[-1] / 1_000_000.0 - 1.0
    assert made["returns"] == result.stats["total_return"]
    assert isinstance(made["sharpe"], float) and math.isfinite(made["sharpe"])
    assert made["sharpe"] == result.stats["sharpe_ratio"]


def test_backtest_engine_charges_the_commission_rate_on_every_fill(compat_backend: str) -> None:
    result = example_calling_from_python()["result"]
    assert len(result.fills) >= 2
    for fill in result.fills:
        assert fill.symbol == SYMBOL
        assert fill.commission == pytest.approx(0.0003 * fill.quantity * fill.price, rel=1e-12)


def test_backtest_engine_runs_the_same_as_engine_run(compat_backend: str) -> None:
    made = example_calling_from_python()
    direct = Engine(backend=compat_backend, initial_cash=1_000_000.0, commission_rate=0.0003).run(
        made["bars"], SmaCross()
    )
    assert_same_result(direct, made["result"])


# -- RustExecutionEngine: the mixed-mode example ---------------------------------------------


def test_execution_engine_buys_1000_shares_at_the_open_after_each_of_the_first_three_up_closes(
    compat_backend: str,
) -> None:
    made = example_mixed_mode()
    result = made["result"]
    assert isinstance(result, BacktestResult)
    bars = sample_bars()
    close, open_ = bars.close[:, 0], bars.open[:, 0]
    up_closes = [t for t in range(1, len(close)) if close[t] > close[t - 1]][:3]
    assert [(f.symbol, f.side, f.quantity) for f in result.fills] == [
        (SYMBOL, Side.BUY, 1000.0)
    ] * 3
    assert [f.price for f in result.fills] == [open_[t + 1] for t in up_closes]
    assert [o.quantity for o in result.orders] == [1000.0] * 3
    assert result.positions[0].quantity == 3000.0


def test_execution_engine_equity_curve_and_total_return_agree(compat_backend: str) -> None:
    made = example_mixed_mode()
    result, engine = made["result"], made["engine"]
    equity_curve = engine.get_equity_curve()
    assert np.array_equal(equity_curve, result.equity)
    assert result["total_return"] == equity_curve[-1] / engine.config.initial_cash - 1.0


def test_the_two_examples_give_the_same_results_on_both_backends(
    backend_rust: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rust = example_calling_from_python()["result"], example_mixed_mode()["result"]
    use_backend(monkeypatch, "python")
    python = example_calling_from_python()["result"], example_mixed_mode()["result"]
    for ref, fast in zip(python, rust, strict=True):
        assert_same_result(ref, fast)
        assert bits(fast.stats) == bits(ref.stats)


def test_compat_engines_run_on_rust_unless_told_otherwise(backend_rust: None) -> None:
    from quanta_fast import RustBacktestEngine, RustExecutionEngine

    assert RustBacktestEngine().backend == "rust"
    assert RustExecutionEngine().backend == "rust"


# -- RustExecutionEngine: strategies and callbacks -----------------------------------------


class Recorder:
    """A strategy in the design's style with every optional callback, that records what it sees
    through self.engine: it buys 10 on the first bar with a market order and a limit order far
    below the market, and cancels the limit order on the third bar."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.bars_seen = 0

    def on_start(self) -> None:
        self.events.append(("start", (self.engine.now, self.engine.cash)))

    def on_bar(self, bar: BarEvent) -> None:
        if self.bars_seen == 0:
            self.engine.submit_order(bar.symbol, "buy", 10)
            self.limit_id = self.engine.submit_order(
                bar.symbol, "buy", 10, "limit", limit_price=1.0
            )
        elif self.bars_seen == 2:
            assert self.engine.cancel(self.limit_id)
        self.bars_seen += 1
        self.events.append(("bar", self.engine.position(bar.symbol)))

    def on_fill(self, fill: Any) -> None:
        self.events.append(("fill", fill))

    def on_order(self, order: Any) -> None:
        self.events.append(("order", (order.order_id, order.status.value)))

    def on_end(self) -> None:
        self.events.append(("end", self.engine.equity))


def test_execution_engine_forwards_every_callback_without_ctx(compat_backend: str) -> None:
    bars = sample_bars()
    strategy = Recorder()
    engine = compat_engine("RustExecutionEngine", bars)
    engine.register_strategy(strategy)
    result = engine.run()
    assert strategy.events[0] == ("start", (None, 1_000_000.0))
    assert strategy.events[-1] == ("end", result.equity[-1])
    assert [e for kind, e in strategy.events if kind == "fill"] == result.fills
    assert [e for kind, e in strategy.events if kind == "order"] == [
        (1, "pending"),
        (2, "pending"),
        (1, "filled"),
        (2, "cancelled"),
    ]
    positions = [position for kind, position in strategy.events if kind == "bar"]
    assert len(positions) == bars.n_bars
    assert positions[:2] == [0.0, 10.0] and positions[-1] == 10.0


def test_execution_engine_runs_a_quanta_strategy_as_is(compat_backend: str) -> None:
    bars = sample_bars()
    strategy = SmaCross()
    engine = compat_engine("RustExecutionEngine", bars, initial_cash=50_000.0)
    engine.register_strategy(strategy)
    result = engine.run()
    assert not hasattr(strategy, "engine")
    direct = Engine(backend=compat_backend, initial_cash=50_000.0).run(bars, SmaCross())
    assert_same_result(direct, result)


def test_execution_engine_takes_its_data_from_the_constructor_or_add_data(
    compat_backend: str,
) -> None:
    results = []
    for given_at_construction in (True, False):
        engine = compat_engine(
            "RustExecutionEngine", sample_bars() if given_at_construction else None
        )
        if not given_at_construction:
            engine.add_data(sample_bars())
        engine.register_strategy(SmaCross())
        results.append(engine.run())
    assert_same_result(*results)


def test_an_exception_in_on_bar_reaches_the_caller_and_ends_the_run(compat_backend: str) -> None:
    class Boom(Exception):
        pass

    class Fails:
        def on_bar(self, bar: BarEvent) -> None:
            raise Boom(bar.symbol)

    strategy = Fails()
    engine = compat_engine("RustExecutionEngine", sample_bars())
    engine.register_strategy(strategy)
    with pytest.raises(Boom, match=SYMBOL):
        engine.run()
    with pytest.raises(run_state_error(), match="not running"):
        strategy.engine.submit_order(SYMBOL, "buy", 1)


# -- errors ---------------------------------------------------------------------------------


def test_run_state_error_is_a_quanta_error(backend_rust: None) -> None:
    assert issubclass(run_state_error(), QuantaError)


@pytest.mark.parametrize("name", COMPAT_NAMES)
def test_get_equity_curve_before_any_run_raises(compat_backend: str, name: str) -> None:
    with pytest.raises(run_state_error(), match="get_equity_curve: no backtest has run"):
        compat_engine(name).get_equity_curve()


def test_run_without_data_is_a_config_error(compat_backend: str) -> None:
    engine = compat_engine("RustExecutionEngine")
    engine.register_strategy(SmaCross())
    with pytest.raises(ConfigError, match=r"no data; .*add_data\(bars\)"):
        engine.run()


def test_run_without_a_strategy_is_a_config_error(compat_backend: str) -> None:
    engine = compat_engine("RustExecutionEngine", sample_bars())
    with pytest.raises(ConfigError, match=r"no strategy; call register_strategy"):
        engine.run()


def assert_not_running(strategy: Any) -> None:
    with pytest.raises(run_state_error(), match="submit_order: the engine is not running"):
        strategy.engine.submit_order(symbol=SYMBOL, side="BUY", quantity=1000)
    with pytest.raises(run_state_error(), match="cash: the engine is not running"):
        _ = strategy.engine.cash


def test_submit_order_outside_a_run_raises(compat_backend: str) -> None:
    strategy = example_mixed_mode()["MyStrategy"]()
    engine = compat_engine("RustExecutionEngine", sample_bars())
    engine.register_strategy(strategy)
    assert_not_running(strategy)
    engine.run()
    assert_not_running(strategy)


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (SmaCross, "got the class SmaCross; register an instance"),
        (object(), "object has no on_bar"),
        (
            type("Slotted", (), {"__slots__": (), "on_bar": lambda self, bar: None})(),
            "cannot set Slotted.engine",
        ),
    ],
)
def test_register_strategy_refuses_what_it_cannot_run(
    compat_backend: str, strategy: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        compat_engine("RustExecutionEngine").register_strategy(strategy)


def test_one_strategy_and_one_data_panel_per_engine(compat_backend: str) -> None:
    engine = compat_engine("RustExecutionEngine", sample_bars())
    engine.register_strategy(SmaCross())
    with pytest.raises(ConfigError, match="already has a strategy"):
        engine.register_strategy(SmaCross())
    with pytest.raises(ConfigError, match="already has its data"):
        engine.add_data(sample_bars())


def test_add_data_refuses_what_is_not_bars(compat_backend: str) -> None:
    with pytest.raises(ConfigError, match="bars: expected a quanta Bars panel, got list"):
        compat_engine("RustExecutionEngine").add_data([1.0, 2.0])


def test_bad_settings_are_config_errors(compat_backend: str) -> None:
    with pytest.raises(ConfigError, match="commission_rate"):
        compat_engine("RustBacktestEngine", commission_rate=-0.1)
    with pytest.raises(ConfigError, match="unknown engine setting"):
        compat_engine("RustExecutionEngine", comission_rate=0.0003)
