//! Performance statistics of a finished backtest, the Rust twin of `quanta_ref/metrics.py`.
//!
//! The reference module docstring is the specification: it writes out every formula with its
//! order of evaluation, the ruin rule and every edge case. This module follows it line by line
//! so that the results are bit-identical to the Python reference, not merely close:
//!
//! * every accumulation is an explicit loop over the bars in ascending order, `acc += term`
//!   (one IEEE-754 addition, the reference's `acc = acc + term`), starting from `0.0` (no
//!   `Iterator::sum`, no `mul_add`, no reassociation, no fast-math);
//! * Python's `min(a, b)` / `max(a, b)` are written as the comparisons CPython performs
//!   (`b < a` / `b > a`, keeping `a` on ties), not as `f64::min` / `f64::max`, which treat NaN
//!   and signed zeros differently;
//! * integer-to-float conversions (`n as f64`) are exact below 2^53 bars or trades, where
//!   Python's `float / int` and `int / int` give the same correctly rounded quotient;
//! * `f64::sqrt` is IEEE-754 correctly rounded, like C's `sqrt` behind `math.sqrt`;
//! * `f64::powf` and Python's `math.pow` both call the platform C library's `pow` (glibc on
//!   Linux), so they agree bit for bit on the same platform. This is the one place where the
//!   equality rests on the platform rather than on IEEE-754: a Rust build linked against a
//!   different libm than the Python interpreter could differ in the last bit of `cagr` (and so
//!   of `calmar_ratio`), well inside the contract's 1e-12 relative tolerance.
//!
//! Validation is *not* done here: the Rust engine calls [`compute_stats`] with inputs it has
//! already checked, and the Python entry point validates with the reference's own messages
//! before calling in. The preconditions are listed on each function.

pub use crate::events::NS_PER_DAY;

/// The names of the statistics, in the order of `quanta_ref.metrics.STAT_KEYS`; the order of
/// [`Stats::values`].
pub const STAT_KEYS: [&str; 16] = [
    "start_equity",
    "final_equity",
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "max_drawdown_duration",
    "calmar_ratio",
    "win_rate",
    "profit_factor",
    "n_trades",
    "exposure",
    "turnover",
    "periods_per_year",
];

/// The summary statistics of a backtest, one field per entry of [`STAT_KEYS`].
///
/// The meaning of each field, its formula and its edge cases (NaN, infinity, ruin) are those
/// of the same key in the `quanta_ref.metrics` module docstring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The equity before the first bar (`initial_cash`).
    pub start_equity: f64,
    /// The real equity at the close of the last bar.
    pub final_equity: f64,
    /// `final_equity / start_equity - 1.0` (below -1 after a ruin with negative equity).
    pub total_return: f64,
    /// Compound annual growth rate of the effective equity; -1.0 after a ruin.
    pub cagr: f64,
    /// Sample standard deviation of the bar returns, annualised; NaN with one bar.
    pub annual_volatility: f64,
    /// Annualised Sharpe ratio (risk-free rate 0); NaN with one bar or zero volatility.
    pub sharpe_ratio: f64,
    /// Annualised Sortino ratio (required return 0); NaN with one bar.
    pub sortino_ratio: f64,
    /// The deepest drawdown from the running peak (initial cash included), as a fraction <= 0.
    pub max_drawdown: f64,
    /// The longest run of consecutive bars strictly below the previous peak, in bars.
    pub max_drawdown_duration: usize,
    /// `cagr / |max_drawdown|`; NaN when there is no drawdown or the quotient is infinite.
    pub calmar_ratio: f64,
    /// Fraction of trades with a pnl > 0; NaN without trades.
    pub win_rate: f64,
    /// Gross profit over gross loss; NaN without trades.
    pub profit_factor: f64,
    /// Number of closed trades.
    pub n_trades: usize,
    /// Fraction of the bars with an open position.
    pub exposure: f64,
    /// Traded notional over the average real equity; NaN when that average is <= 0.
    pub turnover: f64,
    /// The bars per year used to annualise, given or inferred.
    pub periods_per_year: f64,
}

impl Stats {
    /// The statistics as floats in the order of [`STAT_KEYS`], the counts converted with
    /// `as f64` (exact below 2^53), as the reference returns every value as a Python float.
    pub fn values(&self) -> [f64; 16] {
        [
            self.start_equity,
            self.final_equity,
            self.total_return,
            self.cagr,
            self.annual_volatility,
            self.sharpe_ratio,
            self.sortino_ratio,
            self.max_drawdown,
            self.max_drawdown_duration as f64,
            self.calmar_ratio,
            self.win_rate,
            self.profit_factor,
            self.n_trades as f64,
            self.exposure,
            self.turnover,
            self.periods_per_year,
        ]
    }

