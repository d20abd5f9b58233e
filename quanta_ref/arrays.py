"""Array strategies: a backtest described by arrays instead of callbacks.

`Signals` (boolean entry/exit arrays) and `Targets` (target weights) are *jobs*: plain data
that say what to trade. The reference runs a job as an ordinary `Strategy`
(`SignalStrategy`, `TargetStrategy`) through the same engine, so an array run follows every
rule of docs/semantics.md by construction: the orders it places are the ones a hand-written
strategy would place. The Rust backend runs the same decisions natively (no Python per bar);
section 16 of docs/semantics.md is the rule both follow.

Decisions are taken once per row, at the ``on_bar`` of the row's last present symbol, so that
every symbol's close is known: first the orders that sell (exits, reversals, lower targets),
then the orders that buy, each group in data order. Sells come first so that a rebalance does
not run out of cash on the buys before the sells have freed it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from quanta_ref.api import Context, Strategy
from quanta_ref.bars import Bars, format_timestamp
from quanta_ref.config import EngineConfig
from quanta_ref.errors import ConfigError, DataError
from quanta_ref.events import BarEvent
from quanta_ref.orders import Fill

SIZE_TYPES = ("percent", "quantity")


@dataclass(frozen=True)
class Signals:
    """A signal job: enter and exit on boolean arrays of shape (T, N) (or (T,) for one symbol).

    Parameters
    ----------
    entries, exits : array_like of bool
        Long entries and exits. A signal on a bar where the symbol has no bar is ignored.
    short_entries, short_exits : array_like of bool, optional
        The same for short positions (a margin account, ``allow_short=True``, is needed to
        open one).
    size : float
        Position size on entry: a fraction of equity (``size_type="percent"``, default 1.0 =
        all in, as ``order_target_percent``) or a quantity (``size_type="quantity"``).
    stop_loss, take_profit : float, optional
        Exit levels as fractions of the position's average cost: a long position gets a sell
        stop at ``cost x (1 - stop_loss)`` and a sell limit at ``cost x (1 + take_profit)``
        (mirrored for shorts), active from the bar after the entry fill, in one
        one-cancels-other group: when one fills or ends the other is cancelled. If both could
        fill in one bar, the stop is matched first (pessimistic; docs/semantics.md section 16).
    """

    entries: Any
    exits: Any
    short_entries: Any = None
    short_exits: Any = None
    size: float = 1.0
    size_type: str = "percent"
    stop_loss: float | None = None
    take_profit: float | None = None

    def checked(self, bars: Bars, config: EngineConfig) -> Signals:
        """This job with every array as a C-contiguous bool (T, N) array, or an error.

        A bool array is read as numpy reads it, a byte other than 0 meaning True (a uint8
        buffer viewed as bool may hold any byte); both backends read it so."""
        shorts = self.short_entries is not None  # only a short entry opens a short
        if shorts and not config.allow_short:
            raise ConfigError(
                "short_entries: short positions need a margin account (allow_short=True)"
            )
        if not isinstance(self.size_type, str) or self.size_type not in SIZE_TYPES:
            raise ConfigError(f"size_type: must be one of {SIZE_TYPES}, got {self.size_type!r}")
        size = _positive("size", self.size)
        stop_loss = None if self.stop_loss is None else _positive("stop_loss", self.stop_loss)
        if stop_loss is not None and stop_loss >= 1.0:
            raise ConfigError(
                f"stop_loss: must be below 1 (a fraction of the cost), got {stop_loss!r}"
            )
        take_profit = (
            None if self.take_profit is None else _positive("take_profit", self.take_profit)
        )
        if take_profit is not None and shorts and take_profit >= 1.0:
            raise ConfigError(
                f"take_profit: must be below 1 when short positions are "
                f"traded (a short's target is cost x (1 - take_profit)), got "
                f"{take_profit!r}"
            )
        _check_exit_prices(bars, stop_loss, take_profit, shorts)
        return Signals(
            entries=_signal_array("entries", self.entries, bars),
            exits=_signal_array("exits", self.exits, bars),
            short_entries=(
                None
                if self.short_entries is None
                else _signal_array("short_entries", self.short_entries, bars)
            ),
            short_exits=(
                None
                if self.short_exits is None
                else _signal_array("short_exits", self.short_exits, bars)
            ),
            size=size,
            size_type=self.size_type,
            stop_loss=stop_loss,
            take_profit=take_profit,
        )

    def strategy(self, bars: Bars) -> Strategy:
        """The reference `Strategy` that runs this (checked) job."""
        return SignalStrategy(bars, self)


@dataclass(frozen=True)
class Targets:
    """A target-weight job: `weights` (T, N) (or (T,)) of floats, the fraction of equity each
    symbol should hold after the bar; NaN leaves the symbol as it is.

    Every non-NaN weight is a rebalance: the engine sends ``order_target_percent(symbol, w)``
    at that bar (so a weight repeated on every bar also corrects drift). Put NaN where the
    weight should not be enforced.
    """

    weights: Any

    def checked(self, bars: Bars, config: EngineConfig) -> Targets:
        """This job with `weights` as a C-contiguous, aligned float64 (T, N) array, or an
        error."""
        weights = _panel("weights", self.weights, bars, np.float64)
        bad = np.isinf(weights)
        if bad.any():
            t, n = (int(k) for k in np.argwhere(bad)[0])
            raise DataError(
                f"weights: {float(weights[t, n])!r} is not finite (NaN = no change), "
                f"{_where(bars, t, n)}"
            )
        return Targets(weights)

    def strategy(self, bars: Bars) -> Strategy:
        """The reference `Strategy` that runs this (checked) job."""
        return TargetStrategy(bars, self)


Job = Signals | Targets | Strategy


def check_job(job: Any, bars: Bars, config: EngineConfig, position: int | None = None) -> Any:
    """A job ready to run: array jobs checked against `bars`; strategies as they are."""
    if isinstance(job, (Signals, Targets)):
        return job.checked(bars, config)
    if isinstance(job, Strategy):
        return job
    # Imported here: the compiled strategies' module uses the reference engine's checks.
    from quanta_ref.compiled import CompiledJob, CompiledStrategy

    if isinstance(job, CompiledStrategy):
        # numba is an optional extra: imported when a compiled strategy first runs.
        from quanta_ref.compiled_numba import entry_of

        return job.checked(entry_of(type(job)), bars.n_symbols)
    if isinstance(job, CompiledJob):
        return job
    where = "" if position is None else f" (job {position})"
    raise ConfigError(
        f"job: expected Signals, Targets, a Strategy or a CompiledStrategy{where}, got "
        f"{type(job).__name__}"
    )


# =================================================================== the strategies
class _RowStrategy(Strategy):
    """Acts once per row, at the `on_bar` of the row's last present symbol."""

    def __init__(self, bars: Bars) -> None:
        super().__init__()
        self.bars = bars
        self.columns = {s: n for n, s in enumerate(bars.symbols)}
        n_symbols = bars.n_symbols
        # The last symbol with a bar in each row (-1: none): where the row's decisions are.
        present = ~np.isnan(bars.close)
        last = n_symbols - 1 - np.argmax(present[:, ::-1], axis=1)
        self.last = np.where(present.any(axis=1), last, -1).tolist()
        self.live = [0] * n_symbols  # id of the symbol's live signal/target order, 0: none
        self.live_target = [0.0] * n_symbols  # what that order aims at

    def present(self, t: int, n: int) -> bool:
        return not math.isnan(self.bars.close[t, n])

    def on_bar(self, ctx: Context, bar: BarEvent) -> None:
        t = ctx.bar_index
        if self.columns[bar.symbol] != self.last[t]:
            return
        sells: list[tuple[int, float]] = []
        buys: list[tuple[int, float]] = []
        for n in range(self.bars.n_symbols):
            if self.present(t, n):
                self.decide(ctx, t, n, sells, buys)
        for n, target in sells + buys:
            self.send(ctx, n, target)

    def is_live(self, ctx: Context, order_id: int) -> bool:
        return order_id != 0 and ctx.get_order(order_id).status.is_live

    def decide(
        self,
        ctx: Context,
        t: int,
        n: int,
        sells: list[tuple[int, float]],
        buys: list[tuple[int, float]],
    ) -> None:
        raise NotImplementedError

    def send(self, ctx: Context, n: int, target: float) -> None:
        """Replace the symbol's live order (if any) by a new target order."""
        if self.is_live(ctx, self.live[n]):
            ctx.cancel(self.live[n])
        self.live[n] = self.submit(ctx, self.bars.symbols[n], target)
        self.live_target[n] = target

    def submit(self, ctx: Context, symbol: str, target: float) -> int:
        return ctx.order_target_percent(symbol, target)


