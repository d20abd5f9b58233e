"""Golden run: the SMA(10)/SMA(30) crossover on the embedded AAPL sample.

Two checks: the engine agrees with an independent re-simulation written here with TA-Lib and
plain arithmetic, and the headline numbers are pinned so any change of behaviour shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from quanta_ref import Engine, data
from quanta_ref.examples import SmaCross

talib = pytest.importorskip("talib")

RATE = 0.0003
CASH = 1_000_000.0


def _resimulate(o: np.ndarray, c: np.ndarray) -> tuple[float, int]:
    """All in at the next open after a cross up, all out at the next open after a cross down."""
    fast, slow = talib.SMA(c, 10), talib.SMA(c, 30)
    cash, held, fills = CASH, 0.0, 0
    for t in range(1, len(c) - 1):
        if np.isnan(slow[t - 1]):
            continue
        up = fast[t] > slow[t] and fast[t - 1] <= slow[t - 1]
        down = fast[t] < slow[t] and fast[t - 1] >= slow[t - 1]
        price = float(o[t + 1])
        if up and held == 0.0:
            quantity = math.floor(cash / (price * (1.0 + RATE)))
            while cash - quantity * price - max(0.0, quantity * price * RATE) < 0.0:
                quantity -= 1
            cash = cash - quantity * price - quantity * price * RATE
            held, fills = float(quantity), fills + 1
        elif down and held > 0.0:
            cash = cash + held * price - held * price * RATE
            held, fills = 0.0, fills + 1
    return cash + held * float(c[-1]), fills


def test_sma_cross_on_aapl_matches_an_independent_resimulation(backend: str) -> None:
    bars = data.load_sample("AAPL")
    result = Engine(backend=backend, initial_cash=CASH, commission_rate=RATE).run(
        bars, SmaCross(fast=10, slow=30)
    )
    final, n_fills = _resimulate(bars.open[:, 0], bars.close[:, 0])
    assert len(result.fills) == n_fills
    assert result.equity[-1] == pytest.approx(final, rel=1e-12)


def test_sma_cross_on_aapl_golden_numbers(backend: str) -> None:
    result = Engine(backend=backend, initial_cash=CASH, commission_rate=RATE).run(
        data.load_sample("AAPL"), SmaCross(fast=10, slow=30)
    )
    assert len(result.equity) == 3270
    assert len(result.fills) == 118 and len(result.trades) == 59
    assert result.fills[0].quantity == 279064.0
    assert result["final_equity"] == pytest.approx(9_566_692.503735878, rel=1e-12)
    assert result["max_drawdown"] == pytest.approx(-0.504172, abs=1e-6)
    assert result["win_rate"] == pytest.approx(28 / 59, rel=1e-12)
