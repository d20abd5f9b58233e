"""The one contract: what a strategy sees, what a run returns, and how a backend is chosen.

Both backends implement `Backend.run` and the `Context` interface; user code only meets
`Engine`, `Strategy`, `Context` and `BacktestResult`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.errors import BackendUnavailable, ConfigError
from quanta_ref.events import BarEvent
from quanta_ref.orders import Fill, Order, Side, Trade

if TYPE_CHECKING:
    from quanta_ref.orders import Position

BACKENDS = ("python", "rust", "auto")

T = TypeVar("T")


class Context(abc.ABC):
    """What a strategy can ask and do during a run (the `ctx` of every callback).

    At bar t the context shows bar t complete and nothing later: `now` is bar t's timestamp,
    prices are bar t's closes, and `history` ends at bar t.
    """

    # -- orders ---------------------------------------------------------------------------
    @abc.abstractmethod
    def submit_order(
        self,
        symbol: str,
        side: Any,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
    ) -> int:
        """Submit an order; returns its id. A refused order is returned too, as REJECTED."""

    def buy(
        self,
        symbol: str,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
    ) -> int:
        """`submit_order(symbol, "buy", ...)`."""
        return self.submit_order(
            symbol, "buy", quantity, order_type, limit_price, stop_price, time_in_force
        )

    def sell(
        self,
        symbol: str,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
    ) -> int:
        """`submit_order(symbol, "sell", ...)`."""
        return self.submit_order(
            symbol, "sell", quantity, order_type, limit_price, stop_price, time_in_force
        )

    @abc.abstractmethod
    def cancel(self, order_id: int) -> bool:
        """Cancel a live order; False if it had already ended."""

    @abc.abstractmethod
    def order_target_quantity(
        self, symbol: str, quantity: float, time_in_force: Any = "gtc"
    ) -> int:
        """A market order that brings the position to `quantity`, sized when it fills."""

    @abc.abstractmethod
    def order_target_percent(self, symbol: str, weight: float, time_in_force: Any = "gtc") -> int:
        """A market order that brings the position's value to `weight` x equity, sized when it
        fills at the fill price (1.0 = all in, 0.0 = flat)."""

    @abc.abstractmethod
    def open_orders(self) -> list[Order]:
        """Snapshots of the live orders, oldest first."""

    @abc.abstractmethod
    def get_order(self, order_id: int) -> Order:
        """A snapshot of one order."""

    # -- account --------------------------------------------------------------------------
    @abc.abstractmethod
    def position(self, symbol: str) -> float:
        """Quantity held (negative when short)."""

    @abc.abstractmethod
    def get_position(self, symbol: str) -> Position:
        """A copy of the symbol's position: quantity, average cost, P&L."""

    @property
    @abc.abstractmethod
    def cash(self) -> float:
        """Cash now."""

    @property
    @abc.abstractmethod
    def equity(self) -> float:
        """Cash plus positions at their last close."""

    # -- data -----------------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def now(self) -> int | None:
        """Timestamp (int64 ns) of the current bar; None in `on_start`."""

    @property
    @abc.abstractmethod
    def bar_index(self) -> int:
        """Row of the current bar in the data (-1 in `on_start`)."""

    @property
    @abc.abstractmethod
    def symbols(self) -> tuple[str, ...]:
        """The symbols of the data, in data order."""

    @abc.abstractmethod
    def history(self, symbol: str, field: str = "close", length: int | None = None) -> np.ndarray:
        """Read-only view of `field` for `symbol` up to and including the current bar (the
        last `length` bars if given). NaN where the symbol had no bar."""

    @abc.abstractmethod
    def signal(self, name: str, value: float, symbol: str | None = None) -> None:
        """Record a named number (NaN allowed) at the current bar; returned in
        `BacktestResult.signals`."""


class Portfolio(abc.ABC):
    """The account of one run: cash and positions, valued at the last closes."""

    cash: float

    @abc.abstractmethod
    def equity(self) -> float:
        """Cash plus every position at its last close."""

    @abc.abstractmethod
    def position_of(self, symbol: str) -> Position:
        """The position in `symbol` (flat if never traded)."""

    @abc.abstractmethod
    def check_margin(
        self,
        column: int,
        side: Side,
        quantity: float,
        price: float,
        max_leverage: float,
        equity: float,
    ) -> bool:
        """Whether the gross exposure after this order stays within `max_leverage` x equity
        (the seed's `check_margin`)."""


class Strategy:
    """Base class of a strategy. Override the callbacks you need; the rest do nothing.

    Parameters are class attributes with defaults, overridden by constructor keywords:

    >>> class SmaCross(Strategy):
    ...     fast = 10
    ...     slow = 30
    >>> SmaCross(fast=5).fast
    5

    A subclass may define its own ``__init__`` and call ``super().__init__(**params)``.
    """

    def __init__(self, **params: Any) -> None:
        for name, value in params.items():
            default = getattr(type(self), name, None)
            if name.startswith("_") or not hasattr(type(self), name) or callable(default):
                raise ConfigError(f"{name}: not a parameter of {type(self).__name__}")
            setattr(self, name, value)

    def on_start(self, ctx: Context) -> None:
        """Called once before the first bar."""

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        """Called once per bar: timestamps ascending, then symbols in data order. Missing bars
        (suspensions) are not called."""

    def on_fill(self, ctx: Context, fill: Fill) -> None:
        """Called after each fill is booked."""

    def on_order(self, ctx: Context, order: Order) -> None:
        """Called on every status change of an order (rejections included)."""

    def on_end(self, ctx: Context) -> None:
        """Called once after the last bar."""


