//! Execution: the broker (`quanta_ref.execution`). It holds the live orders and everything
//! the order path touches: acceptance, where an order trades inside a bar, sizing, costs and
//! the booking of fills into the portfolio it owns. The loop (`engine`) moves its clock and
//! delivers the Order and Fill events it publishes.
//!
//! Every price rule takes the view least favourable to the trader that the bar cannot rule
//! out; slippage moves market and stop fills against the trader but never outside the bar.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bars::Instruments;
use crate::config::{CommissionModel, Config, FillAt, Settlement, SlippageModel};
use crate::events::{trading_day, Event, EventQueue};
use crate::orders::{named_enum, Fill, Order, OrderStatus, OrderType, Reason, Side, TimeInForce};
use crate::portfolio::Portfolio;
use crate::risk::RiskManager;

/// Without a tick size, a price this close (relative) to a daily limit counts as at it.
pub const PRICE_LIMIT_RELATIVE_TOLERANCE: f64 = 1e-9;

/// A market-style fill price: `base` moved by `slippage` against the trader, clamped to
/// the bar's [low, high].
pub fn with_slippage(side: Side, base: f64, high: f64, low: f64, slippage: f64) -> f64 {
    if side == Side::Buy {
        let price = base * (1.0 + slippage);
        return if price < high { price } else { high };
    }
    let price = base * (1.0 - slippage);
    if price > low {
        price
    } else {
        low
    }
}

/// Where a limit order live for the whole bar fills: the open if it is already good enough,
/// else the limit if the bar reached it, else no fill.
pub fn limit_price_in_bar(side: Side, limit: f64, open: f64, high: f64, low: f64) -> Option<f64> {
    if side == Side::Buy {
        if open <= limit {
            return Some(open);
        }
        if low <= limit {
            return Some(limit);
        }
        return None;
    }
    if open >= limit {
        return Some(open);
    }
    if high >= limit {
        return Some(limit);
    }
    None
}

/// The price at which `order` (already sized) fills in this bar, or None. Touching a stop
/// sets `order.triggered`. `slip(base)` is the slipped price of a market-style fill whose
/// unslipped price is `base` (called only for such a fill; its error stops the match).
pub fn fill_price<E>(
    order: &mut Order,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    at_close: bool,
    mut slip: impl FnMut(f64) -> Result<f64, E>,
) -> Result<Option<f64>, E> {
    let side = order.side.expect("target orders are sized before they are priced");
    let mut kind = order.order_type;
    if kind == OrderType::TrailingStop {
        kind = OrderType::Stop; // matched as a stop order at its current level
    }
    if kind == OrderType::Market || (kind == OrderType::Stop && order.triggered) {
        let base = if at_close { close } else { open };
        return slip(base).map(Some);
    }
    if kind == OrderType::Limit || (kind == OrderType::StopLimit && order.triggered) {
        let limit = order.limit_price.expect("limit orders have a limit price");
        return Ok(limit_price_in_bar(side, limit, open, high, low));
    }
    let stop = order.stop_price.expect("stop orders have a stop price");
    let buy = side == Side::Buy;
    // Triggered at the open: the whole bar happens after the trigger.
    if if buy { open >= stop } else { open <= stop } {
        order.triggered = true;
        if kind == OrderType::Stop {
            return slip(open).map(Some);
        }
        let limit = order.limit_price.expect("stop-limit orders have a limit price");
        return Ok(limit_price_in_bar(side, limit, open, high, low));
    }
    // Triggered inside the bar.
    if if buy { high >= stop } else { low <= stop } {
        order.triggered = true;
        if kind == OrderType::Stop {
            return slip(stop).map(Some);
        }
        // Stop-limit: fills at the stop if it is within the limit; otherwise the bar cannot
        // tell whether the price came back after the trigger (pessimistic: no fill).
        let limit = order.limit_price.expect("stop-limit orders have a limit price");
        let within = if buy { stop <= limit } else { stop >= limit };
        return Ok(if within { Some(stop) } else { None });
    }
    Ok(None)
}

/// The slippage fraction of `SquareRootImpact` for `asked` units in a bar of `volume`
/// (`quanta_ref.costs.impact`): no volume gives an infinite fraction (the bar's edge).
pub fn impact(coefficient: f64, asked: f64, volume: f64) -> f64 {
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN volume too
    if !(volume > 0.0) {
        return f64::INFINITY;
    }
    coefficient * (asked / volume).sqrt()
}

/// The fill price of `RangeFraction` (`quanta_ref.costs.range_price`).
pub fn range_price(side: Side, base: f64, high: f64, low: f64, fraction: f64) -> f64 {
    if side == Side::Buy {
        let price = base + fraction * (high - low);
        return if price < high { price } else { high };
    }
    let price = base - fraction * (high - low);
    if price > low {
        price
    } else {
        low
    }
}

/// The error of a cost model outside the core: an opaque payload that its host turns back
/// into the original error (quanta-py: the Python exception the callable raised).
pub struct ModelError(pub Box<dyn std::any::Any + Send>);

impl std::fmt::Debug for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ModelError(..)")
    }
}

/// Cost models outside the core (`CommissionModel::External`, `SlippageModel::External`),
/// called by the broker in the reference's sequence with the reference's arguments.
pub trait ExternalCosts: Send + Sync {
    /// The commission of a fill of `quantity` of column `column` at `price`, at row `index`
    /// (timestamp `now`): a finite number >= 0, checked by the implementation.
    #[allow(clippy::too_many_arguments)]
    fn commission(
        &self,
        column: usize,
        side: Side,
        quantity: f64,
        price: f64,
        index: i64,
        now: i64,
    ) -> Result<f64, ModelError>;
    /// The slippage fraction (finite >= 0, checked by the implementation) of a market-style
    /// fill of `quantity` of column `column` at the unslipped `price`, in the bar `bar`
    /// (open, high, low, close, volume) at row `index` (timestamp `now`).
    #[allow(clippy::too_many_arguments)]
    fn slippage(
        &self,
        column: usize,
        bar: [f64; 5],
        side: Side,
        quantity: f64,
        price: f64,
        index: i64,
        now: i64,
    ) -> Result<f64, ModelError>;
}

/// The broker's hook to external cost models.
#[derive(Clone)]
pub struct CostHook(pub Arc<dyn ExternalCosts>);

impl std::fmt::Debug for CostHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CostHook(..)")
    }
}

/// Why matching stops the run: an accounting value left the float range, or an external
/// cost model failed.
#[derive(Debug)]
pub enum Stop {
    /// See [`Overflow`].
    Overflow(Overflow),
    /// See [`ModelError`].
    Model(ModelError),
}

impl From<Box<Overflow>> for Box<Stop> {
    fn from(error: Box<Overflow>) -> Self {
        Box::new(Stop::Overflow(*error))
    }
}

/// A trailing stop's level for the price `reference`: `amount` (or the fraction `percent` of
/// it) below it for a sell, above it for a buy (`quanta_ref.execution.trailing_level`).
pub fn trailing_level(
    side: Side,
    reference: f64,
    amount: Option<f64>,
    percent: Option<f64>,
) -> f64 {
    if let Some(amount) = amount {
        return if side == Side::Sell { reference - amount } else { reference + amount };
    }
    let percent = percent.expect("a trailing stop has an amount or a percent");
    let factor = if side == Side::Sell { 1.0 - percent } else { 1.0 + percent };
    reference * factor
}

/// The optional terms of a plain order: a GTD order's last instant, a trailing stop's
/// distance (docs/semantics.md, section 21), a bracket exit's entry (section 22). The default
/// is none of them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Terms {
    /// A GTD order's last instant (ns), inclusive.
    pub expire_at: Option<i64>,
    /// A trailing stop's distance in price.
    pub trail_amount: Option<f64>,
    /// A trailing stop's distance as a fraction of the close.
    pub trail_percent: Option<f64>,
    /// The entry's order id, for the exit of a bracket.
    pub parent_id: Option<usize>,
}

/// `floor` kept in float (infinities and NaN pass through), as `quanta_ref.execution.floor`.
pub fn floor(x: f64) -> f64 {
    x.floor()
}

/// True when a buy would trade at limit-up or a sell at limit-down (within a tolerance).
pub fn blocked_by_price_limit(
    side: Side,
    price: f64,
    down: f64,
    up: f64,
    tick: Option<f64>,
) -> bool {
    if side == Side::Buy {
        let tolerance = match tick {
            Some(tick) => tick * 0.5,
            None => up * PRICE_LIMIT_RELATIVE_TOLERANCE,
        };
        return price >= up - tolerance;
    }
    let tolerance = match tick {
        Some(tick) => tick * 0.5,
        None => down * PRICE_LIMIT_RELATIVE_TOLERANCE,
    };
    price <= down + tolerance
}

named_enum! {
/// What left the float range (docs/semantics.md section 7, "Magnitudes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverflowKind {
    /// A value a fill would book.
    Fill = "fill",
    /// A quantity sizing an order gives.
    Size = "size",
    /// The equity at a row's record step.
    Equity = "equity",
}
}

