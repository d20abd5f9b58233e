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
  handed to the native module as a C-contiguous float64 array, which it reads in place; a
  panel is computed there column by column, several columns at once in SIMD lanes for
  ``sma``, ``ema`` and the crossings;
* a streaming class is the native class itself, subclassed only to check the constructor's
  arguments: ``update``, ``value`` and ``reset`` go straight to Rust, with no Python frame in
  between. ``update`` converts its argument exactly as the reference's ``float(value)`` does.

One difference that no output can show: a period that the reference accepts but that is
larger than the native integer range (``2**64 - 1`` on 64-bit platforms; only SMA, EMA, RSI,
ATR and MACD accept one, the windowed indicators stop at ``sys.maxsize`` like the reference's
``deque``) is clamped to it. Such a warm-up never ends, so every output is NaN either way;
only the attributes ``period`` (and ``EMA.k``, ``MACD.fast`` ...) read differently.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from quanta_fast import _quanta_fast as _native
from quanta_ref.errors import ConfigError
from quanta_ref.indicators import _as_values, _check_num_std, _check_period, _cross_pair

if not hasattr(_native, "SMA"):
    raise ImportError(
        "quanta_fast._quanta_fast was built without the indicators; rebuild it "
        "(maturin build / pip install -e .)"
    )

__all__ = [
    "ATR",
    "EMA",
    "MACD",
    "ROC",
    "RSI",
    "SMA",
    "WMA",
    "BollingerBands",
    "Highest",
    "Lowest",
    "RollingStd",
    "atr",
    "bollinger_bands",
    "cross",
    "crossed_above",
    "crossed_below",
    "ema",
    "highest",
    "lowest",
    "macd",
    "roc",
    "rolling_std",
    "rsi",
    "sma",
    "wma",
]

#: The largest period the native side takes (Rust ``usize::MAX``).
_PERIOD_CAP = 2 * sys.maxsize + 1


# ------------------------------------------------------------------------------------ checks
# The settings are checked with the reference's own functions, in the reference's order. Its
# constructors can also fail on absurdly large periods in two ways that are not checks: a
# window kept in ``deque(maxlen=n)`` refuses ``n > sys.maxsize``, and an int converted to
# float refuses ``n >= 2**1024`` (both OverflowError). `_window_length` and `_to_float` raise
# the same errors at the same points. A period that passes and exceeds `_PERIOD_CAP` (only
# possible where the reference keeps no bounded window) is clamped: see the module notes.
def _window_length(n: int) -> None:
    """Raise the OverflowError of the reference's ``deque(maxlen=n)`` when n is too large."""
    if n > sys.maxsize:
        raise OverflowError("Python int too large to convert to C ssize_t")


def _to_float(n: int) -> None:
    """Raise the OverflowError of the reference's int-to-float conversion of n, if any."""
    float(n)


def _period(name: str, value: Any, minimum: int = 1) -> int:
    """A period the reference only counts to (SMA, RSI, ATR)."""
    return min(_check_period(name, value, minimum), _PERIOD_CAP)


def _ema_period(value: Any) -> int:
    """An EMA span: the reference computes ``k = 2.0 / (period + 1)`` in the constructor."""
    period = _check_period("period", value)
    _to_float(period + 1)
    return min(period, _PERIOD_CAP)


def _window_period(value: Any, minimum: int = 1, extra: int = 0) -> int:
    """A window kept in ``deque(maxlen=period + extra)`` by the reference."""
    period = _check_period("period", value, minimum)
    _window_length(period + extra)
    return period


