//! Test support shared by the integration tests: a bar panel built from columns of rows.

use quanta_core::bars::{Ohlcv, Panel};
use quanta_core::events::NS_PER_DAY;

/// One symbol's bar: (open, high, low, close, volume), or None for a missing bar.
pub type Row = Option<Ohlcv>;

/// A panel of one or more symbols (one column of rows each), one row per day from 2024-01-01.
pub fn panel(columns: &[&[Row]]) -> Panel {
    let n_bars = columns[0].len();
    let start = 19_723 * NS_PER_DAY; // 2024-01-01
    let timestamps = (0..n_bars as i64).map(|t| start + t * NS_PER_DAY).collect();
    let mut panel = Panel::new(timestamps, columns.len());
    for (n, column) in columns.iter().enumerate() {
        for (t, row) in column.iter().enumerate() {
            if let Some(bar) = *row {
                panel.set(t, n, bar);
            }
        }
    }
    panel
}