/// Why a run stops: an accounting value left the float range. The Python side raises
/// `quanta_ref.portfolio.overflow_error(kind, field, value, order_id, symbol, index, now)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overflow {
    /// What was being computed.
    pub kind: OverflowKind,
    /// The value's name.
    pub field: &'static str,
    /// The value (infinite or NaN).
    pub value: f64,
    /// The order being sized or filled (0 for the equity).
    pub order_id: usize,
    /// Its symbol's column (for the equity: the first position that takes it out of range).
    pub column: usize,
    /// The row (`ctx.bar_index`).
    pub index: i64,
    /// Its timestamp.
    pub now: i64,
}

/// One-lot steps down the affordability search may take (see [`Broker::affordable`]).
const AFFORD_STEPS: usize = 8;

/// The target of a target order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// `order_target_quantity`.
    Quantity(f64),
    /// `order_target_percent`.
    Percent(f64),
}

/// A bracket's exit levels and its current exit orders (docs/semantics.md, section 22).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bracket {
    /// The stop-loss price, if any.
    pub stop_loss: Option<f64>,
    /// The take-profit price, if any.
    pub take_profit: Option<f64>,
    /// Positions in `orders` of the last exit pair made (stop-loss, take-profit), accepted or
    /// not.
    pub exits: [Option<usize>; 2],
}

/// The broker of one run: the orders, the account they book into, the limits they are checked
/// against, and the per-symbol day state of the order path.
#[derive(Clone, Debug)]
pub struct Broker {
    /// The settings.
    pub cfg: Config,
    /// Cash and positions.
    pub portfolio: Portfolio,
    /// Limits.
    pub risk: RiskManager,
    /// Every order; `order_id` = position + 1.
    pub orders: Vec<Order>,
    /// Positions in `orders` of the live orders, in order-id order.
    pub live: Vec<usize>,
    /// One-cancels-other groups (group id = position + 1): each a range of `group_members`
    /// (one flat list, so that a run making groups allocates only as a `Vec` grows).
    pub groups: Vec<std::ops::Range<usize>>,
    /// The members of every group, group after group, each group's positions in `orders`
    /// ascending.
    pub group_members: Vec<usize>,
    /// The brackets, by the position of their entry in `orders`.
    pub brackets: BTreeMap<usize, Bracket>,
    /// Current row; -1 before the first bar (moved by the loop).
    pub index: i64,
    /// Current trading day (moved by `expire_day`).
    pub day: i64,
    /// Timestamp of the current row (of row 0 before the first bar; moved by the loop).
    pub now: i64,
    /// True while the loop matches the close phase (`fill_at="close"`).
    pub in_close_phase: bool,
    /// External execution (a session whose orders go to a broker): the engine never matches,
    /// expires or cancels a live order itself; the broker's reports ([`Broker::report_fill`],
    /// [`Broker::report_status`]) end them.
    pub external: bool,
    /// The Order and Fill events published for the loop to deliver, FIFO.
    pub events: EventQueue,
    /// (limit-down, limit-up) of the bar being matched (NaN: no limit on that side), set by
    /// the loop from the run's limit tables before it matches an order.
    pub bar_limits: (f64, f64),
    /// The commission model of each symbol column: its own (docs/semantics.md, section 24),
    /// else the engine-wide model (without one, `PerValue` with the rates in force, see
    /// [`Broker::set_rates`], which leaves the symbols' own models alone).
    pub commission_models: Vec<CommissionModel>,
    /// Whether each column has a commission model of its own.
    own_commission: Vec<bool>,
    /// External cost models (Python callables), when a model is `External`.
    pub external_costs: Option<CostHook>,
    /// FixedBps as a fraction (when `slippage_model` is None).
    slippage: f64,
    /// Any other slippage model.
    slippage_model: Option<SlippageModel>,
    capacity: Vec<f64>,
    /// Live GTD orders and live trailing stops: a row scans for neither when there is none.
    live_gtd: usize,
    live_trailing: usize,
    /// Lot size per column (its own, else the engine-wide one).
    lots: Vec<f64>,
    /// Tick per column (its own, else the engine-wide one).
    ticks: Vec<Option<f64>>,
    /// The engine's closing order of each margin symbol during a margin call (position in
    /// `orders`), or `usize::MAX`.
    liquidations: Vec<usize>,
    /// Volume of each symbol's bar at this row (slippage models).
    volume: Vec<f64>,
}

impl Broker {
    /// The broker of a run over `n_symbols` symbols whose first row is at `first_timestamp`,
    /// before that row.
    pub fn new(cfg: Config, n_symbols: usize, first_timestamp: i64) -> Self {
        let n = n_symbols;
        let (bps, slippage_model) = match cfg.slippage {
            None => (cfg.slippage_bps, None),
            Some(SlippageModel::FixedBps(bps)) => (bps, None),
            Some(model) => (0.0, Some(model)),
        };
        let commission = cfg.commission.clone().unwrap_or(CommissionModel::PerValue {
            rate: cfg.commission_rate,
            minimum: cfg.min_commission,
        });
        Broker {
            portfolio: Portfolio::new(n, cfg.initial_cash),
            risk: RiskManager::new(cfg.initial_cash),
            slippage: bps / 10_000.0,
            slippage_model,
            commission_models: vec![commission; n],
            own_commission: vec![false; n],
            external_costs: None,
            volume: vec![0.0; n],
            orders: Vec::new(),
            live: Vec::new(),
            groups: Vec::new(),
            group_members: Vec::new(),
            brackets: BTreeMap::new(),
            index: -1,
            day: trading_day(first_timestamp) - 1,
            now: first_timestamp,
            in_close_phase: false,
            external: false,
            events: EventQueue::new(),
            bar_limits: (f64::NAN, f64::NAN),
            capacity: vec![f64::INFINITY; n],
            live_gtd: 0,
            live_trailing: 0,
            lots: vec![cfg.lot_size; n],
            ticks: vec![cfg.tick_size; n],
            liquidations: vec![usize::MAX; n],
            cfg,
        }
    }

    /// The symbols' own settings (`quanta_ref.market.RunMarket`); all empty: none.
    pub fn use_instruments(&mut self, instruments: &Instruments<'_>) {
        if instruments.lots.is_empty() {
            return;
        }
        self.lots = instruments.lots.to_vec();
        self.ticks =
            instruments.ticks.iter().map(|&t| if t.is_nan() { None } else { Some(t) }).collect();
        self.portfolio.use_instruments(instruments);
        for (n, own) in instruments.commissions.iter().enumerate() {
            if let Some(model) = own {
                self.commission_models[n] = model.clone();
                self.own_commission[n] = true;
            }
        }
    }

    /// A symbol with a bar at this row: its participation capacity.
    #[inline(always)]
    pub fn open_symbol(&mut self, n: usize, volume: f64) {
        // Without a participation limit the capacity stays infinite and is never read.
        if let Some(fraction) = self.cfg.max_volume_fraction {
            self.capacity[n] = fraction * volume;
        }
        self.volume[n] = volume;
    }

    /// Put the cost rates `rates` in force: commission_rate, min_commission, sell_tax_rate,
    /// buy_tax_rate, transfer_fee_rate (a row of the run's rate table).
    pub fn set_rates(&mut self, rates: &[f64]) {
        self.cfg.commission_rate = rates[0];
        self.cfg.min_commission = rates[1];
        self.cfg.sell_tax_rate = rates[2];
        self.cfg.buy_tax_rate = rates[3];
        self.cfg.transfer_fee_rate = rates[4];
        if self.cfg.commission.is_none() {
            let model = CommissionModel::PerValue { rate: rates[0], minimum: rates[1] };
            for (slot, &own) in self.commission_models.iter_mut().zip(&self.own_commission) {
                if !own {
                    *slot = model.clone();
                }
            }
        }
    }

    /// Order `id` is eligible at this row: a DAY order's one trading day is this row's, the
    /// first it is eligible at, whether its symbol has a bar here or not.
    #[inline(always)]
    pub fn start_day(&mut self, id: usize) {
        let day = self.day;
        let order = &mut self.orders[id];
        if order.time_in_force == TimeInForce::Day && order.active_day.is_none() {
            order.active_day = Some(day);
        }
    }

    /// Yesterday's DAY orders expire (the reference's "day" control event).
    #[inline]
    pub fn expire_day(&mut self, day: i64) {
        self.day = day;
        if self.external {
            return;
        }
        let mut k = 0;
        while k < self.live.len() {
            let id = self.live[k];
            let order = &self.orders[id];
            let expired = order.time_in_force == TimeInForce::Day
                && matches!(order.active_day, Some(active) if active < day);
            if expired {
                self.finish(id, OrderStatus::Expired, Some(Reason::Expired));
                // It (and the rest of its group) left the live list: go on after it.
                k = self.live.partition_point(|&x| x < id);
            } else {
                k += 1;
            }
        }
    }

