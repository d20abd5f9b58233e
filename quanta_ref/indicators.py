"""Technical indicators: the reference implementation.

This module is the specification the Rust port mirrors bit for bit. Every indicator is
therefore written as plain sequential float64 arithmetic in a fixed, documented order: no
``sum()`` over floats, no numpy reductions, no fused multiply-add. numpy only allocates the
output arrays and converts the input.

Batch and streaming
-------------------
Each indicator comes in two forms that agree bit for bit:

* a batch function (``sma``, ``ema``, ...): a 1-D array in (or a 2-D panel, see below),
  float64 array(s) of the same shape out, NaN where the indicator is not defined yet (the
  warm-up);
* a streaming class (``SMA``, ``EMA``, ...): ``update(value)`` takes the next value and
  returns the new output (NaN during the warm-up); ``value`` is the latest output and
  ``reset()`` forgets everything.

They agree because the batch function *is* the streaming class run over the array: the
arithmetic exists in one place only.

Panels
------
Every batch function also takes a 2-D (T, N) array: N series side by side, one per column,
as in a `Bars` panel (``atr`` takes three panels of one shape; the crossings two, or a panel
and a scalar threshold). Each column is computed on its own, exactly as the 1-D function
computes a series (warm-up, NaN rule and all), so column n of the output is, bit for bit,
the function of column n; the output has the input's shape. Here that is literally a loop
over the columns; the Rust backend computes the columns side by side (SIMD lanes) with the
same operations per column. The streaming classes take one value at a time: no panel form.

Warm-up and conventions (TA-Lib)
--------------------------------
Where TA-Lib has the indicator, warm-up length, seeding and formula follow TA-Lib with its
default settings (unstable period 0, default compatibility mode). The first defined index is:

* ``period - 1``: ``sma``, ``ema``, ``wma``, ``rolling_std``, ``bollinger_bands``,
  ``highest``, ``lowest``;
* ``period``: ``rsi``, ``atr``, ``roc`` (they need a previous value);
* ``slow - 1``: the ``macd`` line; ``slow + signal - 2``: its signal and histogram.

TA-Lib's "unstable period" (``talib.set_unstable_period``) for EMA, RSI and ATR does not
change any value: it only turns that many more leading outputs into NaN, so outputs here equal
TA-Lib's with its default unstable period of 0. Keep in mind that EMA, RSI and ATR are
recursive with a long memory: their early values depend on where the series starts.

Where the results differ from TA-Lib (beyond rounding), it is on purpose:

* ``macd``: the MACD line is returned from index ``slow - 1``, as soon as both EMAs exist.
  TA-Lib computes it there too but reports NaN until the signal line exists
  (``slow + signal - 2``). From then on the three outputs equal TA-Lib's.
* ``wma``, ``rolling_std`` and ``bollinger_bands`` compute each window directly (a weighted
  sum; a two-pass mean and sum of squared deviations) where TA-Lib keeps running sums (and
  uses E[x^2] - E[x]^2 for the variance, which loses digits). WMA agrees with TA-Lib to about
  1e-13 relative; the deviations typically to 1e-11, but TA-Lib's absolute error is about
  eps * price^2 / std, so on a window of nearly equal prices TA-Lib's value is the less
  accurate one. A constant window gives a deviation of a few ulps here, exactly 0 in TA-Lib.
* Periods: TA-Lib refuses ``period=1`` for most functions; here it is allowed wherever it is
  well defined (see each function). RSI, the standard deviation and the Bollinger Bands
  need ``period >= 2``; MACD needs ``1 <= fast < slow`` (TA-Lib silently swaps them). No
  period exceeds ``MAX_PERIOD`` (2**31 - 1): a `ConfigError`, as any other bad setting.

SMA, EMA, RSI, ATR, ROC, highest, lowest and MACD (where defined in both) follow the operation
order of TA-Lib's C source, so a TA-Lib built with strict IEEE arithmetic gives the same bits.
Binary builds compiled with fused multiply-add or reciprocal optimisations (the ``ta-lib``
wheel used by the tests is one) differ from it, and from this module, by an ulp here and there.

Missing values (the NaN rule)
-----------------------------
A value that is not finite (NaN, +inf or -inf; for ATR, any of high, low, close) is taken as
*missing data*: it **resets** the indicator to its initial state and its output is NaN. The
warm-up then starts over with the next finite value, exactly as if the series began there.
For the window indicators (SMA, WMA, rolling std, Bollinger, highest, lowest, ROC) this means
the output is NaN exactly while a missing value lies inside the window; for the recursive ones
(EMA, RSI, ATR, MACD) the smoothing is re-seeded after the gap. Batch and streaming follow the
same rule (the batch function is the streaming class). TA-Lib instead lets an interior NaN
poison every later output; both agree on leading NaNs.

Crossings (the tie rule)
------------------------
``fast`` crosses **above** ``slow`` at bar t when ``fast[t] > slow[t]`` and
``fast[t-1] <= slow[t-1]``; it crosses **below** when ``fast[t] < slow[t]`` and
``fast[t-1] >= slow[t-1]``. Equality counts as "not above" for a cross up and as "not below"
for a cross down. Consequences:

* equal -> above is a cross up; equal -> below is a cross down;
* below -> equal -> below has no cross up, but the step back below (equal -> below) *is* a
  cross down; symmetrically above -> equal -> above gives a cross up on the way back;
  so up and down crosses need not alternate;
* equal -> equal, and touching (below -> equal or above -> equal), are no cross;
* a NaN in any of the four numbers (either series at t or t-1) gives no cross; bar 0 never
  crosses.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections import deque
from typing import Any

import numpy as np

from quanta_ref.errors import ConfigError, DataError

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

_NAN = float("nan")


# ------------------------------------------------------------------------------------ checks
#: The longest period: longer than any series, and small enough that every count derived
#: from it (``period + 1``, WMA's weight sum) is an exact integer in both engines.
MAX_PERIOD = 2**31 - 1


def _check_period(name: str, value: Any, minimum: int = 1) -> int:
    """Return `value` as an int, or raise ConfigError naming `name`.

    bool is refused although it is an int subclass (``True`` is never a meant period), and so
    is a float such as ``14.0``: a period is a count, and accepting floats would hide bugs.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError(f"{name}: expected an int >= {minimum}, got {value!r}")
    period = int(value)
    if period < minimum:
        raise ConfigError(f"{name}: must be an int >= {minimum}, got {period}")
    if period > MAX_PERIOD:
        raise ConfigError(f"{name}: must be at most {MAX_PERIOD}, got {period}")
    return period


