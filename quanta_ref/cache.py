"""`IndicatorCache`: indicators computed once and shared by every job of a grid.

A parameter grid asks for the same indicators again and again: with
``grid={"fast": range(5, 15), "slow": range(20, 70, 5)}`` each SMA is needed by ten
combinations or more. The cache computes each one once per symbol and hands out the same
(read-only) array afterwards.

The key
-------
An entry is keyed by **symbol, indicator and parameters**:
``(symbol, indicator, inputs, parameters)``, where

* ``symbol`` is a symbol of the bars (one column of the panel);
* ``indicator`` is the name of a batch function of `quanta_ref.indicators` (``"sma"``,
  ``"ema"``, ``"rsi"``, ``"macd"``, ...);
* ``inputs`` are the bar fields the indicator reads: ``(field,)`` (``"close"`` unless told),
  or ``("high", "low", "close")`` for ``"atr"``;
* ``parameters`` are every parameter of the function, defaults filled in, by name, as the
  function's checks return them: so ``get("rsi")``, ``get("rsi", 14)``,
  ``get("rsi", period=14)`` and ``get("rsi", np.int64(14))`` are one entry. The parameters
  are checked before the lookup, so a value the function refuses (``3.0``, ``True``) is
  refused whatever was asked before.

The values are those of the batch function on the symbol's column, bit for bit: the
backend's `indicators` (the reference's `quanta_ref.indicators` on "python", the
bit-identical native ones on "rust"). A missing bar is NaN in the column, so it resets the
indicator (the NaN rule of `quanta_ref.indicators`); a streaming indicator fed from
``on_bar`` never sees missing bars, and may therefore differ after a suspension.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Hashable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from quanta_ref import backends
from quanta_ref import indicators as reference_indicators
from quanta_ref.bars import FIELDS, Bars
from quanta_ref.errors import ConfigError, DataError

#: The batch functions the cache computes, by name.
INDICATORS = (
    "sma",
    "ema",
    "wma",
    "rsi",
    "macd",
    "bollinger_bands",
    "atr",
    "rolling_std",
    "highest",
    "lowest",
    "roc",
)

#: Indicators that read several fields instead of the one `field`.
_MULTI_FIELD_INPUTS = {"atr": ("high", "low", "close")}

#: The streaming class of each batch function. Building one runs the function's own checks
#: of the parameters (same order, same `ConfigError`), and its attributes of the parameters'
#: names hold the checked values (an int period, a float width), which the key is made of.
_STREAMING = {
    "sma": "SMA",
    "ema": "EMA",
    "wma": "WMA",
    "rsi": "RSI",
    "macd": "MACD",
    "bollinger_bands": "BollingerBands",
    "atr": "ATR",
    "rolling_std": "RollingStd",
    "highest": "Highest",
    "lowest": "Lowest",
    "roc": "ROC",
}


class IndicatorCache:
    """Indicators of one `Bars` panel, each computed once per symbol and parameters.

    Parameters
    ----------
    bars : Bars
        The panel the indicators are computed on.
    backend : str, default "python"
        The backend whose indicators compute them (`quanta_ref.backends`): the reference's
        `quanta_ref.indicators`, or the bit-identical native ones on "rust" (pass the
        engine's backend, ``engine.backend``).

    Attributes
    ----------
    hits, misses : int
        Lookups of one (symbol, indicator, parameters) entry that found it already
        computed, and that computed it. ``misses`` is therefore the number of computations.

    Notes
    -----
    The returned arrays are shared by every caller and made read-only; copy one before
    changing it. See the module notes for the key.

    Examples
    --------
    >>> from quanta_ref import data
    >>> cache = IndicatorCache(data.synthetic(100, n_symbols=2))
    >>> fast = cache.panel("sma", 10)           # (100, 2): SMA(10) of each close
    >>> again = cache.get("sma", 10, symbol="S0")
    >>> (cache.misses, cache.hits)
    (2, 1)
    """

    def __init__(self, bars: Bars, backend: str = "python") -> None:
        if not isinstance(bars, Bars):
            raise ConfigError(f"bars: expected a quanta Bars panel, got {type(bars).__name__}")
        self.bars = bars
        implementation = backends.load(backend)
        self.backend = implementation.name  # "auto" resolved: the name of what computes
        self.indicators: ModuleType = implementation.indicators
        self.hits = 0
        self.misses = 0
        self._values: dict[Hashable, Any] = {}
        # What `_resolve` found for a call, by the call's own arguments (their types too: 1
        # and True are equal keys, yet the function may take one and refuse the other).
        self._resolved: dict[Hashable, Any] = {}

    def get(
        self,
        indicator: str,
        *params: Any,
        symbol: str | None = None,
        field: str | None = None,
        **options: Any,
    ) -> Any:
        """One symbol's indicator, computed on the first call and cached.

        Parameters
        ----------
        indicator : str
            A batch function of `quanta_ref.indicators`: one of `INDICATORS`.
        *params, **options
            Its parameters, as the function takes them (``get("sma", 10)``,
            ``get("macd", fast=12, slow=26)``).
        symbol : str, optional
            The symbol; may be left out when the bars have one symbol.
        field : str, optional
            The bar field to compute on (default ``"close"``); not for ``"atr"``, which reads
            high, low and close.

        Returns
        -------
        numpy.ndarray or tuple of numpy.ndarray
            What the batch function returns for the symbol's column, read-only (MACD and the
            Bollinger Bands give three arrays).

        Raises
        ------
        ConfigError
            An unknown indicator, symbol or field, parameters the function does not take, or
            a parameter value it refuses.
        """
        column = self._column(symbol)
        function, inputs, parameters = self._resolve(indicator, field, params, options)
        key = (self.bars.symbols[column], indicator, inputs, parameters)
        try:
            value = self._values[key]
        except KeyError:
            pass
        else:
            self.hits += 1
            return value
        columns = [self.bars_field(name)[:, column] for name in inputs]
        value = _read_only(function(*columns, **dict(parameters)))
        self._values[key] = value
        self.misses += 1
        return value

    def panel(self, indicator: str, *params: Any, field: str | None = None, **options: Any) -> Any:
        """The indicator for every symbol, as a (T, N) array in data order.

        Each column is `get` of that symbol (so computed once and counted per symbol); the
        (T, N) array itself is assembled on each call (for one symbol, a view of its column).
        Parameters as for `get`.

        Returns
        -------
        numpy.ndarray or tuple of numpy.ndarray
            float64 (T, N), one per output of the indicator, read-only.
        """
        per_symbol = [
            self.get(indicator, *params, symbol=symbol, field=field, **options)
            for symbol in self.bars.symbols
        ]
        if isinstance(per_symbol[0], tuple):
            outputs = zip(*per_symbol, strict=True)
            return tuple(_stacked(columns) for columns in outputs)
        return _stacked(per_symbol)

    def crossed_above(self, fast: Any, slow: Any) -> np.ndarray:
        """`crossed_above` of this cache's backend, column by column for (T, N) inputs.

        Parameters
        ----------
        fast, slow : array_like
            Two series (T,), or two panels (T, N) of the same shape (e.g. from `panel`);
            one of them may be a scalar threshold.

        Returns
        -------
        numpy.ndarray
            bool, the shape of the inputs; see `quanta_ref.indicators.crossed_above` for
            how ties and NaN count.
        """
        return self._crossed(self.indicators.crossed_above, fast, slow)

    def crossed_below(self, fast: Any, slow: Any) -> np.ndarray:
        """`crossed_below` of this cache's backend, column by column for (T, N) inputs; see
        `crossed_above`."""
        return self._crossed(self.indicators.crossed_below, fast, slow)

    def bars_field(self, name: str) -> np.ndarray:
        """The (T, N) array of one bar field: open, high, low, close or volume."""
        if not isinstance(name, str) or name not in FIELDS:
            raise ConfigError(f"field: must be one of {FIELDS}, got {name!r}")
        array: np.ndarray = getattr(self.bars, name)
        return array

    def clear(self) -> None:
        """Forget every cached value and reset the counters."""
        self._values.clear()
        self._resolved.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return (
            f"IndicatorCache(backend={self.backend!r}, entries={len(self)}, "
            f"hits={self.hits}, misses={self.misses})"
        )

    # ----------------------------------------------------------------------------- helpers
    def _column(self, symbol: str | None) -> int:
        symbols = self.bars.symbols
        if symbol is None:
            if len(symbols) != 1:
                raise ConfigError(
                    f"symbol: required when the bars have several symbols ({', '.join(symbols)})"
                )
            return 0
        if symbol not in symbols:
            raise ConfigError(f"symbol: {symbol!r} is not in the bars ({', '.join(symbols)})")
        return symbols.index(symbol)

    def _resolve(
        self, indicator: str, field: str | None, params: tuple[Any, ...], options: dict[str, Any]
    ) -> tuple[Any, tuple[str, ...], tuple[Any, ...]]:
        """The function, its input fields and its parameters as a key: ((name, value), ...)
        with the defaults filled in. Found once per distinct call (a grid asks again and
        again)."""
        call = (
            indicator,
            field,
            tuple((type(p), p) for p in params),
            tuple((name, type(v), v) for name, v in sorted(options.items())),
        )
        try:
            return self._resolved[call]
        except KeyError:
            found = self._resolve_call(indicator, field, params, options)
            self._resolved[call] = found
            return found
        except TypeError:  # an unhashable argument
            return self._resolve_call(indicator, field, params, options)

    def _resolve_call(
        self, indicator: str, field: str | None, params: tuple[Any, ...], options: dict[str, Any]
    ) -> tuple[Any, tuple[str, ...], tuple[Any, ...]]:
        if not isinstance(indicator, str) or indicator not in INDICATORS:
            raise ConfigError(f"indicator: {indicator!r} is not one of {', '.join(INDICATORS)}")
        inputs: tuple[str, ...]
        if indicator in _MULTI_FIELD_INPUTS:
            if field is not None:
                raise ConfigError(
                    f"field: {indicator} reads "
                    f"{', '.join(_MULTI_FIELD_INPUTS[indicator])}; leave field out"
                )
            inputs = _MULTI_FIELD_INPUTS[indicator]
        else:
            inputs = ("close",) if field is None else (field,)
        for name in inputs:
            self.bars_field(name)  # checks the name
        signature = _signature(indicator)
        placeholders = [None] * len(inputs)
        try:
            bound = signature.bind(*placeholders, *params, **options)
        except TypeError as exc:
            raise ConfigError(f"{indicator}: {exc}") from None
        bound.apply_defaults()
        names = list(signature.parameters)[len(inputs) :]
        streaming = getattr(reference_indicators, _STREAMING[indicator])
        checked = streaming(**{name: bound.arguments[name] for name in names})
        parameters = tuple((name, getattr(checked, name)) for name in names)
        return getattr(self.indicators, indicator), inputs, parameters

    @staticmethod
    def _crossed(function: Any, fast: Any, slow: Any) -> np.ndarray:
        f, s = np.asarray(fast), np.asarray(slow)
        whole = f.ndim < 2 and s.ndim < 2 or f.shape == s.shape or 0 in (f.ndim, s.ndim)
        if whole and f.ndim <= 2 and s.ndim <= 2:
            # Series, panels of one shape or a panel and a threshold: the function takes
            # them whole (column by column inside, each column as the series would give).
            result: np.ndarray = function(f, s)
            return result
        if f.ndim > 2 or s.ndim > 2 or (f.ndim == s.ndim == 2 and f.shape != s.shape):
            raise DataError(
                f"fast, slow: expected two (T, N) panels of one shape, got {f.shape} and {s.shape}"
            )
        n_columns = f.shape[1] if f.ndim == 2 else s.shape[1]
        columns = [
            function(f[:, n] if f.ndim == 2 else f, s[:, n] if s.ndim == 2 else s)
            for n in range(n_columns)
        ]
        return np.column_stack(columns)


@functools.cache
def _signature(indicator: str) -> inspect.Signature:
    """The batch function's signature: the reference's (the Rust module has the same one).
    Kept, since reading a signature costs more than a cached indicator: a grid of thousands
    of combinations asks for it at every `get`."""
    return inspect.signature(getattr(reference_indicators, indicator))


def _stacked(columns: Sequence[np.ndarray]) -> Any:
    """Read-only (T,) columns as one read-only (T, N) panel: for one column a view of it."""
    if len(columns) == 1:
        return columns[0].reshape(-1, 1)  # a view of a read-only array: read-only too
    return _read_only(np.column_stack(columns))


def _read_only(value: Any) -> Any:
    """The value with every array made read-only (shared by all callers): a view of a
    read-only array that owns its memory, which numpy then refuses to make writeable again.
    An array on memory numpy does not own (the native backend's output) is copied first:
    numpy would let a view of that be made writeable."""
    if isinstance(value, tuple):
        return tuple(_read_only(part) for part in value)
    base = value if value.flags.owndata else np.array(value)
    base.flags.writeable = False
    return base.view()
