"""A strategy that does unusual things with its `ctx`: keeps it after the run, uses it from
another thread, rebinds its callbacks, sets attributes, calls methods with the wrong shape or
with garbage. Each is the same on both backends, or refused with the same error on both."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies  # noqa: F401  (registers the hypothesis profiles)
from quanta_ref import ConfigError, Engine, QuantaError, Strategy
from quanta_ref.api import Context
from quanta_ref.engine import CONTEXT_ENDED, CONTEXT_THREAD
from support import bars_from_rows

ROWS = [(10, 11, 9, 10), (10, 11, 9, 10.5), (10.5, 12, 10, 11), (11, 11.5, 10.5, 11)]
BARS = bars_from_rows({"X": ROWS, "Y": ROWS})

#: One use of every ctx method and property, and of ctx.portfolio's.
EVERY_USE: dict[str, Callable[[Any], Any]] = {
    "submit_order": lambda c: c.submit_order("X", "buy", 1),
    "buy": lambda c: c.buy("X", 1),
    "sell": lambda c: c.sell("X", 1),
    "order_target_quantity": lambda c: c.order_target_quantity("X", 5),
    "order_target_percent": lambda c: c.order_target_percent("X", 0.5),
    "cancel": lambda c: c.cancel(1),
    "get_order": lambda c: c.get_order(1),
    "open_orders": lambda c: c.open_orders(),
    "position": lambda c: c.position("X"),
    "get_position": lambda c: c.get_position("X"),
    "cash": lambda c: c.cash,
    "equity": lambda c: c.equity,
    "portfolio": lambda c: c.portfolio,
    "now": lambda c: c.now,
    "bar_index": lambda c: c.bar_index,
    "symbols": lambda c: c.symbols,
    "history": lambda c: c.history("X"),
    "signal": lambda c: c.signal("s", 1.0),
}
PORTFOLIO_USE: dict[str, Callable[[Any], Any]] = {
    "portfolio.cash": lambda p: p.cash,
    "portfolio.equity": lambda p: p.equity(),
    "portfolio.position_of": lambda p: p.position_of("X"),
    "portfolio.check_margin": lambda p: p.check_margin(0, "buy", 1.0, 10.0, 1.0, 1e6),
}


def outcome(call: Callable[[], Any]) -> tuple[str, str]:
    """What a call gave: ("ok", repr of the value) or (exception class, message)."""
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - the error is the answer
        return type(exc).__name__, str(exc)
    return "ok", repr(value)


class Keeper(Strategy):
    """Buys at bar 0, records a signal, keeps its ctx and ctx.portfolio."""

    def on_start(self, ctx: Context) -> None:
        self.ctx = ctx

    def on_bar(self, ctx: Context, bar: Any) -> None:
        if ctx.bar_index == 0 and bar.symbol == "X":
            ctx.buy("X", 10)
            ctx.signal("s", 1.0)
            self.portfolio = ctx.portfolio


def snapshot(result: Any) -> tuple[Any, ...]:
    return (
        result.equity.tolist(),
        result.cash.tolist(),
        [repr(f) for f in result.fills],
        [(o.order_id, o.status, o.filled_quantity) for o in result.orders],
        [repr(p) for p in result.positions],
        [repr(s) for s in result.signals],
        dict(result.stats),
    )


def test_a_context_kept_after_the_run_refuses_every_use(backend: str) -> None:
    keeper = Keeper()
    Engine(backend=backend).run(BARS, keeper)
    for name, use in EVERY_USE.items():
        assert outcome(lambda: use(keeper.ctx)) == ("OrderError", CONTEXT_ENDED), name
    for name, use in PORTFOLIO_USE.items():
        assert outcome(lambda: use(keeper.portfolio)) == ("OrderError", CONTEXT_ENDED), name


def test_a_returned_result_never_changes(backend: str) -> None:
    keeper = Keeper()
    result = Engine(backend=backend).run(BARS, keeper)
    before = snapshot(result)
    for use in EVERY_USE.values():
        outcome(lambda: use(keeper.ctx))
    assert snapshot(result) == before
    for array in (result.timestamps, result.equity, result.cash):
        assert not array.flags.writeable


def test_a_context_kept_after_a_failed_run_is_closed_too(backend: str) -> None:
    class Fails(Keeper):
        def on_bar(self, ctx: Context, bar: Any) -> None:
            super().on_bar(ctx, bar)
            if ctx.bar_index == 1:
                raise KeyError("mine")

    keeper = Fails()
    with pytest.raises(KeyError, match="mine"):
        Engine(backend=backend).run(BARS, keeper)
    for name, use in EVERY_USE.items():
        assert outcome(lambda: use(keeper.ctx)) == ("OrderError", CONTEXT_ENDED), name


def test_the_context_is_open_in_on_start_and_on_end(backend: str) -> None:
    seen: list[Any] = []

    class Both(Strategy):
        def on_start(self, ctx: Context) -> None:
            seen.append((ctx.bar_index, ctx.cash))

        def on_end(self, ctx: Context) -> None:
            seen.append((ctx.bar_index, ctx.cash))

    Engine(backend=backend, initial_cash=100.0).run(BARS, Both())
    assert seen == [(-1, 100.0), (3, 100.0)]


def test_a_context_used_from_another_thread_is_refused(backend: str) -> None:
    answers: dict[str, tuple[str, str]] = {}

    class Threads(Strategy):
        def on_bar(self, ctx: Context, bar: Any) -> None:
            if ctx.bar_index == 1 and bar.symbol == "X":
                portfolio = ctx.portfolio

                def work() -> None:
                    for name, use in EVERY_USE.items():
                        answers[name] = outcome(lambda: use(ctx))
                    for name, use in PORTFOLIO_USE.items():
                        answers[name] = outcome(lambda: use(portfolio))

                worker = threading.Thread(target=work)
                worker.start()
                worker.join()

    result = Engine(backend=backend).run(BARS, Threads())
    assert answers == {
        name: ("OrderError", CONTEXT_THREAD) for name in {**EVERY_USE, **PORTFOLIO_USE}
    }
    assert result.orders == [] and result.signals == []


def test_a_thread_hammering_the_context_during_the_run_only_gets_the_refusal(
    backend: str,
) -> None:
    # The native context once died here with an internal PyBorrowMutError.
    answers: set[tuple[str, str]] = set()
    stop = threading.Event()

    class Hammer(Strategy):
        def on_start(self, ctx: Context) -> None:
            def work() -> None:
                while not stop.is_set():
                    for use in EVERY_USE.values():
                        answers.add(outcome(lambda: use(ctx)))

            self.worker = threading.Thread(target=work)
            self.worker.start()

        def on_bar(self, ctx: Context, bar: Any) -> None:
            ctx.order_target_percent(bar.symbol, 0.4)
            for _ in range(50):
                ctx.history(bar.symbol)
                ctx.get_position(bar.symbol)

        def on_end(self, ctx: Context) -> None:
            stop.set()
            self.worker.join()

    many = bars_from_rows({"X": ROWS * 30, "Y": ROWS * 30})
    result = Engine(backend=backend).run(many, Hammer())
    assert answers <= {("OrderError", CONTEXT_THREAD)}
    assert len(result.fills) > 0


def test_a_thread_hammering_the_context_of_a_run_without_per_bar_callbacks_gets_the_refusal(
    backend: str,
) -> None:
    # The native rows of such a run go on with the GIL released while the thread hammers.
    answers: set[tuple[str, str]] = set()
    stop = threading.Event()
    n_orders = 3000 if backend == "rust" else 200  # rows of about 0.1 ms either way

    class Hammer(Strategy):
        def on_start(self, ctx: Context) -> None:
            for _ in range(n_orders):
                ctx.submit_order("X", "buy", 1, "limit", limit_price=1.0)  # never fills

            def work() -> None:
                while not stop.is_set():
                    for use in EVERY_USE.values():
                        answers.add(outcome(lambda: use(ctx)))

            self.worker = threading.Thread(target=work)
            self.worker.start()

        def on_end(self, ctx: Context) -> None:
            stop.set()
            self.worker.join()

    many = bars_from_rows({"X": ROWS * 500, "Y": ROWS * 500})
    result = Engine(backend=backend).run(many, Hammer())
    assert answers <= {("OrderError", CONTEXT_THREAD)}
    assert len(answers) == 1
    assert len(result.orders) == n_orders


def test_callbacks_are_looked_up_once_at_the_start_of_the_run(backend: str) -> None:
    calls: list[str] = []

    class Rebinds(Strategy):
        def on_start(self, ctx: Context) -> None:
            self.on_bar = lambda ctx, bar: calls.append("new on_bar")  # type: ignore[method-assign]
            self.on_end = lambda ctx: calls.append("new on_end")  # type: ignore[method-assign]

        def on_bar(self, ctx: Context, bar: Any) -> None:
            calls.append("on_bar")
            if ctx.bar_index == 0 and bar.symbol == "X":
                ctx.buy("X", 1)
                self.on_fill = lambda ctx, fill: calls.append("new on_fill")  # type: ignore[method-assign]
                self.on_order = lambda ctx, o: calls.append("new on_order")  # type: ignore[method-assign]

        def on_end(self, ctx: Context) -> None:
            calls.append("on_end")

    Engine(backend=backend).run(BARS, Rebinds())
    assert calls == ["on_bar"] * 8 + ["on_end"]


def test_callbacks_set_on_the_instance_before_the_run_are_used(backend: str) -> None:
    calls: list[int] = []
    strategy = Strategy()
    strategy.on_bar = lambda ctx, bar: calls.append(ctx.bar_index)  # type: ignore[method-assign]
    Engine(backend=backend).run(bars_from_rows(ROWS), strategy)
    assert calls == [0, 1, 2, 3]


class AsyncOnBar(Strategy):
    async def on_bar(self, ctx: Context, bar: Any) -> None:
        ctx.buy(bar.symbol, 1)


class AsyncGeneratorOnEnd(Strategy):
    async def on_end(self, ctx: Context) -> Any:
        yield ctx.bar_index


class AsyncOnFillOnly(Strategy):
    """No per-bar callback but an async on_fill (the native loop would run detached)."""

    async def on_fill(self, ctx: Context, fill: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("strategy", "name"),
    [
        (AsyncOnBar, "on_bar"),
        (AsyncGeneratorOnEnd, "on_end"),
        (AsyncOnFillOnly, "on_fill"),
    ],
)
def test_an_async_callback_is_refused_at_the_start_of_the_run(
    backend: str, strategy: type[Strategy], name: str
) -> None:
    # never awaited, it would trade nothing and leave only a RuntimeWarning
    with pytest.raises(ConfigError) as caught:
        Engine(backend=backend).run(BARS, strategy())
    assert str(caught.value) == (
        f"{name}: a strategy's callback must be a plain function, not async def (the engine "
        f"never awaits it), got {strategy.__name__}.{name}"
    )


def test_an_async_callback_set_on_the_instance_is_refused(backend: str) -> None:
    async def on_order(ctx: Context, order: Any) -> None:
        pass

    strategy = Strategy()
    strategy.on_order = on_order  # type: ignore[method-assign]
    with pytest.raises(ConfigError, match="on_order: .* not async def"):
        Engine(backend=backend).run(BARS, strategy)


SETS: dict[str, Callable[[Any], Any]] = {
    "set a new attribute": lambda c: setattr(c, "mine", 1),
    "set a property": lambda c: setattr(c, "cash", 1.0),
    "delete a property": lambda c: delattr(c, "cash"),
    "set a method": lambda c: setattr(c, "buy", print),
    "set on the portfolio": lambda c: setattr(c.portfolio, "cash", 0.0),
    "delete on the portfolio": lambda c: delattr(c.portfolio, "equity"),
    "new on the portfolio": lambda c: setattr(c.portfolio, "mine", 0.0),
}


def test_the_context_and_its_portfolio_are_read_only(backend: str) -> None:
    answers = run_calls(backend, SETS)
    assert answers["set a new attribute"] == (
        "AttributeError",
        "ctx: attribute 'mine' cannot be set or deleted; it is read-only (keep a strategy's "
        "own state on the strategy)",
    )
    assert answers["set on the portfolio"][1].startswith("ctx.portfolio: attribute 'cash'")
    assert all(kind == "AttributeError" for kind, _ in answers.values())


def run_calls(backend: str, calls: dict[str, Callable[[Any], Any]]) -> dict[str, tuple[str, str]]:
    """The outcome of each call made in `on_bar` at bar 1 of X (in order, one run)."""
    answers: dict[str, tuple[str, str]] = {}

    class Calls(Strategy):
        def on_bar(self, ctx: Context, bar: Any) -> None:
            if ctx.bar_index == 1 and bar.symbol == "X":
                for name, call in calls.items():
                    answers[name] = outcome(lambda: call(ctx))

    Engine(backend=backend).run(BARS, Calls())
    return answers


def same_on_both(calls: dict[str, Callable[[Any], Any]]) -> dict[str, tuple[str, str]]:
    """Run `calls` on both backends; assert every answer is the same; return them."""
    python, rust = run_calls("python", calls), run_calls("rust", calls)
    for name in calls:
        assert python[name] == rust[name], name
    return python


def test_read_only_errors_are_the_same_on_both_backends(backend_rust: None) -> None:
    same_on_both(SETS)


SHAPES: dict[str, Callable[[Any], Any]] = {
    "missing": lambda c: c.buy("X"),
    "missing two": lambda c: c.submit_order("X"),
    "missing three": lambda c: c.submit_order(),
    "extra": lambda c: c.buy("X", 1, "market", None, None, "gtc", None, None, None, 5),
    "extra on one": lambda c: c.cancel(1, 2),
    "extra on a fixed arity": lambda c: c.position("X", "Y"),
    "unknown keyword": lambda c: c.buy("X", qty=1),
    "keyword twice": lambda c: c.buy("X", 1, symbol="X"),
    "keyword for a positional": lambda c: c.cancel(order_id=1),
    "all by keyword": lambda c: c.submit_order(symbol="X", side="buy", quantity=1),
    "none for no arguments": lambda c: c.open_orders(1),
    "keyword for no arguments": lambda c: c.open_orders(x=1),
    "history keywords": lambda c: c.history(symbol="X", length=2, field="open"),
    "history unknown keyword": lambda c: c.history("X", size=2),
    "signal missing": lambda c: c.signal("s"),
    "signal extra": lambda c: c.signal("s", 1.0, "X", 4),
    "targets missing": lambda c: c.order_target_percent(weight=0.5),
    "calling a property": lambda c: c.cash(),
    "portfolio missing": lambda c: c.portfolio.position_of(),
    "portfolio extra": lambda c: c.portfolio.equity(1),
    "portfolio keyword": lambda c: c.portfolio.position_of(name="X"),
    "portfolio check_margin missing": lambda c: c.portfolio.check_margin(0, "buy"),
}


def test_wrong_call_shapes_raise_the_same_type_error_on_both_backends(
    backend_rust: None,
) -> None:
    answers = same_on_both(SHAPES)
    assert answers["missing"] == (
        "TypeError",
        "Context.buy() missing 1 required positional argument: 'quantity'",
    )
    assert answers["missing three"] == (
        "TypeError",
        "Context.submit_order() missing 3 required positional arguments: 'symbol', 'side', "
        "and 'quantity'",
    )
    assert answers["extra"] == (
        "TypeError",
        "Context.buy() takes from 2 to 9 positional arguments but 10 were given",
    )
    assert answers["all by keyword"][0] == "ok"


def test_numpy_string_scalars_are_symbols_everywhere(backend: str) -> None:
    x, s = np.str_("X"), np.str_("s")
    answers = run_calls(
        backend,
        {
            "submit_order": lambda c: c.submit_order(x, np.str_("buy"), 1),
            "buy": lambda c: c.buy(x, 1, np.str_("limit"), 10.0, None, np.str_("day")),
            "sell": lambda c: c.sell(x, 1),
            "order_target_quantity": lambda c: c.order_target_quantity(x, 5),
            "order_target_percent": lambda c: c.order_target_percent(x, 0.1),
            "position": lambda c: c.position(x),
            "get_position": lambda c: c.get_position(x).symbol,
            "history": lambda c: c.history(x, np.str_("open"), 1).tolist(),
            "signal": lambda c: c.signal(s, 1.0, x),
            "position_of": lambda c: c.portfolio.position_of(x).quantity,
        },
    )
    assert answers == {
        "submit_order": ("ok", "1"),
        "buy": ("ok", "2"),
        "sell": ("ok", "3"),
        "order_target_quantity": ("ok", "4"),
        "order_target_percent": ("ok", "5"),
        "position": ("ok", "0.0"),
        "get_position": ("ok", "'X'"),
        "history": ("ok", "[10.0]"),
        "signal": ("ok", "None"),
        "position_of": ("ok", "0.0"),
    }


BAD_NUMBERS: dict[str, Callable[[Any], Any]] = {
    "signal huge int": lambda c: c.signal("x", 2**2000),
    "signal inf": lambda c: c.signal("x", float("inf")),
    "signal -inf numpy": lambda c: c.signal("x", np.float64("-inf")),
    "signal text": lambda c: c.signal("x", "1.0"),
    "signal bool": lambda c: c.signal("x", True),
    "signal name": lambda c: c.signal(1, 1.0),
    "quantity huge int": lambda c: c.buy("X", 2**2000),
    "quantity bool": lambda c: c.buy("X", True),
    "quantity nan": lambda c: c.buy("X", float("nan")),
    "quantity text": lambda c: c.buy("X", "1"),
    "limit huge int": lambda c: c.buy("X", 1, "limit", 2**2000),
    "stop inf": lambda c: c.sell("X", 1, "stop", None, float("inf")),
    "target huge int": lambda c: c.order_target_quantity("X", -(2**2000)),
    "weight nan": lambda c: c.order_target_percent("X", float("nan")),
    "order id huge": lambda c: c.cancel(2**2000),
    "order id float": lambda c: c.get_order(1.0),
    "length negative": lambda c: c.history("X", "close", -1),
    "length inf": lambda c: c.history("X", "close", float("inf")),
    "field number": lambda c: c.history("X", 3),
    "symbol float": lambda c: c.position(1.5),
    "symbol list": lambda c: c.get_position(["X"]),
    "side huge int": lambda c: c.submit_order("X", 2**70, 1),
}


@pytest.mark.parametrize("name", BAD_NUMBERS)
def test_a_bad_argument_to_a_ctx_method_is_a_quanta_error_naming_it(
    backend: str, name: str
) -> None:
    kind, message = run_calls(backend, {name: BAD_NUMBERS[name]})[name]
    assert kind in ("OrderError", "DataError"), message
    field = message.split(":")[0]
    assert field in {
        "value",
        "name",
        "quantity",
        "limit_price",
        "stop_price",
        "target_quantity",
        "target_percent",
        "order_id",
        "length",
        "field",
        "symbol",
        "side",
    }


def test_bad_arguments_get_the_same_error_on_both_backends(backend_rust: None) -> None:
    same_on_both(BAD_NUMBERS)


def test_a_signal_may_be_nan_but_not_infinite(backend: str) -> None:
    result = run_calls(backend, {"nan": lambda c: c.signal("x", float("nan"))})
    assert result == {"nan": ("ok", "None")}
    kind, message = run_calls(backend, BAD_NUMBERS)["signal huge int"]
    assert (kind, message) == (
        "OrderError",
        "value: a signal value must be a finite number or NaN, got inf (signal 'x', bar 1 "
        "(2024-01-02T00:00:00.000000000))",
    )


# ---------------------------------------------------------------- fuzz: garbage arguments
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, 2, -1, 2**2000, -(2**2000)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["X", "Y", "Z", "", "buy", "SELL", "limit", "stop_limit", "gtc", "day"]),
    st.sampled_from(["close", "open", "volume", "market", "stop"]),
    st.text(max_size=3),
    st.sampled_from(
        [
            np.str_("X"),
            np.str_("buy"),
            np.int64(1),
            np.int8(-3),
            np.uint64(2**63),
            np.float32(0.5),
            np.float64("nan"),
            np.bool_(True),
            np.array([1.0]),
            np.array("X"),
        ]
    ),
    st.lists(st.sampled_from(["X", 1, None]), max_size=2),
    st.sampled_from([(), ("X",), {}, {"X": 1}, object(), b"X", 1j, slice(1)]),
)
#: Every ctx method, and the names of its parameters (for keyword calls).
METHODS = {
    "submit_order": (
        "symbol",
        "side",
        "quantity",
        "order_type",
        "limit_price",
        "stop_price",
        "time_in_force",
    ),
    "buy": ("symbol", "quantity", "order_type", "limit_price", "stop_price", "time_in_force"),
    "sell": ("symbol", "quantity", "order_type", "limit_price", "stop_price", "time_in_force"),
    "order_target_quantity": ("symbol", "quantity", "time_in_force"),
    "order_target_percent": ("symbol", "weight", "time_in_force"),
    "cancel": ("order_id",),
    "get_order": ("order_id",),
    "open_orders": (),
    "position": ("symbol",),
    "get_position": ("symbol",),
    "history": ("symbol", "field", "length"),
    "signal": ("name", "value", "symbol"),
    "portfolio.equity": (),
    "portfolio.position_of": ("symbol",),
    "portfolio.check_margin": ("column", "side", "quantity", "price", "max_leverage", "equity"),
}
SHAPE_ERROR = re.compile(r"^(Context|Portfolio)\.\w+\(\) ")


@st.composite
def garbage_calls(draw: st.DrawFn) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """A few ctx calls with drawn arguments: mostly the right shape, sometimes not."""
    calls = []
    for _ in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from(sorted(METHODS)))
        params = METHODS[name]
        n = draw(st.integers(0, len(params) + 1))
        args = [draw(GARBAGE) for _ in range(n)]
        kwargs = {}
        for key in draw(st.lists(st.sampled_from([*params, "bogus"]), max_size=2, unique=True)):
            kwargs[key] = draw(GARBAGE)
        calls.append((name, args, kwargs))
    return calls


def method_of(ctx: Any, name: str) -> Any:
    """`ctx.name`, or `ctx.portfolio.equity` for "portfolio.equity"."""
    owner, _, method = name.rpartition(".")
    return getattr(ctx.portfolio if owner else ctx, method)


@given(calls=garbage_calls())
def test_garbage_arguments_to_ctx_methods_get_the_same_answer_on_both_backends(
    backend_rust: None, calls: list[tuple[str, list[Any], dict[str, Any]]]
) -> None:
    named = {
        f"{k} {name}": (
            lambda c, name=name, args=args, kwargs=kwargs: method_of(c, name)(*args, **kwargs)
        )
        for k, (name, args, kwargs) in enumerate(calls)
    }
    answers = same_on_both(named)
    for kind, text in answers.values():
        if kind == "TypeError":
            assert SHAPE_ERROR.match(text), text  # only a wrong call shape is a TypeError
        elif kind != "ok":
            assert issubclass(getattr(__import__("quanta_ref"), kind), QuantaError), text


MARGIN_QUESTIONS: dict[str, Callable[[Any], Any]] = {
    "column text": lambda c: c.portfolio.check_margin("0", "buy", 1.0, 1.0, 1.0, 1.0),
    "column float": lambda c: c.portfolio.check_margin(0.0, "buy", 1.0, 1.0, 1.0, 1.0),
    "column huge": lambda c: c.portfolio.check_margin(2**70, "buy", 1.0, 1.0, 1.0, 1.0),
    "column numpy": lambda c: c.portfolio.check_margin(np.int64(0), "buy", 1.0, 1.0, 1.0, 1.0),
    "quantity text": lambda c: c.portfolio.check_margin(0, "buy", "1", 1.0, 1.0, 1.0),
    "quantity None": lambda c: c.portfolio.check_margin(0, "buy", None, 1.0, 1.0, 1.0),
    "quantity bool": lambda c: c.portfolio.check_margin(0, "buy", True, 1.0, 1.0, 1.0),
    "quantity huge": lambda c: c.portfolio.check_margin(0, "buy", 2**2000, 1.0, 1.0, 1.0),
    "leverage numpy": lambda c: c.portfolio.check_margin(0, "buy", 1.0, 1.0, np.float32(1), 1.0),
    "side": lambda c: c.portfolio.check_margin(0, 1, 1.0, 1.0, 1.0, 1.0),
}


def test_bad_margin_questions_are_order_errors_naming_the_argument(backend: str) -> None:
    answers = run_calls(backend, MARGIN_QUESTIONS)
    assert answers["column text"] == (
        "OrderError",
        "column: expected a whole number (a data column), got '0'",
    )
    assert answers["quantity None"] == ("OrderError", "quantity: expected a number, got None")
    assert answers["column huge"] == ("ok", "True")  # no symbol's column
    assert answers["quantity huge"] == ("ok", "False")  # infinite exposure
    assert answers["leverage numpy"] == ("ok", "True")


def test_bad_margin_questions_get_the_same_answers_on_both_backends(backend_rust: None) -> None:
    same_on_both(MARGIN_QUESTIONS)


def test_a_callback_that_is_not_callable_is_a_config_error(backend: str) -> None:
    class NotCallable(Strategy):
        on_fill = None  # type: ignore[assignment]

    with pytest.raises(ConfigError) as info:
        Engine(backend=backend).run(BARS, NotCallable())
    assert str(info.value) == "on_fill: a strategy's callback must be callable, got None"


def test_orders_refused_by_the_context_create_nothing(backend: str) -> None:
    answers = run_calls(backend, {**BAD_NUMBERS, "open": lambda c: len(c.open_orders())})
    assert answers["open"] == ("ok", "0")
