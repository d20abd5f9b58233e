"""The event bus: how the parts of the reference engine talk to each other.

Five event kinds: `BarEvent` (a bar is complete), `OrderEvent` (an
order changed status), `FillEvent` (an order traded), `SignalEvent` (a strategy's named
value, recorded for the user), and `ControlEvent` (start, new trading day, end of data).

`publish` puts the event at the back of one FIFO queue and, unless the bus is already
delivering, delivers the queue front to back. Each event goes to its subscribers in the order
they subscribed. An event published by a handler is therefore delivered *after* the event
being handled, never in the middle of it: when a strategy submits an order from `on_bar`,
its `on_order` call comes right after that `on_bar` returns. The `Timeline` is the ordered
list of timestamps the engine walks; `advance_time` moves the bus clock forward only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from quanta_ref.orders import Fill, Order


@dataclass(frozen=True)
class BarEvent:
    """One complete bar of one symbol, as the strategy sees it in `on_bar`."""

    timestamp: int
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class OrderEvent:
    """An order's status changed; `order` is a snapshot taken at the change."""

    order: Order


@dataclass(frozen=True)
class FillEvent:
    """An order traded."""

    fill: Fill


@dataclass(frozen=True)
class SignalEvent:
    """A value a strategy chose to record (`ctx.signal(name, value)`)."""

    timestamp: int
    symbol: str | None
    name: str
    value: float


@dataclass(frozen=True)
class ControlEvent:
    """Run control: ``"start"``, ``"day"`` (a new trading day begins), ``"margin"`` (the
    record step of an account with margin symbols: the margin call rule) or ``"end"``."""

    timestamp: int
    kind: str


Event = BarEvent | OrderEvent | FillEvent | SignalEvent | ControlEvent
Handler = Callable[[Any], None]


class EventBus:
    """A FIFO queue of events with subscribers per event type and a clock."""

    def __init__(self) -> None:
        self._queue: deque[Event] = deque()
        self._subscribers: dict[type, list[Handler]] = {}
        self._delivering = False
        self.now: int | None = None

    def subscribe(self, event_type: type, handler: Handler) -> None:
        """Call `handler(event)` for every event of `event_type`, after earlier subscribers."""
        self._subscribers.setdefault(event_type, []).append(handler)

    def publish(self, *events: Event) -> None:
        """Queue `events` in order; deliver the queue now unless a delivery is under way."""
        self._queue.extend(events)
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._queue:
                current = self._queue.popleft()
                for handler in self._subscribers.get(type(current), ()):
                    handler(current)
        finally:
            # A strategy exception leaves the bus; drop what it left queued.
            self._delivering = False
            self._queue.clear()

    def advance_time(self, timestamp: int) -> None:
        """Move the clock to `timestamp`; time never goes backwards."""
        if self.now is not None and timestamp < self.now:
            raise ValueError(f"time cannot go backwards: {timestamp} < {self.now}")
        self.now = timestamp


class Timeline:
    """The ordered timestamps of a run and the trading day of each (day = floor(ts / 1 day))."""

    NS_PER_DAY = 86_400_000_000_000

    def __init__(self, timestamps: np.ndarray) -> None:
        self.timestamps = [int(t) for t in timestamps]
        self.days = [t // self.NS_PER_DAY for t in self.timestamps]

    def __len__(self) -> int:
        return len(self.timestamps)

    def extend(self, timestamps: np.ndarray) -> None:
        """More timestamps, later than the last (a live session's new rows)."""
        for t in timestamps.tolist():
            self.timestamps.append(t)
            self.days.append(t // self.NS_PER_DAY)