def _check_num_std(value: Any) -> float:
    """Return the Bollinger width multiplier as a float, or raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"num_std: expected a finite number >= 0, got {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        value = math.inf
    if not math.isfinite(value) or value < 0.0:
        raise ConfigError(f"num_std: must be a finite number >= 0, got {value!r}")
    return value


def _real(name: str, value: Any) -> float:
    """`value` as a float, as ``float(value)`` computes it, for a real number: a float, an int
    or bool, a numpy number or 0-D array, a `decimal.Decimal`, a `fractions.Fraction`, ...

    Anything else raises DataError naming `name`: text (``float("2")`` would parse it), None,
    a complex number, an array with dimensions, and a number beyond the float range (an int
    of 2**1024 or more; a huge int that rounds into the range, such as 2**1000, is accepted
    as ``float()`` accepts it, and a Decimal beyond the range is infinite, as ``float()``
    makes it). The callers test the common case, a float, before calling.
    """
    if type(value) is float:
        return value
    what = type(value).__name__ if value is not None else "None"
    ndim = getattr(value, "ndim", 0)
    if ndim != 0:
        raise DataError(f"{name}: expected a real number, got a {ndim}-D {what}")
    complex_dtype = getattr(getattr(value, "dtype", None), "kind", None) == "c"
    if (
        isinstance(value, (str, bytes, bytearray))
        or complex_dtype
        or (isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real))
    ):
        raise DataError(f"{name}: expected a real number, got {what}")
    try:
        return float(value)
    except OverflowError:
        raise DataError(
            f"{name}: expected a real number, got {what} too large for a float"
        ) from None
    except (TypeError, ValueError):
        raise DataError(f"{name}: expected a real number, got {what}") from None


def _as_values(name: str, values: Any) -> np.ndarray:
    """Batch input as float64: a 1-D series, or a 2-D (T, N) panel of N series (one per
    column); DataError naming `name` otherwise."""
    _refuse_complex(name, values)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as exc:
        raise DataError(f"{name}: cannot convert to float64 ({exc})") from None
    if arr.ndim not in (1, 2):
        raise DataError(
            f"{name}: expected a 1-D array or a 2-D (T, N) array, got shape {arr.shape}"
        )
    return arr


def _refuse_complex(name: str, values: Any) -> None:
    """numpy would only warn and drop the imaginary part of complex input: refuse it."""
    if np.iscomplexobj(values):
        raise DataError(f"{name}: expected real numbers, got complex values")


def _run(indicator: Any, arr: np.ndarray) -> np.ndarray:
    """Feed `arr` to a single-output streaming indicator; collect the outputs. A panel is fed
    column by column, the indicator reset before each: every column is a series of its own."""
    out = np.full(arr.shape, np.nan)
    if arr.ndim == 2:
        for n in range(arr.shape[1]):
            indicator.reset()
            out[:, n] = _run(indicator, arr[:, n])
        return out
    for i in range(len(arr)):
        # float() of a float64 element is exact; it keeps the streaming class on Python floats.
        out[i] = indicator.update(float(arr[i]))
    return out


def _run3(indicator: Any, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feed `arr` to a three-output streaming indicator (MACD, Bollinger Bands); a panel
    column by column, as `_run`."""
    a, b, c = np.full(arr.shape, np.nan), np.full(arr.shape, np.nan), np.full(arr.shape, np.nan)
    if arr.ndim == 2:
        for n in range(arr.shape[1]):
            indicator.reset()
            a[:, n], b[:, n], c[:, n] = _run3(indicator, arr[:, n])
        return a, b, c
    for i in range(len(arr)):
        a[i], b[i], c[i] = indicator.update(float(arr[i]))
    return a, b, c


