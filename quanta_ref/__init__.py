"""quanta's reference engine: the whole backtesting engine in plain, readable Python.

It is the specification in code; the Rust accelerator (`Engine(backend="rust")`) reproduces
it bit for bit. Start with `Engine`, `Strategy` and `Bars`; the rules are in
docs/semantics.md.
"""

from quanta_ref import data, indicators
from quanta_ref.api import BacktestResult, Context, Portfolio, Strategy
from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.cache import IndicatorCache
from quanta_ref.config import EngineConfig, Instrument
from quanta_ref.costs import (
    FixedBps,
    PerShare,
    PerValue,
    RangeFraction,
    SquareRootImpact,
    Tiered,
)
from quanta_ref.errors import (
    BackendUnavailable,
    ConfigError,
    DataError,
    OrderError,
    QuantaError,
    RejectedOrdersWarning,
    SnapshotError,
    StrategyError,
)
from quanta_ref.events import BarEvent
from quanta_ref.front import Engine
from quanta_ref.grid import OptimizeResult
from quanta_ref.orders import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Reason,
    Side,
    TimeInForce,
    Trade,
)
from quanta_ref.session import Session, Step
from quanta_ref.walkforward import WalkForwardResult

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "BacktestResult",
    "BarEvent",
    "Bars",
    "ConfigError",
    "Context",
    "DataError",
    "Engine",
    "EngineConfig",
    "Fill",
    "FixedBps",
    "IndicatorCache",
    "Instrument",
    "OptimizeResult",
    "Order",
    "OrderError",
    "OrderStatus",
    "OrderType",
    "PerShare",
    "PerValue",
    "Portfolio",
    "Position",
    "QuantaError",
    "RangeFraction",
    "Reason",
    "RejectedOrdersWarning",
    "Session",
    "Side",
    "Signals",
    "SnapshotError",
    "StrategyError",
    "SquareRootImpact",
    "Step",
    "Strategy",
    "Targets",
    "TimeInForce",
    "Tiered",
    "Trade",
    "WalkForwardResult",
    "data",
    "indicators",
]