class SignalStrategy(_RowStrategy):
    """Runs a checked `Signals` job (docs/semantics.md section 16).

    Per present symbol, the *state* is the sign of the target of its live signal order if it
    has one, else the sign of the position. Conflicting signals on one bar: an entry with an
    exit of the same side is ignored (the exit counts); a long and a short entry together are
    both ignored. Then:

    - long: a short entry reverses to the short size; else an exit goes flat;
    - flat: an entry goes long; else a short entry goes short;
    - short: an entry reverses to the long size; else a short exit goes flat.
    """

    def __init__(self, bars: Bars, job: Signals) -> None:
        super().__init__(bars)
        self.job = job
        self.quantity_sizing = job.size_type == "quantity"
        n_symbols = bars.n_symbols
        self.stop = [0] * n_symbols  # live stop-loss order id per symbol, 0: none
        self.limit = [0] * n_symbols  # live take-profit order id per symbol, 0: none

    def decide(
        self,
        ctx: Context,
        t: int,
        n: int,
        sells: list[tuple[int, float]],
        buys: list[tuple[int, float]],
    ) -> None:
        job = self.job
        exit_long = bool(job.exits[t, n])
        exit_short = job.short_exits is not None and bool(job.short_exits[t, n])
        enter_long = bool(job.entries[t, n]) and not exit_long
        enter_short = job.short_entries is not None and bool(job.short_entries[t, n])
        enter_short = enter_short and not exit_short
        if enter_long and enter_short:
            enter_long = enter_short = False
        if self.is_live(ctx, self.live[n]):
            state = self.live_target[n]
        else:
            state = ctx.position(self.bars.symbols[n])
        size = job.size
        if state > 0.0:
            target = -size if enter_short else 0.0 if exit_long else None
        elif state < 0.0:
            target = size if enter_long else 0.0 if exit_short else None
        else:
            target = size if enter_long else -size if enter_short else None
        if target is None:
            return
        # From long (or flat) every decision sells or goes short; from short it buys.
        (buys if target > state else sells).append((n, target))

    def send(self, ctx: Context, n: int, target: float) -> None:
        self.cancel_exits(ctx, n)  # a new decision replaces the exit orders
        super().send(ctx, n, target)

    def submit(self, ctx: Context, symbol: str, target: float) -> int:
        if self.quantity_sizing:
            return ctx.order_target_quantity(symbol, target)
        return ctx.order_target_percent(symbol, target)

    # ------------------------------------------------------------- stop-loss / take-profit
    def on_fill(self, ctx: Context, fill: Fill) -> None:
        job = self.job
        if job.stop_loss is None and job.take_profit is None:
            return
        n = self.columns[fill.symbol]
        if fill.order_id == self.live[n]:
            # The position changed by a decision of ours: exits for the whole new position.
            # (When an exit fills, its group has already cancelled the other one.)
            self.cancel_exits(ctx, n)
            self.place_exits(ctx, n)

    def place_exits(self, ctx: Context, n: int) -> None:
        symbol = self.bars.symbols[n]
        position = ctx.get_position(symbol)
        held, cost = position.quantity, position.average_cost
        if held == 0.0:
            return
        side = "sell" if held > 0.0 else "buy"
        direction = 1.0 if held > 0.0 else -1.0
        quantity = abs(held)
        # The stop first: if both levels are reached in one bar, the older order (the stop)
        # is matched first, the pessimistic reading of a bar with no path inside it.
        if self.job.stop_loss is not None:
            stop_price = cost * (1.0 - direction * self.job.stop_loss)
            self.stop[n] = ctx.submit_order(symbol, side, quantity, "stop", stop_price=stop_price)
        if self.job.take_profit is not None:
            limit_price = cost * (1.0 + direction * self.job.take_profit)
            self.limit[n] = ctx.submit_order(
                symbol, side, quantity, "limit", limit_price=limit_price
            )
        # One cancels the other: both accepted, they form a group.
        if self.is_live(ctx, self.stop[n]) and self.is_live(ctx, self.limit[n]):
            ctx.oco([self.stop[n], self.limit[n]])

    def cancel_exits(self, ctx: Context, n: int) -> None:
        self.cancel(ctx, self.stop[n])
        self.cancel(ctx, self.limit[n])
        self.stop[n] = self.limit[n] = 0

    def cancel(self, ctx: Context, order_id: int) -> None:
        if self.is_live(ctx, order_id):
            ctx.cancel(order_id)


