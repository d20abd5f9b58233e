"""Engine configuration: every setting, its default, its check, and the market presets.

Both backends read the same `EngineConfig`, so a setting means one thing everywhere. The
rules each setting drives are written in docs/semantics.md.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from quanta_ref import sources
from quanta_ref.bars import NS_PER_DAY, one_timestamp
from quanta_ref.costs import COMMISSION_MODELS, check_model
from quanta_ref.errors import ConfigError, DataError

#: The A-share stamp duty (印花税) while it was paid by both sides of a trade: from
#: 2008-09-19 only sellers pay it (0.1 %, then 0.05 % from 2023-08-28).
STAMP_DUTY_BOTH_SIDES = (
    ("1991-10-10", 0.003),
    ("1997-05-12", 0.005),
    ("1998-06-12", 0.004),
    ("2001-11-16", 0.002),
    ("2005-01-24", 0.001),
    ("2007-05-30", 0.003),
    ("2008-04-24", 0.001),
)

#: Market presets: defaults that a market's rules imply. Explicit keywords win over them.
MARKETS: dict[str, dict[str, Any]] = {
    # Chinese A-shares: board lots of 100, T+1, 5 yuan minimum commission, the stamp duty
    # and transfer fee as they were on each date, the daily price limits of each board
    # (quanta_ref.market) on a 0.01 yuan tick. docs/semantics.md, section 10, has the history.
    "cn_a": {
        "lot_size": 100.0,
        "settlement": "T+1",
        "min_commission": 5.0,
        "sell_tax_rate": STAMP_DUTY_BOTH_SIDES + (("2023-08-28", 0.0005),),
        "buy_tax_rate": STAMP_DUTY_BOTH_SIDES + (("2008-09-19", 0.0),),
        "transfer_fee_rate": (
            ("1990-12-19", 0.0),
            ("2015-08-01", 0.00002),
            ("2022-04-29", 0.00001),
        ),
        "price_limit": "cn_a",
        "tick_size": 0.01,
    },
}

#: The cost settings that take a number or a schedule of numbers by date.
SCHEDULED = (
    "commission_rate",
    "min_commission",
    "sell_tax_rate",
    "buy_tax_rate",
    "transfer_fee_rate",
)


#: A cost rate: a number, or a schedule (("YYYY-MM-DD", value), ...) in date order.
Rate = float | tuple[tuple[str, float], ...]


#: The smallest `lot_size` accepted.
MIN_LOT_SIZE = 1e-18


@dataclass(frozen=True)
class EngineConfig:
    """All engine settings (see `Engine`). Build it with `EngineConfig.build(**keywords)`."""

    initial_cash: float = 1_000_000.0
    # The five costs take a number or a schedule {date: value} (stored as a tuple of
    # ("YYYY-MM-DD", value) pairs in date order; see `rate_on_day`).
    commission_rate: Rate = 0.0  # fraction of traded value, per fill
    min_commission: Rate = 0.0  # floor of the commission of one fill
    sell_tax_rate: Rate = 0.0  # fraction of a sell's traded value (stamp duty)
    buy_tax_rate: Rate = 0.0  # fraction of a buy's traded value (stamp duty on buys)
    transfer_fee_rate: Rate = 0.0  # fraction of traded value, both sides (transfer fee)
    slippage_bps: float = 0.0  # basis points against the trader, market/stop fills
    fill_at: str = "next_open"  # "next_open" or "close"
    lot_size: float = 1.0  # quantity step; buys in whole lots
    fractional: bool = False  # allow non-integer quantities (crypto)
    settlement: str = "T+0"  # "T+0" or "T+1"
    price_limit: float | str | None = None  # daily limit: a fraction, or "cn_a" (by board)
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
    # Per-symbol settings (lot size, tick, price limit, multiplier, margin), by symbol; given
    # as a mapping or a table, stored checked and sorted (see `Instrument`).
    instruments: tuple[Instrument, ...] = ()
    # Cost models (quanta_ref.costs; a callable is stored as given). None: the commission
    # is commission_rate / min_commission (PerValue), the slippage slippage_bps (FixedBps).
    commission: Any = None
    slippage: Any = None

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
        _models(keywords, values)
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
        check_model("commission", self.commission)
        check_model("slippage", self.slippage)
        for name, high in (
            ("commission_rate", 1.0),
            ("min_commission", math.inf),
            ("sell_tax_rate", 1.0),
            ("buy_tax_rate", 1.0),
            ("transfer_fee_rate", 1.0),
        ):
            value = getattr(self, name)
            if isinstance(value, (Mapping, list, tuple)):
                object.__setattr__(self, name, _schedule(name, value, high))
            else:
                number(name, 0.0, high=high)
        number("slippage_bps", 0.0, high=10_000.0)
        # Quantities are counted in lots (floor(q / lot)): below 1e-18 (one wei, the finest
        # unit of any traded asset) the lots that ordinary cash buys leave the float range.
        number("lot_size", MIN_LOT_SIZE)
        if isinstance(self.price_limit, str):
            if self.price_limit != PRICE_LIMIT_RULES:
                raise ConfigError(
                    f"price_limit: expected a fraction, None or {PRICE_LIMIT_RULES!r}, "
                    f"got {self.price_limit!r}"
                )
        else:
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
        object.__setattr__(self, "instruments", read_instruments(self.instruments))
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
        for item in self.instruments:
            where = f"instruments[{item.symbol!r}]"
            lot = item.lot_size
            if lot is not None and not self.fractional and lot != math.floor(lot):
                raise ConfigError(
                    f"{where}.lot_size: must be a whole number unless fractional=True, got {lot!r}"
                )
            if (
                item.tick_size is not None
                and item.price_limit is None
                and (self.price_limit is None)
            ):
                raise ConfigError(
                    f"{where}.tick_size: {item.tick_size!r} rounds the price limits only, and "
                    "no price_limit applies to this symbol; give it one, or leave tick_size out"
                )
            if item.margin is not None and not self.allow_short:
                raise ConfigError(
                    f"{where}.margin: margin rates apply in margin accounts only; set "
                    "allow_short=True"
                )

    def as_dict(self) -> dict[str, Any]:
        """Every setting by name (a schedule as a tuple of ("YYYY-MM-DD", value) pairs)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def rate_on_day(self, name: str, day: int) -> float:
        """The value of cost setting `name` in force on trading day `day` (days since
        1970-01-01): the number, or the schedule's last value dated on or before `day`. A day
        before the schedule's first date is a ConfigError naming the setting and both dates."""
        value = getattr(self, name)
        if not isinstance(value, tuple):
            return float(value)
        in_force = None
        for date, rate in schedule_days(value):
            if date <= day:
                in_force = rate
        if in_force is None:
            raise ConfigError(
                f"{name}: the run begins on {np.datetime64(day, 'D')}, before the schedule's "
                f"first date {value[0][0]}; give a value from the first bar's date on"
            )
        return in_force


