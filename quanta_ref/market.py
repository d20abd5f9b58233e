"""What a run needs beyond its bars and settings, computed once in numpy for both engines.

`prepare(bars, config)` turns the market's rules into per-bar tables that both engines read
at (row, column), so that each rule is written once, here:

* the daily price limits (docs/semantics.md, section 10): `limit_down` and `limit_up`, the
  limit prices at every bar, from a fixed fraction (``price_limit=0.1``), the A-share rule
  by board, date, ST flag and listing date (``price_limit="cn_a"``), and the vendor's own
  limit prices (``bars.up_limit``/``bars.down_limit``), which override the rule wherever
  they are given;
* the per-symbol settings of `EngineConfig.instruments` resolved to the panel's columns
  (docs/semantics.md, section 24): `lots`, `ticks`, `multipliers`, `margins`, `maintenance`;
* the cost rates in force at each trading day (docs/semantics.md, section 7), when any cost
  setting is a schedule by date: `rate_rows` (the rows at which rates change) and `rates`
  (the five rates from each of those rows on).

A run without limits or schedules allocates nothing: the fields are None.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np

from quanta_ref.actions import reference_closes
from quanta_ref.bars import NO_DATE, NS_PER_DAY, Bars
from quanta_ref.config import (
    PRICE_LIMIT_RULES,
    SCHEDULED,
    EngineConfig,
    schedule_days,
)
from quanta_ref.errors import ConfigError, DataError


@dataclass(frozen=True)
class RunMarket:
    """The per-bar market tables of one run (see the module docstring).

    Attributes
    ----------
    limit_down, limit_up : numpy.ndarray or None
        float64 (T, N), C-contiguous, read-only: the limit prices of each bar; NaN where that
        side has no limit. None when no limit applies anywhere.
    rate_rows : numpy.ndarray or None
        int64 (K,), ascending: the rows whose new-day step puts a row of `rates` in force;
        the first is 0. None when every cost setting is a number.
    rates : numpy.ndarray or None
        float64 (K, 5): `commission_rate`, `min_commission`, `sell_tax_rate`, `buy_tax_rate`,
        `transfer_fee_rate` in force from the matching row of `rate_rows` on.
    lots, ticks, multipliers, margins, maintenance : numpy.ndarray or None
        float64 (N,), read-only, by symbol column: the lot size, the tick (NaN: none), the
        contract multiplier, the initial and maintenance margin rates (NaN: not a margin
        symbol) of each symbol, its own setting or the engine-wide one. All None when no
        symbol of the panel has settings of its own.
    commissions : tuple or None
        By symbol column: the symbol's own commission model (`Instrument.commission`), or
        None where the engine-wide rule applies. None when no symbol of the panel has one.
    """

    limit_down: np.ndarray | None = None
    limit_up: np.ndarray | None = None
    rate_rows: np.ndarray | None = None
    rates: np.ndarray | None = None
    lots: np.ndarray | None = None
    ticks: np.ndarray | None = None
    multipliers: np.ndarray | None = None
    margins: np.ndarray | None = None
    maintenance: np.ndarray | None = None
    commissions: tuple[object, ...] | None = None


def prepare(bars: Bars, config: EngineConfig) -> RunMarket:
    """The market tables of a run of `config` over `bars`.

    The limit tables are cached on `bars`, keyed by the settings they depend on
    (``price_limit``, ``tick_size``, and the panel's symbols' own ones): a grid runs
    thousands of jobs on one panel and computes them once. Raises ConfigError when a rate
    schedule begins after the first bar, or when ``price_limit="cn_a"`` meets a symbol the
    rule does not know (and that has no limit of its own) at a bar where it is needed;
    DataError when a listing date is after a symbol's first bar.
    """
    columns = instrument_columns(bars.symbols, config)
    own: list[tuple[str, float | None, float | None]] = []
    if columns is not None:
        by_symbol = {item.symbol: item for item in config.instruments}
        for symbol in bars.symbols:
            item = by_symbol.get(symbol)
            if item is not None and (item.tick_size, item.price_limit) != (None, None):
                own.append((symbol, item.tick_size, item.price_limit))
    key = (config.price_limit, config.tick_size, tuple(own))
    cached = bars._limit_cache
    if cached is not None and cached[0] == key:
        down, up = cached[1]
    else:
        down, up = _limits(bars, config) if not own else _own_limits(bars, config)
        bars._cache_limits(key, (down, up))
    rate_rows, rates = _rate_table(bars, config)
    if columns is None:
        return RunMarket(down, up, rate_rows, rates)
    return RunMarket(down, up, rate_rows, rates, *columns, own_commissions(bars.symbols, config))


def own_commissions(symbols: tuple[str, ...], config: EngineConfig) -> tuple[object, ...] | None:
    """Each symbol column's own commission model (None: the engine-wide rule); None when
    no symbol of `symbols` has one."""
    by_symbol = {item.symbol: item.commission for item in config.instruments}
    models = tuple(by_symbol.get(symbol) for symbol in symbols)
    return models if any(model is not None for model in models) else None


def instrument_columns(
    symbols: tuple[str, ...], config: EngineConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(lots, ticks, multipliers, margins, maintenance) by symbol column (see `RunMarket`),
    each symbol's own setting or the engine-wide one; None when no symbol of `symbols` has
    settings of its own (symbols of `config.instruments` not in the panel are ignored)."""
    by_symbol = {item.symbol: item for item in config.instruments}
    if not any(symbol in by_symbol for symbol in symbols):
        return None
    n = len(symbols)
    tick = np.nan if config.tick_size is None else config.tick_size
    lots, ticks = np.full(n, config.lot_size), np.full(n, tick)
    multipliers, margins, maintenance = np.ones(n), np.full(n, np.nan), np.full(n, np.nan)
    for column, symbol in enumerate(symbols):
        item = by_symbol.get(symbol)
        if item is None:
            continue
        for array, value in (
            (lots, item.lot_size),
            (ticks, item.tick_size),
            (multipliers, item.multiplier),
            (margins, item.margin),
            (maintenance, item.maintenance_margin),
        ):
            if value is not None:
                array[column] = value
    arrays = (lots, ticks, multipliers, margins, maintenance)
    for array in arrays:
        array.flags.writeable = False
    return arrays


