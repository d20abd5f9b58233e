//! Array strategies run natively (docs/semantics.md section 16, `quanta_ref.arrays`).
//!
//! A [`Job`] is a backtest described by arrays: boolean signals ([`Signals`]) or target
//! weights ([`Targets`]). [`ArrayHost`] is the strategy that trades it: a [`Host`] for the
//! engine loop ([`engine::run`]) that makes exactly the calls the reference's
//! `SignalStrategy` / `TargetStrategy` make on their `ctx`, in the same order and at the same
//! events, so the fills are those of the Python strategy bit for bit. It needs no Python and
//! no heap allocation per bar: the per-symbol state and the two decision buffers are sized
//! once, at the start of the run.
//!
//! Read [`ArrayHost::on_row`] first: one row's decisions, sells then buys.
//!
//! A run can be stopped from another thread (Ctrl-C, seen by the Python side): the host polls
//! a cancel flag every few thousand bars and ends the run with [`Halt::Cancelled`].

use std::sync::atomic::AtomicBool;

use crate::bars::BarsView;
use crate::config::Config;
use crate::engine::{self, CancelFlag, Core, Host};
use crate::events::Event;
use crate::execution::{Overflow, Target};
use crate::orders::{named_enum, Fill, OrderType, Side, TimeInForce};

named_enum! {
/// How a signal job sizes its positions (`Signals.size_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeType {
    /// `order_target_percent(symbol, ±size)`: a fraction of equity.
    Percent = "percent",
    /// `order_target_quantity(symbol, ±size)`: a quantity.
    Quantity = "quantity",
}
}

/// A checked `quanta_ref.arrays.Signals` job: (T, N) boolean arrays, row-major.
#[derive(Clone, Copy, Debug)]
pub struct Signals<'a> {
    /// Long entries.
    pub entries: &'a [bool],
    /// Long exits.
    pub exits: &'a [bool],
    /// Short entries (None: never).
    pub short_entries: Option<&'a [bool]>,
    /// Short exits (None: never).
    pub short_exits: Option<&'a [bool]>,
    /// Position size on entry (> 0).
    pub size: f64,
    /// What `size` means.
    pub size_type: SizeType,
    /// Stop-loss as a fraction of the average cost, in (0, 1).
    pub stop_loss: Option<f64>,
    /// Take-profit as a fraction of the average cost, > 0.
    pub take_profit: Option<f64>,
}

impl Signals<'_> {
    /// Whether any of the four signals is set at position `at` (row x N + column).
    fn flagged(&self, at: usize) -> bool {
        self.entries[at]
            || self.exits[at]
            || self.short_entries.is_some_and(|a| a[at])
            || self.short_exits.is_some_and(|a| a[at])
    }
}

/// A checked `quanta_ref.arrays.Targets` job: (T, N) weights, row-major, NaN = no order.
#[derive(Clone, Copy, Debug)]
pub struct Targets<'a> {
    /// Target weights (finite or NaN).
    pub weights: &'a [f64],
}

/// One array job. The arrays must hold T x N values of the bars they run on.
#[derive(Clone, Copy, Debug)]
pub enum Job<'a> {
    /// Trade boolean signals.
    Signals(Signals<'a>),
    /// Rebalance to target weights.
    Targets(Targets<'a>),
}

impl Job<'_> {
    /// Number of values in each of the job's arrays.
    pub fn len(&self) -> usize {
        match self {
            Job::Signals(s) => s.entries.len(),
            Job::Targets(t) => t.weights.len(),
        }
    }

    /// Whether the job's arrays are empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An exit order the reference's `ctx.submit_order` would refuse: its price is not a finite
/// number > 0 (a take-profit so large that `cost x (1 + take_profit)` overflows). The Python
/// side raises the reference's `OrderError` from these fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriceError {
    /// `"stop_price"` or `"limit_price"`.
    pub field: &'static str,
    /// The refused price.
    pub value: f64,
    /// The symbol's column.
    pub column: usize,
    /// The row being processed (`ctx.bar_index`).
    pub index: i64,
    /// Its timestamp (`ctx.now`).
    pub now: i64,
}

/// Why an array job ended before its last row.
#[derive(Clone, Debug, PartialEq)]
pub enum Halt {
    /// An exit price the reference refuses.
    Price(PriceError),
    /// The run's cancel flag was set (Ctrl-C): the run's state is incomplete and is dropped.
    Cancelled,
    /// An accounting value outside the float range (boxed: it is large, and a `Result` of
    /// this type is returned for every bar event).
    Overflow(Box<Overflow>),
}