#: The per-symbol settings of `EngineConfig.instruments`, in the order they are listed.
INSTRUMENT_FIELDS = (
    "lot_size",
    "tick_size",
    "price_limit",
    "multiplier",
    "margin",
    "maintenance_margin",
    "commission",
)


@dataclass(frozen=True)
class Instrument:
    """The settings of one symbol that differ from the engine-wide ones (None: the
    engine-wide value). docs/semantics.md, section 24.

    Attributes
    ----------
    symbol : str
    lot_size : float or None
        Its quantity step (> 0; whole unless ``fractional=True``).
    tick_size : float or None
        Its price tick (> 0): its limit prices are rounded to it.
    price_limit : float or None
        Its daily limit fraction (> 0), winning over the engine-wide one and the "cn_a" rule.
    multiplier : float or None
        Its contract multiplier (> 0): a fill's value is quantity x price x multiplier.
    margin : float or None
        Its initial margin rate (0 < rate <= 1), margin accounts only.
    maintenance_margin : float or None
        Its maintenance margin rate (0 < rate <= margin); the margin rate when not given.
    commission : PerValue, PerShare, Tiered or None
        Its commission model (`quanta_ref.costs`), replacing the engine-wide commission rule
        (``commission``, or ``commission_rate``/``min_commission`` and their schedules) for
        this symbol only. A callable is refused: the engine-wide callable receives the symbol.
    """

    symbol: str
    lot_size: float | None = None
    tick_size: float | None = None
    price_limit: float | None = None
    multiplier: float | None = None
    margin: float | None = None
    maintenance_margin: float | None = None
    commission: Any = None