# =================================================================== price limits
def to_tick(price: np.ndarray, tick: float | np.ndarray) -> np.ndarray:
    """`price` rounded half up to a multiple of `tick`, as the exchange rounds in decimal:
    `floor(q + 0.5) x tick` with `q = price / tick` first rounded to 6 decimals. The float
    product of two decimal prices can land just below a half tick (2.05 x 1.1 is
    2.2549999999999994, the exchange's 2.255 rounds up to 2.26); a millionth of a tick is
    far beyond that error and far below any real price's precision."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.floor(np.round(price / tick, 6) + 0.5) * tick


def _limits(bars: Bars, config: EngineConfig) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(limit_down, limit_up) for every bar, or (None, None) when nothing limits any bar."""
    rule = config.price_limit
    vendor_down, vendor_up = bars.down_limit, bars.up_limit
    if rule is None and vendor_down is None and vendor_up is None:
        return None, None
    if rule is None:
        shape = bars.close.shape
        down, up = np.full(shape, np.nan), np.full(shape, np.nan)
    else:
        # The previous day's close, moved to the ex-rights price by a corporate action (which
        # the exchange rounds to the tick before it sets the day's limits).
        tick = config.tick_size
        reference = reference_closes(
            bars, None if tick is None else (lambda price, column: to_tick(price, tick))
        )
        fraction: np.ndarray | float
        if rule == PRICE_LIMIT_RULES:
            fraction = cn_a_fractions(bars, reference, vendor_down, vendor_up)
        else:
            assert isinstance(rule, float)
            fraction = rule
        # The exchange's arithmetic, element by element (as IEEE scalars: an overflow is inf):
        # P x (1 + f) and P x (1 - f), each rounded half up to the tick (`to_tick`).
        with np.errstate(over="ignore", invalid="ignore"):
            up = reference * (1.0 + fraction)
            down = reference * (1.0 - fraction)
            if tick is not None:
                up = to_tick(up, tick)
                down = to_tick(down, tick)
    return _with_vendor(bars, down, up)


