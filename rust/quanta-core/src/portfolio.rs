//! The account: cash, positions with average cost, P&L, transactions and FIFO round trips
//! (`quanta_ref.portfolio`). Money is f64 and never rounded; every formula keeps the
//! reference's operation order.

use std::collections::VecDeque;

use crate::bars::Instruments;
use crate::orders::{CorporateActionRecord, Fill, Position, Side, Trade};

/// An open piece of a position, for first-in first-out trade matching.
#[derive(Clone, Copy, Debug)]
struct Lot {
    entry_time: i64,
    entry_price: f64,
    quantity: f64,
    cost_per_unit: f64,
}

/// What T+1 lets a symbol sell on `day`, the last day it had a fill: its holding at the
/// start of that day less what it sold since. Kept as its own number: the holding less the
/// day's buys, in float, can exceed the start-of-day holding by rounding dust.
#[derive(Clone, Copy, Debug)]
struct Settlement {
    day: i64,
    sellable: f64,
}

/// Cash and positions of one run, in the symbol order of the data.
#[derive(Clone, Debug)]
pub struct Portfolio {
    /// Cash now.
    pub cash: f64,
    /// One position per symbol column. Only the portfolio changes their quantities (it keeps
    /// `held` in step).
    pub positions: Vec<Position>,
    /// The columns of the open positions (quantity not 0), ascending: the equity sums visit
    /// these, in the symbol order of a loop over every position, and a universe of thousands
    /// of symbols holding a few dozen costs a few dozen additions.
    held: Vec<usize>,
    /// Every fill, in order.
    pub transactions: Vec<Fill>,
    /// Closed round trips, in closing order.
    pub trades: Vec<Trade>,
    /// Sum of commissions.
    pub total_commission: f64,
    /// Sum of taxes.
    pub total_tax: f64,
    /// Sum of traded values.
    pub traded_value: f64,
    /// Corporate actions applied to a holding, in order.
    pub corporate_actions: Vec<CorporateActionRecord>,
    /// Contract multiplier per column (docs/semantics.md section 24).
    pub multipliers: Vec<f64>,
    /// Initial margin rate per column (NaN: not a margin symbol).
    pub margins: Vec<f64>,
    /// Maintenance margin rate per column (NaN: not a margin symbol).
    pub maintenance: Vec<f64>,
    /// Some symbol has a margin rate.
    pub margined: bool,
    /// Whether a multiplier differs from 1.0. Without, the equity sums skip the product
    /// (`x * 1.0` is `x`, so the result is the same bit for bit, and the loops are shorter).
    pub contracts: bool,
    lots: Vec<VecDeque<Lot>>,
    settlement: Vec<Settlement>,
}

impl Portfolio {
    /// A flat account with `cash` over `n_symbols` symbols.
    pub fn new(n_symbols: usize, cash: f64) -> Self {
        Portfolio {
            cash,
            positions: vec![Position::default(); n_symbols],
            held: Vec::new(),
            transactions: Vec::new(),
            trades: Vec::new(),
            total_commission: 0.0,
            total_tax: 0.0,
            traded_value: 0.0,
            corporate_actions: Vec::new(),
            multipliers: vec![1.0; n_symbols],
            margins: vec![f64::NAN; n_symbols],
            maintenance: vec![f64::NAN; n_symbols],
            margined: false,
            contracts: false,
            lots: vec![VecDeque::new(); n_symbols],
            // No fill yet (-1 is a trading day: 1969-12-31).
            settlement: vec![Settlement { day: i64::MIN, sellable: 0.0 }; n_symbols],
        }
    }

    /// The symbols' multipliers and margin rates (all empty: the defaults stay).
    pub fn use_instruments(&mut self, instruments: &Instruments<'_>) {
        if instruments.multipliers.is_empty() {
            return;
        }
        self.multipliers = instruments.multipliers.to_vec();
        self.margins = instruments.margins.to_vec();
        self.maintenance = instruments.maintenance.to_vec();
        self.margined = self.margins.iter().any(|rate| !rate.is_nan());
        self.contracts = self.multipliers.iter().any(|&m| m != 1.0);
    }

