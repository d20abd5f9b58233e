"""Indicator benchmarks: batch SMA, EMA and crossings, reference and rust side by side.

Each group is one computation on seeded synthetic closes (`quanta_ref.data.synthetic`):

* ``sma-series-491400``: SMA(30) of one series of 491,400 values (the minute workload's
  length). On one series the running sum is a chain of dependent additions: the Rust loop
  runs at the latency of two additions per value.
* ``sma-panel-2520x100``, ``ema-panel-2520x100``, ``crossed-above-panel-2520x100``: the same
  on a (2,520, 100) panel (ten years of daily closes of 100 symbols), column by column. The
  Rust kernels compute the columns side by side in SIMD lanes (docs/architecture.md, "SIMD").

`extra_info` records the number of values and, from the median, the throughput in values per
nanosecond. Speed is measured, never asserted; what is asserted, outside the timed region, is
that the rust result equals the reference's bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from quanta_ref import indicators as reference
from quanta_ref.data import synthetic

SEED = 20240101
SERIES_VALUES = 491_400  # 5 years x 252 days x 390 minutes
PANEL_SHAPE = (2_520, 100)  # 10 years x 252 days, 100 symbols

_cache: dict[str, np.ndarray] = {}


def series() -> np.ndarray:
    """491,400 closes of one symbol (a minute-like walk), C-contiguous float64."""
    if "series" not in _cache:
        bars = synthetic(SERIES_VALUES, seed=SEED, freq="1min", volatility=0.001)
        _cache["series"] = np.ascontiguousarray(bars.close[:, 0])
    return _cache["series"]


def panel() -> np.ndarray:
    """(2,520, 100) daily closes, one column per symbol, C-contiguous float64."""
    if "panel" not in _cache:
        bars = synthetic(PANEL_SHAPE[0], n_symbols=PANEL_SHAPE[1], seed=SEED)
        _cache["panel"] = np.ascontiguousarray(bars.close)
    return _cache["panel"]


def panel_pair() -> tuple[np.ndarray, np.ndarray]:
    """The panel and its SMA(10), C-contiguous: the inputs of a crossing."""
    if "sma10" not in _cache:
        _cache["sma10"] = reference.sma(panel(), 10)
    return panel(), _cache["sma10"]


def indicators_of(backend: str) -> ModuleType:
    """The indicator module of a backend; the rust case skips without the extension."""
    if backend == "python":
        return reference
    try:
        from quanta_fast import indicators
    except ImportError as exc:
        pytest.skip(f"quanta_fast.indicators not available: {exc}")
    return indicators


# name -> (inputs, call, rounds per backend). The reference needs about 0.25 us per value.
CASES: dict[
    str, tuple[Callable[[], tuple[np.ndarray, ...]], Callable[..., Any], dict[str, int]]
] = {
    f"sma-series-{SERIES_VALUES}": (
        lambda: (series(),),
        lambda m, x: m.sma(x, 30),
        {"python": 3, "rust": 100},
    ),
    f"sma-panel-{PANEL_SHAPE[0]}x{PANEL_SHAPE[1]}": (
        lambda: (panel(),),
        lambda m, x: m.sma(x, 30),
        {"python": 3, "rust": 200},
    ),
    f"ema-panel-{PANEL_SHAPE[0]}x{PANEL_SHAPE[1]}": (
        lambda: (panel(),),
        lambda m, x: m.ema(x, 30),
        {"python": 3, "rust": 200},
    ),
    f"crossed-above-panel-{PANEL_SHAPE[0]}x{PANEL_SHAPE[1]}": (
        panel_pair,
        lambda m, f, s: m.crossed_above(f, s),
        {"python": 2, "rust": 200},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_indicator(benchmark: Any, name: str, backend: str) -> None:
    make_inputs, call, rounds = CASES[name]
    module = indicators_of(backend)
    inputs = make_inputs()
    size = inputs[0].size
    benchmark.group = name
    benchmark.extra_info["values"] = size
    result = benchmark.pedantic(
        call, args=(module, *inputs), iterations=1, rounds=rounds[backend], warmup_rounds=1
    )
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["values_per_ns"] = size / (stats.stats.median * 1e9)

    expected = result if backend == "python" else call(reference, *inputs)
    assert result.dtype == expected.dtype and result.shape == expected.shape
    assert np.array_equal(result, expected, equal_nan=True)
    if result.dtype == np.float64:
        same = np.isnan(result) | (result.view(np.int64) == expected.view(np.int64))
        assert same.all(), "the backends computed different bits"
