"""An independent cross-check: random order scripts on quanta and on backtrader agree.

backtrader (1.9.78.123, pure Python) is an engine written by other people from other ideas.
Where its documented rules and quanta's coincide (docs/semantics.md, sections 3-7), the same
script over the same bars must give the same fills (bar, side, quantity, price, commission),
the same final order statuses and the same account value at every bar, on both backends.

A *script* is a list of ``(bar index, action)``: submit an order, cancel one, group orders
one-cancels-other, open a bracket. `QuantaPlayer` plays it through quanta's ``ctx``;
`BacktraderPlayer` plays it as a ``bt.Strategy`` whose ``next()`` of bar t does what
``on_bar`` of bar t does. Both engines then first match the order against bar t+1 (quanta's
``next_open``; backtrader's broker runs before the strategy in each bar). `compare` checks
the two outcomes. Bars are random walks with gaps; prices are sometimes drawn exactly on the
next bar's open, high, low or close, so that the ``<=`` / ``>=`` edges of every rule are hit.

The common ground the scripts stay on: no slippage, no lots, no partial fills (backtrader
has no participation limit unless given a filler), a margin account with cash far beyond
anything a script trades (backtrader's broker runs with ``checksubmit=False``, so nothing is
checked against cash at submission, and nothing is rejected at the fill either), no DAY
orders, percent commission (``CommInfoBase(commtype=COMM_PERC, percabs=True)``) or fixed per
share (``COMM_FIXED``). Prices are compared exactly where neither engine computes them;
commissions, cash and value within 1e-9 relative (backtrader multiplies in another order,
and books a reversal as a closing and an opening part, each with its own commission).

Where backtrader differs
------------------------
The first four are pinned by tests at the end of this file, so that the text stays true.

* **Stop-limit triggered inside the bar, limit beyond the stop** (buy: limit < stop).
  quanta never fills it in its trigger bar (section 4). backtrader fills it at the limit
  when the bar closes at or beyond the limit after moving against the open (buy: ``open >
  close`` and ``close <= limit``): the close is the bar's last price and comes after the
  trigger, so the price did cross the limit after the stop was touched. quanta's rule is the
  more pessimistic; the random scripts draw the limit at or on the near side of the stop.
* **DAY orders.** backtrader ends a DAY order at the end of the calendar day it was created
  on, before the next bar of daily data is looked at: on daily bars it never trades. quanta
  gives it the whole first trading day at which it can trade (section 5). No DAY orders.
* **Expiry and matching in one bar.** backtrader checks an order's expiry when its pass over
  the bar's orders reaches it, so an older member of a one-cancels-other group can fill (and
  cancel the expiring member) first. quanta expires GTD orders before the bar's matching
  (section 21), and the expiry cancels the group. backtrader also never expires a market
  order. The scripts draw GTD limit and stop orders outside groups.
* **Cash at submission.** backtrader's default broker (``checksubmit=True``) checks an order
  against the cash at submission, valuing it at its creation price, and an order submitted
  in a bar cannot be cancelled in that bar (it is not yet in the broker's book). quanta
  checks cash only at the fill and cancels at once. The harness turns ``checksubmit`` off.
* **Slippage.** backtrader's ``slip_perc`` leaves fills at the open alone unless
  ``slip_open=True``, and then also moves a limit order's fill at the open (up to its
  limit); quanta applies ``slippage_bps`` to market and stop fills wherever they happen and
  never to limit fills. Compared at zero only.
* **Futures.** backtrader (``stocklike=False``) takes a fixed margin per contract out of the
  cash and moves the cash by every bar's change in value; quanta books the whole notional
  (``quantity x price x multiplier``) through the cash, as for shares. The account value
  (equity) and the fills agree; the cash does not, by design. backtrader's percent
  commission ignores ``mult`` (``|size| x commission x price``); quanta's is on the value,
  multiplier included: the harness gives backtrader ``commission x mult``.
* **Brackets.** backtrader creates the stop and limit children with the entry (so they are
  older than orders placed after the bracket) and activates them at the bar after the entry
  fills; quanta creates its exits at the entry's fill. Both first match them at the next bar,
  the stop before the limit; only the booking order among orders of one bar differs, which
  changes neither price nor quantity here. backtrader cancels the children with the entry;
  quanta has no exits for an entry that never filled.
* **Trailing stops** trail the close in both, from the bar after submission, after that
  bar's match. With ``trailpercent`` backtrader computes ``close - close x p`` where quanta
  computes ``close x (1 - p)``: the levels (and a fill at the level) may differ in the last
  bit.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from quanta_ref import Bars, Engine, Strategy

try:
    import backtrader as bt
except ImportError:  # pragma: no cover - a broken dev install in CI, a skip elsewhere
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise
    pytest.skip("backtrader is not installed: pip install -e .[dev]", allow_module_level=True)

pytestmark = pytest.mark.slow

CASH = 10_000_000.0
SYMBOLS = ("A", "B")
FIRST_DAY = dt.datetime(2024, 1, 1)

CROSSCHECK = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same scripts on every run
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------------- the script
@dataclass(frozen=True)
class Submit:
    """One order. `key` names it in both engines' outcomes."""

    key: int
    symbol: int
    side: str  # "buy" / "sell"
    quantity: int
    order_type: str  # market, limit, stop, stop_limit, trailing_stop
    limit_price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None
    expire_bar: int | None = None  # good till the date of this bar (GTD), else GTC


