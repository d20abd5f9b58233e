"""Many runs and parameter grids: `run_many`, `optimize`, `IndicatorCache`, and what executors
need (everything pickles, results identical to the local run)."""

from __future__ import annotations

import math
import multiprocessing
import pickle
import re
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quanta_ref import (
    BacktestResult,
    Bars,
    ConfigError,
    DataError,
    Engine,
    IndicatorCache,
    OptimizeResult,
    QuantaError,
    Signals,
    Targets,
    data,
    indicators,
)
from quanta_ref.config import EngineConfig
from quanta_ref.examples import SmaCross
from quanta_ref.grid import STAT_NAMES, optimize, run_chunk, run_many

BARS = data.synthetic(300, n_symbols=2, seed=3)
SETTINGS = {"initial_cash": 1_000_000.0, "commission_rate": 0.0003}


# ----------------------------------------------------------------------------- helpers
def crossover(cache: IndicatorCache, fast: int, slow: int) -> Signals:
    """SMA(fast)/SMA(slow) crossover on every symbol, half of equity per entry."""
    f, s = cache.panel("sma", fast), cache.panel("sma", slow)
    return Signals(cache.crossed_above(f, s), cache.crossed_below(f, s), size=0.5)


def mixed_jobs(backend: str, bars: Bars = BARS) -> list[Any]:
    """Signal jobs, a target job and a strategy, in a known order."""
    cache = IndicatorCache(bars, backend)
    weights = np.full((bars.n_bars, bars.n_symbols), np.nan)
    weights[10], weights[150], weights[250] = (0.3, 0.3), (0.5, 0.1), (0.0, 0.0)
    return [
        crossover(cache, 5, 20),
        Targets(weights),
        SmaCross(fast=8, slow=25),
        crossover(cache, 10, 30),
        Signals(
            cache.crossed_above(cache.panel("rsi", 14), 30.0),
            cache.crossed_below(cache.panel("rsi", 14), 70.0),
            size=0.4,
            stop_loss=0.05,
            take_profit=0.1,
        ),
        crossover(cache, 5, 30),
    ]


def fingerprint(result: BacktestResult) -> tuple[Any, ...]:
    """Everything a run returns, in a form that compares exactly (NaN equal to NaN)."""
    stats = {key: ("nan" if math.isnan(value) else value) for key, value in result.stats.items()}
    return (
        result.timestamps.tobytes(),
        result.equity.tobytes(),
        result.cash.tobytes(),
        result.fills,
        [o.as_dict() for o in result.orders],
        result.trades,
        result.positions,
        stats,
        result.signals,
    )


def fingerprints(results: list[BacktestResult]) -> list[tuple[Any, ...]]:
    return [fingerprint(result) for result in results]


def single_run(engine: Engine, job: Any) -> BacktestResult:
    """The job run on its own through the single-run entry points."""
    if isinstance(job, Signals):
        return engine.run_signals(
            BARS,
            job.entries,
            job.exits,
            short_entries=job.short_entries,
            short_exits=job.short_exits,
            size=job.size,
            size_type=job.size_type,
            stop_loss=job.stop_loss,
            take_profit=job.take_profit,
        )
    if isinstance(job, Targets):
        return engine.run_targets(BARS, job.weights)
    return engine.run(BARS, job)


def spawn_pool(workers: int = 2) -> ProcessPoolExecutor:
    # spawn, not fork: forking a process that already runs native threads can deadlock (and
    # Python 3.12+ warns about it); spawn also proves the workers import quanta on their own.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