impl From<PriceError> for Halt {
    fn from(error: PriceError) -> Self {
        Halt::Price(error)
    }
}

/// None, in the per-symbol order-id slots (order ids start at 1, as in the reference).
const NO_ORDER: usize = 0;

/// The strategy of an array job, as an engine [`Host`]: owns the run's [`Core`].
#[derive(Debug)]
pub struct ArrayHost<'a> {
    core: Core,
    bars: BarsView<'a>,
    job: Job<'a>,
    /// Id of each symbol's live signal/target order (NO_ORDER: none).
    live: Vec<usize>,
    /// What that order aims at.
    live_target: Vec<f64>,
    /// Id of each symbol's stop-loss order.
    stop: Vec<usize>,
    /// Id of each symbol's take-profit order.
    limit: Vec<usize>,
    /// This row's selling decisions (column, target), reused from row to row.
    sells: Vec<(usize, f64)>,
    /// This row's buying decisions.
    buys: Vec<(usize, f64)>,
    /// Set by another thread to stop the run.
    cancel: CancelFlag<'a>,
}

impl<'a> ArrayHost<'a> {
    /// A run of `job` over `bars` under `cfg`, before its first bar. `bars` must hold at least
    /// one row and the job's arrays T x N values each.
    pub fn new(cfg: Config, bars: BarsView<'a>, job: Job<'a>) -> Self {
        let n = bars.n_symbols;
        assert_eq!(job.len(), bars.n_bars() * n, "job arrays must be (T, N)");
        if let Job::Signals(s) = job {
            let lengths = [Some(s.exits), s.short_entries, s.short_exits];
            assert!(
                lengths.iter().flatten().all(|a| a.len() == s.entries.len()),
                "signal arrays must be (T, N)"
            );
        }
        let mut core = Core::new(cfg, &bars);
        core.broker.events.skip_orders(); // the job acts on bars and fills only (`deliver`)
        ArrayHost {
            core,
            bars,
            job,
            live: vec![NO_ORDER; n],
            live_target: vec![0.0; n],
            stop: vec![NO_ORDER; n],
            limit: vec![NO_ORDER; n],
            sells: Vec::with_capacity(n),
            buys: Vec::with_capacity(n),
            cancel: CancelFlag::never(),
        }
    }

    /// This run, stopped with [`Halt::Cancelled`] soon after `cancel` is set.
    pub fn with_cancel(self, cancel: &'a AtomicBool) -> Self {
        ArrayHost { cancel: CancelFlag::new(cancel), ..self }
    }

    /// `Err(Halt::Cancelled)` once the cancel flag is set.
    fn poll(&self) -> Result<(), Halt> {
        if self.cancel.is_set() {
            return Err(Halt::Cancelled);
        }
        Ok(())
    }

    /// The run's state.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The run's state, taking it out of the host.
    pub fn into_core(self) -> Core {
        self.core
    }

    /// Run the whole job (`engine::run`).
    pub fn run(&mut self) -> Result<(), Halt> {
        engine::run(self)
    }

    fn is_live(&self, order_id: usize) -> bool {
        order_id != NO_ORDER && self.core.broker.orders[order_id - 1].status.is_live()
    }

    fn cancel(&mut self, order_id: usize) {
        if self.is_live(order_id) {
            self.core.broker.cancel(order_id);
        }
    }

    /// The bar of `column` at the current row: decide if it is the row's last present symbol.
    fn on_bar(&mut self, column: usize) -> Result<(), PriceError> {
        let t = self.core.broker.index as usize;
        let n_symbols = self.bars.n_symbols;
        let row = t * n_symbols;
        // Another symbol with a bar later in this row: its on_bar decides.
        if self.bars.close[row + column + 1..row + n_symbols].iter().any(|c| !c.is_nan()) {
            return Ok(());
        }
        self.on_row(t);
        Ok(())
    }