@dataclass(frozen=True)
class Cancel:
    """Cancel the order (or the bracket's entry) named `key`."""

    key: int


@dataclass(frozen=True)
class OcoGroup:
    """Submit `orders` together and make them one-cancels-other."""

    orders: tuple[Submit, ...]


@dataclass(frozen=True)
class Bracket:
    """An entry with a stop-loss and/or a take-profit exit. The exits' keys are
    ``(key, STOP_LOSS)`` and ``(key, TAKE_PROFIT)``; the entry's is `key`."""

    key: int
    symbol: int
    side: str
    quantity: int
    entry: str  # market, limit, stop, stop_limit
    limit_price: float | None
    stop_price: float | None
    stop_loss: float | None
    take_profit: float | None


STOP_LOSS, TAKE_PROFIT = "stop_loss", "take_profit"
Action = Submit | Cancel | OcoGroup | Bracket
Script = list[tuple[int, Action]]


def order_keys(action: Action) -> list[int]:
    """The keys of the orders an action creates (a bracket: its entry's)."""
    if isinstance(action, (Submit, Bracket)):
        return [action.key]
    if isinstance(action, OcoGroup):
        return [o.key for o in action.orders]
    return []


# ---------------------------------------------------------------------- the bars
def random_bars(seed: int, n_bars: int, n_symbols: int) -> Bars:
    """Daily random walks around 100 with gaps at the open; every bar present."""
    rng = np.random.default_rng(seed)
    shape = (n_bars, n_symbols)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, shape), axis=0))
    previous = np.vstack([np.full((1, n_symbols), 100.0), close[:-1]])
    open_ = previous * np.exp(rng.normal(0.0, 0.01, shape))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.01, shape)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.01, shape)))
    days = np.datetime64(FIRST_DAY.date()) + np.arange(n_bars)
    volume = np.full(shape, 1e6)
    return Bars.from_arrays(days, open_, high, low, close, volume, symbols=SYMBOLS[:n_symbols])


# ---------------------------------------------------------------------- drawing scripts
@st.composite
def prices_near(draw: Any, bars: Bars, bar: int, symbol: int) -> float:
    """A price near bar `bar`'s close; sometimes exactly one of the next bar's prices."""
    if bar + 1 < len(bars.timestamps) and draw(st.integers(0, 3)) == 0:
        field = draw(st.sampled_from(["open", "high", "low", "close"]))
        return float(getattr(bars, field)[bar + 1, symbol])
    offset = draw(st.floats(-0.06, 0.06))
    return float(bars.close[bar, symbol] * (1.0 + offset))


