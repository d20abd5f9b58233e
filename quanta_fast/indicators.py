"""Technical indicators on the Rust backend: `quanta_ref.indicators`, bit for bit.

The reference module is the specification; read its docstrings for the formulas, warm-ups,
the NaN rule and the tie rule of crossings. This module has the same names and signatures and
returns the same bits, raises the same exception classes with the same messages, and only runs
the loops in Rust (`quanta_core::indicators`).

Where the checking happens:

* settings (periods, ``num_std``) are checked here, with the reference's own checks, so that
  a bad type or value gives the reference's `ConfigError` and message;
* batch input is converted here with the reference's converter (a 1-D series or a 2-D
  (T, N) panel, and for crossings the reference's own scalar broadcast and shape rule), then
  handed to the native module as a C-contiguous, aligned float64 array, which it reads in
  place (a large computation runs on a copy, on its own thread, so that Ctrl-C stops it); a
  panel is computed there column by column, several columns at once in SIMD lanes for
  ``sma``, ``ema`` and the crossings;
* a streaming class is the native class itself, subclassed only to check the constructor's
  arguments: ``update``, ``value`` and ``reset`` go straight to Rust, with no Python frame in
  between. ``update`` converts its argument as the reference does (``_real``: a float, an
  int or a numpy float64 directly in Rust, anything else through the reference's function,
  so a refusal is the reference's `DataError`). The classes pickle and copy with their full
  state (the native ``__reduce__``), and unpickle through this module's checked ``__new__``.

The classes and functions are made from one table (at the end), a block per indicator: its
native class, its reference function (whose signature, defaults included, the wrappers take)
and the settings check they run first.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from quanta_fast import _quanta_fast as _native
from quanta_ref import indicators as _reference
from quanta_ref.errors import ConfigError
from quanta_ref.indicators import _as_values, _check_num_std, _check_period, _cross_pair

if not hasattr(_native, "SMA"):
    raise ImportError(
        "quanta_fast._quanta_fast was built without the indicators; rebuild it "
        "(maturin build / pip install -e .)"
    )

#: The reference's names, one for one: a reference indicator without its native wrapper
#: below fails `from quanta_fast.indicators import *` at once.
__all__ = list(_reference.__all__)


# ------------------------------------------------------------------------------------ checks
# The settings are checked with the reference's own functions, in the reference's order. A
# check takes the settings as the constructor does and returns them as the native side takes
# them: one period as an int, several settings as a tuple.
def _period(minimum: int = 1) -> Callable[[Any], int]:
    """The check of one period."""

    def check(value: Any) -> int:
        return _check_period("period", value, minimum)

    return check


def _macd_periods(fast: Any, slow: Any, signal: Any) -> tuple[int, int, int]:
    """The reference's MACD checks, in its order."""
    fast = _check_period("fast", fast)
    slow = _check_period("slow", slow, minimum=2)
    signal = _check_period("signal", signal)
    if fast >= slow:
        raise ConfigError(f"fast: must be smaller than slow, got fast={fast}, slow={slow}")
    return fast, slow, signal


def _bollinger_settings(period: Any, num_std: Any) -> tuple[int, float]:
    period = _check_period("period", period, minimum=2)
    width = _check_num_std(num_std)
    return period, width


def _series(name: str, values: Any) -> np.ndarray:
    """The reference's conversion (a 1-D series or a 2-D panel of float64), made C-contiguous
    and aligned for the native side (an unaligned view of a byte buffer is copied)."""
    return _native_layout(_as_values(name, values))


def _native_layout(values: np.ndarray) -> np.ndarray:
    if values.flags.c_contiguous and values.flags.aligned:
        return values  # the common case, without np.require's cost
    return np.require(values, requirements=("C_CONTIGUOUS", "ALIGNED"))


# ------------------------------------------------------------------------------- templates
# A wrapper takes exactly the reference's parameters, so that a call binds (and a bad call
# fails) as the reference's does. Python needs parameters written out: here is a template
# per parameter list, found by the reference's parameter names; `_indicator` copies the
# reference's defaults and annotations onto it. A wrapper checks the settings before it
# converts the input, as the reference does (it builds the streaming indicator first). An
# indicator with a parameter list not seen yet adds its two templates here.
_Check = Callable[..., Any]


def _new_period(base: Any, check: _Check) -> Callable[..., Any]:
    def __new__(cls: type, period: int) -> Any:
        return base.__new__(cls, check(period))

    return __new__


def _new_macd(base: Any, check: _Check) -> Callable[..., Any]:
    def __new__(cls: type, fast: int, slow: int, signal: int) -> Any:
        return base.__new__(cls, *check(fast, slow, signal))

    return __new__


def _new_bollinger(base: Any, check: _Check) -> Callable[..., Any]:
    def __new__(cls: type, period: int, num_std: float) -> Any:
        return base.__new__(cls, *check(period, num_std))

    return __new__


def _series_period(native: Any, check: _Check) -> Callable[..., Any]:
    def function(values: Any, period: int) -> Any:
        period = check(period)
        return native(_series("values", values), period)

    return function


def _series_macd(native: Any, check: _Check) -> Callable[..., Any]:
    def function(values: Any, fast: int, slow: int, signal: int) -> Any:
        periods = check(fast, slow, signal)
        return native(_series("values", values), *periods)

    return function


