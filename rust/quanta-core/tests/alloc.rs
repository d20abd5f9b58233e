//! A native array run allocates nothing per bar: a counting allocator shows that the number
//! of heap allocations of a run does not grow with the number of bars, beyond the amortised
//! growth of the run's record (orders, fills, trades).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use quanta_core::arrays::{run_job, Job, Signals, SizeType};
use quanta_core::bars::Panel;
use quanta_core::config::Config;
use quanta_core::events::NS_PER_DAY;

/// The system allocator, counting the allocations made by the current thread.
struct Counting;

thread_local! {
    // Const-initialised and without a destructor: reading it never allocates.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no counter left, and needs none.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same layout the caller gave us, which the caller guarantees is non-zero.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`, as the caller
        // guarantees; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through us) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// A seeded random walk of one-minute bars with a signal every few hundred bars.
struct Data {
    panel: Panel,
    entries: Vec<bool>,
    exits: Vec<bool>,
}

fn data(n_bars: usize) -> Data {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let minute = NS_PER_DAY / 1440;
    let timestamps = (0..n_bars as i64).map(|t| 19_723 * NS_PER_DAY + t * minute).collect();
    let mut panel = Panel::new(timestamps, 1);
    let mut close = 100.0;
    for t in 0..n_bars {
        let open = close;
        close = open * (1.0 + (uniform() - 0.5) * 0.004);
        let high = open.max(close) * (1.0 + uniform() * 0.001);
        let low = open.min(close) * (1.0 - uniform() * 0.001);
        panel.set(t, 0, (open, high, low, close, 1e6));
    }
    let entries = (0..n_bars).map(|t| t % 300 == 0).collect();
    let exits = (0..n_bars).map(|t| t % 300 == 150).collect();
    Data { panel, entries, exits }
}

/// Allocations made by one run of `n_bars` bars, and the number of fills it made.
fn run(n_bars: usize) -> (usize, usize) {
    let data = data(n_bars);
    let bars = data.panel.view();
    let job = Job::Signals(Signals {
        entries: &data.entries,
        exits: &data.exits,
        short_entries: None,
        short_exits: None,
        size: 1.0,
        size_type: SizeType::Percent,
        stop_loss: Some(0.002),
        take_profit: Some(0.003),
    });
    let cfg = Config { commission_rate: 0.0003, ..Config::default() };
    let before = allocations();
    let core = run_job(cfg, bars, job).expect("no error");
    let made = allocations() - before;
    (made, core.broker.portfolio.transactions.len())
}

#[test]
fn a_native_signal_run_does_not_allocate_per_bar() {
    let (small, small_fills) = run(20_000);
    let (large, large_fills) = run(200_000);
    println!(
        "allocations: {small} for 20,000 bars ({small_fills} fills), \
         {large} for 200,000 bars ({large_fills} fills)"
    );
    // The runs trade: entries, exits, stops and targets all fill.
    assert!(small_fills > 100 && large_fills > 10 * small_fills - 100, "{large_fills}");
    // Ten times the bars (and the orders): only a few more amortised Vec doublings.
    assert!(large - small <= 40, "{small} allocations for 20,000 bars, {large} for 200,000");
    assert!(large < 200, "{large} allocations for 200,000 bars");
}
