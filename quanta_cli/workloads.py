"""The benchmark workloads W1-W5 and the runs at the limit: their data, their strategies and
the runs that are timed.

The workloads live in the package, not in ``benchmarks/``, so that ``quanta bench`` runs them
from an installed quanta; the pytest-benchmark suite (``benchmarks/test_workloads.py``)
imports them from here, so both measure the same thing. How they are timed and reported:
`quanta_cli.bench`.

Workloads (seeded synthetic data, the same bars on every machine):

* **W1**: 1 symbol x 2,520 daily bars (10 years x 252 days).
* **W2**: 1 symbol x 491,400 one-minute bars (5 years x 252 days x 390 minutes).
  `quanta_ref.data.synthetic` spaces minute bars around the clock; here its prices are
  re-stamped to 390 minutes a day, 09:30-15:59, on 1,260 business days, so that trading days
  behave as in a real intraday backtest. Per-bar volatility 0.1 %.
* **W3**: 100 symbols x 2,520 daily bars, one signal set per symbol, each entry sized at
  1/100 of equity.
* **W4**: 100 (fast, slow) combinations on the W1 data: fast in 5..14, slow in 20, 25, .., 65.

They are the design document's four benchmark scenarios (10 years of daily bars of one stock,
5 years of one-minute bars, 100 stocks x 10 years, a 100-combination parameter grid); each
`Workload` carries the design document's expected times and speed-up for its scenario, which
the report sets beside the measured ones.

Strategy: SMA(fast)/SMA(slow) crossover (10/30 on W1-W3), long only, all in (1/N of equity on
N symbols) on a cross up, flat on a cross down, commission 0.03 %, initial cash 1,000,000,
fills at the next open. Indicators are computed inside the timed region. Each workload runs in
three modes on both backends:

* **callback**: the Python `Strategy` `quanta_ref.examples.SmaCross` (streaming indicators),
  ``engine.run`` (W4: ``engine.run_many`` of 100 strategies, ``n_jobs=2``);
* **array**: batch indicators (`quanta_ref.indicators` on python, `quanta_fast.indicators` on
  rust), ``crossed_above``/``crossed_below`` and ``engine.run_signals`` (W4: 100 `Signals`
  jobs through ``engine.run_many(..., n_jobs=2)``; each SMA period is computed once);
* **compiled**: the compiled strategy `quanta_ref.examples.SmaCrossCompiled` (its callbacks
  compiled by numba into one C entry; the same trades as ``SmaCross``, bit for bit),
  ``engine.run`` (W4: ``engine.run_many`` of 100 of them, ``n_jobs=2``). Its compilation is
  not timed: `compile_strategy` does it (or loads numba's disk cache) before the first run.

And a third implementation of the array mode: **numba**, the loop a user would otherwise write
by hand (`numba_kernels`).

The runs at the limit, on rust (python only where it is affordable, to check rust against it):

* **W5**: 5,000 symbols x 2,520 daily bars, a momentum rotation through target weights: every
  21 bars, equal weights on the 50 symbols of highest 252-day momentum, 0 on every other
  symbol, NaN (no order) between (`momentum_weights`, `run_momentum`); the weights are
  computed inside the timed region. Smaller sizes (500, 1,000, 2,000 symbols) are the first
  columns of the same panel.
* **the 10,000-combination grid**: SMA(fast)/SMA(slow) crossovers on the W1 data, fast in
  1..100 x slow in 101..200, through ``engine.optimize`` with a `make_job` on the
  `IndicatorCache` (`crossover`), and the same jobs through ``engine.run_many``
  (`run_big_grid`).
* **scaling**: the W2 crossover in array mode on 10 k to 10 M one-minute bars of one symbol
  (`minute_bars_of_length`), to see whether the cost per bar stays flat.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

from quanta_ref import backends
from quanta_ref.api import Backend, BacktestResult
from quanta_ref.arrays import Signals
from quanta_ref.bars import FIELDS, Bars
from quanta_ref.cache import IndicatorCache
from quanta_ref.data import synthetic
from quanta_ref.errors import BackendUnavailable, ConfigError, RejectedOrdersWarning
from quanta_ref.examples import SmaCross, SmaCrossCompiled
from quanta_ref.front import Engine
from quanta_ref.grid import OptimizeResult

#: The random seed of the synthetic data.
DATA_SEED = 20240101
DAILY_BARS = 2_520  # 10 years x 252 trading days
MINUTES_PER_DAY = 390  # 09:30 to 16:00
MINUTE_DAYS = 1_260  # 5 years x 252 trading days
MINUTE_BARS = MINUTE_DAYS * MINUTES_PER_DAY  # 491,400
PORTFOLIO_SYMBOLS = 100
#: Engine settings of every workload (fills at the next open, the default).
SETTINGS: dict[str, Any] = {"initial_cash": 1_000_000.0, "commission_rate": 0.0003}
BACKENDS = ("python", "rust")
MODES = ("callback", "array", "compiled")
#: The runs at the limit, by the name `quanta bench --workload` takes: W5, the
#: 10,000-combination grid, and the crossover at growing lengths.
LIMIT_PARTS = ("W5", "grid10k", "scaling")
#: Worker threads of the W4 grid (the machine's two cores).
GRID_JOBS = 2


# ============================================================================ data
def daily_bars(n_bars: int = DAILY_BARS, n_symbols: int = 1) -> Bars:
    """`n_bars` seeded daily bars of `n_symbols` symbols (W1, W3, W4)."""
    return synthetic(n_bars, n_symbols=n_symbols, seed=DATA_SEED)


def minute_bars(days: int = MINUTE_DAYS) -> Bars:
    """Seeded one-minute bars of one symbol, 390 a day on `days` business days (W2)."""
    walk = synthetic(days * MINUTES_PER_DAY, seed=DATA_SEED, freq="1min", volatility=0.001)
    dates = np.busday_offset(np.datetime64("2015-01-02"), np.arange(days), roll="forward")
    session = np.timedelta64(9 * 60 + 30, "m") + np.arange(MINUTES_PER_DAY).astype("m8[m]")
    timestamps = (dates.astype("M8[m]")[:, None] + session[None, :]).ravel()
    return Bars.from_arrays(
        timestamps, walk.open, walk.high, walk.low, walk.close, walk.volume, symbols=walk.symbols
    )


# ============================================================================ workloads
@dataclass(frozen=True)
class Sizes:
    """The dimensions of the workloads; `TINY` shrinks them for a smoke test."""

    daily_bars: int = DAILY_BARS
    minute_days: int = MINUTE_DAYS
    portfolio_symbols: int = PORTFOLIO_SYMBOLS
    fast: int = 10
    slow: int = 30
    grid_fast: tuple[int, ...] = tuple(range(5, 15))
    grid_slow: tuple[int, ...] = tuple(range(20, 70, 5))
    # W5: the symbol counts measured (the last, the largest, is W5 itself), the count python
    # is checked at, and the rotation's rule.
    momentum_bars: int = DAILY_BARS
    momentum_symbols: tuple[int, ...] = (500, 1_000, 2_000, 5_000)
    momentum_check_symbols: int = 500
    momentum_lookback: int = 252
    rebalance_every: int = 21
    momentum_top: int = 50
    # The 10,000-combination grid on the W1 data (every fast below every slow).
    big_grid_fast: tuple[int, ...] = tuple(range(1, 101))
    big_grid_slow: tuple[int, ...] = tuple(range(101, 201))
    # The lengths of one-minute data the W2 crossover runs on, and the longest python checks.
    lengths: tuple[int, ...] = (10_000, 100_000, 1_000_000, 10_000_000)
    length_check_bars: int = 100_000


#: The sizes the workloads are defined with.
FULL = Sizes()

#: A few hundred bars: the whole report runs in about a second (the figures mean nothing).
TINY = Sizes(
    daily_bars=120,
    minute_days=1,
    portfolio_symbols=3,
    fast=3,
    slow=8,
    grid_fast=(2, 3),
    grid_slow=(5, 8),
    momentum_bars=120,
    momentum_symbols=(6, 12),
    momentum_check_symbols=6,
    momentum_lookback=20,
    rebalance_every=5,
    momentum_top=3,
    big_grid_fast=(2, 3),
    big_grid_slow=(5, 8, 13),
    lengths=(390, 1_170),
    length_check_bars=1_170,
)

#: (rounds, warm-up rounds) per "mode-backend" (and "numba"): a run of more than a second
#: gets three rounds and no warm-up, so the whole suite stays within a few minutes. The
#: compiled strategy on python (the reference driver calls the C entry per event from Python:
#: W2 ~9 s, W3 ~32 s, W4 ~5.5 s a run) gets one or two.
_SHORT = {
    "callback-python": (15, 1),
    "callback-rust": (25, 1),
    "array-python": (15, 1),
    "array-rust": (25, 1),
    "compiled-python": (15, 1),
    "compiled-rust": (25, 1),
    "numba": (25, 1),
}
_LONG = {
    "callback-python": (3, 0),
    "callback-rust": (5, 1),
    "array-python": (3, 0),
    "array-rust": (5, 1),
    "compiled-python": (1, 0),
    "compiled-rust": (15, 1),
    "numba": (25, 1),
}
_MEDIUM = {
    "callback-python": (3, 1),
    "callback-rust": (7, 1),
    "array-python": (3, 1),
    "array-rust": (7, 1),
    "compiled-python": (1, 0),
    "compiled-rust": (15, 1),
    "numba": (25, 1),
}
_GRID = {
    **_MEDIUM,
    "callback-python": (3, 0),
    "array-python": (3, 0),
    "compiled-python": (2, 0),
}


@dataclass(frozen=True)
class Workload:
    """One workload: a data set and the (fast, slow) pairs to run on it.

    `run` is what is timed: indicators, signals and the backtest(s), from the bars to the
    results.
    """

    name: str  # "W1" .. "W4"
    title: str  # what it is, in a few words
    make_bars: Callable[[], Bars]
    combos: tuple[tuple[int, int], ...]  # (fast, slow): one pair, or the W4 grid
    rounds: dict[str, tuple[int, int]]  # see _SHORT
    scenario: str = ""  # the scenario it stands for in the design document
    #: The design document's expected Python time, Rust time and speed-up for the scenario.
    expected: tuple[str, str, str] = ("", "", "")

    @property
    def is_grid(self) -> bool:
        return len(self.combos) > 1

    def bar_count(self, bars: Bars) -> int:
        """Symbol-bars processed by one run: bars x symbols x combinations."""
        return bars.n_bars * bars.n_symbols * len(self.combos)

    def run(self, bars: Bars, mode: str, backend: str) -> list[BacktestResult]:
        """One timed run: `mode` "callback", "array" or "compiled" on `backend` "python" or
        "rust"."""
        engine = Engine(backend=backend, **SETTINGS)
        if mode == "callback":
            strategies = [SmaCross(fast=f, slow=s) for f, s in self.combos]
            if not self.is_grid:
                return [engine.run(bars, strategies[0])]
            return engine.run_many(bars, strategies, n_jobs=GRID_JOBS)
        if mode == "compiled":
            compiled = [SmaCrossCompiled(fast=f, slow=s) for f, s in self.combos]
            if not self.is_grid:
                return [engine.run(bars, compiled[0])]
            return engine.run_many(bars, compiled, n_jobs=GRID_JOBS)
        if mode != "array":
            raise ValueError(f"mode: 'callback', 'array' or 'compiled', got {mode!r}")
        jobs = signal_jobs(bars, self.combos, indicators_of(backend))
        if not self.is_grid:
            job = jobs[0]
            return [engine.run_signals(bars, job.entries, job.exits, size=job.size)]
        return engine.run_many(bars, jobs, n_jobs=GRID_JOBS)

    def run_numba(self, bars: Bars) -> NumbaResult:
        """The same backtests as the array mode, in the hand-written numba loop."""
        return run_numba(bars, self.combos)


def make_workloads(sizes: Sizes = FULL) -> tuple[Workload, ...]:
    """W1-W4 at the given dimensions (the data is only built when `make_bars` is called)."""
    n = sizes.portfolio_symbols
    pair = ((sizes.fast, sizes.slow),)
    grid = tuple((f, s) for f in sizes.grid_fast for s in sizes.grid_slow if f < s)
    return (
        Workload(
            "W1",
            f"1 symbol x {sizes.daily_bars:,} daily bars",
            lambda: daily_bars(sizes.daily_bars),
            pair,
            _SHORT,
            "10-year single stock",
            ("5 s", "0.5 s", "10x"),
        ),
        Workload(
            "W2",
            f"1 symbol x {sizes.minute_days * MINUTES_PER_DAY:,} one-minute bars",
            lambda: minute_bars(sizes.minute_days),
            pair,
            _LONG,
            "5-year 1-minute bars",
            ("50 s", "1 s", "50x"),
        ),
        Workload(
            "W3",
            f"{n} symbols x {sizes.daily_bars:,} daily bars, 1/{n} of equity each",
            lambda: daily_bars(sizes.daily_bars, n),
            pair,
            _MEDIUM,
            "100-stock portfolio",
            ("200 s", "2 s", "100x"),
        ),
        Workload(
            "W4",
            f"{len(grid)} (fast, slow) combinations on W1",
            lambda: daily_bars(sizes.daily_bars),
            grid,
            _GRID,
            "100 parameter combinations",
            ("500 s", "10 s", "50x"),
        ),
    )


WORKLOADS = make_workloads()


def indicators_of(backend: str) -> ModuleType:
    """The batch indicators an array run uses: the reference's on python, the native ones
    (bit-identical) on rust."""
    return backends.load(backend).indicators


def signal_jobs(
    bars: Bars, combos: Sequence[tuple[int, int]], indicators: ModuleType
) -> list[Signals]:
    """One `Signals` job per (fast, slow) pair: entries on SMA(fast) crossing above SMA(slow),
    exits on crossing below, per symbol; each entry sized at 1/N of equity. The indicators
    take the whole (T, N) close panel at once (the Rust kernels run the symbols in SIMD
    lanes), and each SMA period is computed once, however many pairs use it."""
    averages: dict[int, np.ndarray] = {}

    def sma(period: int) -> np.ndarray:
        if period not in averages:
            averages[period] = indicators.sma(bars.close, period)
        return averages[period]

    return [
        Signals(
            indicators.crossed_above(sma(fast), sma(slow)),
            indicators.crossed_below(sma(fast), sma(slow)),
            size=1.0 / bars.n_symbols,
        )
        for fast, slow in combos
    ]


def same_backtests(a: Sequence[BacktestResult], b: Sequence[BacktestResult]) -> bool:
    """Whether two lists of runs have the same equity curves (bit for bit) and fill counts."""
    return len(a) == len(b) and all(
        x.equity.tobytes() == y.equity.tobytes() and len(x.fills) == len(y.fills)
        for x, y in zip(a, b, strict=True)
    )


def rust_array_is_native() -> bool:
    """Whether this build runs array jobs natively on rust. Before the native array driver,
    the rust backend runs them as the reference's `SignalStrategy` on its callback engine
    (correct, but Python per bar): figures of that kind are preliminary."""
    if not rust_available():
        return False
    return type(backends.load("rust")).run_jobs is not Backend.run_jobs


def rust_available() -> bool:
    """Whether `Engine(backend="rust")` loads."""
    try:
        backends.load("rust")
    except (BackendUnavailable, ConfigError):
        return False
    return True


def compile_strategy() -> float:
    """Compile the C entry of `SmaCrossCompiled` in this process (numba; loaded from its disk
    cache when it holds the entry), so that no timed compiled run pays for it: seconds.
    Needs numba."""
    from quanta_ref.compiled_numba import entry_of

    start = time.perf_counter()
    entry_of(SmaCrossCompiled)
    return time.perf_counter() - start


# ============================================================================ at the limit
#: (rounds, warm-up rounds) of the big grid's runs (about a second or more each).
BIG_GRID_ROUNDS = (3, 1)


def limit_rounds(symbol_bars: int) -> tuple[int, int]:
    """(rounds, warm-up rounds) of a W5 or a scaling run of `symbol_bars` symbol-bars: fewer
    as the runs grow (10 M bars: about a second a run)."""
    if symbol_bars <= 1_000_000:
        return 15, 1
    if symbol_bars < 5_000_000:
        return 7, 1
    return 5, 1


def momentum_panel(sizes: Sizes = FULL) -> Bars:
    """The W5 data: seeded daily bars of the largest symbol count of `sizes`."""
    return daily_bars(sizes.momentum_bars, max(sizes.momentum_symbols))


def first_symbols(bars: Bars, n_symbols: int) -> Bars:
    """The first `n_symbols` columns of `bars` (the panel itself when that is all of it)."""
    if n_symbols == bars.n_symbols:
        return bars
    return bars.select(bars.symbols[:n_symbols])


def momentum_weights(close: np.ndarray, sizes: Sizes = FULL) -> np.ndarray:
    """W5's target weights (T, N): on every `rebalance_every`-th row from the first with a
    momentum (row `momentum_lookback`), 1 / `momentum_top` on the `momentum_top` symbols of
    highest momentum ``close[t] / close[t - lookback] - 1`` and 0.0 on every other symbol;
    NaN (no order) on the other rows. Equal momenta rank by column (a stable sort); a NaN
    momentum ranks last."""
    n_bars, n_symbols = close.shape
    lookback, top = sizes.momentum_lookback, min(sizes.momentum_top, n_symbols)
    rows = np.arange(lookback, n_bars, sizes.rebalance_every)
    momentum = close[rows] / close[rows - lookback] - 1.0
    leaders = np.argsort(-momentum, axis=1, kind="stable")[:, :top]
    weights = np.full((n_bars, n_symbols), np.nan)
    weights[rows] = 0.0
    weights[rows[:, None], leaders] = 1.0 / top
    return weights


def run_momentum(bars: Bars, backend: str, sizes: Sizes = FULL) -> BacktestResult:
    """One timed W5 run: the weights, then ``engine.run_targets``. The orders the engine
    rejects (a few, for cash, when the whole equity is spread over the leaders) are counted
    in the result, not warned about."""
    weights = momentum_weights(bars.close, sizes)
    engine = Engine(backend=backend, **SETTINGS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectedOrdersWarning)
        return engine.run_targets(bars, weights)


def crossover(cache: IndicatorCache, fast: int, slow: int) -> Signals:
    """The `make_job` of the 10,000-combination grid, as the `Engine.optimize` docstring
    writes it: SMA(fast) crossing above / below SMA(slow), from the grid's shared cache."""
    f, s = cache.panel("sma", fast), cache.panel("sma", slow)
    return Signals(cache.crossed_above(f, s), cache.crossed_below(f, s))