    /// Right after the new-day step of every row: the GTD orders whose `expire_at` is before
    /// this row's timestamp expire, in id order (`quanta_ref.execution.Broker.expire_gtd`).
    pub fn expire_gtd(&mut self) {
        if self.external || self.live_gtd == 0 {
            return;
        }
        let now = self.now;
        let mut k = 0;
        while k < self.live.len() {
            let order = &self.orders[self.live[k]];
            if matches!(order.expire_at, Some(expire_at) if expire_at < now) {
                // Its group may take older live orders with it: go on after it.
                let id = self.live[k];
                self.finish(id, OrderStatus::Expired, Some(Reason::Expired));
                k = self.live.partition_point(|&x| x < id);
            } else {
                k += 1;
            }
        }
    }

    /// Step 3, once the closes are set: every live trailing stop not yet triggered whose
    /// symbol has a bar here (`present`) follows its close, in id order; a sell stop only
    /// rises, a buy stop only falls (`quanta_ref.execution.Broker.trail_stops`).
    pub fn trail_stops(&mut self, present: &[bool]) {
        if self.external || self.live_trailing == 0 {
            return;
        }
        for &id in &self.live {
            let order = &mut self.orders[id];
            if order.order_type != OrderType::TrailingStop || order.triggered {
                continue;
            }
            let n = order.column;
            if !present[n] {
                continue;
            }
            let side = order.side.expect("a trailing stop has a side");
            let stop = order.stop_price.expect("a live trailing stop has a level");
            let close = self.portfolio.positions[n].last_price;
            let level = trailing_level(side, close, order.trail_amount, order.trail_percent);
            order.stop_price = Some(if side == Side::Sell {
                if level > stop {
                    level
                } else {
                    stop
                }
            } else if level < stop {
                level
            } else {
                stop
            });
        }
    }

    /// After an IOC or FOK order's one attempt (its first eligible row, in its phase), what
    /// is still live of order `id` is cancelled (`quanta_ref.execution.Broker.end_time_in_force`).
    pub fn end_time_in_force(&mut self, id: usize) {
        let order = &self.orders[id];
        if order.status.is_live()
            && matches!(order.time_in_force, TimeInForce::Ioc | TimeInForce::Fok)
        {
            self.finish(id, OrderStatus::Cancelled, Some(Reason::TimeInForce));
        }
    }

    /// A corporate action of symbol `n` on its ex-date, after the day's expiry: the account
    /// changes (`Portfolio::apply_action`), and a bonus or split cancels the symbol's sized
    /// live orders (`quanta_ref.execution.Broker.corporate_action`), unless execution is
    /// external (the broker decides what becomes of them).
    pub fn corporate_action(&mut self, n: usize, cash: f64, shares: f64) {
        let (rate, fractional) = (self.cfg.dividend_tax_rate, self.cfg.fractional);
        self.portfolio.apply_action(n, self.now, cash, shares, rate, fractional);
        if shares != 0.0 && !self.external {
            let mut k = 0;
            while k < self.live.len() {
                let id = self.live[k];
                let order = &self.orders[id];
                if order.column == n && order.side.is_some() {
                    self.finish(id, OrderStatus::Cancelled, Some(Reason::CorporateAction));
                    // It (and the rest of its group) left the live list: go on after it.
                    k = self.live.partition_point(|&x| x < id);
                } else {
                    k += 1;
                }
            }
        }
    }

    /// Whether `order` trades only in a close phase (a market order with `fill_at="close"`).
    pub fn waits_for_close(&self, order: &Order) -> bool {
        self.cfg.fill_at == FillAt::Close && order.order_type == OrderType::Market
    }

    /// The error stopping the run: sizing or filling order `id` gives `value`.
    fn overflow(
        &self,
        kind: OverflowKind,
        field: &'static str,
        value: f64,
        id: usize,
    ) -> Box<Overflow> {
        let order = &self.orders[id];
        Box::new(Overflow {
            kind,
            field,
            value,
            order_id: order.order_id,
            column: order.column,
            index: self.index,
            now: self.now,
        })
    }

    /// The error stopping the run: the equity at the record step is `equity`.
    pub fn equity_overflow(&self, equity: f64) -> Box<Overflow> {
        Box::new(Overflow {
            kind: OverflowKind::Equity,
            field: "equity",
            value: equity,
            order_id: 0,
            column: self.portfolio.overflowing_column(),
            index: self.index,
            now: self.now,
        })
    }

    /// `quantity`, computed from `source` for order `id`: a NaN, or an infinity that `source`
    /// was not, stops the run. (An infinite target is "more than any float": the cash, the
    /// holding or the limits then decide the quantity.)
    fn sized(&self, quantity: f64, id: usize, source: f64) -> Result<f64, Box<Overflow>> {
        if quantity.is_nan() || (quantity.is_infinite() && !source.is_infinite()) {
            Err(self.overflow(OverflowKind::Size, "quantity", quantity, id))
        } else {
            Ok(quantity)
        }
    }

    // ============================================================ matching one order
    /// Try to fill order `id` in this bar of its symbol. Mirrors `Broker.match_order` of
    /// `quanta_ref.execution`; an accounting value outside the float range stops the run.
    pub fn match_order(
        &mut self,
        id: usize,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        at_close: bool,
    ) -> Result<(), Box<Stop>> {
        let n = self.orders[id].column;
        let sized_here = self.orders[id].side.is_none();
        let bar = [open, high, low, close];
        let price = if sized_here {
            // A target order's fill price is the one it was sized at (a market order's).
            match self.size_target(id, open, high, low, close, at_close)? {
                Some(price) => Some(price),
                None => return Ok(()),
            }
        } else {
            let mut order = self.orders[id];
            let side = order.side.expect("sized");
            let asked = order.remaining();
            let slip = |base| self.slip(n, side, base, bar, asked);
            let price = fill_price(&mut order, open, high, low, close, at_close, slip);
            self.orders[id].triggered = order.triggered;
            price?
        };
        let side = self.orders[id].side.expect("sized above");
        let price = match price {
            Some(price) if !self.blocked(side, price, n) => price,
            _ => {
                self.wait(id, sized_here);
                return Ok(());
            }
        };
        let mut quantity = self.orders[id].remaining();
        if self.cfg.max_volume_fraction.is_some() && quantity > self.capacity[n] {
            quantity = self.floor_lots(self.capacity[n], n);
            if quantity <= 0.0 {
                self.wait(id, sized_here); // no participation left in this bar
                return Ok(());
            }
        }
        let mut end_reason = None;
        if !self.cfg.allow_short {
            if side == Side::Sell {
                let held = self.portfolio.positions[n].quantity;
                if held <= 0.0 {
                    self.end(id, Reason::InsufficientPosition, false);
                    return Ok(());
                }
                let sellable =
                    self.portfolio.sellable(n, self.day, self.cfg.settlement == Settlement::TPlus1);
                if quantity > sellable {
                    // Whole lots, or the whole holding (an odd lot goes all at once).
                    quantity =
                        if sellable == held { sellable } else { self.floor_lots(sellable, n) };
                    if quantity <= 0.0 {
                        self.wait(id, sized_here); // T+1: wait for the next day
                        return Ok(());
                    }
                }
                if quantity == held && quantity < self.orders[id].remaining() {
                    end_reason = Some(Reason::InsufficientPosition);
                }
                if !self.covers_sell_costs(n, quantity, price)? {
                    self.end(id, Reason::InsufficientCash, false);
                    return Ok(());
                }
            } else if !self.affords(n, quantity, price)? {
                quantity = self.affordable(n, price, id)?;
                if quantity <= 0.0 {
                    self.end(id, Reason::InsufficientCash, false);
                    return Ok(());
                }
                end_reason = Some(Reason::InsufficientCash);
            }
        }
        // Fill or kill: all of what remains in this attempt, or nothing at all.
        if self.orders[id].time_in_force == TimeInForce::Fok
            && (quantity != self.orders[id].remaining() || end_reason.is_some())
        {
            self.finish(id, OrderStatus::Cancelled, Some(Reason::TimeInForce));
            return Ok(());
        }
        // The risk limits again, with the position, equity and price of this moment.
        let equity = self.portfolio.equity_marking(n, price);
        let reason = self.risk.check(&self.cfg, &self.portfolio, n, side, quantity, price, equity);
        if let Some(reason) = reason {
            self.end(id, reason, false);
            return Ok(());
        }
        self.book_fill(id, side, quantity, price, end_reason)
    }

