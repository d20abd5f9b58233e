"""Edges of the streaming indicators, the indicator cache and the bar `on_bar` receives, on
both backends: what `update()` accepts and refuses, pickling and copying with the full state,
and a cache whose answer never depends on what was asked before.

Each behaviour is compared across the two implementations: the same bits, or the same
`QuantaError` class with the same message.
"""

from __future__ import annotations

import copy
import decimal
import fractions
import math
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest

from conftest import require_rust_engine
from quanta_ref import Engine, IndicatorCache, Strategy, data
from quanta_ref import indicators as ref
from quanta_ref.errors import ConfigError, DataError, QuantaError


@pytest.fixture
def fast() -> Any:
    require_rust_engine()
    from quanta_fast import indicators

    return indicators


def make(module: Any, name: str) -> Any:
    """A small instance of streaming class `name` of `module`."""
    if name == "MACD":
        return module.MACD(2, 4, 2)
    if name == "BollingerBands":
        return module.BollingerBands(3, 2.0)
    return getattr(module, name)(3)


def feed(indicator: Any, name: str, value: Any) -> Any:
    """`update` with one value (ATR: as the close, with a bar around it)."""
    if name == "ATR":
        return indicator.update(11.0, 9.0, value)
    return indicator.update(value)


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "returned", np.array(call()).tobytes()
    except QuantaError as exc:
        return type(exc).__name__, str(exc)


STREAMING = [
    "SMA",
    "EMA",
    "WMA",
    "RSI",
    "ROC",
    "RollingStd",
    "Highest",
    "Lowest",
    "MACD",
    "BollingerBands",
    "ATR",
]
NOT_REAL = {
    "2**2000": 2**2000,
    "None": None,
    "1j": 1j,
    "numpy complex": np.complex128(1.0),
    "1-D array": np.array([1.0, 2.0]),
    "1-element array": np.array([1.0]),
    "str": "2",
    "bytes": b"2",
    "list": [1.0],
    "object": object(),
}
REAL = {
    "float": 1.5,
    "int": 3,
    "bool": True,
    "2**1000": 2**1000,
    "numpy float64": np.float64(2.5),
    "numpy float32": np.float32(0.1),
    "numpy int64": np.int64(-4),
    "0-D array": np.array(2.0),
    "Decimal": decimal.Decimal("1.1"),
    "Fraction": fractions.Fraction(1, 3),
    "-0.0": -0.0,
}


# ------------------------------------------------------------------ what update() accepts
@pytest.mark.parametrize("label", NOT_REAL)
@pytest.mark.parametrize("name", STREAMING)
def test_streaming_update_refuses_what_is_not_a_real_number_alike(fast, name, label):
    value = NOT_REAL[label]
    ours, theirs = make(fast, name), make(ref, name)
    for indicator in (ours, theirs):
        for x in (10.0, 10.5):
            feed(indicator, name, x)
    got = outcome(lambda: feed(ours, name, value))
    expected = outcome(lambda: feed(theirs, name, value))
    assert got == expected
    argument = "close" if name == "ATR" else "value"
    assert expected[0] == "DataError"
    assert expected[1].startswith(f"{argument}: expected a real number, got ")
    # Refused before anything changed: both carry on as if the call had not happened.
    assert outcome(lambda: feed(ours, name, 11.0)) == outcome(lambda: feed(theirs, name, 11.0))


def test_streaming_update_messages_name_the_argument_and_what_came():
    with pytest.raises(DataError, match=r"^value: expected a real number, got int too large"):
        ref.SMA(2).update(2**2000)
    with pytest.raises(DataError, match=r"^value: expected a real number, got None$"):
        ref.SMA(2).update(None)
    with pytest.raises(DataError, match=r"^value: expected a real number, got a 1-D ndarray$"):
        ref.EMA(2).update(np.array([1.0, 2.0]))
    with pytest.raises(DataError, match=r"^value: expected a real number, got str$"):
        ref.RSI(2).update("2")
    with pytest.raises(DataError, match=r"^high: expected a real number, got complex$"):
        ref.ATR(2).update(1j, 1.0, 1.0)


