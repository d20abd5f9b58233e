"""Fixtures of the benchmark suite: the data, built once per session outside any timing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from workloads import DATA

from quanta_ref.bars import Bars


@pytest.fixture(scope="session")
def bars_cache() -> dict[str, Bars]:
    """The benchmark data sets by name ("daily", "minute"), each built on first use."""
    return {}


@pytest.fixture
def get_bars(bars_cache: dict[str, Bars]) -> Callable[[str], Bars]:
    """`get_bars(name)`: the named data set, built once per session."""
    def get(name: str) -> Bars:
        if name not in bars_cache:
            bars_cache[name] = DATA[name]()
        return bars_cache[name]
    return get


@pytest.fixture(scope="session")
def reference_results() -> dict[str, tuple[np.ndarray, int]]:
    """Equity curve and fill count of the python run of each workload (by name), for the
    check that both backends did the same work."""
    return {}


@pytest.fixture(params=["python", "rust"])
def backend(request: pytest.FixtureRequest) -> str:
    """The engine backend; the rust case skips when the extension or its engine is missing."""
    if request.param == "rust":
        try:
            import quanta_fast
        except ImportError as exc:
            pytest.skip(f"Rust extension not built: {exc}")
        if not getattr(quanta_fast, "ENGINE_AVAILABLE", False):
            pytest.skip("the Rust engine is not in this build of the extension")
    return str(request.param)
