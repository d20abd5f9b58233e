//! The bar panel the loop reads (`quanta_ref.bars`): T timestamps x N symbols, row-major.

use crate::config::CommissionModel;

/// A read-only view of a validated bar panel: T timestamps x N symbols, row-major (T, N).
#[derive(Clone, Copy, Debug)]
pub struct BarsView<'a> {
    /// Strictly ascending int64 nanoseconds, length T.
    pub timestamps: &'a [i64],
    /// Opens, length T x N (NaN where a symbol has no bar).
    pub open: &'a [f64],
    /// Highs.
    pub high: &'a [f64],
    /// Lows.
    pub low: &'a [f64],
    /// Closes (NaN marks a missing bar).
    pub close: &'a [f64],
    /// Volumes.
    pub volume: &'a [f64],
    /// N.
    pub n_symbols: usize,
    /// The run's market tables (`quanta_ref.market.RunMarket`).
    pub market: Market<'a>,
    /// The corporate actions that apply during a run over the panel, in application order
    /// (`quanta_ref.actions.schedule`).
    pub actions: &'a [CorporateAction],
}

/// A corporate action as a run applies it (docs/semantics.md section 19): at the new-day step
/// of row `row`, to symbol `column`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CorporateAction {
    /// The row at which it applies (the first trading day on or after the ex-date).
    pub row: usize,
    /// The symbol's column.
    pub column: usize,
    /// Cash dividend per share held, before tax.
    pub cash: f64,
    /// New shares per share held.
    pub shares: f64,
}

/// The tables of `quanta_ref.market.RunMarket`, computed once in Python for both engines:
/// price limits per bar and cost rates per day. Empty slices where a run has none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Market<'a> {
    /// Limit-down price of each bar, row-major (T, N); NaN: no limit. Empty: no limits.
    pub limit_down: &'a [f64],
    /// Limit-up price of each bar, row-major (T, N); NaN: no limit. Empty: no limits.
    pub limit_up: &'a [f64],
    /// Rows (ascending, the first 0) whose new-day step puts a row of `rates` in force.
    pub rate_rows: &'a [i64],
    /// Row-major (K, 5): commission_rate, min_commission, sell_tax_rate, buy_tax_rate,
    /// transfer_fee_rate from the matching row of `rate_rows` on.
    pub rates: &'a [f64],
    /// The symbols' own settings (docs/semantics.md section 24), resolved by column.
    pub instruments: Instruments<'a>,
}

/// The per-symbol settings of `quanta_ref.market.RunMarket`, by symbol column (N values
/// each), or all empty when no symbol has settings of its own (the engine-wide values).
#[derive(Clone, Copy, Debug, Default)]
pub struct Instruments<'a> {
    /// Lot sizes.
    pub lots: &'a [f64],
    /// Ticks (NaN: none).
    pub ticks: &'a [f64],
    /// Contract multipliers.
    pub multipliers: &'a [f64],
    /// Initial margin rates (NaN: not a margin symbol).
    pub margins: &'a [f64],
    /// Maintenance margin rates (NaN: not a margin symbol).
    pub maintenance: &'a [f64],
    /// Each symbol's own commission model (None: the engine-wide rule); empty when no
    /// symbol has one.
    pub commissions: &'a [Option<CommissionModel>],
}

/// How many cost rates a row of [`Market::rates`] holds.
pub const N_RATES: usize = 5;

impl BarsView<'_> {
    /// T.
    pub fn n_bars(&self) -> usize {
        self.timestamps.len()
    }
}

/// One bar's (open, high, low, close, volume).
pub type Ohlcv = (f64, f64, f64, f64, f64);

/// An owned bar panel, for Rust callers (tests, examples, benchmarks): the arrays a
/// [`BarsView`] borrows, built bar by bar. Python runs borrow numpy's arrays instead.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Panel {
    /// Strictly ascending int64 nanoseconds, length T.
    pub timestamps: Vec<i64>,
    /// Opens, row-major (T, N).
    pub open: Vec<f64>,
    /// Highs.
    pub high: Vec<f64>,
    /// Lows.
    pub low: Vec<f64>,
    /// Closes.
    pub close: Vec<f64>,
    /// Volumes.
    pub volume: Vec<f64>,
    /// N.
    pub n_symbols: usize,
    /// Limit-down prices, row-major (T, N), or empty for no limits.
    pub limit_down: Vec<f64>,
    /// Limit-up prices, row-major (T, N), or empty for no limits.
    pub limit_up: Vec<f64>,
    /// Rows of the rate table (see [`Market`]).
    pub rate_rows: Vec<i64>,
    /// The rate table, row-major (K, 5) (see [`Market`]).
    pub rates: Vec<f64>,
    /// Corporate actions, in application order.
    pub actions: Vec<CorporateAction>,
    /// Per-symbol lot sizes, ticks, multipliers, margin and maintenance rates (see
    /// [`Instruments`]), each empty or N long.
    pub instruments: [Vec<f64>; 5],
}

impl Panel {
    /// A panel of `n_symbols` symbols at `timestamps` in which every bar is missing (NaN).
    pub fn new(timestamps: Vec<i64>, n_symbols: usize) -> Self {
        let size = timestamps.len() * n_symbols;
        Panel {
            timestamps,
            open: vec![f64::NAN; size],
            high: vec![f64::NAN; size],
            low: vec![f64::NAN; size],
            close: vec![f64::NAN; size],
            volume: vec![f64::NAN; size],
            n_symbols,
            ..Panel::default()
        }
    }

    /// Set the bar of symbol `column` at row `row`.
    pub fn set(&mut self, row: usize, column: usize, bar: Ohlcv) {
        let at = row * self.n_symbols + column;
        let (open, high, low, close, volume) = bar;
        self.open[at] = open;
        self.high[at] = high;
        self.low[at] = low;
        self.close[at] = close;
        self.volume[at] = volume;
    }

    /// The panel as the engine reads it.
    pub fn view(&self) -> BarsView<'_> {
        BarsView {
            timestamps: &self.timestamps,
            open: &self.open,
            high: &self.high,
            low: &self.low,
            close: &self.close,
            volume: &self.volume,
            n_symbols: self.n_symbols,
            market: Market {
                limit_down: &self.limit_down,
                limit_up: &self.limit_up,
                rate_rows: &self.rate_rows,
                rates: &self.rates,
                instruments: Instruments {
                    lots: &self.instruments[0],
                    ticks: &self.instruments[1],
                    multipliers: &self.instruments[2],
                    margins: &self.instruments[3],
                    maintenance: &self.instruments[4],
                    commissions: &[],
                },
            },
            actions: &self.actions,
        }
    }
}
