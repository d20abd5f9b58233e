"""Small builders for hand-computed tests: bars from rows, and scripted strategies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from quanta_ref import Bars, Engine, Strategy
from quanta_ref.api import BacktestResult, Context

DAY = 86_400_000_000_000
START = np.datetime64("2024-01-01", "ns").astype(np.int64)  # a Monday


def bars_from_rows(
    rows: Sequence[Sequence[float] | None] | dict[str, Sequence[Any]],
    start: int = int(START),
    step: int = DAY,
) -> Bars:
    """Bars from (open, high, low, close, volume) rows, one bar per day.

    `rows` is a list for one symbol "X", or a dict symbol -> list of rows for several. A row of
    None is a missing bar. Volume may be omitted (then 1e9).
    """
    panel = rows if isinstance(rows, dict) else {"X": rows}
    symbols = list(panel)
    n_bars = len(panel[symbols[0]])
    fields = np.full((5, n_bars, len(symbols)), np.nan)
    for n, symbol in enumerate(symbols):
        for t, row in enumerate(panel[symbol]):
            if row is None:
                continue
            values = list(row) + [1e9] * (5 - len(row))
            fields[:, t, n] = values
    timestamps = start + step * np.arange(n_bars, dtype=np.int64)
    return Bars.from_arrays(timestamps, *fields, symbols=symbols)


Action = Callable[[Context], Any]


class Script(Strategy):
    """Runs `actions[t](ctx)` during `on_bar` of the first symbol at bar t (or `actions[-1]`
    in `on_start`), and records every callback."""

    actions: dict[int, Action | list[Action]] = {}

    def __init__(
        self, actions: dict[int, Action | list[Action]] | None = None, **params: Any
    ) -> None:
        super().__init__(**params)
        self.actions = actions or {}
        self.ids: list[int] = []
        self.events: list[tuple[str, Any]] = []

    def _do(self, ctx: Context, t: int) -> None:
        todo = self.actions.get(t, [])
        for action in todo if isinstance(todo, list) else [todo]:
            result = action(ctx)
            if isinstance(result, int):
                self.ids.append(result)

    def on_start(self, ctx: Context) -> None:
        self._do(ctx, -1)

    def on_bar(self, ctx: Context, bar: Any) -> None:
        self.events.append(("bar", (bar.symbol, ctx.bar_index)))
        if bar.symbol == ctx.symbols[0]:
            self._do(ctx, ctx.bar_index)

    def on_fill(self, ctx: Context, fill: Any) -> None:
        self.events.append(("fill", fill))

    def on_order(self, ctx: Context, order: Any) -> None:
        self.events.append(("order", (order.order_id, order.status.value)))


def run(
    backend: str,
    bars: Bars,
    actions: dict[int, Action | list[Action]] | None = None,
    **settings: Any,
) -> BacktestResult:
    """Run a `Script` with `actions` on `backend` with engine `settings`."""
    settings.setdefault("initial_cash", 100_000.0)
    return Engine(backend=backend, **settings).run(bars, Script(actions))


def same(x: float) -> Any:
    """`x` up to float rounding (the doc's arithmetic is in real numbers)."""
    return pytest.approx(x, rel=1e-12, abs=1e-9)


def run_script(
    backend: str,
    bars: Bars,
    actions: dict[int, Action | list[Action]] | None = None,
    **settings: Any,
) -> tuple[BacktestResult, Script]:
    """`run`, also returning the strategy (for its recorded callbacks)."""
    settings.setdefault("initial_cash", 100_000.0)
    script = Script(actions)
    return Engine(backend=backend, **settings).run(bars, script), script
