//! Test support shared by the integration tests: a bar panel built from rows.

use quanta_core::bars::BarsView;
use quanta_core::events::NS_PER_DAY;

/// One symbol's bar: (open, high, low, close, volume), or None for a missing bar.
pub type Row = Option<(f64, f64, f64, f64, f64)>;

/// A panel of one or more symbols, one row per day from 2024-01-01.
pub struct Panel {
    pub timestamps: Vec<i64>,
    fields: [Vec<f64>; 5],
    n_symbols: usize,
}

impl Panel {
    pub fn new(columns: &[&[Row]]) -> Self {
        let n_symbols = columns.len();
        let n_bars = columns[0].len();
        let start = 19_723 * NS_PER_DAY; // 2024-01-01
        let timestamps = (0..n_bars as i64).map(|t| start + t * NS_PER_DAY).collect();
        let mut fields: [Vec<f64>; 5] = Default::default();
        for f in &mut fields {
            *f = vec![f64::NAN; n_bars * n_symbols];
        }
        for (n, column) in columns.iter().enumerate() {
            for (t, row) in column.iter().enumerate() {
                if let Some((o, h, l, c, v)) = *row {
                    for (k, x) in [o, h, l, c, v].into_iter().enumerate() {
                        fields[k][t * n_symbols + n] = x;
                    }
                }
            }
        }
        Panel { timestamps, fields, n_symbols }
    }

    pub fn view(&self) -> BarsView<'_> {
        BarsView {
            timestamps: &self.timestamps,
            open: &self.fields[0],
            high: &self.fields[1],
            low: &self.fields[2],
            close: &self.fields[3],
            volume: &self.fields[4],
            n_symbols: self.n_symbols,
        }
    }
}