@pytest.mark.parametrize("label", REAL)
@pytest.mark.parametrize("name", STREAMING)
def test_streaming_update_takes_real_numbers_as_float_does(fast, name, label):
    value = REAL[label]
    ours, theirs = make(fast, name), make(ref, name)
    for x in (10.0, 10.5, value, 11.0, value):
        got = outcome(lambda x=x: feed(ours, name, x))
        assert got == outcome(lambda x=x: feed(theirs, name, x))
        assert got[0] == "returned"


def test_a_huge_int_within_the_float_range_is_taken_as_float_takes_it(fast):
    for module in (ref, fast):
        sma = module.SMA(1)
        assert sma.update(2**1000) == float(2**1000)


@pytest.mark.parametrize("position", range(4))
@pytest.mark.parametrize("label", ["2**2000", "None", "1j", "1-D array", "str"])
def test_cross_refuses_what_is_not_a_real_number_alike(fast, position, label):
    args: list[Any] = [1.0, 2.0, 3.0, 2.0]
    args[position] = NOT_REAL[label]
    expected = outcome(lambda: ref.cross(*args))
    assert outcome(lambda: fast.cross(*args)) == expected
    name = ["prev_fast", "prev_slow", "fast", "slow"][position]
    assert expected[0] == "DataError" and expected[1].startswith(f"{name}: expected a real")


# ------------------------------------------------------------------- pickling and copying
COPIES: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda x: pickle.loads(pickle.dumps(x)),
    "pickle protocol 0": lambda x: pickle.loads(pickle.dumps(x, protocol=0)),
    "deepcopy": copy.deepcopy,
    "copy": copy.copy,
}


