//! Technical indicators, a bit-for-bit port of `quanta_ref/indicators.py`.
//!
//! The reference is the specification: every indicator here performs the same IEEE-754
//! operations in the same order as its Python counterpart (no fused multiply-add, no
//! reassociation, every sum an explicit left-to-right loop), so the outputs are identical bits.
//! Read the reference module's docstring for the conventions (TA-Lib warm-up and seeding, the
//! NaN rule, the tie rule of crossings); the comments here only say where Rust has to take care
//! to do what Python does.
//!
//! Each indicator is a streaming struct (`new`, `update`, `value`, `reset`) and a batch
//! function that runs that struct over a slice, as the reference does. A value that is not
//! finite resets the indicator and gives NaN.
//!
//! Integer-to-float conversions: Python converts an `int` operand of a float operation to the
//! nearest `float` (ties to even), which is what Rust's `as f64` does for every integer type.
//! Sums of integers that could overflow `usize` are done in `u128`, as Python's unbounded ints
//! would do them exactly.

use std::collections::VecDeque;
use std::fmt;

/// A bad indicator setting or a bad pair of input lengths.
///
/// The `Display` text is the message `quanta_ref.indicators` raises for the same input
/// (`ConfigError` for the settings, `DataError` for the lengths).
#[derive(Debug, Clone, PartialEq)]
pub enum IndicatorError {
    /// A period below its minimum; `name` is the parameter (`"period"`, `"fast"`, ...).
    Period {
        /// The parameter name, as the Python signature spells it.
        name: &'static str,
        /// The smallest valid value.
        minimum: usize,
        /// The value given.
        got: usize,
    },
    /// MACD with `fast >= slow`.
    FastNotBelowSlow {
        /// The fast EMA period given.
        fast: usize,
        /// The slow EMA period given.
        slow: usize,
    },
    /// A Bollinger width multiplier that is not finite or is negative.
    NumStd(f64),
    /// Inputs that must have one length do not; `names` lists them as in the message.
    Lengths {
        /// The parameter names, e.g. `"high, low, close"`.
        names: &'static str,
        /// Their lengths, in the same order.
        lengths: Vec<usize>,
    },
}

impl IndicatorError {
    /// True for a bad setting (Python `ConfigError`), false for bad data (`DataError`).
    pub fn is_config(&self) -> bool {
        !matches!(self, IndicatorError::Lengths { .. })
    }
}

impl fmt::Display for IndicatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IndicatorError::Period { name, minimum, got } => {
                write!(f, "{name}: must be an int >= {minimum}, got {got}")
            }
            IndicatorError::FastNotBelowSlow { fast, slow } => {
                write!(f, "fast: must be smaller than slow, got fast={fast}, slow={slow}")
            }
            IndicatorError::NumStd(value) => {
                write!(
                    f,
                    "num_std: must be a finite number >= 0, got {}",
                    python_float_repr(*value)
                )
            }
            IndicatorError::Lengths { names, lengths } => {
                let lengths: Vec<String> = lengths.iter().map(usize::to_string).collect();
                write!(f, "{names}: lengths differ ({})", lengths.join(", "))
            }
        }
    }
}

impl std::error::Error for IndicatorError {}

/// `repr(x)` as Python writes a float: the shortest round-tripping digits (as Rust's `{:?}`),
/// but an exponent with a sign and at least two digits (`1e+300`, `1.5e-07`).
fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    let debug = format!("{x:?}");
    match debug.split_once('e') {
        None => debug,
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
    }
}

fn check_period(
    name: &'static str,
    period: usize,
    minimum: usize,
) -> Result<usize, IndicatorError> {
    if period < minimum {
        return Err(IndicatorError::Period { name, minimum, got: period });
    }
    Ok(period)
}

/// Python's `max(a, b)` for floats: `b` only if it is strictly greater, else `a`.
fn python_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

// ------------------------------------------------------------------------------------ SMA
/// Simple moving average, streaming (reference: `SMA`): a running sum, TA-Lib's order.
#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: VecDeque<f64>,
    sum: f64,
    value: f64,
}