    /// One row's decisions (`_RowStrategy.on_bar`): every present symbol decides, then the
    /// sells are sent, then the buys, each group in data order.
    fn on_row(&mut self, t: usize) {
        let n_symbols = self.bars.n_symbols;
        if let Job::Signals(job) = &self.job {
            // Without a signal in the row no symbol decides anything (every branch of
            // `decide_signal` needs one): most rows end here.
            let row = t * n_symbols;
            if !(row..row + n_symbols).any(|at| job.flagged(at)) {
                return;
            }
        }
        self.sells.clear();
        self.buys.clear();
        match self.job {
            Job::Signals(job) => {
                for n in 0..n_symbols {
                    if self.core.is_present(n) {
                        self.decide_signal(&job, t * n_symbols + n, n);
                    }
                }
            }
            Job::Targets(job) => {
                // ctx.equity: nothing changes it while the row decides (orders go out after).
                let equity = self.core.broker.portfolio.equity();
                for n in 0..n_symbols {
                    if self.core.is_present(n) {
                        self.decide_target(&job, equity, t * n_symbols + n, n);
                    }
                }
            }
        }
        for k in 0..self.sells.len() {
            let (n, target) = self.sells[k];
            self.send(n, target);
        }
        for k in 0..self.buys.len() {
            let (n, target) = self.buys[k];
            self.send(n, target);
        }
    }

    /// `SignalStrategy.decide` for the value at `at` (column `n`).
    fn decide_signal(&mut self, job: &Signals<'_>, at: usize, n: usize) {
        let exit_long = job.exits[at];
        let exit_short = job.short_exits.is_some_and(|a| a[at]);
        let mut enter_long = job.entries[at] && !exit_long;
        let mut enter_short = job.short_entries.is_some_and(|a| a[at]) && !exit_short;
        if enter_long && enter_short {
            enter_long = false;
            enter_short = false;
        }
        let state = if self.is_live(self.live[n]) {
            self.live_target[n]
        } else {
            self.core.broker.portfolio.positions[n].quantity
        };
        let size = job.size;
        let target = if state > 0.0 {
            if enter_short {
                -size
            } else if exit_long {
                0.0
            } else {
                return;
            }
        } else if state < 0.0 {
            if enter_long {
                size
            } else if exit_short {
                0.0
            } else {
                return;
            }
        } else if enter_long {
            size
        } else if enter_short {
            -size
        } else {
            return;
        };
        if target > state {
            self.buys.push((n, target));
        } else {
            self.sells.push((n, target));
        }
    }

    /// `TargetStrategy.decide` for the value at `at` (column `n`).
    fn decide_target(&mut self, job: &Targets<'_>, equity: f64, at: usize, n: usize) {
        let weight = job.weights[at];
        if weight.is_nan() {
            return;
        }
        let held = self.core.broker.portfolio.positions[n].quantity;
        if weight == 0.0 && held == 0.0 && !self.is_live(self.live[n]) {
            return; // flat, nothing pending, flat is the target: no order (it would trade nothing)
        }
        let multiplier = self.core.broker.portfolio.multipliers[n];
        let rough = weight * equity / (self.bars.close[at] * multiplier);
        if rough < held {
            self.sells.push((n, weight));
        } else {
            self.buys.push((n, weight));
        }
    }

    /// Replace the symbol's live order (and, for signals, its exit orders) by a new target
    /// order (`SignalStrategy.send`, `_RowStrategy.send`).
    fn send(&mut self, n: usize, target: f64) {
        let target = match self.job {
            Job::Signals(job) => {
                self.cancel_exits(n);
                match job.size_type {
                    SizeType::Percent => Target::Percent(target),
                    SizeType::Quantity => Target::Quantity(target),
                }
            }
            Job::Targets(_) => Target::Percent(target),
        };
        let live = self.live[n];
        if self.is_live(live) {
            self.core.broker.cancel(live);
        }
        let value = match target {
            Target::Percent(v) | Target::Quantity(v) => v,
        };
        self.live[n] = self.core.broker.submit_target(n, target, TimeInForce::Gtc);
        self.live_target[n] = value;
    }

    // ------------------------------------------------------------- stop-loss / take-profit
    /// `SignalStrategy.on_fill`.
    fn on_fill(&mut self, fill: &Fill) -> Result<(), PriceError> {
        let Job::Signals(job) = self.job else { return Ok(()) };
        if job.stop_loss.is_none() && job.take_profit.is_none() {
            return Ok(());
        }
        let n = fill.column;
        if fill.order_id == self.live[n] {
            // The position changed by a decision of ours: exits for the whole new position.
            // (When an exit fills, its group has already cancelled the other one.)
            self.cancel_exits(n);
            self.place_exits(&job, n)?;
        }
        Ok(())
    }