class TargetStrategy(_RowStrategy):
    """Runs a checked `Targets` job (docs/semantics.md section 16): at each present bar with
    a weight w, the symbol's live target order (if any) is cancelled and
    ``order_target_percent(symbol, w)`` sent. Sells first: a weight whose quantity at this
    close, ``w x equity / (close x multiplier)``, is below the holding is sent in the first
    group. A weight of 0 for a symbol that is flat and has no live order sends nothing."""

    def __init__(self, bars: Bars, job: Targets) -> None:
        super().__init__(bars)
        self.job = job
        self.multipliers: list[float] = []  # each symbol's contract multiplier

    def on_start(self, ctx: Context) -> None:
        self.multipliers = [ctx.get_position(s).multiplier for s in self.bars.symbols]

    def decide(
        self,
        ctx: Context,
        t: int,
        n: int,
        sells: list[tuple[int, float]],
        buys: list[tuple[int, float]],
    ) -> None:
        weight = float(self.job.weights[t, n])
        if math.isnan(weight):
            return
        symbol = self.bars.symbols[n]
        if weight == 0.0 and ctx.position(symbol) == 0.0 and not self.is_live(ctx, self.live[n]):
            # Flat, nothing pending, and flat is the target: the order would be sized to
            # nothing at its fill and cancelled, so none is sent (a universe of thousands of
            # symbols, most at weight 0, sends orders for the few it trades only).
            return
        rough = weight * ctx.equity / (float(self.bars.close[t, n]) * self.multipliers[n])
        (sells if rough < ctx.position(symbol) else buys).append((n, weight))


