//! The bar loop, order acceptance and the fill path (`quanta_ref.engine`).
//!
//! [`Core`] is the state of one run. [`run`] is the loop: it owns no state itself and reaches
//! the core through a [`Host`], which also delivers events to the strategy. The split exists so
//! that a strategy callback (Python, in `quanta-py`) can call back into the core while the
//! loop waits: the loop never holds the core across a delivery, and everything the core
//! publishes waits in its FIFO queue until the loop drains it, exactly like the reference's
//! event bus (an event published during a delivery is delivered after it).
//!
//! Read [`step`] first: it is one timestamp, in the order of docs/semantics.md section 2.

use crate::bars::BarsView;
use crate::config::Config;
use crate::events::{trading_day, Event, EventQueue, NS_PER_DAY};
use crate::execution::{self, floor};
use crate::orders::{Fill, Order, OrderStatus, OrderType, Reason, Side, TimeInForce};
use crate::portfolio::Portfolio;
use crate::risk::RiskManager;

/// One-lot steps down the affordability search may take (see [`Core::affordable`]).
const AFFORD_STEPS: usize = 8;

/// Where the loop meets the outside: access to the core, and delivery to the strategy.
pub trait Host {
    /// What a delivery can fail with (a strategy's exception, an interrupt).
    type Error;
    /// Run `f` on the core and the bars. Never called re-entrantly by [`run`].
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R;
    /// Deliver one event (Start, End, Bar, Order or Fill) to the strategy.
    fn deliver(&mut self, event: &Event) -> Result<(), Self::Error>;
    /// Called every few thousand bars: a chance to stop a long run (Ctrl-C).
    fn check_interrupt(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The target of a target order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// `order_target_quantity`.
    Quantity(f64),
    /// `order_target_percent`.
    Percent(f64),
}

/// The state of one run: account, orders, per-symbol day state, the event queue, the record.
#[derive(Clone, Debug)]
pub struct Core {
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
    /// Current row; -1 before the first bar.
    pub index: i64,
    /// Current trading day.
    pub day: i64,
    /// Timestamp of the current row (of row 0 before the first bar).
    pub now: i64,
    /// Events waiting for delivery, FIFO.
    pub queue: EventQueue,
    /// Equity at each row's close.
    pub equity: Vec<f64>,
    /// Cash at each row's close.
    pub cash: Vec<f64>,
    /// Rows with an open position at the close.
    pub bars_in_market: usize,
    slippage: f64,
    /// Start of the trading day after `day`: a row before it is still on `day`, so the
    /// division that finds a row's day is done once per day, not once per row.
    day_end: i64,
    in_close_phase: bool,
    present: Vec<bool>,
    reference_close: Vec<f64>,
    close_day: Vec<i64>,
    capacity: Vec<f64>,
    snapshot: Vec<usize>,
}

impl Core {
    /// A run over `bars` under `cfg`, before its first bar. `bars` must hold at least one row.
    pub fn new(cfg: Config, bars: &BarsView<'_>) -> Self {
        let n = bars.n_symbols;
        let t = bars.n_bars();
        Core {
            portfolio: Portfolio::new(n, cfg.initial_cash),
            risk: RiskManager::new(cfg.initial_cash),
            slippage: cfg.slippage_bps / 10_000.0,
            day_end: i64::MIN, // the first row always begins a day
            cfg,
            orders: Vec::new(),
            live: Vec::new(),
            index: -1,
            day: trading_day(bars.timestamps[0]) - 1,
            now: bars.timestamps[0],
            queue: EventQueue::new(),
            equity: Vec::with_capacity(t),
            cash: Vec::with_capacity(t),
            bars_in_market: 0,
            in_close_phase: false,
            present: vec![false; n],
            reference_close: vec![f64::NAN; n],
            close_day: vec![-1; n],
            capacity: vec![f64::INFINITY; n],
            snapshot: Vec::new(),
        }
    }

    /// Whether a symbol has a bar at the current row.
    pub fn is_present(&self, column: usize) -> bool {
        self.present[column]
    }

    // ============================================================ loop steps (see `step`)
    /// Row `i` begins: steps 1 to 3 of `step` in one visit when nothing can happen between
    /// them (the usual row: the same trading day, no live order).
    #[inline(always)]
    fn enter_row(&mut self, bars: &BarsView<'_>, i: usize) -> Entered {
        self.index = i as i64;
        self.now = bars.timestamps[i];
        // Timestamps ascend, so a row before `day_end` is on `day`.
        if self.now >= self.day_end {
            let day = trading_day(self.now);
            if day != self.day {
                return Entered::NewDay(day);
            }
        }
        if !self.live.is_empty() {
            self.open_row(bars, i);
            return Entered::Opened;
        }
        // No live order: the open phase would match nothing, so the bar opens and closes in
        // one pass over the symbols.
        Entered::Closed(self.open_and_close_row(bars, i))
    }

