//! The account: cash, positions with average cost, P&L, transactions and FIFO round trips
//! (`quanta_ref.portfolio`). Money is f64 and never rounded; every formula keeps the
//! reference's operation order.

use std::collections::VecDeque;

use crate::orders::{Fill, Position, Side, Trade};

/// An open piece of a position, for first-in first-out trade matching.
#[derive(Clone, Copy, Debug)]
struct Lot {
    entry_time: i64,
    entry_price: f64,
    quantity: f64,
    cost_per_unit: f64,
}

/// Shares bought on `day`, which T+1 forbids selling that same day.
#[derive(Clone, Copy, Debug)]
struct Settlement {
    day: i64,
    bought: f64,
}

/// Cash and positions of one run, in the symbol order of the data.
#[derive(Clone, Debug)]
pub struct Portfolio {
    /// Cash now.
    pub cash: f64,
    /// One position per symbol column.
    pub positions: Vec<Position>,
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
    lots: Vec<VecDeque<Lot>>,
    settlement: Vec<Settlement>,
}

impl Portfolio {
    /// A flat account with `cash` over `n_symbols` symbols.
    pub fn new(n_symbols: usize, cash: f64) -> Self {
        Portfolio {
            cash,
            positions: vec![Position::default(); n_symbols],
            transactions: Vec::new(),
            trades: Vec::new(),
            total_commission: 0.0,
            total_tax: 0.0,
            traded_value: 0.0,
            lots: vec![VecDeque::new(); n_symbols],
            settlement: vec![Settlement { day: -1, bought: 0.0 }; n_symbols],
        }
    }

    /// cash + quantity x last price of every open position, added in symbol order.
    pub fn equity(&self) -> f64 {
        let mut total = self.cash;
        for pos in &self.positions {
            if pos.quantity != 0.0 {
                total = total + pos.quantity * pos.last_price;
            }
        }
        total
    }

    /// `equity()` with column `column` valued at `price`.
    pub fn equity_marking(&self, column: usize, price: f64) -> f64 {
        let mut total = self.cash;
        for (n, pos) in self.positions.iter().enumerate() {
            if pos.quantity != 0.0 {
                let mark = if n == column { price } else { pos.last_price };
                total = total + pos.quantity * mark;
            }
        }
        total
    }