# ============================================================================== run_many
def test_run_many_returns_results_in_job_order_equal_to_single_runs(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    jobs = mixed_jobs(backend)
    results = engine.run_many(BARS, jobs)
    assert len(results) == len(jobs)
    assert any(result.fills for result in results)
    expected = [single_run(engine, job) for job in mixed_jobs(backend)]
    assert fingerprints(results) == fingerprints(expected)


def test_run_many_results_do_not_depend_on_threads_chunks_or_progress(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    reference = fingerprints(engine.run_many(BARS, mixed_jobs(backend)))
    assert fingerprints(engine.run_many(BARS, mixed_jobs(backend), n_jobs=1)) == reference
    assert fingerprints(engine.run_many(BARS, mixed_jobs(backend), n_jobs=2)) == reference
    for size in (1, 4, 100):
        results = run_many(engine, BARS, mixed_jobs(backend), n_jobs=2, chunk_size=size)
        assert fingerprints(results) == reference
    capsys.readouterr()
    assert fingerprints(engine.run_many(BARS, mixed_jobs(backend), progress=True)) == reference
    assert "6/6" in capsys.readouterr().err  # the progress bar reached the end


def test_run_many_on_a_process_pool_matches_the_local_run(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    local = fingerprints(engine.run_many(BARS, mixed_jobs(backend)))
    with spawn_pool() as pool:
        remote = engine.run_many(BARS, mixed_jobs(backend), executor=pool)
        assert fingerprints(remote) == local
        one_by_one = run_many(
            engine, BARS, mixed_jobs(backend), executor=pool, chunk_size=1, progress=True
        )
        assert fingerprints(one_by_one) == local


def test_run_many_on_a_thread_pool_matches_the_local_run(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    local = fingerprints(engine.run_many(BARS, mixed_jobs(backend)))
    with ThreadPoolExecutor(2) as pool:
        remote = engine.run_many(BARS, mixed_jobs(backend), executor=pool, n_jobs=2)
    assert fingerprints(remote) == local


def test_a_worker_rebuilds_the_engine_from_its_backend_name_and_settings(backend: str) -> None:
    engine = Engine(backend=backend, market="cn_a", price_limit=0.1, initial_cash=500_000.0)
    settings = engine.config.as_dict()
    assert EngineConfig.build(**settings) == engine.config
    jobs = [run_job for run_job in mixed_jobs(backend)[:2]]
    checked = [job.checked(BARS, engine.config) for job in jobs]
    assert fingerprints(run_chunk(backend, settings, BARS, checked)) == fingerprints(
        engine.run_many(BARS, jobs)
    )


def test_bars_jobs_settings_and_results_pickle(backend: str) -> None:
    bars = pickle.loads(pickle.dumps(BARS))
    assert bars.symbols == BARS.symbols
    for name in ("timestamps", "open", "high", "low", "close", "volume"):
        assert getattr(bars, name).tobytes() == getattr(BARS, name).tobytes()
    engine = Engine(backend=backend, **SETTINGS)
    assert pickle.loads(pickle.dumps(engine.config.as_dict())) == engine.config.as_dict()

    jobs = mixed_jobs(backend)
    copies = pickle.loads(pickle.dumps(jobs))
    assert [type(job) for job in copies] == [type(job) for job in jobs]
    assert copies[0].entries.tobytes() == jobs[0].entries.tobytes()
    assert copies[4].stop_loss == 0.05 and copies[2].fast == 8

    results = engine.run_many(BARS, jobs)
    assert any(r.trades for r in results) and any(r.orders for r in results)
    assert fingerprints(pickle.loads(pickle.dumps(results))) == fingerprints(results)


def test_run_many_of_no_jobs_is_an_empty_list(backend: str) -> None:
    engine = Engine(backend=backend)
    assert engine.run_many(BARS, []) == []
    assert engine.run_many(BARS, [], progress=True) == []


@pytest.mark.parametrize("n_jobs", [0, -1, 1.5, True, "2"])
def test_run_many_refuses_a_bad_n_jobs(n_jobs: Any) -> None:
    with pytest.raises(ConfigError, match="n_jobs"):
        Engine().run_many(BARS, mixed_jobs("python")[:1], n_jobs=n_jobs)


def test_run_many_refuses_a_bad_chunk_size_or_executor() -> None:
    with pytest.raises(ConfigError, match="chunk_size"):
        run_many(Engine(), BARS, [], chunk_size=0)
    with pytest.raises(ConfigError, match="executor"):
        Engine().run_many(BARS, [], executor=object())


class Returning:
    """An executor whose futures return `value` whatever the chunk."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def submit(self, fn: Any, *arguments: Any) -> Any:
        return self

    def result(self) -> Any:
        return self.value

    def cancel(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ([], "0 results"),
        ([None] * 4, "4 results"),
        (None, "NoneType"),
        (["garbage"] * 3, "a str among its results"),
    ],
)
def test_run_many_refuses_an_executor_that_returns_the_wrong_results(
    backend: str, value: Any, got: str
) -> None:
    jobs = mixed_jobs(backend)[:3]
    with pytest.raises(QuantaError) as caught:
        run_many(Engine(backend=backend), BARS, jobs, executor=Returning(value), chunk_size=3)
    assert str(caught.value) == (
        f"executor: Returning returned {got} where run_chunk returns a list of 3 "
        "BacktestResult (one per job of the chunk)"
    )


def test_run_many_names_the_position_of_a_bad_job() -> None:
    jobs = mixed_jobs("python")[:1] + ["not a job"]
    with pytest.raises(ConfigError, match=r"job 1\).*str"):
        Engine().run_many(BARS, jobs)
    with pytest.raises(ConfigError, match="jobs: expected a list"):
        Engine().run_many(BARS, jobs[0])
    short = Signals(np.zeros((5, 2), bool), np.zeros((5, 2), bool))
    with pytest.raises(DataError, match="entries: expected shape"):
        Engine().run_many(BARS, [short])


# ======================================================================= IndicatorCache
def test_cache_returns_the_backend_indicator_of_the_symbol_column(backend: str) -> None:
    cache = IndicatorCache(BARS, backend)
    sma = cache.get("sma", 10, symbol="S1")
    assert sma.tobytes() == indicators.sma(BARS.close[:, 1], 10).tobytes()
    high = cache.get("highest", 5, symbol="S0", field="high")
    assert high.tobytes() == indicators.highest(BARS.high[:, 0], 5).tobytes()
    atr = cache.get("atr", 7, symbol="S0")
    assert (
        atr.tobytes()
        == indicators.atr(BARS.high[:, 0], BARS.low[:, 0], BARS.close[:, 0], 7).tobytes()
    )
    line, signal, histogram = cache.get("macd", 6, 13, 4, symbol="S1")
    assert line.tobytes() == indicators.macd(BARS.close[:, 1], 6, 13, 4)[0].tobytes()
    assert not sma.flags.writeable and not line.flags.writeable  # shared: read-only


def test_cache_panel_is_time_by_symbols(backend: str) -> None:
    cache = IndicatorCache(BARS, backend)
    panel = cache.panel("ema", 12)
    assert panel.shape == (BARS.n_bars, BARS.n_symbols) and not panel.flags.writeable
    for n, symbol in enumerate(BARS.symbols):
        assert panel[:, n].tobytes() == cache.get("ema", 12, symbol=symbol).tobytes()
    upper, middle, lower = cache.panel("bollinger_bands", 20, num_std=2.5)
    assert upper.shape == middle.shape == lower.shape == panel.shape


def test_cache_computes_each_symbol_indicator_and_parameters_once(backend: str) -> None:
    cache = IndicatorCache(BARS, backend)
    first = cache.get("rsi", symbol="S0")
    assert cache.get("rsi", 14, symbol="S0") is first  # defaults filled in
    assert cache.get("rsi", period=14, symbol="S0") is first  # by name or position
    assert (cache.misses, cache.hits) == (1, 2)
    cache.get("rsi", 14, symbol="S1")
    cache.get("rsi", 14, symbol="S0", field="open")
    cache.get("rsi", 15, symbol="S0")
    assert (cache.misses, cache.hits, len(cache)) == (4, 2, 4)
    cache.clear()
    assert (cache.misses, cache.hits, len(cache)) == (0, 0, 0)


def test_cache_remembers_a_call_by_its_values_and_their_types(backend: str) -> None:
    cache = IndicatorCache(BARS, backend)
    panel = cache.panel("sma", 5)
    assert cache.panel("sma", 5).tobytes() == panel.tobytes()
    assert (cache.misses, cache.hits) == (BARS.n_symbols, BARS.n_symbols)
    # 5.0 == 5, but the period must be a whole number: the call is refused, not taken for
    # the remembered one
    with pytest.raises(ConfigError, match="period"):
        cache.panel("sma", 5.0)
    with pytest.raises(ConfigError, match="period"):
        cache.panel("sma", True)


def test_cache_panel_of_one_symbol_is_a_read_only_view_of_its_column(backend: str) -> None:
    one = IndicatorCache(BARS.select(BARS.symbols[:1]), backend)
    panel = one.panel("sma", 5)
    assert panel.shape == (BARS.n_bars, 1) and not panel.flags.writeable
    assert np.shares_memory(panel, one.get("sma", 5))
    with pytest.raises(ValueError):
        panel.flags.writeable = True


def test_cache_crossings_follow_the_backend_function_column_by_column(backend: str) -> None:
    cache = IndicatorCache(BARS, backend)
    fast, slow = cache.panel("sma", 5), cache.panel("sma", 20)
    above, below = cache.crossed_above(fast, slow), cache.crossed_below(fast, slow)
    assert above.shape == below.shape == fast.shape and above.dtype == bool
    for n in range(BARS.n_symbols):
        assert (above[:, n] == indicators.crossed_above(fast[:, n], slow[:, n])).all()
        assert (below[:, n] == indicators.crossed_below(fast[:, n], slow[:, n])).all()
    assert above.any() and below.any()
    one = cache.crossed_above(fast[:, 0], slow[:, 0])
    assert one.shape == (BARS.n_bars,) and (one == above[:, 0]).all()


def test_cache_refuses_unknown_names_with_the_choices() -> None:
    cache = IndicatorCache(BARS)
    with pytest.raises(ConfigError, match="indicator: 'vwap' is not one of sma"):
        cache.get("vwap", 10, symbol="S0")
    with pytest.raises(ConfigError, match="symbol: 'S9' is not in the bars"):
        cache.get("sma", 10, symbol="S9")
    with pytest.raises(ConfigError, match="symbol: required"):
        cache.get("sma", 10)
    with pytest.raises(ConfigError, match="field: must be one of"):
        cache.get("sma", 10, symbol="S0", field="vwap")
    with pytest.raises(ConfigError, match="field: atr reads high, low, close"):
        cache.get("atr", 14, symbol="S0", field="close")
    with pytest.raises(ConfigError, match="sma: missing a required argument: 'period'"):
        cache.get("sma", symbol="S0")
    with pytest.raises(ConfigError, match="sma: got an unexpected keyword argument 'window'"):
        cache.get("sma", 10, window=10, symbol="S0")
    with pytest.raises(ConfigError, match="period"):
        cache.get("sma", 0, symbol="S0")
    with pytest.raises(ConfigError, match="backend"):
        IndicatorCache(BARS, "gpu")
    assert cache.misses == 0 and len(cache) == 0  # nothing failed was stored


def test_cache_needs_no_symbol_for_one_symbol_bars() -> None:
    bars = data.synthetic(50, seed=1)
    assert IndicatorCache(bars).get("sma", 3).shape == (50,)


# ============================================================================== optimize
GRID = {"fast": [5, 10, 15], "slow": [10, 20, 30]}


def slower(params: Any) -> bool:
    return bool(params.fast < params["slow"])  # attribute and key access both work


def test_optimize_table_has_a_row_per_allowed_combination_in_grid_order(backend: str) -> None:
    found = Engine(backend=backend, **SETTINGS).optimize(BARS, crossover, GRID, constraint=slower)
    assert isinstance(found, OptimizeResult) and found.metric == "sharpe_ratio"
    table = found.table
    assert list(table.columns) == ["fast", "slow", *STAT_NAMES]
    assert table.shape == (7, 2 + len(STAT_NAMES))
    assert list(zip(table["fast"], table["slow"], strict=True)) == [
        (5, 10),
        (5, 20),
        (5, 30),
        (10, 20),
        (10, 30),
        (15, 20),
        (15, 30),
    ]


def test_optimize_rows_and_best_match_independent_runs(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    found = engine.optimize(BARS, crossover, GRID, constraint=slower, metric="total_return")
    rows = found.table.to_dict("records")
    for row in rows:
        run = engine.run_many(
            BARS, [crossover(IndicatorCache(BARS, backend), row["fast"], row["slow"])]
        )[0]
        assert run.stats["final_equity"] == row["final_equity"]
    # The argmax computed here from the table: NaN skipped, the first of equal values kept.
    best = None
    for row in rows:
        if not math.isnan(row["total_return"]) and (
            best is None or row["total_return"] > best["total_return"]
        ):
            best = row
    assert best is not None
    assert found.best_params == {"fast": best["fast"], "slow": best["slow"]}
    assert found.best is not None and found.best_value == best["total_return"]
    expected = engine.run_many(
        BARS, [crossover(IndicatorCache(BARS, backend), **found.best_params)]
    )[0]
    assert fingerprint(found.best) == fingerprint(expected)

    lowest = engine.optimize(
        BARS, crossover, GRID, constraint=slower, metric="total_return", maximize=False
    )
    worst = min(rows, key=lambda row: row["total_return"])
    assert lowest.best_params == {"fast": worst["fast"], "slow": worst["slow"]}


def test_optimize_computes_each_indicator_once_for_all_combinations(backend: str) -> None:
    caches: list[IndicatorCache] = []

    def make_job(cache: IndicatorCache, fast: int, slow: int) -> Signals:
        caches.append(cache)
        return crossover(cache, fast, slow)

    Engine(backend=backend).optimize(BARS, make_job, GRID, constraint=slower)
    assert len(caches) == 7 and all(cache is caches[0] for cache in caches)
    cache = caches[0]
    periods = {5, 10, 15, 20, 30}
    assert cache.misses == len(periods) * BARS.n_symbols == len(cache)
    assert cache.hits == 7 * 2 * BARS.n_symbols - cache.misses


def test_optimize_results_do_not_depend_on_threads_chunks_or_executor(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    local = engine.optimize(BARS, crossover, GRID, constraint=slower)
    with ThreadPoolExecutor(2) as pool:
        for found in (
            engine.optimize(BARS, crossover, GRID, constraint=slower, n_jobs=2, progress=True),
            engine.optimize(BARS, crossover, GRID, constraint=slower, executor=pool),
        ):
            assert found.table.equals(local.table)
            assert found.best_params == local.best_params
            assert found.best is not None and local.best is not None
            assert fingerprint(found.best) == fingerprint(local.best)


def test_optimize_nan_never_wins_and_ties_keep_the_first(backend: str) -> None:
    def make_job(cache: IndicatorCache, trade: bool, copy: int) -> Signals:
        if not trade:  # never trades: a Sharpe ratio of NaN
            nothing = np.zeros((BARS.n_bars, BARS.n_symbols), bool)
            return Signals(nothing, nothing)
        return crossover(cache, 5, 20)

    engine = Engine(backend=backend)
    found = engine.optimize(BARS, make_job, {"trade": [False, True], "copy": [1, 2, 3]})
    assert math.isnan(found.table["sharpe_ratio"][0])
    assert found.best_params == {"trade": True, "copy": 1}
    for maximize in (True, False):
        none = engine.optimize(
            BARS, make_job, {"trade": [False], "copy": [1, 2]}, maximize=maximize
        )
        assert none.best is None and none.best_params is None and len(none.table) == 2


def test_optimize_accepts_strategy_jobs(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    found = engine.optimize(
        BARS,
        lambda cache, fast, slow: SmaCross(fast=fast, slow=slow),
        {"fast": [5, 10], "slow": [20, 30]},
        metric="final_equity",
    )
    rows = found.table.to_dict("records")
    for row in rows:
        run = engine.run(BARS, SmaCross(fast=row["fast"], slow=row["slow"]))
        assert run.stats["final_equity"] == row["final_equity"]
    assert found.best_value == max(row["final_equity"] for row in rows)


def test_optimize_table_is_a_list_of_dicts_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    found = Engine().optimize(BARS, crossover, {"fast": [5], "slow": [20, 30]})
    assert isinstance(found.table, list) and len(found.table) == 2
    assert list(found.table[1])[:3] == ["fast", "slow", "start_equity"]
    assert found.table[1]["slow"] == 30


def test_optimize_refuses_an_unknown_metric_listing_the_statistics() -> None:
    with pytest.raises(ConfigError, match="metric: 'sharpe' is not a statistic.*sharpe_ratio"):
        Engine().optimize(BARS, crossover, GRID, metric="sharpe")


def test_optimize_refuses_a_make_job_that_returns_no_job() -> None:
    with pytest.raises(ConfigError, match=r"make_job: returned int for \{'fast': 5"):
        Engine().optimize(BARS, lambda cache, fast: 42, {"fast": [5, 10]})


def test_optimize_refuses_an_empty_or_malformed_grid() -> None:
    with pytest.raises(ConfigError, match="no combination left"):
        Engine().optimize(BARS, crossover, GRID, constraint=lambda p: p.fast > 100)
    with pytest.raises(ConfigError, match="no combination left"):
        Engine().optimize(BARS, crossover, {"fast": [], "slow": [20]})
    with pytest.raises(ConfigError, match="grid: expected a non-empty dict"):
        Engine().optimize(BARS, crossover, {})
    with pytest.raises(ConfigError, match="wrap a single value in a list"):
        Engine().optimize(BARS, crossover, {"fast": 5, "slow": [20]})
    with pytest.raises(ConfigError, match="wrap a single value in a list"):
        Engine().optimize(BARS, crossover, {"fast": "5"})
    for statistic in ("n_trades", "alpha", "sqn", "rejected_lot_size"):
        with pytest.raises(ConfigError, match=f"'{statistic}' is also a statistic"):
            Engine().optimize(BARS, crossover, {statistic: [1]})


@pytest.mark.parametrize("answer", [np.array([1, 2]), 1, None, "yes", np.array(True)])
def test_optimize_refuses_a_constraint_that_returns_no_bool(backend: str, answer: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        Engine(backend=backend).optimize(BARS, crossover, GRID, constraint=lambda p: answer)
    assert str(caught.value) == (
        f"constraint: must return True or False, got {type(answer).__name__} "
        "for {'fast': 5, 'slow': 10}"
    )


def test_optimize_takes_a_numpy_bool_from_the_constraint(backend: str) -> None:
    found = Engine(backend=backend).optimize(
        BARS, crossover, GRID, constraint=lambda p: np.int64(p.fast) * 2 == p.slow
    )
    assert len(found.table) == 3  # (5, 10), (10, 20), (15, 30)


def test_an_exception_in_the_constraint_passes_through(backend: str) -> None:
    def constraint(params: Any) -> bool:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        Engine(backend=backend).optimize(BARS, crossover, GRID, constraint=constraint)


def test_optimize_checks_n_jobs_before_building_any_job() -> None:
    def make_job(cache: IndicatorCache, fast: int) -> Signals:
        raise AssertionError("no job should be built")

    with pytest.raises(ConfigError, match="n_jobs"):
        Engine().optimize(BARS, make_job, {"fast": [5]}, n_jobs=0)


def test_stat_names_are_the_keys_of_every_result(backend: str) -> None:
    result = Engine(backend=backend).run_many(BARS, mixed_jobs(backend)[:1])[0]
    assert tuple(result.stats) == STAT_NAMES


def unaligned(array: np.ndarray) -> np.ndarray:
    """A copy of `array` at an odd address, as a Dask worker may receive it."""
    raw = bytearray(array.nbytes + 1)
    copy = np.frombuffer(raw, dtype=array.dtype, offset=1, count=array.size)
    copy = copy.reshape(array.shape)
    copy[...] = array
    assert not copy.flags.aligned
    return copy


def test_a_worker_runs_arrays_that_arrive_unaligned_or_writeable(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    arrays = [
        unaligned(getattr(BARS, name))
        for name in ("timestamps", "open", "high", "low", "close", "volume")
    ]
    received = Bars(arrays[0], BARS.symbols, *arrays[1:])
    jobs = [job.checked(BARS, engine.config) for job in mixed_jobs(backend)[:2]]
    jobs[1] = Targets(unaligned(jobs[1].weights))
    results = run_chunk(backend, engine.config.as_dict(), received, jobs)
    assert fingerprints(results) == fingerprints(engine.run_many(BARS, mixed_jobs(backend)[:2]))


def test_readme_grid_example_runs(backend_rust: None, capsys: pytest.CaptureFixture[str]) -> None:
    """The first example of the README's grid section, as written (it uses the Rust backend).
    Its Dask and Ray examples need a cluster: the Dask call is tested in test_distributed.py,
    Ray is not a dependency."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Many runs, grids and clusters", 1)[1].split("\n## ", 1)[0]
    example = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)
    found = namespace["found"]
    assert len(found.table) == 100 and set(found.best_params) == {"fast", "slow"}
    assert len(namespace["results"]) == 3
    assert str(found.best_params) in capsys.readouterr().out


# ================================================================ optimize: metric functions
def return_over_drawdown(result: BacktestResult) -> float:
    return result.stats["total_return"] / -result.stats["max_drawdown"]


def test_optimize_ranks_by_a_function_of_the_result(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    found = engine.optimize(BARS, crossover, GRID, constraint=slower, metric=return_over_drawdown)
    assert found.metric == "return_over_drawdown"
    rows = found.table.to_dict("records")
    assert list(found.table.columns) == ["fast", "slow", *STAT_NAMES, "return_over_drawdown"]
    # The column, recomputed here from the statistics of each row.
    for row in rows:
        assert row["return_over_drawdown"] == row["total_return"] / -row["max_drawdown"]
    best = max(rows, key=lambda row: row["return_over_drawdown"])
    assert found.best_params == {"fast": best["fast"], "slow": best["slow"]}
    assert found.best_value == best["return_over_drawdown"]
    assert found.best is not None and found.best.stats["final_equity"] == best["final_equity"]
    # The string metric ranks by the statistic exactly as before.
    by_name = engine.optimize(BARS, crossover, GRID, constraint=slower, metric="total_return")
    assert by_name.metric == "total_return" and "metric" not in by_name.table.columns
    top = max(rows, key=lambda row: row["total_return"])
    assert by_name.best_value == top["total_return"]


def test_a_lambda_metric_is_the_column_metric_and_may_be_minimised(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    found = engine.optimize(
        BARS,
        crossover,
        GRID,
        constraint=slower,
        metric=lambda r: np.float32(r.stats["n_trades"]),  # a numpy real
        maximize=False,
    )
    assert found.metric == "metric"
    counts = list(found.table["n_trades"])
    assert list(found.table["metric"]) == counts
    assert found.best_value == min(counts)
    first = counts.index(min(counts))  # the first of equal values wins
    assert found.best_params == {
        "fast": found.table["fast"][first],
        "slow": found.table["slow"][first],
    }


def test_a_nan_metric_value_never_wins(backend: str) -> None:
    def odd(result: BacktestResult) -> float:
        return math.nan if result.stats["n_trades"] > 12 else -result.stats["n_trades"]

    found = Engine(backend=backend).optimize(BARS, crossover, GRID, constraint=slower, metric=odd)
    rows = found.table.to_dict("records")
    allowed = [row for row in rows if row["n_trades"] <= 12]
    assert allowed and len(allowed) < len(rows)
    best = min(allowed, key=lambda row: row["n_trades"])
    assert found.best_params == {"fast": best["fast"], "slow": best["slow"]}
    none = Engine(backend=backend).optimize(BARS, crossover, GRID, metric=lambda r: math.nan)
    assert none.best is None and none.best_params is None and math.isnan(none.best_value)


@pytest.mark.parametrize(
    "answer", [True, np.bool_(False), "1.0", None, 1j, np.array([1.0]), 10**400]
)
def test_optimize_refuses_a_metric_that_returns_no_real_number(backend: str, answer: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        Engine(backend=backend).optimize(BARS, crossover, GRID, metric=lambda r: answer)
    assert str(caught.value) == (
        f"metric: metric must return a real number, got {type(answer).__name__} "
        f"{answer!r} for {{'fast': 5, 'slow': 10}}"
    )


def test_optimize_refuses_a_metric_function_named_like_a_column() -> None:
    def sharpe_ratio(result: BacktestResult) -> float:
        return 1.0

    def fast(result: BacktestResult) -> float:
        return 1.0

    with pytest.raises(ConfigError, match="'sharpe_ratio' is also a statistic"):
        Engine().optimize(BARS, crossover, GRID, metric=sharpe_ratio)
    with pytest.raises(ConfigError, match="'fast' is also a parameter"):
        Engine().optimize(BARS, crossover, GRID, metric=fast)
    with pytest.raises(ConfigError, match="metric: expected a statistic's name or a function"):
        Engine().optimize(BARS, crossover, GRID, metric=3)


def test_an_exception_in_the_metric_passes_through(backend: str) -> None:
    def metric(result: BacktestResult) -> float:
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        Engine(backend=backend).optimize(BARS, crossover, GRID, metric=metric)


def test_a_metric_function_runs_in_the_caller_with_an_executor(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    seen: list[float] = []

    def metric(result: BacktestResult) -> float:  # a closure: it would not pickle
        seen.append(result.stats["final_equity"])
        return result.stats["final_equity"]

    local = engine.optimize(BARS, crossover, GRID, constraint=slower, metric="final_equity")
    with spawn_pool(1) as pool:
        found = engine.optimize(
            BARS, crossover, GRID, constraint=slower, metric=metric, executor=pool
        )
    assert seen == list(local.table["final_equity"])
    assert found.best_params == local.best_params and found.best_value == local.best_value


# ============================================================= optimize: heatmap, Jupyter view
GRID3 = {"fast": [5, 10], "slow": [20, 30, 40], "size": [0.3, 0.6]}


def sized_crossover(cache: IndicatorCache, fast: int, slow: int, size: float) -> Signals:
    f, s = cache.panel("sma", fast), cache.panel("sma", slow)
    return Signals(cache.crossed_above(f, s), cache.crossed_below(f, s), size=size)


def test_heatmap_pivots_the_metric_over_two_parameters(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    for maximize in (True, False):
        found = engine.optimize(
            BARS, sized_crossover, GRID3, metric="total_return", maximize=maximize
        )
        rows = found.table.to_dict("records")
        for agg in ("best", "max", "min", "mean"):
            frame = found.heatmap("fast", "slow", agg=agg)
            assert list(frame.index) == [20, 30, 40] and list(frame.columns) == [5, 10]
            for slow in (20, 30, 40):
                for fast in (5, 10):
                    cell = [
                        r["total_return"] for r in rows if (r["fast"], r["slow"]) == (fast, slow)
                    ]
                    expected = {
                        "best": max(cell) if maximize else min(cell),
                        "max": max(cell),
                        "min": min(cell),
                        "mean": (cell[0] + cell[1]) / 2,
                    }[agg]
                    assert frame.loc[slow, fast] == pytest.approx(expected, rel=1e-15)
        assert found.heatmap("slow", "size").shape == (2, 3)


def test_heatmap_leaves_combinations_the_constraint_skipped_empty(backend: str) -> None:
    found = Engine(backend=backend).optimize(BARS, crossover, GRID, constraint=slower)
    frame = found.heatmap(x="slow", y="fast")
    assert frame.shape == (3, 3) and math.isnan(frame.loc[10, 10]) and math.isnan(frame.loc[15, 10])
    assert frame.loc[5, 20] == found.table["sharpe_ratio"][1]


def test_heatmap_refuses_unknown_or_equal_parameters_and_unknown_aggregates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = Engine().optimize(BARS, sized_crossover, GRID3)
    with pytest.raises(
        ConfigError, match="x: 'fst' is not a parameter; choose from fast, slow, size"
    ):
        found.heatmap("fst", "slow")
    with pytest.raises(ConfigError, match="y: 'sharpe_ratio' is not a parameter"):
        found.heatmap("fast", "sharpe_ratio")
    with pytest.raises(ConfigError, match="x, y: need two different parameters.*fast, slow, size"):
        found.heatmap("fast", "fast")
    with pytest.raises(ConfigError, match="agg: expected one of best, max, min, mean"):
        found.heatmap("fast", "slow", agg="median")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install quanta\[pandas\]"):
        found.heatmap("fast", "slow")


def test_the_jupyter_view_shows_the_best_and_the_ten_best_rows_escaped(backend: str) -> None:
    def make_job(cache: IndicatorCache, fast: int, slow: int, label: str) -> Signals:
        return crossover(cache, fast, slow)

    grid = {"fast": [5, 10, 15], "slow": [20, 30, 40, 50], "label": ["<b>x</b>"]}
    found = Engine(backend=backend).optimize(BARS, make_job, grid, metric="total_return")
    page = found._repr_html_()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<code>total_return</code>" in page and "highest first" in page
    ranked = found.table.sort_values("total_return", ascending=False, kind="stable")
    body = page.split("<tbody>")[1]
    assert body.count("<tr>") == 10
    cells = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td>", body)
    top = ranked.iloc[:10]
    assert cells == [(str(f), str(s)) for f, s in zip(top["fast"], top["slow"], strict=True)]


def test_optimize_ranks_by_an_extended_statistic_by_its_name(backend: str) -> None:
    from quanta_ref.analysis import extended_stats

    engine = Engine(backend=backend, **SETTINGS)
    grid = {"fast": [5, 10, 20], "slow": [30, 60]}
    found = engine.optimize(BARS, crossover, grid, metric="sqn")
    cache = IndicatorCache(BARS, backend=backend)
    by_hand = [
        extended_stats(single_run(engine, crossover(cache, f, s)))["sqn"]
        for f in grid["fast"]
        for s in grid["slow"]
    ]
    assert list(found.table["sqn"]) == by_hand
    assert found.metric == "sqn" and found.best_value == max(by_hand)
    walked = engine.walk_forward(BARS, crossover, grid, train=150, test=50, metric="alpha")
    assert walked.metric == "alpha" and len(walked.results) == 3


# ================================================== optimize by a statistic: stats only
def by_hand(statistic: str) -> Any:
    """A metric function that reads one statistic: it sends `optimize` down the path that
    keeps every result (the reference the statistics path must equal)."""

    def metric(result: BacktestResult) -> float:
        return result.stats[statistic]

    metric.__name__ = "by_hand"
    return metric


def assert_same_optimization(found: OptimizeResult, full: OptimizeResult) -> None:
    """`found` (ranked by a statistic) equals `full` (ranked by `by_hand` of it) in every
    field, bit for bit: the table, the values, the best and the rejections."""
    table = full.table.drop(columns="by_hand")
    assert found.table.columns.equals(table.columns)
    assert list(found.table.dtypes) == list(table.dtypes)
    assert found.table.to_numpy().tobytes() == table.to_numpy().tobytes()
    assert found.table.equals(table)
    assert np.array(found.values).tobytes() == np.array(full.values).tobytes()
    assert found.best_index == full.best_index and found.best_params == full.best_params
    assert found.rejections == full.rejections
    assert (found.best is None) == (full.best is None)
    if found.best is not None and full.best is not None:
        assert fingerprint(found.best) == fingerprint(full.best)
        assert found.best.rejections == full.best.rejections
        assert found.best.bars is BARS and found.best.config == full.best.config


def test_run_jobs_stats_are_the_stats_and_rejections_of_run_jobs(backend: str) -> None:
    from quanta_ref.api import JobStats
    from quanta_ref.arrays import check_job

    engine = Engine(backend=backend, **SETTINGS)
    all_in = crossover(IndicatorCache(BARS, backend), 5, 20)
    all_in = Signals(all_in.entries, all_in.exits)  # every entry is short of its commission
    jobs = [check_job(job, BARS, engine.config) for job in [*mixed_jobs(backend), all_in]]
    results = engine.implementation.run_jobs(BARS, jobs, engine.config, 2)
    found = engine.implementation.run_jobs_stats(BARS, jobs, engine.config, 2)
    assert any(found.rejections)
    assert found.stats.dtype == np.float64 and found.stats.shape == (len(jobs), len(STAT_NAMES))
    assert found.stats.tobytes() == JobStats.of(results).stats.tobytes()
    assert found.rejections == [result.rejections for result in results]
    exact = [{key: value.hex() for key, value in result.stats.items()} for result in results]
    rows = [found.row(k) for k in range(len(jobs))]
    assert [{key: value.hex() for key, value in row.items()} for row in rows] == exact
    empty = engine.implementation.run_jobs_stats(BARS, [], engine.config)
    assert empty.stats.shape == (0, len(STAT_NAMES)) and empty.rejections == []


def test_run_jobs_stats_with_a_callable_cost_model_run_the_strategy_path(backend: str) -> None:
    from quanta_ref.api import JobStats
    from quanta_ref.arrays import check_job

    def commission(symbol: str, side: str, quantity: float, price: float) -> float:
        return 0.001 * abs(quantity) * price

    engine = Engine(backend=backend, commission=commission)
    jobs = [check_job(job, BARS, engine.config) for job in mixed_jobs(backend)]
    results = engine.implementation.run_jobs(BARS, jobs, engine.config)
    found = engine.implementation.run_jobs_stats(BARS, jobs, engine.config)
    assert found.stats.tobytes() == JobStats.of(results).stats.tobytes()
    assert found.rejections == [result.rejections for result in results]


class Raising(SmaCross):
    def on_start(self, ctx: Any) -> None:
        raise RuntimeError("the strategy's own error")


def test_run_jobs_stats_raise_what_run_jobs_raises_in_job_order(backend: str) -> None:
    from quanta_ref.errors import OrderError

    entries = np.zeros((BARS.n_bars, BARS.n_symbols), dtype=bool)
    entries[3] = True
    bad = Signals(entries, np.zeros_like(entries), take_profit=1e308)  # unchecked: OrderError
    good = mixed_jobs(backend)[0]
    engine = Engine(backend=backend)
    backend_ = engine.implementation
    for jobs, error in (
        ([good, bad, Raising(), bad], OrderError),
        ([good, Raising(), bad], RuntimeError),
        ([bad], OrderError),
    ):
        with pytest.raises(error) as full:
            backend_.run_jobs(BARS, jobs, engine.config, 2)
        with pytest.raises(error) as stats:
            backend_.run_jobs_stats(BARS, jobs, engine.config, 2)
        assert str(stats.value) == str(full.value)


@pytest.mark.parametrize("way", ["at once", "chunks", "progress", "threads"])
@pytest.mark.parametrize("metric", ["sharpe_ratio", "final_equity", "n_fills"])
def test_optimize_by_a_statistic_equals_the_path_that_keeps_every_result(
    backend: str, way: str, metric: str
) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    options: dict[str, Any] = {
        "at once": {},
        "chunks": {"chunk_size": 2},
        "progress": {"progress": True, "n_jobs": 2},
    }.get(way, {})
    with ThreadPoolExecutor(2) as pool:
        if way == "threads":
            options = {"executor": pool, "chunk_size": 3}
        for grid, make_job in ((GRID3, sized_crossover), (GRID, crossover)):
            found = optimize(engine, BARS, make_job, grid, metric=metric, **options)
            full = optimize(engine, BARS, make_job, grid, metric=by_hand(metric), **options)
            assert found.metric == metric
            assert_same_optimization(found, full)


def test_optimize_by_a_statistic_of_target_and_compiled_jobs_equals_the_full_path(
    backend: str,
) -> None:
    def targets(cache: IndicatorCache, level: float, period: int) -> Targets:
        rsi = cache.panel("rsi", period)
        return Targets(np.where(rsi < 50.0, level, 0.0))

    engine = Engine(backend=backend, **SETTINGS)
    grid = {"level": [0.2, 0.45], "period": [5, 14]}
    for maximize in (True, False):
        found = optimize(engine, BARS, targets, grid, metric="cagr", maximize=maximize)
        full = optimize(engine, BARS, targets, grid, metric=by_hand("cagr"), maximize=maximize)
        assert_same_optimization(found, full)

    pytest.importorskip("numba")
    from compiled_strategies import SmaCross as CompiledSmaCross

    def compiled(cache: IndicatorCache, fast: int, slow: int) -> Any:
        return CompiledSmaCross(fast=fast, slow=slow)

    grid = {"fast": [5, 10], "slow": [20, 40]}
    with ThreadPoolExecutor(2) as pool:
        for options in ({}, {"executor": pool}):
            found = optimize(engine, BARS, compiled, grid, metric="total_return", **options)
            full = optimize(engine, BARS, compiled, grid, metric=by_hand("total_return"), **options)
            assert_same_optimization(found, full)


def test_optimize_by_a_statistic_runs_only_the_best_job_again_in_full(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    implementation = type(engine.implementation)
    full_runs: list[int] = []
    run_jobs = implementation.run_jobs

    def counting(self: Any, bars: Bars, jobs: list[Any], *arguments: Any) -> Any:
        full_runs.append(len(jobs))
        return run_jobs(self, bars, jobs, *arguments)

    monkeypatch.setattr(implementation, "run_jobs_stats", implementation.run_jobs_stats)
    monkeypatch.setattr(implementation, "run_jobs", counting)
    found = optimize(engine, BARS, crossover, GRID, metric="total_return", n_jobs=2)
    assert found.best is not None
    # The reference's run_jobs_stats is the plain one: it reads the results of run_jobs.
    assert full_runs == ([len(GRID["fast"]) * len(GRID["slow"]), 1] if backend == "python" else [1])


def test_optimize_with_strategy_jobs_runs_each_instance_once(backend: str) -> None:
    # A strategy instance may carry state from one run to the next, so it is never run
    # twice: the best is the result of its one run, as with a metric function.
    class Counting(SmaCross):
        runs = 0

        def on_start(self, ctx: Any) -> None:
            self.runs += 1
            assert self.runs == 1, "run twice"
            super().on_start(ctx)

    engine = Engine(backend=backend, **SETTINGS)
    grid = {"fast": [5, 10], "slow": [20, 30]}
    make_job = lambda cache, fast, slow: Counting(fast=fast, slow=slow)  # noqa: E731
    found = optimize(engine, BARS, make_job, grid, metric="total_return")
    full = optimize(engine, BARS, make_job, grid, metric=by_hand("total_return"))
    assert_same_optimization(found, full)


def test_optimize_by_a_statistic_surfaces_a_job_error_as_before(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quanta_ref import grid as grid_module
    from quanta_ref.errors import OrderError

    def make_job(cache: IndicatorCache, fast: int, slow: int) -> Signals:
        job = crossover(cache, fast, slow)
        return job if fast != 10 else Signals(job.entries, job.exits, take_profit=1e308)

    engine = Engine(backend=backend)
    with pytest.raises(ConfigError, match="take_profit") as checked:
        optimize(engine, BARS, make_job, GRID, metric="total_return")
    with pytest.raises(ConfigError, match="take_profit") as full:
        optimize(engine, BARS, make_job, GRID, metric=by_hand("total_return"))
    assert str(checked.value) == str(full.value)
    # Past the check (a job the engine refuses while it runs): the native error, as before.
    monkeypatch.setattr(grid_module, "check_job", lambda job, *arguments: job)
    errors = []
    for metric in ("total_return", by_hand("total_return")):
        for options in ({}, {"chunk_size": 2}):
            with pytest.raises(OrderError, match="limit_price") as raised:
                optimize(engine, BARS, make_job, GRID, metric=metric, **options)
            errors.append(str(raised.value))
    assert len(set(errors)) == 1


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ([], "list"),
        (None, "NoneType"),
        ("stats", "str"),
    ],
)
def test_optimize_by_a_statistic_refuses_an_executor_that_returns_the_wrong_stats(
    backend: str, value: Any, got: str
) -> None:
    with pytest.raises(QuantaError) as caught:
        optimize(
            Engine(backend=backend),
            BARS,
            crossover,
            GRID,
            metric="total_return",
            executor=Returning(value),
            chunk_size=3,
        )
    assert str(caught.value) == (
        f"executor: Returning returned {got} where run_chunk_stats returns the JobStats of 3 "
        f"jobs (one row of {len(STAT_NAMES)} statistics per job)"
    )


def test_optimize_by_a_statistic_refuses_stats_of_the_wrong_shape(backend: str) -> None:
    from quanta_ref.api import JobStats

    short = JobStats(np.zeros((2, len(STAT_NAMES))), [{}, {}])
    with pytest.raises(QuantaError, match=r"returned statistics of shape \(2, 19\) and 2 "):
        optimize(
            Engine(backend=backend),
            BARS,
            crossover,
            GRID,
            metric="total_return",
            executor=Returning(short),
            chunk_size=3,
        )


def test_optimize_by_a_statistic_on_a_process_pool_equals_the_local_run(backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    local = optimize(engine, BARS, crossover, GRID, metric="sortino_ratio")
    with spawn_pool() as pool:
        remote = optimize(engine, BARS, crossover, GRID, metric="sortino_ratio", executor=pool)
    full = optimize(engine, BARS, crossover, GRID, metric=by_hand("sortino_ratio"))
    assert_same_optimization(local, full)
    assert_same_optimization(remote, full)


def test_optimize_by_a_statistic_without_pandas_gives_the_same_rows(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    found = optimize(engine, BARS, crossover, GRID, metric="total_return")
    full = optimize(engine, BARS, crossover, GRID, metric=by_hand("total_return"))
    assert isinstance(found.table, list)
    rows = [{k: v for k, v in row.items() if k != "by_hand"} for row in full.table]
    assert [list(row) for row in found.table] == [list(row) for row in rows]

    def exact(row: dict[str, Any]) -> list[Any]:
        return [(type(v), v.hex() if isinstance(v, float) else v) for v in row.values()]

    assert [exact(row) for row in found.table] == [exact(row) for row in rows]