    /// Which symbols have a bar, the day's reference closes, the participation capacities.
    /// After `enter_row` and any new day's expiry, so `day` is this row's trading day.
    fn open_row(&mut self, bars: &BarsView<'_>, i: usize) {
        let n_symbols = bars.n_symbols;
        let row = i * n_symbols..(i + 1) * n_symbols;
        let columns = bars.close[row.clone()].iter().zip(&bars.volume[row]).enumerate();
        for (n, (&close, &volume)) in columns {
            self.present[n] = !close.is_nan();
            if self.present[n] {
                self.open_column(n, volume);
            }
        }
    }

    /// A symbol with a bar at this row: its reference close for the day (the last close of
    /// an earlier day) and its participation capacity.
    #[inline(always)]
    fn open_column(&mut self, n: usize, volume: f64) {
        if self.close_day[n] != self.day {
            self.reference_close[n] = self.portfolio.positions[n].last_price;
            self.close_day[n] = self.day;
        }
        // Without a participation limit the capacity stays infinite and is never read.
        if let Some(fraction) = self.cfg.max_volume_fraction {
            self.capacity[n] = fraction * volume;
        }
    }

    fn close_row(&mut self, bars: &BarsView<'_>, i: usize) {
        let n_symbols = bars.n_symbols;
        let closes = &bars.close[i * n_symbols..(i + 1) * n_symbols];
        let columns = self.portfolio.positions.iter_mut().zip(&self.present).zip(closes);
        for ((position, &present), &close) in columns {
            if present {
                position.last_price = close;
            }
        }
    }

    /// `open_row` then `close_row`, symbol by symbol in one pass (nothing reads the state of
    /// another symbol in between); returns the first symbol with a bar.
    #[inline(always)]
    fn open_and_close_row(&mut self, bars: &BarsView<'_>, i: usize) -> Option<usize> {
        let n_symbols = bars.n_symbols;
        let row = i * n_symbols..(i + 1) * n_symbols;
        let columns = bars.close[row.clone()].iter().zip(&bars.volume[row]).enumerate();
        let mut first = None;
        for (n, (&close, &volume)) in columns {
            self.present[n] = !close.is_nan();
            if self.present[n] {
                self.open_column(n, volume);
                self.portfolio.positions[n].last_price = close;
                first = first.or(Some(n));
            }
        }
        first
    }

    /// The first symbol at or after column `from` with a bar at this row.
    fn next_present(&self, from: usize) -> Option<usize> {
        let later = self.present.get(from..)?;
        later.iter().position(|&present| present).map(|k| from + k)
    }

    /// Step 6: equity and cash at the close, the drawdown stop, the time in the market.
    fn record_row(&mut self) {
        // `Portfolio::equity` (same operations, same order), noting an open position on the way.
        let mut equity = self.portfolio.cash;
        let mut in_market = false;
        for position in &self.portfolio.positions {
            if position.quantity != 0.0 {
                equity = equity + position.quantity * position.last_price;
                in_market = true;
            }
        }
        self.equity.push(equity);
        self.cash.push(self.portfolio.cash);
        self.risk.record_equity(&self.cfg, equity);
        if in_market {
            self.bars_in_market += 1;
        }
    }