    /// `SignalStrategy.place_exits`: the stop first, so that it is the older order and is
    /// matched first when both levels are inside one bar (the pessimistic reading); both
    /// accepted, they form a one-cancels-other group.
    fn place_exits(&mut self, job: &Signals<'_>, n: usize) -> Result<(), PriceError> {
        let position = self.core.broker.portfolio.positions[n];
        let (held, cost) = (position.quantity, position.average_cost);
        if held == 0.0 {
            return Ok(());
        }
        let side = if held > 0.0 { Side::Sell } else { Side::Buy };
        let direction = if held > 0.0 { 1.0 } else { -1.0 };
        let quantity = held.abs();
        if let Some(stop_loss) = job.stop_loss {
            let stop_price =
                self.checked_price("stop_price", cost * (1.0 - direction * stop_loss), n)?;
            self.stop[n] = self.core.broker.submit_order(
                n,
                side,
                quantity,
                OrderType::Stop,
                None,
                Some(stop_price),
                TimeInForce::Gtc,
            );
        }
        if let Some(take_profit) = job.take_profit {
            let limit_price =
                self.checked_price("limit_price", cost * (1.0 + direction * take_profit), n)?;
            self.limit[n] = self.core.broker.submit_order(
                n,
                side,
                quantity,
                OrderType::Limit,
                Some(limit_price),
                None,
                TimeInForce::Gtc,
            );
        }
        if self.is_live(self.stop[n]) && self.is_live(self.limit[n]) {
            self.core.broker.oco(&[self.stop[n] - 1, self.limit[n] - 1]);
        }
        Ok(())
    }

    /// The price, or the error `ctx.submit_order` raises for it (`check_number`).
    fn checked_price(&self, field: &'static str, value: f64, n: usize) -> Result<f64, PriceError> {
        if value.is_finite() && value > 0.0 {
            return Ok(value);
        }
        Err(PriceError {
            field,
            value,
            column: n,
            index: self.core.broker.index,
            now: self.core.broker.now,
        })
    }

    /// `SignalStrategy.cancel_exits`.
    fn cancel_exits(&mut self, n: usize) {
        self.cancel(self.stop[n]);
        self.cancel(self.limit[n]);
        self.stop[n] = NO_ORDER;
        self.limit[n] = NO_ORDER;
    }
}

impl Host for ArrayHost<'_> {
    type Error = Halt;

    #[inline]
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        f(&mut self.core, &self.bars)
    }

    /// Bars and fills are the only events the reference strategies act on.
    #[inline]
    fn deliver(&mut self, event: &Event) -> Result<(), Halt> {
        match event {
            Event::Bar(column) => {
                if self.cancel.bar() {
                    return Err(Halt::Cancelled);
                }
                Ok(self.on_bar(*column)?)
            }
            Event::Fill(fill) => Ok(self.on_fill(fill)?),
            _ => Ok(()),
        }
    }

    fn overflow(&mut self, error: Box<Overflow>) -> Halt {
        Halt::Overflow(error)
    }

    /// A row decides nothing without a signal (or a weight) in it (see `on_row`): such rows
    /// are quiet while no order of the job (an exit included) is live.
    fn quiet_rows(&mut self, rows: std::ops::Range<usize>) -> Result<usize, Halt> {
        if !self.core.can_be_quiet() {
            return Ok(rows.start);
        }
        let n_symbols = self.bars.n_symbols;
        for i in rows.clone() {
            let row = i * n_symbols..(i + 1) * n_symbols;
            let quiet = match &self.job {
                Job::Signals(job) => !row.into_iter().any(|at| job.flagged(at)),
                Job::Targets(job) => job.weights[row].iter().all(|w| w.is_nan()),
            };
            if !quiet {
                return Ok(i);
            }
            self.core.quiet_row(&self.bars, i).map_err(Halt::Overflow)?;
            if !self.core.can_be_quiet() {
                return Ok(i + 1); // a margin call: its events are delivered next
            }
        }
        Ok(rows.end)
    }

    /// Every 1024 rows (`engine::run`).
    fn check_interrupt(&mut self) -> Result<(), Halt> {
        self.poll()
    }
}

/// Run `job` over `bars` under `cfg`: the finished run's state, or the error that ended it.
/// Never [`Halt::Cancelled`]: nobody sets its flag.
pub fn run_job(cfg: Config, bars: BarsView<'_>, job: Job<'_>) -> Result<Core, Halt> {
    run_job_until(cfg, bars, job, &AtomicBool::new(false))
}

