//! Times the compiled-strategy host (`quanta_core::compiled`) with entries written in Rust:
//! `cargo run --release --example compiled_loop [ROWS] [RUNS]` (default 491,400 one-minute
//! rows of one symbol, 15 runs). Prints the best run of each entry in nanoseconds per bar:
//! an entry that returns at once (the host's own cost per call), and a streaming SMA(10) /
//! SMA(30) crossover in the state that trades through target orders (what a small numba
//! `on_bar` does, without numba). Not a test.

#![allow(unsafe_code)] // the entries read the frame through its addresses, as C code does

use std::time::Instant;

use quanta_core::bars::Panel;
use quanta_core::compiled::{self, CompiledJob, Entry, Frame, Request, ON_BAR};
use quanta_core::config::Config;
use quanta_core::events::NS_PER_DAY;

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

extern "C" fn idle(_frame: *mut Frame) -> i64 {
    0
}

/// SMA(10) / SMA(30) of the closes as running sums in the state (fast sum, slow sum); all in
/// on a golden cross, out on a dead one.
extern "C" fn crossover(frame: *mut Frame) -> i64 {
    // SAFETY: the host calls with its frame; the addresses in it are live during the call.
    let frame = unsafe { &mut *frame };
    let (t, n) = (frame.index as usize, frame.n_symbols as usize);
    let s = frame.column as usize;
    let close = frame.close as *const f64;
    let state = unsafe { std::slice::from_raw_parts_mut((frame.state as *mut f64).add(2 * s), 2) };
    let at = |row: usize| unsafe { *close.add(row * n + s) };
    state[0] += at(t);
    state[1] += at(t);
    if t >= 10 {
        state[0] -= at(t - 10);
    }
    if t >= 30 {
        state[1] -= at(t - 30);
    }
    if t < 29 {
        return 0;
    }
    let above = state[0] / 10.0 > state[1] / 30.0;
    let held = unsafe { *(frame.position as *const f64).add(s) };
    let (kind, quantity) = match (above, held == 0.0) {
        (true, true) => (compiled::TARGET_PERCENT, 0.95),
        (false, false) if held > 0.0 => (compiled::TARGET_QUANTITY, 0.0),
        _ => return 0,
    };
    let request = Request { kind, column: s as i64, quantity, ..Request::default() };
    unsafe { *(frame.requests as *mut Request) = request };
    frame.n_requests = 1;
    0
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>().expect("a count"));
    let rows = args.next().unwrap_or(491_400);
    let runs = args.next().unwrap_or(15);
    let panel = walk(rows, 1);
    let entries: [(&str, Entry); 2] = [("idle", idle), ("crossover", crossover)];
    for (name, entry) in entries {
        let job = CompiledJob {
            entry,
            callbacks: 1 << ON_BAR,
            params: 0,
            state_size: 2,
            max_requests: 1,
        };
        let mut best = f64::INFINITY;
        let mut fills = 0;
        for _ in 0..runs {
            let start = Instant::now();
            let core = compiled::run_compiled(Config::default(), panel.view(), job).expect("a run");
            best = best.min(start.elapsed().as_secs_f64());
            fills = core.broker.portfolio.transactions.len();
        }
        println!(
            "{name}: {rows} rows: {:.2} ms per run, {:.2} ns per bar ({fills} fills)",
            best * 1e3,
            best * 1e9 / rows as f64,
        );
    }
}