    /// `(key, value)` pairs in the order of [`STAT_KEYS`].
    pub fn entries(&self) -> [(&'static str, f64); 16] {
        let values = self.values();
        std::array::from_fn(|i| (STAT_KEYS[i], values[i]))
    }
}

/// numpy's `float(np.median(values))` of integers: the middle value of the sorted values, or
/// the mean of the two middle ones for an even count. numpy takes that mean in float64 as
/// `(float(a) + float(b)) / 2.0` (`np.mean` of the two, summed in float64), so it is computed
/// the same way here, not as `a + (b - a) / 2` in integers. `values` must not be empty; it is
/// reordered.
fn median_of_integers(values: &mut [i64]) -> f64 {
    let n = values.len();
    values.sort_unstable();
    let upper = values[n / 2];
    if n % 2 == 1 {
        upper as f64
    } else {
        let lower = values[n / 2 - 1];
        (lower as f64 + upper as f64) / 2.0
    }
}

/// Whether the day number (days since 1970-01-01, floored) falls on a Saturday or Sunday.
fn is_weekend(day: i64) -> bool {
    // 1970-01-01 was a Thursday (weekday 3, Monday = 0); rem_euclid is numpy's non-negative %.
    (day + 3).rem_euclid(7) >= 5
}

/// Guess the number of bars per year from the bar timestamps, as
/// `quanta_ref.metrics.infer_periods_per_year` does (see its docstring for the rule).
///
/// Preconditions (checked by the callers, not here): `timestamps` are int64 nanoseconds since
/// the epoch, strictly ascending. A step longer than the `i64` range (more than 292 years) is
/// taken as `i64::MAX`, as the reference does.
pub fn infer_periods_per_year(timestamps: &[i64]) -> f64 {
    let n = timestamps.len();
    if n < 2 {
        return 252.0;
    }
    let mut steps: Vec<i64> = timestamps.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
    let median_step = median_of_integers(&mut steps);
    let day = NS_PER_DAY as f64;
    if median_step >= 360.0 * day {
        return 1.0;
    }
    if median_step >= 85.0 * day {
        return 4.0;
    }
    if median_step >= 28.0 * day {
        return 12.0;
    }
    if median_step >= 5.0 * day {
        return 52.0;
    }
    // Floor division: days before 1970 are negative and still floored (not truncated).
    let day_of = |ts: i64| ts.div_euclid(NS_PER_DAY);
    if median_step >= day {
        let weekend = timestamps.iter().filter(|&&ts| is_weekend(day_of(ts))).count();
        return if 10 * weekend > n { 365.0 } else { 252.0 };
    }
    // Intraday: bars per distinct day. The timestamps ascend, so equal days are adjacent and
    // this run-length count is np.unique(days, return_counts=True).
    let mut bars_per_day: Vec<i64> = Vec::new();
    let mut weekend = 0usize;
    let mut current = day_of(timestamps[0]);
    let mut count = 0i64;
    for &ts in timestamps {
        let d = day_of(ts);
        if d != current {
            bars_per_day.push(count);
            weekend += usize::from(is_weekend(current));
            current = d;
            count = 0;
        }
        count += 1;
    }
    bars_per_day.push(count);
    weekend += usize::from(is_weekend(current));
    let days_per_year = if 10 * weekend > bars_per_day.len() { 365.0 } else { 252.0 };
    median_of_integers(&mut bars_per_day) * days_per_year
}

/// Python's `min(a, b)`: `a` unless `b < a`.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python's `max(a, b)`: `a` unless `b > a`.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Summary statistics of an equity curve and its closed trades, as
/// `quanta_ref.metrics.compute_stats` computes them, bit for bit.
///
/// `periods_per_year` of `None` infers it with [`infer_periods_per_year`].
///
/// Preconditions (the reference raises on their violation; here they are the caller's
/// responsibility, and a violation gives meaningless numbers but never undefined behaviour):
///
/// * `timestamps` satisfy those of [`infer_periods_per_year`] (only used when
///   `periods_per_year` is `None`) and have the length of `equity`;
/// * `equity` is not empty and every value is finite (zero or negative is allowed: ruin);
/// * `initial_cash` is finite and > 0; a given `periods_per_year` is finite and > 0;
/// * every `trade_pnls` value is finite; `traded_value` is finite and >= 0;
/// * `bars_in_market <= equity.len()`.
///
/// # Panics
///
/// If `equity` is empty.
pub fn compute_stats(
    timestamps: &[i64],
    equity: &[f64],
    initial_cash: f64,
    trade_pnls: &[f64],
    traded_value: f64,
    bars_in_market: usize,
    periods_per_year: Option<f64>,
) -> Stats {
    assert!(!equity.is_empty(), "compute_stats: equity is empty (a backtest has at least one bar)");
    let cash = initial_cash;
    let ppy = periods_per_year.unwrap_or_else(|| infer_periods_per_year(timestamps));
    let n_bars = equity.len();

    // ---- effective equity: zero from the first non-positive value on (ruin) -------------
    let mut eff: Vec<f64> = Vec::with_capacity(n_bars);
    let mut ruined = false;
    for &value in equity {
        if ruined || value <= 0.0 {
            ruined = true;
            eff.push(0.0);
        } else {
            eff.push(value);
        }
    }

    // ---- returns ------------------------------------------------------------------------
    let mut returns: Vec<f64> = Vec::with_capacity(n_bars);
    let mut prev = cash;
    for &value in &eff {
        if prev > 0.0 {
            returns.push(value / prev - 1.0);
        } else {
            returns.push(0.0); // already ruined: 0 / 0 would be undefined
        }
        prev = value;
    }
    let n = returns.len();
    let n_float = n as f64;

    // ---- moments ------------------------------------------------------------------------
    let mut acc = 0.0;
    for &x in &returns {
        acc += x;
    }
    let mean = acc / n_float;

    let std = if n < 2 {
        f64::NAN
    } else if returns.iter().all(|&x| x == returns[0]) {
        // Same test as the reference's loop (`x != returns[0]` breaks it): NaN is never
        // equal, so a NaN return makes the curve "not constant" in both.
        0.0
    } else {
        let mut acc = 0.0;
        for &x in &returns {
            let d = x - mean;
            acc += d * d;
        }
        (acc / (n - 1) as f64).sqrt()
    };

    let mut acc = 0.0;
    for &x in &returns {
        let m = py_min(x, 0.0);
        acc += m * m;
    }
    let downside_second_moment = acc / n_float;

    let sqrt_ppy = ppy.sqrt();
    let annual_volatility = std * sqrt_ppy; // NaN stays NaN

    let sharpe_ratio = if n < 2 || std == 0.0 { f64::NAN } else { (mean / std) * sqrt_ppy };

    let sortino_ratio = if n < 2 {
        f64::NAN
    } else {
        let downside_risk = downside_second_moment.sqrt() * sqrt_ppy;
        let numerator = mean * ppy;
        if downside_risk == 0.0 {
            // IEEE x / 0: the sign of x, or NaN for 0 / 0 (what numpy gives empyrical).
            if numerator == 0.0 {
                f64::NAN
            } else {
                f64::INFINITY.copysign(numerator)
            }
        } else {
            numerator / downside_risk
        }
    };

    // ---- growth -------------------------------------------------------------------------
    let final_equity = equity[n_bars - 1];
    let total_return = final_equity / cash - 1.0;
    let growth = eff[n_bars - 1] / cash;
    // Python's math.pow raises OverflowError where C's pow returns +inf; the reference turns
    // that into +inf, which is what powf returns, so no special case is needed here.
    let cagr = growth.powf(ppy / n_float) - 1.0;

    // ---- drawdown -----------------------------------------------------------------------
    let mut peak = cash;
    let mut max_drawdown = 0.0;
    let mut run = 0usize;
    let mut longest = 0usize;
    for &value in &eff {
        if value < peak {
            // strictly below the peak before this bar
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
        peak = py_max(peak, value);
        let dd = (value - peak) / peak;
        max_drawdown = py_min(max_drawdown, dd);
    }

    let calmar_ratio = if max_drawdown == 0.0 {
        f64::NAN
    } else {
        let calmar = cagr / max_drawdown.abs();
        if calmar.is_infinite() {
            f64::NAN
        } else {
            calmar
        }
    };

    // ---- trades -------------------------------------------------------------------------
    let n_trades = trade_pnls.len();
    let mut wins = 0usize;
    let mut gross_profit = 0.0;
    let mut gross_loss = 0.0;
    for &p in trade_pnls {
        if p > 0.0 {
            wins += 1;
            gross_profit += p;
        } else if p < 0.0 {
            gross_loss += -p;
        }
    }
    let (win_rate, profit_factor) = if n_trades == 0 {
        (f64::NAN, f64::NAN)
    } else {
        let profit_factor = if gross_loss > 0.0 {
            gross_profit / gross_loss
        } else if gross_profit > 0.0 {
            f64::INFINITY
        } else {
            f64::NAN
        };
        (wins as f64 / n_trades as f64, profit_factor)
    };

    // ---- activity -----------------------------------------------------------------------
    let exposure = bars_in_market as f64 / n_bars as f64;
    let mut acc = 0.0;
    for &value in equity {
        acc += value;
    }
    let average_equity = acc / n_bars as f64;
    let turnover = if average_equity > 0.0 { traded_value / average_equity } else { f64::NAN };

    Stats {
        start_equity: cash,
        final_equity,
        total_return,
        cagr,
        annual_volatility,
        sharpe_ratio,
        sortino_ratio,
        max_drawdown,
        max_drawdown_duration: longest,
        calmar_ratio,
        win_rate,
        profit_factor,
        n_trades,
        exposure,
        turnover,
        periods_per_year: ppy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2015-01-05, a Monday, in nanoseconds.
    const MONDAY: i64 = 16_440 * NS_PER_DAY;
    const NS_MINUTE: i64 = 60_000_000_000;

    /// `n` business days (Monday to Friday) from `start`, which must be a Monday.
    fn business_days(n: usize, start: i64) -> Vec<i64> {
        (0..)
            .map(|d: i64| start + d * NS_PER_DAY)
            .filter(|&ts| !is_weekend(ts.div_euclid(NS_PER_DAY)))
            .take(n)
            .collect()
    }

    fn stats(equity: &[f64], initial_cash: f64) -> Stats {
        let ts = business_days(equity.len(), MONDAY);
        compute_stats(&ts, equity, initial_cash, &[], 0.0, 0, None)
    }

    #[test]
    fn stat_keys_and_values_line_up() {
        let s = stats(&[101.0, 102.0, 100.0], 100.0);
        let entries = s.entries();
        assert_eq!(entries.map(|(k, _)| k), STAT_KEYS);
        assert_eq!(entries[0], ("start_equity", 100.0));
        assert_eq!(entries[1], ("final_equity", 100.0));
        assert_eq!(entries[15], ("periods_per_year", 252.0));
    }

    #[test]
    fn three_bar_curve_matches_hand_computation() {
        let ts = business_days(3, MONDAY);
        let s = compute_stats(
            &ts,
            &[110.0, 99.0, 121.0],
            100.0,
            &[10.0, -5.0, 0.0, 20.0],
            330.0,
            2,
            Some(252.0),
        );
        assert_eq!(s.start_equity, 100.0);
        assert_eq!(s.final_equity, 121.0);
        assert_eq!(s.total_return, 121.0 / 100.0 - 1.0);
        assert_eq!(s.cagr, (121.0f64 / 100.0).powf(252.0 / 3.0) - 1.0);
        // returns, in the reference's order of operations
        let r = [110.0 / 100.0 - 1.0, 99.0 / 110.0 - 1.0, 121.0 / 99.0 - 1.0];
        let mean = (0.0 + r[0] + r[1] + r[2]) / 3.0;
        let var: f64 = (0.0
            + (r[0] - mean) * (r[0] - mean)
            + (r[1] - mean) * (r[1] - mean)
            + (r[2] - mean) * (r[2] - mean))
            / 2.0;
        assert_eq!(s.annual_volatility, var.sqrt() * 252f64.sqrt());
        assert_eq!(s.sharpe_ratio, (mean / var.sqrt()) * 252f64.sqrt());
        let dsq: f64 = (0.0 + 0.0 + r[1] * r[1] + 0.0) / 3.0;
        assert_eq!(s.sortino_ratio, (mean * 252.0) / (dsq.sqrt() * 252f64.sqrt()));
        assert_eq!(s.max_drawdown, (99.0 - 110.0) / 110.0);
        assert_eq!(s.max_drawdown_duration, 1);
        assert_eq!(s.calmar_ratio, s.cagr / ((99.0 - 110.0) / 110.0f64).abs());
        assert_eq!(s.win_rate, 0.5); // the trade at exactly 0 is not a win
        assert_eq!(s.profit_factor, 6.0); // 30 / 5
        assert_eq!(s.n_trades, 4);
        assert_eq!(s.exposure, 2.0 / 3.0);
        assert_eq!(s.turnover, 330.0 / ((0.0 + 110.0 + 99.0 + 121.0) / 3.0));
        assert_eq!(s.periods_per_year, 252.0);
    }

    #[test]
    fn flat_curve_has_zero_volatility_and_undefined_ratios() {
        let s = stats(&[100.0; 5], 100.0);
        assert_eq!(s.total_return, 0.0);
        assert_eq!(s.cagr, 0.0);
        assert_eq!(s.annual_volatility, 0.0);
        assert!(s.sharpe_ratio.is_nan(), "Sharpe is NaN when std is 0");
        assert!(s.sortino_ratio.is_nan(), "0 / 0");
        assert_eq!(s.max_drawdown, 0.0);
        assert_eq!(s.max_drawdown_duration, 0);
        assert!(s.calmar_ratio.is_nan());
        assert!(s.win_rate.is_nan() && s.profit_factor.is_nan(), "no trades");
        assert_eq!(s.turnover, 0.0);
    }

    #[test]
    fn constant_positive_return_has_nan_sharpe_and_infinite_sortino() {
        let s = stats(&[100.0, 200.0, 400.0], 50.0);
        assert_eq!(s.annual_volatility, 0.0);
        assert!(s.sharpe_ratio.is_nan());
        assert_eq!(s.sortino_ratio, f64::INFINITY);
    }

    #[test]
    fn single_bar_has_nan_dispersion_statistics() {
        let s = stats(&[105.0], 100.0);
        assert_eq!(s.total_return, 105.0 / 100.0 - 1.0);
        assert_eq!(s.cagr, (105.0f64 / 100.0).powf(252.0) - 1.0);
        assert!(s.annual_volatility.is_nan());
        assert!(s.sharpe_ratio.is_nan());
        assert!(s.sortino_ratio.is_nan());
        assert_eq!(s.periods_per_year, 252.0, "inferred from a single timestamp");
        assert_eq!(s.exposure, 0.0);
    }

    #[test]
    fn ruined_account_compounds_to_zero() {
        let s = compute_stats(
            &business_days(4, MONDAY),
            &[90.0, -10.0, 5.0, 20.0],
            100.0,
            &[],
            105.0,
            4,
            None,
        );
        // returns: -0.1, then -1.0 at the ruin, then 0.0 for every later bar
        let r = [90.0 / 100.0 - 1.0, -1.0, 0.0, 0.0];
        let mean = (0.0 + r[0] + r[1] + r[2] + r[3]) / 4.0;
        let mut acc: f64 = 0.0;
        for x in r {
            acc += (x - mean) * (x - mean);
        }
        let std = (acc / 3.0).sqrt();
        assert_eq!(s.final_equity, 20.0);
        assert_eq!(s.total_return, 20.0 / 100.0 - 1.0);
        assert_eq!(s.cagr, -1.0);
        assert_eq!(s.max_drawdown, -1.0);
        assert_eq!(s.max_drawdown_duration, 4);
        assert_eq!(s.calmar_ratio, -1.0);
        assert_eq!(s.annual_volatility, std * 252f64.sqrt());
        assert_eq!(s.sharpe_ratio, (mean / std) * 252f64.sqrt());
        assert_eq!(s.turnover, 105.0 / 26.25, "average of the real equity");
        assert_eq!(s.exposure, 1.0);
    }

    #[test]
    fn ruin_on_the_first_bar() {
        let s = stats(&[0.0], 100.0);
        assert_eq!(s.total_return, -1.0);
        assert_eq!(s.cagr, -1.0);
        assert_eq!(s.max_drawdown, -1.0);
        assert!(s.turnover.is_nan(), "average equity is 0");
    }

    #[test]
    fn overflowing_cagr_is_infinite_and_calmar_is_nan() {
        let ts = business_days(2, MONDAY);
        let s = compute_stats(&ts, &[0.5, 1e12], 1.0, &[], 0.0, 0, Some(98_280.0));
        assert_eq!(s.cagr, f64::INFINITY);
        assert_eq!(s.max_drawdown, -0.5);
        assert!(s.calmar_ratio.is_nan());
    }

    #[test]
    fn drawdown_duration_is_the_longest_run_strictly_below_the_peak() {
        let s = stats(&[100.0, 90.0, 95.0, 99.0, 100.0, 80.0, 101.0, 99.0], 100.0);
        assert_eq!(s.max_drawdown_duration, 3);
        assert_eq!(s.max_drawdown, (80.0 - 100.0) / 100.0);
    }

    #[test]
    fn trade_statistics() {
        let ts = business_days(2, MONDAY);
        let s = compute_stats(&ts, &[100.0, 101.0], 100.0, &[3.0, 0.0, 1.5], 0.0, 0, None);
        assert_eq!(s.profit_factor, f64::INFINITY);
        assert_eq!(s.win_rate, 2.0 / 3.0);
        let s = compute_stats(&ts, &[100.0, 101.0], 100.0, &[0.0, 0.0], 0.0, 0, None);
        assert_eq!(s.win_rate, 0.0);
        assert!(s.profit_factor.is_nan());
        let s = compute_stats(&ts, &[100.0, 101.0], 100.0, &[-1.0, -2.0], 0.0, 0, None);
        assert_eq!(s.profit_factor, 0.0);
    }

    #[test]
    fn negative_average_equity_gives_nan_turnover() {
        assert!(stats(&[-50.0, -60.0], 100.0).turnover.is_nan());
    }

    #[test]
    fn fewer_than_two_timestamps_default_to_252() {
        assert_eq!(infer_periods_per_year(&[]), 252.0);
        assert_eq!(infer_periods_per_year(&[MONDAY]), 252.0);
    }

    #[test]
    fn business_days_are_252_and_calendar_days_365_per_year() {
        assert_eq!(infer_periods_per_year(&business_days(300, MONDAY)), 252.0);
        let calendar: Vec<i64> = (0..300).map(|d| MONDAY + d * NS_PER_DAY).collect();
        assert_eq!(infer_periods_per_year(&calendar), 365.0);
    }

    #[test]
    fn longer_spacings_map_to_52_12_4_1() {
        let every = |days: i64| -> Vec<i64> { (0..10).map(|i| i * days * NS_PER_DAY).collect() };
        assert_eq!(infer_periods_per_year(&every(7)), 52.0);
        assert_eq!(infer_periods_per_year(&every(30)), 12.0);
        assert_eq!(infer_periods_per_year(&every(91)), 4.0);
        assert_eq!(infer_periods_per_year(&every(365)), 1.0);
    }

    #[test]
    fn minute_bars_on_weekdays_are_bars_per_day_times_252() {
        let mut ts = Vec::new();
        for day in business_days(5, MONDAY) {
            let open = day + (9 * 60 + 30) * NS_MINUTE;
            ts.extend((0..390).map(|m| open + m * NS_MINUTE));
        }
        assert_eq!(infer_periods_per_year(&ts), 390.0 * 252.0);
    }

    #[test]
    fn hourly_bars_every_day_are_24_times_365() {
        let ts: Vec<i64> = (0..24 * 14).map(|h| MONDAY + h * 60 * NS_MINUTE).collect();
        assert_eq!(infer_periods_per_year(&ts), 24.0 * 365.0);
    }

    #[test]
    fn even_count_median_averages_the_two_middle_values() {
        // two days with 2 and 3 bars: median 2.5 bars per day
        let tuesday = MONDAY + NS_PER_DAY;
        let ts = [MONDAY, MONDAY + NS_MINUTE, tuesday, tuesday + 1, tuesday + 2];
        assert_eq!(infer_periods_per_year(&ts), 2.5 * 252.0);
        assert_eq!(median_of_integers(&mut [4, 1, 3, 2]), 2.5);
        assert_eq!(median_of_integers(&mut [5, 1, 3]), 3.0);
    }

    #[test]
    fn timestamps_before_1970_are_floored_to_their_day() {
        // 1969-12-31 23:00 and 23:30 (a Wednesday) then 1970-01-01 00:00 and 00:30: two days
        // of two bars, truncation would merge them into one day 0 of four bars.
        let half_hour = 30 * NS_MINUTE;
        let ts = [-2 * half_hour, -half_hour, 0, half_hour];
        assert_eq!(infer_periods_per_year(&ts), 2.0 * 252.0);
        // 1969-12-27 was a Saturday: day -5
        assert!(is_weekend(-5) && is_weekend(-4) && !is_weekend(-3) && !is_weekend(-6));
    }
}