# ------------------------------------------------------------------------ streaming classes
class _Streaming:
    """What every streaming class shares: a copy, even a shallow `copy.copy`, is independent.

    A copy (and a pickle) carries everything the indicator has seen, so it continues exactly
    as the original would. A shallow copy would share the window (a deque) with the original,
    so that updating one corrupts both: `copy.copy` therefore copies deeply.
    """

    def __copy__(self) -> Any:
        return copy.deepcopy(self)


class SMA(_Streaming):
    """Simple moving average, streaming: the mean of the last `period` values.

    The sum is a running sum, as in TA-Lib: each update subtracts the value leaving the
    window, then adds the new one, then divides by `period`. Over the whole series the
    operations are therefore ``0.0 + x0 + x1 + ... + x[p-1]``, output, ``- x0 + x[p]``,
    output, ``- x1 + x[p+1]``, ... which is TA-Lib's exact order (the result equals
    ``talib.SMA`` bit for bit).

    Parameters
    ----------
    period : int
        Window length, >= 1.

    Notes
    -----
    A running sum costs O(1) per value but is not exact: its rounding errors accumulate, so
    after a very long series (millions of values) it can drift by a few ulps from a fresh sum
    of the window. That is the accepted price of matching TA-Lib and of O(1) updates; a reset
    (a missing value) starts a fresh sum.

    A non-finite value resets the average: the output is NaN until `period` finite values
    have been seen again.
    """

    def __init__(self, period: int) -> None:
        self.period = _check_period("period", period)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._window: deque[float] = deque()  # the last `period` values, oldest first
        self._sum = 0.0
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, value: float) -> float:
        """Add the next value; return the average of the last `period` values or NaN."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        if len(self._window) == self.period:
            # Subtract the leaving value before adding the new one: TA-Lib's order.
            self._sum -= self._window.popleft()
        self._sum += x
        self._window.append(x)
        if len(self._window) == self.period:
            self._value = self._sum / self.period
        return self._value


class EMA(_Streaming):
    """Exponential moving average, streaming, seeded like TA-Lib.

    With ``k = 2.0 / (period + 1)``:

    * the first output, after `period` values, is their simple average, summed sequentially
      from ``0.0`` oldest first and divided by `period` (TA-Lib's seed);
    * every later output is ``(x - prev) * k + prev``, in exactly that form (TA-Lib's; the
      algebraically equal ``k * x + (1 - k) * prev`` rounds differently).

    Parameters
    ----------
    period : int
        Span, >= 1 (period 1 gives ``k = 1``: the output is the input).

    Notes
    -----
    A non-finite value resets the average: the next `period` finite values seed it again.
    """

    def __init__(self, period: int) -> None:
        self.period = _check_period("period", period)
        self.k = 2.0 / (self.period + 1)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._count = 0  # values seen since the last reset, counted up to `period`
        self._seed_sum = 0.0
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, value: float) -> float:
        """Add the next value; return the new average or NaN during the warm-up."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        if self._count < self.period:
            self._seed_sum += x
            self._count += 1
            if self._count == self.period:
                self._value = self._seed_sum / self.period
            return self._value
        self._value = (x - self._value) * self.k + self._value
        return self._value


class WMA(_Streaming):
    """Linearly weighted moving average, streaming.

    Over the last `period` values, the oldest has weight 1 and the newest weight `period`.
    Each output is computed afresh: ``acc = 0.0``, then for the window oldest to newest with
    weight ``w = 1, 2, ..., period``: ``acc += x * w``; finally ``acc / (period * (period + 1)
    // 2)``. TA-Lib uses an O(1) running form of the same sum, which can drift; the direct
    form costs O(period) per value but has no drift and is trivial to mirror. The two agree to
    rounding (about 1e-13 relative on price data).

    Parameters
    ----------
    period : int
        Window length, >= 1.

    Notes
    -----
    A non-finite value resets the average: the output is NaN until `period` finite values
    have been seen again.
    """

    def __init__(self, period: int) -> None:
        self.period = _check_period("period", period)
        # The sum of the weights 1..period; an exact integer, converted to float once.
        self._divider = float(self.period * (self.period + 1) // 2)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._window: deque[float] = deque(maxlen=self.period)
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, value: float) -> float:
        """Add the next value; return the weighted average or NaN during the warm-up."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        self._window.append(x)  # maxlen drops the oldest value once the window is full
        if len(self._window) == self.period:
            acc = 0.0
            weight = 1
            for v in self._window:
                acc += v * weight  # the int weight converts to float exactly
                weight += 1
            self._value = acc / self._divider
        return self._value


class RSI(_Streaming):
    """Relative strength index with Wilder smoothing, streaming, as TA-Lib computes it.

    With ``d = x[t] - x[t-1]``, a gain is ``d`` when ``d >= 0`` and a loss is ``-d`` when
    ``d < 0`` (the other one is 0 and is not added at all):

    * seed: the first `period` differences are accumulated sequentially from ``0.0``
      (``gain += d`` or ``loss -= d``), then ``gain /= period`` and ``loss /= period``; the
      first output is at index `period` (it needs ``period + 1`` values);
    * afterwards, for each difference: ``gain *= period - 1``; ``loss *= period - 1``; the
      difference is added to one of them as above; ``gain /= period``; ``loss /= period``;
    * output: ``100.0 * (gain / (gain + loss))``, or ``0.0`` when ``gain + loss == 0.0`` (a
      flat window; TA-Lib's convention).

    Parameters
    ----------
    period : int
        Smoothing period, >= 2 (with 1, Wilder smoothing keeps no memory and every output is
        0 or 100).

    Notes
    -----
    A non-finite value resets the index: it needs ``period + 1`` finite values again.
    """

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("period", period, minimum=2)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._prev: float | None = None  # the previous value, None before the first one
        self._n_diffs = 0  # differences seen since the reset, counted up to `period`
        self._gain = 0.0
        self._loss = 0.0
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, value: float) -> float:
        """Add the next value; return the RSI in [0, 100] or NaN during the warm-up."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        if self._prev is None:
            self._prev = x
            return self._value
        diff = x - self._prev
        self._prev = x
        p = self.period
        if self._n_diffs < p:
            # Seeding: a plain sum of gains and of losses, averaged once `period` are in.
            if diff < 0.0:
                self._loss -= diff
            else:
                self._gain += diff
            self._n_diffs += 1
            if self._n_diffs < p:
                return self._value
            self._loss /= p
            self._gain /= p
        else:
            # Wilder smoothing: avg = (avg * (p - 1) + new) / p, one operation at a time.
            self._loss *= p - 1
            self._gain *= p - 1
            if diff < 0.0:
                self._loss -= diff
            else:
                self._gain += diff
            self._loss /= p
            self._gain /= p
        total = self._gain + self._loss
        self._value = 100.0 * (self._gain / total) if total != 0.0 else 0.0
        return self._value


class MACD(_Streaming):
    """Moving average convergence/divergence, streaming, aligned like TA-Lib.

    ``macd = fast_ema - slow_ema``, ``signal = EMA(signal) of macd``, ``hist = macd -
    signal``, every EMA as in `EMA`.

    The alignment follows TA-Lib: both EMAs produce their first value on the same bar, index
    ``slow - 1``. The slow EMA is seeded from values ``0 .. slow-1``; the fast EMA ignores the
    first ``slow - fast`` values and is seeded from values ``slow-fast .. slow-1``. So the fast
    EMA here is *not* ``ema(values, fast)`` in its early part (it converges to it). The signal
    EMA starts with the first MACD value and is seeded with the mean of the first `signal`
    MACD values, so signal and histogram start at index ``slow + signal - 2``.

    Difference from TA-Lib: the MACD line is reported from index ``slow - 1``; TA-Lib hides
    its first ``signal - 1`` values (NaN) so that all three outputs start together. Every value
    reported by both is identical.

    Parameters
    ----------
    fast, slow : int
        EMA periods, ``1 <= fast < slow``.
    signal : int
        Signal EMA period, >= 1.

    Notes
    -----
    `update` and `value` give the tuple ``(macd, signal, hist)``. A non-finite value resets
    all three EMAs.
    """

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast = _check_period("fast", fast)
        self.slow = _check_period("slow", slow, minimum=2)
        self.signal = _check_period("signal", signal)
        if self.fast >= self.slow:
            raise ConfigError(
                f"fast: must be smaller than slow, got fast={self.fast}, slow={self.slow}"
            )
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._fast_ema = EMA(self.fast)
        self._slow_ema = EMA(self.slow)
        self._signal_ema = EMA(self.signal)
        self._count = 0  # values seen since the reset, counted up to slow - fast + 1
        self._value = (_NAN, _NAN, _NAN)

    @property
    def value(self) -> tuple[float, float, float]:
        """The latest ``(macd, signal, hist)``, NaN where not defined yet."""
        return self._value

    @property
    def macd(self) -> float:
        """The latest MACD line value."""
        return self._value[0]

    @property
    def signal_line(self) -> float:
        """The latest signal line value (``signal`` is the period)."""
        return self._value[1]

    @property
    def hist(self) -> float:
        """The latest histogram value."""
        return self._value[2]

    def update(self, value: float) -> tuple[float, float, float]:
        """Add the next value; return ``(macd, signal, hist)``, NaN during the warm-up."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        slow = self._slow_ema.update(x)
        fast = _NAN
        if self._count < self.slow - self.fast:
            # TA-Lib alignment: the fast EMA skips the first slow - fast values so that it is
            # seeded on the same bar as the slow one.
            self._count += 1
        else:
            fast = self._fast_ema.update(x)
        if math.isnan(slow):
            return self._value
        line = fast - slow
        sig = self._signal_ema.update(line)
        hist = line - sig if not math.isnan(sig) else _NAN
        self._value = (line, sig, hist)
        return self._value


class RollingStd(_Streaming):
    """Rolling population standard deviation (ddof=0, like TA-Lib STDDEV), streaming.

    Each window is computed afresh in two passes, oldest value first: ``s = 0.0; s += x``
    for each value; ``mean = s / period``; ``acc = 0.0; d = x - mean; acc += d * d`` for each
    value; output ``sqrt(acc / period)`` (correctly rounded sqrt). TA-Lib uses running sums
    and E[x^2] - E[x]^2, which loses digits when the deviation is small against the mean:
    the results typically agree to 1e-11 relative, and where they differ more it is TA-Lib's
    value that is off (its absolute error is about eps * mean^2 / std).

    Parameters
    ----------
    period : int
        Window length, >= 2.

    Notes
    -----
    Population (divide by `period`), not sample (``period - 1``): that is TA-Lib's STDDEV and
    the usual Bollinger Band definition. A non-finite value resets the window.
    """

    def __init__(self, period: int) -> None:
        self.period = _check_period("period", period, minimum=2)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._window: deque[float] = deque(maxlen=self.period)
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, value: float) -> float:
        """Add the next value; return the window's standard deviation or NaN."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        self._window.append(x)
        if len(self._window) == self.period:
            s = 0.0
            for v in self._window:
                s += v
            mean = s / self.period
            acc = 0.0
            for v in self._window:
                d = v - mean
                acc += d * d
            self._value = math.sqrt(acc / self.period)
        return self._value


class BollingerBands(_Streaming):
    """Bollinger Bands, streaming: an SMA plus and minus `num_std` rolling standard deviations.

    ``middle`` is exactly `SMA` and ``std`` exactly `RollingStd` over the same window;
    ``width = num_std * std``; ``upper = middle + width``; ``lower = middle - width``.

    Parameters
    ----------
    period : int
        Window length, >= 2.
    num_std : float
        Band width in standard deviations, finite and >= 0 (TA-Lib's ``nbdevup`` and
        ``nbdevdn``, here one value for both bands).

    Notes
    -----
    `update` and `value` give the tuple ``(upper, middle, lower)``, the order of TA-Lib's
    BBANDS. A non-finite value resets the window.
    """

    def __init__(self, period: int = 20, num_std: float = 2.0) -> None:
        self.period = _check_period("period", period, minimum=2)
        self.num_std = _check_num_std(num_std)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._sma = SMA(self.period)
        self._std = RollingStd(self.period)
        self._value = (_NAN, _NAN, _NAN)

    @property
    def value(self) -> tuple[float, float, float]:
        """The latest ``(upper, middle, lower)``, NaN during the warm-up."""
        return self._value

    def update(self, value: float) -> tuple[float, float, float]:
        """Add the next value; return ``(upper, middle, lower)``, NaN during the warm-up."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        middle = self._sma.update(x)
        std = self._std.update(x)
        if math.isnan(middle):
            return self._value
        width = self.num_std * std
        self._value = (middle + width, middle, middle - width)
        return self._value


class ATR(_Streaming):
    """Average true range with Wilder smoothing, streaming, as TA-Lib computes it.

    True range at bar t (t >= 1) is the largest of ``high - low``, ``|prev_close - high|``
    and ``|prev_close - low|``, tested in that order with ``>``. Bar 0 has no previous close
    and so no true range (TA-Lib ignores its ``high - low`` too).

    * seed: the first `period` true ranges (bars 1..period) summed sequentially from ``0.0``,
      divided by `period`; the first output is at index `period`;
    * afterwards: ``atr *= period - 1``; ``atr += tr``; ``atr /= period``.

    Parameters
    ----------
    period : int
        Smoothing period, >= 1 (1 gives the true range itself, like TA-Lib).

    Notes
    -----
    `update` takes ``(high, low, close)``. A bar with any non-finite price resets the average;
    the next bar then has no previous close and starts the warm-up again.
    """

    def __init__(self, period: int = 14) -> None:
        self.period = _check_period("period", period)
        self.reset()

    def reset(self) -> None:
        """Forget every bar seen, as if just constructed."""
        self._prev_close: float | None = None
        self._n_tr = 0  # true ranges seen since the reset, counted up to `period`
        self._sum = 0.0
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, high: float, low: float, close: float) -> float:
        """Add the next bar; return the average true range or NaN during the warm-up."""
        h, lo, c = _real("high", high), _real("low", low), _real("close", close)
        if not (math.isfinite(h) and math.isfinite(lo) and math.isfinite(c)):
            self.reset()
            return self._value
        if self._prev_close is None:
            self._prev_close = c
            return self._value
        # max() of two finite floats is exact; the order (range, gap to high, gap to low) only
        # decides which of equal candidates is kept, which cannot change the value.
        tr = max(h - lo, abs(self._prev_close - h))
        tr = max(tr, abs(self._prev_close - lo))
        self._prev_close = c
        p = self.period
        if self._n_tr < p:
            self._sum += tr
            self._n_tr += 1
            if self._n_tr == p:
                self._value = self._sum / p
            return self._value
        self._value *= p - 1
        self._value += tr
        self._value /= p
        return self._value


class _Extreme(_Streaming):
    """Shared body of `Highest` and `Lowest`: scan the window oldest first.

    The scan keeps the first value and replaces it only by a strictly better one, so the
    result is a value of the window (exact, no arithmetic); the order only matters for the
    sign of a zero (-0.0 vs 0.0), which it makes deterministic.
    """

    _take_max = True

    def __init__(self, period: int) -> None:
        self.period = _check_period("period", period)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._window: deque[float] = deque(maxlen=self.period)
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, value: float) -> float:
        """Add the next value; return the extreme of the last `period` values or NaN."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        self._window.append(x)
        if len(self._window) == self.period:
            best = self._window[0]
            for v in self._window:
                if (v > best) if self._take_max else (v < best):
                    best = v
            self._value = best
        return self._value


class Highest(_Extreme):
    """Highest value of the last `period` values (TA-Lib MAX), streaming.

    Parameters
    ----------
    period : int
        Window length, >= 1.

    Notes
    -----
    A non-finite value resets the window. The window is rescanned on every update, O(period).
    """

    _take_max = True


class Lowest(_Extreme):
    """Lowest value of the last `period` values (TA-Lib MIN), streaming.

    Parameters
    ----------
    period : int
        Window length, >= 1.

    Notes
    -----
    A non-finite value resets the window. The window is rescanned on every update, O(period).
    """

    _take_max = False


class ROC(_Streaming):
    """Rate of change in percent, streaming, as TA-Lib ROC.

    ``((x[t] / x[t - period]) - 1.0) * 100.0``, in that order; ``0.0`` when
    ``x[t - period] == 0.0`` (TA-Lib's convention). The first output is at index `period`.

    Parameters
    ----------
    period : int
        Lag, >= 1.

    Notes
    -----
    A non-finite value resets the indicator: it needs ``period + 1`` finite values again.
    """

    def __init__(self, period: int = 10) -> None:
        self.period = _check_period("period", period)
        self.reset()

    def reset(self) -> None:
        """Forget every value seen, as if just constructed."""
        self._window: deque[float] = deque(maxlen=self.period + 1)
        self._value = _NAN

    @property
    def value(self) -> float:
        """The latest output (NaN during the warm-up)."""
        return self._value

    def update(self, value: float) -> float:
        """Add the next value; return the rate of change or NaN during the warm-up."""
        x = value if type(value) is float else _real("value", value)
        if not math.isfinite(x):
            self.reset()
            return self._value
        self._window.append(x)
        if len(self._window) == self.period + 1:
            base = self._window[0]
            self._value = ((x / base) - 1.0) * 100.0 if base != 0.0 else 0.0
        return self._value


# ------------------------------------------------------------------------- batch functions
def sma(values: Any, period: int) -> np.ndarray:
    """Simple moving average; see `SMA` for the exact arithmetic.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Window length, >= 1.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index ``period - 1`` and while a non-finite value is
        in the window.

    Raises
    ------
    ConfigError
        `period` is not an int >= 1.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = SMA(period)
    return _run(ind, _as_values("values", values))


def ema(values: Any, period: int) -> np.ndarray:
    """Exponential moving average seeded with an SMA (TA-Lib EMA); see `EMA`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Span, >= 1; ``k = 2 / (period + 1)``.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index ``period - 1``. A non-finite value gives NaN
        and restarts the seeding.

    Raises
    ------
    ConfigError
        `period` is not an int >= 1.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = EMA(period)
    return _run(ind, _as_values("values", values))


def wma(values: Any, period: int) -> np.ndarray:
    """Linearly weighted moving average (TA-Lib WMA); see `WMA`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Window length, >= 1.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index ``period - 1`` and while a non-finite value is
        in the window.

    Raises
    ------
    ConfigError
        `period` is not an int >= 1.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = WMA(period)
    return _run(ind, _as_values("values", values))


def rsi(values: Any, period: int = 14) -> np.ndarray:
    """Relative strength index with Wilder smoothing (TA-Lib RSI); see `RSI`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Smoothing period, >= 2.

    Returns
    -------
    numpy.ndarray
        float64 in [0, 100], same shape; NaN before index `period`. A non-finite value gives
        NaN and restarts the warm-up.

    Raises
    ------
    ConfigError
        `period` is not an int >= 2.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = RSI(period)
    return _run(ind, _as_values("values", values))


def macd(
    values: Any, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line, signal line and histogram, aligned like TA-Lib MACD; see `MACD`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    fast, slow : int
        EMA periods, ``1 <= fast < slow``.
    signal : int
        Signal EMA period, >= 1.

    Returns
    -------
    macd, signal, hist : numpy.ndarray
        float64, same shape. ``macd`` is defined from index ``slow - 1`` (TA-Lib: from
        ``slow + signal - 2``, see the module notes); ``signal`` and ``hist`` from index
        ``slow + signal - 2``, as in TA-Lib. A non-finite value gives NaN and restarts all
        three EMAs.

    Raises
    ------
    ConfigError
        A period is not an int >= 1, or ``fast >= slow``.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = MACD(fast, slow, signal)
    return _run3(ind, _as_values("values", values))


def bollinger_bands(
    values: Any, period: int = 20, num_std: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger Bands (TA-Lib BBANDS with a simple average); see `BollingerBands`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Window length, >= 2.
    num_std : float
        Band width in population standard deviations, finite and >= 0.

    Returns
    -------
    upper, middle, lower : numpy.ndarray
        float64, same shape; NaN before index ``period - 1`` and while a non-finite value is
        in the window. Bit for bit, ``middle`` is ``sma(values, period)``, ``upper`` is
        ``middle + num_std * rolling_std(values, period)`` and ``lower`` is ``middle - ...``.

    Raises
    ------
    ConfigError
        `period` is not an int >= 2, or `num_std` is not a finite number >= 0.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = BollingerBands(period, num_std)
    return _run3(ind, _as_values("values", values))


def atr(high: Any, low: Any, close: Any, period: int = 14) -> np.ndarray:
    """Average true range with Wilder smoothing (TA-Lib ATR); see `ATR`.

    Parameters
    ----------
    high, low, close : array_like, 1-D (T,) or 2-D (T, N), one shape
        Bar prices of one symbol, or panels of N symbols (one per column).
    period : int
        Smoothing period, >= 1.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index `period`. A bar with a non-finite price gives
        NaN and restarts the warm-up.

    Raises
    ------
    ConfigError
        `period` is not an int >= 1.
    DataError
        An input is not 1-D or 2-D or not numeric, or the shapes differ.
    """
    ind = ATR(period)
    h = _as_values("high", high)
    lo = _as_values("low", low)
    c = _as_values("close", close)
    if not h.shape == lo.shape == c.shape:
        if h.ndim == lo.ndim == c.ndim == 1:
            raise DataError(f"high, low, close: lengths differ ({len(h)}, {len(lo)}, {len(c)})")
        raise DataError(f"high, low, close: shapes differ ({h.shape}, {lo.shape}, {c.shape})")
    if c.ndim == 2:  # a panel: each column is a symbol of its own
        out = np.full(c.shape, np.nan)
        for n in range(c.shape[1]):
            ind.reset()
            out[:, n] = _atr_series(ind, h[:, n], lo[:, n], c[:, n])
        return out
    return _atr_series(ind, h, lo, c)


def _atr_series(ind: ATR, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> np.ndarray:
    out = np.full(len(c), np.nan)
    for i in range(len(c)):
        out[i] = ind.update(float(h[i]), float(lo[i]), float(c[i]))
    return out


def rolling_std(values: Any, period: int) -> np.ndarray:
    """Rolling population standard deviation, ddof=0 (TA-Lib STDDEV with nbdev=1).

    See `RollingStd` for the two-pass arithmetic.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Window length, >= 2.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index ``period - 1`` and while a non-finite value is
        in the window.

    Raises
    ------
    ConfigError
        `period` is not an int >= 2.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = RollingStd(period)
    return _run(ind, _as_values("values", values))


def highest(values: Any, period: int) -> np.ndarray:
    """Highest value over the last `period` values (TA-Lib MAX); see `Highest`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Window length, >= 1.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index ``period - 1`` and while a non-finite value is
        in the window.

    Raises
    ------
    ConfigError
        `period` is not an int >= 1.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = Highest(period)
    return _run(ind, _as_values("values", values))


def lowest(values: Any, period: int) -> np.ndarray:
    """Lowest value over the last `period` values (TA-Lib MIN); see `Lowest`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Window length, >= 1.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index ``period - 1`` and while a non-finite value is
        in the window.

    Raises
    ------
    ConfigError
        `period` is not an int >= 1.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = Lowest(period)
    return _run(ind, _as_values("values", values))


def roc(values: Any, period: int = 10) -> np.ndarray:
    """Rate of change in percent, ``(x[t] / x[t-period] - 1) * 100`` (TA-Lib ROC); see `ROC`.

    Parameters
    ----------
    values : array_like, 1-D (T,) or 2-D (T, N)
        Input series, or a panel of N series (one per column).
    period : int
        Lag, >= 1.

    Returns
    -------
    numpy.ndarray
        float64, same shape; NaN before index `period` and while a non-finite value is among
        the last ``period + 1`` values; 0.0 where ``x[t-period] == 0``.

    Raises
    ------
    ConfigError
        `period` is not an int >= 1.
    DataError
        `values` is not 1-D or 2-D, or not numeric.
    """
    ind = ROC(period)
    return _run(ind, _as_values("values", values))


# ------------------------------------------------------------------------------- crossings
def cross(prev_fast: float, prev_slow: float, fast: float, slow: float) -> int:
    """Classify one step of two series: +1 cross up, -1 cross down, 0 no cross.

    Tie rule: +1 when ``fast > slow`` and ``prev_fast <= prev_slow``; -1 when ``fast < slow``
    and ``prev_fast >= prev_slow``; otherwise 0. Equality is "not above" for a cross up and
    "not below" for a cross down, so equal -> above is +1, equal -> below is -1, and a touch
    (below -> equal, above -> equal) is 0. A NaN among the four numbers gives 0.

    Parameters
    ----------
    prev_fast, prev_slow : float
        Both series at the previous bar.
    fast, slow : float
        Both series at the current bar.

    Returns
    -------
    int
        +1, -1 or 0.
    """
    if type(prev_fast) is type(prev_slow) is type(fast) is type(slow) is float:
        pf, ps, f, s = prev_fast, prev_slow, fast, slow  # the common case, nothing to check
    else:
        pf, ps = _real("prev_fast", prev_fast), _real("prev_slow", prev_slow)
        f, s = _real("fast", fast), _real("slow", slow)
    if math.isnan(pf) or math.isnan(ps) or math.isnan(f) or math.isnan(s):
        return 0
    if f > s and pf <= ps:
        return 1
    if f < s and pf >= ps:
        return -1
    return 0


def _as_scalar_or_values(name: str, values: Any) -> np.ndarray:
    """A 0-D float64 array for a scalar, else a 1-D or 2-D one (DataError otherwise)."""
    if np.ndim(values) == 0:
        _refuse_complex(name, values)
        try:
            return np.asarray(values, dtype=np.float64)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataError(f"{name}: cannot convert to float64 ({exc})") from None
    return _as_values(name, values)


def _cross_pair(fast: Any, slow: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both crossing inputs as float64 arrays of one shape; a scalar is broadcast."""
    f = _as_scalar_or_values("fast", fast)
    s = _as_scalar_or_values("slow", slow)
    if f.ndim == 0 and s.ndim == 0:
        raise DataError("fast, slow: at least one must be a 1-D or 2-D array, got two scalars")
    if f.ndim == 0:
        f = np.full(s.shape, float(f))
    if s.ndim == 0:
        s = np.full(f.shape, float(s))  # a threshold, e.g. RSI crossing 70
    if f.shape != s.shape:
        if f.ndim == s.ndim == 1:
            raise DataError(f"fast, slow: lengths differ ({len(f)}, {len(s)})")
        raise DataError(f"fast, slow: shapes differ ({f.shape}, {s.shape})")
    return f, s


def _crossed(fast: Any, slow: Any, direction: int) -> np.ndarray:
    f, s = _cross_pair(fast, slow)
    if f.ndim == 2:  # panels: column n of fast against column n of slow
        out = np.zeros(f.shape, dtype=bool)
        for n in range(f.shape[1]):
            out[:, n] = _crossed_series(f[:, n], s[:, n], direction)
        return out
    return _crossed_series(f, s, direction)


def _crossed_series(f: np.ndarray, s: np.ndarray, direction: int) -> np.ndarray:
    out = np.zeros(len(f), dtype=bool)
    fs, ss = f.tolist(), s.tolist()  # Python floats, exactly the float64 values
    # Bar 0 has no previous bar, so it never crosses.
    for t in range(1, len(f)):
        out[t] = cross(fs[t - 1], ss[t - 1], fs[t], ss[t]) == direction
    return out


def crossed_above(fast: Any, slow: Any) -> np.ndarray:
    """Bars where `fast` crosses above `slow`: ``fast[t] > slow[t]`` and
    ``fast[t-1] <= slow[t-1]``.

    Equality counts as "not above": equal -> above is a cross; below -> equal -> below is
    not (though its last step is a cross *below*). A NaN in either series at t or t-1 gives
    False; bar 0 is always False. See `cross`.

    Parameters
    ----------
    fast, slow : array_like, 1-D (T,) or 2-D (T, N), one shape; or one of them a scalar
        The two series (or panels, compared column by column), or a series and a threshold.

    Returns
    -------
    numpy.ndarray
        bool, same shape.

    Raises
    ------
    DataError
        An input is not 1-D, 2-D or a scalar, or the shapes differ.
    """
    return _crossed(fast, slow, 1)


def crossed_below(fast: Any, slow: Any) -> np.ndarray:
    """Bars where `fast` crosses below `slow`: ``fast[t] < slow[t]`` and
    ``fast[t-1] >= slow[t-1]``.

    Equality counts as "not below": equal -> below is a cross; above -> equal -> above is
    not (though its last step is a cross *above*). A NaN in either series at t or t-1 gives
    False; bar 0 is always False. See `cross`.

    Parameters
    ----------
    fast, slow : array_like, 1-D (T,) or 2-D (T, N), one shape; or one of them a scalar
        The two series (or panels, compared column by column), or a series and a threshold.

    Returns
    -------
    numpy.ndarray
        bool, same shape.

    Raises
    ------
    DataError
        An input is not 1-D, 2-D or a scalar, or the shapes differ.
    """
    return _crossed(fast, slow, -1)
