"""Hypothesis strategies for quanta: random backtest scenarios, and the strategy that plays them.

A *scenario* is ``(bars, settings, script)``:

* ``bars``: a random `Bars` panel (1-5 symbols, 1-300 bars; random walks with gaps, missing
  bars, exact +-10 % limit moves, zero-volume bars; daily or intraday timestamps). It is built
  by `make_bars` from a small, pure-data spec (``bar_specs()``), so another test can rebuild
  the very same panel.
* ``settings``: keyword arguments for ``Engine(backend=..., **settings)``; always valid.
* ``script``: pure data (dicts, lists, str, int, float) saying what the strategy does and
  when; `ScriptedStrategy` plays it through the `Context` API only, so the same script drives
  either backend (the Rust-vs-Python differential test reuses it). Every call it makes is a
  valid call: it never raises `OrderError`.

Everything is a deterministic function of the hypothesis draw: bulk numbers (prices,
volumes) come from a numpy generator seeded by a drawn integer; structure (sizes,
probabilities, the order script) is drawn directly, so it shrinks well.

Importing this module registers the hypothesis profiles ``ci`` (150 examples, the default)
and ``deep`` (10_000 examples) and loads the one named by ``QUANTA_HYPOTHESIS_PROFILE``.
Tests that use them should not set ``max_examples`` themselves.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

from quanta_ref import (
    Bars,
    FixedBps,
    PerShare,
    PerValue,
    RangeFraction,
    SquareRootImpact,
    Strategy,
    Tiered,
)
from quanta_ref.actions import NS_PER_DAY, CorporateActions, schedule
from quanta_ref.config import EngineConfig
from quanta_ref.errors import DataError
from quanta_ref.orders import OrderStatus, OrderType, Side, TimeInForce

# ---------------------------------------------------------------------- profiles
_SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=_SUPPRESS)
settings.register_profile(
    "deep", max_examples=10_000, deadline=None, suppress_health_check=_SUPPRESS
)
PROFILE = os.environ.get("QUANTA_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

NS_MINUTE = 60 * 10**9
NS_DAY = 86_400 * 10**9
#: Start dates (int64 ns): a Monday in 2024, days around the epoch (negative timestamps, where
#: the trading day must be floor(ts / day), not truncation), and a leap day.
#: The A-share preset on data that is not A-share codes or not after 1991: a flat 10 % limit
#: and today's stamp duty instead of the rules by board and by date.
CN_A_ON_OTHER_DATA: dict[str, Any] = {
    "market": "cn_a",
    "price_limit": 0.1,
    "sell_tax_rate": 0.0005,
    "buy_tax_rate": 0.0,
    "transfer_fee_rate": 0.0,
}

STARTS = tuple(
    int(np.datetime64(d, "ns").astype(np.int64)) for d in ("2024-01-01", "1969-12-29", "2000-02-28")
)
SYMBOLS = ("S0", "S1", "S2", "S3", "S4")


# ---------------------------------------------------------------------- odd values
#: Odd values for the bad-input tests, picked directly (hypothesis rarely reaches a few
#: special values inside a wide one_of, so they get a branch of their own): numbers at the
#: edges of int64 and float64, setting and order words in odd spellings, containers, numpy
#: scalars and arrays, enum members.
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    10**400,
    -(10**400),
    2**63,
    -(2**63) - 1,
    2**64,
    2**1024,
    math.nan,
    math.inf,
    -math.inf,
    -1.0,
    0.0,
    -0.0,
    5e-324,
    1e-300,
    1e308,
    -1e308,
    "",
    " ",
    "T+1",
    "t+1",
    "T+2",
    "close",
    "CLOSE",
    "next_open",
    "cn_a",
    "CN_A",
    "us",
    "nan",
    "inf",
    "1e6",
    "python",
    "buy",
    "sell",
    "market",
    "gtc",
    "day",
    "limit",
    "stop_limit",
    "X",
    "S0",
    "\x00",
    b"",
    b"buy",
    [],
    [1.0],
    (),
    ("S0",),
    {},
    {"S0": 1},
    frozenset(),
    1 + 2j,
    complex(math.nan, 0),
    np.bool_(True),
    np.float32(2.5),
    np.float32("nan"),
    np.float64(math.nan),
    np.float64(-3.0),
    np.int64(-5),
    np.int64(2**63 - 1),
    np.uint8(7),
    np.uint64(2**64 - 1),
    np.array([1.0]),
    np.array(3.0),
    np.array([]),
    object(),
    float,
    Side.BUY,
    OrderType.LIMIT,
    TimeInForce.DAY,
    OrderStatus.FILLED,
    Ellipsis,
]


# ---------------------------------------------------------------------- bars
@st.composite
def bar_specs(draw: Any, max_symbols: int = 5, max_bars: int = 300) -> dict[str, Any]:
    """A pure-data description of a random panel; `make_bars` turns it into `Bars`."""
    n_symbols = draw(st.integers(1, max_symbols))
    n_bars = draw(st.integers(1, max_bars))
    intraday = draw(st.booleans())
    return {
        "n_symbols": n_symbols,
        "n_bars": n_bars,
        "seed": draw(st.integers(0, 2**32 - 1)),
        "start": draw(st.sampled_from(STARTS)),
        "intraday": intraday,
        # daily bars: midnight or a 15:00 label; weekends skipped or not; holidays
        "time_of_day": draw(st.sampled_from([0, 15 * 60])),
        "skip_weekends": draw(st.booleans()),
        "p_holiday": draw(st.sampled_from([0.0, 0.05, 0.3])),
        # intraday: bars per day, minutes between bars, minutes into the first day
        "bars_per_day": draw(st.integers(2, 8)),
        "step_minutes": draw(st.sampled_from([1, 5, 30, 60])),
        "first_offset": draw(st.integers(0, 7)),
        # bars
        "sigma": draw(st.sampled_from([0.0, 0.005, 0.02, 0.06])),
        "p_missing": draw(st.sampled_from([0.0, 0.0, 0.05, 0.3])),
        "missing_prefix": draw(
            st.lists(st.sampled_from([0, 0, 1, 3, 20]), min_size=n_symbols, max_size=n_symbols)
        ),
        "missing_suffix": draw(
            st.lists(st.sampled_from([0, 0, 0, 2]), min_size=n_symbols, max_size=n_symbols)
        ),
        "p_limit": draw(st.sampled_from([0.0, 0.05, 0.2, 0.5])),
        "p_gap": draw(st.sampled_from([0.0, 0.05, 0.2])),
        "p_zero_volume": draw(st.sampled_from([0.0, 0.1, 0.5])),
        "small_volume": draw(st.booleans()),
        "tick_prices": draw(st.booleans()),  # prices on a 0.01 grid, like exchange data
        "start_prices": draw(
            st.lists(
                st.sampled_from([1.0, 1.0, 2.37, 9.99, 10.0, 33.3, 150.0]),
                min_size=n_symbols,
                max_size=n_symbols,
            )
        ),
    }


def _to_tick(x: float) -> float:
    """x on the 0.01 grid, halves up, exactly as the engine rounds limit prices."""
    return math.floor(x / 0.01 + 0.5) * 0.01


def _timestamps(spec: dict[str, Any], rng: np.random.Generator) -> np.ndarray:
    n_bars = spec["n_bars"]
    out = np.empty(n_bars, dtype=np.int64)
    day = spec["start"] // NS_DAY
    if spec["intraday"]:
        per_day, step = spec["bars_per_day"], spec["step_minutes"]
        j = min(spec["first_offset"], per_day - 1)
        for t in range(n_bars):
            out[t] = day * NS_DAY + (9 * 60 + 30 + j * step) * NS_MINUTE
            j += 1
            if j == per_day:
                j = 0
                day += 1 + int(rng.random() < spec["p_holiday"])
        return out
    for t in range(n_bars):
        if spec["skip_weekends"]:
            while (day + 3) % 7 >= 5:  # 1970-01-01 was a Thursday: (day + 3) % 7 = weekday
                day += 1
        out[t] = day * NS_DAY + spec["time_of_day"] * NS_MINUTE
        day += 1 + int(rng.random() < spec["p_holiday"])
    return out


def make_bars(spec: dict[str, Any]) -> Bars:
    """The panel a `bar_specs()` spec describes (deterministic)."""
    rng = np.random.default_rng(spec["seed"])
    n_bars, n_symbols = spec["n_bars"], spec["n_symbols"]
    ts = _timestamps(spec, rng)
    days = ts // NS_DAY
    o, h, lo, c = (np.full((n_bars, n_symbols), np.nan) for _ in range(4))
    v = np.zeros((n_bars, n_symbols))
    sigma = spec["sigma"]
    for n in range(n_symbols):
        prev: float | None = None  # this symbol's last close
        day_ref: float | None = None  # its last close on an earlier day
        day: int | None = None
        price0 = spec["start_prices"][n]
        for t in range(n_bars):
            u = rng.random(8)  # a fixed count per bar keeps the stream aligned
            z = rng.standard_normal(4)
            if days[t] != day:
                day, day_ref = int(days[t]), prev
            if (
                t < spec["missing_prefix"][n]
                or t >= n_bars - spec["missing_suffix"][n]
                or u[0] < spec["p_missing"]
            ):
                continue
            base = price0 if prev is None else prev
            ref = day_ref if day_ref is not None else prev
            if ref is not None and u[1] < spec["p_limit"]:
                up = u[2] < 0.5
                target = ref * (1.1 if up else 0.9)
                if spec["tick_prices"]:
                    target = _to_tick(target)
                if u[3] < 0.5:  # one price all bar long, at the limit
                    op = hi = low = cl = target
                else:  # moves to the limit and closes there
                    op = base * math.exp(sigma * z[0] * 0.5)
                    op = min(op, target) if up else max(op, target)
                    cl = target
                    hi = max(op, cl) * (1.0 if up else 1.0 + abs(sigma * z[1]))
                    low = min(op, cl) * (1.0 - abs(sigma * z[2]) if up else 1.0)
            else:
                op = base
                if u[4] < spec["p_gap"]:
                    op = base * (1.0 + (0.03 + 0.27 * u[5]) * (1 if u[6] < 0.5 else -1))
                elif prev is not None:
                    op = base * math.exp(sigma * z[0] * 0.5)
                cl = op * math.exp(sigma * z[1])
                if cl < 0.5 or cl > 5000.0:  # keep prices in a sane range
                    cl = op
                hi = max(op, cl) * (1.0 + abs(sigma * z[2]) * 0.5)
                low = min(op, cl) * (1.0 - abs(sigma * z[3]) * 0.5)
            if spec["tick_prices"]:
                op, hi, low, cl = (max(_to_tick(x), 0.01) for x in (op, hi, low, cl))
            hi, low = max(hi, op, cl), min(low, op, cl)
            o[t, n], h[t, n], lo[t, n], c[t, n] = op, hi, low, cl
            if u[7] >= spec["p_zero_volume"]:
                scale = 5_000.0 if spec["small_volume"] else 5_000_000.0
                v[t, n] = float(math.floor(1.0 + scale * u[7]))
            prev = cl
    return Bars.from_arrays(ts, o, h, lo, c, v, symbols=list(SYMBOLS[:n_symbols]))


def describe_bars(bars: Bars) -> str:
    """Every bar as text, for reporting a failing example."""
    lines = [repr(bars)]
    for t in range(bars.n_bars):
        cells = []
        for n, s in enumerate(bars.symbols):
            if np.isnan(bars.close[t, n]):
                cells.append(f"{s}: missing")
            else:
                o, h, lo, c, v = (
                    float(getattr(bars, f)[t, n])
                    for f in ("open", "high", "low", "close", "volume")
                )
                cells.append(f"{s}: o={o!r} h={h!r} l={lo!r} c={c!r} v={v!r}")
        ts = np.datetime64(int(bars.timestamps[t]), "ns")
        lines.append(f"  [{t}] {ts} ({int(bars.timestamps[t])}) " + "; ".join(cells))
    return "\n".join(lines)


@st.composite
def with_actions(draw: Any, bars: Bars) -> Bars:
    """`bars`, half the time with 1-6 random corporate actions: ex-dates on and around the
    panel's trading days (holidays, before the first row, after the last), cash dividends,
    bonus shares, splits and reverse splits."""
    if not draw(st.booleans()):
        return bars
    days = np.unique(bars.timestamps // NS_PER_DAY).tolist()
    action = st.tuples(
        st.sampled_from(bars.symbols),
        st.sampled_from(days),
        st.sampled_from([0, 0, 0, 1, -1, 2, -3]),  # days from a trading day
        st.sampled_from([0.0, 0.0, 0.01, 0.1, 0.5, 1.0]),  # x half the lowest close
        st.sampled_from([0.0, 0.0, 0.3, 1.0, 0.1, -0.5, -0.9]),
    )
    rows = draw(st.lists(action, min_size=1, max_size=6, unique_by=lambda a: (a[0], a[1] + a[2])))
    symbols = [r[0] for r in rows]
    dates = np.array([(r[1] + r[2]) * NS_PER_DAY for r in rows], dtype=np.int64)
    # A dividend is drawn as a fraction of its symbol's lowest close: quanta refuses one that
    # is not below the close it is paid out of (an ex-rights price <= 0).
    lowest = {s: float(np.fmin.reduce(bars.close[:, n])) for n, s in enumerate(bars.symbols)}
    cash = [r[3] * (lowest[r[0]] if lowest[r[0]] > 0.0 else 1.0) / 2.0 for r in rows]
    table = CorporateActions(symbols, dates.astype("datetime64[ns]"), cash, [r[4] for r in rows])
    panel = bars.with_market(actions=table)
    try:
        schedule(panel)
    except DataError:  # several actions in a row ate the whole price: not this example
        assume(False)
    return panel


def describe_actions(bars: Bars) -> str:
    """The corporate actions of `bars` in a falsifying example's notes."""
    table = bars.actions
    if table is None:
        return "no corporate actions"
    return "actions: " + ", ".join(
        f"{s} {np.datetime64(int(d), 'ns').astype('datetime64[D]')} cash={c} shares={k}"
        for s, d, c, k in zip(table.symbol, table.ex_date, table.cash, table.shares, strict=True)
    )


