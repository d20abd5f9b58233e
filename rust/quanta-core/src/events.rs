//! What the loop delivers to the strategy (`quanta_ref.events`): the events, and the timeline
//! helpers that tell a row's trading day.

use crate::orders::{Fill, Order};

/// Nanoseconds in one calendar day; trading day = floor(timestamp / NS_PER_DAY).
pub const NS_PER_DAY: i64 = 86_400_000_000_000;

/// What the core publishes for the strategy (the reference's bus events).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// Before the first bar (`on_start`).
    Start,
    /// A new trading day begins: the core expires yesterday's DAY orders.
    Day(i64),
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
