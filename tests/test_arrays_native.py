"""The native array runs of the Rust backend (`quanta_core::arrays`, `RustBackend.run_jobs`).

* Same result, bit for bit, as the reference's `SignalStrategy` / `TargetStrategy` run as
  Python strategies on the Rust callback engine and on the Python engine.
* The same results whatever the number of threads.
* The GIL is released while the jobs run: a Python thread keeps running meanwhile.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from quanta_ref import Engine
from quanta_ref.arrays import Signals, Targets
from quanta_ref.bars import Bars
from quanta_ref.data import synthetic
from quanta_ref.errors import ConfigError, DataError, OrderError
from quanta_ref.examples import SmaCross
from quanta_ref.market import RunMarket
from strategies import make_bars
from test_differential import assert_same_result

pytestmark = pytest.mark.usefixtures("backend_rust")


def panel(seed: int, n_symbols: int, n_bars: int, **changes: Any) -> Bars:
    """A random panel (`strategies.make_bars`): gaps, missing bars, limit moves."""
    spec = {
        "n_symbols": n_symbols,
        "n_bars": n_bars,
        "seed": seed,
        "start": 1_704_067_200 * 10**9,
        "intraday": seed % 2 == 1,
        "time_of_day": 0,
        "skip_weekends": True,
        "p_holiday": 0.05,
        "bars_per_day": 4,
        "step_minutes": 30,
        "first_offset": 0,
        "sigma": 0.02,
        "p_missing": 0.1,
        "missing_prefix": [seed % 3] * n_symbols,
        "missing_suffix": [0] * n_symbols,
        "p_limit": 0.05,
        "p_gap": 0.1,
        "p_zero_volume": 0.0,
        "small_volume": False,
        "tick_prices": True,
        "start_prices": [10.0, 33.3, 150.0, 2.37, 9.99][:n_symbols],
    }
    spec.update(changes)
    return make_bars(spec)


def signal_job(bars: Bars, seed: int, shorts: bool = False, **options: Any) -> Signals:
    rng = np.random.default_rng(seed)
    shape = (bars.n_bars, bars.n_symbols)

    def draw(p: float) -> np.ndarray:
        return rng.random(shape) < p

    extra: dict[str, Any] = {}
    if shorts:
        extra = {"short_entries": draw(0.08), "short_exits": draw(0.08)}
    return Signals(draw(0.1), draw(0.08), **extra, **options)


def target_job(bars: Bars, seed: int, low: float = 0.0) -> Targets:
    rng = np.random.default_rng(seed)
    shape = (bars.n_bars, bars.n_symbols)
    weights = rng.uniform(low, 1.0, shape) / bars.n_symbols
    weights[rng.random(shape) < 0.6] = np.nan
    return Targets(weights)


#: (engine settings, job maker): every option of the jobs, under the settings that change how
#: target orders and exits fill (costs, lots, T+1, limits, participation, close fills).
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "long all in": ({"commission_rate": 0.0003}, lambda b, s: signal_job(b, s)),
    "long half, min commission, lots": (
        {"commission_rate": 0.001, "min_commission": 5.0, "lot_size": 100.0},
        lambda b, s: signal_job(b, s, size=0.5),
    ),
    "stops and targets": (
        {"commission_rate": 0.0005, "slippage_bps": 3.0},
        lambda b, s: signal_job(b, s, stop_loss=0.03, take_profit=0.04),
    ),
    "stops, T+1, price limits": (
        {"settlement": "T+1", "price_limit": 0.1, "tick_size": 0.01, "sell_tax_rate": 0.001},
        lambda b, s: signal_job(b, s, stop_loss=0.02, take_profit=0.02),
    ),
    "partial fills under a volume limit": (
        {"max_volume_fraction": 0.001, "fractional": True},
        lambda b, s: signal_job(b, s, stop_loss=0.05),
    ),
    "long and short with exits": (
        {"allow_short": True, "commission_rate": 0.0002},
        lambda b, s: signal_job(b, s, shorts=True, size=0.4, stop_loss=0.05, take_profit=0.1),
    ),
    "quantity sizing, fill at close": (
        {"allow_short": True, "fill_at": "close"},
        lambda b, s: signal_job(
            b, s, shorts=True, size=300.0, size_type="quantity", take_profit=0.05
        ),
    ),
    "targets": ({"commission_rate": 0.001}, lambda b, s: target_job(b, s)),
    "targets short, max leverage": (
        {"allow_short": True, "max_leverage": 1.5, "lot_size": 10.0},
        lambda b, s: target_job(b, s, low=-1.0),
    ),
    "targets, drawdown stop": (
        {"max_drawdown_stop": 0.05, "max_position_weight": 0.3},
        lambda b, s: target_job(b, s),
    ),
}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("case", list(CASES))
def test_native_array_jobs_match_the_reference_strategy_on_both_engines(case, seed):
    settings, make = CASES[case]
    bars = panel(seed, 1 + seed % 3, 150 + 40 * seed)
    job = make(bars, seed)
    native = Engine("rust", **settings).run_many(bars, [job])[0]
    strategy = job.checked(bars, Engine(**settings).config).strategy(bars)
    callback = Engine("rust", **settings).run(bars, strategy)
    reference = Engine("python", **settings).run_many(bars, [job])[0]
    assert_same_result(reference, native)
    assert_same_result(callback, native)
    assert len(reference.orders) > 0


def test_native_run_jobs_gives_the_same_results_on_one_thread_and_on_two():
    bars = panel(7, 3, 300)
    engine = Engine("rust", commission_rate=0.0003, allow_short=True)
    jobs = [signal_job(bars, s, shorts=s % 2 == 0, stop_loss=0.04) for s in range(8)]
    jobs += [target_job(bars, s, low=-0.5) for s in range(4)]
    one = engine.run_many(bars, jobs, n_jobs=1)
    two = engine.run_many(bars, jobs, n_jobs=2)
    default = engine.run_many(bars, jobs)
    for a, b, c in zip(one, two, default, strict=True):
        assert_same_result(a, b)
        assert_same_result(a, c)
    # In job order: each result is that job's own run.
    assert_same_result(engine.run_many(bars, [jobs[5]])[0], two[5])


def test_native_run_jobs_keeps_strategies_and_array_jobs_in_job_order():
    bars = synthetic(400, n_symbols=2, seed=3)
    jobs = [
        SmaCross(fast=5, slow=20),
        signal_job(bars, 1),
        target_job(bars, 2),
        SmaCross(fast=8, slow=30),
    ]
    fast = Engine("rust").run_many(bars, jobs, n_jobs=2)
    reference = Engine("python").run_many(bars, jobs)
    for a, b in zip(reference, fast, strict=True):
        assert_same_result(a, b)


def test_an_overflowing_take_profit_raises_the_reference_order_error_on_both_engines():
    # The public calls refuse it up front (ConfigError naming take_profit); a job that skips
    # that check still gets the reference's OrderError from the native engine.
    bars = synthetic(50, seed=1)
    entries = np.zeros((50, 1), dtype=bool)
    entries[3] = True
    job = Signals(entries, np.zeros((50, 1), dtype=bool), take_profit=1e308)
    errors = []
    for backend in ("python", "rust"):
        engine = Engine(backend)
        with pytest.raises(ConfigError, match="take_profit"):
            engine.run_many(bars, [job])
        with pytest.raises(OrderError, match="limit_price") as info:
            engine.implementation.run_jobs(bars, [job], engine.config)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_the_native_run_refuses_malformed_job_arrays_with_a_data_error():
    from quanta_fast import _glue, _quanta_fast

    bars = synthetic(20, n_symbols=2, seed=1)
    native = _quanta_fast.Engine(Engine().config, _glue)
    good = np.zeros((20, 2), dtype=bool)
    for bad in (
        np.zeros((20, 3), dtype=bool),
        np.zeros((2, 20), dtype=bool).T,
        np.zeros((20, 2), dtype=np.int8),
        np.zeros(40, dtype=bool),
    ):
        with pytest.raises(DataError, match="entries"):
            native.run_jobs(bars, RunMarket(), None, [Signals(bad, good)])
    with pytest.raises(DataError, match="weights"):
        native.run_jobs(bars, RunMarket(), None, [Targets(np.zeros((20, 2), dtype=np.float32))])


def test_native_run_jobs_releases_the_gil_while_the_jobs_run():
    from quanta_fast import _glue, _quanta_fast

    bars = synthetic(100_000, seed=5, freq="1min", volatility=0.001)
    rng = np.random.default_rng(0)
    job = Signals(
        rng.random((bars.n_bars, 1)) < 0.01,
        rng.random((bars.n_bars, 1)) < 0.01,
        stop_loss=0.01,
        take_profit=0.01,
    )
    native = _quanta_fast.Engine(Engine().config, _glue)
    started = time.perf_counter()
    native.run_jobs(bars, RunMarket(), None, [job], 1)
    one = time.perf_counter() - started
    jobs = [job] * max(1, int(0.5 / max(one, 1e-4)))  # about 0.5 s on one thread

    elapsed: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        native.run_jobs(bars, RunMarket(), None, jobs, 1)
        elapsed.append(time.perf_counter() - start)

    worker = threading.Thread(target=work)
    count, longest, last = 0, 0.0, time.perf_counter()
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
        count += 1
    worker.join()
    # With the GIL held, this loop would stop for the whole native run (~0.5 s, at least
    # 0.1 s on any machine): no gap as long as half the run.
    assert elapsed[0] > 0.1, elapsed
    assert longest < elapsed[0] / 2, (longest, elapsed)
    assert count > 10_000, count