/// [`run_job`], stopped with [`Halt::Cancelled`] soon after `cancel` is set (by another
/// thread): every 1024 rows and every few thousand bars the flag is read.
pub fn run_job_until(
    cfg: Config,
    bars: BarsView<'_>,
    job: Job<'_>,
    cancel: &AtomicBool,
) -> Result<Core, Halt> {
    let mut host = ArrayHost::new(cfg, bars, job).with_cancel(cancel);
    host.run()?;
    Ok(host.into_core())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bars::Panel;
    use crate::config::FillAt;

    /// `rows` daily rows of one symbol at a flat price, long from the first row.
    fn flat_run(rows: usize) -> (Panel, Vec<bool>, Vec<bool>) {
        let day = 86_400_000_000_000;
        let mut panel = Panel::new((0..rows as i64).map(|t| t * day).collect(), 1);
        for t in 0..rows {
            panel.set(t, 0, (10.0, 10.0, 10.0, 10.0, 1e9));
        }
        let entries = (0..rows).map(|t| t == 0).collect();
        (panel, entries, vec![false; rows])
    }

    fn signals<'a>(entries: &'a [bool], exits: &'a [bool]) -> Job<'a> {
        Job::Signals(Signals {
            entries,
            exits,
            short_entries: None,
            short_exits: None,
            size: 1.0,
            size_type: SizeType::Percent,
            stop_loss: None,
            take_profit: None,
        })
    }

    /// An array host with every row delivered: the engine never takes a quiet row.
    struct Loud<'a>(ArrayHost<'a>);

    impl Host for Loud<'_> {
        type Error = Halt;
        fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
            self.0.with_core(f)
        }
        fn deliver(&mut self, event: &Event) -> Result<(), Halt> {
            self.0.deliver(event)
        }
        fn overflow(&mut self, error: Box<Overflow>) -> Halt {
            self.0.overflow(error)
        }
    }

    #[test]
    fn quiet_rows_leave_the_state_of_delivered_rows() {
        // Two symbols of minute bars over three days (new days inside quiet runs), one with
        // gaps; trades every few dozen rows, under costs and fills at the close.
        let minute = 60_000_000_000;
        let rows = 3 * 390;
        let timestamps =
            (0..rows as i64).map(|i| (i / 390) * 86_400_000_000_000 + (i % 390) * minute);
        let mut panel = Panel::new(timestamps.collect(), 2);
        for t in 0..rows {
            let price = 10.0 + (t % 17) as f64 * 0.25;
            panel.set(t, 0, (price, price + 0.5, price - 0.5, price + 0.125, 1e6));
            if t % 7 != 3 {
                panel.set(t, 1, (price * 2.0, price * 2.0, price * 2.0, price * 2.0, 1e6));
            }
        }
        let entries: Vec<bool> = (0..rows * 2).map(|at| at % 61 == 0 || at % 89 == 1).collect();
        let exits: Vec<bool> = (0..rows * 2).map(|at| at % 47 == 0).collect();
        for fill_at in [FillAt::NextOpen, FillAt::Close] {
            let cfg = Config { commission_rate: 0.001, fill_at, ..Config::default() };
            let job = signals(&entries, &exits);
            let quiet = run_job(cfg.clone(), panel.view(), job).unwrap();
            let mut loud = Loud(ArrayHost::new(cfg, panel.view(), job));
            engine::run(&mut loud).unwrap();
            let loud = loud.0.into_core();
            assert!(loud.broker.portfolio.transactions.len() > 10);
            assert_eq!(quiet.equity, loud.equity);
            assert_eq!(quiet.cash, loud.cash);
            assert_eq!(quiet.bars_in_market, loud.bars_in_market);
            assert_eq!(quiet.broker.portfolio.transactions, loud.broker.portfolio.transactions);
            assert_eq!(quiet.broker.orders, loud.broker.orders);
        }
    }

    #[test]
    fn a_set_cancel_flag_stops_the_run_at_its_next_poll() {
        let (panel, entries, exits) = flat_run(5_000);
        let cancel = AtomicBool::new(true);
        let job = signals(&entries, &exits);
        let mut host = ArrayHost::new(Config::default(), panel.view(), job).with_cancel(&cancel);
        assert_eq!(host.run(), Err(Halt::Cancelled));
        // Stopped at the first poll (row 1023), long before the last row.
        assert_eq!(host.core().equity.len(), 1024);
    }

    #[test]
    fn an_unset_cancel_flag_changes_nothing() {
        let (panel, entries, exits) = flat_run(5_000);
        let cancel = AtomicBool::new(false);
        let job = signals(&entries, &exits);
        let watched = run_job_until(Config::default(), panel.view(), job, &cancel).unwrap();
        let plain = run_job(Config::default(), panel.view(), job).unwrap();
        assert_eq!(watched.equity, plain.equity);
        assert_eq!(watched.broker.portfolio.transactions.len(), 1);
    }
}