def _series_bollinger(native: Any, check: _Check) -> Callable[..., Any]:
    def function(values: Any, period: int, num_std: float) -> Any:
        settings = check(period, num_std)
        return native(_series("values", values), *settings)

    return function


def _bars_period(native: Any, check: _Check) -> Callable[..., Any]:
    def function(high: Any, low: Any, close: Any, period: int) -> Any:
        period = check(period)
        h, lo, c = _series("high", high), _series("low", low), _series("close", close)
        # The native side refuses different shapes with the reference's DataError and message.
        return native(h, lo, c, period)

    return function


_NEW_TEMPLATES: dict[tuple[str, ...], Callable[[Any, _Check], Callable[..., Any]]] = {
    ("period",): _new_period,
    ("fast", "slow", "signal"): _new_macd,
    ("period", "num_std"): _new_bollinger,
}
_FUNCTION_TEMPLATES: dict[tuple[str, ...], Callable[[Any, _Check], Callable[..., Any]]] = {
    ("values", "period"): _series_period,
    ("values", "fast", "slow", "signal"): _series_macd,
    ("values", "period", "num_std"): _series_bollinger,
    ("high", "low", "close", "period"): _bars_period,
}

_Class = TypeVar("_Class", bound=type)
_Function = TypeVar("_Function", bound=Callable[..., Any])


def _indicator(
    base: _Class, reference: _Function, check: _Check, summary: str
) -> tuple[_Class, _Function]:
    """The streaming class and the batch function of one indicator.

    The class subclasses the native `base` (``__slots__ = ()``, so an instance is just the
    native object) with a ``__new__`` that checks the settings first; the function converts
    its input and calls the native function of the same name. Both take the parameters of
    their reference counterparts. Type checkers see the class as the native one (the stub has
    the reference's defaults) and the function as the reference's.
    """
    name = base.__name__
    init = getattr(_reference, name).__init__
    new = _NEW_TEMPLATES[_parameters(init)[1:]](base, check)  # [1:]: without ``self``
    _copy_signature(new, init, f"{name}.__new__")
    new.__annotations__["return"] = name
    doc = f"{summary}, streaming; see `quanta_ref.indicators.{name}`."
    namespace = {"__doc__": doc, "__module__": __name__, "__slots__": (), "__new__": new}
    streaming = type(name, (base,), namespace)

    native = getattr(_native, reference.__name__)
    function = _FUNCTION_TEMPLATES[_parameters(reference)](native, check)
    _copy_signature(function, reference, reference.__name__)
    function.__doc__ = f"{summary}; see `quanta_ref.indicators.{reference.__name__}`."
    return cast(_Class, streaming), cast(_Function, function)


def _parameters(function: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(inspect.signature(function).parameters)


def _copy_signature(wrapper: Any, reference: Any, qualname: str) -> None:
    """Give `wrapper` the defaults and annotations of `reference`, and its names."""
    wrapper.__defaults__ = reference.__defaults__
    wrapper.__annotations__ = dict(reference.__annotations__)
    wrapper.__name__ = qualname.rpartition(".")[2]
    wrapper.__qualname__ = qualname


# ------------------------------------------------------------------------------- the table
# class, function = _indicator(native class, reference function, settings check, summary)
SMA, sma = _indicator(_native.SMA, _reference.sma, _period(), "Simple moving average")
EMA, ema = _indicator(_native.EMA, _reference.ema, _period(), "Exponential moving average")
WMA, wma = _indicator(_native.WMA, _reference.wma, _period(), "Linearly weighted moving average")
RSI, rsi = _indicator(_native.RSI, _reference.rsi, _period(minimum=2), "Relative strength index")
MACD, macd = _indicator(
    _native.MACD, _reference.macd, _macd_periods, "MACD line, signal line and histogram"
)
RollingStd, rolling_std = _indicator(
    _native.RollingStd,
    _reference.rolling_std,
    _period(minimum=2),
    "Rolling population standard deviation",
)
BollingerBands, bollinger_bands = _indicator(
    _native.BollingerBands, _reference.bollinger_bands, _bollinger_settings, "Bollinger Bands"
)
ATR, atr = _indicator(_native.ATR, _reference.atr, _period(), "Average true range")
Highest, highest = _indicator(
    _native.Highest, _reference.highest, _period(), "Highest of the last `period` values"
)
Lowest, lowest = _indicator(
    _native.Lowest, _reference.lowest, _period(), "Lowest of the last `period` values"
)
ROC, roc = _indicator(_native.ROC, _reference.roc, _period(), "Rate of change in percent")


# ------------------------------------------------------------------------------- crossings
#: One step of two series, +1 / -1 / 0; see `quanta_ref.indicators.cross`. The native
#: function itself: it converts its arguments as `update` does.
cross = _native.cross


def crossed_above(fast: Any, slow: Any) -> np.ndarray:
    """Bars where `fast` crosses above `slow`; see `quanta_ref.indicators.crossed_above`."""
    f, s = _cross_pair(fast, slow)
    return _native.crossed_above(_native_layout(f), _native_layout(s))


def crossed_below(fast: Any, slow: Any) -> np.ndarray:
    """Bars where `fast` crosses below `slow`; see `quanta_ref.indicators.crossed_below`."""
    f, s = _cross_pair(fast, slow)
    return _native.crossed_below(_native_layout(f), _native_layout(s))