impl Sma {
    /// A new average over `period` values (`period >= 1`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Sma { period, window: VecDeque::new(), sum: 0.0, value: f64::NAN })
    }

    /// The window length.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.window.clear();
        self.sum = 0.0;
        self.value = f64::NAN;
    }

    /// Add the next value; return the average of the last `period` values or NaN.
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        if self.window.len() == self.period {
            // Subtract the leaving value before adding the new one: TA-Lib's order.
            if let Some(oldest) = self.window.pop_front() {
                self.sum -= oldest;
            }
        }
        self.sum += x;
        self.window.push_back(x);
        if self.window.len() == self.period {
            self.value = self.sum / self.period as f64;
        }
        self.value
    }
}

// ------------------------------------------------------------------------------------ EMA
/// Exponential moving average seeded with an SMA, streaming (reference: `EMA`).
#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    count: usize,
    seed_sum: f64,
    value: f64,
}

impl Ema {
    /// A new average with span `period` (`period >= 1`); `k = 2.0 / (period + 1)`.
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        // Python adds the ints exactly, then converts the sum to float.
        let k = 2.0 / ((period as u128 + 1) as f64);
        Ok(Ema { period, k, count: 0, seed_sum: 0.0, value: f64::NAN })
    }

    /// The span.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The smoothing factor `2.0 / (period + 1)`.
    pub fn k(&self) -> f64 {
        self.k
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.count = 0;
        self.seed_sum = 0.0;
        self.value = f64::NAN;
    }

    /// Add the next value; return the new average or NaN during the warm-up.
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        if self.count < self.period {
            self.seed_sum += x;
            self.count += 1;
            if self.count == self.period {
                self.value = self.seed_sum / self.period as f64;
            }
            return self.value;
        }
        // TA-Lib's form, not k * x + (1 - k) * prev: it rounds differently.
        self.value = (x - self.value) * self.k + self.value;
        self.value
    }
}

// ------------------------------------------------------------------------------------ WMA
/// Linearly weighted moving average, streaming (reference: `WMA`): each window afresh.
#[derive(Debug, Clone)]
pub struct Wma {
    period: usize,
    divider: f64,
    window: VecDeque<f64>,
    value: f64,
}

impl Wma {
    /// A new average over `period` values (`period >= 1`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        // The sum of the weights 1..period: an exact integer, converted to float once.
        let divider = (period as u128 * (period as u128 + 1) / 2) as f64;
        Ok(Wma { period, divider, window: VecDeque::new(), value: f64::NAN })
    }

    /// The window length.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.window.clear();
        self.value = f64::NAN;
    }

    /// Add the next value; return the weighted average or NaN during the warm-up.
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        push_bounded(&mut self.window, x, self.period);
        if self.window.len() == self.period {
            let mut acc = 0.0;
            // Oldest first with weights 1, 2, ..., period; each int weight converted to float.
            for (weight, &v) in (1usize..).zip(&self.window) {
                acc += v * weight as f64;
            }
            self.value = acc / self.divider;
        }
        self.value
    }
}

/// Python's `deque(maxlen=capacity).append(x)`: append, dropping the oldest when full.
fn push_bounded(window: &mut VecDeque<f64>, x: f64, capacity: usize) {
    if window.len() == capacity {
        window.pop_front();
    }
    window.push_back(x);
}

// ------------------------------------------------------------------------------------ RSI
/// Relative strength index with Wilder smoothing, streaming (reference: `RSI`).
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    prev: Option<f64>,
    n_diffs: usize,
    gain: f64,
    loss: f64,
    value: f64,
}

impl Rsi {
    /// A new index with smoothing period `period` (`period >= 2`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 2)?;
        Ok(Rsi { period, prev: None, n_diffs: 0, gain: 0.0, loss: 0.0, value: f64::NAN })
    }

    /// The smoothing period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.prev = None;
        self.n_diffs = 0;
        self.gain = 0.0;
        self.loss = 0.0;
        self.value = f64::NAN;
    }

    /// Add the next value; return the RSI in [0, 100] or NaN during the warm-up.
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        let Some(prev) = self.prev else {
            self.prev = Some(x);
            return self.value;
        };
        let diff = x - prev;
        self.prev = Some(x);
        let p = self.period;
        if self.n_diffs < p {
            if diff < 0.0 {
                self.loss -= diff;
            } else {
                self.gain += diff;
            }
            self.n_diffs += 1;
            if self.n_diffs < p {
                return self.value;
            }
            self.loss /= p as f64;
            self.gain /= p as f64;
        } else {
            // Wilder smoothing, one operation at a time as in the reference.
            self.loss *= (p - 1) as f64;
            self.gain *= (p - 1) as f64;
            if diff < 0.0 {
                self.loss -= diff;
            } else {
                self.gain += diff;
            }
            self.loss /= p as f64;
            self.gain /= p as f64;
        }
        let total = self.gain + self.loss;
        self.value = if total != 0.0 { 100.0 * (self.gain / total) } else { 0.0 };
        self.value
    }
}

