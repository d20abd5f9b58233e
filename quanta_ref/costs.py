"""Cost models: what a fill pays in commission, and how far slippage moves its price.

`Engine(commission=..., slippage=...)` takes one of the models here or a Python callable
(docs/semantics.md, section 23). Models are frozen dataclasses, checked when made (a
ConfigError names the field), so settings holding them stay picklable and comparable. The
arithmetic of each model is written once here and mirrored operation for operation by the
Rust engine (quanta-core `config.rs`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from quanta_ref.errors import ConfigError, OrderError
from quanta_ref.events import BarEvent

#: A commission callable: (symbol, side "buy"/"sell", quantity, price) -> commission >= 0.
CommissionFunction = Callable[[str, str, float, float], float]
#: A slippage callable: (bar, side "buy"/"sell", quantity, price) -> fraction >= 0.
SlippageFunction = Callable[[BarEvent, str, float, float], float]


def _number(
    model: object,
    name: str,
    low: float = 0.0,
    high: float = math.inf,
    *,
    above: bool = False,
    optional: bool = False,
) -> None:
    """Check field `name` of `model`: a finite real number in [low, high] (> low with
    `above`; None allowed with `optional`), stored as a float."""
    value = getattr(model, name)
    if value is None and optional:
        return
    label = f"{type(model).__name__}.{name}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{label}: expected a number, got {value!r}")
    x = float(value) + 0.0
    if not math.isfinite(x) or (x <= low if above else x < low) or x > high:
        bound = f"> {low}" if above else f">= {low}"
        top = f" and <= {high}" if high != math.inf else " and finite"
        raise ConfigError(f"{label}: must be {bound}{top}, got {value!r}")
    object.__setattr__(model, name, x)


# ======================================================================= commission
@dataclass(frozen=True)
class PerValue:
    """A fraction of the traded value, at least `minimum` per fill:
    ``max(minimum, value * rate)``; what `commission_rate` and `min_commission` set."""

    rate: float
    minimum: float = 0.0

    def __post_init__(self) -> None:
        _number(self, "rate", high=1.0)
        _number(self, "minimum")

    def commission(self, quantity: float, value: float) -> float:
        """The commission of a fill of `quantity` worth `value`."""
        commission = value * self.rate
        return commission if commission > self.minimum else self.minimum


@dataclass(frozen=True)
class PerShare:
    """A price per unit traded, at least `minimum`, then at most `maximum_rate` of the
    traded value when given (the cap wins over the minimum, as brokers charge it):
    Interactive Brokers' US fixed rate is ``PerShare(0.005, 1.0, 0.01)``."""

    per_share: float
    minimum: float = 0.0
    maximum_rate: float | None = None

    def __post_init__(self) -> None:
        _number(self, "per_share")
        _number(self, "minimum")
        _number(self, "maximum_rate", high=1.0, optional=True)

    def commission(self, quantity: float, value: float) -> float:
        """The commission of a fill of `quantity` worth `value`."""
        commission = quantity * self.per_share
        commission = commission if commission > self.minimum else self.minimum
        if self.maximum_rate is not None:
            cap = value * self.maximum_rate
            commission = commission if commission < cap else cap
        return commission


@dataclass(frozen=True)
class Tiered:
    """Marginal rates by the fill's traded value: `tiers` is ``[(threshold, rate), ...]``
    with thresholds ascending from 0.0; the part of the value between a threshold and the
    next pays that tier's rate (added in tier order), then at least `minimum`."""

    tiers: tuple[tuple[float, float], ...]
    minimum: float = 0.0

    def __post_init__(self) -> None:
        given = self.tiers
        if isinstance(given, (str, bytes)) or not hasattr(given, "__iter__"):
            raise ConfigError(f"Tiered.tiers: expected (threshold, rate) pairs, got {given!r}")
        tiers: list[tuple[float, float]] = []
        for pair in given:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ConfigError(f"Tiered.tiers: expected (threshold, rate) pairs, got {pair!r}")
            tier = _Tier(*pair)
            if tiers and not tier.threshold > tiers[-1][0]:
                raise ConfigError(
                    f"Tiered.tiers: thresholds must ascend, got {tier.threshold!r} after "
                    f"{tiers[-1][0]!r}"
                )
            tiers.append((tier.threshold, tier.rate))
        if not tiers or tiers[0][0] != 0.0:
            raise ConfigError(f"Tiered.tiers: the first threshold must be 0.0, got {given!r}")
        object.__setattr__(self, "tiers", tuple(tiers))
        _number(self, "minimum")

    def commission(self, quantity: float, value: float) -> float:
        """The commission of a fill of `quantity` worth `value`."""
        tiers = self.tiers
        commission = 0.0
        for k, (threshold, rate) in enumerate(tiers):
            if not value > threshold:
                break
            upper = tiers[k + 1][0] if k + 1 < len(tiers) else math.inf
            part = (value if value < upper else upper) - threshold
            commission = commission + part * rate
        return commission if commission > self.minimum else self.minimum