    /// The price of a market-style fill of column `n` whose unslipped price is `base`, moved
    /// against the trader by the slippage model and kept inside the bar (open, high, low,
    /// close); `asked` is the quantity asked at this bar (`quanta_ref.execution.Broker.slip`).
    fn slip(
        &self,
        n: usize,
        side: Side,
        base: f64,
        bar: [f64; 4],
        asked: f64,
    ) -> Result<f64, Box<Stop>> {
        let (high, low) = (bar[1], bar[2]);
        let fraction = match self.slippage_model {
            None | Some(SlippageModel::FixedBps(_)) => self.slippage,
            Some(SlippageModel::RangeFraction(fraction)) => {
                return Ok(range_price(side, base, high, low, fraction));
            }
            Some(SlippageModel::SquareRootImpact(coefficient)) => {
                impact(coefficient, asked, self.volume[n])
            }
            Some(SlippageModel::External) => {
                let hook = self.external_costs.as_ref().expect("set for external models");
                let bar = [bar[0], high, low, bar[3], self.volume[n]];
                let result = hook.0.slippage(n, bar, side, asked, base, self.index, self.now);
                result.map_err(|error| Box::new(Stop::Model(error)))?
            }
        };
        Ok(with_slippage(side, base, high, low, fraction))
    }

    /// Leave the order live for a later bar; a target order goes back to unsized.
    fn wait(&mut self, id: usize, sized_here: bool) {
        if sized_here {
            let order = &mut self.orders[id];
            order.side = None;
            order.quantity = 0.0;
        }
    }

    /// Turn a target order into a plain market order; false if it does not trade now.
    fn size_target(
        &mut self,
        id: usize,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        at_close: bool,
    ) -> Result<Option<f64>, Box<Stop>> {
        let order = self.orders[id];
        let n = order.column;
        let base = if at_close { close } else { open };
        let bar = [open, high, low, close];
        let held = self.portfolio.positions[n].quantity;
        let multiplier = self.portfolio.multipliers[n];
        let (side, price, target);
        // A weight of 0 is a target of 0, whatever the equity (even outside the range).
        let quantity =
            if order.target_percent == Some(0.0) { Some(0.0) } else { order.target_quantity };
        match (quantity, order.target_percent) {
            (Some(quantity), _) => {
                target = quantity;
                side = if target > held { Side::Buy } else { Side::Sell };
                price = self.slip(n, side, base, bar, (target - held).abs())?;
            }
            (None, Some(weight)) => {
                // The side comes from the unslipped price, the size from the slipped one.
                // A unit is worth price x multiplier.
                let rough = weight * self.portfolio.equity_marking(n, base) / (base * multiplier);
                side = if rough > held { Side::Buy } else { Side::Sell };
                price = self.slip(n, side, base, bar, (rough - held).abs())?;
                let sized = weight * self.portfolio.equity_marking(n, price) / (price * multiplier);
                target = self.sized(sized, id, f64::INFINITY)?;
            }
            (None, None) => unreachable!("only target orders are unsized"),
        }
        if target == held {
            self.end(id, Reason::ZeroQuantity, true);
            return Ok(None);
        }
        if self.blocked(side, price, n) {
            return Ok(None); // at a price limit: waits, unsized
        }
        let delta = target - held;
        if (delta > 0.0) != (side == Side::Buy) {
            self.end(id, Reason::ZeroQuantity, true);
            return Ok(None);
        }
        let mut quantity = if target == 0.0 { held.abs() } else { self.floor_lots(delta.abs(), n) };
        if side == Side::Buy && !self.cfg.allow_short && !self.affords(n, quantity, price)? {
            quantity = self.affordable(n, price, id)?; // "all in": the most the cash buys
            if quantity <= 0.0 {
                self.end(id, Reason::InsufficientCash, false);
                return Ok(None);
            }
        }
        if quantity <= 0.0 {
            self.end(id, Reason::ZeroQuantity, true);
            return Ok(None);
        }
        let order = &mut self.orders[id];
        order.side = Some(side);
        order.quantity = quantity;
        Ok(Some(price))
    }

    /// Whether a daily price limit of this bar stops a fill of column `n` at `price` (NaN:
    /// no limit).
    fn blocked(&self, side: Side, price: f64, n: usize) -> bool {
        let (down, up) = self.bar_limits;
        blocked_by_price_limit(side, price, down, up, self.ticks[n])
    }

    // ============================================================ costs and cash
    /// The commission of a fill of `quantity` of column `n` at `price`, worth `value`, by
    /// the column's commission model.
    pub fn commission(
        &self,
        n: usize,
        side: Side,
        quantity: f64,
        price: f64,
        value: f64,
    ) -> Result<f64, Box<Stop>> {
        match &self.commission_models[n] {
            CommissionModel::External => {
                let hook = self.external_costs.as_ref().expect("set for external models");
                let result = hook.0.commission(n, side, quantity, price, self.index, self.now);
                result.map_err(|error| Box::new(Stop::Model(error)))
            }
            model => Ok(model.commission(quantity, value)),
        }
    }

    /// Stamp duty (sell_tax_rate on sells, buy_tax_rate on buys) plus the transfer fee.
    pub fn tax(&self, side: Side, value: f64) -> f64 {
        let stamp = if side == Side::Sell { self.cfg.sell_tax_rate } else { self.cfg.buy_tax_rate };
        value * stamp + value * self.cfg.transfer_fee_rate
    }

    fn affords(&self, n: usize, quantity: f64, price: f64) -> Result<bool, Box<Stop>> {
        let value = quantity * price * self.portfolio.multipliers[n];
        let commission = self.commission(n, Side::Buy, quantity, price, value)?;
        Ok(self.portfolio.cash - value - commission - self.tax(Side::Buy, value) >= 0.0)
    }

    fn covers_sell_costs(&self, n: usize, quantity: f64, price: f64) -> Result<bool, Box<Stop>> {
        let value = quantity * price * self.portfolio.multipliers[n];
        let commission = self.commission(n, Side::Sell, quantity, price, value)?;
        Ok(self.portfolio.cash + value - commission - self.tax(Side::Sell, value) >= 0.0)
    }

    /// The largest whole-lot quantity of column `n` the cash buys at `price` (a unit costs
    /// price x multiplier), commission included, for order `id`; an estimate whose count of
    /// lots is beyond the float range stops the run.
    fn affordable(&self, n: usize, price: f64, id: usize) -> Result<f64, Box<Stop>> {
        let cash = self.portfolio.cash;
        let lot = self.lots[n];
        if cash <= 0.0 {
            return Ok(0.0);
        }
        let unit = price * self.portfolio.multipliers[n];
        let levies = self.cfg.buy_tax_rate + self.cfg.transfer_fee_rate;
        let CommissionModel::PerValue { rate, minimum } = self.commission_models[n] else {
            return self.affordable_search(n, price, unit, id, cash, levies);
        };
        let mut lots = floor(cash / (unit * (1.0 + rate + levies)) / lot);
        if minimum > 0.0 {
            let by_minimum = floor((cash - minimum) / (unit * (1.0 + levies)) / lot);
            if by_minimum < lots {
                lots = by_minimum;
            }
        }
        self.sized(lots, id, cash)?;
        for _ in 0..AFFORD_STEPS {
            #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must stop the search too
            if !(lots > 0.0) {
                return Ok(0.0);
            }
            if self.affords(n, lots * lot, price)? {
                return Ok(lots * lot);
            }
            // Past 10^15 lots one lot is below float resolution: the step grows.
            let step = floor(lots * 1e-15);
            lots = lots - if step > 1.0 { step } else { 1.0 };
        }
        Ok(0.0)
    }