def read_instruments(given: Any) -> tuple[Instrument, ...]:
    """`EngineConfig.instruments` as checked `Instrument`s sorted by symbol.

    `given` is a mapping ``{symbol: {field: value}}``, a table (pandas or polars DataFrame,
    pyarrow Table) with a ``symbol`` column and any of `INSTRUMENT_FIELDS` as columns, or
    the stored form (`Instrument`s). A missing key, None or NaN is the engine-wide value.
    Anything else is a ConfigError naming the field and the symbol.
    """
    if given is None:
        return ()
    rows: list[tuple[Any, Any]]
    if isinstance(given, Mapping):
        rows = list(given.items())
    elif isinstance(given, (tuple, list)) and all(isinstance(x, Instrument) for x in given):
        rows = [(x.symbol, {f: getattr(x, f) for f in INSTRUMENT_FIELDS}) for x in given]
    elif type(given).__module__.partition(".")[0] in ("pandas", "polars", "pyarrow"):
        rows = _table_rows(given)
    else:
        raise ConfigError(
            "instruments: expected a mapping {symbol: {setting: value}} or a table (pandas or "
            f"polars DataFrame, pyarrow Table) with a 'symbol' column, got {type(given).__name__}"
        )
    checked: dict[str, Instrument] = {}
    for symbol, settings in rows:
        if not isinstance(symbol, str):
            raise ConfigError(f"instruments: a symbol must be a string, got {symbol!r}")
        if symbol in checked:
            raise ConfigError(f"instruments[{symbol!r}]: the symbol appears twice")
        checked[symbol] = _instrument(symbol, settings)
    return tuple(checked[s] for s in sorted(checked))