@dataclass(frozen=True)
class _Tier:
    """One (threshold, rate) pair of `Tiered`, checked."""

    threshold: float
    rate: float

    def __post_init__(self) -> None:
        for name, high in (("threshold", math.inf), ("rate", 1.0)):
            try:
                _number(self, name, high=high)
            except ConfigError as exc:
                raise ConfigError(f"Tiered.tiers: {exc}") from None


# ======================================================================= slippage
@dataclass(frozen=True)
class FixedBps:
    """Basis points against the trader (what `slippage_bps` sets): a buy pays
    ``base * (1 + bps / 10_000)``, no more than the bar's high; a sell mirrors."""

    bps: float

    def __post_init__(self) -> None:
        _number(self, "bps", high=10_000.0)


@dataclass(frozen=True)
class RangeFraction:
    """A fraction of the bar's range against the trader: a buy pays
    ``min(base + fraction * (high - low), high)``, a sell gets
    ``max(base - fraction * (high - low), low)``."""

    fraction: float

    def __post_init__(self) -> None:
        _number(self, "fraction", high=1.0)


@dataclass(frozen=True)
class SquareRootImpact:
    """Market impact growing with the square root of participation: the fraction
    ``s = coefficient * sqrt(q / volume)`` applied as bps are (q: the quantity asked at the
    bar); a bar without volume gives s = inf, the bar's high for a buy, its low for a sell."""

    coefficient: float

    def __post_init__(self) -> None:
        _number(self, "coefficient", above=True)


COMMISSION_MODELS = (PerValue, PerShare, Tiered)
SLIPPAGE_MODELS = (FixedBps, RangeFraction, SquareRootImpact)


def check_model(name: str, model: Any) -> None:
    """ConfigError naming setting `name` ("commission" or "slippage") unless `model` is one
    of its models, a callable, or None."""
    models = COMMISSION_MODELS if name == "commission" else SLIPPAGE_MODELS
    if model is None or isinstance(model, models):
        return
    if callable(model) and not isinstance(model, type):
        return
    names = ", ".join(m.__name__ for m in models)
    raise ConfigError(f"{name}: expected one of {names} or a callable, got {model!r}")


def impact(coefficient: float, asked: float, volume: float) -> float:
    """The slippage fraction of `SquareRootImpact` for `asked` units in a bar of `volume`."""
    if not volume > 0.0:
        return math.inf
    return coefficient * math.sqrt(asked / volume)


def range_price(buy: bool, base: float, high: float, low: float, fraction: float) -> float:
    """The fill price of `RangeFraction`: `base` moved by `fraction` of the bar's range
    against the trader, kept inside the bar."""
    if buy:
        price = base + fraction * (high - low)
        return price if price < high else high
    price = base - fraction * (high - low)
    return price if price > low else low


# ======================================================================= callables
def _checked(field: str, value: Any, symbol: str, index: int, now: int) -> float:
    """A callable model's result: a finite number >= 0, else an OrderError naming the
    model's setting, the symbol and the bar."""
    if not isinstance(value, bool) and isinstance(value, numbers.Real):
        x = float(value) + 0.0
        if math.isfinite(x) and x >= 0.0:
            return x
    raise OrderError(
        f"{field}: the {field} callable returned {value!r} for {symbol} at bar {index} "
        f"(timestamp {now}); it must return a finite number >= 0"
    )


def call_commission(
    model: CommissionFunction,
    symbol: str,
    side: str,
    quantity: float,
    price: float,
    index: int,
    now: int,
) -> float:
    """Call a commission callable for a fill of `quantity` at `price` of `symbol` at bar
    `index` (timestamp `now`) and check its result. Both engines call models through here."""
    return _checked("commission", model(symbol, side, quantity, price), symbol, index, now)


def call_slippage(
    model: SlippageFunction,
    symbol: str,
    now: int,
    open_: float,
    high: float,
    low: float,
    close: float,
    volume: float,
    side: str,
    quantity: float,
    price: float,
    index: int,
) -> float:
    """Call a slippage callable with the symbol's bar at bar `index` for `quantity` at the
    unslipped `price`, and check its result (a fraction). Both engines call models through
    here."""
    bar = BarEvent(now, symbol, open_, high, low, close, volume)
    return _checked("slippage", model(bar, side, quantity, price), symbol, index, now)