@st.composite
def submits(
    draw: Any, bars: Bars, bar: int, key: int, order_types: tuple[str, ...], gtd: bool = False
) -> Submit:
    symbol = draw(st.integers(0, len(bars.symbols) - 1))
    side = draw(st.sampled_from(["buy", "sell"]))
    quantity = draw(st.integers(1, 50))
    order_type = draw(st.sampled_from(order_types))
    limit = stop = amount = percent = None
    if order_type == "limit":
        limit = draw(prices_near(bars, bar, symbol))
    elif order_type in ("stop", "stop_limit"):
        stop = draw(prices_near(bars, bar, symbol))
        if order_type == "stop_limit":
            # The limit at the stop or on its near side (buy: above): see "Where backtrader
            # differs" for a limit beyond the stop.
            room = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.04)))
            limit = stop * (1.0 + room) if side == "buy" else stop * (1.0 - room)
    elif order_type == "trailing_stop":
        if draw(st.booleans()):
            amount = float(bars.close[bar, symbol]) * draw(st.floats(0.002, 0.05))
        else:
            percent = draw(st.floats(0.002, 0.05))
    expire_bar = None
    # Not market orders: backtrader never expires those (see "Where backtrader differs").
    if gtd and order_type != "market" and draw(st.booleans()):
        expire_bar = draw(st.integers(bar, min(bar + 5, len(bars.timestamps) - 1)))
    return Submit(key, symbol, side, quantity, order_type, limit, stop, amount, percent, expire_bar)


@st.composite
def brackets(draw: Any, bars: Bars, bar: int, key: int) -> Bracket:
    symbol = draw(st.integers(0, len(bars.symbols) - 1))
    side = draw(st.sampled_from(["buy", "sell"]))
    entry = draw(st.sampled_from(["market", "limit", "stop", "stop_limit"]))
    limit = stop = None
    reference = float(bars.close[bar, symbol])
    if entry == "limit":
        limit = reference = draw(prices_near(bars, bar, symbol))
    elif entry in ("stop", "stop_limit"):
        stop = reference = draw(prices_near(bars, bar, symbol))
        if entry == "stop_limit":
            room = draw(st.floats(0.0, 0.03))
            limit = stop * (1.0 + room) if side == "buy" else stop * (1.0 - room)
    sign = 1.0 if side == "buy" else -1.0
    exits = draw(st.sampled_from([(True, True), (True, True), (True, False), (False, True)]))
    stop_loss = reference * (1.0 - sign * draw(st.floats(0.005, 0.06))) if exits[0] else None
    take_profit = reference * (1.0 + sign * draw(st.floats(0.005, 0.06))) if exits[1] else None
    quantity = draw(st.integers(1, 50))
    return Bracket(key, symbol, side, quantity, entry, limit, stop, stop_loss, take_profit)


@st.composite
def scenarios(
    draw: Any,
    order_types: tuple[str, ...] = ("market", "limit", "stop", "stop_limit"),
    oco: bool = False,
    bracket: bool = False,
    gtd: bool = False,
) -> tuple[Bars, Script]:
    """Random bars and a script of up to 14 actions over them, sorted by bar."""
    n_bars = draw(st.integers(3, 40))
    bars = random_bars(draw(st.integers(0, 2**32 - 1)), n_bars, draw(st.integers(1, 2)))
    kinds = ["submit", "submit", "cancel"] + ["oco"] * oco + ["bracket", "bracket"] * bracket
    script: Script = []
    for bar in sorted(draw(st.lists(st.integers(0, n_bars - 1), min_size=1, max_size=14))):
        kind = draw(st.sampled_from(kinds))
        existing = [k for _, a in script for k in order_keys(a)]
        key = len(existing)  # the next order's key: orders are keyed 0, 1, ... in script order
        if kind == "submit":
            script.append((bar, draw(submits(bars, bar, key, order_types, gtd))))
        elif kind == "cancel" and existing:
            script.append((bar, Cancel(draw(st.sampled_from(existing)))))
        elif kind == "oco":
            size = draw(st.integers(2, 3))
            # GTD only outside groups: see "Where backtrader differs" (expiry and matching).
            members = [draw(submits(bars, bar, key + i, order_types)) for i in range(size)]
            script.append((bar, OcoGroup(tuple(members))))
        elif kind == "bracket":
            script.append((bar, draw(brackets(bars, bar, key))))
    return bars, script