class _Built(Generic[T]):
    """A result field given either as its value or as a function of no arguments that builds
    it. The function runs on the first read and its value is kept: a backend can hand over
    the fills of a long run without turning them into Python objects until someone looks."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, result: Any, owner: type | None = None) -> T:
        if result is None:
            return self  # type: ignore[return-value]  # the class's attribute: the descriptor
        value = result.__dict__[self.slot]
        if callable(value):
            value = value()
            result.__dict__[self.slot] = value
        built: T = value
        return built

    def __set__(self, result: Any, value: T | Callable[[], T]) -> None:
        result.__dict__[self.slot] = value


class BacktestResult:
    """What a run returns. `result["sharpe_ratio"]` reads `result.stats`.

    Attributes
    ----------
    timestamps : numpy.ndarray
        int64 ns, (T,). Read-only, as are `equity` and `cash` (copy them to change them).
    equity, cash : numpy.ndarray
        float64, equity and cash at each timestamp's close, (T,).
    fills : list[Fill]
        Every fill, in booking order.
    orders : list[Order]
        Every order in its final state, by id.
    trades : list[Trade]
        Closed round trips, in closing order.
    positions : list[Position]
        Final positions, data order.
    stats : dict[str, float]
        `quanta_ref.metrics.compute_stats` plus total_commission, total_tax and n_fills.
    signals : list[SignalEvent]
        What the strategy recorded with `ctx.signal`.

    `fills`, `orders`, `trades`, `stats` and `signals` may be built on first read (the Rust
    backend does so); they are the same values either way, and a pickled result carries them
    built.
    """

    fills: _Built[list[Fill]] = _Built()
    orders: _Built[list[Order]] = _Built()
    trades: _Built[list[Trade]] = _Built()
    stats: _Built[dict[str, float]] = _Built()
    signals: _Built[list[Any]] = _Built()

    def __init__(
        self,
        timestamps: np.ndarray,
        equity: np.ndarray,
        cash: np.ndarray,
        fills: list[Fill] | Callable[[], list[Fill]],
        orders: list[Order] | Callable[[], list[Order]],
        trades: list[Trade] | Callable[[], list[Trade]],
        positions: list[Position],
        stats: dict[str, float] | Callable[[], dict[str, float]],
        signals: list[Any] | Callable[[], list[Any]] | None = None,
    ) -> None:
        for array in (timestamps, equity, cash):
            array.flags.writeable = False  # a record of the run; copy it to change it
        self.timestamps = timestamps
        self.equity = equity
        self.cash = cash
        self.fills = fills
        self.orders = orders
        self.trades = trades
        self.positions = positions
        self.stats = stats
        self.signals = [] if signals is None else signals

    def __getstate__(self) -> dict[str, Any]:
        for name in ("fills", "orders", "trades", "stats", "signals"):
            getattr(self, name)  # build everything before it leaves the process
        return self.__dict__

    def __repr__(self) -> str:
        final = float(self.equity[-1]) if len(self.equity) else float("nan")
        return f"BacktestResult({len(self.timestamps)} bars, final equity {final:,.2f})"

    def __getitem__(self, key: str) -> float:
        return self.stats[key]

    def fills_frame(self) -> Any:
        """`fills` as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame([{**f.__dict__, "side": f.side.value} for f in self.fills])

    def trades_frame(self) -> Any:
        """`trades` as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame([t.__dict__ for t in self.trades])

    def summary(self) -> str:
        """The stats as an aligned text table."""
        width = max(len(k) for k in self.stats)
        lines = []
        for key, value in self.stats.items():
            whole = value == value and abs(value) < 1e15 and value == int(value)
            text = f"{value:,.0f}" if whole else f"{value:,.4f}"
            lines.append(f"{key:<{width}}  {text:>16}")
        return "\n".join(lines)


class Backend(abc.ABC):
    """One implementation of the engine."""

    name: str

    @abc.abstractmethod
    def run(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> BacktestResult:
        """Run `strategy` over `bars` under `config`."""

    def run_jobs(
        self, bars: Bars, jobs: list[Any], config: EngineConfig, n_jobs: int | None = None
    ) -> list[BacktestResult]:
        """Run checked jobs (`quanta_ref.arrays.Signals`, `Targets`, or strategies), results
        in job order. The reference runs them one after the other, array jobs as their
        reference strategies; `n_jobs` is for backends that run jobs in parallel."""
        return [
            self.run(bars, job if isinstance(job, Strategy) else job.strategy(bars), config)
            for job in jobs
        ]


def _rust_backend() -> Backend:
    try:
        import quanta_fast
    except ImportError as exc:
        raise BackendUnavailable(
            f"backend: 'rust' needs the compiled extension quanta_fast._quanta_fast, which "
            f"does not import ({exc}); install with pip install -e '.[dev]'"
        ) from None
    if not getattr(quanta_fast, "ENGINE_AVAILABLE", False):
        raise BackendUnavailable(
            "backend: the Rust engine is not implemented yet in this "
            "build of quanta_fast; use backend='python'"
        )
    backend: Backend = quanta_fast.rust_backend()
    return backend


class Engine:
    """A configured backtest engine.

    Parameters
    ----------
    backend : "python" (the reference), "rust" (the accelerator; `BackendUnavailable` when it
        cannot load) or "auto" (rust when it loads, else python).
    **settings : engine configuration, see `quanta_ref.config.EngineConfig` and
        docs/semantics.md. Unknown or invalid settings raise `ConfigError`.
    """

    def __init__(self, backend: str = "python", **settings: Any) -> None:
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ConfigError(f"backend: must be one of {BACKENDS}, got {backend!r}")
        self.config = EngineConfig.build(**settings)
        if backend == "python":
            self._backend: Backend = _python_backend()
        elif backend == "rust":
            self._backend = _rust_backend()
        else:
            try:
                self._backend = _rust_backend()
            except BackendUnavailable:
                self._backend = _python_backend()

    @property
    def backend(self) -> str:
        """Name of the backend in use: "python" or "rust"."""
        return self._backend.name

    def run(self, bars: Bars, strategy: Strategy) -> BacktestResult:
        """Run `strategy` over `bars`; see `BacktestResult`."""
        self.check_bars(bars)
        if not isinstance(strategy, Strategy):
            raise ConfigError(
                f"strategy: expected a Strategy instance, got {type(strategy).__name__}"
            )
        return self._backend.run(bars, strategy, self.config)

    def run_signals(
        self,
        bars: Bars,
        entries: Any,
        exits: Any,
        *,
        short_entries: Any = None,
        short_exits: Any = None,
        size: float = 1.0,
        size_type: str = "percent",
        stop_loss: float | None = None,
        take_profit: float | None = None,
    ) -> BacktestResult:
        """Trade boolean signal arrays (T, N) with no Python per bar; see
        `quanta_ref.arrays.Signals` for every parameter and docs/semantics.md section 16 for
        the rules. The fills are those of the equivalent `Strategy`
        (`quanta_ref.arrays.SignalStrategy`) on either backend."""
        from quanta_ref.arrays import Signals

        job = Signals(
            entries, exits, short_entries, short_exits, size, size_type, stop_loss, take_profit
        )
        return self.run_many(bars, [job])[0]

    def run_targets(self, bars: Bars, weights: Any) -> BacktestResult:
        """Rebalance to target weights (T, N) (NaN = leave as is) with no Python per bar; see
        `quanta_ref.arrays.Targets`."""
        from quanta_ref.arrays import Targets

        return self.run_many(bars, [Targets(weights)])[0]

    def run_many(
        self,
        bars: Bars,
        jobs: Any,
        n_jobs: int | None = None,
        progress: bool = False,
        executor: Any = None,
    ) -> list[BacktestResult]:
        """Run many jobs (`Signals`, `Targets` or `Strategy` instances) on the same bars;
        results in job order, identical whatever `n_jobs` or `executor`. See
        `quanta_ref.grid.run_many`."""
        from quanta_ref.grid import run_many

        return run_many(self, bars, jobs, n_jobs=n_jobs, progress=progress, executor=executor)

    def optimize(
        self,
        bars: Bars,
        make_job: Any,
        grid: dict[str, Any],
        metric: str = "sharpe_ratio",
        constraint: Any = None,
        maximize: bool = True,
        n_jobs: int | None = None,
        progress: bool = False,
        executor: Any = None,
    ) -> Any:
        """Run `make_job(cache, **params)` for every combination of `grid` and rank them by
        `metric`; see `quanta_ref.grid.optimize`."""
        from quanta_ref.grid import optimize

        return optimize(
            self,
            bars,
            make_job,
            grid,
            metric=metric,
            constraint=constraint,
            maximize=maximize,
            n_jobs=n_jobs,
            progress=progress,
            executor=executor,
        )

    def check_bars(self, bars: Any) -> None:
        """ConfigError unless `bars` is a Bars panel this engine's settings can trade."""
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars: expected a quanta Bars panel, got {type(bars).__name__}")
        if self.config.max_volume_fraction is not None and not (bars.volume > 0.0).any():
            raise ConfigError(
                "max_volume_fraction: the data has no volume (all zero), so "
                "nothing could ever fill; drop the participation limit"
            )

    def __repr__(self) -> str:
        changed = {
            k: v for k, v in self.config.as_dict().items() if v != getattr(EngineConfig, k, None)
        }
        return f"Engine(backend={self.backend!r}, {changed})"


def _python_backend() -> Backend:
    from quanta_ref.engine import ReferenceBackend

    return ReferenceBackend()