def big_grid(sizes: Sizes = FULL) -> dict[str, tuple[int, ...]]:
    """The (fast, slow) grid of `run_big_grid`, as `Engine.optimize` takes it."""
    return {"fast": sizes.big_grid_fast, "slow": sizes.big_grid_slow}


def run_big_grid(
    bars: Bars, how: str, backend: str, sizes: Sizes = FULL
) -> OptimizeResult | list[BacktestResult]:
    """One timed run of the big grid on `GRID_JOBS` threads: `how` "optimize" ranks the
    combinations by Sharpe ratio (``engine.optimize``); "run_many" builds the same jobs from
    one `IndicatorCache` and runs them (``engine.run_many``), no ranking."""
    engine = Engine(backend=backend, **SETTINGS)
    grid = big_grid(sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectedOrdersWarning)
        if how == "optimize":
            return engine.optimize(bars, crossover, grid, metric="sharpe_ratio", n_jobs=GRID_JOBS)
        if how != "run_many":
            raise ValueError(f"how: 'optimize' or 'run_many', got {how!r}")
        cache = IndicatorCache(bars, backend=engine.backend)
        jobs = [crossover(cache, fast, slow) for fast in grid["fast"] for slow in grid["slow"]]
        return engine.run_many(bars, jobs, n_jobs=GRID_JOBS)


