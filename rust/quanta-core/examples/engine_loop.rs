//! Times the engine's bar loop with a strategy that does nothing: `cargo run --release
//! --example engine_loop [ROWS] [SYMBOLS] [RUNS]` (default 491,400 one-minute rows of one
//! symbol, 390 a day, 15 runs). Prints the best run in nanoseconds per row and per bar.
//!
//! The host owns the core and drops every event, so what is timed is `engine::run` itself:
//! the row steps, the (empty) order phases, the valuation and the equity record. Not a test;
//! the pytest-benchmark suite (benchmarks/test_engine.py) times whole runs through Python.

use std::hint::black_box;
use std::time::Instant;

use quanta_core::bars::{BarsView, Panel};
use quanta_core::config::Config;
use quanta_core::engine::{self, Core, Host};
use quanta_core::events::{Event, NS_PER_DAY};

/// The core and the bars, and a strategy that ignores every event.
struct Idle<'a> {
    core: Core,
    bars: BarsView<'a>,
}

impl Host for Idle<'_> {
    type Error = ();
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        f(&mut self.core, &self.bars)
    }
    fn overflow(&mut self, _: Box<quanta_core::execution::Overflow>) {}
    fn deliver(&mut self, event: &Event) -> Result<(), ()> {
        black_box(event);
        Ok(())
    }
}

/// A seeded walk of one-minute bars, 390 a day, from 2024-01-01 09:30.
fn walk(rows: usize, n_symbols: usize) -> Panel {
    let minute = 60_000_000_000;
    let open_time = 19_723 * NS_PER_DAY + 570 * minute; // 2024-01-01 09:30
    let timestamps =
        (0..rows as i64).map(|i| open_time + (i / 390) * NS_PER_DAY + (i % 390) * minute).collect();
    let mut panel = Panel::new(timestamps, n_symbols);
    let mut state = 7u64;
    let mut price = vec![100.0; n_symbols];
    for t in 0..rows {
        for (n, p) in price.iter_mut().enumerate() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let step = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.002;
            let open = *p;
            *p *= 1.0 + step;
            let (high, low) = (open.max(*p) * 1.0005, open.min(*p) * 0.9995);
            panel.set(t, n, (open, high, low, *p, 1e6));
        }
    }
    panel
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a count"));
    let rows = args.next().unwrap_or(491_400);
    let n_symbols = args.next().unwrap_or(1);
    let runs = args.next().unwrap_or(15);
    let panel = walk(rows, n_symbols);
    let mut best = f64::INFINITY;
    let mut last_equity = 0.0;
    for _ in 0..runs {
        let bars = panel.view();
        let mut host = Idle { core: Core::new(Config::default(), &bars), bars };
        let start = Instant::now();
        engine::run(&mut host).expect("an idle run cannot fail");
        best = best.min(start.elapsed().as_secs_f64());
        last_equity = *host.core.equity.last().expect("one row at least");
    }
    println!(
        "{rows} rows x {n_symbols} symbols: {:.2} ms per run, {:.2} ns per row, {:.2} ns per bar \
         (final equity {last_equity})",
        best * 1e3,
        best * 1e9 / rows as f64,
        best * 1e9 / (rows * n_symbols) as f64,
    );
}
