//! Times the indicator kernels without Python: `cargo run --release --example
//! indicator_kernels`. Prints nanoseconds per value (the best of several rounds) for the 1-D
//! kernels on 491,400 values and the panel kernels on 2,520 x 100. Not a test: the
//! pytest-benchmark suite (benchmarks/test_indicators.py) is the measurement of record; this
//! isolates the kernels from the Python call and the page faults of a fresh output array.

use std::hint::black_box;
use std::time::Instant;

use quanta_core::indicators;

/// A deterministic random walk around 1,000 (xorshift; no dependency).
fn walk(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut price = 1_000.0;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            price += (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            price
        })
        .collect()
}

/// Best time per value over `rounds` calls of `f`, in nanoseconds.
fn ns_per_value<T>(values: usize, rounds: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let start = Instant::now();
        black_box(f());
        best = best.min(start.elapsed().as_secs_f64());
    }
    best * 1e9 / values as f64
}

fn main() {
    let series = walk(491_400, 1);
    let reversed: Vec<f64> = series.iter().rev().copied().collect();
    let (rows, columns) = (2_520, 100);
    let panel = walk(rows * columns, 2);
    let other = walk(rows * columns, 3);
    // The same panel with a gap every 997 values: rows take the general (select) kernel for
    // `period` rows after each gap.
    let gappy: Vec<f64> =
        panel.iter().enumerate().map(|(i, &x)| if i % 997 == 0 { f64::NAN } else { x }).collect();
    let n1 = series.len();
    let n2 = panel.len();
    let report =
        |name: &str, ns: f64| println!("{name:<28} {ns:7.3} ns/value {:7.3} values/ns", 1.0 / ns);
    report("sma 1-D (491,400)", ns_per_value(n1, 30, || indicators::sma(&series, 30)));
    report("ema 1-D (491,400)", ns_per_value(n1, 30, || indicators::ema(&series, 30)));
    report(
        "crossed_above 1-D (491,400)",
        ns_per_value(n1, 30, || indicators::crossed_above(&series, &reversed)),
    );
    report(
        "sma panel (2,520 x 100)",
        ns_per_value(n2, 100, || indicators::sma_panel(&panel, columns, 30)),
    );
    report("sma panel, gaps", ns_per_value(n2, 100, || indicators::sma_panel(&gappy, columns, 30)));
    report(
        "ema panel (2,520 x 100)",
        ns_per_value(n2, 100, || indicators::ema_panel(&panel, columns, 30)),
    );
    report("ema panel, gaps", ns_per_value(n2, 100, || indicators::ema_panel(&gappy, columns, 30)));
    report(
        "crossed_above panel",
        ns_per_value(n2, 100, || indicators::crossed_above_panel(&panel, &other, columns)),
    );
    report(
        "rsi panel (column by column)",
        ns_per_value(n2, 20, || indicators::rsi_panel(&panel, columns, 14)),
    );
}