// ----------------------------------------------------------------------------------- MACD
/// MACD line, signal line and histogram, streaming, aligned like TA-Lib (reference: `MACD`).
#[derive(Debug, Clone)]
pub struct Macd {
    fast: usize,
    slow: usize,
    signal: usize,
    fast_ema: Ema,
    slow_ema: Ema,
    signal_ema: Ema,
    count: usize,
    value: (f64, f64, f64),
}

impl Macd {
    /// A new MACD with EMA periods `1 <= fast < slow` and signal period `signal >= 1`.
    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Self, IndicatorError> {
        let fast = check_period("fast", fast, 1)?;
        let slow = check_period("slow", slow, 2)?;
        let signal = check_period("signal", signal, 1)?;
        if fast >= slow {
            return Err(IndicatorError::FastNotBelowSlow { fast, slow });
        }
        Ok(Macd {
            fast,
            slow,
            signal,
            fast_ema: Ema::new(fast)?,
            slow_ema: Ema::new(slow)?,
            signal_ema: Ema::new(signal)?,
            count: 0,
            value: (f64::NAN, f64::NAN, f64::NAN),
        })
    }

    /// The fast EMA period.
    pub fn fast(&self) -> usize {
        self.fast
    }

    /// The slow EMA period.
    pub fn slow(&self) -> usize {
        self.slow
    }

    /// The signal EMA period.
    pub fn signal(&self) -> usize {
        self.signal
    }

    /// The latest `(macd, signal, hist)`, NaN where not defined yet.
    pub fn value(&self) -> (f64, f64, f64) {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.fast_ema.reset();
        self.slow_ema.reset();
        self.signal_ema.reset();
        self.count = 0;
        self.value = (f64::NAN, f64::NAN, f64::NAN);
    }

    /// Add the next value; return `(macd, signal, hist)`, NaN during the warm-up.
    pub fn update(&mut self, x: f64) -> (f64, f64, f64) {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        let slow = self.slow_ema.update(x);
        let mut fast = f64::NAN;
        if self.count < self.slow - self.fast {
            // TA-Lib alignment: the fast EMA skips the first slow - fast values.
            self.count += 1;
        } else {
            fast = self.fast_ema.update(x);
        }
        if slow.is_nan() {
            // As the reference: the previous output stays (it can be stale only after an
            // overflow made the slow EMA NaN).
            return self.value;
        }
        let line = fast - slow;
        let sig = self.signal_ema.update(line);
        let hist = if !sig.is_nan() { line - sig } else { f64::NAN };
        self.value = (line, sig, hist);
        self.value
    }
}

// ----------------------------------------------------------------------------- RollingStd
/// Rolling population standard deviation, two passes per window (reference: `RollingStd`).
#[derive(Debug, Clone)]
pub struct RollingStd {
    period: usize,
    window: VecDeque<f64>,
    value: f64,
}

impl RollingStd {
    /// A new deviation over `period` values (`period >= 2`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 2)?;
        Ok(RollingStd { period, window: VecDeque::new(), value: f64::NAN })
    }

    /// The window length.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.window.clear();
        self.value = f64::NAN;
    }

    /// Add the next value; return the window's standard deviation or NaN.
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        push_bounded(&mut self.window, x, self.period);
        if self.window.len() == self.period {
            let mut s = 0.0;
            for &v in &self.window {
                s += v;
            }
            let mean = s / self.period as f64;
            let mut acc = 0.0;
            for &v in &self.window {
                let d = v - mean;
                acc += d * d;
            }
            // Both sqrt's are correctly rounded (IEEE 754), so they agree.
            self.value = (acc / self.period as f64).sqrt();
        }
        self.value
    }
}

// ------------------------------------------------------------------------- BollingerBands
/// Bollinger Bands, streaming: `Sma` plus and minus `num_std` times `RollingStd`
/// (reference: `BollingerBands`).
#[derive(Debug, Clone)]
pub struct BollingerBands {
    period: usize,
    num_std: f64,
    sma: Sma,
    std: RollingStd,
    value: (f64, f64, f64),
}