# ---------------------------------------------------------------------- outcomes
@dataclass
class Outcome:
    """What a run did, in terms both engines share."""

    fills: list[tuple[int, Any, str, float, float, float]]  # bar, key, side, qty, price, comm
    statuses: dict[Any, str]  # key -> quanta's status names (OrderStatus values)
    value: np.ndarray  # account value (equity) at each bar's close
    cash: np.ndarray


def sort_key(key: Any) -> tuple[int, str]:
    """Orders fills of one bar by the script's keys (exits after their entry)."""
    return (key, "") if isinstance(key, int) else key


# ---------------------------------------------------------------------- quanta
class QuantaPlayer(Strategy):
    """Plays a script through quanta's ctx; the row's actions run at its first on_bar."""

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script
        self.ids: dict[int, int] = {}
        self._last_bar = -1

    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == self._last_bar:
            return
        self._last_bar = ctx.bar_index
        for when, action in self.script:
            if when == ctx.bar_index:
                self._act(ctx, action)

    def _act(self, ctx: Any, action: Action) -> None:
        if isinstance(action, Submit):
            self.ids[action.key] = self._submit(ctx, action)
        elif isinstance(action, Cancel):
            ctx.cancel(self.ids[action.key])
        elif isinstance(action, OcoGroup):
            for order in action.orders:
                self.ids[order.key] = self._submit(ctx, order)
            ctx.oco([self.ids[order.key] for order in action.orders])
        elif isinstance(action, Bracket):
            self.ids[action.key] = ctx.bracket(
                SYMBOLS[action.symbol],
                action.side,
                float(action.quantity),
                entry=action.entry,
                limit_price=action.limit_price,
                stop_price=action.stop_price,
                stop_loss=action.stop_loss,
                take_profit=action.take_profit,
            )

    @staticmethod
    def _submit(ctx: Any, order: Submit) -> int:
        new = {}  # the new keywords only when used: plain orders run on main's API
        if order.trail_amount is not None:
            new["trail_amount"] = order.trail_amount
        if order.trail_percent is not None:
            new["trail_percent"] = order.trail_percent
        if order.expire_bar is not None:
            day = np.datetime64(FIRST_DAY.date()) + order.expire_bar
            new["time_in_force"] = "gtd"
            new["expire_at"] = int(day.astype("datetime64[ns]").astype(np.int64))
        return int(
            ctx.submit_order(
                SYMBOLS[order.symbol],
                order.side,
                float(order.quantity),
                order_type=order.order_type,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                **new,
            )
        )


def run_quanta(backend: str, bars: Bars, script: Script, **settings: Any) -> Outcome:
    engine = Engine(
        backend=backend, initial_cash=CASH, allow_short=True, max_leverage=1e6, **settings
    )
    player = QuantaPlayer(script)
    result = engine.run(bars, player)
    keys: dict[int, Any] = {order_id: key for key, order_id in player.ids.items()}
    for order in result.orders:  # a bracket's exits: keyed by their entry and their leg
        parent = getattr(order, "parent_id", None)
        if parent is not None:
            leg = STOP_LOSS if order.order_type.value == "stop" else TAKE_PROFIT
            keys[order.order_id] = (keys[parent], leg)
    bar_of = {int(ts): i for i, ts in enumerate(bars.timestamps)}
    fills = [
        (bar_of[f.timestamp], keys[f.order_id], f.side.value, f.quantity, f.price, f.commission)
        for f in result.fills
    ]
    statuses = {keys[o.order_id]: o.status.value for o in result.orders}
    return Outcome(
        sorted(fills, key=lambda f: (f[0], sort_key(f[1]))),
        statuses,
        np.array(result.equity),
        np.array(result.cash),
    )


# ---------------------------------------------------------------------- backtrader
class PanelFeed(bt.feed.DataBase):
    """One symbol's column of a quanta `Bars`, bar for bar, as a backtrader data feed."""

    params = (("bars", None), ("column", 0))

    def start(self) -> None:
        super().start()
        self._row = 0

    def _load(self) -> bool:
        bars, n, t = self.p.bars, self.p.column, self._row
        if t >= len(bars.timestamps):
            return False
        day = FIRST_DAY + dt.timedelta(days=t)
        self.lines.datetime[0] = bt.date2num(day)
        self.lines.open[0] = float(bars.open[t, n])
        self.lines.high[0] = float(bars.high[t, n])
        self.lines.low[0] = float(bars.low[t, n])
        self.lines.close[0] = float(bars.close[t, n])
        self.lines.volume[0] = float(bars.volume[t, n])
        self.lines.openinterest[0] = 0.0
        self._row += 1
        return True


