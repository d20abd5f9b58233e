"""The one contract: what a strategy sees, what a run returns, what a backend implements.

Every backend implements `Backend` and gives its strategies a `Context` (with a `Portfolio`);
user code meets `Strategy`, `Context` and `BacktestResult` here, and `Engine`
(`quanta_ref.front`) on top. This module imports only the domain's nouns: bars, settings,
errors, events, orders.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Generic, TypeVar

import numpy as np

from quanta_ref import analysis
from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError
from quanta_ref.events import BarEvent
from quanta_ref.orders import CorporateActionRecord, Fill, Order, Position, Side, Trade

T = TypeVar("T")


class Context(abc.ABC):
    """What a strategy can ask and do during a run (the `ctx` of every callback).

    At bar t the context shows bar t complete and nothing later: `now` is bar t's timestamp,
    prices are bar t's closes, and `history` ends at bar t. It is valid only inside the
    callbacks of its run, on the thread running it, and read-only (docs/semantics.md,
    section 15).
    """

    __slots__ = ()

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
        expire_at: Any = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
    ) -> int:
        """Submit an order; returns its id. A refused order is returned too, as REJECTED.

        Parameters
        ----------
        symbol, side, quantity
            What to trade: a symbol of the data, "buy" or "sell", a quantity > 0.
        order_type
            "market", "limit", "stop", "stop_limit" or "trailing_stop" (docs/semantics.md,
            sections 4 and 21).
        limit_price, stop_price
            Given exactly when the order type uses them (a trailing stop computes its stop).
        time_in_force
            "gtc", "day", "ioc" (one attempt; the rest is cancelled), "fok" (one attempt, all
            of it or nothing) or "gtd" (live through `expire_at`).
        expire_at
            A GTD order's last instant (a date, a datetime, text, or int64 ns; a date keeps
            the whole day); only for "gtd", and required there.
        trail_amount, trail_percent
            A trailing stop's distance from the closes, in price or as a fraction 0 < p < 1 of
            the close: exactly one, and only for "trailing_stop".
        """

    def buy(
        self,
        symbol: str,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
    ) -> int:
        """`submit_order(symbol, "buy", ...)`."""
        return self.submit_order(
            symbol,
            "buy",
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            expire_at,
            trail_amount,
            trail_percent,
        )

    def sell(
        self,
        symbol: str,
        quantity: float,
        order_type: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
        trail_amount: float | None = None,
        trail_percent: float | None = None,
    ) -> int:
        """`submit_order(symbol, "sell", ...)`."""
        return self.submit_order(
            symbol,
            "sell",
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            expire_at,
            trail_amount,
            trail_percent,
        )

    @abc.abstractmethod
    def cancel(self, order_id: int) -> bool:
        """Cancel a live order; False if it had already ended."""

    @abc.abstractmethod
    def oco(self, order_ids: Any) -> int:
        """Put two or more live orders in a one-cancels-other group; returns the group's id.

        When one of them fills (in whole or in part) or ends, the others still live are
        cancelled at once (reason ``"oco"``), before any callback sees the change
        (docs/semantics.md, section 22). An order is in at most one group.

        Parameters
        ----------
        order_ids : list or tuple of int
            Ids of live orders that are in no group yet.

        Returns
        -------
        int
            The group id (1, 2, ... in the run), also in each member's `Order.oco_group`.

        Raises
        ------
        OrderError
            Fewer than two ids, an unknown id, an id twice, an order not live or already in
            a group; nothing changes.
        """

    @abc.abstractmethod
    def bracket(
        self,
        symbol: str,
        side: Any,
        quantity: float,
        entry: Any = "market",
        limit_price: float | None = None,
        stop_price: float | None = None,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
    ) -> int:
        """An entry order with a stop-loss and/or a take-profit exit; returns the entry's id.

        At each fill of the entry, exits of the filled quantity are submitted (a stop order
        at `stop_loss`, then a limit order at `take_profit`, both GTC, of the opposite side,
        in one one-cancels-other group, `parent_id` = the entry's id), or the live exits grow
        by it. They trade from the next bar; in a bar that reaches both, the stop-loss (the
        older order) fills first (docs/semantics.md, section 22).

        Parameters
        ----------
        symbol, side, quantity
            As for `submit_order`.
        entry : str
            The entry's order type: "market", "limit", "stop" or "stop_limit", priced by
            `limit_price` / `stop_price` as `submit_order` prices it.
        stop_loss, take_profit : float, optional
            Absolute exit prices, finite and > 0; at least one. With both, a buy needs
            ``stop_loss < take_profit`` and a sell ``stop_loss > take_profit``.
        time_in_force : str
            The entry's (any; a "gtd" entry takes `expire_at`, as in `submit_order`); the
            exits are GTC. A trailing-stop entry is refused.
        expire_at : optional
            A "gtd" entry's last instant, as in `submit_order`.

        Raises
        ------
        OrderError
            A bad argument, naming it; no order is created.
        """

    @abc.abstractmethod
    def order_target_quantity(
        self, symbol: str, quantity: float, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int:
        """A market order that brings the position to `quantity`, sized when it fills
        (`time_in_force` and `expire_at` as for `submit_order`)."""

    @abc.abstractmethod
    def order_target_percent(
        self, symbol: str, weight: float, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int:
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

    @property
    @abc.abstractmethod
    def portfolio(self) -> Portfolio:
        """The run's account (read it; change it only through orders)."""

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
        """Record a named number (finite, or NaN for "no value") at the current bar; returned
        in `BacktestResult.signals`."""


class Portfolio(abc.ABC):
    """The account of one run: cash and positions, valued at the last closes.

    Both backends implement it: the reference's `quanta_ref.portfolio.Portfolio`, and the
    native view of the Rust run's account. A strategy reads it as ``ctx.portfolio``.
    """

    cash: float

    @abc.abstractmethod
    def equity(self) -> float:
        """Cash plus every position at its last close."""

    @abc.abstractmethod
    def position_of(self, symbol: str) -> Position:
        """A copy of the position in `symbol` (flat if never traded)."""

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
        """Whether the gross exposure after an order of `quantity` at `price` in the symbol of
        data column `column` stays within `max_leverage` x `equity` (docs/semantics.md,
        section 9; values x each symbol's contract multiplier, symbols with a margin rate
        left out: section 24)."""


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


#: The callbacks of a `Strategy`, in the order a run first calls them.
CALLBACKS = ("on_start", "on_bar", "on_fill", "on_order", "on_end")


def strategy_callbacks(strategy: Strategy) -> dict[str, Callable[..., Any] | None]:
    """The strategy's callbacks, looked up once, when a run starts (docs/semantics.md, section
    15): each bound callable by name, or None where it is `Strategy`'s own no-op (a backend
    need not call those). `ConfigError` for one that is not callable, or that is a coroutine
    function (``async def``): the engine calls callbacks and never awaits what they return."""
    found: dict[str, Callable[..., Any] | None] = {}
    for name in CALLBACKS:
        method = getattr(strategy, name)
        if not callable(method):
            raise ConfigError(f"{name}: a strategy's callback must be callable, got {method!r}")
        if inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method):
            raise ConfigError(
                f"{name}: a strategy's callback must be a plain function, not async def "
                f"(the engine never awaits it), got {getattr(method, '__qualname__', name)}"
            )
        default = getattr(method, "__func__", None) is getattr(Strategy, name)
        found[name] = None if default else method
    return found


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
    rejections : dict[str, int]
        How many orders the engine rejected, by reason (`Order.reject_reason`), reasons in
        name order; empty when none was.
    corporate_actions : list[CorporateActionRecord]
        The corporate actions (`Bars.actions`) applied to a holding, in application order.
    bars : Bars or None
        The data of the run (what the buy-and-hold benchmark, the plots and the report read).
    config : EngineConfig or None
        The settings of the run.

    `fills`, `orders`, `trades`, `stats`, `signals`, `rejections` and `corporate_actions`
    may be built on first read (the Rust backend does so); they are the same values either
    way, and a pickled result carries them built.
    """

    fills: _Built[list[Fill]] = _Built()
    orders: _Built[list[Order]] = _Built()
    trades: _Built[list[Trade]] = _Built()
    stats: _Built[dict[str, float]] = _Built()
    signals: _Built[list[Any]] = _Built()
    rejections: _Built[dict[str, int]] = _Built()
    corporate_actions: _Built[list[CorporateActionRecord]] = _Built()

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
        rejections: dict[str, int] | Callable[[], dict[str, int]] | None = None,
        corporate_actions: (
            list[CorporateActionRecord] | Callable[[], list[CorporateActionRecord]] | None
        ) = None,
        *,
        bars: Bars | None = None,
        config: EngineConfig | None = None,
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
        self.rejections = {} if rejections is None else rejections
        self.corporate_actions = [] if corporate_actions is None else corporate_actions
        self.bars = bars
        self.config = config

    def __getstate__(self) -> dict[str, Any]:
        for name in (
            "fills",
            "orders",
            "trades",
            "stats",
            "signals",
            "rejections",
            "corporate_actions",
        ):
            getattr(self, name)  # build everything before it leaves the process
        return self.__dict__

    def __repr__(self) -> str:
        final = float(self.equity[-1]) if len(self.equity) else float("nan")
        return f"BacktestResult({len(self.timestamps)} bars, final equity {final:,.2f})"

    def __getitem__(self, key: str) -> float:
        return self.stats[key]

    # -- as pandas (quanta_ref.analysis; needs pandas) -----------------------------------
    def fills_frame(self) -> Any:
        """`fills` as a DataFrame: timestamps as datetime64, symbols and sides as strings."""
        return analysis.fills_frame(self)

    def orders_frame(self) -> Any:
        """`orders` as a DataFrame, one row per order with its status and reject reason."""
        return analysis.orders_frame(self)

    def trades_frame(self) -> Any:
        """`trades` as a DataFrame, with each trade's side ("long"/"short") and duration."""
        return analysis.trades_frame(self)

    def corporate_actions_frame(self) -> Any:
        """`corporate_actions` as a DataFrame, one row per action applied to a holding."""
        return analysis.corporate_actions_frame(self)

    def positions_frame(self) -> Any:
        """The final `positions` as a DataFrame, with market value and unrealized P&L."""
        return analysis.positions_frame(self)

    def equity_series(self) -> Any:
        """Equity at each bar's close, a Series on a DatetimeIndex."""
        return analysis.equity_series(self)

    def returns(self) -> Any:
        """Per-bar returns, a Series on a DatetimeIndex (what quantstats, empyrical and
        pyfolio take); the first is measured against the initial cash."""
        return analysis.returns_series(self)

    def drawdown(self) -> Any:
        """Drawdown from the running peak at each bar (a fraction <= 0), a Series."""
        return analysis.drawdown_series(self)

    def stats_series(self, benchmark: Any = None) -> Any:
        """`stats` followed by `quanta_ref.analysis.extended_stats` (benchmark, alpha and
        beta, trades, rejected orders), a float Series indexed by key. Fractions stay
        fractions (0.05 is 5 %); `quanta_ref.analysis.STAT_INFO` has each key's label, unit
        and description. `benchmark`: None (the equal-weight buy-and-hold of the universe),
        a symbol of the bars, or one return per bar (see `analysis.benchmark_returns`)."""
        return analysis.stats_series(self, benchmark)

    def _repr_html_(self) -> str:
        """Jupyter's view: the main statistics and a sparkline of the equity."""
        return analysis.result_html(self)

    # -- charts and report (quanta_report; needs plotly and pandas) ---------------------
    def plot(self, symbol: str | None = None, benchmark: Any = None) -> Any:
        """The run as a plotly figure of linked panels: equity against the benchmark,
        drawdown, the price of `symbol` with every fill, the position, the volume
        (`quanta_report.figure`; ``pip install quanta[plot]``).

        Parameters
        ----------
        symbol : str, optional
            The symbol of the price panels; default the first traded, else the first.
        benchmark : None, str or returns
            None: the equal-weight buy-and-hold of the universe; a symbol; or one return
            per bar (`quanta_ref.analysis.benchmark_returns`).
        """
        from quanta_report import figure

        return figure(self, symbol=symbol, benchmark=benchmark)

    def report(
        self,
        path: Any,
        symbol: str | None = None,
        benchmark: Any = None,
        title: str | None = None,
    ) -> Any:
        """Write the run's report to `path`: one HTML file that opens offline (the chart of
        `plot`, statistics, monthly returns, rolling Sharpe, trades, orders, settings), and
        return its `pathlib.Path` (`quanta_report.report`; ``pip install quanta[plot]``)."""
        from quanta_report import report

        return report(self, path, symbol=symbol, benchmark=benchmark, title=title)

    def summary(self) -> str:
        """The stats as an aligned text table."""
        width = max(len(k) for k in self.stats)
        lines = []
        for key, value in self.stats.items():
            whole = value == value and abs(value) < 1e15 and value == int(value)
            text = f"{value:,.0f}" if whole else f"{value:,.4f}"
            lines.append(f"{key:<{width}}  {text:>16}")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class JobStats:
    """What many runs leave for a ranking (`Backend.run_jobs_stats`): each one's statistics
    and rejections, without the runs themselves.

    Attributes
    ----------
    stats : numpy.ndarray
        float64, (K, S): row k holds job k's `BacktestResult.stats`, the values of its keys
        (`quanta_ref.analysis.CORE_KEYS`, the `STAT_NAMES` of `quanta_ref.grid`) in that order.
    rejections : list of dict
        Job k's `BacktestResult.rejections` (orders the engine rejected, by reason).
    """

    stats: np.ndarray
    rejections: list[dict[str, int]]

    @classmethod
    def of(cls, results: Sequence[BacktestResult]) -> JobStats:
        """The statistics and rejections of finished results, in their order."""
        rows = [[result.stats[key] for key in analysis.CORE_KEYS] for result in results]
        stats = np.array(rows, dtype=np.float64).reshape(len(rows), len(analysis.CORE_KEYS))
        return cls(stats, [result.rejections for result in results])

    @classmethod
    def concat(cls, parts: Sequence[JobStats]) -> JobStats:
        """The parts one after the other (the chunks of a grid, in order)."""
        if not parts:
            return cls(np.empty((0, len(analysis.CORE_KEYS))), [])
        stats = np.concatenate([part.stats for part in parts])
        return cls(stats, [rejected for part in parts for rejected in part.rejections])

    def __len__(self) -> int:
        return len(self.rejections)

    def row(self, k: int) -> dict[str, float]:
        """Job k's statistics as `BacktestResult.stats` has them: a dict of floats by key."""
        return dict(zip(analysis.CORE_KEYS, self.stats[k].tolist(), strict=True))


