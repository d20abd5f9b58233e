//! Orders, fills, round-trip trades and positions: the nouns of execution and of the account
//! (`quanta_ref.orders`).
//!
//! Symbols are carried as their column in the bar panel; the Python glue turns them back into
//! names at the edge.

/// An enum with one name per variant, as the reference spells it: from one list of
/// `Variant = "name"` it defines the enum, `ALL`, `name()` and `from_name()`, so each enum has
/// one table of names, shared by both directions.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $enum:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $name:literal,)+
        }
    ) => {
        $(#[$meta])*
        pub enum $enum {
            $($(#[$variant_meta])* $variant,)+
        }

        impl $enum {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$enum] = &[$($enum::$variant,)+];

            /// The name, as the reference spells it.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)+
                }
            }

            /// The variant called `name` (exactly), if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($enum::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use named_enum;

named_enum! {
/// Direction of an order or fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Buy.
    Buy = "buy",
    /// Sell.
    Sell = "sell",
}
}

named_enum! {
/// How an order is priced (docs/semantics.md, section 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// At the next open (or this close with `fill_at="close"`).
    Market = "market",
    /// At the limit price or better.
    Limit = "limit",
    /// A market order once the stop price is touched.
    Stop = "stop",
    /// A limit order once the stop price is touched.
    StopLimit = "stop_limit",
    /// A stop order whose stop follows the closes at a distance (computed, never given).
    TrailingStop = "trailing_stop",
}
}

named_enum! {
/// How long an order stays live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc = "gtc",
    /// To the end of its trading day.
    Day = "day",
    /// One matching attempt; what does not fill then is cancelled.
    Ioc = "ioc",
    /// One matching attempt, filling all of what remains or nothing.
    Fok = "fok",
    /// Through `expire_at`.
    Gtd = "gtd",
}
}

named_enum! {
/// Life cycle: Pending -> PartiallyFilled -> Filled, or to Cancelled, Expired, Rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// Accepted, nothing filled yet.
    Pending = "pending",
    /// Some filled, the rest live.
    PartiallyFilled = "partially_filled",
    /// All filled.
    Filled = "filled",
    /// Ended by the strategy, or by the engine after a partial fill.
    Cancelled = "cancelled",
    /// A DAY or GTD order at the end of its time.
    Expired = "expired",
    /// Refused with nothing filled.
    Rejected = "rejected",
}
}

impl OrderType {
    /// Whether an order of this type takes a limit price (limit and stop-limit orders).
    pub fn uses_limit_price(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::StopLimit)
    }

    /// Whether an order of this type takes a stop price (stop and stop-limit orders).
    pub fn uses_stop_price(self) -> bool {
        matches!(self, OrderType::Stop | OrderType::StopLimit)
    }
}

impl OrderStatus {
    /// True while the order can still fill.
    pub fn is_live(self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::PartiallyFilled)
    }
}

named_enum! {
/// Why the engine ended an order (`Order.reject_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Not enough cash.
    InsufficientCash = "insufficient_cash",
    /// Not enough (sellable) position.
    InsufficientPosition = "insufficient_position",
    /// Not a whole number of lots.
    LotSize = "lot_size",
    /// No close seen yet for the symbol.
    NoPrice = "no_price",
    /// A target order with nothing to do.
    ZeroQuantity = "zero_quantity",
    /// `max_position_quantity` or `max_position_weight`.
    MaxPosition = "max_position",
    /// `max_order_value`.
    MaxOrderValue = "max_order_value",
    /// `max_leverage`.
    MaxLeverage = "max_leverage",
    /// `max_drawdown_stop` was hit.
    DrawdownHalt = "drawdown_halt",
    /// A DAY order outlived its day.
    Expired = "expired",
    /// A bonus or split changed what a share is (the order was about the old shares).
    CorporateAction = "corporate_action",
    /// External execution (a live session): the broker refused or ended the order.
    Broker = "broker",
    /// An IOC order's rest, or an FOK order that could not fill whole, at its one attempt.
    TimeInForce = "time_in_force",
    /// The initial margin after the order would exceed the equity.
    InsufficientMargin = "insufficient_margin",
    /// The account is in a margin call.
    MarginCall = "margin_call",
    /// Another order of its one-cancels-other group filled or ended.
    Oco = "oco",
}
}

/// An order and its current state (`quanta_ref.orders.Order`).
///
/// A target order has `side == None` and `quantity == 0.0` until it is sized at a fill.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Order {
    /// 1, 2, ... in submission order.
    pub order_id: usize,
    /// Column of the symbol in the bar panel.
    pub column: usize,
    /// Buy or sell; None for an unsized target order.
    pub side: Option<Side>,
    /// Ordered quantity.
    pub quantity: f64,
    /// Quantity filled so far.
    pub filled_quantity: f64,
    /// Market, limit, stop or stop-limit.
    pub order_type: OrderType,
    /// Limit price of limit and stop-limit orders.
    pub limit_price: Option<f64>,
    /// Stop price of stop and stop-limit orders.
    pub stop_price: Option<f64>,
    /// GTC or DAY.
    pub time_in_force: TimeInForce,
    /// Current status.
    pub status: OrderStatus,
    /// Why the engine ended it, if it did.
    pub reject_reason: Option<Reason>,
    /// Timestamp of the bar it was submitted on.
    pub created_at: i64,
    /// Timestamp of its last fill.
    pub filled_at: Option<i64>,
    /// Target quantity of an `order_target_quantity` order.
    pub target_quantity: Option<f64>,
    /// Target weight of an `order_target_percent` order.
    pub target_percent: Option<f64>,
    /// Volume-weighted price of its fills.
    pub average_fill_price: f64,
    /// A GTD order's last instant (ns), inclusive.
    pub expire_at: Option<i64>,
    /// A trailing stop's distance from the close, in price.
    pub trail_amount: Option<f64>,
    /// A trailing stop's distance from the close, as a fraction of it.
    pub trail_percent: Option<f64>,
    /// Its one-cancels-other group (1, 2, ...), once in one.
    pub oco_group: Option<usize>,
    /// The entry order's id, for the exit of a bracket.
    pub parent_id: Option<usize>,
    /// A stop that has been touched.
    pub triggered: bool,
    /// First bar index at which it may be matched.
    pub eligible_bar: usize,
    /// Trading day a DAY order lives in, once known.
    pub active_day: Option<i64>,
}