# ---------------------------------------------------------------------- settings
@st.composite
def engine_settings(draw: Any) -> dict[str, Any]:
    """Valid keyword arguments for `Engine` (everything but `backend`)."""
    s: dict[str, Any] = {}
    cn_a = draw(st.sampled_from([False, False, False, True]))
    if cn_a:
        s["market"] = "cn_a"
        # The panels' symbols ("X", "S0", ...) are no A-share codes, and their dates may be
        # before the cn_a cost schedules begin (1991): a fixed limit and fixed costs.
        s["price_limit"] = 0.1
        s["sell_tax_rate"] = 0.0005
        s["buy_tax_rate"] = 0.0
        s["transfer_fee_rate"] = 0.0
    s["initial_cash"] = draw(st.sampled_from([100.0, 1_000.0, 10_000.0, 100_000.0, 1_000_000.0]))
    s["fill_at"] = draw(st.sampled_from(["next_open", "close"]))
    allow_short = draw(st.booleans())
    if not cn_a or draw(st.booleans()):
        s["commission_rate"] = draw(st.sampled_from([0.0, 0.0003, 0.001, 0.01]))
        s["min_commission"] = draw(st.sampled_from([0.0, 0.0, 1.0, 5.0, 5.0]))
        s["sell_tax_rate"] = draw(st.sampled_from([0.0, 0.0005, 0.001]))
        s["slippage_bps"] = draw(st.sampled_from([0.0, 1.0, 5.0, 50.0]))
        fractional = draw(st.sampled_from([False, False, False, True]))
        if fractional:
            s["fractional"] = True
            s["lot_size"] = draw(st.sampled_from([1.0, 10.0, 100.0, 0.01, 0.001]))
        else:
            s["lot_size"] = draw(st.sampled_from([1, 10, 100]))
        limit = draw(st.sampled_from([None, None, 0.1, 0.05, 0.2]))
        s["price_limit"] = limit
        s["tick_size"] = None if limit is None else draw(st.sampled_from([None, 0.01]))
    if allow_short:
        s["allow_short"] = True
        s["settlement"] = "T+0"  # T+1 is for cash accounts only
        s["max_leverage"] = draw(st.sampled_from([None, 1.0, 2.0, 4.0]))
    elif not cn_a or draw(st.booleans()):
        s["settlement"] = draw(st.sampled_from(["T+0", "T+1", "T+1"]))
    s["max_volume_fraction"] = draw(st.sampled_from([None, None, 0.01, 0.1, 1.0]))
    s["dividend_tax_rate"] = draw(st.sampled_from([0.0, 0.0, 0.1, 0.2]))
    for key, choices in (
        ("max_position_quantity", [100.0, 5_000.0]),
        ("max_position_weight", [0.2, 0.6, 1.0]),
        ("max_order_value", [5_000.0, 100_000.0]),
        ("max_drawdown_stop", [0.02, 0.1]),
    ):
        value = draw(st.sampled_from([None] * 6 + choices))
        if value is not None:
            s[key] = value
    # Cost models (docs/semantics.md section 23), in place of the settings they replace.
    commission = draw(st.sampled_from([None] * 5 + COMMISSION_MODELS))
    if commission is not None:
        s.pop("commission_rate", None)
        s.pop("min_commission", None)
        s["commission"] = commission
    slippage = draw(st.sampled_from([None] * 5 + SLIPPAGE_MODELS))
    if slippage is not None:
        s.pop("slippage_bps", None)
        s["slippage"] = slippage
    if draw(st.sampled_from([False, False, True])):
        s["instruments"] = draw(instruments(s))
    return s