def _wma_period(value: Any) -> int:
    """WMA: the weight sum is converted to float, then the window deque is made."""
    period = _check_period("period", value)
    _to_float(period * (period + 1) // 2)
    _window_length(period)
    return period


def _macd_periods(fast: Any, slow: Any, signal: Any) -> tuple[int, int, int]:
    """The reference's MACD checks, in its order; then clamped keeping ``fast < slow``."""
    fast = _check_period("fast", fast)
    slow = _check_period("slow", slow, minimum=2)
    signal = _check_period("signal", signal)
    if fast >= slow:
        raise ConfigError(f"fast: must be smaller than slow, got fast={fast}, slow={slow}")
    for period in (fast, slow, signal):  # the three EMAs' k, in the reference's order
        _to_float(period + 1)
    return min(fast, _PERIOD_CAP - 1), min(slow, _PERIOD_CAP), min(signal, _PERIOD_CAP)


def _bollinger_settings(period: Any, num_std: Any) -> tuple[int, float]:
    period = _check_period("period", period, minimum=2)
    width = _check_num_std(num_std)
    _window_length(period)  # the rolling standard deviation's window
    return period, width


def _series(name: str, values: Any) -> np.ndarray:
    """The reference's conversion (a 1-D series or a 2-D panel of float64), made C-contiguous
    for the native side."""
    return np.ascontiguousarray(_as_values(name, values))


# ------------------------------------------------------------------------ streaming classes
# `__slots__ = ()`: no instance dict, so an instance is just the native object.
class SMA(_native.SMA):
    """Simple moving average, streaming; see `quanta_ref.indicators.SMA`."""

    __slots__ = ()

    def __new__(cls, period: int) -> SMA:
        return super().__new__(cls, _period("period", period))


class EMA(_native.EMA):
    """Exponential moving average, streaming; see `quanta_ref.indicators.EMA`."""

    __slots__ = ()

    def __new__(cls, period: int) -> EMA:
        return super().__new__(cls, _ema_period(period))


class WMA(_native.WMA):
    """Linearly weighted moving average, streaming; see `quanta_ref.indicators.WMA`."""

    __slots__ = ()

    def __new__(cls, period: int) -> WMA:
        return super().__new__(cls, _wma_period(period))


class RSI(_native.RSI):
    """Relative strength index, streaming; see `quanta_ref.indicators.RSI`."""

    __slots__ = ()

    def __new__(cls, period: int = 14) -> RSI:
        return super().__new__(cls, _period("period", period, minimum=2))


class MACD(_native.MACD):
    """MACD line, signal line and histogram, streaming; see `quanta_ref.indicators.MACD`."""

    __slots__ = ()

    def __new__(cls, fast: int = 12, slow: int = 26, signal: int = 9) -> MACD:
        return super().__new__(cls, *_macd_periods(fast, slow, signal))


class RollingStd(_native.RollingStd):
    """Rolling population standard deviation, streaming; see
    `quanta_ref.indicators.RollingStd`."""

    __slots__ = ()

    def __new__(cls, period: int) -> RollingStd:
        return super().__new__(cls, _window_period(period, minimum=2))


class BollingerBands(_native.BollingerBands):
    """Bollinger Bands, streaming; see `quanta_ref.indicators.BollingerBands`."""

    __slots__ = ()

    def __new__(cls, period: int = 20, num_std: float = 2.0) -> BollingerBands:
        return super().__new__(cls, *_bollinger_settings(period, num_std))


class ATR(_native.ATR):
    """Average true range, streaming; see `quanta_ref.indicators.ATR`."""

    __slots__ = ()

    def __new__(cls, period: int = 14) -> ATR:
        return super().__new__(cls, _period("period", period))


class Highest(_native.Highest):
    """Highest of the last `period` values, streaming; see `quanta_ref.indicators.Highest`."""

    __slots__ = ()

    def __new__(cls, period: int) -> Highest:
        return super().__new__(cls, _window_period(period))


class Lowest(_native.Lowest):
    """Lowest of the last `period` values, streaming; see `quanta_ref.indicators.Lowest`."""

    __slots__ = ()

    def __new__(cls, period: int) -> Lowest:
        return super().__new__(cls, _window_period(period))


class ROC(_native.ROC):
    """Rate of change in percent, streaming; see `quanta_ref.indicators.ROC`."""

    __slots__ = ()

    def __new__(cls, period: int = 10) -> ROC:
        return super().__new__(cls, _window_period(period, extra=1))


# ------------------------------------------------------------------------- batch functions
# Each checks the settings before converting the input, as the reference does (it builds the
# streaming indicator first), so a call with both wrong raises the same error.
def sma(values: Any, period: int) -> np.ndarray:
    """Simple moving average; see `quanta_ref.indicators.sma`."""
    period = _period("period", period)
    return _native.sma(_series("values", values), period)


def ema(values: Any, period: int) -> np.ndarray:
    """Exponential moving average; see `quanta_ref.indicators.ema`."""
    period = _ema_period(period)
    return _native.ema(_series("values", values), period)


def wma(values: Any, period: int) -> np.ndarray:
    """Linearly weighted moving average; see `quanta_ref.indicators.wma`."""
    period = _wma_period(period)
    return _native.wma(_series("values", values), period)


def rsi(values: Any, period: int = 14) -> np.ndarray:
    """Relative strength index; see `quanta_ref.indicators.rsi`."""
    period = _period("period", period, minimum=2)
    return _native.rsi(_series("values", values), period)


def macd(
    values: Any, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line, signal line and histogram; see `quanta_ref.indicators.macd`."""
    periods = _macd_periods(fast, slow, signal)
    return _native.macd(_series("values", values), *periods)


def bollinger_bands(
    values: Any, period: int = 20, num_std: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger Bands ``(upper, middle, lower)``; see `quanta_ref.indicators.bollinger_bands`."""
    settings = _bollinger_settings(period, num_std)
    return _native.bollinger_bands(_series("values", values), *settings)


def atr(high: Any, low: Any, close: Any, period: int = 14) -> np.ndarray:
    """Average true range; see `quanta_ref.indicators.atr`."""
    period = _period("period", period)
    h = _series("high", high)
    lo = _series("low", low)
    c = _series("close", close)
    # The native side refuses different shapes with the reference's DataError and message.
    return _native.atr(h, lo, c, period)


def rolling_std(values: Any, period: int) -> np.ndarray:
    """Rolling population standard deviation; see `quanta_ref.indicators.rolling_std`."""
    period = _window_period(period, minimum=2)
    return _native.rolling_std(_series("values", values), period)


def highest(values: Any, period: int) -> np.ndarray:
    """Highest of the last `period` values; see `quanta_ref.indicators.highest`."""
    period = _window_period(period)
    return _native.highest(_series("values", values), period)


def lowest(values: Any, period: int) -> np.ndarray:
    """Lowest of the last `period` values; see `quanta_ref.indicators.lowest`."""
    period = _window_period(period)
    return _native.lowest(_series("values", values), period)


def roc(values: Any, period: int = 10) -> np.ndarray:
    """Rate of change in percent; see `quanta_ref.indicators.roc`."""
    period = _window_period(period, extra=1)
    return _native.roc(_series("values", values), period)


# ------------------------------------------------------------------------------- crossings
#: One step of two series, +1 / -1 / 0; see `quanta_ref.indicators.cross`. The native
#: function itself: it converts its arguments as ``float()`` does.
cross = _native.cross


def crossed_above(fast: Any, slow: Any) -> np.ndarray:
    """Bars where `fast` crosses above `slow`; see `quanta_ref.indicators.crossed_above`."""
    f, s = _cross_pair(fast, slow)
    return _native.crossed_above(np.ascontiguousarray(f), np.ascontiguousarray(s))


def crossed_below(fast: Any, slow: Any) -> np.ndarray:
    """Bars where `fast` crosses below `slow`; see `quanta_ref.indicators.crossed_below`."""
    f, s = _cross_pair(fast, slow)
    return _native.crossed_below(np.ascontiguousarray(f), np.ascontiguousarray(s))