impl BollingerBands {
    /// New bands over `period` values (`period >= 2`), `num_std` finite and `>= 0`.
    pub fn new(period: usize, num_std: f64) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 2)?;
        if !num_std.is_finite() || num_std < 0.0 {
            return Err(IndicatorError::NumStd(num_std));
        }
        Ok(BollingerBands {
            period,
            num_std,
            sma: Sma::new(period)?,
            std: RollingStd::new(period)?,
            value: (f64::NAN, f64::NAN, f64::NAN),
        })
    }

    /// The window length.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The band width in standard deviations.
    pub fn num_std(&self) -> f64 {
        self.num_std
    }

    /// The latest `(upper, middle, lower)`, NaN during the warm-up.
    pub fn value(&self) -> (f64, f64, f64) {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.sma.reset();
        self.std.reset();
        self.value = (f64::NAN, f64::NAN, f64::NAN);
    }

    /// Add the next value; return `(upper, middle, lower)`, NaN during the warm-up.
    pub fn update(&mut self, x: f64) -> (f64, f64, f64) {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        let middle = self.sma.update(x);
        let std = self.std.update(x);
        if middle.is_nan() {
            return self.value;
        }
        let width = self.num_std * std;
        self.value = (middle + width, middle, middle - width);
        self.value
    }
}

// ------------------------------------------------------------------------------------ ATR
/// Average true range with Wilder smoothing, streaming (reference: `ATR`).
#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    prev_close: Option<f64>,
    n_tr: usize,
    sum: f64,
    value: f64,
}

impl Atr {
    /// A new average true range with smoothing period `period` (`period >= 1`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Atr { period, prev_close: None, n_tr: 0, sum: 0.0, value: f64::NAN })
    }

    /// The smoothing period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Forget every bar seen, as if just constructed.
    pub fn reset(&mut self) {
        self.prev_close = None;
        self.n_tr = 0;
        self.sum = 0.0;
        self.value = f64::NAN;
    }

    /// Add the next bar; return the average true range or NaN during the warm-up.
    pub fn update(&mut self, high: f64, low: f64, close: f64) -> f64 {
        if !(high.is_finite() && low.is_finite() && close.is_finite()) {
            self.reset();
            return self.value;
        }
        let Some(prev_close) = self.prev_close else {
            self.prev_close = Some(close);
            return self.value;
        };
        // Python's max(), which keeps the first of equal candidates (the sign of a zero).
        let mut tr = python_max(high - low, (prev_close - high).abs());
        tr = python_max(tr, (prev_close - low).abs());
        self.prev_close = Some(close);
        let p = self.period;
        if self.n_tr < p {
            self.sum += tr;
            self.n_tr += 1;
            if self.n_tr == p {
                self.value = self.sum / p as f64;
            }
            return self.value;
        }
        self.value *= (p - 1) as f64;
        self.value += tr;
        self.value /= p as f64;
        self.value
    }
}

// ------------------------------------------------------------------------ Highest, Lowest
/// The shared body of `Highest` and `Lowest`: scan the window oldest first, keep the first
/// value and replace it only by a strictly better one.
#[derive(Debug, Clone)]
struct Extreme {
    period: usize,
    take_max: bool,
    window: VecDeque<f64>,
    value: f64,
}

impl Extreme {
    fn new(period: usize, take_max: bool) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Extreme { period, take_max, window: VecDeque::new(), value: f64::NAN })
    }

    fn reset(&mut self) {
        self.window.clear();
        self.value = f64::NAN;
    }

    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        push_bounded(&mut self.window, x, self.period);
        if self.window.len() == self.period {
            let mut best = self.window[0];
            for &v in &self.window {
                if if self.take_max { v > best } else { v < best } {
                    best = v;
                }
            }
            self.value = best;
        }
        self.value
    }
}

/// Highest of the last `period` values (TA-Lib MAX), streaming (reference: `Highest`).
#[derive(Debug, Clone)]
pub struct Highest(Extreme);

impl Highest {
    /// A new maximum over `period` values (`period >= 1`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Highest(Extreme::new(period, true)?))
    }

    /// The window length.
    pub fn period(&self) -> usize {
        self.0.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.0.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// Add the next value; return the highest of the last `period` values or NaN.
    pub fn update(&mut self, x: f64) -> f64 {
        self.0.update(x)
    }
}

/// Lowest of the last `period` values (TA-Lib MIN), streaming (reference: `Lowest`).
#[derive(Debug, Clone)]
pub struct Lowest(Extreme);