class SessionCore(abc.ABC):
    """A backend's half of a live session (`quanta_ref.session.Session`): a run kept open
    between pushes. The session owns the growing panel, checks every input and computes the
    market tables; the core runs rows and books reports. Built by `Backend.session` once the
    panel has its first row."""

    #: The strategy's `ctx` (the backend's own context), valid until `end`.
    context: Context

    @abc.abstractmethod
    def rows(self, stop: int, market: Any, actions: Any, reports: list[tuple[Any, ...]]) -> None:
        """Run the panel's rows from the first not yet run up to row `stop` (exclusive),
        each with step 6 (record equity and cash); the first call delivers `on_start`
        before row 0. `market` is the `quanta_ref.market.RunMarket` of the rows so far (its
        limit tables have at least `stop` rows), `actions` the `ActionSchedule` of the rows
        so far, or None. `reports` (external execution) are the broker's reports since the
        last row, booked in order in the open phase of the first of these rows, each
        ``("fill", order_id, quantity, price, commission, tax)`` or ``("status", order_id,
        OrderStatus, reason)``, already checked."""

    @abc.abstractmethod
    def report_fill(
        self, order_id: int, quantity: float, price: float, commission: float, tax: float
    ) -> None:
        """Book a fill an external broker reported (already checked) at the current row, at
        once (a report made while the strategy is being called)."""

    @abc.abstractmethod
    def report_status(self, order_id: int, status: Any, reason: str | None) -> None:
        """End a live order as an external broker reported (already checked), at once:
        `status` is an `OrderStatus` (CANCELLED, REJECTED or EXPIRED)."""

    @abc.abstractmethod
    def hold(self) -> None:
        """Keep the events of the next request queued until `drain`."""

    @abc.abstractmethod
    def drain(self) -> None:
        """Deliver the events of a request made through the context between pushes."""

    @abc.abstractmethod
    def signals_since(self, start: int) -> list[Any]:
        """The signals published from the `start`-th on (all of them for 0)."""

    @abc.abstractmethod
    def result(self, bars: Bars) -> BacktestResult:
        """Everything so far as a result over `bars` (the rows run so far)."""

    @abc.abstractmethod
    def end(self) -> None:
        """The run ends: `on_end` is delivered and the context closes."""


