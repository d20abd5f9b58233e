//! The bar panel the loop reads (`quanta_ref.bars`): T timestamps x N symbols, row-major.

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
}

impl BarsView<'_> {
    /// T.
    pub fn n_bars(&self) -> usize {
        self.timestamps.len()
    }
}