EXEC_TYPES = {
    "market": bt.Order.Market,
    "limit": bt.Order.Limit,
    "stop": bt.Order.Stop,
    "stop_limit": bt.Order.StopLimit,
    "trailing_stop": bt.Order.StopTrail,
}
BT_STATUS = {
    "Completed": "filled",
    "Canceled": "cancelled",
    "Expired": "expired",
    "Accepted": "pending",
    "Submitted": "pending",
    "Created": "pending",
    "Partial": "partially_filled",
    "Margin": "rejected",
    "Rejected": "rejected",
}


class BacktraderPlayer(bt.Strategy):
    """Plays a script as a backtrader strategy; `next()` of bar t acts as quanta's on_bar."""

    params = (("script", None),)

    def __init__(self) -> None:
        self.orders: dict[Any, Any] = {}
        self.value: list[float] = []
        self.cash: list[float] = []

    def next(self) -> None:
        bar = len(self) - 1
        for when, action in self.p.script:
            if when == bar:
                self._act(action)
        # The broker has already matched this bar's orders and valued the account at the
        # closes: the same moment as quanta's record step.
        self.value.append(self.broker.getvalue())
        self.cash.append(self.broker.getcash())

    def _act(self, action: Action) -> None:
        if isinstance(action, Submit):
            self.orders[action.key] = self._submit(action)
        elif isinstance(action, Cancel):
            self.cancel(self.orders[action.key])
        elif isinstance(action, OcoGroup):
            first = self.orders[action.orders[0].key] = self._submit(action.orders[0])
            for order in action.orders[1:]:
                self.orders[order.key] = self._submit(order, oco=first)
        elif isinstance(action, Bracket):
            place = self.buy_bracket if action.side == "buy" else self.sell_bracket
            limit, stop = action.limit_price, action.stop_price
            entry, stop_loss, take_profit = place(
                data=self.datas[action.symbol],
                size=action.quantity,
                exectype=EXEC_TYPES[action.entry],
                price=stop if stop is not None else limit,
                plimit=limit if action.entry == "stop_limit" else None,
                stopprice=action.stop_loss,
                stopexec=bt.Order.Stop if action.stop_loss is not None else None,
                limitprice=action.take_profit,
                limitexec=bt.Order.Limit if action.take_profit is not None else None,
            )
            self.orders[action.key] = entry
            if stop_loss is not None:
                self.orders[(action.key, STOP_LOSS)] = stop_loss
            if take_profit is not None:
                self.orders[(action.key, TAKE_PROFIT)] = take_profit

    def _submit(self, order: Submit, oco: Any = None) -> Any:
        place = self.buy if order.side == "buy" else self.sell
        price = order.stop_price if order.stop_price is not None else order.limit_price
        return place(
            data=self.datas[order.symbol],
            size=order.quantity,
            exectype=EXEC_TYPES[order.order_type],
            price=price,
            plimit=order.limit_price if order.order_type == "stop_limit" else None,
            trailamount=order.trail_amount,
            trailpercent=order.trail_percent,
            valid=None
            if order.expire_bar is None
            else FIRST_DAY + dt.timedelta(days=order.expire_bar),
            oco=oco,
        )


