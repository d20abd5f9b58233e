//! What the loop delivers to the strategy (`quanta_ref.events`): the events, and the timeline
//! helpers that tell a row's trading day.

use std::collections::VecDeque;

use crate::orders::{Fill, Order};

/// Nanoseconds in one calendar day; trading day = floor(timestamp / NS_PER_DAY).
pub const NS_PER_DAY: i64 = 86_400_000_000_000;

/// What the core publishes for the strategy (the reference's bus events). The reference's
/// "day" control event has no counterpart here: the loop expires the day's orders itself,
/// at the same point, before anything is delivered in the new day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// Before the first bar (`on_start`).
    Start,
    /// After the last bar (`on_end`).
    End,
    /// The bar of this column at the current row is complete (`on_bar`).
    Bar(usize),
    /// An order changed status; a snapshot taken at the change (`on_order`).
    Order(Order),
    /// An order traded (`on_fill`).
    Fill(Fill),
}

/// Trading day of a timestamp (floor division, also before 1970).
pub fn trading_day(timestamp: i64) -> i64 {
    timestamp.div_euclid(NS_PER_DAY)
}

/// Events waiting for delivery, first in first out: what is published during a delivery is
/// delivered after it, as on the reference's event bus.
#[derive(Clone, Debug)]
pub struct EventQueue {
    events: VecDeque<Event>,
    /// Whether order events are queued (false: the strategy ignores them).
    orders: bool,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue::new()
    }
}

impl EventQueue {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue { events: VecDeque::new(), orders: true }
    }

    /// Queue no order events from now on: for a strategy that does nothing with them (the
    /// array strategies act on bars and fills only). Nothing else reads the queue, so
    /// nothing else changes.
    pub fn skip_orders(&mut self) {
        self.orders = false;
    }

    /// Whether order events are queued.
    #[inline]
    pub fn takes_orders(&self) -> bool {
        self.orders
    }

    /// Add `event` at the back.
    #[inline]
    pub fn push(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// The oldest event, taken out; None when the queue is empty.
    #[inline]
    pub fn pop(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Whether nothing waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Drop everything that waits (a failed delivery ends the run).
    pub fn clear(&mut self) {
        self.events.clear();
    }
}
