"""Fixtures of the benchmark suites: the data, built once per session outside any timing,
and the python results each rust (or numba) run is checked against."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from quanta_cli.workloads import Workload
from quanta_ref import backends
from quanta_ref.api import BacktestResult
from quanta_ref.bars import Bars
from quanta_ref.errors import BackendUnavailable
from workloads import DATA


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
def workload_bars_cache() -> dict[str, Bars]:
    """The data of the W1-W4 workloads by workload name, each built on first use."""
    return {}


@pytest.fixture
def workload_bars(workload_bars_cache: dict[str, Bars]) -> Callable[[Workload], Bars]:
    """`workload_bars(workload)`: the workload's bars, built once per session."""

    def get(workload: Workload) -> Bars:
        if workload.name not in workload_bars_cache:
            workload_bars_cache[workload.name] = workload.make_bars()
        return workload_bars_cache[workload.name]

    return get


@pytest.fixture(scope="session")
def python_results() -> dict[tuple[str, str], list[BacktestResult]]:
    """The python backend's results of each W1-W4 workload and mode, (name, mode) -> runs,
    kept by the python benchmark (or computed, untimed, when it did not run)."""
    return {}


@pytest.fixture(scope="session")
def reference_results() -> dict[str, tuple[np.ndarray, int]]:
    """Equity curve and fill count of the python run of each workload (by name), for the
    check that both backends did the same work."""
    return {}


@pytest.fixture(params=["python", "rust"])
def backend(request: pytest.FixtureRequest) -> str:
    """The engine backend; the rust case skips when the Rust backend does not load."""
    if request.param == "rust":
        try:
            backends.load("rust")
        except BackendUnavailable as exc:
            pytest.skip(f"Rust backend not built: {exc}")
    return str(request.param)
