"""Engine configuration: every setting, its default, its check, and the market presets.

Both backends read the same `EngineConfig`, so a setting means one thing everywhere. The
rules each setting drives are written in docs/semantics.md.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Any

from quanta_ref.errors import ConfigError

#: Market presets: defaults that a market's rules imply. Explicit keywords win over them.
MARKETS: dict[str, dict[str, Any]] = {
    # Chinese A-shares: board lots of 100, T+1, 5 yuan minimum commission, 0.05 % stamp duty on
    # sells, +-10 % daily price limits on a 0.01 yuan tick.
    "cn_a": {
        "lot_size": 100.0,
        "settlement": "T+1",
        "min_commission": 5.0,
        "sell_tax_rate": 0.0005,
        "price_limit": 0.10,
        "tick_size": 0.01,
    },
}


#: The smallest `lot_size` accepted.
MIN_LOT_SIZE = 1e-18


@dataclass(frozen=True)
class EngineConfig:
    """All engine settings (see `Engine`). Build it with `EngineConfig.build(**keywords)`."""

    initial_cash: float = 1_000_000.0
    commission_rate: float = 0.0  # fraction of traded value, per fill
    min_commission: float = 0.0  # floor of the commission of one fill
    sell_tax_rate: float = 0.0  # fraction of a sell's traded value (stamp duty)
    slippage_bps: float = 0.0  # basis points against the trader, market/stop fills
    fill_at: str = "next_open"  # "next_open" or "close"
    lot_size: float = 1.0  # quantity step; buys in whole lots
    fractional: bool = False  # allow non-integer quantities (crypto)
    settlement: str = "T+0"  # "T+0" or "T+1"
    price_limit: float | None = None  # daily limit as a fraction of the previous close
    tick_size: float | None = None  # price limits are rounded to this tick (else unused)
    max_volume_fraction: float | None = None  # participation limit per bar
    allow_short: bool = False  # False: cash account; True: margin account
    max_leverage: float | None = None  # gross exposure / equity limit (margin default 2.0)
    max_position_quantity: float | None = None
    max_position_weight: float | None = None
    max_order_value: float | None = None
    max_drawdown_stop: float | None = None  # halt new buying past this drawdown (fraction)
    periods_per_year: float | None = None  # for annualised metrics; inferred when None
    dividend_tax_rate: float = 0.0  # fraction of a cash dividend withheld at the credit
    market: str | None = None

    @classmethod
    def build(cls, **keywords: Any) -> EngineConfig:
        """Apply the market preset, then the keywords, then check every value."""
        known = {f.name for f in fields(cls)}
        for key in keywords:
            if key not in known:
                raise ConfigError(
                    f"{key}: unknown engine setting; known settings: {', '.join(sorted(known))}"
                )
        values: dict[str, Any] = {}
        market = keywords.get("market")
        if market is not None:
            if not isinstance(market, str) or market not in MARKETS:
                raise ConfigError(f"market: {market!r} is not one of {sorted(MARKETS)}")
            values.update(MARKETS[market])
        values.update(keywords)
        if values.get("allow_short") is True and values.get("max_leverage") is None:
            values["max_leverage"] = 2.0
        config = cls(**values)
        config._check()
        return config

    def _check(self) -> None:
        def number(
            name: str,
            low: float,
            *,
            inclusive: bool = True,
            optional: bool = False,
            high: float = math.inf,
        ) -> None:
            value = getattr(self, name)
            if value is None and optional:
                return
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f"{name}: expected a number, got {value!r}")
            try:
                value = float(value) + 0.0  # + 0.0 turns -0.0 into 0.0
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise ConfigError(f"{name}: must be finite, got {value!r}")
            below = value < low if inclusive else value <= low
            if below or value > high:
                bound = ">=" if inclusive else ">"
                raise ConfigError(
                    f"{name}: must be {bound} {low}"
                    + (f" and <= {high}" if high != math.inf else "")
                    + f", got {value!r}"
                )
            object.__setattr__(self, name, value)

        number("initial_cash", 0.0, inclusive=False)
        number("commission_rate", 0.0, high=1.0)
        number("min_commission", 0.0)
        number("sell_tax_rate", 0.0, high=1.0)
        number("slippage_bps", 0.0, high=10_000.0)
        # Quantities are counted in lots (floor(q / lot)): below 1e-18 (one wei, the finest
        # unit of any traded asset) the lots that ordinary cash buys leave the float range.
        number("lot_size", MIN_LOT_SIZE)
        number("price_limit", 0.0, inclusive=False, optional=True)
        number("tick_size", 0.0, inclusive=False, optional=True)
        number("max_volume_fraction", 0.0, inclusive=False, optional=True, high=1.0)
        number("max_leverage", 0.0, inclusive=False, optional=True)
        number("max_position_quantity", 0.0, inclusive=False, optional=True)
        number("max_position_weight", 0.0, inclusive=False, optional=True)
        number("max_order_value", 0.0, inclusive=False, optional=True)
        number("max_drawdown_stop", 0.0, inclusive=False, optional=True, high=1.0)
        number("periods_per_year", 0.0, inclusive=False, optional=True)
        number("dividend_tax_rate", 0.0, high=1.0)
        for name in ("fractional", "allow_short"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if not isinstance(self.fill_at, str) or self.fill_at not in ("next_open", "close"):
            raise ConfigError(f"fill_at: must be 'next_open' or 'close', got {self.fill_at!r}")
        if not isinstance(self.settlement, str) or self.settlement not in ("T+0", "T+1"):
            raise ConfigError(f"settlement: must be 'T+0' or 'T+1', got {self.settlement!r}")
        if self.tick_size is not None and self.price_limit is None:
            raise ConfigError(
                f"tick_size: {self.tick_size!r} rounds the price limits only, and "
                "price_limit is not set; set price_limit too, or leave tick_size out"
            )
        if self.settlement == "T+1" and self.allow_short:
            raise ConfigError(
                "settlement: 'T+1' is supported for cash accounts only (allow_short=False)"
            )
        if not self.fractional and self.lot_size != math.floor(self.lot_size):
            raise ConfigError(
                f"lot_size: must be a whole number unless fractional=True, got {self.lot_size!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