impl Lowest {
    /// A new minimum over `period` values (`period >= 1`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Lowest(Extreme::new(period, false)?))
    }

    /// The window length.
    pub fn period(&self) -> usize {
        self.0.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.0.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.0.reset();
    }

    /// Add the next value; return the lowest of the last `period` values or NaN.
    pub fn update(&mut self, x: f64) -> f64 {
        self.0.update(x)
    }
}

// ------------------------------------------------------------------------------------ ROC
/// Rate of change in percent, streaming, as TA-Lib ROC (reference: `ROC`).
#[derive(Debug, Clone)]
pub struct Roc {
    period: usize,
    /// The last `period + 1` values; its length is kept `<= period + 1` without computing
    /// `period + 1`, which could overflow.
    window: VecDeque<f64>,
    value: f64,
}

impl Roc {
    /// A new rate of change with lag `period` (`period >= 1`).
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("period", period, 1)?;
        Ok(Roc { period, window: VecDeque::new(), value: f64::NAN })
    }

    /// The lag.
    pub fn period(&self) -> usize {
        self.period
    }

    /// The latest output (NaN during the warm-up).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Forget every value seen, as if just constructed.
    pub fn reset(&mut self) {
        self.window.clear();
        self.value = f64::NAN;
    }

    /// Add the next value; return the rate of change or NaN during the warm-up.
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.reset();
            return self.value;
        }
        if self.window.len() > self.period {
            self.window.pop_front();
        }
        self.window.push_back(x);
        if self.window.len() > self.period {
            let base = self.window[0];
            self.value = if base != 0.0 { ((x / base) - 1.0) * 100.0 } else { 0.0 };
        }
        self.value
    }
}

// ------------------------------------------------------------------------ batch functions
fn run(values: &[f64], mut update: impl FnMut(f64) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len());
    for &x in values {
        out.push(update(x));
    }
    out
}

/// Three output columns of one length, as the batch MACD and Bollinger Bands return them.
pub type Columns3 = (Vec<f64>, Vec<f64>, Vec<f64>);

fn run3(values: &[f64], mut update: impl FnMut(f64) -> (f64, f64, f64)) -> Columns3 {
    let n = values.len();
    let (mut a, mut b, mut c) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for &x in values {
        let (u, v, w) = update(x);
        a.push(u);
        b.push(v);
        c.push(w);
    }
    (a, b, c)
}