def _table_rows(table: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The rows of an instruments table as (symbol, {column: value})."""
    try:
        read = sources.frame_table(table)
    except DataError as exc:
        raise ConfigError(f"instruments: {exc}") from None
    names = list(read.names)
    if "symbol" not in names:
        raise ConfigError(f"instruments: the table has no 'symbol' column (columns: {names})")
    columns = {}
    for name in names:
        raw = read.column(name)
        columns[name] = raw.tolist() if hasattr(raw, "tolist") else list(raw)
    symbols = columns.pop("symbol")
    return [
        (s, {name: values[i] for name, values in columns.items()}) for i, s in enumerate(symbols)
    ]


def _instrument(symbol: str, settings: Any) -> Instrument:
    """One symbol's checked settings."""
    where = f"instruments[{symbol!r}]"
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings, got {settings!r}")
    values: dict[str, float] = {}
    commission = None
    for key, value in settings.items():
        if key not in INSTRUMENT_FIELDS:
            raise ConfigError(
                f"{where}: unknown setting {key!r}; known: {', '.join(INSTRUMENT_FIELDS)}"
            )
        if value is None:
            continue
        if key == "commission":
            commission = _own_commission(where, value)
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
        try:
            number = float(value) + 0.0
        except OverflowError:
            number = math.inf
        if math.isnan(number):
            continue
        if not math.isfinite(number):
            raise ConfigError(f"{where}.{key}: must be finite, got {value!r}")
        values[key] = number
    for key, low, high, inclusive in (
        ("lot_size", MIN_LOT_SIZE, math.inf, True),
        ("tick_size", 0.0, math.inf, False),
        ("price_limit", 0.0, math.inf, False),
        ("multiplier", 0.0, math.inf, False),
        ("margin", 0.0, 1.0, False),
        ("maintenance_margin", 0.0, values.get("margin", 1.0), False),
    ):
        value = values.get(key)
        if value is None:
            continue
        if (value < low if inclusive else value <= low) or value > high:
            bound = ">=" if inclusive else ">"
            upper = "" if high == math.inf else f" and <= {high}"
            raise ConfigError(f"{where}.{key}: must be {bound} {low}{upper}, got {value!r}")
    if "maintenance_margin" in values and "margin" not in values:
        raise ConfigError(f"{where}.maintenance_margin: given without a margin rate")
    if "margin" in values and "maintenance_margin" not in values:
        values["maintenance_margin"] = values["margin"]
    return Instrument(symbol, **values, commission=commission)


def _own_commission(where: str, model: Any) -> Any:
    """A symbol's checked commission model; None for a NaN (a table's empty cell)."""
    if isinstance(model, float) and math.isnan(model):
        return None
    if isinstance(model, COMMISSION_MODELS):
        return model
    if callable(model) and not isinstance(model, type):
        # One rule per symbol in one place: the engine-wide callable already receives the
        # symbol, so a per-symbol callable would only split the same dispatch in two.
        raise ConfigError(
            f"{where}.commission: a callable is not accepted per symbol; the engine-wide "
            "commission callable receives the symbol (commission(symbol, side, quantity, "
            "price)), so give one callable that dispatches on it"
        )
    names = ", ".join(m.__name__ for m in COMMISSION_MODELS)
    raise ConfigError(f"{where}.commission: expected one of {names}, got {model!r}")


def _models(keywords: dict[str, Any], values: dict[str, Any]) -> None:
    """A cost model given with the settings it replaces is a ConfigError: which one would
    the user mean? A market preset's min_commission yields to a `commission` model."""
    if values.get("commission") is not None:
        for name in ("commission_rate", "min_commission"):
            given = keywords.get(name, 0.0)
            if isinstance(given, (Mapping, list, tuple)) or given != 0.0:
                raise ConfigError(
                    f"commission: a commission model replaces {name}; give one or the other "
                    f"(got {name}={given!r})"
                )
        values["commission_rate"] = values["min_commission"] = 0.0
    if values.get("slippage") is not None:
        given = keywords.get("slippage_bps", 0.0)
        if given != 0.0:
            raise ConfigError(
                "slippage: a slippage model replaces slippage_bps; give one or the other "
                f"(got slippage_bps={given!r})"
            )


#: The string values `price_limit` takes besides a fraction (see `quanta_ref.market`).
PRICE_LIMIT_RULES = "cn_a"


def schedule_days(schedule: tuple[tuple[str, float], ...]) -> list[tuple[int, float]]:
    """A stored schedule as (trading day, value) pairs, days counted from 1970-01-01."""
    return [(int(np.datetime64(date, "D").astype(np.int64)), rate) for date, rate in schedule]


def _schedule(name: str, given: Any, high: float) -> tuple[tuple[str, float], ...]:
    """A cost schedule ({date: value} or [(date, value), ...]) as (("YYYY-MM-DD", value), ...)
    in date order; each date read as `start`/`end` are (a value holds from the trading day of
    its date: a time of day is dropped), each value a number in [0, high], no day twice.
    Anything else is a ConfigError naming the setting."""
    pairs = list(given.items()) if isinstance(given, Mapping) else list(given)
    if not pairs:
        raise ConfigError(f"{name}: an empty schedule; give a number or at least one date")
    checked: dict[int, float] = {}
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ConfigError(f"{name}: a schedule holds (date, value) pairs, got {pair!r}")
        date, value = pair
        try:
            ns = one_timestamp(date, name)
        except DataError as exc:
            raise ConfigError(str(exc)) from None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{name}: expected a number for {date!r}, got {value!r}")
        rate = float(value) + 0.0
        if not 0.0 <= rate <= high:
            bound = f">= 0.0 and <= {high}" if high != math.inf else ">= 0.0 and finite"
            raise ConfigError(f"{name}: must be {bound}, got {value!r} for {date!r}")
        day = ns // NS_PER_DAY
        if day in checked:
            raise ConfigError(f"{name}: the date {date!r} appears twice in the schedule")
        checked[day] = rate
    return tuple((str(np.datetime64(day, "D")), checked[day]) for day in sorted(checked))