@st.composite
def instruments(draw: Any, s: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-symbol settings valid with the engine settings `s`: lot sizes, multipliers,
    margins (margin accounts), limits, ticks and commission models (the named ones); a symbol
    not in the panel now and then."""
    table: dict[str, dict[str, Any]] = {}
    names = st.lists(st.sampled_from([*SYMBOLS, "X", "absent"]), unique=True, max_size=3)
    for symbol in draw(names):
        item: dict[str, Any] = {}
        if draw(st.booleans()):
            lots = [1.0, 0.01, 100.0] if s.get("fractional") else [1, 100, 10]
            item["lot_size"] = draw(st.sampled_from(lots))
        if draw(st.booleans()):
            item["multiplier"] = draw(st.sampled_from([1.0, 10.0, 300.0, 0.5, None]))
        if s.get("allow_short") and draw(st.booleans()):
            margin = draw(st.sampled_from([0.12, 0.5, 1.0, 0.05]))
            item["margin"] = margin
            if draw(st.booleans()):
                item["maintenance_margin"] = margin * draw(st.sampled_from([0.5, 0.8, 1.0]))
        if draw(st.sampled_from([False, False, True])):
            item["price_limit"] = draw(st.sampled_from([0.05, 0.2, 0.1]))
        if (item.get("price_limit") or s.get("price_limit")) and draw(st.booleans()):
            item["tick_size"] = draw(st.sampled_from([0.01, 0.001, 0.05]))
        if draw(st.sampled_from([False, False, True])):
            named = [model for model in COMMISSION_MODELS if not callable(model)]
            item["commission"] = draw(st.sampled_from(named))
        table[symbol] = item
    return table


def per_share_commission(symbol: str, side: str, quantity: float, price: float) -> float:
    """`PerShare(0.005, 1.0, 0.01)` as a callable (module level: snapshots pickle it)."""
    commission = quantity * 0.005
    commission = commission if commission > 1.0 else 1.0
    cap = quantity * price * 0.01
    return commission if commission < cap else cap


def impact_slippage(bar: Any, side: str, quantity: float, price: float) -> float:
    """`SquareRootImpact(0.1)` as a callable."""
    # No volume: a finite fraction large enough to reach the bar's edge, as inf does.
    return 0.1 * math.sqrt(quantity / bar.volume) if bar.volume > 0.0 else 1e300


COMMISSION_MODELS: list[Any] = [
    PerValue(0.001, 1.0),
    PerShare(0.005, 1.0, 0.01),
    PerShare(0.02, 5.0),
    PerShare(0.001),
    Tiered([(0.0, 0.003), (1_000.0, 0.001), (50_000.0, 0.0002)], 1.0),
    Tiered([(0.0, 0.01), (100.0, 0.0)]),
    per_share_commission,
]
SLIPPAGE_MODELS: list[Any] = [
    FixedBps(5.0),
    RangeFraction(0.1),
    RangeFraction(1.0),
    SquareRootImpact(0.1),
    SquareRootImpact(2.0),
    impact_slippage,
]


# ---------------------------------------------------------------------- scripts
_GO_ON = st.sampled_from([False] + [True] * 31)
# The times in force of section 5 twice as often as those of section 21 together.
_TIF = st.sampled_from(["gtc", "day", "GTC", "Day"] * 2 + ["ioc", "FOK", "gtd", "GTD"])
# A GTD order's expire_at: nanoseconds after the current bar, or its day (+d) as a date.
_EXPIRE = st.one_of(
    st.fixed_dictionaries(
        {"mode": st.just("ns"), "k": st.sampled_from([0, 1, 60 * NS_MINUTE, NS_DAY, 3 * NS_DAY])}
    ),
    st.fixed_dictionaries({"mode": st.just("date"), "d": st.integers(0, 3), "text": st.booleans()}),
)
# A trailing stop's distance: an amount (a fraction of the last close, so a sell stop
# starts above 0) or a percent.
_TRAIL = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.just("trail_amount"),
            "f": st.one_of(
                st.sampled_from([0.01, 0.05, 0.1, 0.5]), st.floats(0.001, 0.9, allow_nan=False)
            ),
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("trail_percent"),
            "f": st.one_of(
                st.sampled_from([0.01, 0.05, 0.1, 0.3, 0.999]),
                st.floats(0.001, 0.9, allow_nan=False),
            ),
        }
    ),
)
_OFFSET = st.one_of(
    st.sampled_from([0.0, 0.1, -0.1, 0.05, -0.05, 0.0999, -0.0999, 0.2]),
    st.floats(-0.15, 0.15, allow_nan=False),
)
_QUANTITY = st.one_of(
    st.fixed_dictionaries({"mode": st.just("lots"), "n": st.integers(1, 20)}),
    st.fixed_dictionaries({"mode": st.just("odd"), "n": st.integers(1, 250)}),
    st.fixed_dictionaries({"mode": st.just("odd"), "n": st.integers(1, 3)}),
    st.fixed_dictionaries({"mode": st.just("frac"), "x": st.floats(0.001, 500.0, allow_nan=False)}),
    st.fixed_dictionaries({"mode": st.just("huge"), "n": st.integers(10**5, 10**9)}),
    st.fixed_dictionaries({"mode": st.just("held"), "f": st.sampled_from([1.0, 0.5, 1.5, 3.0])}),
    st.fixed_dictionaries({"mode": st.just("part"), "n": st.integers(1, 5)}),
    st.fixed_dictionaries(
        {"mode": st.just("cash"), "f": st.sampled_from([0.1, 0.5, 0.99, 1.0, 2.0])}
    ),
)


def actions(n_symbols: int) -> st.SearchStrategy[dict[str, Any]]:
    """One scripted call (see `ScriptedStrategy._act`)."""
    # Symbol 0 half the time: orders meet (buy, then sell the same shares) more often.
    symbol = st.sampled_from([0, 0, 0, 0, *range(n_symbols)]) if n_symbols > 1 else st.just(0)
    submit = st.fixed_dictionaries(
        {
            "op": st.just("submit"),
            "sym": symbol,
            "side": st.sampled_from(["buy", "sell", "BUY", "Sell"]),
            "type": st.sampled_from(
                ["market", "limit", "stop", "stop_limit", "LIMIT", "Market", "trailing_stop"]
            ),
            "tif": _TIF,
            "expire": _EXPIRE,
            "trail": _TRAIL,
            "qty": _QUANTITY,
            "limit_off": _OFFSET,
            "stop_off": _OFFSET,
            "round": st.booleans(),
        }
    )
    cancel = st.fixed_dictionaries(
        {"op": st.just("cancel"), "pick": st.floats(0.0, 1.0, exclude_max=True)}
    )
    target_qty = st.fixed_dictionaries(
        {
            "op": st.just("target_qty"),
            "sym": symbol,
            "lots": st.integers(-10, 30),
            "odd": st.sampled_from([0.0, 0.0, 1.0, 0.5]),
            "tif": _TIF,
            "expire": _EXPIRE,
        }
    )
    target_pct = st.fixed_dictionaries(
        {
            "op": st.just("target_pct"),
            "sym": symbol,
            "w": st.one_of(
                st.sampled_from([0.0, 1.0, 0.5, -0.5, 1.5, 0.25]),
                st.floats(-0.5, 1.5, allow_nan=False),
            ),
            "tif": _TIF,
            "expire": _EXPIRE,
        }
    )
    level = st.one_of(st.none(), st.sampled_from([0.01, 0.05, 0.1]), st.floats(0.005, 0.2))
    bracket = st.fixed_dictionaries(
        {
            "op": st.just("bracket"),
            "sym": symbol,
            "side": st.sampled_from(["buy", "sell", "SELL"]),
            "type": st.sampled_from(["market", "limit", "stop", "stop_limit"]),
            "tif": _TIF,
            "expire": _EXPIRE,
            "qty": _QUANTITY,
            "limit_off": _OFFSET,
            "stop_off": _OFFSET,
            "round": st.booleans(),
            "loss": level,  # the stop-loss's distance from the reference price, or None
            "profit": level,
        }
    )
    oco = st.fixed_dictionaries(
        {
            "op": st.just("oco"),
            "k": st.sampled_from([2, 2, 3]),
            "pick": st.floats(0.0, 1.0, exclude_max=True),
        }
    )
    return st.one_of(submit, submit, cancel, target_qty, target_pct, bracket, oco)


@st.composite
def scripts(draw: Any, n_bars: int, n_symbols: int) -> dict[str, Any]:
    """What to do in on_start, at bars, on the k-th fill and in on_end."""
    act = actions(n_symbols)
    bar_actions: dict[int, list[dict[str, Any]]] = {}
    # A loop with a drawn "go on" flag (1 in 32 stops it) instead of st.lists: long scripts
    # by default, and the shrinker can cut the loop short or drop any one action.
    for _ in range(80):
        if not draw(_GO_ON):
            break
        bar_actions.setdefault(draw(st.integers(0, n_bars - 1)), []).append(draw(act))
    fill_actions: dict[int, list[dict[str, Any]]] = {}
    for _ in range(10):
        if not draw(st.sampled_from([False, True, True, True])):
            break
        fill_actions.setdefault(draw(st.integers(0, 30)), []).append(draw(act))
    return {
        "start": draw(st.lists(act, max_size=3)),
        "bars": bar_actions,
        "fills": fill_actions,
        "end": draw(st.lists(act, max_size=2)),
    }


@st.composite
def scenarios(
    draw: Any, max_symbols: int = 5, max_bars: int = 300, corporate_actions: bool = False
) -> tuple[Bars, dict[str, Any], dict[str, Any]]:
    """(bars, engine settings, script) for one random backtest; with `corporate_actions`,
    half of the panels carry random corporate actions (`with_actions`). (Without: the
    invariants of tests/test_properties.py hold for trading alone, a bonus adds shares no
    fill bought.)

    One scenario in four is a *tight account*: cheap symbols, a small cash account, a
    minimum commission and single-share lots, where costs are large against trades and the
    cash runs down to near 0 (the edge of every cash check).
    """
    spec = draw(bar_specs(max_symbols, max_bars))
    engine = draw(engine_settings())
    if draw(st.sampled_from([False, False, False, True])):
        spec["start_prices"] = draw(
            st.lists(
                st.sampled_from([1.0, 2.37, 4.5]),
                min_size=spec["n_symbols"],
                max_size=spec["n_symbols"],
            )
        )
        engine = {
            k: v for k, v in engine.items() if k not in ("market", "fractional", "commission")
        }
        engine.update(
            initial_cash=draw(st.sampled_from([20.0, 100.0])),
            lot_size=1,
            min_commission=draw(st.sampled_from([1.0, 5.0])),
            commission_rate=draw(st.sampled_from([0.0, 0.001])),
            allow_short=False,
            settlement=draw(st.sampled_from(["T+0", "T+1"])),
        )
        engine.pop("max_leverage", None)
        if "instruments" in engine:
            engine["instruments"] = draw(instruments(engine))
    bars = make_bars(spec)
    if corporate_actions:
        bars = draw(with_actions(bars))
    if not (bars.volume > 0.0).any():
        engine.pop("max_volume_fraction", None)  # a ConfigError at run: nothing could fill
    return bars, engine, draw(scripts(spec["n_bars"], spec["n_symbols"]))


# ---------------------------------------------------------------------- the player
class ScriptedStrategy(Strategy):
    """Plays a `scripts()` script through the `Context` API.

    Bar actions run in the first `on_bar` call of their bar (whichever symbol is present
    first; a bar with no symbol present runs nothing). Fill actions run in `on_fill` of the
    k-th fill (counting from 0). Records the order ids it got (`ids`) and which of them were
    submitted in `on_start` (`start_ids`).
    """

    def __init__(
        self, script: dict[str, Any], lot_size: float = 1.0, fractional: bool = False
    ) -> None:
        super().__init__()
        self.script = script
        self.lot = float(lot_size)
        self.fractional = fractional
        self.ids: list[int] = []
        self.start_ids: set[int] = set()
        self.n_fills = 0
        self._last_bar = -1

    @classmethod
    def for_settings(cls, script: dict[str, Any], settings: dict[str, Any]) -> ScriptedStrategy:
        cfg = EngineConfig.build(**settings)
        return cls(script, cfg.lot_size, cfg.fractional)

    # -- callbacks
    def on_start(self, ctx: Any) -> None:
        self._play(ctx, self.script["start"])
        self.start_ids = set(self.ids)

    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == self._last_bar:
            return
        self._last_bar = ctx.bar_index
        self._play(ctx, self.script["bars"].get(ctx.bar_index, ()))

    def on_fill(self, ctx: Any, fill: Any) -> None:
        k = self.n_fills
        self.n_fills += 1
        self._play(ctx, self.script["fills"].get(k, ()))

    def on_end(self, ctx: Any) -> None:
        self._play(ctx, self.script["end"])

    # -- actions
    def _play(self, ctx: Any, todo: Any) -> None:
        for action in todo:
            result = self._act(ctx, action)
            if isinstance(result, int) and not isinstance(result, bool):
                self.ids.append(result)

    @staticmethod
    def _reference(ctx: Any, symbol: str) -> float:
        """The symbol's latest close so far, or 10.0 before its first bar."""
        if ctx.bar_index < 0:
            return 10.0
        closes = ctx.history(symbol, "close")
        closes = closes[~np.isnan(closes)]
        return float(closes[-1]) if len(closes) else 10.0

    def _quantity(self, ctx: Any, symbol: str, spec: dict[str, Any]) -> float:
        lot, mode = self.lot, spec["mode"]
        if mode == "lots":
            q = spec["n"] * lot
        elif mode in ("odd", "huge"):
            q = float(spec["n"])
        elif mode == "frac":
            q = float(spec["x"])
        elif mode == "part":  # a few lots, at most the holding: a sell that is accepted
            q = min(spec["n"] * lot, abs(ctx.position(symbol)))
        elif mode == "held":
            held = abs(ctx.position(symbol))
            q = held * spec["f"]
            if not self.fractional:
                q = float(math.ceil(q))
        else:  # "cash": a share of the cash, in whole lots
            q = math.floor(ctx.cash * spec["f"] / self._reference(ctx, symbol) / lot) * lot
        return float(q) if q > 0.0 else lot

    def _act(self, ctx: Any, a: dict[str, Any]) -> Any:
        op = a["op"]
        if op == "cancel":
            if not self.ids:
                return None
            return ctx.cancel(self.ids[int(a["pick"] * len(self.ids))])
        if op == "oco":
            # k of the orders got so far that can join a group (live, in none), from a drawn
            # place on; fewer than two: nothing. The group id is not an order id: not kept.
            free = [
                i
                for i in dict.fromkeys(self.ids)
                if (o := ctx.get_order(i)).status.is_live and o.oco_group is None
            ]
            if len(free) < 2:
                return None
            first = int(a["pick"] * len(free))
            ctx.oco([free[(first + j) % len(free)] for j in range(min(a["k"], len(free)))])
            return None
        symbol = ctx.symbols[a["sym"]]
        tif = {"time_in_force": a["tif"], "expire_at": self._expire_at(ctx, a)}
        if op == "target_qty":
            return ctx.order_target_quantity(symbol, a["lots"] * self.lot + a["odd"], **tif)
        if op == "target_pct":
            return ctx.order_target_percent(symbol, a["w"], **tif)
        kind = a["type"].lower()
        ref = self._reference(ctx, symbol)
        trail: dict[str, float] = {}
        if kind == "trailing_stop":
            f = a["trail"]["f"]
            trail[a["trail"]["kind"]] = f if a["trail"]["kind"] == "trail_percent" else ref * f
        prices: dict[str, float | None] = {"limit_price": None, "stop_price": None}
        for field, key, used in (
            ("limit_price", "limit_off", ("limit", "stop_limit")),
            ("stop_price", "stop_off", ("stop", "stop_limit")),
        ):
            if kind in used:
                price = ref * (1.0 + a[key])
                prices[field] = max(round(price, 2), 0.01) if a["round"] else price
        if op == "bracket":
            # The stop-loss on the losing side of the reference price, the take-profit on
            # the winning side (a buy: below, above), each rounded when that keeps them apart.
            sign = 1.0 if a["side"].lower() == "buy" else -1.0
            loss = a["loss"] if a["loss"] is not None or a["profit"] is not None else 0.05
            levels: dict[str, float | None] = {"stop_loss": None, "take_profit": None}
            if loss is not None:
                levels["stop_loss"] = ref * (1.0 - sign * loss)
            if a["profit"] is not None:
                levels["take_profit"] = ref * (1.0 + sign * a["profit"])
            rounded = {k: None if v is None else max(round(v, 2), 0.01) for k, v in levels.items()}
            low, high = rounded["stop_loss"], rounded["take_profit"]
            if a["round"] and (low is None or high is None or (low - high) * sign < 0.0):
                levels = rounded
            return ctx.bracket(
                symbol,
                a["side"],
                self._quantity(ctx, symbol, a["qty"]),
                a["type"],
                **tif,
                **prices,
                **levels,
            )
        return ctx.submit_order(
            symbol,
            a["side"],
            self._quantity(ctx, symbol, a["qty"]),
            a["type"],
            **tif,
            **prices,
            **trail,
        )

    @staticmethod
    def _expire_at(ctx: Any, a: dict[str, Any]) -> Any:
        """A GTD order's expire_at (None for the other times in force): after the current bar,
        or that day (+d) as a date, datetime64 or text. Before the first bar (no `now`), a
        date far ahead."""
        if a["tif"].lower() != "gtd":
            return None
        spec, now = a["expire"], ctx.now
        if now is None:
            return "2200-01-01"
        if spec["mode"] == "ns":
            # Integers are nanoseconds, except within 1970 (section 1): there a datetime64.
            at = now + spec["k"]
            return at if not 0 <= at < 365 * NS_DAY else np.datetime64(at, "ns")
        day = np.datetime64(now, "ns").astype("datetime64[D]") + spec["d"]
        return str(day) if spec["text"] else day


# ---------------------------------------------------------------------- the A-share market
#: Codes of every board, in the spellings the A-share rule reads.
CN_CODES = (
    "600000.SH",
    "000001.SZ",
    "sh601318",
    "300750.SZ",
    "301001",
    "688981.SH",
    "689009.XSHG",
    "430047.BJ",
    "920001",
)
#: Starts a few weeks before a change of the rules: ChiNext's reform (2020-08-24), the stamp
#: duty's cut (2023-08-28), the main board's ST change (2025-07-07), the end of buy-side
#: stamp duty (2008-09-19), the transfer fee's start (2015-08-01).
CN_STARTS = tuple(
    int(np.datetime64(d, "ns").astype(np.int64))
    for d in ("2020-08-10", "2023-08-14", "2025-06-23", "2008-09-08", "2015-07-20")
)


@st.composite
def cn_a_scenarios(
    draw: Any, max_symbols: int = 4, max_bars: int = 120
) -> tuple[Bars, dict[str, Any], dict[str, Any]]:
    """(bars, engine settings, script) on the A-share market: codes across the boards, ST
    flags, listing dates, vendor limit prices, and the cn_a cost schedules or drawn ones."""
    spec = draw(bar_specs(max_symbols, max_bars))
    spec["start"] = draw(st.sampled_from(CN_STARTS))
    base = make_bars(spec)
    n_bars, n_symbols = base.close.shape
    codes = draw(
        st.lists(st.sampled_from(CN_CODES), min_size=n_symbols, max_size=n_symbols, unique=True)
    )
    rng = np.random.default_rng(spec["seed"] + 1)
    market: dict[str, Any] = {}
    p_st = draw(st.sampled_from([0.0, 0.0, 0.3, 1.0]))
    if p_st > 0.0:
        market["st"] = rng.random((n_bars, n_symbols)) < p_st
    if draw(st.booleans()):
        listed = {}
        for n, code in enumerate(codes):
            seen = np.flatnonzero(~np.isnan(base.close[:, n]))
            if seen.size and rng.random() < 0.7:
                back = int(rng.integers(0, 10)) * NS_DAY
                listed[code] = np.datetime64(int(base.timestamps[seen[0]]) - back, "ns")
        market["listing_dates"] = listed
    p_vendor = draw(st.sampled_from([0.0, 0.0, 0.2, 0.9]))
    if p_vendor > 0.0:
        close = base.close
        rows = np.arange(n_bars)[:, None]
        latest = np.maximum.accumulate(np.where(np.isnan(close), -1, rows), axis=0)
        previous = np.full(close.shape, np.nan)
        previous[1:] = np.where(
            latest[:-1] >= 0, close[np.maximum(latest[:-1], 0), np.arange(n_symbols)], np.nan
        )
        width = 0.02 + 0.3 * rng.random(close.shape)
        up = np.round(previous * (1.0 + width), 2)
        down = np.round(previous * (1.0 - width), 2)
        up[rng.random(close.shape) >= p_vendor] = np.nan
        down[rng.random(close.shape) >= p_vendor] = np.nan
        market["up_limit"], market["down_limit"] = up, np.where(down > 0.0, down, np.nan)
    fields = (getattr(base, f) for f in ("open", "high", "low", "close", "volume"))
    bars = Bars(base.timestamps, codes, *fields, **market)
    settings: dict[str, Any] = {"market": "cn_a"}
    settings["initial_cash"] = draw(st.sampled_from([10_000.0, 100_000.0, 1_000_000.0]))
    settings["fill_at"] = draw(st.sampled_from(["next_open", "close"]))
    if draw(st.booleans()):
        days = bars.timestamps.astype("datetime64[ns]").astype("datetime64[D]")
        start, later = days[0], days[n_bars // 2]
        settings["commission_rate"] = {str(start): 0.0003, str(later): 0.00025}
        settings["transfer_fee_rate"] = [(str(start - 3), 0.00002), (str(later + 1), 0.0)]
        settings["buy_tax_rate"] = draw(st.sampled_from([0.0, 0.001]))
    if draw(st.booleans()):
        settings["price_limit"] = None
        settings["tick_size"] = None
    if draw(st.booleans()):
        settings["max_volume_fraction"] = draw(st.sampled_from([0.01, 0.1]))
        if not (bars.volume > 0.0).any():
            settings.pop("max_volume_fraction")
    return bars, settings, draw(scripts(n_bars, n_symbols))