def _with_vendor(
    bars: Bars, down: np.ndarray, up: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The limit tables with the vendor's prices where given, read-only."""
    vendor_down, vendor_up = bars.down_limit, bars.up_limit
    # The vendor's prices are the truth where given, each side on its own; the rule fills in.
    if vendor_up is not None:
        up = np.where(np.isnan(vendor_up), up, vendor_up)
    if vendor_down is not None:
        down = np.where(np.isnan(vendor_down), down, vendor_down)
    for arr in (down, up):
        arr.flags.writeable = False
    return np.ascontiguousarray(down), np.ascontiguousarray(up)


def _own_limits(bars: Bars, config: EngineConfig) -> tuple[np.ndarray | None, np.ndarray | None]:
    """`_limits` when some symbols have their own tick or limit fraction: the same
    arithmetic, column by column with each symbol's fraction (its own, else the engine-wide
    one or the "cn_a" rule's) and tick (its own, else the engine-wide one)."""
    columns = instrument_columns(bars.symbols, config)
    assert columns is not None
    ticks = columns[1]
    by_symbol = {item.symbol: item for item in config.instruments}
    own = np.array(
        [
            np.nan
            if by_symbol.get(s) is None or by_symbol[s].price_limit is None
            else by_symbol[s].price_limit
            for s in bars.symbols
        ]
    )
    rule = config.price_limit
    has_own = ~np.isnan(own)
    if rule is None and not has_own.any():
        return _limits(bars, config)  # only ticks of their own: they round nothing

    def rounded(price: np.ndarray, column: int) -> np.ndarray:
        tick = float(ticks[column])
        return price if math.isnan(tick) else to_tick(price, tick)

    reference = reference_closes(bars, rounded)
    shape = bars.close.shape
    fraction = np.full(shape, np.nan)
    if rule == PRICE_LIMIT_RULES:
        fraction = cn_a_fractions(bars, reference, bars.down_limit, bars.up_limit, has_own)
    elif rule is not None:
        assert isinstance(rule, float)
        fraction[:] = rule
    fraction[:, has_own] = own[has_own]
    with np.errstate(over="ignore", invalid="ignore"):
        up = reference * (1.0 + fraction)
        down = reference * (1.0 - fraction)
        ticked = ~np.isnan(ticks)
        up[:, ticked] = to_tick(up[:, ticked], ticks[ticked])
        down[:, ticked] = to_tick(down[:, ticked], ticks[ticked])
    return _with_vendor(bars, down, up)


# ---------------------------------------------------------------- the A-share rule
def _day(text: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return (dt.date.fromisoformat(text) - dt.date(1970, 1, 1)).days


#: ChiNext's registration reform: +-20 % (ST too) and 5 free days for new listings.
CHINEXT_REFORM = _day("2020-08-24")
#: The main boards' registration reform: 5 free days for listings from this date.
MAIN_BOARD_REFORM = _day("2023-04-10")
#: The Shanghai and Shenzhen exchanges' 2025 change: main-board ST stocks +-10 % (was 5 %).
MAIN_BOARD_ST_CHANGE = _day("2025-07-07")

MAIN, CHINEXT, STAR, BEIJING = "main board", "ChiNext", "STAR Market", "Beijing"
_CODE = re.compile(
    r"^(?:(?:SH|SZ|BJ)(\d{6})|(\d{6})(?:\.(?:SH|SZ|BJ|SS|XSHG|XSHE|BSE))?)$", re.IGNORECASE
)


def board(symbol: str) -> str | None:
    """The A-share board of a symbol code ("600000", "600000.SH", "sh600000", "000001.XSHE",
    "430047.BJ"; case-insensitive), or None for a code the rule does not know."""
    match = _CODE.match(symbol.strip())
    if match is None:
        return None
    code = match.group(1) or match.group(2)
    head = code[:3]
    if head in ("600", "601", "603", "605", "000", "001", "002", "003"):
        return MAIN
    if head in ("300", "301", "302"):
        return CHINEXT
    if head in ("688", "689"):
        return STAR
    if code[0] in "48" or head == "920":
        return BEIJING
    return None


def _board_fraction(name: str, days: np.ndarray, st: np.ndarray) -> np.ndarray:
    """The limit fraction of a board on each day, for ST rows (`st`) and the others."""
    if name == MAIN:
        st_fraction = np.where(days < MAIN_BOARD_ST_CHANGE, 0.05, 0.10)
        return np.where(st, st_fraction, 0.10)
    if name == CHINEXT:
        before = np.where(st, 0.05, 0.10)
        return np.where(days < CHINEXT_REFORM, before, 0.20)
    if name == STAR:
        return np.full(days.shape, 0.20)
    return np.full(days.shape, 0.30)


def _free_days(name: str, listed_day: int) -> int:
    """How many trading days from its listing a new stock trades without a limit."""
    if name == STAR:
        return 5
    if name == CHINEXT:
        return 5 if listed_day >= CHINEXT_REFORM else 1
    if name == MAIN:
        return 5 if listed_day >= MAIN_BOARD_REFORM else 1
    return 1


def cn_a_fractions(
    bars: Bars,
    reference: np.ndarray,
    vendor_down: np.ndarray | None,
    vendor_up: np.ndarray | None,
    skip: np.ndarray | None = None,
) -> np.ndarray:
    """(T, N) limit fractions of the A-share rule; NaN where a bar has no limit (a listing
    window) and in the columns `skip` marks (symbols with a limit of their own). A symbol
    whose code the rule does not know is a ConfigError at the first bar that needs the rule
    (a bar with a reference close and a side the vendor leaves open)."""
    n_bars, n_symbols = bars.close.shape
    days = bars.timestamps // NS_PER_DAY
    st = bars.st if bars.st is not None else np.zeros((n_bars, n_symbols), dtype=bool)
    fraction = np.full((n_bars, n_symbols), np.nan)
    present = ~np.isnan(bars.close)
    for n, symbol in enumerate(bars.symbols):
        if skip is not None and skip[n]:
            continue
        name = board(symbol)
        if name is None:
            needed = present[:, n] & ~np.isnan(reference[:, n])
            if vendor_down is not None and vendor_up is not None:
                needed &= np.isnan(vendor_down[:, n]) | np.isnan(vendor_up[:, n])
            if needed.any():
                t = int(np.argmax(needed))
                raise ConfigError(
                    f"price_limit: 'cn_a' does not know the symbol {symbol!r} (bar {t}, "
                    f"{str(np.datetime64(int(bars.timestamps[t]), 'ns'))}): the A-share rule "
                    "reads the board from a 6-digit code (600000, 000001.SZ, sh688001, "
                    "300750.XSHE, 430047.BJ); set a numeric price_limit (e.g. 0.1), give "
                    "the symbol its own (instruments={symbol: {'price_limit': 0.1}}), or give "
                    "the vendor's limit prices with bars.with_market(up_limit=..., "
                    "down_limit=...)"
                )
            continue
        fraction[:, n] = _board_fraction(name, days, st[:, n])
        listed = NO_DATE if bars.listing_dates is None else int(bars.listing_dates[n])
        if listed == NO_DATE:
            continue
        seen = np.flatnonzero(present[:, n])
        if seen.size and int(bars.timestamps[seen[0]]) // NS_PER_DAY < listed // NS_PER_DAY:
            t = int(seen[0])
            raise DataError(
                f"listing_dates: {symbol!r} is listed on "
                f"{str(np.datetime64(listed, 'ns'))[:10]}, after its first bar (bar {t}, "
                f"{str(np.datetime64(int(bars.timestamps[t]), 'ns'))})"
            )
        # No limit on the first K trading days with a bar, from the listing date on. A
        # listing before the panel's first row cannot be counted (those days are not in the
        # data): its window is taken as past, rather than restarted at the panel's start.
        listed_day = listed // NS_PER_DAY
        if listed_day < days[0]:
            continue
        trading = np.unique(days[seen][days[seen] >= listed_day])
        free = trading[: _free_days(name, listed_day)]
        fraction[np.isin(days, free), n] = np.nan
    return fraction


# =================================================================== cost schedules
def _rate_table(bars: Bars, config: EngineConfig) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(rate_rows, rates), or (None, None) when every cost setting is a number.

    A schedule's value holds from the new-day step of the first row whose trading day is on
    or after its date. The table has a row for the first bar and for each row where any
    setting changes; a run whose first bar is before a schedule's first date is refused.
    """
    schedules = [getattr(config, name) for name in SCHEDULED]
    if not any(isinstance(s, tuple) for s in schedules):
        return None, None
    days = bars.timestamps // NS_PER_DAY
    changes = {0}
    for schedule in schedules:
        if isinstance(schedule, tuple):
            for day, _ in schedule_days(schedule):
                row = int(np.searchsorted(days, day, side="left"))
                if row < len(days):
                    changes.add(row)
    rows = np.array(sorted(changes), dtype=np.int64)
    rates = np.array(
        [[config.rate_on_day(name, int(days[r])) for name in SCHEDULED] for r in rows.tolist()],
        dtype=np.float64,
    )
    rows.flags.writeable = False
    rates.flags.writeable = False
    return rows, rates