    /// cash + quantity x last price x multiplier of every open position, in symbol order.
    pub fn equity(&self) -> f64 {
        debug_assert!(self.held_in_step());
        let mut total = self.cash;
        if !self.contracts {
            for &n in &self.held {
                let pos = &self.positions[n];
                total = total + pos.quantity * pos.last_price;
            }
            return total;
        }
        for &n in &self.held {
            let pos = &self.positions[n];
            total = total + pos.quantity * pos.last_price * self.multipliers[n];
        }
        total
    }

    /// `equity()` with column `column` valued at `price`.
    pub fn equity_marking(&self, column: usize, price: f64) -> f64 {
        debug_assert!(self.held_in_step());
        let mut total = self.cash;
        if !self.contracts {
            for &n in &self.held {
                let pos = &self.positions[n];
                let mark = if n == column { price } else { pos.last_price };
                total = total + pos.quantity * mark;
            }
            return total;
        }
        for &n in &self.held {
            let pos = &self.positions[n];
            let mark = if n == column { price } else { pos.last_price };
            total = total + pos.quantity * mark * self.multipliers[n];
        }
        total
    }

    /// The columns of the open positions, ascending.
    #[inline]
    pub fn held(&self) -> &[usize] {
        &self.held
    }

    /// Note in `held` whether the position of `column` is open, after its quantity changed.
    fn note_holding(&mut self, column: usize) {
        let open = self.positions[column].quantity != 0.0;
        match self.held.binary_search(&column) {
            Ok(k) if !open => {
                self.held.remove(k);
            }
            Err(k) if open => self.held.insert(k, column),
            _ => {}
        }
    }

    /// Whether `held` lists exactly the open positions (checked in debug builds).
    fn held_in_step(&self) -> bool {
        let open = self.positions.iter().enumerate().filter(|(_, p)| p.quantity != 0.0);
        open.map(|(n, _)| n).eq(self.held.iter().copied())
    }

    /// Gross exposure after the order <= `max_leverage` x `equity`; symbols with a margin
    /// rate are left out of the exposure.
    pub fn check_margin(
        &self,
        column: usize,
        side: Side,
        quantity: f64,
        price: f64,
        max_leverage: f64,
        equity: f64,
    ) -> bool {
        let signed = if side == Side::Buy { quantity } else { -quantity };
        let mut exposure = 0.0;
        for (n, pos) in self.positions.iter().enumerate() {
            if !self.margins[n].is_nan() {
                continue;
            }
            if n == column {
                let after = pos.quantity + signed;
                if after != 0.0 {
                    exposure = exposure + after.abs() * price * self.multipliers[n];
                }
            } else if pos.quantity != 0.0 {
                exposure = exposure + pos.quantity.abs() * pos.last_price * self.multipliers[n];
            }
        }
        exposure <= max_leverage * equity
    }

    /// The initial margin of the margin positions with column `column` at quantity `after`,
    /// valued at `price` (the others at their last close), summed in data order.
    pub fn initial_margin(&self, column: usize, after: f64, price: f64) -> f64 {
        let mut total = 0.0;
        for (n, pos) in self.positions.iter().enumerate() {
            let rate = self.margins[n];
            if rate.is_nan() {
                continue;
            }
            let (quantity, mark) =
                if n == column { (after, price) } else { (pos.quantity, pos.last_price) };
            if quantity != 0.0 {
                total = total + quantity.abs() * mark * self.multipliers[n] * rate;
            }
        }
        total
    }

    /// The maintenance margin of the open margin positions at their last close.
    pub fn maintenance_margin(&self) -> f64 {
        let mut total = 0.0;
        for (n, pos) in self.positions.iter().enumerate() {
            let rate = self.maintenance[n];
            if !rate.is_nan() && pos.quantity != 0.0 {
                total = total + pos.quantity.abs() * pos.last_price * self.multipliers[n] * rate;
            }
        }
        total
    }

    /// Long quantity that may be sold today: all of it; under T+1 the start-of-day holding
    /// less today's sells, and never more than the holding.
    pub fn sellable(&self, column: usize, day: i64, t_plus_1: bool) -> f64 {
        let held = self.positions[column].quantity;
        if held <= 0.0 {
            return 0.0;
        }
        let settle = self.settlement[column];
        if t_plus_1 && settle.day == day && settle.sellable < held {
            return settle.sellable;
        }
        held
    }

