"""Backends are found by name (`quanta_ref.backends`), and both implement the contract's
`Portfolio` (`ctx.portfolio`)."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from quanta_ref import Engine, Portfolio, Side, Strategy, backends, data
from quanta_ref.engine import ReferenceBackend
from quanta_ref.errors import BackendUnavailable, ConfigError


class ReplayBackend(ReferenceBackend):
    """A third-party backend as a plug-in would declare it: here, the reference renamed."""

    name = "replay"


def declare(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """Install an entry point of the group `quanta.backends`, as a package would."""
    point = EntryPoint(name=name, value=value, group=backends.GROUP)
    installed = backends._plugins()
    monkeypatch.setattr(backends, "_plugins", lambda: {**installed, name: point})


def test_the_default_backend_is_auto_the_fastest_available(backend_rust: None) -> None:
    assert Engine().backend == "rust"
    assert Engine(backend="auto").backend == "rust"
    assert Engine(backend="python").backend == "python"


def test_the_rust_backend_is_an_installed_entry_point(backend_rust: None) -> None:
    assert backends.names() == ("python", "rust", "auto")
    assert backends._plugins()["rust"].value == "quanta_fast.engine:RustBackend"


def test_a_plugged_in_backend_is_found_by_name_and_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    declare(monkeypatch, "replay", f"{__name__}:ReplayBackend")
    assert "replay" in backends.names()
    bars = data.load_sample("IBM")
    from quanta_ref.examples import SmaCross

    replayed = Engine(backend="replay").run(bars, SmaCross())
    reference = Engine(backend="python").run(bars, SmaCross())
    assert Engine(backend="replay").backend == "replay"
    assert replayed.equity.tobytes() == reference.equity.tobytes()


def test_a_backend_that_does_not_import_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    declare(monkeypatch, "gpu", "quanta_gpu_not_installed.engine:GpuBackend")
    with pytest.raises(BackendUnavailable, match="'gpu'.*quanta_gpu_not_installed"):
        Engine(backend="gpu")


def test_an_entry_point_that_is_not_a_backend_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declare(monkeypatch, "broken", "collections:OrderedDict")
    with pytest.raises(ConfigError, match="not a quanta_ref.api.Backend"):
        Engine(backend="broken")


@pytest.mark.parametrize("name", ["gpu", "", "Python", None, 3])
def test_an_unknown_backend_name_is_a_config_error_listing_the_names(name: Any) -> None:
    with pytest.raises(ConfigError, match=r"backend: must be one of \('python', .*'auto'\)"):
        Engine(backend=name)


def test_auto_falls_back_to_the_reference_when_no_other_backend_loads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declare(monkeypatch, "rust", "quanta_rust_not_built:RustBackend")
    assert Engine().backend == "python"
    with pytest.raises(BackendUnavailable):
        Engine(backend="rust")


class ReadsPortfolio(Strategy):
    """Buys 100 IBM on the first bar and records what `ctx.portfolio` says at every bar."""

    def on_start(self, ctx: Any) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def on_bar(self, ctx: Any, bar: Any) -> None:
        portfolio = ctx.portfolio
        assert isinstance(portfolio, Portfolio)
        if ctx.bar_index == 0:
            ctx.buy("IBM", 100)
        position = portfolio.position_of("IBM")
        assert position == ctx.get_position("IBM")
        position.quantity = 1e9  # a copy: the account does not change
        assert portfolio.position_of("IBM").quantity == ctx.position("IBM")
        assert (portfolio.cash, portfolio.equity()) == (ctx.cash, ctx.equity)
        self.seen.append(
            (
                portfolio.cash,
                portfolio.equity(),
                portfolio.check_margin(0, Side.BUY, 100.0, bar.close, 1.0, ctx.equity),
                portfolio.check_margin(0, Side.SELL, 50.0, bar.close, 0.001, ctx.equity),
            )
        )


def test_both_backends_give_the_strategy_the_contract_portfolio(backend: str) -> None:
    bars = data.load_sample("IBM").between("2010-01-01", "2010-03-01")
    strategy = ReadsPortfolio()
    result = Engine(backend=backend).run(bars, strategy)
    assert len(result.fills) == 1
    assert [(s[0], s[1]) for s in strategy.seen[2:]] == [
        (c, e) for c, e in zip(result.cash[2:], result.equity[2:], strict=True)
    ]
    assert all(fits for _, _, fits, _ in strategy.seen)
    assert not strategy.seen[-1][3]  # 50 of 100 held, but leverage 0.001 is below it


def test_the_portfolio_is_the_same_on_both_backends(backend_rust: None) -> None:
    bars = data.load_sample("IBM").between("2010-01-01", "2010-03-01")
    seen = {}
    for backend in ("python", "rust"):
        strategy = ReadsPortfolio()
        Engine(backend=backend).run(bars, strategy)
        seen[backend] = strategy.seen
    assert seen["python"] == seen["rust"]


class Done(Exception):
    """Ends a run early from a callback."""


class AsksBadQuestions(Strategy):
    """Asks `ctx.portfolio` about a symbol and a side that do not exist."""

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.answers = []
        for ask in (
            lambda: ctx.portfolio.position_of("NOPE"),
            lambda: ctx.portfolio.position_of(42),
            lambda: ctx.portfolio.check_margin(0, "short", 1.0, 1.0, 1.0, 1.0),
            lambda: ctx.portfolio.check_margin(0, "BUY", 1e9, 1.0, 1.0, 1.0),
            lambda: ctx.portfolio.check_margin(0, Side.BUY, 1e9, 1.0, 1.0, 1.0),
            lambda: ctx.portfolio.check_margin(5, "sell", 1.0, 1.0, 1.0, 1.0),
        ):
            try:
                self.answers.append(ask())
            except Exception as error:  # noqa: BLE001 - the error is the answer
                self.answers.append((type(error).__name__, str(error)))
        raise Done  # one bar is enough


def test_bad_portfolio_questions_get_the_same_answers_on_both_backends(
    backend_rust: None,
) -> None:
    bars = data.load_sample("IBM").between("2010-01-01", "2010-01-10")
    answers = {}
    for backend in ("python", "rust"):
        strategy = AsksBadQuestions()
        with pytest.raises(Done):
            Engine(backend=backend).run(bars, strategy)
        answers[backend] = strategy.answers
    assert answers["python"] == answers["rust"]
    assert answers["python"][:3] == [
        ("OrderError", "symbol: unknown symbol 'NOPE'; the data has ['IBM']"),
        ("OrderError", "symbol: unknown symbol 42; the data has ['IBM']"),
        ("OrderError", "side: 'short' is not one of 'buy', 'sell'"),
    ]
    assert answers["python"][3:] == [False, False, True]


def test_a_backend_that_fails_to_load_in_any_way_is_unavailable_and_auto_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An extension built from older sources fails with AttributeError, not ImportError.
    declare(monkeypatch, "rust", f"{__name__}:raises_attribute_error")
    with pytest.raises(BackendUnavailable, match="AttributeError: no Portfolio"):
        Engine(backend="rust")
    assert Engine().backend == "python"


def raises_attribute_error() -> None:
    raise AttributeError("no Portfolio")


def test_rust_without_its_entry_point_is_unavailable_not_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backends, "_plugins", dict)
    with pytest.raises(BackendUnavailable, match="pip install"):
        Engine(backend="rust")
    assert Engine().backend == "python"


def test_a_bad_backend_name_is_reported_before_bad_settings() -> None:
    with pytest.raises(ConfigError, match="backend"):
        Engine(backend="nope", commission_rate=-1.0)


def test_the_indicator_cache_names_the_backend_that_computes() -> None:
    from quanta_ref import IndicatorCache

    bars = data.load_sample("IBM")
    assert IndicatorCache(bars, "auto").backend == Engine().backend
    with pytest.raises(ConfigError, match="backend"):
        IndicatorCache(bars, "gpu")


class WritesPortfolio(Strategy):
    """Tries to change the account through `ctx.portfolio`."""

    def on_bar(self, ctx: Any, bar: Any) -> None:
        with pytest.raises(AttributeError):
            ctx.portfolio.cash = 0.0
        assert not hasattr(ctx.portfolio, "positions")
        assert not hasattr(ctx.portfolio, "apply_fill")


def test_the_portfolio_a_strategy_sees_is_read_only(backend: str) -> None:
    bars = data.load_sample("IBM").between("2010-01-01", "2010-01-10")
    result = Engine(backend=backend).run(bars, WritesPortfolio())
    assert result.cash[-1] == Engine().config.initial_cash
