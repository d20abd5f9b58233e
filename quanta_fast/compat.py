"""Compatibility names: `RustBacktestEngine` and `RustExecutionEngine`, the engines that
quanta's original design document uses in its examples.

Thin wrappers over `quanta_ref.Engine`, for code written against the design's examples:

* `RustBacktestEngine(initial_cash, commission_rate).run_backtest(bars, strategy)` runs a
  `quanta_ref.Strategy` and returns the usual `BacktestResult` (``result["total_return"]``
  reads its stats); `get_equity_curve()` gives the last run's equity.
* `RustExecutionEngine` runs a strategy written in the design's style: any object with
  ``on_bar(self, bar)`` (no ``ctx``) that trades through
  ``self.engine.submit_order(symbol=..., side="BUY", quantity=1000)``. `register_strategy`
  gives it that ``engine`` (an `EngineHandle`).

Both run on the Rust backend. Their ``backend`` keyword exists so that the tests can run the
same example on ``"python"`` too and compare the two bit for bit; it is not meant for users,
who would call `quanta_ref.Engine` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from quanta_ref.api import BacktestResult, Context, Strategy
from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError, QuantaError
from quanta_ref.events import BarEvent
from quanta_ref.front import Engine
from quanta_ref.orders import Fill, Order

__all__ = ["EngineHandle", "RunStateError", "RustBacktestEngine", "RustExecutionEngine"]


class RunStateError(QuantaError, RuntimeError):
    """Something was asked of a compatibility engine at the wrong time: its equity curve
    before any run, or an order (or an account read-out) from outside a run."""


class _LastRun:
    """What both compatibility engines share: the configured `Engine` and the result of the
    last run."""

    _run_hint = "run it first"

    def __init__(self, backend: str, settings: dict[str, Any]) -> None:
        self._engine = Engine(backend=backend, **settings)
        self._result: BacktestResult | None = None

    @property
    def backend(self) -> str:
        """Name of the backend in use: "rust" (or "python" in the differential tests)."""
        return self._engine.backend

    @property
    def config(self) -> EngineConfig:
        """The engine settings, see `quanta_ref.config.EngineConfig`."""
        return self._engine.config

    def get_equity_curve(self) -> np.ndarray:
        """The last run's equity at each bar's close (float64, one value per timestamp).

        A copy of `BacktestResult.equity`; the matching timestamps are the result's
        `timestamps`.

        Raises
        ------
        RunStateError
            If nothing has run on this engine yet.
        """
        if self._result is None:
            raise RunStateError(
                f"get_equity_curve: no backtest has run on this engine yet; {self._run_hint}"
            )
        return self._result.equity.copy()


class RustBacktestEngine(_LastRun):
    """The backtest engine of the design's examples: `quanta_ref.Engine` under that name.

    Parameters
    ----------
    initial_cash : float, default 1_000_000.0
        Starting cash.
    commission_rate : float, default 0.0
        Commission as a fraction of traded value, per fill.
    backend : str, default "rust"
        The engine backend. "rust" is what the name promises; "python" (the reference) exists
        for the differential tests.
    **settings
        Any other engine setting, see `quanta_ref.config.EngineConfig`.

    Raises
    ------
    ConfigError
        On an unknown or invalid setting.
    BackendUnavailable
        If the Rust extension cannot run the engine.
    """

    _run_hint = "call run_backtest(bars, strategy) first"

    def __init__(
        self,
        initial_cash: float = 1_000_000.0,
        commission_rate: float = 0.0,
        *,
        backend: str = "rust",
        **settings: Any,
    ) -> None:
        super().__init__(
            backend, {"initial_cash": initial_cash, "commission_rate": commission_rate, **settings}
        )

    def run_backtest(self, bars: Bars, strategy: Strategy) -> BacktestResult:
        """Run `strategy` over `bars`; see `quanta_ref.Engine.run`.

        The result answers ``result["total_return"]``, ``result["sharpe_ratio"]`` and every
        other statistic by name; `get_equity_curve` then returns its equity.
        """
        self._result = self._engine.run(bars, strategy)
        return self._result


class EngineHandle:
    """What a strategy in the design's style sees as ``self.engine``: the running engine's
    order entry and account, forwarded to the run's `quanta_ref.api.Context`.

    Usable only while `RustExecutionEngine.run` is calling the strategy; at any other time
    every method raises `RunStateError`. For anything not forwarded here, `context` is the
    full `Context` of the run.
    """

    def __init__(self) -> None:
        self._ctx: Context | None = None

    @property
    def context(self) -> Context:
        """The current run's `Context` (the ``ctx`` of `quanta_ref.Strategy` callbacks)."""
        return self._running("context")

    def submit_order(
        self,
        symbol: str,
        side: Any,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
    ) -> int:
        """Submit an order and return its id; see `quanta_ref.api.Context.submit_order`.
        Sides, order types and times in force are names in any case (``side="BUY"``)."""
        return self._running("submit_order").submit_order(
            symbol,
            side,
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            expire_at,
            trail_amount,
            trail_percent,
        )

    def cancel(self, order_id: int) -> bool:
        """Cancel a live order; see `quanta_ref.api.Context.cancel`."""
        return self._running("cancel").cancel(order_id)

    def position(self, symbol: str) -> float:
        """Quantity held in `symbol` (negative when short)."""
        return self._running("position").position(symbol)

    @property
    def cash(self) -> float:
        """Cash now."""
        return self._running("cash").cash

    @property
    def equity(self) -> float:
        """Cash plus positions at their last close."""
        return self._running("equity").equity

    @property
    def now(self) -> int | None:
        """Timestamp (int64 ns) of the current bar; None in ``on_start``."""
        return self._running("now").now

    def _running(self, what: str) -> Context:
        if self._ctx is None:
            raise RunStateError(
                f"{what}: the engine is not running; a strategy can use "
                f"self.engine only from its callbacks during "
                f"RustExecutionEngine.run()"
            )
        return self._ctx


