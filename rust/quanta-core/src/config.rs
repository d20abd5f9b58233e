//! Engine settings (`quanta_ref.config.EngineConfig`), already validated by the Python front.

use crate::orders::named_enum;

named_enum! {
/// When a market order trades (`EngineConfig.fill_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillAt {
    /// At the next bar's open.
    NextOpen = "next_open",
    /// At the close of the bar it was submitted on.
    Close = "close",
}
}

named_enum! {
/// When bought shares may be sold (`EngineConfig.settlement`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The same day.
    TPlus0 = "T+0",
    /// From the next trading day on (cash accounts only).
    TPlus1 = "T+1",
}
}

/// Every engine setting the loop reads. `None` means "off".
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Cash before the first bar (> 0).
    pub initial_cash: f64,
    /// Fraction of traded value, per fill.
    pub commission_rate: f64,
    /// Floor of one fill's commission.
    pub min_commission: f64,
    /// Fraction of a sell's traded value (stamp duty).
    pub sell_tax_rate: f64,
    /// Fraction of a buy's traded value (stamp duty on buys).
    pub buy_tax_rate: f64,
    /// Fraction of traded value on both sides (transfer fee).
    pub transfer_fee_rate: f64,
    /// Basis points against the trader on market and stop fills.
    pub slippage_bps: f64,
    /// When market orders trade.
    pub fill_at: FillAt,
    /// Quantity step.
    pub lot_size: f64,
    /// Non-integer quantities allowed.
    pub fractional: bool,
    /// Whether shares bought today can be sold today.
    pub settlement: Settlement,
    /// Tick of the price limits: a price within half a tick of a limit is at it.
    pub tick_size: Option<f64>,
    /// Participation limit per bar, a fraction of the bar's volume.
    pub max_volume_fraction: Option<f64>,
    /// Margin account (shorts allowed).
    pub allow_short: bool,
    /// Gross exposure / equity limit.
    pub max_leverage: Option<f64>,
    /// Largest absolute position.
    pub max_position_quantity: Option<f64>,
    /// Largest position value as a fraction of equity.
    pub max_position_weight: Option<f64>,
    /// Largest order value.
    pub max_order_value: Option<f64>,
    /// Drawdown (fraction) past which new buying halts.
    pub max_drawdown_stop: Option<f64>,
    /// Bars per year for the metrics; inferred when None.
    pub periods_per_year: Option<f64>,
    /// Fraction of a cash dividend withheld at the credit.
    pub dividend_tax_rate: f64,
    /// The commission model (`EngineConfig.commission`); None: `commission_rate` with
    /// `min_commission` (the rates in force), as a [`CommissionModel::PerValue`].
    pub commission: Option<CommissionModel>,
    /// The slippage model (`EngineConfig.slippage`); None: `slippage_bps`.
    pub slippage: Option<SlippageModel>,
}

/// A commission model (`quanta_ref.costs`), same operations in the same order.
#[derive(Clone, Debug, PartialEq)]
pub enum CommissionModel {
    /// `max(minimum, value * rate)`.
    PerValue {
        /// Fraction of the traded value.
        rate: f64,
        /// Floor of one fill's commission.
        minimum: f64,
    },
    /// `quantity * per_share`, at least `minimum`, then at most `value * maximum_rate`.
    PerShare {
        /// Price per unit traded.
        per_share: f64,
        /// Floor of one fill's commission.
        minimum: f64,
        /// Cap as a fraction of the traded value.
        maximum_rate: Option<f64>,
    },
    /// Marginal rates by traded value: (threshold, rate) pairs ascending from 0.0.
    Tiered {
        /// The tiers.
        tiers: Vec<(f64, f64)>,
        /// Floor of one fill's commission.
        minimum: f64,
    },
    /// A model outside the core (a Python callable), called through the broker's
    /// external costs hook (`execution::ExternalCosts`).
    External,
}

impl CommissionModel {
    /// The commission of a fill of `quantity` worth `value` (not for `External`).
    pub fn commission(&self, quantity: f64, value: f64) -> f64 {
        match self {
            CommissionModel::PerValue { rate, minimum } => {
                let commission = value * rate;
                if commission > *minimum {
                    commission
                } else {
                    *minimum
                }
            }
            CommissionModel::PerShare { per_share, minimum, maximum_rate } => {
                let mut commission = quantity * per_share;
                commission = if commission > *minimum { commission } else { *minimum };
                if let Some(rate) = maximum_rate {
                    let cap = value * rate;
                    commission = if commission < cap { commission } else { cap };
                }
                commission
            }
            CommissionModel::Tiered { tiers, minimum } => {
                let mut commission = 0.0;
                for (k, &(threshold, rate)) in tiers.iter().enumerate() {
                    #[allow(clippy::neg_cmp_op_on_partial_ord)] // as the reference writes it
                    if !(value > threshold) {
                        break;
                    }
                    let upper = tiers.get(k + 1).map_or(f64::INFINITY, |tier| tier.0);
                    let part = (if value < upper { value } else { upper }) - threshold;
                    commission = commission + part * rate;
                }
                if commission > *minimum {
                    commission
                } else {
                    *minimum
                }
            }
            CommissionModel::External => unreachable!("external models go through the hook"),
        }
    }
}

/// A slippage model (`quanta_ref.costs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlippageModel {
    /// Basis points against the trader.
    FixedBps(f64),
    /// A fraction of the bar's range against the trader.
    RangeFraction(f64),
    /// `coefficient * sqrt(q / volume)`, applied as bps are.
    SquareRootImpact(f64),
    /// A model outside the core (a Python callable), called through the hook.
    External,
}

impl Default for Config {
    /// The reference's defaults.
    fn default() -> Self {
        Config {
            initial_cash: 1_000_000.0,
            commission_rate: 0.0,
            min_commission: 0.0,
            sell_tax_rate: 0.0,
            buy_tax_rate: 0.0,
            transfer_fee_rate: 0.0,
            slippage_bps: 0.0,
            fill_at: FillAt::NextOpen,
            lot_size: 1.0,
            fractional: false,
            settlement: Settlement::TPlus0,
            tick_size: None,
            max_volume_fraction: None,
            allow_short: false,
            max_leverage: None,
            max_position_quantity: None,
            max_position_weight: None,
            max_order_value: None,
            max_drawdown_stop: None,
            periods_per_year: None,
            dividend_tax_rate: 0.0,
            commission: None,
            slippage: None,
        }
    }
}