class Backend(abc.ABC):
    """One implementation of the engine, found by name through `quanta_ref.backends`."""

    #: The name `Engine(backend=...)` selects it by.
    name: str
    #: Its batch indicator functions (`quanta_ref.indicators` or a bit-identical module).
    indicators: ModuleType

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

    def run_jobs_stats(
        self, bars: Bars, jobs: list[Any], config: EngineConfig, n_jobs: int | None = None
    ) -> JobStats:
        """Run checked jobs as `run_jobs` does and keep only what a ranking reads: each
        job's `BacktestResult.stats` (the same floats) and `rejections`, in job order. A job
        that fails raises what `run_jobs` raises, in the same order. This plain version
        reads them from the results of `run_jobs`, so every result lives until they are
        read; a backend may run jobs without building their results (the Rust backend
        keeps nothing else of a run)."""
        return JobStats.of(self.run_jobs(bars, jobs, config, n_jobs))

    #: Optionally, a faster twin of `quanta_ref.session.write_row` (the same test).
    write_row: Callable[..., bool]

    def session(
        self, panel: Any, strategy: Strategy, config: EngineConfig, external: bool
    ) -> SessionCore:
        """The core of a live session over `panel` (a `quanta_ref.session.Panel`, which
        grows; its first row is filled), calling `strategy`'s callbacks. With `external`
        the engine never matches, expires or cancels a live order itself (the broker's
        reports end them)."""
        raise ConfigError(f"backend: {self.name!r} does not run live sessions")
