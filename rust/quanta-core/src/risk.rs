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
}

impl RiskManager {
    /// A manager for a run starting with `initial_cash`.
    pub fn new(initial_cash: f64) -> Self {
        RiskManager { peak_equity: initial_cash, halted: false }
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
    /// stop, order value, position quantity, position weight, gross leverage.
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
        if let Some(limit) = cfg.max_order_value {
            if quantity * price > limit {
                return Some(Reason::MaxOrderValue);
            }
        }
        if let Some(limit) = cfg.max_position_quantity {
            if after.abs() > limit {
                return Some(Reason::MaxPosition);
            }
        }
        if let Some(limit) = cfg.max_position_weight {
            if after.abs() * price > limit * equity {
                return Some(Reason::MaxPosition);
            }
        }
        if let Some(limit) = cfg.max_leverage {
            if !portfolio.check_margin(column, side, quantity, price, limit, equity) {
                return Some(Reason::MaxLeverage);
            }
        }
        None
    }
}
