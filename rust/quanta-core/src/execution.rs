//! Execution: the broker (`quanta_ref.execution`). It holds the live orders and everything
//! the order path touches: acceptance, where an order trades inside a bar, sizing, costs and
//! the booking of fills into the portfolio it owns. The loop (`engine`) moves its clock and
//! delivers the Order and Fill events it publishes.
//!
//! Every price rule takes the view least favourable to the trader that the bar cannot rule
//! out; slippage moves market and stop fills against the trader but never outside the bar.

use std::sync::Arc;

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
    let kind = order.order_type;
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
    /// The commission model of each symbol column (all the engine-wide model; without one,
    /// `PerValue` with the rates in force, see [`Broker::set_rates`]).
    pub commission_models: Vec<CommissionModel>,
    /// External cost models (Python callables), when a model is `External`.
    pub external_costs: Option<CostHook>,
    /// FixedBps as a fraction (when `slippage_model` is None).
    slippage: f64,
    /// Any other slippage model.
    slippage_model: Option<SlippageModel>,
    capacity: Vec<f64>,
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
            external_costs: None,
            volume: vec![0.0; n],
            cfg,
            orders: Vec::new(),
            live: Vec::new(),
            index: -1,
            day: trading_day(first_timestamp) - 1,
            now: first_timestamp,
            in_close_phase: false,
            external: false,
            events: EventQueue::new(),
            bar_limits: (f64::NAN, f64::NAN),
            capacity: vec![f64::INFINITY; n],
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
            for slot in &mut self.commission_models {
                *slot = model.clone();
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
    pub fn expire_day(&mut self, day: i64) {
        self.day = day;
        if self.external {
            return;
        }
        let mut k = 0;
        while k < self.live.len() {
            let order = &self.orders[self.live[k]];
            let expired = order.time_in_force == TimeInForce::Day
                && matches!(order.active_day, Some(active) if active < day);
            if expired {
                self.finish(self.live[k], OrderStatus::Expired, Some(Reason::Expired));
            } else {
                k += 1;
            }
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
                let order = &self.orders[self.live[k]];
                if order.column == n && order.side.is_some() {
                    let reason = Some(Reason::CorporateAction);
                    self.finish(self.live[k], OrderStatus::Cancelled, reason);
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
            Some(price) if !self.blocked(side, price) => price,
            _ => {
                self.wait(id, sized_here);
                return Ok(());
            }
        };
        let mut quantity = self.orders[id].remaining();
        if self.cfg.max_volume_fraction.is_some() && quantity > self.capacity[n] {
            quantity = self.floor_lots(self.capacity[n]);
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
                    quantity = if sellable == held { sellable } else { self.floor_lots(sellable) };
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
                let rough = weight * self.portfolio.equity_marking(n, base) / base;
                side = if rough > held { Side::Buy } else { Side::Sell };
                price = self.slip(n, side, base, bar, (rough - held).abs())?;
                let sized = weight * self.portfolio.equity_marking(n, price) / price;
                target = self.sized(sized, id, f64::INFINITY)?;
            }
            (None, None) => unreachable!("only target orders are unsized"),
        }
        if target == held {
            self.end(id, Reason::ZeroQuantity, true);
            return Ok(None);
        }
        if self.blocked(side, price) {
            return Ok(None); // at a price limit: waits, unsized
        }
        let delta = target - held;
        if (delta > 0.0) != (side == Side::Buy) {
            self.end(id, Reason::ZeroQuantity, true);
            return Ok(None);
        }
        let mut quantity = if target == 0.0 { held.abs() } else { self.floor_lots(delta.abs()) };
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

    /// Whether a daily price limit of this bar stops a fill at `price` (NaN: no limit).
    fn blocked(&self, side: Side, price: f64) -> bool {
        let (down, up) = self.bar_limits;
        blocked_by_price_limit(side, price, down, up, self.cfg.tick_size)
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
        let value = quantity * price;
        let commission = self.commission(n, Side::Buy, quantity, price, value)?;
        Ok(self.portfolio.cash - value - commission - self.tax(Side::Buy, value) >= 0.0)
    }

    fn covers_sell_costs(&self, n: usize, quantity: f64, price: f64) -> Result<bool, Box<Stop>> {
        let value = quantity * price;
        let commission = self.commission(n, Side::Sell, quantity, price, value)?;
        Ok(self.portfolio.cash + value - commission - self.tax(Side::Sell, value) >= 0.0)
    }

    /// The largest whole-lot quantity the cash buys at `price`, commission included, for
    /// order `id`; an estimate whose count of lots is beyond the float range stops the run.
    fn affordable(&self, n: usize, price: f64, id: usize) -> Result<f64, Box<Stop>> {
        let cash = self.portfolio.cash;
        let lot = self.cfg.lot_size;
        if cash <= 0.0 {
            return Ok(0.0);
        }
        let levies = self.cfg.buy_tax_rate + self.cfg.transfer_fee_rate;
        let CommissionModel::PerValue { rate, minimum } = self.commission_models[n] else {
            return self.affordable_search(n, price, id, cash, levies);
        };
        let mut lots = floor(cash / (price * (1.0 + rate + levies)) / lot);
        if minimum > 0.0 {
            let by_minimum = floor((cash - minimum) / (price * (1.0 + levies)) / lot);
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
        id: usize,
        cash: f64,
        levies: f64,
    ) -> Result<f64, Box<Stop>> {
        let lot = self.cfg.lot_size;
        let upper = self.sized(floor(cash / (price * (1.0 + levies)) / lot), id, cash)?;
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
    fn floor_lots(&self, quantity: f64) -> f64 {
        let lot = self.cfg.lot_size;
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
        let value = quantity * price;
        let commission = self.commission(self.orders[id].column, side, quantity, price, value)?;
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
        let value = quantity * price;
        let order = &self.orders[id];
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
        // Both events queued together, the order snapshotted now.
        self.events.push(Event::Fill(fill));
        self.events.push(Event::Order(self.orders[id]));
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

    fn finish(&mut self, id: usize, status: OrderStatus, reason: Option<Reason>) {
        let order = &mut self.orders[id];
        order.status = status;
        order.reject_reason = reason;
        self.remove_live(id);
        self.events.push(Event::Order(self.orders[id]));
    }

    fn remove_live(&mut self, id: usize) {
        if let Some(k) = self.live.iter().position(|&x| x == id) {
            self.live.remove(k);
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
            triggered: false,
            eligible_bar: eligible,
            active_day: None,
        });
        self.orders.len() - 1
    }

    fn admit(&mut self, id: usize, reason: Option<Reason>) -> usize {
        match reason {
            None => self.live.push(id),
            Some(reason) => {
                let order = &mut self.orders[id];
                order.status = OrderStatus::Rejected;
                order.reject_reason = Some(reason);
            }
        }
        self.events.push(Event::Order(self.orders[id]));
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
        let id = self.new_order(
            column,
            Some(side),
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            None,
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
            if quantity != floor(quantity)
                || (!whole_holding && quantity % self.cfg.lot_size != 0.0)
            {
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
        let id = self.new_order(
            column,
            None,
            0.0,
            OrderType::Market,
            None,
            None,
            time_in_force,
            Some(target),
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
    fn cancel_ends_a_live_order_once() {
        let mut b = broker(Config::default());
        let id = b.submit_order(0, Side::Buy, 1.0, OrderType::Market, None, None, TimeInForce::Gtc);
        assert!(b.cancel(id));
        assert!(!b.cancel(id));
        assert_eq!(b.orders[id - 1].status, OrderStatus::Cancelled);
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