def run_backtrader(bars: Bars, script: Script, commission: Any) -> Outcome:
    """Run `script` on backtrader. `commission`: keywords of `broker.setcommission`, or a
    list of them per symbol column (futures)."""
    cerebro = bt.Cerebro(stdstats=False)
    for n, symbol in enumerate(bars.symbols):
        cerebro.adddata(PanelFeed(bars=bars, column=n), name=symbol)
    cerebro.broker.setcash(CASH)
    cerebro.broker.set_checksubmit(False)
    per_symbol = commission if isinstance(commission, list) else [commission] * len(bars.symbols)
    for symbol, keywords in zip(bars.symbols, per_symbol, strict=True):
        cerebro.broker.setcommission(name=symbol, **keywords)
    cerebro.addstrategy(BacktraderPlayer, script=script)
    player = cerebro.run()[0]
    fills = []
    for key, order in player.orders.items():
        for bit in order.executed.exbits:
            bar = (bt.num2date(bit.dt) - FIRST_DAY).days
            side = "buy" if bit.size > 0 else "sell"
            fills.append((bar, key, side, float(abs(bit.size)), bit.price, bit.comm))
    statuses = {key: BT_STATUS[order.getstatusname()] for key, order in player.orders.items()}
    return Outcome(
        sorted(fills, key=lambda f: (f[0], sort_key(f[1]))),
        statuses,
        np.array(player.value),
        np.array(player.cash),
    )


def percent_commission(rate: float) -> dict[str, Any]:
    """backtrader's keywords for a commission of `rate` x traded value (shares)."""
    return dict(commission=rate, commtype=bt.CommInfoBase.COMM_PERC, percabs=True, stocklike=True)


# ---------------------------------------------------------------------- the comparison
def compare(
    quanta: Outcome, backtrader: Outcome, *, exact_prices: bool = True, cash: bool = True
) -> None:
    """Assert that two outcomes agree: the same fills (bar, order, side, quantity exactly;
    price exactly or to 1e-12; commission to 1e-9 relative), the same final status of every
    order quanta has, the same account value at every bar (and cash, unless `cash` is
    False)."""
    note(f"quanta fills:     {quanta.fills}")
    note(f"backtrader fills: {backtrader.fills}")
    assert [f[:4] for f in quanta.fills] == [f[:4] for f in backtrader.fills]
    for ours, theirs in zip(quanta.fills, backtrader.fills, strict=True):
        if exact_prices:
            assert ours[4] == theirs[4], (ours, theirs)
        else:
            assert ours[4] == pytest.approx(theirs[4], rel=1e-12), (ours, theirs)
        assert ours[5] == pytest.approx(theirs[5], rel=1e-9, abs=1e-9), (ours, theirs)
    note(f"statuses: {quanta.statuses} / {backtrader.statuses}")
    for key, status in quanta.statuses.items():
        assert backtrader.statuses[key] == status, key
    # Orders quanta never created: the exits of a bracket whose entry did not fill.
    for key in backtrader.statuses.keys() - quanta.statuses.keys():
        assert isinstance(key, tuple) and quanta.statuses[key[0]] != "filled", key
    np.testing.assert_allclose(quanta.value, backtrader.value, rtol=1e-9, atol=1e-6)
    if cash:
        np.testing.assert_allclose(quanta.cash, backtrader.cash, rtol=1e-9, atol=1e-6)


COMMISSION_RATES = st.sampled_from([0.0, 0.001, 0.0025])


# ---------------------------------------------------------------------- sections 3-7
@CROSSCHECK
@given(scenario=scenarios(), rate=COMMISSION_RATES)
def test_market_limit_stop_and_stop_limit_orders_fill_as_on_backtrader(
    backend: str, scenario: tuple[Bars, Script], rate: float
) -> None:
    bars, script = scenario
    ours = run_quanta(backend, bars, script, commission_rate=rate)
    compare(ours, run_backtrader(bars, script, percent_commission(rate)))


# ---------------------------------------------------------------------- sections 21-24
@CROSSCHECK
@given(scenario=scenarios(oco=True), rate=COMMISSION_RATES)
def test_one_cancels_other_groups_behave_as_on_backtrader(
    backend: str, scenario: tuple[Bars, Script], rate: float
) -> None:
    bars, script = scenario
    ours = run_quanta(backend, bars, script, commission_rate=rate)
    compare(ours, run_backtrader(bars, script, percent_commission(rate)))


@CROSSCHECK
@given(scenario=scenarios(bracket=True), rate=COMMISSION_RATES)
def test_brackets_behave_as_on_backtrader(
    backend: str, scenario: tuple[Bars, Script], rate: float
) -> None:
    bars, script = scenario
    ours = run_quanta(backend, bars, script, commission_rate=rate)
    compare(ours, run_backtrader(bars, script, percent_commission(rate)))