    /// Gross exposure after the order <= `max_leverage` x `equity`.
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
            if n == column {
                let after = pos.quantity + signed;
                if after != 0.0 {
                    exposure = exposure + after.abs() * price;
                }
            } else if pos.quantity != 0.0 {
                exposure = exposure + pos.quantity.abs() * pos.last_price;
            }
        }
        exposure <= max_leverage * equity
    }

    /// Long quantity that may be sold today: all of it, less today's buys under T+1.
    pub fn sellable(&self, column: usize, day: i64, t_plus_1: bool) -> f64 {
        let held = self.positions[column].quantity;
        if held <= 0.0 {
            return 0.0;
        }
        let settle = self.settlement[column];
        if t_plus_1 && settle.day == day {
            let left = held - settle.bought;
            return if 0.0 > left { 0.0 } else { left };
        }
        held
    }

    /// Book one fill: cash, position, average cost, realized P&L, lots and trades.
    pub fn apply_fill(&mut self, fill: Fill, day: i64) {
        let column = fill.column;
        let value = fill.quantity * fill.price;
        let signed;
        if fill.side == Side::Buy {
            self.cash = self.cash - value - fill.commission;
            signed = fill.quantity;
            let settle = &mut self.settlement[column];
            if settle.day != day {
                settle.day = day;
                settle.bought = 0.0;
            }
            settle.bought = settle.bought + fill.quantity;
        } else {
            self.cash = self.cash + value - fill.commission - fill.tax;
            signed = -fill.quantity;
        }
        self.total_commission = self.total_commission + fill.commission;
        self.total_tax = self.total_tax + fill.tax;
        self.traded_value = self.traded_value + value;
        self.transactions.push(fill);

        let old = self.positions[column].quantity;
        let cost_per_unit = (fill.commission + fill.tax) / fill.quantity;
        if old == 0.0 || (old > 0.0) == (signed > 0.0) {
            // Opening or adding: the average cost moves toward the fill price.
            let pos = &mut self.positions[column];
            pos.average_cost = (pos.average_cost * old.abs() + fill.price * fill.quantity)
                / (old.abs() + fill.quantity);
            pos.quantity = old + signed;
            self.lots[column].push_back(Lot {
                entry_time: fill.timestamp,
                entry_price: fill.price,
                quantity: fill.quantity,
                cost_per_unit,
            });
            return;
        }
        // Reducing, closing or reversing.
        let direction = if old > 0.0 { 1.0 } else { -1.0 };
        let closing = if old.abs() < fill.quantity { old.abs() } else { fill.quantity };
        {
            let pos = &mut self.positions[column];
            pos.realized_pnl =
                pos.realized_pnl + (fill.price - pos.average_cost) * closing * direction;
        }
        self.close_lots(&fill, closing, direction, cost_per_unit);
        let pos = &mut self.positions[column];
        pos.quantity = old + signed;
        if pos.quantity == 0.0 {
            pos.average_cost = 0.0;
            // Fractional dust: flat means no open lot, so no phantom trade later.
            self.lots[column].clear();
        } else if (pos.quantity > 0.0) != (old > 0.0) {
            // Reversed through zero: the rest of the fill opens a new position.
            let opened = fill.quantity - closing;
            pos.average_cost = fill.price;
            self.lots[column].push_back(Lot {
                entry_time: fill.timestamp,
                entry_price: fill.price,
                quantity: opened,
                cost_per_unit,
            });
        }
    }

    /// Match `quantity` against the oldest open lots; one Trade per lot touched.
    fn close_lots(&mut self, fill: &Fill, quantity: f64, direction: f64, exit_cost_per_unit: f64) {
        let lots = &mut self.lots[fill.column];
        let mut left = quantity;
        while left > 0.0 {
            let Some(lot) = lots.front_mut() else { break };
            let take = if left < lot.quantity { left } else { lot.quantity };
            let pnl = (fill.price - lot.entry_price) * take * direction
                - lot.cost_per_unit * take
                - exit_cost_per_unit * take;
            self.trades.push(Trade {
                column: fill.column,
                direction: direction as i8,
                quantity: take,
                entry_time: lot.entry_time,
                entry_price: lot.entry_price,
                exit_time: fill.timestamp,
                exit_price: fill.price,
                pnl,
                return_: pnl / (lot.entry_price * take),
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
    fn average_cost_on_adds_and_realized_pnl_on_a_partial_close() {
        let mut portfolio = Portfolio::new(1, 1_000_000.0);
        portfolio.apply_fill(fill(Side::Buy, 100.0, 10.0, 0), 0);
        portfolio.apply_fill(fill(Side::Buy, 300.0, 12.0, 1), 1);
        // (100 x 10 + 300 x 12) / 400 = 4_600 / 400 = 11.5
        assert_eq!(portfolio.positions[0].quantity, 400.0);
        assert_eq!(portfolio.positions[0].average_cost, 11.5);
        // Sold 100 at 13: (13 - 11.5) x 100 = 150; the average is kept.
        portfolio.apply_fill(fill(Side::Sell, 100.0, 13.0, 2), 2);
        let position = portfolio.positions[0];
        assert_eq!((position.quantity, position.average_cost), (300.0, 11.5));
        assert_eq!(position.realized_pnl, 150.0);
        // Sold 300 at 14: 150 + (14 - 11.5) x 300 = 900; flat, so the average is 0.
        portfolio.apply_fill(fill(Side::Sell, 300.0, 14.0, 3), 3);
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
        portfolio.apply_fill(fill(Side::Buy, 100.0, 10.0, 0), 5);
        portfolio.apply_fill(fill(Side::Buy, 200.0, 10.0, 1), 6);
        assert_eq!(portfolio.sellable(0, 6, true), 100.0); // yesterday's 100 only
        assert_eq!(portfolio.sellable(0, 6, false), 300.0); // T+0: all of it
        assert_eq!(portfolio.sellable(0, 7, true), 300.0); // the next day: all of it
    }

    #[test]
    fn equity_values_open_positions_at_their_last_close() {
        let mut portfolio = Portfolio::new(2, 10_000.0);
        portfolio.apply_fill(fill(Side::Buy, 100.0, 10.0, 0), 0);
        portfolio.positions[0].last_price = 11.0;
        assert_eq!(portfolio.equity(), 9_000.0 + 1_100.0);
        assert_eq!(portfolio.equity_marking(0, 12.0), 9_000.0 + 1_200.0);
    }

    #[test]
    fn check_margin_counts_other_symbols_at_their_last_close() {
        // Hold 4_000 A at 10 (40_000), equity 100_000, limit 0.5 x 100_000.
        let mut portfolio = Portfolio::new(2, 100_000.0);
        portfolio.apply_fill(fill(Side::Buy, 4_000.0, 10.0, 0), 0);
        portfolio.positions[0].last_price = 10.0;
        assert!(!portfolio.check_margin(1, Side::Buy, 1_100.0, 10.0, 0.5, 100_000.0));
        assert!(portfolio.check_margin(1, Side::Buy, 1_000.0, 10.0, 0.5, 100_000.0));
    }
}