# =================================================================== input checks
def _where(bars: Bars, t: int, n: int) -> str:
    return f"symbol {bars.symbols[n]!r}, bar {t} ({format_timestamp(bars.timestamps[t])})"


def _check_exit_prices(
    bars: Bars, stop_loss: float | None, take_profit: float | None, shorts: bool
) -> None:
    """Every exit price must be a finite price > 0, whatever the position's average cost: a
    `ConfigError` naming the option when ``cost x (1 +- fraction)`` overflows the float range
    or rounds to 0 for the panel's highest high or lowest low (an average of fill prices lies
    between them), instead of an `OrderError` at the first exit."""
    if stop_loss is None and take_profit is None:
        return
    present = ~np.isnan(bars.close)
    if not present.any():
        return
    lowest, highest = float(bars.low[present].min()), float(bars.high[present].max())
    levels: list[tuple[str, float, str, float]] = []
    if stop_loss is not None:  # a long's stop; a short's
        levels.append(("stop_loss", stop_loss, "1 - stop_loss", 1.0 - stop_loss))
        if shorts:
            levels.append(("stop_loss", stop_loss, "1 + stop_loss", 1.0 + stop_loss))
    if take_profit is not None:  # a long's limit; a short's
        levels.append(("take_profit", take_profit, "1 + take_profit", 1.0 + take_profit))
        if shorts:
            levels.append(("take_profit", take_profit, "1 - take_profit", 1.0 - take_profit))
    for name, value, factor, times in levels:
        for cost in (lowest, highest):
            price = cost * times
            if not (math.isfinite(price) and price > 0.0):
                raise ConfigError(
                    f"{name}: the exit price cost x ({factor}) is {price!r} for a cost of "
                    f"{cost!r} (a price of the panel), not a finite price > 0; got {value!r}"
                )


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name}: expected a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not (math.isfinite(number) and number > 0.0):
        raise ConfigError(f"{name}: must be a finite number > 0, got {value!r}")
    return number


def _panel(name: str, values: Any, bars: Bars, dtype: type) -> np.ndarray:
    """`values` as a C-contiguous, aligned (T, N) array of `dtype`; (T,) is accepted for one
    symbol. An unaligned array (a view of a byte buffer at an odd offset) is copied."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: cannot read as an array ({exc})") from None
    shape = (bars.n_bars, bars.n_symbols)
    given = array.shape
    if array.ndim == 1 and bars.n_symbols == 1:
        array = array.reshape(-1, 1)
    if array.shape != shape:
        raise DataError(f"{name}: expected shape {shape} (bars x symbols), got {given}")
    wanted = "b" if dtype is np.bool_ else "fiu"
    if array.dtype.kind not in wanted:
        kind = "booleans" if dtype is np.bool_ else "numbers"
        raise DataError(f"{name}: expected {kind}, got dtype {array.dtype}")
    flags = array.flags
    if array.dtype == dtype and flags.c_contiguous and flags.aligned:
        return array  # the common case, without np.require's cost
    return np.require(array, dtype=dtype, requirements=("C_CONTIGUOUS", "ALIGNED"))


def _signal_array(name: str, values: Any, bars: Bars) -> np.ndarray:
    return _panel(name, values, bars, np.bool_)
