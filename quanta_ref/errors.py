"""Exceptions raised by quanta, whichever backend runs.

Every error the engine raises on bad input is a `QuantaError`. The Rust backend raises these
same classes with the same messages, so user code catches one set of exceptions. An exception
raised inside a strategy callback is never wrapped: it reaches the caller unchanged.
"""

from __future__ import annotations


class QuantaError(Exception):
    """Base class of every error quanta raises on purpose."""


class ConfigError(QuantaError, ValueError):
    """An engine or strategy setting is missing, of the wrong type or out of range."""


class DataError(QuantaError, ValueError):
    """Market data is malformed: the message names the field, the symbol and the bar."""


class OrderError(QuantaError, ValueError):
    """A strategy asked for an order that cannot exist (unknown symbol, non-positive quantity,
    a limit order without a limit price, ...), or used its `ctx` wrongly (a bad argument, or
    outside its run's callbacks: after the run, or from another thread).

    Orders that are well formed but refused by a market or risk rule are not errors: they
    become `Rejected` orders with a reason code, reported through `on_order`.
    """


class SnapshotError(QuantaError, ValueError):
    """A live session's snapshot cannot be restored: not a snapshot, of another format
    version, corrupted, or one that does not rebuild the state it recorded."""


class StrategyError(QuantaError, RuntimeError):
    """A compiled strategy's callback failed: it raised inside numba code (an index out of
    range included), or used its `ctx` wrongly there. Numba cannot pass the exception itself
    out of compiled code, so the message names the callback, the bar and the symbol, and what
    the `ctx` found wrong when it was the one to stop."""


class BackendUnavailable(QuantaError, ImportError):
    """The requested backend cannot be loaded (for example the Rust extension is not built)."""


class RejectedOrdersWarning(UserWarning):
    """A run (or a batch of runs) in which the engine rejected orders: refused by a market or
    risk rule, each with a reason code (`quanta_ref.orders.Reason`). Warned once per call of
    `Engine.run`, `run_signals`, `run_targets`, `run_many` or `optimize`, with the counts by
    reason; `BacktestResult.rejections` and `orders_frame()` show them. Silence it with
    ``warnings.simplefilter("ignore", quanta_ref.RejectedOrdersWarning)``."""