def big_grid_combos(sizes: Sizes = FULL) -> list[tuple[int, int]]:
    """The (fast, slow) pairs of the big grid, in the order `Engine.optimize` runs them."""
    grid = big_grid(sizes)
    return [(fast, slow) for fast in grid["fast"] for slow in grid["slow"]]


def big_grid_sample(sizes: Sizes = FULL, count: int = 20) -> list[int]:
    """The positions of about `count` combinations spread evenly over the big grid: the
    ones python runs to check rust's."""
    size = len(big_grid_combos(sizes))
    return list(range(0, size, max(1, size // count)))


def run_big_grid_sample(
    bars: Bars, positions: Sequence[int], backend: str, sizes: Sizes = FULL
) -> list[BacktestResult]:
    """The big grid's combinations at `positions` (see `big_grid_sample`), through
    ``engine.run_many`` on one thread, each job built from one `IndicatorCache`."""
    engine = Engine(backend=backend, **SETTINGS)
    cache = IndicatorCache(bars, backend=engine.backend)
    combos = big_grid_combos(sizes)
    jobs = [crossover(cache, *combos[k]) for k in positions]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectedOrdersWarning)
        return engine.run_many(bars, jobs)


def minute_bars_of_length(n_bars: int) -> Bars:
    """About `n_bars` one-minute bars (`minute_bars` of ``n_bars / 390`` days, rounded)."""
    return minute_bars(max(1, round(n_bars / MINUTES_PER_DAY)))


def run_crossover(bars: Bars, backend: str, sizes: Sizes = FULL) -> BacktestResult:
    """The W2 array run on bars of any length: indicators, signals, ``engine.run_signals``
    (rejected orders counted in the result, not warned about)."""
    (job,) = signal_jobs(bars, ((sizes.fast, sizes.slow),), indicators_of(backend))
    return run_signals_only(bars, job, backend)


def run_signals_only(bars: Bars, job: Signals, backend: str) -> BacktestResult:
    """``engine.run_signals`` of a job built beforehand: the engine's share of an array run."""
    engine = Engine(backend=backend, **SETTINGS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RejectedOrdersWarning)
        return engine.run_signals(bars, job.entries, job.exits, size=job.size)


def input_bytes(bars: Bars, arrays: Sequence[np.ndarray] = ()) -> int:
    """Bytes of the data a run reads: the bars' timestamps and OHLCV arrays, plus `arrays`
    (a job's signals or weights)."""
    panels = [bars.timestamps, *(getattr(bars, name) for name in FIELDS), *arrays]
    return sum(int(array.nbytes) for array in panels)


# ============================================================================ numba
@dataclass
class NumbaResult:
    """Equity per bar of each run (K, T) and the fill count of each run (K,)."""

    equity: np.ndarray
    fills: np.ndarray


_KERNELS: SimpleNamespace | None = None


def numba_available() -> bool:
    """Whether numba imports."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def numba_kernels() -> SimpleNamespace:
    """The SMA crossover as a user would write it with numba, compiled on first call.

    This is the baseline quanta competes with: one ``@njit`` loop over the bars, running sums
    for the two SMAs, a decision on each close, executed at the next open: all in (the
    largest whole number of shares the cash pays for, commission included) on a cross up,
    everything sold on a cross down; equity at every close. `portfolio` does the same for N
    symbols, each buy sized at `size` x the book's value at the previous close (sells first,
    then buys, in symbol order); `grid` runs `one` for every (fast, slow) pair, the pairs
    spread over the cores with ``prange``.

    Rules that differ from quanta's (docs/benchmarks.md compares the results): the running
    sums add the new value before subtracting the old one; the portfolio sizes buys from
    the book at the previous close, not from the equity with the symbol marked at the fill
    price, and caps them at what the cash buys; no check of the booking arithmetic.
    """
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    import numba

    @numba.njit(cache=False)
    def one(
        open_: np.ndarray,
        close: np.ndarray,
        fast: int,
        slow: int,
        cash: float,
        rate: float,
        equity: np.ndarray,
    ) -> int:
        fast_sum = 0.0
        slow_sum = 0.0
        prev_fast = np.nan
        prev_slow = np.nan
        held = 0.0
        order = 0  # decided at a close, done at the next open: +1 buy, -1 sell
        fills = 0
        for t in range(close.shape[0]):
            if order > 0:
                price = open_[t]
                quantity = np.floor(cash / (price * (1.0 + rate)))
                if quantity > 0.0:
                    value = quantity * price
                    cash -= value + value * rate
                    held = quantity
                    fills += 1
            elif order < 0:
                value = held * open_[t]
                cash += value - value * rate
                held = 0.0
                fills += 1
            order = 0
            x = close[t]
            fast_sum += x
            slow_sum += x
            if t >= fast:
                fast_sum -= close[t - fast]
            if t >= slow:
                slow_sum -= close[t - slow]
            if t >= slow - 1:
                f = fast_sum / fast
                s = slow_sum / slow
                if f > s and prev_fast <= prev_slow and held == 0.0:
                    order = 1
                elif f < s and prev_fast >= prev_slow and held > 0.0:
                    order = -1
                prev_fast = f
                prev_slow = s
            equity[t] = cash + held * x
        return fills

    @numba.njit(cache=False)
    def portfolio(
        open_: np.ndarray,
        close: np.ndarray,
        fast: int,
        slow: int,
        size: float,
        cash: float,
        rate: float,
        equity: np.ndarray,
    ) -> int:
        n_bars, n_symbols = close.shape
        fast_sum = np.zeros(n_symbols)
        slow_sum = np.zeros(n_symbols)
        prev_fast = np.full(n_symbols, np.nan)
        prev_slow = np.full(n_symbols, np.nan)
        held = np.zeros(n_symbols)
        order = np.zeros(n_symbols, dtype=np.int64)
        fills = 0
        for t in range(n_bars):
            if t > 0:
                book = cash
                for n in range(n_symbols):
                    book += held[n] * close[t - 1, n]
                for n in range(n_symbols):  # sells first: they free the cash
                    if order[n] < 0:
                        value = held[n] * open_[t, n]
                        cash += value - value * rate
                        held[n] = 0.0
                        fills += 1
                for n in range(n_symbols):
                    if order[n] > 0:
                        price = open_[t, n]
                        quantity = min(
                            np.floor(size * book / price), np.floor(cash / (price * (1.0 + rate)))
                        )
                        if quantity > 0.0:
                            value = quantity * price
                            cash -= value + value * rate
                            held[n] = quantity
                            fills += 1
                    order[n] = 0
            value = cash
            for n in range(n_symbols):
                x = close[t, n]
                fast_sum[n] += x
                slow_sum[n] += x
                if t >= fast:
                    fast_sum[n] -= close[t - fast, n]
                if t >= slow:
                    slow_sum[n] -= close[t - slow, n]
                if t >= slow - 1:
                    f = fast_sum[n] / fast
                    s = slow_sum[n] / slow
                    if f > s and prev_fast[n] <= prev_slow[n] and held[n] == 0.0:
                        order[n] = 1
                    elif f < s and prev_fast[n] >= prev_slow[n] and held[n] > 0.0:
                        order[n] = -1
                    prev_fast[n] = f
                    prev_slow[n] = s
                value += held[n] * x
            equity[t] = value
        return fills

    @numba.njit(cache=False, parallel=True)
    def grid(
        open_: np.ndarray,
        close: np.ndarray,
        fasts: np.ndarray,
        slows: np.ndarray,
        cash: float,
        rate: float,
        equity: np.ndarray,
    ) -> np.ndarray:
        fills = np.zeros(fasts.shape[0], dtype=np.int64)
        for k in numba.prange(fasts.shape[0]):
            fills[k] = one(open_, close, fasts[k], slows[k], cash, rate, equity[k])
        return fills

    _KERNELS = SimpleNamespace(one=one, portfolio=portfolio, grid=grid)
    return _KERNELS


def run_numba(bars: Bars, combos: Sequence[tuple[int, int]]) -> NumbaResult:
    """The numba loop over `bars` for each (fast, slow) pair (see `numba_kernels`)."""
    kernels = numba_kernels()
    cash, rate = float(SETTINGS["initial_cash"]), float(SETTINGS["commission_rate"])
    equity = np.empty((len(combos), bars.n_bars))
    if bars.n_symbols > 1:
        if len(combos) != 1:
            raise ValueError("the numba portfolio loop runs one (fast, slow) pair")
        ((fast, slow),) = combos
        fills = kernels.portfolio(
            bars.open, bars.close, fast, slow, 1.0 / bars.n_symbols, cash, rate, equity[0]
        )
        return NumbaResult(equity, np.array([fills]))
    open_, close = bars.open[:, 0], bars.close[:, 0]
    if len(combos) == 1:
        ((fast, slow),) = combos
        fills = kernels.one(open_, close, fast, slow, cash, rate, equity[0])
        return NumbaResult(equity, np.array([fills]))
    fasts = np.array([f for f, _ in combos], dtype=np.int64)
    slows = np.array([s for _, s in combos], dtype=np.int64)
    return NumbaResult(equity, kernels.grid(open_, close, fasts, slows, cash, rate, equity))