@CROSSCHECK
@given(scenario=scenarios(order_types=("trailing_stop", "market", "limit")), rate=COMMISSION_RATES)
def test_trailing_stops_trail_the_close_as_on_backtrader(
    backend: str, scenario: tuple[Bars, Script], rate: float
) -> None:
    bars, script = scenario
    ours = run_quanta(backend, bars, script, commission_rate=rate)
    # Levels from a percentage may differ in the last bit (module docstring).
    compare(ours, run_backtrader(bars, script, percent_commission(rate)), exact_prices=False)


@CROSSCHECK
@given(scenario=scenarios(gtd=True), rate=COMMISSION_RATES)
def test_good_till_date_orders_expire_as_on_backtrader(
    backend: str, scenario: tuple[Bars, Script], rate: float
) -> None:
    bars, script = scenario
    ours = run_quanta(backend, bars, script, commission_rate=rate)
    compare(ours, run_backtrader(bars, script, percent_commission(rate)))


@CROSSCHECK
@given(
    scenario=scenarios(
        order_types=("market", "limit", "stop", "stop_limit", "trailing_stop"),
        oco=True,
        bracket=True,
        gtd=True,
    ),
    rate=COMMISSION_RATES,
)
def test_every_order_type_together_behaves_as_on_backtrader(
    backend: str, scenario: tuple[Bars, Script], rate: float
) -> None:
    bars, script = scenario
    ours = run_quanta(backend, bars, script, commission_rate=rate)
    compare(ours, run_backtrader(bars, script, percent_commission(rate)), exact_prices=False)


@CROSSCHECK
@given(scenario=scenarios(), per_share=st.sampled_from([0.001, 0.005, 0.01]))
def test_per_share_commission_matches_backtrader_fixed_commission(
    backend: str, scenario: tuple[Bars, Script], per_share: float
) -> None:
    from quanta_ref.costs import PerShare

    bars, script = scenario
    ours = run_quanta(backend, bars, script, commission=PerShare(per_share))
    fixed = dict(
        commission=per_share, commtype=bt.CommInfoBase.COMM_FIXED, percabs=True, stocklike=True
    )
    compare(ours, run_backtrader(bars, script, fixed))


@CROSSCHECK
@given(
    scenario=scenarios(),
    multipliers=st.lists(st.sampled_from([1.0, 5.0, 10.0, 50.0]), min_size=2, max_size=2),
    margin=st.sampled_from([0.05, 0.1, 0.25]),
    rate=COMMISSION_RATES,
)
def test_futures_value_and_fills_match_backtrader(
    backend: str,
    scenario: tuple[Bars, Script],
    multipliers: list[float],
    margin: float,
    rate: float,
) -> None:
    bars, script = scenario
    multipliers = multipliers[: len(bars.symbols)]
    instruments = {
        symbol: {"multiplier": m, "margin": margin}
        for symbol, m in zip(bars.symbols, multipliers, strict=True)
    }
    ours = run_quanta(backend, bars, script, commission_rate=rate, instruments=instruments)
    futures = [
        dict(
            commission=rate * m,  # backtrader's percent commission leaves the multiplier out
            commtype=bt.CommInfoBase.COMM_PERC,
            percabs=True,
            stocklike=False,
            mult=m,
            margin=margin * m * 100.0,  # cash per contract; the value does not depend on it
        )
        for m in multipliers
    ]
    # The cash differs by design (module docstring): backtrader holds margin, quanta notional.
    compare(ours, run_backtrader(bars, script, futures), cash=False)


# ---------------------------------------------------------------------- the differences, pinned
def small_panel(rows: list[tuple[float, float, float, float]]) -> Bars:
    """A one-symbol panel from (open, high, low, close) rows, a day apart."""
    o, h, lo, c = (np.array(column) for column in zip(*rows, strict=True))
    days = np.datetime64(FIRST_DAY.date()) + np.arange(len(rows))
    return Bars.from_arrays(days, o, h, lo, c, np.full(len(rows), 1e6), symbols=["A"])