_DESIGN_STYLE_CALLBACKS = ("on_start", "on_bar", "on_fill", "on_order", "on_end")


class _DesignStyleStrategy(Strategy):
    """Runs a strategy in the design's style as a `quanta_ref.Strategy`: each callback drops
    the ``ctx`` (the strategy reaches the run through ``self.engine``) and goes to the
    strategy's own method of that name, if it has one."""

    def __init__(self, strategy: Any, handle: EngineHandle) -> None:
        super().__init__()
        self._wrapped = strategy
        self._handle = handle
        found = {name: getattr(strategy, name, None) for name in _DESIGN_STYLE_CALLBACKS}
        self._callbacks: dict[str, Callable[..., Any]] = {
            name: method for name, method in found.items() if callable(method)
        }

    def on_start(self, ctx: Context) -> None:
        # The run's one context, held by the handle until RustExecutionEngine.run ends. The
        # strategy is (re)bound to this engine here, in case it was registered elsewhere since.
        self._handle._ctx = ctx
        self._wrapped.engine = self._handle
        if "on_start" in self._callbacks:
            self._callbacks["on_start"]()

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        self._callbacks["on_bar"](bar)

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        if "on_fill" in self._callbacks:
            self._callbacks["on_fill"](fill)

    def on_order(self, ctx: Context, order: Order) -> None:
        if "on_order" in self._callbacks:
            self._callbacks["on_order"](order)

    def on_end(self, ctx: Context) -> None:
        if "on_end" in self._callbacks:
            self._callbacks["on_end"]()