def series(n: int, seed: int) -> list[float]:
    """Prices with a gap (NaN), which resets the indicators mid-way."""
    rng = np.random.default_rng(seed)
    values = (100.0 + np.cumsum(rng.normal(0.0, 1.0, n))).tolist()
    values[n // 3] = math.nan
    return values


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("k", [0, 2, 7, 15])
@pytest.mark.parametrize("name", STREAMING)
def test_a_copied_streaming_indicator_continues_bit_for_bit(fast, name, k, how):
    values = series(30, seed=k)
    reference = make(ref, name)
    expected = [outcome(lambda x=x: feed(reference, name, x)) for x in values]
    for module in (ref, fast):
        original = make(module, name)
        before = [outcome(lambda x=x: feed(original, name, x)) for x in values[:k]]
        twin = COPIES[how](original)
        assert type(twin) is type(original)
        assert outcome(lambda twin=twin: twin.value) == outcome(lambda: original.value)
        for indicator in (original, twin):
            after = [outcome(lambda x=x: feed(indicator, name, x)) for x in values[k:]]
            assert before + after == expected, module.__name__


def test_a_native_indicator_refuses_a_state_that_is_not_its_own(fast):
    sma = fast.SMA(3)
    for x in (1.0, 2.0, 3.0, 4.0):
        sma.update(x)
    _, _, state = sma.__reduce__()
    with pytest.raises(DataError, match="^state: not a saved state of this indicator"):
        fast.SMA(2).__setstate__(state)  # a window of 3 values for a period of 2
    _, _, ema_state = fast.EMA(3).__reduce__()
    with pytest.raises(DataError, match="^state: not a saved state"):
        fast.SMA(3).__setstate__(ema_state)
    assert fast.SMA(3).update(1.0) != fast.SMA(3).update(1.0)  # NaN: nothing half-restored


def test_unpickling_goes_through_the_checked_constructor(fast):
    # The pickle names the public class and its settings: loading it runs the constructor's
    # checks, so a tampered period is the constructor's ConfigError.
    cls, settings, _ = fast.MACD(2, 4, 2).__reduce__()
    assert cls is fast.MACD and settings == (2, 4, 2)
    with pytest.raises(ConfigError, match="^fast: must be smaller than slow, got fast=4, slow=2$"):
        cls(4, 2, 2)


class HoldsAnSma(Strategy):
    """Buys when the close is above its 3-bar average, from an indicator it was built with."""

    def __init__(self, indicators: Any) -> None:
        self.sma = indicators.SMA(3)
        self.sma.update(100.0)  # a state before the run, which travels with the strategy

    def on_bar(self, ctx: Any, bar: Any) -> None:
        average = self.sma.update(bar.close)
        if bar.close > average:
            ctx.buy(bar.symbol, 1)


def test_a_strategy_holding_a_streaming_indicator_runs_on_a_process_pool(backend):
    # spawn, not fork (as tests/test_grid.py): forking a process running native threads can
    # deadlock; a spawned worker also has to unpickle the indicator on its own.
    context = multiprocessing.get_context("spawn")
    indicators: Any = ref
    if backend == "rust":
        from quanta_fast import indicators
    bars = data.synthetic(40, seed=3)
    engine = Engine(backend=backend)
    local = engine.run_many(bars, [HoldsAnSma(indicators)])
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        remote = engine.run_many(bars, [HoldsAnSma(indicators)], executor=pool)
    assert local[0].fills and len(remote[0].fills) == len(local[0].fills)
    assert remote[0].equity.tobytes() == local[0].equity.tobytes()


# ---------------------------------------------------------------------------- the bar
class KeepsBars(Strategy):
    def on_start(self, ctx: Any) -> None:
        self.bars: list[Any] = []

    def on_bar(self, ctx: Any, bar: Any) -> None:
        self.bars.append(bar)


def fields(bar: Any) -> tuple[Any, ...]:
    return (bar.timestamp, bar.symbol, bar.open, bar.high, bar.low, bar.close, bar.volume)


@pytest.mark.parametrize("how", COPIES)
def test_the_bar_of_on_bar_pickles_and_copies_to_an_equal_bar(backend, how):
    strategy = KeepsBars()
    Engine(backend=backend).run(data.synthetic(5, n_symbols=2), strategy)
    python = KeepsBars()
    Engine(backend="python").run(data.synthetic(5, n_symbols=2), python)
    for bar, event in zip(strategy.bars, python.bars, strict=True):
        twin = COPIES[how](bar)
        assert type(twin) is type(bar)
        assert twin == bar and hash(twin) == hash(bar)
        assert fields(twin) == fields(bar) == fields(event)
    assert strategy.bars[0] != strategy.bars[1]


# -------------------------------------------------------------------------- the cache
@pytest.mark.parametrize(("valid", "refused"), [(1, True), (3, 3.0), (3, "3"), (2, 2.5)])
def test_cache_checks_parameters_before_the_lookup(backend, valid, refused):
    bars = data.synthetic(30, n_symbols=2)
    fresh = IndicatorCache(bars, backend)
    with pytest.raises(ConfigError) as first:
        fresh.get("sma", refused, symbol="S0")
    used = IndicatorCache(bars, backend)
    used.get("sma", valid, symbol="S0")
    with pytest.raises(ConfigError) as after:
        used.get("sma", refused, symbol="S0")
    assert str(after.value) == str(first.value)
    assert (used.misses, used.hits, len(used)) == (1, 0, 1)


def test_cache_keys_hold_the_checked_parameters(backend):
    cache = IndicatorCache(data.synthetic(30, n_symbols=1), backend)
    first = cache.get("bollinger_bands", 5, 2)
    assert cache.get("bollinger_bands", np.int64(5), 2.0) is first  # 2 and 2.0: one width
    assert cache.get("sma", np.int64(4)) is cache.get("sma", 4)
    assert (cache.misses, cache.hits) == (2, 2)


def test_cache_arrays_cannot_be_made_writeable_again(backend):
    cache = IndicatorCache(data.synthetic(30, n_symbols=2), backend)
    arrays = [
        cache.get("sma", 3, symbol="S0"),
        cache.panel("ema", 4),
        *cache.get("macd", 2, 4, 2, symbol="S1"),
        *cache.panel("bollinger_bands", 3),
    ]
    for array in arrays:
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="WRITEABLE"):
            array.flags.writeable = True