impl Order {
    /// Quantity still to fill.
    pub fn remaining(&self) -> f64 {
        self.quantity - self.filled_quantity
    }
}

/// One execution (`quanta_ref.orders.Fill`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    /// The order that traded.
    pub order_id: usize,
    /// The bar's timestamp.
    pub timestamp: i64,
    /// Column of the symbol.
    pub column: usize,
    /// Buy or sell.
    pub side: Side,
    /// Quantity traded.
    pub quantity: f64,
    /// Price traded.
    pub price: f64,
    /// Commission paid.
    pub commission: f64,
    /// Tax paid (sells).
    pub tax: f64,
}

/// A closed round trip, matched first-in first-out (`quanta_ref.orders.Trade`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trade {
    /// Column of the symbol.
    pub column: usize,
    /// +1 long, -1 short.
    pub direction: i8,
    /// Quantity closed.
    pub quantity: f64,
    /// Timestamp of the opening fill.
    pub entry_time: i64,
    /// Price of the opening fill.
    pub entry_price: f64,
    /// Timestamp of the closing fill.
    pub exit_time: i64,
    /// Price of the closing fill.
    pub exit_price: f64,
    /// Profit net of entry and exit costs.
    pub pnl: f64,
    /// `pnl / (entry_price * quantity)`.
    pub return_: f64,
}

/// A corporate action applied to a holding (`quanta_ref.orders.CorporateActionRecord`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CorporateActionRecord {
    /// The timestamp of the row at which it applied.
    pub timestamp: i64,
    /// Column of the symbol.
    pub column: usize,
    /// The holding before.
    pub quantity_before: f64,
    /// The holding after the bonus shares or split.
    pub quantity_after: f64,
    /// The dividend, quantity held x cash per share, before tax (negative for a short).
    pub cash: f64,
    /// The dividend tax withheld.
    pub tax: f64,
}

/// One symbol's holding; `quantity < 0` is a short.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    /// Quantity held.
    pub quantity: f64,
    /// Volume-weighted fill price of the open quantity, costs excluded.
    pub average_cost: f64,
    /// Price P&L of closed quantity, costs excluded.
    pub realized_pnl: f64,
    /// Latest close seen (NaN before the first bar).
    pub last_price: f64,
}

impl Default for Position {
    fn default() -> Self {
        Position { quantity: 0.0, average_cost: 0.0, realized_pnl: 0.0, last_price: f64::NAN }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_is_the_python_enum_value() {
        for &side in Side::ALL {
            assert_eq!(Side::from_name(side.name()), Some(side));
        }
        for &kind in OrderType::ALL {
            assert_eq!(OrderType::from_name(kind.name()), Some(kind));
        }
        for &tif in TimeInForce::ALL {
            assert_eq!(TimeInForce::from_name(tif.name()), Some(tif));
        }
        for &status in OrderStatus::ALL {
            assert_eq!(OrderStatus::from_name(status.name()), Some(status));
        }
        for &reason in Reason::ALL {
            assert_eq!(Reason::from_name(reason.name()), Some(reason));
        }
        assert_eq!(OrderType::StopLimit.name(), "stop_limit");
        assert_eq!(OrderStatus::PartiallyFilled.name(), "partially_filled");
        assert_eq!(Reason::InsufficientCash.name(), "insufficient_cash");
        assert_eq!(Reason::TimeInForce.name(), "time_in_force");
        assert_eq!(Reason::ALL.len(), 16);
    }

    #[test]
    fn names_are_exact_other_spellings_are_not_names() {
        assert_eq!(Side::from_name("BUY"), None);
        assert_eq!(OrderType::from_name("stop-limit"), None);
        assert_eq!(TimeInForce::from_name(""), None);
    }

    #[test]
    fn limit_and_stop_limit_take_a_limit_price_stop_and_stop_limit_a_stop_price() {
        let takes = |kind: OrderType| (kind.uses_limit_price(), kind.uses_stop_price());
        assert_eq!(takes(OrderType::Market), (false, false));
        assert_eq!(takes(OrderType::Limit), (true, false));
        assert_eq!(takes(OrderType::Stop), (false, true));
        assert_eq!(takes(OrderType::StopLimit), (true, true));
        assert_eq!(takes(OrderType::TrailingStop), (false, false)); // its stop is computed
    }

    #[test]
    fn only_pending_and_partially_filled_orders_are_live() {
        let live: Vec<_> = OrderStatus::ALL.iter().filter(|s| s.is_live()).collect();
        assert_eq!(live, [&OrderStatus::Pending, &OrderStatus::PartiallyFilled]);
    }
}