    /// Yesterday's DAY orders expire (the reference's "day" control event).
    fn expire_day(&mut self, day: i64) {
        self.day = day;
        // The next day starts at (day + 1) x NS_PER_DAY; past the int64 range, never.
        self.day_end = (day + 1).saturating_mul(NS_PER_DAY);
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

    fn waits_for_close(&self, order: &Order) -> bool {
        self.cfg.fill_at_close && order.order_type == OrderType::Market
    }

    /// Match the `k`-th order of the phase snapshot if it is due; false when none is left.
    fn match_next(&mut self, bars: &BarsView<'_>, i: usize, k: usize, at_close: bool) -> bool {
        let Some(&id) = self.snapshot.get(k) else { return false };
        let order = &self.orders[id];
        let n = order.column;
        if order.status.is_live()
            && order.eligible_bar <= i
            && self.present[n]
            && self.waits_for_close(order) == at_close
        {
            let at = i * bars.n_symbols + n;
            let (o, h, l, c) = (bars.open[at], bars.high[at], bars.low[at], bars.close[at]);
            self.match_order(id, o, h, l, c, at_close);
        }
        true
    }

    // ============================================================ matching one order
    /// Try to fill order `id` in this bar of its symbol. Mirrors `_Run._match`.
    fn match_order(
        &mut self,
        id: usize,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        at_close: bool,
    ) {
        let n = self.orders[id].column;
        {
            let day = self.day;
            let order = &mut self.orders[id];
            if order.time_in_force == TimeInForce::Day && order.active_day.is_none() {
                order.active_day = Some(day); // its one trading day is the first it meets
            }
        }
        let sized_here = self.orders[id].side.is_none();
        if sized_here && !self.size_target(id, open, high, low, close, at_close) {
            return;
        }
        let side = self.orders[id].side.expect("sized above");
        let slippage = self.slippage;
        let price =
            execution::fill_price(&mut self.orders[id], open, high, low, close, at_close, slippage);
        let price = match price {
            Some(price) if !self.blocked(side, price, n) => price,
            _ => return self.wait(id, sized_here),
        };
        let mut quantity = self.orders[id].remaining();
        if self.cfg.max_volume_fraction.is_some() && quantity > self.capacity[n] {
            quantity = self.floor_lots(self.capacity[n]);
            if quantity <= 0.0 {
                return self.wait(id, sized_here); // no participation left in this bar
            }
        }
        let mut end_reason = None;
        if !self.cfg.allow_short {
            if side == Side::Sell {
                let held = self.portfolio.positions[n].quantity;
                if held <= 0.0 {
                    return self.end(id, Reason::InsufficientPosition, false);
                }
                let sellable = self.portfolio.sellable(n, self.day, self.cfg.t_plus_1);
                if quantity > sellable {
                    // Whole lots, or the whole holding (an odd lot goes all at once).
                    quantity = if sellable == held { sellable } else { self.floor_lots(sellable) };
                    if quantity <= 0.0 {
                        return self.wait(id, sized_here); // T+1: wait for the next day
                    }
                }
                if quantity == held && quantity < self.orders[id].remaining() {
                    end_reason = Some(Reason::InsufficientPosition);
                }
                if !self.covers_sell_costs(quantity, price) {
                    return self.end(id, Reason::InsufficientCash, false);
                }
            } else if !self.affords(quantity, price) {
                quantity = self.affordable(price);
                if quantity <= 0.0 {
                    return self.end(id, Reason::InsufficientCash, false);
                }
                end_reason = Some(Reason::InsufficientCash);
            }
        }
        // The risk limits again, with the position, equity and price of this moment.
        let equity = self.portfolio.equity_marking(n, price);
        let reason = self.risk.check(&self.cfg, &self.portfolio, n, side, quantity, price, equity);
        if let Some(reason) = reason {
            return self.end(id, reason, false);
        }
        self.fill(id, side, quantity, price, end_reason);
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
    ) -> bool {
        let order = self.orders[id];
        let n = order.column;
        let base = if at_close { close } else { open };
        let held = self.portfolio.positions[n].quantity;
        let (side, price, target);
        match (order.target_quantity, order.target_percent) {
            (Some(quantity), _) => {
                target = quantity;
                side = if target > held { Side::Buy } else { Side::Sell };
                price = execution::with_slippage(side, base, high, low, self.slippage);
            }
            (None, Some(weight)) => {
                // The side comes from the unslipped price, the size from the slipped one.
                let rough = weight * self.portfolio.equity_marking(n, base) / base;
                side = if rough > held { Side::Buy } else { Side::Sell };
                price = execution::with_slippage(side, base, high, low, self.slippage);
                target = weight * self.portfolio.equity_marking(n, price) / price;
            }
            (None, None) => unreachable!("only target orders are unsized"),
        }
        if target == held {
            self.end(id, Reason::ZeroQuantity, true);
            return false;
        }
        if self.blocked(side, price, n) {
            return false; // at a price limit: waits, unsized
        }
        let delta = target - held;
        if (delta > 0.0) != (side == Side::Buy) {
            self.end(id, Reason::ZeroQuantity, true);
            return false;
        }
        let mut quantity = if target == 0.0 { held.abs() } else { self.floor_lots(delta.abs()) };
        if side == Side::Buy && !self.cfg.allow_short && !self.affords(quantity, price) {
            quantity = self.affordable(price); // "all in": the most the cash buys
            if quantity <= 0.0 {
                self.end(id, Reason::InsufficientCash, false);
                return false;
            }
        }
        if quantity <= 0.0 {
            self.end(id, Reason::ZeroQuantity, true);
            return false;
        }
        let order = &mut self.orders[id];
        order.side = Some(side);
        order.quantity = quantity;
        true
    }

    fn blocked(&self, side: Side, price: f64, n: usize) -> bool {
        let Some(limit) = self.cfg.price_limit else { return false };
        let reference = self.reference_close[n];
        if reference.is_nan() {
            return false;
        }
        let (down, up) = execution::price_limits(reference, limit, self.cfg.tick_size);
        execution::blocked_by_price_limit(side, price, down, up, self.cfg.tick_size)
    }

    // ============================================================ costs and cash
    /// commission_rate x traded value, at least min_commission.
    pub fn commission(&self, value: f64) -> f64 {
        let commission = value * self.cfg.commission_rate;
        if commission > self.cfg.min_commission {
            commission
        } else {
            self.cfg.min_commission
        }
    }

    fn affords(&self, quantity: f64, price: f64) -> bool {
        let value = quantity * price;
        self.portfolio.cash - value - self.commission(value) >= 0.0
    }

    fn covers_sell_costs(&self, quantity: f64, price: f64) -> bool {
        let value = quantity * price;
        self.portfolio.cash + value - self.commission(value) - value * self.cfg.sell_tax_rate >= 0.0
    }

    /// The largest whole-lot quantity the cash buys at `price`, commission included.
    fn affordable(&self, price: f64) -> f64 {
        let cash = self.portfolio.cash;
        let lot = self.cfg.lot_size;
        if cash <= 0.0 {
            return 0.0;
        }
        let mut lots = floor(cash / (price * (1.0 + self.cfg.commission_rate)) / lot);
        if self.cfg.min_commission > 0.0 {
            let by_minimum = floor((cash - self.cfg.min_commission) / price / lot);
            if by_minimum < lots {
                lots = by_minimum;
            }
        }
        for _ in 0..AFFORD_STEPS {
            #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must stop the search too
            if !(lots > 0.0) {
                return 0.0;
            }
            if self.affords(lots * lot, price) {
                return lots * lot;
            }
            // Past 10^15 lots one lot is below float resolution: the step grows.
            let step = floor(lots * 1e-15);
            lots = lots - if step > 1.0 { step } else { 1.0 };
        }
        0.0
    }

    fn floor_lots(&self, quantity: f64) -> f64 {
        let lot = self.cfg.lot_size;
        floor(quantity / lot) * lot
    }

    // ============================================================ booking
    fn fill(
        &mut self,
        id: usize,
        side: Side,
        quantity: f64,
        price: f64,
        end_reason: Option<Reason>,
    ) {
        let value = quantity * price;
        let commission = self.commission(value);
        let tax = if side == Side::Sell { value * self.cfg.sell_tax_rate } else { 0.0 };
        let n = self.orders[id].column;
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
        self.portfolio.apply_fill(fill, self.day);
        if self.cfg.max_volume_fraction.is_some() {
            self.capacity[n] = self.capacity[n] - quantity;
        }
        let order = &mut self.orders[id];
        order.average_fill_price = (order.average_fill_price * order.filled_quantity
            + price * quantity)
            / (order.filled_quantity + quantity);
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
        self.queue.push(Event::Fill(fill));
        self.queue.push(Event::Order(self.orders[id]));
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
        self.queue.push(Event::Order(self.orders[id]));
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
        if self.cfg.fill_at_close
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
        self.queue.push(Event::Order(self.orders[id]));
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

/// How a row began (see [`Core::enter_row`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Entered {
    /// A new trading day: the day's expiry comes first, then the row opens.
    NewDay(i64),
    /// The row opened and orders are live: the open phase comes next.
    Opened,
    /// The row opened and closed (no order was live); the first symbol with a bar.
    Closed(Option<usize>),
}

/// Deliver everything queued, in order. The core handles `Day` itself; a failed delivery
/// drops what is still queued (the run is over).
pub fn drain<H: Host>(host: &mut H) -> Result<(), H::Error> {
    drain_then(host, |_| ())
}

/// [`drain`], then `then` on the core in the same visit that finds the queue empty (one
/// visit of the core instead of two, per bar of a strategy that publishes nothing).
fn drain_then<H: Host, R>(host: &mut H, then: impl Fn(&mut Core) -> R) -> Result<R, H::Error> {
    loop {
        // The usual case, an empty queue, returns only `then`'s small result: an event is a
        // few hundred bytes (it carries an order snapshot), too much to move out per bar.
        let done = host.with_core(|core, _| core.queue.is_empty().then(|| then(core)));
        if let Some(result) = done {
            return Ok(result);
        }
        let Some(event) = host.with_core(|core, _| core.queue.pop()) else {
            continue;
        };
        if let Event::Day(day) = event {
            host.with_core(|core, _| core.expire_day(day));
            continue;
        }
        if let Err(error) = host.deliver(&event) {
            host.with_core(|core, _| core.queue.clear());
            return Err(error);
        }
    }
}

fn publish<H: Host>(host: &mut H, event: Event) -> Result<(), H::Error> {
    host.with_core(|core, _| core.queue.push(event));
    drain(host)
}

/// Match the live orders of this row that are due in this phase, oldest first, delivering
/// each order's events before the next order is matched.
fn match_phase<H: Host>(host: &mut H, i: usize, at_close: bool) -> Result<(), H::Error> {
    let any = host.with_core(|core, _| {
        if core.live.is_empty() {
            return false;
        }
        core.snapshot.clear();
        core.snapshot.extend_from_slice(&core.live);
        true
    });
    if !any {
        return Ok(());
    }
    let mut k = 0;
    while host.with_core(|core, bars| core.match_next(bars, i, k, at_close)) {
        drain(host)?;
        k += 1;
    }
    Ok(())
}

/// Everything that happens at row `i` (docs/semantics.md section 2, steps 1-5).
pub fn step<H: Host>(host: &mut H, i: usize) -> Result<(), H::Error> {
    row(host, i, false).map(|_| ())
}

/// [`step`]; with `record`, also step 6 (record equity and cash) when it can share the
/// core visit that ends the last bar delivery (no close phase follows); returns whether it
/// recorded the row.
///
/// The usual row (the same trading day, no live order) takes steps 1 to 3 in one visit of
/// the core, and its last bar delivery ends with the record: nothing is delivered between
/// them then, so nothing can tell the difference, and a host whose core sits behind a lock
/// (the Python one) takes two locks per row instead of six.
fn row<H: Host>(host: &mut H, i: usize, record: bool) -> Result<bool, H::Error> {
    let (entered, close_mode) =
        host.with_core(|core, bars| (core.enter_row(bars, i), core.cfg.fill_at_close));
    let mut next_bar = match entered {
        Entered::Closed(first) => first,
        Entered::NewDay(_) | Entered::Opened => {
            // 1. A new trading day: yesterday's DAY orders expire.
            if let Entered::NewDay(day) = entered {
                // The queue is empty between rows, so publishing `Day` and draining would
                // expire at once; doing it directly saves moving an event per day.
                host.with_core(|core, _| core.expire_day(day));
                drain(host)?;
                host.with_core(|core, bars| core.open_row(bars, i));
            }
            // 2. Open phase: live orders from earlier rows meet this bar, oldest first.
            match_phase(host, i, false)?;
            // 3. The bar closes: positions are valued at the new closes.
            host.with_core(|core, bars| {
                core.close_row(bars, i);
                core.next_present(0)
            })
        }
    };
    // 4. The strategy sees the complete bar, symbol by symbol.
    let record_after_bars = record && !close_mode;
    let recorded = record_after_bars && next_bar.is_some();
    while let Some(n) = next_bar {
        host.deliver(&Event::Bar(n))?;
        next_bar = drain_then(host, |core| {
            let next = core.next_present(n + 1);
            if next.is_none() && record_after_bars {
                core.record_row(); // step 6: nothing is left to happen in this row
            }
            next
        })?;
    }
    // 5. Close phase (fill_at="close"): market orders up to now trade at this close. With no
    // live order it would match nothing, and nothing could see that it began.
    if close_mode {
        let any = host.with_core(|core, _| {
            core.in_close_phase = !core.live.is_empty();
            core.in_close_phase
        });
        if any {
            let result = match_phase(host, i, true);
            host.with_core(|core, _| core.in_close_phase = false);
            result?;
        }
    }
    Ok(recorded)
}

/// The whole run: start, every row (then 6: record equity and cash), end.
pub fn run<H: Host>(host: &mut H) -> Result<(), H::Error> {
    publish(host, Event::Start)?;
    let n_bars = host.with_core(|_, bars| bars.n_bars());
    for i in 0..n_bars {
        if !row(host, i, true)? {
            host.with_core(|core, _| core.record_row());
        }
        if i % 1024 == 1023 {
            host.check_interrupt()?;
        }
    }
    publish(host, Event::End)
}
