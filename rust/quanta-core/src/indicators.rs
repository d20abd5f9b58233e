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
//! function that runs that struct over a slice, as the reference does (`sma` spells the same
//! arithmetic out as a plain loop that reads the leaving value back from the slice). A value
//! that is not finite resets the indicator and gives NaN. Each batch function also has a
//! panel form (`sma_panel`, ...) for a row-major (T, N) array of N independent series: see
//! "panels" below for how SMA, EMA and the crossings compute the columns side by side in
//! SIMD lanes with the 1-D results, bit for bit.
//!
//! Integer-to-float conversions: Python converts an `int` operand of a float operation to the
//! nearest `float` (ties to even), which is what Rust's `as f64` does for every integer type.
//! Sums of integers that could overflow `usize` are done in `u128`, as Python's unbounded ints
//! would do them exactly.

use std::collections::VecDeque;
use std::fmt;
use std::hint::select_unpredictable as pick;

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
    /// A saved `State` that does not fit the indicator it is restored into.
    State,
}

impl IndicatorError {
    /// True for a bad setting (Python `ConfigError`), false for bad data (`DataError`).
    pub fn is_config(&self) -> bool {
        !matches!(self, IndicatorError::Lengths { .. } | IndicatorError::State)
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
            IndicatorError::State => {
                write!(f, "state: not a saved state of this indicator and its settings")
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

// ---------------------------------------------------------------------------------- State
/// What a streaming indicator has seen, beyond its settings: saved by `state()`, put back by
/// `restore()` into an indicator of the same settings, which then continues bit for bit as
/// the saved one would (Python pickles and copies the native indicators with it).
///
/// `numbers` are the indicator's counts, sums and latest output, a fixed list per indicator
/// (a missing previous value is NaN); `window` is its window of recent values, oldest first
/// (empty for the recursive indicators). `restore` checks the lengths and the counts, so a
/// state of another indicator or of other settings is refused (`IndicatorError::State`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// Counts, sums and outputs, in the indicator's fixed order.
    pub numbers: Vec<f64>,
    /// The window, oldest first.
    pub window: Vec<f64>,
}

impl State {
    /// The numbers if there are exactly `N` of them and the window holds at most `window`
    /// values.
    fn parts<const N: usize>(&self, window: usize) -> Result<[f64; N], IndicatorError> {
        if self.window.len() > window {
            return Err(IndicatorError::State);
        }
        self.numbers.as_slice().try_into().map_err(|_| IndicatorError::State)
    }

    /// The state of an indicator that keeps only its latest output and a window.
    fn of_window(value: f64, window: &VecDeque<f64>) -> State {
        State { numbers: vec![value], window: window.iter().copied().collect() }
    }

    /// The latest output and the window of a state made by `of_window`, if the window holds
    /// at most `max` values.
    fn value_and_window(&self, max: usize) -> Result<(f64, VecDeque<f64>), IndicatorError> {
        let [value] = self.parts(max)?;
        Ok((value, self.window.iter().copied().collect()))
    }
}

/// A count saved as a float: a whole number in `0..=max`.
fn saved_count(x: f64, max: usize) -> Result<usize, IndicatorError> {
    if x >= 0.0 && x <= max as f64 && x.fract() == 0.0 {
        Ok(x as usize)
    } else {
        Err(IndicatorError::State)
    }
}

/// An optional previous value saved as a float: NaN for none.
fn saved_option(x: f64) -> Option<f64> {
    if x.is_nan() {
        None
    } else {
        Some(x)
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        State { numbers: vec![self.sum, self.value], window: self.window.iter().copied().collect() }
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        let [sum, value] = state.parts(self.period)?;
        (self.sum, self.value) = (sum, value);
        self.window = state.window.iter().copied().collect();
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        State { numbers: vec![self.count as f64, self.seed_sum, self.value], window: vec![] }
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        let [count, seed_sum, value] = state.parts(0)?;
        self.count = saved_count(count, self.period)?;
        (self.seed_sum, self.value) = (seed_sum, value);
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        State::of_window(self.value, &self.window)
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        (self.value, self.window) = state.value_and_window(self.period)?;
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        let prev = self.prev.unwrap_or(f64::NAN);
        let numbers = vec![prev, self.n_diffs as f64, self.gain, self.loss, self.value];
        State { numbers, window: vec![] }
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        let [prev, n_diffs, gain, loss, value] = state.parts(0)?;
        self.n_diffs = saved_count(n_diffs, self.period)?;
        self.prev = saved_option(prev);
        (self.gain, self.loss, self.value) = (gain, loss, value);
        Ok(())
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

    /// What it has seen (see `State`): the count, the three EMAs' numbers (fast, slow,
    /// signal) and the latest output.
    pub fn state(&self) -> State {
        let mut numbers = vec![self.count as f64];
        for ema in [&self.fast_ema, &self.slow_ema, &self.signal_ema] {
            numbers.extend(ema.state().numbers);
        }
        numbers.extend([self.value.0, self.value.1, self.value.2]);
        State { numbers, window: vec![] }
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        let numbers: [f64; 13] = state.parts(0)?;
        let count = saved_count(numbers[0], self.slow - self.fast)?;
        let ema = |at: usize| State { numbers: numbers[at..at + 3].to_vec(), window: vec![] };
        let (mut fast, mut slow, mut signal) =
            (self.fast_ema.clone(), self.slow_ema.clone(), self.signal_ema.clone());
        fast.restore(&ema(1))?;
        slow.restore(&ema(4))?;
        signal.restore(&ema(7))?;
        (self.fast_ema, self.slow_ema, self.signal_ema, self.count) = (fast, slow, signal, count);
        self.value = (numbers[10], numbers[11], numbers[12]);
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        State::of_window(self.value, &self.window)
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        (self.value, self.window) = state.value_and_window(self.period)?;
        Ok(())
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

    /// What it has seen (see `State`): the average's sum and output, the deviation's
    /// output, the latest bands, and the window (the average and the deviation see the same
    /// values, so they have the same window).
    pub fn state(&self) -> State {
        let sma = self.sma.state();
        let mut numbers = sma.numbers;
        numbers.push(self.std.value());
        numbers.extend([self.value.0, self.value.1, self.value.2]);
        State { numbers, window: sma.window }
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        let [sum, mean, std, upper, middle, lower] = state.parts(self.period)?;
        let window = state.window.clone();
        self.sma.restore(&State { numbers: vec![sum, mean], window: window.clone() })?;
        self.std.restore(&State { numbers: vec![std], window })?;
        self.value = (upper, middle, lower);
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        let prev_close = self.prev_close.unwrap_or(f64::NAN);
        State { numbers: vec![prev_close, self.n_tr as f64, self.sum, self.value], window: vec![] }
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        let [prev_close, n_tr, sum, value] = state.parts(0)?;
        self.n_tr = saved_count(n_tr, self.period)?;
        self.prev_close = saved_option(prev_close);
        (self.sum, self.value) = (sum, value);
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        State::of_window(self.0.value, &self.0.window)
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        (self.0.value, self.0.window) = state.value_and_window(self.0.period)?;
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        State::of_window(self.0.value, &self.0.window)
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        (self.0.value, self.0.window) = state.value_and_window(self.0.period)?;
        Ok(())
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

    /// What it has seen (see `State`).
    pub fn state(&self) -> State {
        State::of_window(self.value, &self.window)
    }

    /// Continue from a saved `state` (see `State`).
    pub fn restore(&mut self, state: &State) -> Result<(), IndicatorError> {
        (self.value, self.window) = state.value_and_window(self.period.saturating_add(1))?;
        Ok(())
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
    // `collect` over a slice knows the length: one allocation, no capacity check per value.
    values.iter().map(|&x| update(x)).collect()
}

/// Three output columns of one length, as the batch MACD and Bollinger Bands return them.
pub type Columns3 = (Vec<f64>, Vec<f64>, Vec<f64>);

fn run3(values: &[f64], mut update: impl FnMut(f64) -> (f64, f64, f64)) -> Columns3 {
    let n = values.len();
    let (mut a, mut b, mut c) = (vec![f64::NAN; n], vec![f64::NAN; n], vec![f64::NAN; n]);
    for (((&x, a), b), c) in values.iter().zip(&mut a).zip(&mut b).zip(&mut c) {
        (*a, *b, *c) = update(x);
    }
    (a, b, c)
}

/// Simple moving average of `values` (reference: `sma`): `Sma`'s arithmetic, unrolled.
///
/// The running sum is one dependency chain (each value waits for the previous sum), so this
/// loop runs at the latency of two additions per value; it only avoids the window queue of
/// the streaming struct: the value leaving the window is read back from `values` itself.
pub fn sma(values: &[f64], period: usize) -> Result<Vec<f64>, IndicatorError> {
    let period = check_period("period", period, 1)?;
    let divisor = period as f64;
    let mut out = vec![f64::NAN; values.len()];
    let mut sum = 0.0;
    let mut count = 0; // finite values since the last reset, at most `period`
    let mut step = |x: f64, leaving: f64, slot: &mut f64| {
        if !x.is_finite() {
            sum = 0.0;
            count = 0;
            return;
        }
        if count == period {
            sum -= leaving; // the window is full: `leaving` is the value `period` steps back
        } else {
            count += 1;
        }
        sum += x;
        if count == period {
            *slot = sum / divisor;
        }
    };
    // Before index `period` the window cannot be full, so no value leaves it.
    let (head, tail) = out.split_at_mut(period.min(values.len()));
    for (&x, slot) in values.iter().zip(head) {
        step(x, 0.0, slot);
    }
    for ((&x, &leaving), slot) in values[period.min(values.len())..].iter().zip(values).zip(tail) {
        step(x, leaving, slot);
    }
    Ok(out)
}

/// Exponential moving average of `values` (reference: `ema`): `Ema`'s arithmetic in a loop.
///
/// `(x - prev) * k + prev` is one dependency chain (subtract, multiply, add per value): this
/// loop runs at its latency.
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
    Ok(high.iter().zip(low).zip(close).map(|((&h, &l), &c)| ind.update(h, l, c)).collect())
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

/// `cross(...) == 1` without the NaN tests: a comparison with a NaN is false, so a NaN among
/// the four numbers already makes `fast > slow` or `prev_fast <= prev_slow` false. Branch-free
/// (`&`, not `&&`), so a loop of it compiles to packed compares.
#[inline(always)]
fn is_cross_up(prev_fast: f64, prev_slow: f64, fast: f64, slow: f64) -> bool {
    (fast > slow) & (prev_fast <= prev_slow)
}

/// `cross(...) == -1`, as [`is_cross_up`].
#[inline(always)]
fn is_cross_down(prev_fast: f64, prev_slow: f64, fast: f64, slow: f64) -> bool {
    (fast < slow) & (prev_fast >= prev_slow)
}

/// `out[i] = is_cross(fast[i - lag], slow[i - lag], fast[i], slow[i])`, false for `i < lag`:
/// a series when `lag` is 1, a row-major panel of `lag` columns otherwise. Element-wise.
fn crossed_lagged(
    fast: &[f64],
    slow: &[f64],
    lag: usize,
    is_cross: impl Fn(f64, f64, f64, f64) -> bool,
) -> Vec<bool> {
    let n = fast.len().min(slow.len());
    let mut out = vec![false; n];
    if lag == 0 || lag >= n {
        return out;
    }
    let (fast, slow) = (&fast[..n], &slow[..n]);
    let now = fast[lag..].iter().zip(&slow[lag..]);
    let before = fast.iter().zip(slow);
    for (((&f, &s), (&pf, &ps)), y) in now.zip(before).zip(&mut out[lag..]) {
        *y = is_cross(pf, ps, f, s);
    }
    out
}

fn check_lengths(fast: &[f64], slow: &[f64]) -> Result<(), IndicatorError> {
    if fast.len() != slow.len() {
        return Err(IndicatorError::Lengths {
            names: "fast, slow",
            lengths: vec![fast.len(), slow.len()],
        });
    }
    Ok(())
}

/// Bars where `fast` crosses above `slow` (reference: `crossed_above`); bar 0 is false.
pub fn crossed_above(fast: &[f64], slow: &[f64]) -> Result<Vec<bool>, IndicatorError> {
    check_lengths(fast, slow)?;
    Ok(crossed_lagged(fast, slow, 1, is_cross_up))
}

/// Bars where `fast` crosses below `slow` (reference: `crossed_below`); bar 0 is false.
pub fn crossed_below(fast: &[f64], slow: &[f64]) -> Result<Vec<bool>, IndicatorError> {
    check_lengths(fast, slow)?;
    Ok(crossed_lagged(fast, slow, 1, is_cross_down))
}

// --------------------------------------------------------------------------------- panels
// A panel is a row-major (T, N) array: `values[t * n_columns + n]` is column n at row t, as a
// C-contiguous numpy array of shape (T, N) lays it out. Each column is an independent series
// and its output column is, bit for bit, the 1-D function's output on that column (the NaN
// rule included). Precondition: `values.len()` is a multiple of `n_columns` (and is 0 when
// `n_columns` is 0).
//
// SMA, EMA and the crossings have lane kernels: the loop runs over the rows, and inside a row
// over the N columns, each column ("lane") carrying its own state in small arrays. The
// columns do not depend on each other, so the compiler turns the inner loop into packed
// instructions (two f64 lanes with SSE2, the x86-64 baseline); each lane still performs
// exactly the 1-D operations in the 1-D order, which a running sum or a recursive average
// cannot do within one series. The per-lane branches of the 1-D code (NaN reset, warm-up,
// full window) are selects of computed values (`pick`, which the compiler keeps as masks
// instead of turning them into branches), and the warm-up is tracked per lane as an f64 row
// number so that its compares are packed too. Rows where every lane is past its warm-up and
// every value is finite (the usual case) need none of that: they take a steady kernel with
// the same arithmetic and no selects. The other indicators run their 1-D function down each
// column (a gather into a buffer, then a scatter).

/// Rows of a panel whose window of `period` values can fill: `period <= n_rows`, so the row
/// numbers kept as f64 are exact. `None`: the window never fills, every output is NaN.
fn fillable(values: &[f64], n_columns: usize, period: usize) -> Option<usize> {
    if n_columns == 0 {
        return None;
    }
    let n_rows = values.len() / n_columns;
    (period <= n_rows).then_some(n_rows)
}

/// Whether every value of a row is finite; a count, so that it vectorises (no early exit).
fn all_finite(row: &[f64]) -> bool {
    row.iter().map(|x| usize::from(!x.is_finite())).sum::<usize>() == 0
}

/// The next output row of a panel kernel: `n_columns` more values at the end of `out`.
///
/// The output grows row by row (zeros, then overwritten while the row is still in the
/// cache) rather than being filled whole up front, which would write it twice.
fn next_row(out: &mut Vec<f64>, n_columns: usize) -> &mut [f64] {
    let filled = out.len();
    out.resize(filled + n_columns, 0.0);
    &mut out[filled..]
}

/// Where each lane of a panel kernel stands in its warm-up, as the 1-D code's "values seen
/// since the last reset" counts it.
struct WarmUp {
    period: usize,
    /// Per lane, the row (as f64) of the first value after the lane's last reset: at row t
    /// the lane has seen `t - start` values before this one.
    start: Vec<f64>,
    /// The last row with a value that is not finite, in any lane.
    last_gap: Option<usize>,
}

/// The warm-up thresholds of one row t, as f64 to compare with [`WarmUp::start`].
#[derive(Clone, Copy)]
struct Row {
    /// `t - period`: a lane with `start <= full_before` had `period` values before row t.
    full_before: f64,
    /// `t + 1 - period`: a lane with `start <= full_after` has `period` values with row t.
    full_after: f64,
    /// `t + 1`: the `start` of a lane that resets at row t.
    next: f64,
}

impl WarmUp {
    fn new(n_columns: usize, period: usize) -> Self {
        WarmUp { period, start: vec![0.0; n_columns], last_gap: None }
    }

    /// True when at row `t` every lane has seen `period` values since its last reset and
    /// every value of `row` is finite: the row then takes the steady kernel, in which the
    /// 1-D code takes the same path in every lane (and `start` does not change). To be called
    /// on every row, in order: it records the rows with gaps.
    fn steady(&mut self, t: usize, row: &[f64]) -> bool {
        if !all_finite(row) {
            self.last_gap = Some(t);
            return false;
        }
        // Every lane has seen at least the rows since the last gap.
        let clean_rows = self.last_gap.map_or(t, |gap| t - gap - 1);
        clean_rows >= self.period
    }

    fn row(&self, t: usize) -> Row {
        let (t, period) = (t as f64, self.period as f64);
        Row { full_before: t - period, full_after: t + 1.0 - period, next: t + 1.0 }
    }
}

/// `sma` down each column of a row-major panel of `n_columns` columns, a lane kernel.
pub fn sma_panel(
    values: &[f64],
    n_columns: usize,
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    if n_columns == 1 {
        return sma(values, period); // one lane: the 1-D loop, without the per-row bookkeeping
    }
    let period = check_period("period", period, 1)?;
    if fillable(values, n_columns, period).is_none() {
        return Ok(vec![f64::NAN; values.len()]);
    }
    let divisor = period as f64; // exact, as period <= n_rows
    let mut out = Vec::with_capacity(values.len());
    let mut sum = vec![0.0; n_columns];
    let mut warm_up = WarmUp::new(n_columns, period);
    let no_row = vec![0.0; n_columns]; // the leaving row before row `period`: never read
    for (t, row) in values.chunks_exact(n_columns).enumerate() {
        // `steady` is asked on every row: it also records the gaps.
        let steady = warm_up.steady(t, row);
        let leaving = t.checked_sub(period).map(|back| &values[back * n_columns..][..n_columns]);
        match leaving {
            Some(leaving) if steady => {
                sma_steady_row(next_row(&mut out, n_columns), row, leaving, &mut sum, divisor);
            }
            _ => {
                let (at, leaving) = (warm_up.row(t), leaving.unwrap_or(&no_row));
                let out_row = next_row(&mut out, n_columns);
                sma_row(out_row, row, leaving, &mut sum, &mut warm_up.start, at, divisor);
            }
        }
    }
    Ok(out)
}

/// One row of [`sma_panel`], each lane one step of the 1-D code (`sma`), as selects.
///
/// A function of its own so that its slices arrive as distinct arguments: the compiler then
/// knows they do not overlap and vectorises the loop without run-time overlap checks.
fn sma_row(
    out: &mut [f64],
    row: &[f64],
    leaving_row: &[f64],
    sum: &mut [f64],
    start: &mut [f64],
    at: Row,
    divisor: f64,
) {
    let lanes = row.iter().zip(leaving_row).zip(sum).zip(start).zip(out);
    for ((((&x, &leaving), sum), start), y) in lanes {
        let finite = x.is_finite();
        // `s - 0.0` is `s` exactly (for -0.0, infinities and NaN too): while the window
        // fills, subtracting a zero is the 1-D code's "subtract nothing".
        let new_sum = (*sum - pick(*start <= at.full_before, leaving, 0.0)) + x;
        *y = pick(finite & (*start <= at.full_after), new_sum / divisor, f64::NAN);
        *sum = pick(finite, new_sum, 0.0);
        *start = pick(finite, *start, at.next);
    }
}

/// A row of [`sma_panel`] in which every lane has a full window and a finite value.
fn sma_steady_row(
    out: &mut [f64],
    row: &[f64],
    leaving_row: &[f64],
    sum: &mut [f64],
    divisor: f64,
) {
    for (((&x, &leaving), sum), y) in row.iter().zip(leaving_row).zip(sum).zip(out) {
        *sum = (*sum - leaving) + x;
        *y = *sum / divisor;
    }
}

/// `ema` down each column of a row-major panel of `n_columns` columns, a lane kernel.
pub fn ema_panel(
    values: &[f64],
    n_columns: usize,
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    if n_columns == 1 {
        return ema(values, period); // one lane: the 1-D loop, without the per-row bookkeeping
    }
    let k = Ema::new(period)?.k();
    if fillable(values, n_columns, period).is_none() {
        return Ok(vec![f64::NAN; values.len()]);
    }
    let divisor = period as f64; // exact, as period <= n_rows
    let mut out = Vec::with_capacity(values.len());
    let mut seed_sum = vec![0.0; n_columns];
    let mut value = vec![f64::NAN; n_columns];
    let mut warm_up = WarmUp::new(n_columns, period);
    for (t, row) in values.chunks_exact(n_columns).enumerate() {
        if warm_up.steady(t, row) {
            ema_steady_row(next_row(&mut out, n_columns), row, &mut value, k);
        } else {
            let at = warm_up.row(t);
            let state = (&mut seed_sum[..], &mut value[..], &mut warm_up.start[..]);
            ema_row(next_row(&mut out, n_columns), row, state, at, divisor, k);
        }
    }
    Ok(out)
}

/// One row of [`ema_panel`], each lane one step of `Ema::update`, as selects. The state is
/// (seed sum, value, start) per lane.
fn ema_row(
    out: &mut [f64],
    row: &[f64],
    (seed_sum, value, start): (&mut [f64], &mut [f64], &mut [f64]),
    at: Row,
    divisor: f64,
    k: f64,
) {
    let lanes = row.iter().zip(seed_sum).zip(value).zip(start).zip(out);
    for ((((&x, seed_sum), value), start), y) in lanes {
        let finite = x.is_finite();
        // Fewer than `period` values before this one.
        let seeding = *start > at.full_before;
        // Once the average has its first value, the running sum of the first `period` values
        // is never read again (until a reset clears it), so it may go on adding.
        let new_seed_sum = *seed_sum + x;
        let seeded = pick(*start == at.full_after, new_seed_sum / divisor, f64::NAN);
        let smoothed = (x - *value) * k + *value; // TA-Lib's form, as `Ema::update`
        *value = pick(finite, pick(seeding, seeded, smoothed), f64::NAN);
        *seed_sum = pick(finite, new_seed_sum, 0.0);
        *start = pick(finite, *start, at.next);
        *y = *value;
    }
}

/// A row of [`ema_panel`] in which every lane is seeded and has a finite value.
fn ema_steady_row(out: &mut [f64], row: &[f64], value: &mut [f64], k: f64) {
    for ((&x, value), y) in row.iter().zip(value).zip(out) {
        *value = (x - *value) * k + *value;
        *y = *value;
    }
}

/// `crossed_above` down each column of two row-major panels of `n_columns` columns
/// (element-wise: each row against the row above it).
pub fn crossed_above_panel(
    fast: &[f64],
    slow: &[f64],
    n_columns: usize,
) -> Result<Vec<bool>, IndicatorError> {
    check_lengths(fast, slow)?;
    Ok(crossed_lagged(fast, slow, n_columns, is_cross_up))
}

/// `crossed_below` down each column of two row-major panels of `n_columns` columns.
pub fn crossed_below_panel(
    fast: &[f64],
    slow: &[f64],
    n_columns: usize,
) -> Result<Vec<bool>, IndicatorError> {
    check_lengths(fast, slow)?;
    Ok(crossed_lagged(fast, slow, n_columns, is_cross_down))
}

/// Column `n` of a row-major panel, into `buffer`.
fn gather(buffer: &mut Vec<f64>, values: &[f64], n_columns: usize, n: usize) {
    buffer.clear();
    buffer.extend(values.iter().skip(n).step_by(n_columns));
}

/// Column `n` of a row-major panel, from `column`.
fn scatter(out: &mut [f64], n_columns: usize, n: usize, column: &[f64]) {
    for (slot, &y) in out.iter_mut().skip(n).step_by(n_columns).zip(column) {
        *slot = y;
    }
}

/// `batch` (a 1-D function) down each column of a row-major panel.
fn columnwise(
    values: &[f64],
    n_columns: usize,
    mut batch: impl FnMut(&[f64]) -> Vec<f64>,
) -> Vec<f64> {
    let mut out = vec![f64::NAN; values.len()];
    let mut column = Vec::new();
    for n in 0..n_columns {
        gather(&mut column, values, n_columns, n);
        scatter(&mut out, n_columns, n, &batch(&column));
    }
    out
}

/// `batch` (a 1-D function with three outputs) down each column of a row-major panel.
fn columnwise3(
    values: &[f64],
    n_columns: usize,
    mut batch: impl FnMut(&[f64]) -> Columns3,
) -> Columns3 {
    let len = values.len();
    let mut out = (vec![f64::NAN; len], vec![f64::NAN; len], vec![f64::NAN; len]);
    let mut column = Vec::new();
    for n in 0..n_columns {
        gather(&mut column, values, n_columns, n);
        let (a, b, c) = batch(&column);
        scatter(&mut out.0, n_columns, n, &a);
        scatter(&mut out.1, n_columns, n, &b);
        scatter(&mut out.2, n_columns, n, &c);
    }
    out
}

/// A panel function that runs a streaming struct down each column, reset between columns.
macro_rules! columnwise_panel {
    ($name:ident, $batch:literal, $core:ty) => {
        #[doc = concat!("`", $batch, "` down each column of a row-major panel of `n_columns` ")]
        #[doc = "columns (the 1-D function run column by column)."]
        pub fn $name(
            values: &[f64],
            n_columns: usize,
            period: usize,
        ) -> Result<Vec<f64>, IndicatorError> {
            let mut ind = <$core>::new(period)?;
            Ok(columnwise(values, n_columns, |column| {
                ind.reset();
                run(column, |x| ind.update(x))
            }))
        }
    };
}

columnwise_panel!(wma_panel, "wma", Wma);
columnwise_panel!(rsi_panel, "rsi", Rsi);
columnwise_panel!(rolling_std_panel, "rolling_std", RollingStd);
columnwise_panel!(highest_panel, "highest", Highest);
columnwise_panel!(lowest_panel, "lowest", Lowest);
columnwise_panel!(roc_panel, "roc", Roc);

/// `macd` down each column of a row-major panel of `n_columns` columns.
pub fn macd_panel(
    values: &[f64],
    n_columns: usize,
    fast: usize,
    slow: usize,
    signal: usize,
) -> Result<Columns3, IndicatorError> {
    let mut ind = Macd::new(fast, slow, signal)?;
    Ok(columnwise3(values, n_columns, |column| {
        ind.reset();
        run3(column, |x| ind.update(x))
    }))
}

/// `bollinger_bands` down each column of a row-major panel of `n_columns` columns.
pub fn bollinger_bands_panel(
    values: &[f64],
    n_columns: usize,
    period: usize,
    num_std: f64,
) -> Result<Columns3, IndicatorError> {
    let mut ind = BollingerBands::new(period, num_std)?;
    Ok(columnwise3(values, n_columns, |column| {
        ind.reset();
        run3(column, |x| ind.update(x))
    }))
}

/// `atr` down each column of three row-major panels of `n_columns` columns (one length).
pub fn atr_panel(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    n_columns: usize,
    period: usize,
) -> Result<Vec<f64>, IndicatorError> {
    let mut ind = Atr::new(period)?;
    if high.len() != low.len() || low.len() != close.len() {
        return Err(IndicatorError::Lengths {
            names: "high, low, close",
            lengths: vec![high.len(), low.len(), close.len()],
        });
    }
    let mut out = vec![f64::NAN; close.len()];
    let (mut h, mut l, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..n_columns {
        gather(&mut h, high, n_columns, n);
        gather(&mut l, low, n_columns, n);
        gather(&mut c, close, n_columns, n);
        ind.reset();
        let column: Vec<f64> =
            h.iter().zip(&l).zip(&c).map(|((&h, &l), &c)| ind.update(h, l, c)).collect();
        scatter(&mut out, n_columns, n, &column);
    }
    Ok(out)
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

    /// A (rows, columns) panel of a random walk with gaps in some lanes, row-major.
    fn gappy_panel(rows: usize, columns: usize) -> Vec<f64> {
        let mut state = 12345u64;
        let mut out = Vec::with_capacity(rows * columns);
        let mut level = vec![100.0; columns];
        for t in 0..rows {
            for (n, level) in level.iter_mut().enumerate() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                *level += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                let gap = (t * 7 + n * 13) % 41 == 0 || (n == 3 && t < 25) || n == 4;
                out.push(if gap { [NAN, f64::INFINITY][t % 2] } else { *level });
            }
        }
        out
    }

    fn column(panel: &[f64], columns: usize, n: usize) -> Vec<f64> {
        panel.iter().skip(n).step_by(columns).copied().collect()
    }

    #[test]
    fn panel_columns_equal_the_series_functions() {
        let columns = 7; // the packed loop and its remainder
        let panel = gappy_panel(120, columns);
        type Series = fn(&[f64], usize) -> Result<Vec<f64>, IndicatorError>;
        type Panel = fn(&[f64], usize, usize) -> Result<Vec<f64>, IndicatorError>;
        let pairs: [(Series, Panel); 8] = [
            (sma, sma_panel),
            (ema, ema_panel),
            (wma, wma_panel),
            (rsi, rsi_panel),
            (rolling_std, rolling_std_panel),
            (highest, highest_panel),
            (lowest, lowest_panel),
            (roc, roc_panel),
        ];
        for period in [2, 3, 10, 30, 119, 120, 121] {
            for (series, panel_fn) in pairs {
                let out = panel_fn(&panel, columns, period).unwrap();
                for n in 0..columns {
                    let expected = series(&column(&panel, columns, n), period).unwrap();
                    assert_same(&column(&out, columns, n), &expected);
                }
            }
        }
        assert!(sma_panel(&[], 0, 3).unwrap().is_empty());
        assert_eq!(
            sma_panel(&[1.0, 2.0], 0, 0).unwrap_err().to_string(),
            "period: must be an int >= 1, got 0"
        );
    }

    #[test]
    fn a_restored_state_continues_bit_for_bit() {
        let values: Vec<f64> =
            (0..40).map(|i| if i == 13 { NAN } else { 100.0 + (i as f64 * 0.7).sin() }).collect();
        for k in [0, 1, 5, 13, 14, 30] {
            let mut sma = Sma::new(4).unwrap();
            let mut macd = Macd::new(2, 5, 3).unwrap();
            let mut bands = BollingerBands::new(3, 1.5).unwrap();
            let mut atr = Atr::new(3).unwrap();
            let mut roc = Roc::new(2).unwrap();
            for &x in &values[..k] {
                sma.update(x);
                macd.update(x);
                bands.update(x);
                atr.update(x + 1.0, x - 1.0, x);
                roc.update(x);
            }
            let mut sma2 = Sma::new(4).unwrap();
            sma2.restore(&sma.state()).unwrap();
            let mut macd2 = Macd::new(2, 5, 3).unwrap();
            macd2.restore(&macd.state()).unwrap();
            let mut bands2 = BollingerBands::new(3, 1.5).unwrap();
            bands2.restore(&bands.state()).unwrap();
            let mut atr2 = Atr::new(3).unwrap();
            atr2.restore(&atr.state()).unwrap();
            let mut roc2 = Roc::new(2).unwrap();
            roc2.restore(&roc.state()).unwrap();
            for &x in &values[k..] {
                assert_same(&[sma.update(x)], &[sma2.update(x)]);
                let (a, b) = (macd.update(x), macd2.update(x));
                assert_same(&[a.0, a.1, a.2], &[b.0, b.1, b.2]);
                let (a, b) = (bands.update(x), bands2.update(x));
                assert_same(&[a.0, a.1, a.2], &[b.0, b.1, b.2]);
                let (a, b) = (atr.update(x + 1.0, x - 1.0, x), atr2.update(x + 1.0, x - 1.0, x));
                assert_same(&[a], &[b]);
                assert_same(&[roc.update(x)], &[roc2.update(x)]);
            }
        }
    }

    #[test]
    fn a_state_of_other_settings_is_refused() {
        let mut sma = Sma::new(3).unwrap();
        for x in [1.0, 2.0, 3.0] {
            sma.update(x);
        }
        assert_eq!(Sma::new(2).unwrap().restore(&sma.state()), Err(IndicatorError::State));
        let ema = Ema::new(3).unwrap().state();
        assert_eq!(Sma::new(3).unwrap().restore(&ema), Err(IndicatorError::State));
        let mut rsi = Rsi::new(3).unwrap();
        let mut state = rsi.state();
        state.numbers[1] = 4.0; // more differences than the period
        assert_eq!(rsi.restore(&state), Err(IndicatorError::State));
        state.numbers[1] = 1.5;
        assert_eq!(rsi.restore(&state), Err(IndicatorError::State));
        assert!(!IndicatorError::State.is_config());
    }

    #[test]
    fn a_gap_in_the_first_rows_resets_its_lane() {
        // Row 0 is a gap in the only lane; row 1 must not see it leave the window.
        assert_same(&sma_panel(&[f64::INFINITY, 1.0], 1, 1).unwrap(), &[NAN, 1.0]);
        assert_same(&ema_panel(&[NAN, 1.0, 2.0], 1, 2).unwrap(), &[NAN, NAN, 1.5]);
    }

    #[test]
    fn three_output_and_crossing_panels_equal_their_columns() {
        let columns = 5;
        let panel = gappy_panel(60, columns);
        let other: Vec<f64> = panel.iter().rev().copied().collect();
        let (m0, m1, m2) = macd_panel(&panel, columns, 3, 7, 4).unwrap();
        let (b0, b1, b2) = bollinger_bands_panel(&panel, columns, 5, 2.0).unwrap();
        let high: Vec<f64> = panel.iter().map(|x| x + 1.0).collect();
        let low: Vec<f64> = panel.iter().map(|x| x - 1.0).collect();
        let average_range = atr_panel(&high, &low, &panel, columns, 4).unwrap();
        let above = crossed_above_panel(&panel, &other, columns).unwrap();
        let below = crossed_below_panel(&panel, &other, columns).unwrap();
        for n in 0..columns {
            let c = column(&panel, columns, n);
            let (e0, e1, e2) = macd(&c, 3, 7, 4).unwrap();
            let (f0, f1, f2) = bollinger_bands(&c, 5, 2.0).unwrap();
            for (got, expected) in
                [(&m0, e0), (&m1, e1), (&m2, e2), (&b0, f0), (&b1, f1), (&b2, f2)]
            {
                assert_same(&column(got, columns, n), &expected);
            }
            let (h, l) = (column(&high, columns, n), column(&low, columns, n));
            assert_same(&column(&average_range, columns, n), &atr(&h, &l, &c, 4).unwrap());
            let o = column(&other, columns, n);
            let pick = |flags: &[bool]| -> Vec<bool> {
                flags.iter().skip(n).step_by(columns).copied().collect()
            };
            assert_eq!(pick(&above), crossed_above(&c, &o).unwrap());
            assert_eq!(pick(&below), crossed_below(&c, &o).unwrap());
        }
        let err = crossed_above_panel(&[1.0], &[1.0, 2.0], 1).unwrap_err();
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