    /// Apply a corporate action of symbol `column` on its ex-date, before anything has traded
    /// that day (`quanta_ref.portfolio.Portfolio.apply_action`, docs/semantics.md section 19).
    pub fn apply_action(
        &mut self,
        column: usize,
        timestamp: i64,
        cash: f64,
        shares: f64,
        tax_rate: f64,
        fractional: bool,
    ) {
        let pos = &mut self.positions[column];
        let held = pos.quantity;
        let mut amount = 0.0;
        let mut tax = 0.0;
        if cash != 0.0 && held != 0.0 {
            amount = held * cash * self.multipliers[column];
            if held > 0.0 {
                tax = amount * tax_rate;
                self.cash = self.cash + amount - tax;
            } else {
                // A short pays the dividend to the lender of the shares; no tax.
                self.cash = self.cash + amount;
            }
        }
        let mut after = held;
        if shares != 0.0 {
            let factor = 1.0 + shares;
            if held != 0.0 {
                after = held * factor;
                if !fractional {
                    // Whole shares only: the fraction is dropped. (+0.0 as the reference's
                    // int-to-float round trip gives, never -0.0.)
                    after = after.trunc();
                    if after == 0.0 {
                        after = 0.0;
                    }
                }
                pos.quantity = after;
                let lots = &mut self.lots[column];
                if after == 0.0 {
                    pos.average_cost = 0.0;
                    lots.clear();
                } else {
                    pos.average_cost = pos.average_cost / factor;
                    for lot in lots.iter_mut() {
                        lot.quantity = lot.quantity * factor;
                        lot.entry_price = lot.entry_price / factor;
                        lot.cost_per_unit = lot.cost_per_unit / factor;
                    }
                }
            }
        }
        // The ex-rights reference price.
        pos.last_price = (pos.last_price - cash) / (1.0 + shares);
        self.note_holding(column);
        if held != 0.0 {
            self.corporate_actions.push(CorporateActionRecord {
                timestamp,
                column,
                quantity_before: held,
                quantity_after: after,
                cash: amount,
                tax,
            });
        }
    }

    /// The first column whose position, valued at its last close, takes the running sum of
    /// `equity()` outside the float range (0 if none does).
    pub fn overflowing_column(&self) -> usize {
        let mut total = self.cash;
        for (n, pos) in self.positions.iter().enumerate() {
            if pos.quantity != 0.0 {
                total = total + pos.quantity * pos.last_price * self.multipliers[n];
                if !total.is_finite() {
                    return n;
                }
            }
        }
        0
    }

