"""What only the Rust backend has to show: its edge with Python (bar objects, data layout,
callbacks it skips; interrupts: test_native_edges.py). Its results are compared with the
reference in test_differential.py; every behavioural test runs on it through the `backend`
fixture."""

from __future__ import annotations

import numpy as np
import pytest

from quanta_ref import Bars, Engine, Strategy
from quanta_ref.api import Context
from quanta_ref.data import synthetic
from quanta_ref.errors import DataError
from support import bars_from_rows

pytestmark = pytest.mark.usefixtures("backend_rust")


class KeepBars(Strategy):
    def __init__(self) -> None:
        super().__init__()
        self.kept: list[object] = []
        self.seen: list[tuple[int, str, float]] = []

    def on_bar(self, ctx, bar):
        assert isinstance(ctx, Context)
        self.seen.append((bar.timestamp, bar.symbol, bar.close))
        self.kept.append(bar)


def test_bars_a_strategy_keeps_keep_their_values():
    """The engine reuses one bar object only while nobody else holds it."""
    bars = synthetic(n_bars=50, n_symbols=3, seed=4)
    strategy = KeepBars()
    Engine(backend="rust").run(bars, strategy)
    assert [(b.timestamp, b.symbol, b.close) for b in strategy.kept] == strategy.seen
    assert len(strategy.seen) == 150


def test_an_unkept_bar_object_is_reused():
    ids: set[int] = set()

    class Peek(Strategy):
        def on_bar(self, ctx, bar):
            ids.add(id(bar))

    Engine(backend="rust").run(synthetic(n_bars=100, seed=1), Peek())
    assert len(ids) == 1


def test_a_non_contiguous_panel_is_refused_with_a_data_error():
    good = bars_from_rows([(10.0, 11.0, 9.0, 10.0)] * 4)
    wide = np.repeat(good.close, 2, axis=1)[:, ::2]  # same values, strided view
    assert not wide.flags.c_contiguous
    # The constructor would copy to a contiguous array: go around it, as only a private
    # path can, to test the native engine's own guard.
    odd = Bars._trusted(
        good.timestamps, good.symbols, good.open, good.high, good.low, wide, good.volume
    )
    with pytest.raises(DataError, match="close: the native engine reads a C-contiguous"):
        Engine(backend="rust").run(odd, Strategy())


def test_a_missing_python_helper_fails_when_the_native_engine_is_built_not_mid_run():
    from types import SimpleNamespace

    from quanta_fast import _glue, _quanta_fast
    from quanta_ref import EngineConfig

    helpers = {name: getattr(_glue, name) for name in _glue.__all__ if name != "make_trade"}
    with pytest.raises(AttributeError, match="make_trade"):
        _quanta_fast.Engine(EngineConfig(), SimpleNamespace(**helpers))
    with pytest.raises(AttributeError, match="initial_cash"):
        _quanta_fast.Engine(SimpleNamespace(), _glue)
