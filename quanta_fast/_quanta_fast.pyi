# Hand-written stub of the native module built from rust/quanta-py. It is the contract of the
# private native surface: keep it in step with the #[pymodule] in rust/quanta-py/src/lib.rs,
# and check it with `python -m mypy.stubtest quanta_fast._quanta_fast`.

from types import ModuleType
from typing import Any, final

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self, disjoint_base

from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.compiled import CompiledJob
from quanta_ref.config import EngineConfig
from quanta_ref.market import RunMarket

__all__ = [
    "version",
    "__version__",
    "Engine",
    "Context",
    "Bar",
    "Portfolio",
    "Session",
    "write_row",
    "compiled_layout",
    "_debug_panic",
    "compute_stats",
    "infer_periods_per_year",
    "ATR",
    "BollingerBands",
    "EMA",
    "Highest",
    "Lowest",
    "MACD",
    "ROC",
    "RSI",
    "RollingStd",
    "SMA",
    "WMA",
    "atr",
    "bollinger_bands",
    "cross",
    "crossed_above",
    "crossed_below",
    "ema",
    "highest",
    "lowest",
    "macd",
    "roc",
    "rolling_std",
    "rsi",
    "sma",
    "wma",
]

__version__: str
"""Version of the extension crate (the workspace version in rust/Cargo.toml)."""

def version() -> str:
    """Version of the Rust engine core, `quanta_core::version()`."""

# ---------------------------------------------------------------- the engine (engine.rs)
def _debug_panic() -> None:
    """Panics inside the engine's panic guard (raises QuantaError); for the test suite."""

@final
class Engine:
    """Validated settings (a `quanta_ref.config.EngineConfig`) and the helpers of
    `quanta_fast._glue` (looked up once, here); `run` drives one backtest, `run_jobs` many
    array jobs."""

    def __new__(cls, config: EngineConfig, glue: ModuleType) -> Engine: ...
    def run(
        self,
        bars: Bars,
        market: RunMarket,
        actions: tuple[NDArray[Any], ...] | None,  # (row, column, cash, shares)
        on_start: Any,
        on_bar: Any,
        on_fill: Any,
        on_order: Any,
        on_end: Any,
    ) -> Context:
        """Run over a `quanta_ref.Bars` panel with its market tables (price limits, cost
        rates: `quanta_ref.market.prepare`, read in place) and its corporate actions (the
        arrays of `quanta_ref.actions.schedule`, or None); returns the finished context."""
    def run_compiled(
        self,
        bars: Bars,
        market: RunMarket,
        actions: tuple[NDArray[Any], ...] | None,  # (row, column, cash, shares)
        job: CompiledJob,  # read: entry_address, callbacks, params_address, state_size,
        # max_requests
    ) -> Context:
        """Run one compiled job (its numba entry called through a C function pointer) as
        `run` runs a strategy, with the GIL released; returns the finished context."""
    def session(
        self,
        panel: Any,  # a quanta_ref.session.Panel
        on_start: Any,
        on_bar: Any,
        on_fill: Any,
        on_order: Any,
        on_end: Any,
        external: bool,
    ) -> Session:
        """A live session over a growing panel (its first row filled; its arrays are read
        anew at every call); with `external` the engine never matches, expires or cancels a
        live order itself."""
    def run_jobs(
        self,
        bars: Bars,
        market: RunMarket,
        actions: tuple[NDArray[Any], ...] | None,  # (row, column, cash, shares)
        jobs: list[Signals | Targets | CompiledJob],
        n_jobs: int | None = None,
    ) -> list[Context | BaseException]:
        """Run checked array jobs (`Signals` / `Targets`, read by attribute name) and compiled
        jobs (`quanta_ref.compiled.CompiledJob`, as `run_compiled` reads them) natively
        with the GIL released, on `n_jobs` threads (None: one per core). The arrays are
        C-contiguous (T, N) bool / float64 as `quanta_ref.arrays` checks them. One finished
        context per job, in job order, or the exception that job raised."""
    def run_jobs_stats(
        self,
        bars: Bars,
        market: RunMarket,
        actions: tuple[NDArray[Any], ...] | None,  # (row, column, cash, shares)
        jobs: list[Signals | Targets | CompiledJob],
        n_jobs: int | None = None,
    ) -> tuple[NDArray[np.float64], list[dict[str, int] | BaseException]]:
        """Run jobs as `run_jobs` does, keeping only each one's statistics and rejections
        (taken on the job's thread as it ends, the run dropped there): a float64 (K, S) array
        of the statistics in the order of `BacktestResult.stats` (NaN in a failed job's row),
        and per job its rejections by reason or the exception it raised, in job order."""

