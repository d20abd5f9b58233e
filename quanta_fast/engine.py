"""The Rust backend (`Engine(backend="rust")`): the reference's `Backend`, run natively.

The loop, matching, costs and accounting run in `quanta-core`; this module hands it the
validated `Bars` and `EngineConfig` and builds the same `BacktestResult` the reference
returns. Data crosses without copies: the Bars arrays are read in place (they are C-contiguous
float64 by construction; anything else is refused with a `DataError`), and the equity and cash
arrays are moved out of Rust into numpy.
"""

from __future__ import annotations

import numpy as np

from quanta_fast import _glue, _quanta_fast
from quanta_ref.api import Backend, BacktestResult, Context, Strategy
from quanta_ref.bars import Bars
from quanta_ref.config import EngineConfig

# The native context implements the whole Context interface; isinstance() should say so.
Context.register(_quanta_fast.Context)

_CALLBACKS = ("on_start", "on_bar", "on_fill", "on_order", "on_end")


def _overridden(strategy: Strategy, name: str) -> object | None:
    """The bound callback, or None when it is `Strategy`'s own no-op (then it is not called
    at all: the native loop skips events nobody listens to)."""
    method = getattr(strategy, name)
    if getattr(method, "__func__", None) is getattr(Strategy, name):
        return None
    return method


class RustBackend(Backend):
    """The native engine (``backend="rust"``); see `quanta_ref.engine.ReferenceBackend`."""

    name = "rust"

    def run(self, bars: Bars, strategy: Strategy, config: EngineConfig) -> BacktestResult:
        engine = _quanta_fast.Engine(config.as_dict())
        callbacks = [_overridden(strategy, name) for name in _CALLBACKS]
        ctx = engine.run(bars, _glue, *callbacks)
        stats = ctx._stats(bars.timestamps)   # quanta_core::metrics; before equity moves out
        return BacktestResult(
            timestamps=np.array(bars.timestamps), equity=ctx._take_equity(),
            cash=ctx._take_cash(), fills=ctx._fills(), orders=ctx._orders(), trades=ctx._trades(),
            positions=[ctx.get_position(s) for s in bars.symbols],
            stats=stats, signals=ctx._signals())
