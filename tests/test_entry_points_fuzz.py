"""Garbage into every public entry point: a QuantaError or a result, the same on both backends.

Each test draws arguments from a pool of odd values (wrong types, shapes and dtypes, numbers
at the edges of float64, bool arrays whose bytes are not 0/1, unaligned and strided arrays,
numpy scalars), calls one entry point on the reference and on the Rust backend, and checks:

* nothing but a `QuantaError` subclass escapes (a bare TypeError, ValueError, KeyError,
  OverflowError or a Rust panic is a failure);
* both backends give the same outcome: the same error class and message, or results equal
  bit for bit (fills, orders, equity, stats).

The entry points that do not involve a backend (loaders, `Bars` builders and filters) are
checked for the first point only.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanta_fast import indicators as fast_indicators
from quanta_fast import metrics as fast_metrics
from quanta_ref import Bars, Engine, IndicatorCache, Signals, Strategy, Targets, data
from quanta_ref import indicators as ref_indicators
from quanta_ref import metrics as ref_metrics
from quanta_ref.errors import ConfigError, DataError, QuantaError
from strategies import CN_A_ON_OTHER_DATA, NS_DAY, ODD_VALUES, STARTS

pytestmark = pytest.mark.usefixtures("backend_rust")

N_BARS, N_SYMBOLS = 12, 2


def _bars() -> Bars:
    rng = np.random.default_rng(3)
    close = 10.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, (N_BARS, N_SYMBOLS)), axis=0))
    open_ = close * (1.0 + rng.normal(0.0, 0.01, close.shape))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    volume = np.full(close.shape, 1e6)
    timestamps = STARTS[0] + NS_DAY * np.arange(N_BARS, dtype=np.int64)
    return Bars.from_arrays(timestamps, open_, high, low, close, volume, symbols=["S0", "S1"])


BARS = _bars()
SHAPE = (N_BARS, N_SYMBOLS)

# ---------------------------------------------------------------------- the garbage pool
#: The odd values of the other bad-input tests, and a few that mean something here.
ODD_SCALARS: list[Any] = [
    *ODD_VALUES,
    2,
    0.5,
    1.5,
    "percent",
    "quantity",
    b"S0",
    np.int32(-3),
    np.float32(0.5),
    np.str_("S0"),
    np.array(1.0),
]
SCALAR = st.sampled_from(ODD_SCALARS) | st.floats() | st.integers() | st.text(max_size=4)


def _odd_bytes_as_bool(rng: np.random.Generator) -> np.ndarray:
    # numpy reads any non-zero byte as True; a native reader must too.
    return rng.integers(0, 256, SHAPE, dtype=np.uint8).view(np.bool_)


def _unaligned(values: np.ndarray) -> np.ndarray:
    buffer = bytearray(values.nbytes + 1)
    out = np.frombuffer(buffer, dtype=values.dtype, offset=1, count=values.size)
    out = out.reshape(values.shape)
    out[...] = values
    return out


ARRAY_KINDS = (
    "bool",
    "odd_bytes_bool",
    "int01",
    "int",
    "float",
    "float_nan",
    "float_inf",
    "float32",
    "huge",
    "tiny",
    "negative",
    "unaligned_float",
    "unaligned_bool",
    "fortran",
    "strided",
    "transposed",
    "one_column",
    "too_short",
    "three_d",
    "object",
    "strings",
    "datetime",
    "complex",
    "list",
    "empty",
    "scalar_array",
)


@st.composite
def panels(draw: Any) -> Any:
    """An array-like meant as a (T, N) panel: right two times in three, odd otherwise."""
    kind = draw(st.sampled_from(ARRAY_KINDS))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    flags = rng.random(SHAPE) < 0.3
    weights = rng.uniform(-1.0, 1.0, SHAPE)
    arrays: dict[str, Callable[[], Any]] = {
        "bool": lambda: flags,
        "odd_bytes_bool": lambda: _odd_bytes_as_bool(rng),
        "int01": lambda: flags.astype(np.int64),
        "int": lambda: rng.integers(-3, 4, SHAPE),
        "float": lambda: weights,
        "float_nan": lambda: np.where(flags, math.nan, weights),
        "float_inf": lambda: np.where(flags, math.inf, weights),
        "float32": lambda: weights.astype(np.float32),
        "huge": lambda: weights * 1e308,
        "tiny": lambda: weights * 5e-324,
        "negative": lambda: -np.abs(weights),
        "unaligned_float": lambda: _unaligned(weights),
        "unaligned_bool": lambda: _unaligned(flags),
        "fortran": lambda: np.asfortranarray(flags if rng.random() < 0.5 else weights),
        "strided": lambda: np.repeat(weights, 2, axis=1)[:, ::2],
        "transposed": lambda: weights.T,
        "one_column": lambda: flags[:, 0],
        "too_short": lambda: flags[:-1],
        "three_d": lambda: flags[..., None],
        "object": lambda: flags.astype(object),
        "strings": lambda: flags.astype(str),
        "datetime": lambda: np.zeros(SHAPE, dtype="datetime64[ns]"),
        "complex": lambda: weights.astype(complex),
        "list": lambda: flags.tolist(),
        "empty": lambda: np.zeros((0, N_SYMBOLS)),
        "scalar_array": lambda: np.array(True),
    }
    if draw(st.integers(0, 2)) == 0:
        return draw(SCALAR)
    return arrays[kind]()


# ---------------------------------------------------------------------- outcomes
def _outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """("error", class, message) for a QuantaError; ("ok", digest) for a result. Any other
    exception propagates and fails the test."""
    try:
        value = call()
    except QuantaError as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("ok", _digest(value))


def _digest(value: Any) -> Any:
    """What must be identical across backends, NaN-safe (compared as bytes or repr)."""
    if isinstance(value, list):
        return [_digest(v) for v in value]
    if hasattr(value, "equity") and hasattr(value, "fills"):
        return (
            np.asarray(value.equity).tobytes(),
            repr(value.fills),
            repr(value.orders),
            repr(sorted(value.stats.items())),
        )
    if hasattr(value, "table") and hasattr(value, "best"):
        return _digest(value.best), repr(value.best_params), repr(value.table)
    if hasattr(value, "windows") and hasattr(value, "results"):  # a walk-forward
        return value.equity.tobytes(), _digest(value.results), repr(value.windows)
    if isinstance(value, tuple):
        return tuple(_digest(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.dtype.str, value.shape, value.tobytes()
    return repr(value)


def _same_on_both(call: Callable[[str], Any]) -> None:
    python = _outcome(lambda: call("python"))
    rust = _outcome(lambda: call("rust"))
    assert python == rust


ENGINE_SETTINGS = st.sampled_from(
    [
        {},
        {"allow_short": True},
        CN_A_ON_OTHER_DATA,
        {"fill_at": "close", "fractional": True},
    ]
)


# ---------------------------------------------------------------------- engine entry points
@given(
    settings=ENGINE_SETTINGS,
    entries=panels(),
    exits=panels(),
    short_entries=st.none() | panels(),
    short_exits=st.none() | panels(),
    size=st.just(1.0) | SCALAR,
    size_type=st.just("percent") | SCALAR,
    stop_loss=st.none() | SCALAR,
    take_profit=st.none() | SCALAR,
)
def test_run_signals_with_garbage_gives_the_same_result_or_error_on_both_backends(
    settings: dict[str, Any],
    entries: Any,
    exits: Any,
    short_entries: Any,
    short_exits: Any,
    size: Any,
    size_type: Any,
    stop_loss: Any,
    take_profit: Any,
) -> None:
    _same_on_both(
        lambda backend: Engine(backend=backend, **settings).run_signals(
            BARS,
            entries,
            exits,
            short_entries=short_entries,
            short_exits=short_exits,
            size=size,
            size_type=size_type,
            stop_loss=stop_loss,
            take_profit=take_profit,
        )
    )


@given(settings=ENGINE_SETTINGS, weights=panels())
def test_run_targets_with_garbage_gives_the_same_result_or_error_on_both_backends(
    settings: dict[str, Any], weights: Any
) -> None:
    _same_on_both(lambda backend: Engine(backend=backend, **settings).run_targets(BARS, weights))


class _Buyer(Strategy):
    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == 1:
            ctx.buy("S0", 100)


JOBS = st.lists(
    st.sampled_from(
        [
            Signals(np.eye(N_BARS, N_SYMBOLS, dtype=bool), np.eye(N_BARS, N_SYMBOLS, k=-3) > 0),
            Targets(np.full(SHAPE, 0.4)),
            _Buyer(),
            "job",
            None,
            3,
            Signals,
        ]
    ),
    max_size=4,
)


@given(
    jobs=JOBS | SCALAR,
    n_jobs=st.none() | st.sampled_from([1, 2, 3]) | SCALAR,
    progress=st.just(False) | SCALAR,
)
def test_run_many_with_garbage_gives_the_same_results_or_error_on_both_backends(
    jobs: Any, n_jobs: Any, progress: Any
) -> None:
    _same_on_both(
        lambda backend: Engine(backend=backend).run_many(
            BARS, jobs, n_jobs=n_jobs, progress=progress
        )
    )


def _make_job(cache: Any, **params: Any) -> Any:
    return Targets(np.full(SHAPE, params.get("w", 0.5)))


#: A metric: a statistic's name, a value that is none (a function raising on its own, such as
#: `float`, is the user's error and passes through, so it is left out), or a function that
#: returns an odd value.
METRIC = (
    st.just("sharpe_ratio")
    | st.just("total_return")
    | SCALAR.filter(lambda value: not callable(value))
    | SCALAR.map(lambda value: lambda result: value)
)


@given(
    grid=st.just({"w": [0.2, 0.5]}) | st.dictionaries(st.text(max_size=3), SCALAR, max_size=2),
    metric=METRIC,
    maximize=st.just(True) | SCALAR,
    n_jobs=st.none() | SCALAR,
)
def test_optimize_with_garbage_gives_the_same_results_or_error_on_both_backends(
    grid: Any, metric: Any, maximize: Any, n_jobs: Any
) -> None:
    _same_on_both(
        lambda backend: Engine(backend=backend).optimize(
            BARS, _make_job, grid, metric=metric, maximize=maximize, n_jobs=n_jobs
        )
    )


@given(
    train=st.sampled_from([3, 5]) | SCALAR,
    test=st.sampled_from([2, 4]) | SCALAR,
    step=st.none() | st.just(5) | SCALAR,
    anchored=st.booleans() | SCALAR,
    metric=METRIC,
)
def test_walk_forward_with_garbage_gives_the_same_results_or_error_on_both_backends(
    train: Any, test: Any, step: Any, anchored: Any, metric: Any
) -> None:
    _same_on_both(
        lambda backend: Engine(backend=backend).walk_forward(
            BARS,
            _make_job,
            {"w": [0.2, 0.5]},
            train=train,
            test=test,
            step=step,
            anchored=anchored,
            metric=metric,
        )
    )


@given(bars=st.just(BARS) | SCALAR, strategy=st.just(_Buyer()) | SCALAR)
def test_run_with_garbage_gives_the_same_result_or_error_on_both_backends(
    bars: Any, strategy: Any
) -> None:
    _same_on_both(lambda backend: Engine(backend=backend).run(bars, strategy))


# ---------------------------------------------------------------------- indicators
SINGLE = ("sma", "ema", "wma", "rsi", "rolling_std", "highest", "lowest", "roc")


@given(
    name=st.sampled_from(SINGLE),
    values=panels(),
    period=st.sampled_from([1, 2, 3, 14]) | SCALAR,
)
def test_indicators_with_garbage_give_the_reference_result_or_error(
    name: str, values: Any, period: Any
) -> None:
    python = _outcome(lambda: getattr(ref_indicators, name)(values, period))
    rust = _outcome(lambda: getattr(fast_indicators, name)(values, period))
    assert python == rust


@given(high=panels(), low=panels(), close=panels(), period=st.just(3) | SCALAR)
def test_atr_with_garbage_gives_the_reference_result_or_error(
    high: Any, low: Any, close: Any, period: Any
) -> None:
    python = _outcome(lambda: ref_indicators.atr(high, low, close, period))
    rust = _outcome(lambda: fast_indicators.atr(high, low, close, period))
    assert python == rust


@given(
    name=st.sampled_from(["crossed_above", "crossed_below"]),
    fast=panels(),
    slow=panels() | SCALAR,
)
def test_crossings_with_garbage_give_the_reference_result_or_error(
    name: str, fast: Any, slow: Any
) -> None:
    python = _outcome(lambda: getattr(ref_indicators, name)(fast, slow))
    rust = _outcome(lambda: getattr(fast_indicators, name)(fast, slow))
    assert python == rust


@given(
    symbol=st.just("S0") | SCALAR,
    name=st.sampled_from(["sma", "ema", "rsi", "atr", "macd"]) | SCALAR,
    period=st.just(3) | SCALAR,
)
def test_indicator_cache_with_garbage_gives_the_same_result_or_error_on_both_backends(
    symbol: Any, name: Any, period: Any
) -> None:
    def call(backend: str) -> Any:
        cache = IndicatorCache(BARS, backend=backend)
        return cache.get(symbol, name, period)

    _same_on_both(call)


# ---------------------------------------------------------------------- data entry points
def _quanta_error_or_value(call: Callable[[], Any]) -> None:
    try:
        call()
    except QuantaError:
        pass


@given(start=st.none() | SCALAR | st.sampled_from(["2024-01-03", "2500-01-01", "1600-01-01"]))
def test_bars_between_with_garbage_gives_bars_or_quanta_error(start: Any) -> None:
    _quanta_error_or_value(lambda: BARS.between(start, None))
    _quanta_error_or_value(lambda: BARS.between(None, start))


@given(symbols=st.lists(st.sampled_from(["S0", "S1", "S9"]) | SCALAR, max_size=3) | SCALAR)
def test_bars_select_with_garbage_gives_bars_or_quanta_error(symbols: Any) -> None:
    _quanta_error_or_value(lambda: BARS.select(symbols))


@given(
    n_bars=st.just(5) | SCALAR,
    n_symbols=st.just(1) | SCALAR,
    seed=st.just(0) | SCALAR,
    start=st.just("2000-01-03") | SCALAR,
    freq=st.just("1D") | SCALAR,
    start_price=st.just(100.0) | SCALAR,
    volatility=st.just(0.02) | SCALAR,
)
def test_synthetic_with_garbage_gives_bars_or_quanta_error(
    n_bars: Any,
    n_symbols: Any,
    seed: Any,
    start: Any,
    freq: Any,
    start_price: Any,
    volatility: Any,
) -> None:
    _quanta_error_or_value(
        lambda: data.synthetic(
            n_bars if not isinstance(n_bars, int) else min(n_bars, 50),
            n_symbols if not isinstance(n_symbols, int) else min(n_symbols, 5),
            seed,
            start,
            freq,
            start_price,
            volatility,
        )
    )


@given(symbols=SCALAR | st.lists(SCALAR, max_size=2), adjusted=st.just(True) | SCALAR)
def test_sample_loaders_with_garbage_give_bars_or_quanta_error(symbols: Any, adjusted: Any) -> None:
    _quanta_error_or_value(lambda: data.load_samples(symbols, adjusted))
    _quanta_error_or_value(lambda: data.load_sample(symbols, adjusted))


@given(
    symbol=st.just("AAA") | SCALAR,
    start=st.none() | SCALAR,
    end=st.none() | SCALAR,
    root=st.none() | SCALAR,
)
def test_load_bars_with_garbage_gives_bars_or_quanta_error(
    tmp_path_factory: Any, symbol: Any, start: Any, end: Any, root: Any
) -> None:
    folder = tmp_path_factory.mktemp("bars")
    (folder / "AAA.csv").write_text(
        "date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,10,100\n"
    )
    _quanta_error_or_value(
        lambda: data.load_bars(symbol, start, end, folder if root is None else root)
    )


@given(frame=SCALAR | panels())
def test_from_dataframe_with_garbage_gives_bars_or_quanta_error(frame: Any) -> None:
    _quanta_error_or_value(lambda: Bars.from_dataframe(frame))


def test_a_pickled_panel_comes_back_read_only_and_equal() -> None:
    back = pickle.loads(pickle.dumps(BARS))
    assert back.symbols == BARS.symbols
    for name in ("timestamps", "open", "high", "low", "close", "volume"):
        array = getattr(back, name)
        assert not array.flags.writeable, name
        assert array.tobytes() == getattr(BARS, name).tobytes(), name


# ---------------------------------------------------------------------- found by the fuzz
@pytest.mark.parametrize("flag", [np.array([]), np.bool_(True), 1, "yes", None])
def test_run_many_progress_must_be_true_or_false(backend: str, flag: Any) -> None:
    with pytest.raises(ConfigError, match="progress: expected True or False"):
        Engine(backend=backend).run_many(BARS, [], progress=flag)


@pytest.mark.parametrize("flag", [np.array([]), 0, "max"])
def test_optimize_maximize_must_be_true_or_false(backend: str, flag: Any) -> None:
    with pytest.raises(ConfigError, match="maximize: expected True or False"):
        Engine(backend=backend).optimize(BARS, _make_job, {"w": [0.5]}, maximize=flag)


def test_load_samples_adjusted_must_be_true_or_false() -> None:
    with pytest.raises(ConfigError, match="adjusted: expected True or False"):
        data.load_samples(["AAPL"], adjusted=np.array([]))


def test_run_many_refuses_a_0d_array_as_jobs(backend: str) -> None:
    with pytest.raises(ConfigError, match="jobs: expected a list of jobs"):
        Engine(backend=backend).run_many(BARS, np.array(1.0))


def test_indicators_refuse_complex_input_on_both_backends() -> None:
    values = np.ones(5, dtype=complex)
    for module in (ref_indicators, fast_indicators):
        with pytest.raises(DataError, match="values: expected real numbers"):
            module.sma(values, 2)
        with pytest.raises(DataError, match="slow: expected real numbers"):
            module.crossed_above(np.ones(5), 1j)


def test_synthetic_refuses_a_walk_beyond_the_float_range() -> None:
    with pytest.raises(ConfigError, match="volatility: the walk"):
        data.synthetic(5, volatility=1430.0)
    with pytest.raises(ConfigError, match="start_price"):
        data.synthetic(5, start_price=10**400)


def test_a_panel_wholly_in_1970_runs_the_same_on_both_backends() -> None:
    bars = data.synthetic(10, start="1970-01-02", freq="1h")
    _same_on_both(lambda backend: Engine(backend=backend).run(bars, _Buyer()))


def test_a_panel_spanning_more_than_292_years_runs_the_same_on_both_backends() -> None:
    times = np.array(["1700-01-01", "2250-01-01"], "M8[ns]")
    bars = Bars.from_arrays(times, [10.0, 10.0], [11.0, 11.0], [9.0, 9.0], [10.0, 10.0])
    _same_on_both(lambda backend: Engine(backend=backend).run(bars, Strategy()))
    assert ref_metrics.infer_periods_per_year(times) == 1.0
    assert fast_metrics.infer_periods_per_year(times) == 1.0


@given(
    equity=st.just(np.ones(N_BARS)) | panels(),
    initial_cash=st.just(1.0) | SCALAR,
    trade_pnls=st.just([]) | st.lists(SCALAR, max_size=2) | SCALAR,
    traded_value=st.just(0.0) | SCALAR,
    bars_in_market=st.just(0) | SCALAR,
    periods_per_year=st.none() | SCALAR,
)
def test_compute_stats_with_garbage_gives_the_reference_result_or_error(
    equity: Any,
    initial_cash: Any,
    trade_pnls: Any,
    traded_value: Any,
    bars_in_market: Any,
    periods_per_year: Any,
) -> None:
    def call(module: Any) -> Any:
        return module.compute_stats(
            BARS.timestamps,
            equity,
            initial_cash,
            trade_pnls=trade_pnls,
            traded_value=traded_value,
            bars_in_market=bars_in_market,
            periods_per_year=periods_per_year,
        )

    assert _outcome(lambda: call(ref_metrics)) == _outcome(lambda: call(fast_metrics))


def test_compute_stats_reads_an_unaligned_equity_curve() -> None:
    equity = _unaligned(np.linspace(1.0, 2.0, N_BARS))
    args = (BARS.timestamps, equity, 1.0)
    kwargs = {"trade_pnls": [], "traded_value": 0.0, "bars_in_market": 0}
    assert repr(fast_metrics.compute_stats(*args, **kwargs)) == repr(
        ref_metrics.compute_stats(*args, **kwargs)
    )


class _Keeper(Strategy):
    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.kept = (ctx, ctx.portfolio)


def test_the_repr_of_a_context_or_portfolio_kept_after_the_run_never_raises(
    backend: str,
) -> None:
    strategy = _Keeper()
    Engine(backend=backend).run(BARS, strategy)
    for kept in strategy.kept:
        assert repr(kept).startswith("<")


def test_optimize_refuses_a_0d_array_as_the_values_of_a_parameter(backend: str) -> None:
    with pytest.raises(ConfigError, match="grid: the values of 'w' must be a list or range"):
        Engine(backend=backend).optimize(BARS, _make_job, {"w": np.array(1.0)})