@final
class Session:
    """A run kept open between pushes (session.rs): the core stays in its context."""

    @property
    def context(self) -> Context: ...
    @property
    def done(self) -> int:
        """How many rows have run."""
    def rows(
        self,
        stop: int,
        market: RunMarket | None,
        actions: tuple[NDArray[Any], ...] | None,
        reports: list[tuple[Any, ...]],
    ) -> None:
        """Run the rows not yet run up to `stop` (exclusive); `on_start` first on the first
        call. `market` covers at least `stop` rows; `actions` as in `Engine.run`; `reports`
        (external execution) are booked in the open phase of the first row."""
    def drain(self) -> None:
        """Deliver the events of a request made through the context between pushes."""
    def end(self) -> None:
        """Deliver `on_end` and close the context."""

@final
class Bar:
    """One bar as `on_bar` sees it (the fields of `quanta_ref.events.BarEvent`)."""

    def __new__(
        cls,
        timestamp: int,
        symbol: str,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
    ) -> Self: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def open(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def close(self) -> float: ...
    @property
    def volume(self) -> float: ...

@final
class Context:
    """The `ctx` of a native run; see `quanta_ref.api.Context`."""

    def submit_order(
        self,
        symbol: Any,
        side: Any,
        quantity: Any,
        order_type: Any = "market",
        limit_price: Any = None,
        stop_price: Any = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
        trail_amount: Any = None,
        trail_percent: Any = None,
    ) -> int: ...
    def buy(
        self,
        symbol: Any,
        quantity: Any,
        order_type: Any = "market",
        limit_price: Any = None,
        stop_price: Any = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
        trail_amount: Any = None,
        trail_percent: Any = None,
    ) -> int: ...
    def sell(
        self,
        symbol: Any,
        quantity: Any,
        order_type: Any = "market",
        limit_price: Any = None,
        stop_price: Any = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
        trail_amount: Any = None,
        trail_percent: Any = None,
    ) -> int: ...
    def cancel(self, order_id: Any) -> bool: ...
    def oco(self, order_ids: Any) -> int: ...
    def bracket(
        self,
        symbol: Any,
        side: Any,
        quantity: Any,
        entry: Any = "market",
        limit_price: Any = None,
        stop_price: Any = None,
        stop_loss: Any = None,
        take_profit: Any = None,
        time_in_force: Any = "gtc",
        expire_at: Any = None,
    ) -> int: ...
    def order_target_quantity(
        self, symbol: Any, quantity: Any, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int: ...
    def order_target_percent(
        self, symbol: Any, weight: Any, time_in_force: Any = "gtc", expire_at: Any = None
    ) -> int: ...
    def open_orders(self) -> list[Any]: ...
    def get_order(self, order_id: Any) -> Any: ...
    def position(self, symbol: Any) -> float: ...
    def get_position(self, symbol: Any) -> Any: ...
    @property
    def cash(self) -> float: ...
    @property
    def portfolio(self) -> Portfolio: ...
    @property
    def equity(self) -> float: ...
    @property
    def now(self) -> int | None: ...
    @property
    def bar_index(self) -> int: ...
    @property
    def symbols(self) -> tuple[str, ...]: ...
    def history(self, symbol: Any, field: Any = "close", length: Any = None) -> Any: ...
    def signal(self, name: Any, value: Any, symbol: Any = None) -> None: ...
    def _take_equity(self) -> NDArray[np.float64]: ...
    def _take_cash(self) -> NDArray[np.float64]: ...
    def _report(self, report: tuple[Any, ...]) -> None:
        """Book an external broker's report at once (its events follow the callback)."""
    def _equity_copy(self) -> NDArray[np.float64]: ...
    def _cash_copy(self) -> NDArray[np.float64]: ...
    def _fills(self) -> list[Any]: ...
    def _orders(self) -> list[Any]: ...
    def _trades(self) -> list[Any]: ...
    def _signals(self, start: int = 0) -> list[Any]: ...
    def _rejections(self) -> dict[str, int]: ...
    def _corporate_actions(self) -> list[Any]: ...
    def _positions(self) -> list[Any]: ...
    def _stats(
        self, timestamps: NDArray[np.int64], equity: NDArray[np.float64]
    ) -> dict[str, float]: ...

@final
class Portfolio:
    """The account of a native run, a view of its context's; see `quanta_ref.api.Portfolio`."""

    @property
    def cash(self) -> float: ...
    def equity(self) -> float: ...
    def position_of(self, symbol: Any) -> Any:
        """A copy of the position (a `Position`)."""
    def check_margin(
        self,
        column: int,
        side: Any,
        quantity: float,
        price: float,
        max_leverage: float,
        equity: float,
    ) -> bool: ...

# ---------------------------------------------------------------------------------- metrics
# rust/quanta-py/src/metrics.rs over quanta_core::metrics. The inputs must already be valid
# (quanta_fast.metrics checks them with the reference's messages); only an empty or mismatched
# equity curve, or a non-contiguous array, is refused here, with quanta_ref.errors.DataError.

def compiled_layout() -> dict[str, Any]:
    """The C records of compiled strategies, {"Frame": [(name, offset, size), ...],
    "OrderRecord": ..., "FillRecord": ..., "Request": ..., "codes": {"side": [names], ...}}."""

def infer_periods_per_year(timestamps: NDArray[np.int64]) -> float:
    """Bars per year from strictly ascending int64 nanosecond timestamps."""

def compute_stats(
    timestamps: NDArray[np.int64],
    equity: NDArray[np.float64],
    initial_cash: float,
    *,
    trade_pnls: NDArray[np.float64],
    traded_value: float,
    bars_in_market: int,
    periods_per_year: float | None = None,
) -> dict[str, float]:
    """The statistics of quanta_ref.metrics.compute_stats, keys in STAT_KEYS order."""

# ----------------------------------------------------------------------------------------------
# Indicators (rust/quanta-py/src/indicators.rs over quanta_core::indicators). The public API is
# quanta_fast.indicators, which checks the settings and converts the input the way
# quanta_ref.indicators does before calling these. Here periods are plain non-negative ints
# (`usize`), batch inputs C-contiguous float64 arrays, 1-D (a series) or 2-D (a (T, N) panel,
# computed column by column; the output has the input's shape); the core refuses bad periods
# with ConfigError, different lengths or shapes with DataError. The constructors have the
# reference's defaults; the batch functions have none.

@disjoint_base
class SMA:
    def __new__(cls, period: int) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

@disjoint_base
class EMA:
    def __new__(cls, period: int) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...
    @property
    def k(self) -> float: ...

@disjoint_base
class WMA:
    def __new__(cls, period: int) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

@disjoint_base
class RSI:
    def __new__(cls, period: int = 14) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

@disjoint_base
class RollingStd:
    def __new__(cls, period: int) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

@disjoint_base
class Highest:
    def __new__(cls, period: int) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

@disjoint_base
class Lowest:
    def __new__(cls, period: int) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

@disjoint_base
class ROC:
    def __new__(cls, period: int = 10) -> Self: ...
    def update(self, value: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

@disjoint_base
class MACD:
    def __new__(cls, fast: int = 12, slow: int = 26, signal: int = 9) -> Self: ...
    def update(self, value: float) -> tuple[float, float, float]: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> tuple[float, float, float]: ...
    @property
    def macd(self) -> float: ...
    @property
    def signal_line(self) -> float: ...
    @property
    def hist(self) -> float: ...
    @property
    def fast(self) -> int: ...
    @property
    def slow(self) -> int: ...
    @property
    def signal(self) -> int: ...

@disjoint_base
class BollingerBands:
    def __new__(cls, period: int = 20, num_std: float = 2.0) -> Self: ...
    def update(self, value: float) -> tuple[float, float, float]: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> tuple[float, float, float]: ...
    @property
    def period(self) -> int: ...
    @property
    def num_std(self) -> float: ...

@disjoint_base
class ATR:
    def __new__(cls, period: int = 14) -> Self: ...
    def update(self, high: float, low: float, close: float) -> float: ...
    def reset(self) -> None: ...
    @property
    def value(self) -> float: ...
    @property
    def period(self) -> int: ...

def sma(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def ema(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def wma(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def rsi(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def rolling_std(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def highest(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def lowest(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def roc(values: NDArray[np.float64], period: int) -> NDArray[np.float64]: ...
def macd(
    values: NDArray[np.float64], fast: int, slow: int, signal: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
def bollinger_bands(
    values: NDArray[np.float64], period: int, num_std: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]: ...
def atr(
    high: NDArray[np.float64], low: NDArray[np.float64], close: NDArray[np.float64], period: int
) -> NDArray[np.float64]: ...
def cross(prev_fast: float, prev_slow: float, fast: float, slow: float) -> int: ...
def crossed_above(fast: NDArray[np.float64], slow: NDArray[np.float64]) -> NDArray[np.bool_]: ...
def crossed_below(fast: NDArray[np.float64], slow: NDArray[np.float64]) -> NDArray[np.bool_]: ...
def write_row(
    fields: NDArray[np.float64],
    at: int,
    open: NDArray[np.float64],
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close: NDArray[np.float64],
    volume: NDArray[np.float64],
) -> bool:
    """`quanta_ref.session.write_row`, natively."""