    /// Book one fill: cash, position, average cost, realized P&L, lots and trades.
    ///
    /// Every value the fill would store is computed first. If one is not finite (outside the
    /// float range), nothing is booked and its name and value are returned, the first in this
    /// order: cash, total_commission, total_tax, traded_value, cost_per_unit, quantity,
    /// average_cost, realized_pnl, then pnl and return_ of each trade piece.
    pub fn apply_fill(&mut self, fill: Fill, day: i64) -> Result<(), (&'static str, f64)> {
        let column = fill.column;
        let multiplier = self.multipliers[column];
        let value = fill.quantity * fill.price * multiplier;
        let pos = self.positions[column];
        let old = pos.quantity;
        let (cash, signed) = if fill.side == Side::Buy {
            (self.cash - value - fill.commission - fill.tax, fill.quantity)
        } else {
            (self.cash + value - fill.commission - fill.tax, -fill.quantity)
        };
        let total_commission = self.total_commission + fill.commission;
        let total_tax = self.total_tax + fill.tax;
        let traded_value = self.traded_value + value;
        let cost_per_unit = (fill.commission + fill.tax) / fill.quantity;
        let quantity = old + signed;
        let adding = old == 0.0 || (old > 0.0) == (signed > 0.0);
        let direction = if old > 0.0 { 1.0 } else { -1.0 };
        let mut closing = 0.0;
        let mut realized = pos.realized_pnl;
        let average_cost = if adding {
            // Opening or adding: the average cost moves toward the fill price.
            (pos.average_cost * old.abs() + fill.price * fill.quantity)
                / (old.abs() + fill.quantity)
        } else {
            // Reducing, closing or reversing (through zero: the rest opens at the price).
            closing = if old.abs() < fill.quantity { old.abs() } else { fill.quantity };
            realized =
                realized + (fill.price - pos.average_cost) * closing * direction * multiplier;
            if quantity == 0.0 {
                0.0
            } else if (quantity > 0.0) != (old > 0.0) {
                fill.price
            } else {
                pos.average_cost
            }
        };
        let stored = [
            ("cash", cash),
            ("total_commission", total_commission),
            ("total_tax", total_tax),
            ("traded_value", traded_value),
            ("cost_per_unit", cost_per_unit),
            ("quantity", quantity),
            ("average_cost", average_cost),
            ("realized_pnl", realized),
        ];
        if let Some(&bad) = stored.iter().find(|(_, x)| !x.is_finite()) {
            return Err(bad);
        }
        if !adding {
            self.check_lots(&fill, closing, direction, cost_per_unit)?;
        }

        // Everything is finite: book it.
        let settle = &mut self.settlement[column];
        if settle.day != day {
            // The first fill of the day: the holding at its start.
            settle.day = day;
            settle.sellable = if old > 0.0 { old } else { 0.0 };
        }
        if fill.side == Side::Sell {
            let left = settle.sellable - fill.quantity;
            settle.sellable = if left > 0.0 { left } else { 0.0 };
        }
        self.cash = cash;
        self.total_commission = total_commission;
        self.total_tax = total_tax;
        self.traded_value = traded_value;
        self.transactions.push(fill);
        let pos = &mut self.positions[column];
        pos.quantity = quantity;
        pos.average_cost = average_cost;
        pos.realized_pnl = realized;
        if pos.last_price.is_nan() {
            // The open of the symbol's first bar: valued at the fill price until it closes.
            pos.last_price = fill.price;
        }
        self.note_holding(column);
        if adding {
            self.lots[column].push_back(Lot {
                entry_time: fill.timestamp,
                entry_price: fill.price,
                quantity: fill.quantity,
                cost_per_unit,
            });
            return Ok(());
        }
        self.close_lots(&fill, closing, direction, cost_per_unit);
        if quantity == 0.0 {
            // Fractional dust: flat means no open lot, so no phantom trade later.
            self.lots[column].clear();
        } else if (quantity > 0.0) != (old > 0.0) {
            self.lots[column].push_back(Lot {
                entry_time: fill.timestamp,
                entry_price: fill.price,
                quantity: fill.quantity - closing,
                cost_per_unit,
            });
        }
        Ok(())
    }

    /// (pnl, return_) of closing `take` of `lot` with `fill`, values x `multiplier`. An
    /// entry value that underflows to 0 gives a NaN return (then refused as not finite).
    fn piece(
        fill: &Fill,
        lot: &Lot,
        take: f64,
        direction: f64,
        exit_cost_per_unit: f64,
        multiplier: f64,
    ) -> (f64, f64) {
        let pnl = (fill.price - lot.entry_price) * take * direction * multiplier
            - lot.cost_per_unit * take
            - exit_cost_per_unit * take;
        let entry_value = lot.entry_price * take * multiplier;
        (pnl, if entry_value != 0.0 { pnl / entry_value } else { f64::NAN })
    }

    /// The first trade piece `close_lots` would record with a non-finite pnl or return (its
    /// field name and value); changes nothing.
    fn check_lots(
        &self,
        fill: &Fill,
        quantity: f64,
        direction: f64,
        exit_cost_per_unit: f64,
    ) -> Result<(), (&'static str, f64)> {
        let multiplier = self.multipliers[fill.column];
        let mut left = quantity;
        for lot in &self.lots[fill.column] {
            #[allow(clippy::neg_cmp_op_on_partial_ord)] // as `while left > 0.0` of close_lots
            if !(left > 0.0) {
                break;
            }
            let take = if left < lot.quantity { left } else { lot.quantity };
            let (pnl, return_) =
                Self::piece(fill, lot, take, direction, exit_cost_per_unit, multiplier);
            if !pnl.is_finite() {
                return Err(("pnl", pnl));
            }
            if !return_.is_finite() {
                return Err(("return_", return_));
            }
            left = left - take;
        }
        Ok(())
    }