/// Simple moving average of `values`, `Sma` run over the slice (reference: `sma`).
pub fn sma(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Sma::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

/// Exponential moving average of `values`, `Ema` run over the slice (reference: `ema`).
pub fn ema(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Ema::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

/// Weighted moving average of `values`, `Wma` run over the slice (reference: `wma`).
pub fn wma(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Wma::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

/// Relative strength index of `values`, `Rsi` run over the slice (reference: `rsi`).
pub fn rsi(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Rsi::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

/// `(macd, signal, hist)` of `values`, `Macd` run over the slice (reference: `macd`).
pub fn macd(
    values: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
) -> Result<Columns3, IndicatorError> {
    let mut ind = Macd::new(fast, slow, signal)?;
    Ok(run3(values, |x| ind.update(x)))
}

/// `(upper, middle, lower)` Bollinger Bands of `values`, `BollingerBands` run over the slice
/// (reference: `bollinger_bands`).
pub fn bollinger_bands(
    values: &[f64],
    period: usize,
    num_std: f64,
) -> Result<Columns3, IndicatorError> {
    let mut ind = BollingerBands::new(period, num_std)?;
    Ok(run3(values, |x| ind.update(x)))
}

/// Average true range of bars, `Atr` run over the slices (reference: `atr`).
///
/// The period is checked before the lengths, as in the reference.
pub fn atr(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Atr::new(period)?;
    if high.len() != low.len() || low.len() != close.len() {
        return Err(IndicatorError::Lengths {
            names: "high, low, close",
            lengths: vec![high.len(), low.len(), close.len()],
        });
    }
    let mut out = Vec::with_capacity(close.len());
    for i in 0..close.len() {
        out.push(ind.update(high[i], low[i], close[i]));
    }
    Ok(out)
}

/// Rolling population standard deviation of `values`, `RollingStd` run over the slice
/// (reference: `rolling_std`).
pub fn rolling_std(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = RollingStd::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

/// Highest of the last `period` values, `Highest` run over the slice (reference: `highest`).
pub fn highest(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Highest::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

/// Lowest of the last `period` values, `Lowest` run over the slice (reference: `lowest`).
pub fn lowest(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Lowest::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

/// Rate of change in percent of `values`, `Roc` run over the slice (reference: `roc`).
pub fn roc(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Roc::new(period)?;
    Ok(run(values, |x| ind.update(x)))
}

// ------------------------------------------------------------------------------ crossings
/// One step of two series: `1` cross up, `-1` cross down, `0` no cross (reference: `cross`).
///
/// Up when `fast > slow` and `prev_fast <= prev_slow`; down when `fast < slow` and
/// `prev_fast >= prev_slow`; a NaN among the four numbers is no cross.
pub fn cross(prev_fast: f64, prev_slow: f64, fast: f64, slow: f64) -> i8 {
    if prev_fast.is_nan() || prev_slow.is_nan() || fast.is_nan() || slow.is_nan() {
        return 0;
    }
    if fast > slow && prev_fast <= prev_slow {
        return 1;
    }
    if fast < slow && prev_fast >= prev_slow {
        return -1;
    }
    0
}

fn crossed(fast: &[f64], slow: &[f64], direction: i8) -> Result<Vec<bool>, IndicatorError> {
    if fast.len() != slow.len() {
        return Err(IndicatorError::Lengths {
            names: "fast, slow",
            lengths: vec![fast.len(), slow.len()],
        });
    }
    let mut out = vec![false; fast.len()];
    // Bar 0 has no previous bar, so it never crosses.
    for t in 1..fast.len() {
        out[t] = cross(fast[t - 1], slow[t - 1], fast[t], slow[t]) == direction;
    }
    Ok(out)
}

/// Bars where `fast` crosses above `slow` (reference: `crossed_above`); bar 0 is false.
pub fn crossed_above(fast: &[f64], slow: &[f64]) -> Result<Vec<bool>, IndicatorError> {
    crossed(fast, slow, 1)
}

/// Bars where `fast` crosses below `slow` (reference: `crossed_below`); bar 0 is false.
pub fn crossed_below(fast: &[f64], slow: &[f64]) -> Result<Vec<bool>, IndicatorError> {
    crossed(fast, slow, -1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    /// Bitwise equality, NaN equal to NaN: the port's contract.
    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits())
    }

    fn assert_same(a: &[f64], b: &[f64]) {
        assert!(same(a, b), "{a:?} != {b:?}");
    }

    fn first_defined(a: &[f64]) -> Option<usize> {
        a.iter().position(|x| !x.is_nan())
    }

    #[test]
    fn sma_hand_values_and_warm_up() {
        let out = sma(&[1.0, 2.0, 3.0, 4.0, 5.0], 3).unwrap();
        assert_same(&out, &[NAN, NAN, 2.0, 3.0, 4.0]);
        assert_same(&sma(&[7.0, 8.0], 1).unwrap(), &[7.0, 8.0]);
    }

    #[test]
    fn sma_is_a_running_sum_in_talib_order() {
        // ((0 + 0.1 + 0.2) - 0.1 + 0.3) / 2, one rounding at a time.
        let out = sma(&[0.1, 0.2, 0.3], 2).unwrap();
        let expected: f64 = ((0.0 + 0.1 + 0.2) - 0.1 + 0.3) / 2.0;
        assert_eq!(out[2].to_bits(), expected.to_bits());
    }

    #[test]
    fn sma_is_nan_exactly_while_a_nan_is_in_the_window() {
        let out = sma(&[1.0, 2.0, NAN, 3.0, 4.0, 5.0], 2).unwrap();
        assert_same(&out, &[NAN, 1.5, NAN, NAN, 3.5, 4.5]);
    }

    #[test]
    fn ema_is_seeded_with_the_sma_then_smoothed_in_talib_form() {
        let out = ema(&[1.0, 2.0, 3.0, 10.0], 3).unwrap();
        let k = 2.0 / 4.0;
        let seed = (0.0 + 1.0 + 2.0 + 3.0) / 3.0;
        assert_same(&out, &[NAN, NAN, seed, (10.0 - seed) * k + seed]);
        assert_eq!(Ema::new(3).unwrap().k(), 0.5);
    }

    #[test]
    fn wma_weights_the_newest_value_most() {
        let out = wma(&[1.0, 2.0, 3.0, 4.0], 3).unwrap();
        assert_same(&out, &[NAN, NAN, (1.0 + 4.0 + 9.0) / 6.0, (2.0 + 6.0 + 12.0) / 6.0]);
    }

    #[test]
    fn rsi_warm_up_is_period_and_flat_series_is_zero() {
        let out = rsi(&[1.0, 2.0, 1.0, 2.0], 2).unwrap();
        assert_eq!(first_defined(&out), Some(2));
        // seed: gain 1, loss 1 -> /2 each -> 50; then gain 0.5*1+1 = 1.5 /2, loss 0.5 /2.
        assert_same(&out, &[NAN, NAN, 50.0, 100.0 * (0.75 / (0.75 + 0.25))]);
        assert_same(&rsi(&[3.0; 5], 2).unwrap(), &[NAN, NAN, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn atr_skips_bar_zero_and_uses_the_gap_from_the_previous_close() {
        let high = [10.0, 12.0, 11.0];
        let low = [9.0, 11.0, 10.5];
        let close = [9.5, 11.5, 10.8];
        // tr1 = max(1, |9.5-12|, |9.5-11|) = 2.5; tr2 = max(0.5, |11.5-11|, |11.5-10.5|) = 1.
        let out = atr(&high, &low, &close, 1).unwrap();
        assert_same(&out, &[NAN, 2.5, 1.0]);
        let out = atr(&high, &low, &close, 2).unwrap();
        assert_same(&out, &[NAN, NAN, 1.75]);
    }

    #[test]
    fn atr_refuses_different_lengths_after_checking_the_period() {
        let err = atr(&[1.0], &[1.0, 2.0], &[1.0], 1).unwrap_err();
        assert_eq!(err.to_string(), "high, low, close: lengths differ (1, 2, 1)");
        assert!(!err.is_config());
        let err = atr(&[1.0], &[1.0, 2.0], &[1.0], 0).unwrap_err();
        assert!(err.is_config());
    }

    #[test]
    fn a_nan_in_any_atr_price_resets_it() {
        let mut ind = Atr::new(1).unwrap();
        ind.update(2.0, 1.0, 1.5);
        assert_eq!(ind.update(2.0, 1.0, 1.5), 1.0);
        assert!(ind.update(2.0, NAN, 1.5).is_nan());
        assert!(ind.update(2.0, 1.0, 1.5).is_nan());
        assert_eq!(ind.update(2.0, 1.0, 1.5), 1.0);
    }

    #[test]
    fn rolling_std_is_the_population_std_and_bollinger_adds_it() {
        let out = rolling_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8).unwrap();
        assert_eq!(out[7], 2.0);
        let (upper, middle, lower) = bollinger_bands(&[1.0, 3.0], 2, 2.0).unwrap();
        assert_same(&middle, &[NAN, 2.0]);
        assert_same(&upper, &[NAN, 4.0]);
        assert_same(&lower, &[NAN, 0.0]);
    }

    #[test]
    fn highest_and_lowest_keep_the_first_of_equal_zeros() {
        assert_same(&highest(&[1.0, 3.0, 2.0], 2).unwrap(), &[NAN, 3.0, 3.0]);
        assert_same(&lowest(&[1.0, 3.0, 2.0], 2).unwrap(), &[NAN, 1.0, 2.0]);
        assert_eq!(highest(&[-0.0, 0.0], 2).unwrap()[1].to_bits(), (-0.0f64).to_bits());
        assert_eq!(lowest(&[0.0, -0.0], 2).unwrap()[1].to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn roc_formula_and_zero_base_gives_zero() {
        assert_same(&roc(&[2.0, 3.0, 0.0, 5.0], 1).unwrap(), &[NAN, 50.0, -100.0, 0.0]);
        assert_same(&roc(&[1.0, 2.0, 4.0], 2).unwrap(), &[NAN, NAN, 300.0]);
    }

    #[test]
    fn macd_line_starts_at_slow_minus_one_and_signal_at_slow_plus_signal_minus_two() {
        let values: Vec<f64> = (0..20).map(|i| (i as f64 * 0.7).sin() + 10.0).collect();
        let (line, signal, hist) = macd(&values, 2, 5, 3).unwrap();
        assert_eq!(first_defined(&line), Some(4));
        assert_eq!(first_defined(&signal), Some(6));
        assert_eq!(first_defined(&hist), Some(6));
        // The fast EMA is seeded from values 3..5, not 0..2.
        let seed_fast = (0.0 + values[3] + values[4]) / 2.0;
        let seed_slow = (0.0 + values[0] + values[1] + values[2] + values[3] + values[4]) / 5.0;
        assert_eq!(line[4].to_bits(), (seed_fast - seed_slow).to_bits());
    }

    #[test]
    fn non_finite_values_reset_every_indicator_as_if_the_series_restarted() {
        let tail = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        for bad in [NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut series = vec![5.0, 3.0, 5.0, bad];
            series.extend_from_slice(&tail);
            type Batch = fn(&[f64], usize) -> Result<Vec<f64>, IndicatorError>;
            let batches: [Batch; 8] = [sma, ema, wma, rsi, rolling_std, highest, lowest, roc];
            for f in batches {
                let full = f(&series, 3).unwrap();
                assert!(full[3].is_nan());
                assert_same(&full[4..], &f(&tail, 3).unwrap());
            }
        }
    }

    #[test]
    fn value_follows_update_and_reset_forgets() {
        let mut ind = Sma::new(2).unwrap();
        ind.update(1.0);
        assert_eq!(ind.update(3.0), 2.0);
        assert_eq!(ind.value(), 2.0);
        ind.reset();
        assert!(ind.value().is_nan());
        assert!(ind.update(5.0).is_nan());
        assert_eq!(ind.update(7.0), 6.0);
    }

    #[test]
    fn cross_tie_rule() {
        assert_eq!(cross(1.0, 1.0, 2.0, 1.0), 1); // equal -> above
        assert_eq!(cross(1.0, 1.0, 0.0, 1.0), -1); // equal -> below
        assert_eq!(cross(0.0, 1.0, 1.0, 1.0), 0); // touch from below
        assert_eq!(cross(2.0, 1.0, 1.0, 1.0), 0); // touch from above
        assert_eq!(cross(1.0, 1.0, 1.0, 1.0), 0);
        assert_eq!(cross(0.0, 1.0, 2.0, 1.0), 1);
        assert_eq!(cross(2.0, 1.0, 0.0, 1.0), -1);
        assert_eq!(cross(NAN, 1.0, 2.0, 1.0), 0);
        assert_eq!(cross(0.0, 1.0, 2.0, NAN), 0);
    }

    #[test]
    fn crossed_above_and_below_over_slices() {
        let fast = [0.0, 1.0, 0.0, 1.0, 2.0, 1.0];
        let slow = [1.0; 6];
        assert_eq!(crossed_above(&fast, &slow).unwrap(), [false, false, false, false, true, false]);
        assert_eq!(crossed_below(&fast, &slow).unwrap(), [false, false, true, false, false, false]);
        let err = crossed_above(&[1.0], &[1.0, 2.0]).unwrap_err();
        assert_eq!(err.to_string(), "fast, slow: lengths differ (1, 2)");
    }

    #[test]
    fn bad_settings_give_the_reference_messages() {
        assert_eq!(Sma::new(0).unwrap_err().to_string(), "period: must be an int >= 1, got 0");
        assert_eq!(Rsi::new(1).unwrap_err().to_string(), "period: must be an int >= 2, got 1");
        assert_eq!(
            Macd::new(5, 5, 1).unwrap_err().to_string(),
            "fast: must be smaller than slow, got fast=5, slow=5"
        );
        assert_eq!(Macd::new(1, 1, 1).unwrap_err().to_string(), "slow: must be an int >= 2, got 1");
        assert_eq!(
            BollingerBands::new(5, -1e-5).unwrap_err().to_string(),
            "num_std: must be a finite number >= 0, got -1e-05"
        );
        assert_eq!(
            BollingerBands::new(5, f64::NAN).unwrap_err().to_string(),
            "num_std: must be a finite number >= 0, got nan"
        );
        assert_eq!(python_float_repr(-1.0), "-1.0");
        assert_eq!(python_float_repr(-1e300), "-1e+300");
        assert_eq!(python_float_repr(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn huge_periods_do_not_overflow() {
        assert!(sma(&[1.0, 2.0], usize::MAX).unwrap().iter().all(|x| x.is_nan()));
        assert!(roc(&[1.0, 2.0], usize::MAX).unwrap().iter().all(|x| x.is_nan()));
        assert!(wma(&[1.0, 2.0], usize::MAX).unwrap().iter().all(|x| x.is_nan()));
        assert_eq!(Ema::new(usize::MAX).unwrap().k(), 2.0 / 2f64.powi(64));
    }
}
