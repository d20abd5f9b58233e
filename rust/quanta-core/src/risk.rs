//! The risk manager: limits checked at acceptance and at every fill (`quanta_ref.risk`).

use crate::config::Config;
use crate::orders::{Reason, Side};
use crate::portfolio::Portfolio;

/// Position, order-value, leverage and drawdown limits of one run.
#[derive(Clone, Debug)]
pub struct RiskManager {
    /// Highest equity seen, starting at the initial cash.
    pub peak_equity: f64,
    /// Set once the drawdown stop is hit; never cleared.
    pub halted: bool,
    /// In a margin call (set and cleared by the record step, docs/semantics.md section 24).
    pub margin_call: bool,
}

impl RiskManager {
    /// A manager for a run starting with `initial_cash`.
    pub fn new(initial_cash: f64) -> Self {
        RiskManager { peak_equity: initial_cash, halted: false, margin_call: false }
    }

    /// Follow the equity at a bar's close; hit the drawdown stop when it is reached.
    pub fn record_equity(&mut self, cfg: &Config, equity: f64) {
        if equity > self.peak_equity {
            self.peak_equity = equity;
        }
        if let Some(limit) = cfg.max_drawdown_stop {
            if !self.halted && 1.0 - equity / self.peak_equity >= limit {
                self.halted = true;
            }
        }
    }

    /// The reason refusing this order, or None. Reducing orders always pass; then drawdown
    /// stop, margin call, order value, position quantity, position weight, gross leverage
    /// (symbols without a margin rate), initial margin (symbols with one).
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        &self,
        cfg: &Config,
        portfolio: &Portfolio,
        column: usize,
        side: Side,
        quantity: f64,
        price: f64,
        equity: f64,
    ) -> Option<Reason> {
        let held = portfolio.positions[column].quantity;
        let signed = if side == Side::Buy { quantity } else { -quantity };
        let after = held + signed;
        if after.abs() <= held.abs() && (after == 0.0 || (after > 0.0) == (held > 0.0)) {
            return None;
        }
        if self.halted && side == Side::Buy {
            return Some(Reason::DrawdownHalt);
        }
        let multiplier = portfolio.multipliers[column];
        let margined = !portfolio.margins[column].is_nan();
        if margined && self.margin_call {
            return Some(Reason::MarginCall);
        }
        if let Some(limit) = cfg.max_order_value {
            if quantity * price * multiplier > limit {
                return Some(Reason::MaxOrderValue);
            }
        }
        if let Some(limit) = cfg.max_position_quantity {
            if after.abs() > limit {
                return Some(Reason::MaxPosition);
            }
        }
        if let Some(limit) = cfg.max_position_weight {
            if after.abs() * price * multiplier > limit * equity {
                return Some(Reason::MaxPosition);
            }
        }
        if margined {
            if portfolio.initial_margin(column, after, price) > equity {
                return Some(Reason::InsufficientMargin);
            }
        } else if let Some(limit) = cfg.max_leverage {
            if !portfolio.check_margin(column, side, quantity, price, limit, equity) {
                return Some(Reason::MaxLeverage);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::Fill;

    fn holding(quantity: f64, price: f64) -> Portfolio {
        let mut portfolio = Portfolio::new(1, 100_000.0);
        let fill = Fill {
            order_id: 1,
            timestamp: 0,
            column: 0,
            side: Side::Buy,
            quantity,
            price,
            commission: 0.0,
            tax: 0.0,
        };
        portfolio.apply_fill(fill, 0).unwrap();
        portfolio.positions[0].last_price = price;
        portfolio
    }

    #[test]
    fn max_order_value_refuses_a_position_increasing_order_but_never_a_reducing_one() {
        let cfg = Config { max_order_value: Some(6_000.0), ..Config::default() };
        let risk = RiskManager::new(100_000.0);
        let portfolio = holding(1_000.0, 10.0);
        let equity = portfolio.equity();
        let check = |side, quantity| risk.check(&cfg, &portfolio, 0, side, quantity, 10.0, equity);
        assert_eq!(check(Side::Buy, 601.0), Some(Reason::MaxOrderValue)); // 6_010 > 6_000
        assert_eq!(check(Side::Buy, 600.0), None);
        assert_eq!(check(Side::Sell, 1_000.0), None); // 10_000, but it only reduces
    }

    #[test]
    fn a_reversal_through_zero_is_not_a_reducing_order() {
        let cfg = Config { max_order_value: Some(6_000.0), ..Config::default() };
        let risk = RiskManager::new(100_000.0);
        let portfolio = holding(500.0, 10.0);
        let equity = portfolio.equity();
        let reason = risk.check(&cfg, &portfolio, 0, Side::Sell, 1_000.0, 10.0, equity);
        assert_eq!(reason, Some(Reason::MaxOrderValue));
    }

    #[test]
    fn limits_are_checked_in_the_documented_order() {
        let risk = RiskManager::new(100_000.0);
        let portfolio = Portfolio::new(1, 100_000.0);
        let mut cfg = Config {
            max_order_value: Some(10_000.0),
            max_position_quantity: Some(1_000.0),
            max_leverage: Some(0.1),
            ..Config::default()
        };
        let check = |cfg: &Config| risk.check(cfg, &portfolio, 0, Side::Buy, 2_000.0, 10.0, 1e5);
        assert_eq!(check(&cfg), Some(Reason::MaxOrderValue));
        cfg.max_order_value = None;
        assert_eq!(check(&cfg), Some(Reason::MaxPosition));
        cfg.max_position_quantity = None;
        assert_eq!(check(&cfg), Some(Reason::MaxLeverage));
    }

    #[test]
    fn the_drawdown_stop_halts_buying_for_good() {
        let cfg = Config { max_drawdown_stop: Some(0.2), ..Config::default() };
        let mut risk = RiskManager::new(100.0);
        risk.record_equity(&cfg, 120.0);
        risk.record_equity(&cfg, 97.0); // 1 - 97 / 120 = 0.19
        assert!(!risk.halted);
        risk.record_equity(&cfg, 90.0); // 1 - 90 / 120 = 0.25
        assert!(risk.halted);
        risk.record_equity(&cfg, 200.0);
        assert!(risk.halted);
        let portfolio = Portfolio::new(1, 100.0);
        let check = |side| risk.check(&cfg, &portfolio, 0, side, 1.0, 10.0, 200.0);
        assert_eq!(check(Side::Buy), Some(Reason::DrawdownHalt));
        assert_eq!(check(Side::Sell), None); // a short is not new buying
    }
}