    /// [`Broker::affordable`] for any commission model but PerValue: a bisection on the
    /// count of lots below the commission-free bound (`Broker.affordable_search`).
    fn affordable_search(
        &self,
        n: usize,
        price: f64,
        unit: f64,
        id: usize,
        cash: f64,
        levies: f64,
    ) -> Result<f64, Box<Stop>> {
        let lot = self.lots[n];
        let upper = self.sized(floor(cash / (unit * (1.0 + levies)) / lot), id, cash)?;
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must stop the search too
        if !(upper > 0.0) {
            return Ok(0.0);
        }
        if self.affords(n, upper * lot, price)? {
            return Ok(upper * lot);
        }
        let (mut lo, mut hi) = (0.0, upper);
        while hi - lo > 1.0 {
            let mid = floor(lo + (hi - lo) / 2.0);
            if mid <= lo || mid >= hi {
                break; // past 2^53 lots: no whole count between them
            }
            if self.affords(n, mid * lot, price)? {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(lo * lot)
    }

    /// `quantity` rounded down to whole lots. A finite quantity whose count of lots is beyond
    /// the float range is a whole number of lots to float precision: itself.
    fn floor_lots(&self, quantity: f64, n: usize) -> f64 {
        let lot = self.lots[n];
        let lots = quantity / lot;
        if lots.is_infinite() && !quantity.is_infinite() {
            return quantity;
        }
        floor(lots) * lot
    }

    // ============================================================ booking
    fn book_fill(
        &mut self,
        id: usize,
        side: Side,
        quantity: f64,
        price: f64,
        end_reason: Option<Reason>,
    ) -> Result<(), Box<Stop>> {
        let n = self.orders[id].column;
        let value = quantity * price * self.portfolio.multipliers[n];
        let commission = self.commission(n, side, quantity, price, value)?;
        let tax = self.tax(side, value);
        Ok(self.record_fill(id, side, quantity, price, commission, tax, end_reason)?)
    }

    /// Book a fill whose costs are known: the engine's own ([`Broker::book_fill`]) or the
    /// ones an external broker reported ([`Broker::report_fill`]). The order ends when nothing
    /// is left, or with `end_reason` when the rest can never fill; a value outside the float
    /// range stops the run before anything is booked.
    #[allow(clippy::too_many_arguments)]
    fn record_fill(
        &mut self,
        id: usize,
        side: Side,
        quantity: f64,
        price: f64,
        commission: f64,
        tax: f64,
        end_reason: Option<Reason>,
    ) -> Result<(), Box<Overflow>> {
        let order = &self.orders[id];
        let value = quantity * price * self.portfolio.multipliers[order.column];
        let average_fill_price = (order.average_fill_price * order.filled_quantity
            + price * quantity)
            / (order.filled_quantity + quantity);
        let costs = [
            ("value", value),
            ("commission", commission),
            ("tax", tax),
            ("average_fill_price", average_fill_price),
        ];
        if let Some(&(field, x)) = costs.iter().find(|(_, x)| !x.is_finite()) {
            return Err(self.overflow(OverflowKind::Fill, field, x, id));
        }
        let n = order.column;
        let fill = Fill {
            order_id: self.orders[id].order_id,
            timestamp: self.now,
            column: n,
            side,
            quantity,
            price,
            commission,
            tax,
        };
        if let Err((field, x)) = self.portfolio.apply_fill(fill, self.day) {
            return Err(self.overflow(OverflowKind::Fill, field, x, id));
        }
        if self.cfg.max_volume_fraction.is_some() {
            self.capacity[n] = self.capacity[n] - quantity;
        }
        let order = &mut self.orders[id];
        order.average_fill_price = average_fill_price;
        order.filled_at = Some(fill.timestamp);
        let mut ended = false;
        if quantity == order.remaining() {
            order.filled_quantity = order.quantity;
            order.status = OrderStatus::Filled;
            ended = true;
        } else {
            order.filled_quantity = order.filled_quantity + quantity;
            order.status = OrderStatus::PartiallyFilled;
            if let Some(reason) = end_reason {
                order.status = OrderStatus::Cancelled; // the rest can never fill
                order.reject_reason = Some(reason);
                ended = true;
            }
        }
        if ended {
            self.remove_live(id);
        }
        // The events queued together, the order snapshotted now; then what the fill does to
        // the order's group and to a bracket's exits, before anything is delivered.
        self.events.push(Event::Fill(fill));
        self.publish_order(id);
        self.cancel_group(id);
        if !self.brackets.is_empty() && self.brackets.contains_key(&id) {
            self.bracket_exits(id, quantity);
        }
        Ok(())
    }

    // ============================================================ external execution
    /// An external broker filled `quantity` of order `order_id` (1-based; live, sized, and
    /// `quantity` at most what remains: the session checked) at `price` with these costs:
    /// booked at the current row like any fill.
    pub fn report_fill(
        &mut self,
        order_id: usize,
        quantity: f64,
        price: f64,
        commission: f64,
        tax: f64,
    ) -> Result<(), Box<Overflow>> {
        let id = order_id - 1;
        let side = self.orders[id].side.expect("a reported fill is of a sized order");
        self.record_fill(id, side, quantity, price, commission, tax, None)
    }

    /// An external broker ended order `order_id` (1-based, live: the session checked) with
    /// `status` (Cancelled, Rejected or Expired) and `reason`.
    pub fn report_status(&mut self, order_id: usize, status: OrderStatus, reason: Option<Reason>) {
        self.finish(order_id - 1, status, reason);
    }

    /// The engine ends a live order: Rejected if nothing filled, else Cancelled
    /// (`cancelled` forces Cancelled: a target order with no work was not refused).
    fn end(&mut self, id: usize, reason: Reason, cancelled: bool) {
        let rejected = self.orders[id].filled_quantity == 0.0 && !cancelled;
        let status = if rejected { OrderStatus::Rejected } else { OrderStatus::Cancelled };
        self.finish(id, status, Some(reason));
    }

    /// Queue a snapshot of order `id` as it is now (`on_order`), unless the strategy does not
    /// listen to order events ([`EventQueue::skip_orders`]): a snapshot is a few hundred
    /// bytes, moved into the queue and out again.
    #[inline]
    fn publish_order(&mut self, id: usize) {
        if self.events.takes_orders() {
            self.events.push(Event::Order(self.orders[id]));
        }
    }

    /// End live order `id` with `status` and `reason`, and the rest of its group with it.
    fn finish(&mut self, id: usize, status: OrderStatus, reason: Option<Reason>) {
        let order = &mut self.orders[id];
        order.status = status;
        order.reject_reason = reason;
        self.remove_live(id);
        self.publish_order(id);
        // An order the engine refused at its fill leaves its group as it is: the other orders
        // still protect the position.
        if status != OrderStatus::Rejected {
            self.cancel_group(id);
        }
    }

    // ============================================================ one-cancels-other
    /// Put the live, ungrouped orders `ids` (positions in `orders`, checked by the caller) in
    /// a new one-cancels-other group; returns its id (1, 2, ...).
    pub fn oco(&mut self, ids: &[usize]) -> usize {
        let start = self.group_members.len();
        self.group_members.extend_from_slice(ids);
        self.group_members[start..].sort_unstable();
        self.groups.push(start..self.group_members.len());
        let group_id = self.groups.len();
        for &id in ids {
            self.orders[id].oco_group = Some(group_id);
        }
        group_id
    }

    /// Order `id` filled or ended: the other live orders of its group are cancelled (reason
    /// `Oco`), in id order, their events queued behind its own.
    fn cancel_group(&mut self, id: usize) {
        let Some(group_id) = self.orders[id].oco_group else { return };
        for k in self.groups[group_id - 1].clone() {
            let other = self.group_members[k];
            if other != id && self.orders[other].status.is_live() {
                let order = &mut self.orders[other];
                order.status = OrderStatus::Cancelled;
                order.reject_reason = Some(Reason::Oco);
                self.remove_live(other);
                self.publish_order(other);
            }
        }
    }

    // ============================================================ brackets
    /// Submit a bracket's entry (arguments already validated); its exits come with its fills.
    /// Returns the entry's order id (a refused entry too, as Rejected).
    #[allow(clippy::too_many_arguments)]
    pub fn submit_bracket(
        &mut self,
        column: usize,
        side: Side,
        quantity: f64,
        order_type: OrderType,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        time_in_force: TimeInForce,
        expire_at: Option<i64>,
        stop_loss: Option<f64>,
        take_profit: Option<f64>,
    ) -> usize {
        let terms = Terms { expire_at, ..Terms::default() };
        let (kind, limit, stop, tif) = (order_type, limit_price, stop_price, time_in_force);
        let order_id =
            self.submit_order_with(column, side, quantity, kind, limit, stop, tif, terms);
        let id = order_id - 1;
        if self.orders[id].status.is_live() {
            // A rejected entry never fills: it needs no exits.
            self.brackets.insert(id, Bracket { stop_loss, take_profit, exits: [None, None] });
        }
        order_id
    }

    /// The entry `entry` of a bracket filled `quantity`: its live exits grow by it, or, when
    /// none is live, a new pair is submitted, the stop-loss first (the older order is matched
    /// first in a bar that reaches both levels: the loss is taken).
    fn bracket_exits(&mut self, entry: usize, quantity: f64) {
        let bracket = self.brackets[&entry];
        let live = |k: &usize| self.orders[*k].status.is_live();
        if bracket.exits.iter().flatten().any(live) {
            for &exit in bracket.exits.iter().flatten() {
                if self.orders[exit].status.is_live() {
                    let order = &mut self.orders[exit];
                    order.quantity = order.quantity + quantity;
                    self.publish_order(exit);
                }
            }
            return;
        }
        let order = self.orders[entry];
        let side = if order.side == Some(Side::Buy) { Side::Sell } else { Side::Buy };
        let parent = Some(order.order_id);
        let levels = [
            bracket.stop_loss.map(|stop| (OrderType::Stop, None, Some(stop))),
            bracket.take_profit.map(|limit| (OrderType::Limit, Some(limit), None)),
        ];
        let mut made: [Option<(usize, Option<Reason>)>; 2] = [None, None];
        for (slot, level) in made.iter_mut().zip(levels) {
            if let Some((kind, limit, stop)) = level {
                let tif = TimeInForce::Gtc;
                let id = self.new_order(
                    order.column,
                    Some(side),
                    quantity,
                    kind,
                    limit,
                    stop,
                    tif,
                    None,
                    Terms { parent_id: parent, ..Terms::default() },
                );
                *slot = Some((id, self.acceptance(id)));
            }
        }
        if let Some(bracket) = self.brackets.get_mut(&entry) {
            bracket.exits = made.map(|m| m.map(|(id, _)| id));
        }
        if let [Some((stop, None)), Some((limit, None))] = made {
            self.oco(&[stop, limit]); // before their submissions are seen
        }
        for (id, reason) in made.into_iter().flatten() {
            self.admit(id, reason);
        }
    }

    fn remove_live(&mut self, id: usize) {
        if let Some(k) = self.live.iter().position(|&x| x == id) {
            self.live.remove(k);
            self.count_live(id, false);
        }
    }

    /// Keep the counts of live GTD orders and trailing stops as order `id` becomes live
    /// (`live`) or ends.
    fn count_live(&mut self, id: usize, live: bool) {
        let order = &self.orders[id];
        let counts = [
            (order.time_in_force == TimeInForce::Gtd, &mut self.live_gtd),
            (order.order_type == OrderType::TrailingStop, &mut self.live_trailing),
        ];
        for (counted, count) in counts {
            if counted {
                *count = if live { *count + 1 } else { *count - 1 };
            }
        }
    }

    // ============================================================ ctx: orders
    #[allow(clippy::too_many_arguments)]
    fn new_order(
        &mut self,
        column: usize,
        side: Option<Side>,
        quantity: f64,
        order_type: OrderType,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        time_in_force: TimeInForce,
        target: Option<Target>,
        terms: Terms,
    ) -> usize {
        let i = self.index;
        // Eligible from the next bar; a market order in close mode already at this close,
        // unless this close has begun.
        let mut eligible = if i < 0 { 0 } else { i as usize + 1 };
        if self.cfg.fill_at == FillAt::Close
            && order_type == OrderType::Market
            && i >= 0
            && !self.in_close_phase
        {
            eligible = i as usize;
        }
        self.orders.push(Order {
            order_id: self.orders.len() + 1,
            column,
            side,
            quantity,
            filled_quantity: 0.0,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            status: OrderStatus::Pending,
            reject_reason: None,
            created_at: self.now,
            filled_at: None,
            target_quantity: match target {
                Some(Target::Quantity(q)) => Some(q),
                _ => None,
            },
            target_percent: match target {
                Some(Target::Percent(w)) => Some(w),
                _ => None,
            },
            average_fill_price: 0.0,
            expire_at: terms.expire_at,
            trail_amount: terms.trail_amount,
            trail_percent: terms.trail_percent,
            oco_group: None,
            parent_id: terms.parent_id,
            triggered: false,
            eligible_bar: eligible,
            active_day: None,
        });
        self.orders.len() - 1
    }

    fn admit(&mut self, id: usize, reason: Option<Reason>) -> usize {
        match reason {
            None => {
                self.live.push(id);
                self.count_live(id, true);
            }
            Some(reason) => {
                let order = &mut self.orders[id];
                order.status = OrderStatus::Rejected;
                order.reject_reason = Some(reason);
            }
        }
        self.publish_order(id);
        self.orders[id].order_id
    }

    /// Submit a plain order (arguments already validated); returns its order id. A refused
    /// order is returned too, as Rejected.
    #[allow(clippy::too_many_arguments)]
    pub fn submit_order(
        &mut self,
        column: usize,
        side: Side,
        quantity: f64,
        order_type: OrderType,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        time_in_force: TimeInForce,
    ) -> usize {
        let terms = Terms::default();
        let (kind, tif) = (order_type, time_in_force);
        self.submit_order_with(column, side, quantity, kind, limit_price, stop_price, tif, terms)
    }

    /// [`Broker::submit_order`] with its optional terms (arguments already validated; a
    /// trailing stop's `stop_price` is its initial level, None when its symbol has no close
    /// yet, which acceptance refuses).
    #[allow(clippy::too_many_arguments)]
    pub fn submit_order_with(
        &mut self,
        column: usize,
        side: Side,
        quantity: f64,
        order_type: OrderType,
        limit_price: Option<f64>,
        stop_price: Option<f64>,
        time_in_force: TimeInForce,
        terms: Terms,
    ) -> usize {
        let id = self.new_order(
            column,
            Some(side),
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            None,
            terms,
        );
        let reason = self.acceptance(id);
        self.admit(id, reason)
    }

    /// Why a plain order is refused at submission (docs: "Acceptance").
    fn acceptance(&self, id: usize) -> Option<Reason> {
        let order = &self.orders[id];
        let n = order.column;
        let side = order.side.expect("plain orders have a side");
        let held = self.portfolio.positions[n].quantity;
        let price = match (order.limit_price, order.stop_price) {
            (Some(limit), _) => limit,
            (None, Some(stop)) => stop,
            (None, None) => {
                let last = self.portfolio.positions[n].last_price;
                if last.is_nan() {
                    return Some(Reason::NoPrice);
                }
                last
            }
        };
        let quantity = order.quantity;
        if !self.cfg.fractional {
            let whole_holding = side == Side::Sell && quantity == held;
            if quantity != floor(quantity) || (!whole_holding && quantity % self.lots[n] != 0.0) {
                return Some(Reason::LotSize);
            }
        }
        if side == Side::Sell && !self.cfg.allow_short && quantity > held {
            return Some(Reason::InsufficientPosition);
        }
        self.risk.check(
            &self.cfg,
            &self.portfolio,
            n,
            side,
            quantity,
            price,
            self.portfolio.equity(),
        )
    }

    /// Submit a target order (`value` already checked finite); returns its order id.
    pub fn submit_target(
        &mut self,
        column: usize,
        target: Target,
        time_in_force: TimeInForce,
    ) -> usize {
        self.submit_target_with(column, target, time_in_force, None)
    }

    /// [`Broker::submit_target`] with a GTD order's `expire_at` (already checked).
    pub fn submit_target_with(
        &mut self,
        column: usize,
        target: Target,
        time_in_force: TimeInForce,
        expire_at: Option<i64>,
    ) -> usize {
        let terms = Terms { expire_at, ..Terms::default() };
        let id = self.new_order(
            column,
            None,
            0.0,
            OrderType::Market,
            None,
            None,
            time_in_force,
            Some(target),
            terms,
        );
        let reason = if self.portfolio.positions[column].last_price.is_nan() {
            Some(Reason::NoPrice)
        } else {
            match target {
                Target::Quantity(v) | Target::Percent(v) if v < 0.0 && !self.cfg.allow_short => {
                    Some(Reason::InsufficientPosition)
                }
                Target::Quantity(v) if !self.cfg.fractional && v != floor(v) => {
                    Some(Reason::LotSize)
                }
                _ => None,
            }
        };
        self.admit(id, reason)
    }

    /// The record step of an account with margin symbols
    /// (`quanta_ref.execution.Broker.margin_check`): `equity` below the maintenance margin
    /// puts it in a margin call, at or above ends one. When a call begins the live orders of
    /// the margin symbols end (`margin_call`); while it lasts every open margin position
    /// without a live closing order gets one (a GTC target order of 0), in data order.
    pub fn margin_check(&mut self, equity: f64) {
        #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN counts as "not below", as in Python
        if !(equity < self.portfolio.maintenance_margin()) {
            self.risk.margin_call = false;
            return;
        }
        let begins = !self.risk.margin_call;
        self.risk.margin_call = true;
        if self.external {
            return; // the broker runs its own margin calls
        }
        if begins {
            let mut k = 0;
            while k < self.live.len() {
                let id = self.live[k];
                if self.portfolio.margins[self.orders[id].column].is_nan() {
                    k += 1;
                } else {
                    self.end(id, Reason::MarginCall, false);
                }
            }
        }
        for n in 0..self.portfolio.positions.len() {
            if self.portfolio.margins[n].is_nan() || self.portfolio.positions[n].quantity == 0.0 {
                continue;
            }
            let closing = self.liquidations[n];
            if closing == usize::MAX || !self.orders[closing].status.is_live() {
                let target = Some(Target::Quantity(0.0));
                let (kind, tif) = (OrderType::Market, TimeInForce::Gtc);
                let id =
                    self.new_order(n, None, 0.0, kind, None, None, tif, target, Terms::default());
                self.admit(id, None);
                self.liquidations[n] = id;
            }
        }
    }

    /// Cancel order `order_id` (1-based, must exist); false if it had already ended.
    pub fn cancel(&mut self, order_id: usize) -> bool {
        let id = order_id - 1;
        if !self.orders[id].status.is_live() {
            return false;
        }
        self.finish(id, OrderStatus::Cancelled, None);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(side: Side, order_type: OrderType, limit: Option<f64>, stop: Option<f64>) -> Order {
        let mut broker = Broker::new(Config::default(), 1, 0);
        broker.portfolio.positions[0].last_price = 10.0;
        let id = broker.submit_order(0, side, 1.0, order_type, limit, stop, TimeInForce::Gtc);
        broker.orders[id - 1]
    }

    /// (open, high, low, close) of one bar.
    fn price(order: &mut Order, (open, high, low, close): (f64, f64, f64, f64)) -> Option<f64> {
        let side = order.side.expect("sized");
        let slip = |base| Ok::<f64, ()>(with_slippage(side, base, high, low, 0.0));
        fill_price(order, open, high, low, close, false, slip).unwrap()
    }

    #[test]
    fn limit_buy_fills_at_the_open_when_the_open_gaps_below() {
        let mut buy = order(Side::Buy, OrderType::Limit, Some(10.0), None);
        assert_eq!(price(&mut buy, (9.0, 9.5, 8.5, 9.2)), Some(9.0));
        assert_eq!(price(&mut buy, (10.5, 11.0, 9.8, 10.9)), Some(10.0)); // reached in the bar
        assert_eq!(price(&mut buy, (10.5, 11.0, 10.1, 10.9)), None);
    }

    #[test]
    fn limit_sell_fills_at_the_open_when_the_open_gaps_above() {
        let mut sell = order(Side::Sell, OrderType::Limit, Some(10.0), None);
        assert_eq!(price(&mut sell, (11.0, 11.5, 10.5, 11.2)), Some(11.0));
        assert_eq!(price(&mut sell, (9.5, 10.2, 9.0, 9.9)), Some(10.0));
    }

    #[test]
    fn stop_buy_triggered_inside_the_bar_fills_at_the_stop_and_at_a_gap_at_the_open() {
        let mut stop = order(Side::Buy, OrderType::Stop, None, Some(10.5));
        assert_eq!(price(&mut stop, (10.0, 11.0, 9.8, 10.9)), Some(10.5));
        assert!(stop.triggered);
        let mut gapped = order(Side::Buy, OrderType::Stop, None, Some(10.5));
        assert_eq!(price(&mut gapped, (11.0, 11.5, 10.8, 11.2)), Some(11.0));
    }

    #[test]
    fn stop_limit_triggered_inside_the_bar_does_not_fill_when_the_stop_is_beyond_the_limit() {
        // Stop 10.5 is above the limit 10.2: the bar cannot tell whether the price came back.
        let mut buy = order(Side::Buy, OrderType::StopLimit, Some(10.2), Some(10.5));
        assert_eq!(price(&mut buy, (10.0, 11.0, 9.8, 10.9)), None);
        assert!(buy.triggered); // from now on a limit order
        assert_eq!(price(&mut buy, (10.4, 10.6, 10.1, 10.3)), Some(10.2));
        // Within the limit: it fills at the stop.
        let mut within = order(Side::Buy, OrderType::StopLimit, Some(10.8), Some(10.5));
        assert_eq!(price(&mut within, (10.0, 11.0, 9.8, 10.9)), Some(10.5));
    }

    #[test]
    fn slippage_moves_against_the_trader_but_stays_inside_the_bar() {
        assert_eq!(with_slippage(Side::Buy, 10.0, 11.0, 9.0, 0.01), 10.0 * (1.0 + 0.01));
        assert_eq!(with_slippage(Side::Buy, 10.0, 10.05, 9.0, 0.01), 10.05);
        assert_eq!(with_slippage(Side::Sell, 10.0, 11.0, 9.95, 0.01), 9.95);
    }

    #[test]
    fn price_limit_tolerance_is_half_a_tick_or_relative_without_a_tick() {
        // With a tick of 0.01 and limit-up 11.00: 10.996 is at the limit, 10.99 is not.
        assert!(blocked_by_price_limit(Side::Buy, 10.996, 9.0, 11.0, Some(0.01)));
        assert!(!blocked_by_price_limit(Side::Buy, 10.99, 9.0, 11.0, Some(0.01)));
        // Without a tick: limit-up 12.5 exactly; 12.5 is blocked, 12.49 is not.
        assert!(blocked_by_price_limit(Side::Buy, 12.5, 7.5, 12.5, None));
        assert!(!blocked_by_price_limit(Side::Buy, 12.49, 7.5, 12.5, None));
        // Sells at limit-down.
        assert!(blocked_by_price_limit(Side::Sell, 9.04, 9.04, 11.04, Some(0.01)));
        assert!(!blocked_by_price_limit(Side::Sell, 9.05, 9.04, 11.04, Some(0.01)));
    }

    fn broker(cfg: Config) -> Broker {
        let mut broker = Broker::new(cfg, 1, 0);
        broker.portfolio.positions[0].last_price = 10.0;
        broker.index = 0;
        broker.day = 0;
        broker
    }

    #[test]
    fn acceptance_refuses_odd_lots_short_sales_in_a_cash_account_and_unknown_prices() {
        let mut b = broker(Config { lot_size: 100.0, ..Config::default() });
        let market = OrderType::Market;
        let tif = TimeInForce::Gtc;
        let id = b.submit_order(0, Side::Buy, 150.0, market, None, None, tif);
        assert_eq!(b.orders[id - 1].reject_reason, Some(Reason::LotSize));
        let id = b.submit_order(0, Side::Sell, 100.0, market, None, None, tif);
        assert_eq!(b.orders[id - 1].reject_reason, Some(Reason::InsufficientPosition));
        b.portfolio.positions[0].last_price = f64::NAN;
        let id = b.submit_order(0, Side::Buy, 100.0, market, None, None, tif);
        assert_eq!(b.orders[id - 1].reject_reason, Some(Reason::NoPrice));
        assert!(b.live.is_empty());
        // Each refusal is published as an Order event.
        let mut published = 0;
        while let Some(Event::Order(order)) = b.events.pop() {
            assert_eq!(order.status, OrderStatus::Rejected);
            published += 1;
        }
        assert_eq!(published, 3);
    }

    #[test]
    fn a_market_buy_books_its_fill_with_commission_at_least_the_minimum() {
        let cfg = Config {
            initial_cash: 10_000.0,
            commission_rate: 0.001,
            min_commission: 5.0,
            ..Config::default()
        };
        let mut b = broker(cfg);
        let id =
            b.submit_order(0, Side::Buy, 100.0, OrderType::Market, None, None, TimeInForce::Gtc);
        b.index = 1;
        b.match_order(id - 1, 11.0, 12.0, 10.0, 11.5, false).unwrap();
        let order = b.orders[id - 1];
        assert_eq!(order.status, OrderStatus::Filled);
        assert_eq!(order.average_fill_price, 11.0);
        // 1_100 x 0.001 = 1.1 < 5: the minimum applies.
        assert_eq!(b.portfolio.cash, 10_000.0 - 1_100.0 - 5.0);
        assert!(b.live.is_empty());
        assert!(matches!(b.events.pop(), Some(Event::Order(_)))); // accepted
        assert!(matches!(b.events.pop(), Some(Event::Fill(f)) if f.price == 11.0));
        assert!(matches!(b.events.pop(), Some(Event::Order(o)) if o.status == OrderStatus::Filled));
    }

    #[test]
    fn a_buy_the_cash_cannot_pay_is_reduced_to_what_it_affords_and_the_rest_cancelled() {
        let mut b = broker(Config { initial_cash: 1_000.0, ..Config::default() });
        let id = b.submit_order(
            0,
            Side::Buy,
            50.0,
            OrderType::Limit,
            Some(30.0),
            None,
            TimeInForce::Gtc,
        );
        b.index = 1;
        b.match_order(id - 1, 25.0, 26.0, 24.0, 25.5, false).unwrap();
        let order = b.orders[id - 1];
        assert_eq!(order.filled_quantity, 40.0); // 1_000 / 25
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(order.reject_reason, Some(Reason::InsufficientCash));
    }

    #[test]
    fn a_day_order_expires_after_its_first_trading_day() {
        let mut b = broker(Config::default());
        let limit = Some(5.0);
        let id = b.submit_order(0, Side::Buy, 1.0, OrderType::Limit, limit, None, TimeInForce::Day);
        b.index = 1;
        b.start_day(id - 1); // eligible at this row: its day is the broker's, 0
        b.match_order(id - 1, 10.0, 10.0, 10.0, 10.0, false).unwrap(); // no fill
        b.expire_day(0);
        assert_eq!(b.orders[id - 1].status, OrderStatus::Pending);
        b.expire_day(1);
        assert_eq!(b.orders[id - 1].status, OrderStatus::Expired);
        assert_eq!(b.orders[id - 1].reject_reason, Some(Reason::Expired));
    }

    #[test]
    fn a_trailing_sell_stop_follows_the_close_up_and_never_down() {
        let mut b = broker(Config { allow_short: true, ..Config::default() });
        let terms = Terms { trail_percent: Some(0.1), ..Terms::default() };
        let kind = OrderType::TrailingStop;
        let level = trailing_level(Side::Sell, 10.0, None, Some(0.1));
        let tif = TimeInForce::Gtc;
        let id = b.submit_order_with(0, Side::Sell, 1.0, kind, None, Some(level), tif, terms);
        assert_eq!(b.orders[id - 1].stop_price, Some(10.0 * (1.0 - 0.1)));
        for (close, expected) in [(12.0, 12.0 * (1.0 - 0.1)), (11.0, 12.0 * (1.0 - 0.1))] {
            b.portfolio.positions[0].last_price = close;
            b.trail_stops(&[true]);
            assert_eq!(b.orders[id - 1].stop_price, Some(expected));
        }
        // No bar, or triggered: it stays.
        b.portfolio.positions[0].last_price = 20.0;
        b.trail_stops(&[false]);
        assert_eq!(b.orders[id - 1].stop_price, Some(12.0 * (1.0 - 0.1)));
        // It is matched as a stop at its level: inside the bar, slipped (no slippage here).
        assert_eq!(price(&mut b.orders[id - 1], (11.0, 11.2, 10.0, 10.5)), Some(10.8));
        assert!(b.orders[id - 1].triggered);
        b.trail_stops(&[true]);
        assert_eq!(b.orders[id - 1].stop_price, Some(12.0 * (1.0 - 0.1)));
    }

    #[test]
    fn a_buy_trailing_stop_by_amount_only_falls() {
        let mut b = broker(Config::default());
        let terms = Terms { trail_amount: Some(1.0), ..Terms::default() };
        let (kind, tif) = (OrderType::TrailingStop, TimeInForce::Gtc);
        let id = b.submit_order_with(0, Side::Buy, 1.0, kind, None, Some(11.0), tif, terms);
        for (close, expected) in [(8.0, 9.0), (9.5, 9.0)] {
            b.portfolio.positions[0].last_price = close;
            b.trail_stops(&[true]);
            assert_eq!(b.orders[id - 1].stop_price, Some(expected));
        }
    }

    #[test]
    fn gtd_orders_expire_at_the_first_row_after_expire_at() {
        let mut b = broker(Config::default());
        let terms = Terms { expire_at: Some(100), ..Terms::default() };
        let (kind, tif) = (OrderType::Limit, TimeInForce::Gtd);
        let id = b.submit_order_with(0, Side::Buy, 1.0, kind, Some(5.0), None, tif, terms);
        b.now = 100;
        b.expire_gtd();
        assert_eq!(b.orders[id - 1].status, OrderStatus::Pending);
        b.now = 101;
        b.expire_gtd();
        let order = b.orders[id - 1];
        assert_eq!(
            (order.status, order.reject_reason),
            (OrderStatus::Expired, Some(Reason::Expired))
        );
        assert!(b.live.is_empty());
    }

    #[test]
    fn an_fok_the_cash_would_cut_books_nothing_and_an_ioc_rest_is_cancelled() {
        let cfg = Config { initial_cash: 1_000.0, ..Config::default() };
        let mut b = broker(cfg);
        let (market, fok) = (OrderType::Market, TimeInForce::Fok);
        let id = b.submit_order(0, Side::Buy, 100.0, market, None, None, fok);
        b.index = 1;
        b.match_order(id - 1, 12.0, 12.0, 12.0, 12.0, false).unwrap();
        let order = b.orders[id - 1];
        assert_eq!((order.status, order.filled_quantity), (OrderStatus::Cancelled, 0.0));
        assert_eq!(order.reject_reason, Some(Reason::TimeInForce));
        assert_eq!(b.portfolio.cash, 1_000.0);
        // An IOC limit that does not reach its price: cancelled after its attempt.
        let ioc = TimeInForce::Ioc;
        let id = b.submit_order(0, Side::Buy, 10.0, OrderType::Limit, Some(5.0), None, ioc);
        b.match_order(id - 1, 12.0, 12.0, 12.0, 12.0, false).unwrap();
        assert_eq!(b.orders[id - 1].status, OrderStatus::Pending);
        b.end_time_in_force(id - 1);
        let order = b.orders[id - 1];
        assert_eq!(
            (order.status, order.reject_reason),
            (OrderStatus::Cancelled, Some(Reason::TimeInForce))
        );
    }

    #[test]
    fn cancel_ends_a_live_order_once() {
        let mut b = broker(Config::default());
        let id = b.submit_order(0, Side::Buy, 1.0, OrderType::Market, None, None, TimeInForce::Gtc);
        assert!(b.cancel(id));
        assert!(!b.cancel(id));
        assert_eq!(b.orders[id - 1].status, OrderStatus::Cancelled);
    }

    #[test]
    fn a_bracket_entry_fill_makes_grouped_exits_and_a_take_profit_fill_cancels_the_stop() {
        let mut b = broker(Config { initial_cash: 100_000.0, ..Config::default() });
        let (market, gtc) = (OrderType::Market, TimeInForce::Gtc);
        let entry = b.submit_bracket(
            0,
            Side::Buy,
            100.0,
            market,
            None,
            None,
            gtc,
            None,
            Some(9.0),
            Some(11.0),
        );
        b.index = 1;
        b.match_order(entry - 1, 10.0, 10.2, 9.8, 10.0, false).unwrap();
        // The stop-loss first, then the take-profit, both of the fill's quantity, in group 1.
        let (stop, limit) = (b.orders[1], b.orders[2]);
        assert_eq!(
            (stop.order_type, stop.side, stop.stop_price),
            (OrderType::Stop, Some(Side::Sell), Some(9.0))
        );
        assert_eq!((limit.order_type, limit.limit_price), (OrderType::Limit, Some(11.0)));
        assert_eq!((stop.quantity, stop.oco_group, stop.parent_id), (100.0, Some(1), Some(1)));
        assert_eq!((limit.quantity, limit.oco_group, limit.parent_id), (100.0, Some(1), Some(1)));
        assert_eq!(b.live, [1, 2]);
        b.index = 2;
        b.match_order(1, 10.5, 11.5, 10.4, 11.2, false).unwrap(); // the stop is not reached
        b.match_order(2, 10.5, 11.5, 10.4, 11.2, false).unwrap(); // the limit is: sold at 11
        assert_eq!(b.orders[2].status, OrderStatus::Filled);
        assert_eq!(b.orders[1].status, OrderStatus::Cancelled);
        assert_eq!(b.orders[1].reject_reason, Some(Reason::Oco));
        assert!(b.live.is_empty());
        // Events: accepted; fill, filled, the two exits; fill, filled, the stop cancelled.
        let mut seen = Vec::new();
        while let Some(event) = b.events.pop() {
            seen.push(match event {
                Event::Fill(f) => (f.order_id, "fill"),
                Event::Order(o) => (o.order_id, o.status.name()),
                _ => (0, "other"),
            });
        }
        assert_eq!(
            seen,
            [
                (1, "pending"),
                (1, "fill"),
                (1, "filled"),
                (2, "pending"),
                (3, "pending"),
                (3, "fill"),
                (3, "filled"),
                (2, "cancelled"),
            ]
        );
    }

    #[test]
    fn an_expiring_member_ends_its_group_and_the_day_goes_on_with_the_other_orders() {
        let mut b = broker(Config::default());
        let (limit, day, gtc) = (OrderType::Limit, TimeInForce::Day, TimeInForce::Gtc);
        let grouped = b.submit_order(0, Side::Buy, 1.0, limit, Some(5.0), None, gtc);
        let expiring = b.submit_order(0, Side::Buy, 1.0, limit, Some(5.0), None, day);
        let other = b.submit_order(0, Side::Buy, 1.0, limit, Some(5.0), None, day);
        assert_eq!(b.oco(&[expiring - 1, grouped - 1]), 1);
        b.index = 1;
        b.start_day(expiring - 1);
        b.start_day(other - 1);
        b.expire_day(1);
        let statuses: Vec<_> = b.orders.iter().map(|o| (o.status, o.reject_reason)).collect();
        assert_eq!(
            statuses,
            [
                (OrderStatus::Cancelled, Some(Reason::Oco)),
                (OrderStatus::Expired, Some(Reason::Expired)),
                (OrderStatus::Expired, Some(Reason::Expired)),
            ]
        );
        assert!(b.live.is_empty());
    }

    #[test]
    fn affordable_is_the_most_whole_lots_the_cash_buys_commission_included() {
        let cfg = Config {
            initial_cash: 10_000.0,
            commission_rate: 0.01,
            lot_size: 100.0,
            ..Config::default()
        };
        let b = broker(cfg);
        // 10_000 / (10 x 1.01) = 990.1 -> 9 lots; 900 x 10 x 1.01 = 9_090 fits.
        assert_eq!(b.affordable(0, 10.0, 0).ok(), Some(900.0));
        assert!(b.affords(0, 900.0, 10.0).unwrap() && !b.affords(0, 1_000.0, 10.0).unwrap());
    }

    #[test]
    fn affordable_bisects_for_a_per_share_commission_with_a_minimum() {
        // 10_000 cash at 10.0, lots of 100, 0.02/share with a minimum of 15: 1000 shares
        // cost 10_000 + 20 > cash; 900 cost 9_000 + 18 = 9_018: the most, 900.
        let model =
            CommissionModel::PerShare { per_share: 0.02, minimum: 15.0, maximum_rate: None };
        let cfg = Config {
            initial_cash: 10_000.0,
            lot_size: 100.0,
            commission: Some(model),
            ..Config::default()
        };
        let b = broker(cfg);
        assert_eq!(b.affordable(0, 10.0, 0).ok(), Some(900.0));
    }
}