def test_backtrader_fills_a_stop_limit_in_its_trigger_bar_when_the_close_passes_the_limit(
    backend: str,
) -> None:
    # Buy stop 101, limit 100 (below the stop). Bar 1 opens at 100.5, touches 101.5, closes
    # at 99: the price crossed 100 after the trigger. backtrader fills at 100 in bar 1; quanta
    # waits (section 4) and fills bar 2 at its open 99.5 as a limit order.
    bars = small_panel([(100, 100.2, 99.8, 100), (100.5, 101.5, 98.8, 99), (99.5, 100, 99, 99.8)])
    script: Script = [
        (0, Submit(0, 0, "buy", 10, "stop_limit", limit_price=100.0, stop_price=101.0))
    ]
    assert run_backtrader(bars, script, percent_commission(0.0)).fills == [
        (1, 0, "buy", 10.0, 100.0, 0.0)
    ]
    assert run_quanta(backend, bars, script).fills == [(2, 0, "buy", 10.0, 99.5, 0.0)]


def test_backtrader_day_orders_expire_before_the_next_daily_bar(backend: str) -> None:
    bars = small_panel([(100, 101, 99, 100), (99, 100, 98, 99.5)])
    day_limit = {"valid": bt.Order.DAY, "exectype": bt.Order.Limit, "price": 99.5}

    class DayLimit(bt.Strategy):
        def next(self) -> None:
            if len(self) == 1:
                self.order = self.buy(size=10, **day_limit)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(PanelFeed(bars=bars, column=0))
    cerebro.broker.set_checksubmit(False)
    cerebro.addstrategy(DayLimit)
    order = cerebro.run()[0].order
    assert order.getstatusname() == "Expired" and not order.executed.exbits

    class QuantaDayLimit(Strategy):
        def on_bar(self, ctx: Any, bar: Any) -> None:
            if ctx.bar_index == 0:
                ctx.buy("A", 10, "limit", limit_price=99.5, time_in_force="day")

    result = Engine(backend=backend).run(bars, QuantaDayLimit())
    assert [(f.price, f.quantity) for f in result.fills] == [(99.0, 10.0)]  # at bar 1's open


def test_backtrader_cannot_cancel_an_order_in_its_own_bar_when_it_checks_cash_at_submission(
    backend: str,
) -> None:
    # backtrader's default broker (checksubmit=True) books an order only at its next bar, so
    # a cancel in the bar of submission finds nothing and the order fills; quanta cancels it.
    bars = small_panel([(100, 101, 99, 100), (100, 101, 99, 100.5)])

    class BuyAndCancel(bt.Strategy):
        def next(self) -> None:
            if len(self) == 1:
                self.order = self.buy(size=10)
                self.cancel(self.order)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(PanelFeed(bars=bars, column=0))
    cerebro.addstrategy(BuyAndCancel)
    order = cerebro.run()[0].order
    assert [(bit.size, bit.price) for bit in order.executed.exbits] == [(10, 100.0)]

    script: Script = [(0, Submit(0, 0, "buy", 10, "market")), (0, Cancel(0))]
    ours = run_quanta(backend, bars, script)
    assert ours.fills == [] and ours.statuses == {0: "cancelled"}


def test_backtrader_matches_an_older_group_member_before_a_younger_one_expires(
    backend: str,
) -> None:
    # A market buy and a GTD limit buy good till bar 0, one-cancels-other, placed at bar 0.
    # backtrader walks its orders once per bar, expiry checks included: the market order
    # (older) fills at bar 1's open and cancels the limit. quanta expires GTD orders before
    # the bar's matching (section 21): the limit expires and its group cancels the market
    # order, so nothing fills.
    bars = small_panel([(100, 101, 99, 100), (100, 101, 99, 100.5)])
    market = Submit(0, 0, "buy", 10, "market")
    limit = Submit(1, 0, "buy", 10, "limit", limit_price=95.0, expire_bar=0)
    script: Script = [(0, OcoGroup((market, limit)))]
    theirs = run_backtrader(bars, script, percent_commission(0.0))
    assert theirs.fills == [(1, 0, "buy", 10.0, 100.0, 0.0)]
    assert theirs.statuses == {0: "filled", 1: "cancelled"}
    ours = run_quanta(backend, bars, script)
    assert ours.fills == [] and ours.statuses == {0: "cancelled", 1: "expired"}