class RustExecutionEngine(_LastRun):
    """The "Python strategy + Rust execution" engine of the design's examples.

    It runs one strategy over one `Bars` panel. The strategy is either a `quanta_ref.Strategy`
    (run as is) or an object in the design's style: ``on_bar(self, bar)`` is required, and
    ``on_start(self)``, ``on_fill(self, fill)``, ``on_order(self, order)`` and
    ``on_end(self)`` are called when defined. None of them gets a ``ctx``: the strategy trades
    and reads its account through ``self.engine``, an `EngineHandle`.

    Parameters
    ----------
    bars : Bars, optional
        The data to run on; or give it later with `add_data`.
    backend : str, default "rust"
        The engine backend. "rust" is what the name promises; "python" (the reference) exists
        for the differential tests.
    **settings
        Engine settings, see `quanta_ref.config.EngineConfig` (``initial_cash`` defaults to
        1,000,000).

    Raises
    ------
    ConfigError
        On an unknown or invalid setting, or if `bars` is not a `Bars` panel.
    BackendUnavailable
        If the Rust extension cannot run the engine.

    Examples
    --------
    >>> from quanta_ref.data import load_sample
    >>> class BuyFirstBar:
    ...     def on_bar(self, bar):
    ...         if self.engine.position(bar.symbol) == 0:
    ...             self.engine.submit_order(symbol=bar.symbol, side="BUY", quantity=1000)
    >>> engine = RustExecutionEngine(load_sample("MSFT").between("2010-01-01", "2010-12-31"))
    >>> engine.register_strategy(BuyFirstBar())
    >>> engine.run().positions[0].quantity
    1000.0
    """

    _run_hint = "call run() first"

    def __init__(self, bars: Bars | None = None, *, backend: str = "rust", **settings: Any) -> None:
        super().__init__(backend, settings)
        self._bars: Bars | None = None
        self._strategy: Strategy | None = None
        self._handle = EngineHandle()
        self._in_run = False
        if bars is not None:
            self.add_data(bars)

    def add_data(self, bars: Bars) -> None:
        """Give the engine its data: one `Bars` panel, with every symbol the strategy trades
        (build several symbols into one panel, e.g. with `quanta_ref.data.load_samples`).

        Raises
        ------
        ConfigError
            If `bars` is not a `Bars` panel, or the engine already has data.
        """
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars: expected a quanta Bars panel, got {type(bars).__name__}")
        if self._bars is not None:
            raise ConfigError(
                "bars: this engine already has its data; put every symbol in one "
                "Bars panel (e.g. quanta_ref.data.load_samples([...]))"
            )
        self._bars = bars

    def register_strategy(self, strategy: Any) -> None:
        """Register the one strategy to run, and set its ``engine`` attribute to this engine's
        `EngineHandle` (a `quanta_ref.Strategy` is run as is, untouched).

        Raises
        ------
        ConfigError
            If a strategy is already registered, `strategy` is a class rather than an
            instance, it has no ``on_bar`` method, or it does not accept an ``engine``
            attribute.
        """
        if self._strategy is not None:
            raise ConfigError(
                "strategy: this engine already has a strategy; it runs one strategy per engine"
            )
        if isinstance(strategy, Strategy):
            self._strategy = strategy
            return
        name = getattr(strategy, "__name__", type(strategy).__name__)
        if isinstance(strategy, type):
            raise ConfigError(
                f"strategy: got the class {name}; register an instance, e.g. {name}()"
            )
        if not callable(getattr(strategy, "on_bar", None)):
            raise ConfigError(f"strategy: {name} has no on_bar(self, bar) method")
        try:
            strategy.engine = self._handle
        except AttributeError as exc:
            raise ConfigError(
                f"strategy: cannot set {name}.engine ({exc}); the strategy "
                f"reaches the engine through self.engine"
            ) from None
        self._strategy = _DesignStyleStrategy(strategy, self._handle)

    def run(self) -> BacktestResult:
        """Run the registered strategy over the data; see `quanta_ref.Engine.run`.

        The strategy's state carries over if `run` is called again.

        Raises
        ------
        ConfigError
            If the engine has no data or no strategy.
        RunStateError
            If called while this engine is already running.
        """
        if self._bars is None:
            raise ConfigError(
                "bars: the engine has no data; pass bars to "
                "RustExecutionEngine(bars) or call add_data(bars) before run()"
            )
        if self._strategy is None:
            raise ConfigError(
                "strategy: the engine has no strategy; call "
                "register_strategy(strategy) before run()"
            )
        if self._in_run:
            raise RunStateError("run: this engine is already running")
        self._in_run = True
        try:
            self._result = self._engine.run(self._bars, self._strategy)
        finally:
            self._in_run = False
            self._handle._ctx = None
        return self._result