    /// Match `quantity` against the oldest open lots; one Trade per lot touched.
    fn close_lots(&mut self, fill: &Fill, quantity: f64, direction: f64, exit_cost_per_unit: f64) {
        let multiplier = self.multipliers[fill.column];
        let lots = &mut self.lots[fill.column];
        let mut left = quantity;
        while left > 0.0 {
            let Some(lot) = lots.front_mut() else { break };
            let take = if left < lot.quantity { left } else { lot.quantity };
            let (pnl, return_) =
                Self::piece(fill, lot, take, direction, exit_cost_per_unit, multiplier);
            self.trades.push(Trade {
                column: fill.column,
                direction: direction as i8,
                quantity: take,
                entry_time: lot.entry_time,
                entry_price: lot.entry_price,
                exit_time: fill.timestamp,
                exit_price: fill.price,
                pnl,
                return_,
            });
            left = left - take;
            if take == lot.quantity {
                lots.pop_front();
            } else {
                lot.quantity = lot.quantity - take;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(side: Side, quantity: f64, price: f64, timestamp: i64) -> Fill {
        Fill { order_id: 1, timestamp, column: 0, side, quantity, price, commission: 0.0, tax: 0.0 }
    }

    #[test]
    fn a_bonus_of_3_per_10_and_a_taxed_dividend_change_the_holding_and_the_cash() {
        let mut portfolio = Portfolio::new(1, 100_000.0);
        portfolio.apply_fill(fill(Side::Buy, 1000.0, 13.0, 0), 0).unwrap();
        portfolio.positions[0].last_price = 13.0;
        // 10送3 with 0.5 per share before a 10 % tax: 1000 x 0.5 = 500, 50 withheld.
        portfolio.apply_action(0, 1, 0.5, 0.3, 0.1, false);
        let position = portfolio.positions[0];
        assert_eq!((position.quantity, position.average_cost), (1300.0, 10.0));
        assert_eq!(position.last_price, (13.0 - 0.5) / 1.3);
        assert_eq!(portfolio.cash, 87_000.0 + 500.0 - 50.0);
        let record = portfolio.corporate_actions[0];
        assert_eq!((record.quantity_before, record.quantity_after), (1000.0, 1300.0));
        assert_eq!((record.cash, record.tax), (500.0, 50.0));
        // The lot follows: 1300 at 10, sold at 11 for (11 - 10) x 1300.
        portfolio.apply_fill(fill(Side::Sell, 1300.0, 11.0, 2), 2).unwrap();
        assert_eq!(portfolio.trades[0].pnl, 1300.0);
    }

    #[test]
    fn a_reverse_split_drops_the_fraction_and_a_short_pays_the_dividend() {
        let mut portfolio = Portfolio::new(2, 100_000.0);
        portfolio.apply_fill(fill(Side::Buy, 5.0, 10.0, 0), 0).unwrap();
        portfolio.apply_action(0, 1, 0.0, -0.9, 0.0, false); // 0.5 share: nothing left
        assert_eq!(portfolio.positions[0].quantity.to_bits(), 0.0f64.to_bits());
        assert_eq!(portfolio.positions[0].average_cost, 0.0);
        let mut short = fill(Side::Sell, 100.0, 50.0, 0);
        short.column = 1;
        portfolio.apply_fill(short, 0).unwrap();
        let cash = portfolio.cash;
        portfolio.apply_action(1, 1, 1.0, 0.0, 0.2, false);
        assert_eq!(portfolio.cash, cash - 100.0); // no tax on a payment
    }

    #[test]
    fn average_cost_on_adds_and_realized_pnl_on_a_partial_close() {
        let mut portfolio = Portfolio::new(1, 1_000_000.0);
        portfolio.apply_fill(fill(Side::Buy, 100.0, 10.0, 0), 0).unwrap();
        portfolio.apply_fill(fill(Side::Buy, 300.0, 12.0, 1), 1).unwrap();
        // (100 x 10 + 300 x 12) / 400 = 4_600 / 400 = 11.5
        assert_eq!(portfolio.positions[0].quantity, 400.0);
        assert_eq!(portfolio.positions[0].average_cost, 11.5);
        // Sold 100 at 13: (13 - 11.5) x 100 = 150; the average is kept.
        portfolio.apply_fill(fill(Side::Sell, 100.0, 13.0, 2), 2).unwrap();
        let position = portfolio.positions[0];
        assert_eq!((position.quantity, position.average_cost), (300.0, 11.5));
        assert_eq!(position.realized_pnl, 150.0);
        // Sold 300 at 14: 150 + (14 - 11.5) x 300 = 900; flat, so the average is 0.
        portfolio.apply_fill(fill(Side::Sell, 300.0, 14.0, 3), 3).unwrap();
        let position = portfolio.positions[0];
        assert_eq!((position.quantity, position.average_cost), (0.0, 0.0));
        assert_eq!(position.realized_pnl, 900.0);
        assert_eq!(portfolio.cash, 1_000_000.0 - 1_000.0 - 3_600.0 + 1_300.0 + 4_200.0);
        // First in, first out: the 100 of the first lot, then 300 of the second.
        let trades: Vec<_> = portfolio.trades.iter().map(|t| (t.quantity, t.pnl)).collect();
        assert_eq!(trades, [(100.0, 300.0), (300.0, 600.0)]);
    }

    #[test]
    fn t_plus_1_keeps_todays_buys_unsellable_until_the_next_day() {
        let mut portfolio = Portfolio::new(1, 1_000_000.0);
        portfolio.apply_fill(fill(Side::Buy, 100.0, 10.0, 0), 5).unwrap();
        portfolio.apply_fill(fill(Side::Buy, 200.0, 10.0, 1), 6).unwrap();
        assert_eq!(portfolio.sellable(0, 6, true), 100.0); // yesterday's 100 only
        assert_eq!(portfolio.sellable(0, 6, false), 300.0); // T+0: all of it
        assert_eq!(portfolio.sellable(0, 7, true), 300.0); // the next day: all of it
    }

    #[test]
    fn t_plus_1_sellable_is_the_start_of_day_holding_not_the_holding_less_todays_buys() {
        // (0.15999999999999998 + 0.1) - 0.1 = 0.16 in float: more than the day started with.
        let start = 0.15999999999999998;
        let mut portfolio = Portfolio::new(1, 1_000_000.0);
        portfolio.apply_fill(fill(Side::Buy, start, 10.0, 0), 0).unwrap();
        portfolio.apply_fill(fill(Side::Buy, 0.1, 10.0, 1), 1).unwrap();
        assert_eq!(portfolio.sellable(0, 1, true), start);
        portfolio.apply_fill(fill(Side::Sell, 0.15, 10.0, 1), 1).unwrap();
        assert_eq!(portfolio.sellable(0, 1, true), start - 0.15);
    }

    #[test]
    fn a_fill_with_a_value_outside_the_float_range_books_nothing() {
        let mut portfolio = Portfolio::new(1, 1e308);
        portfolio.apply_fill(fill(Side::Buy, 1.0, 10.0, 0), 0).unwrap();
        let before = portfolio.clone();
        let refused = portfolio.apply_fill(fill(Side::Buy, 1e306, 1e3, 1), 1);
        assert_eq!(refused, Err(("cash", f64::NEG_INFINITY)));
        assert_eq!(portfolio.cash, before.cash);
        assert_eq!(portfolio.positions[0].quantity, before.positions[0].quantity);
        assert_eq!(portfolio.transactions.len(), 1);
    }

    #[test]
    fn equity_values_open_positions_at_their_last_close() {
        let mut portfolio = Portfolio::new(2, 10_000.0);
        portfolio.apply_fill(fill(Side::Buy, 100.0, 10.0, 0), 0).unwrap();
        portfolio.positions[0].last_price = 11.0;
        assert_eq!(portfolio.equity(), 9_000.0 + 1_100.0);
        assert_eq!(portfolio.equity_marking(0, 12.0), 9_000.0 + 1_200.0);
    }

    #[test]
    fn check_margin_counts_other_symbols_at_their_last_close() {
        // Hold 4_000 A at 10 (40_000), equity 100_000, limit 0.5 x 100_000.
        let mut portfolio = Portfolio::new(2, 100_000.0);
        portfolio.apply_fill(fill(Side::Buy, 4_000.0, 10.0, 0), 0).unwrap();
        portfolio.positions[0].last_price = 10.0;
        assert!(!portfolio.check_margin(1, Side::Buy, 1_100.0, 10.0, 0.5, 100_000.0));
        assert!(portfolio.check_margin(1, Side::Buy, 1_000.0, 10.0, 0.5, 100_000.0));
    }
}
