//! The bar loop (`quanta_ref.engine`).
//!
//! [`Core`] is the state of one run: the [`Broker`] (orders, account, the order path) and the
//! loop's own state. [`run`] is the loop: it owns no state itself and reaches
//! the core through a [`Host`], which also delivers events to the strategy. The split exists so
//! that a strategy callback (Python, in `quanta-py`) can call back into the core while the
//! loop waits: the loop never holds the core across a delivery, and everything the core
//! publishes waits in its FIFO queue until the loop drains it, exactly like the reference's
//! event bus (an event published during a delivery is delivered after it).
//!
//! Read [`step`] first: it is one timestamp, in the order of docs/semantics.md section 2.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::bars::{BarsView, N_RATES};
use crate::config::{Config, FillAt};
use crate::events::{trading_day, Event, NS_PER_DAY};
use crate::execution::{Broker, ModelError, Overflow, Stop};
use crate::orders::{OrderStatus, Reason, TimeInForce};

/// Where the loop meets the outside: access to the core, and delivery to the strategy.
pub trait Host {
    /// What a delivery can fail with (a strategy's exception, an interrupt).
    type Error;
    /// Run `f` on the core and the bars. Never called re-entrantly by [`run`].
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R;
    /// Deliver one event (Start, End, Bar, Order or Fill) to the strategy.
    fn deliver(&mut self, event: &Event) -> Result<(), Self::Error>;
    /// The error that stops the run when an accounting value leaves the float range
    /// (docs/semantics.md section 7, "Magnitudes").
    /// (Boxed: the `Result`s of the loop's steps stay small.)
    fn overflow(&mut self, error: Box<Overflow>) -> Self::Error;
    /// The error that stops the run when an external cost model fails (its payload). Only
    /// hosts that give the broker external models see it.
    fn model_error(&mut self, error: ModelError) -> Self::Error {
        let _ = error;
        unreachable!("no external cost model in this host")
    }
    /// Take the rows of `rows` from its start as quiet rows ([`Core::quiet_row`]) for as long
    /// as the core can be quiet ([`Core::can_be_quiet`]: no live order, nothing queued; a
    /// margin call at a row's record ends it) and the strategy would do nothing with their
    /// bars; stop at the first other row. Returns the row where it stopped. The engine asks
    /// at every row. The default takes none (and touches nothing): a host that acts on every
    /// bar (a Python or compiled strategy) has every row delivered.
    fn quiet_rows(&mut self, rows: std::ops::Range<usize>) -> Result<usize, Self::Error> {
        Ok(rows.start)
    }
    /// Called every 1024 rows, and sooner when rows are heavy (every [`POLL_WORK`] bars and
    /// live orders visited): a chance to stop a long run (Ctrl-C) or to let other threads run.
    fn check_interrupt(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The state of one run: the broker (orders and account) and the loop's own state (which
/// symbols have a bar, the phase snapshot, the equity and cash record).
#[derive(Clone, Debug)]
pub struct Core {
    /// Orders, account, limits and the event queue.
    pub broker: Broker,
    /// Equity at each row's close.
    pub equity: Vec<f64>,
    /// Cash at each row's close.
    pub cash: Vec<f64>,
    /// Rows with an open position at the close.
    pub bars_in_market: usize,
    /// Start of the trading day after the broker's `day`: a row before it is still on that
    /// day, so the division that finds a row's day is done once per day, not once per row.
    day_end: i64,
    present: Vec<bool>,
    snapshot: Vec<usize>,
    /// The next row of the run's rate table to put in force.
    next_rates: usize,
    /// The first corporate action of the panel not yet applied.
    next_action: usize,
    /// External execution: the broker's reports waiting for the next row's open phase.
    pub reports: std::collections::VecDeque<Report>,
}

/// A report of an external broker (`quanta_ref.session.Session.report_fill` /
/// `report_status`), booked in the open phase of the next row, in the order it came.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Report {
    /// A fill of a live order.
    Fill {
        /// The order's id (1-based).
        order_id: usize,
        /// How much filled (> 0, at most what remains: the session checked).
        quantity: f64,
        /// At what price.
        price: f64,
        /// The broker's commission.
        commission: f64,
        /// The broker's taxes and fees.
        tax: f64,
    },
    /// The end of a live order.
    Status {
        /// The order's id (1-based).
        order_id: usize,
        /// Cancelled, Rejected or Expired.
        status: OrderStatus,
        /// Why, when the broker says.
        reason: Option<Reason>,
    },
}

impl Core {
    /// A run over `bars` under `cfg`, before its first bar. `bars` must hold at least one row.
    pub fn new(cfg: Config, bars: &BarsView<'_>) -> Self {
        let n = bars.n_symbols;
        let t = bars.n_bars();
        // The loop's buffers are allocated before the broker's: with this heap layout the
        // 100-symbol loop of examples/engine_loop.rs measured 2.53 instead of 2.93 ns per bar.
        let equity = Vec::with_capacity(t);
        let cash = Vec::with_capacity(t);
        let present = vec![false; n];
        let mut broker = Broker::new(cfg, n, bars.timestamps[0]);
        broker.use_instruments(&bars.market.instruments);
        Core {
            broker,
            equity,
            cash,
            bars_in_market: 0,
            day_end: i64::MIN, // the first row always begins a day
            present,
            snapshot: Vec::new(),
            next_rates: 0,
            next_action: 0,
            reports: std::collections::VecDeque::new(),
        }
    }

    /// Whether a symbol has a bar at the current row.
    pub fn is_present(&self, column: usize) -> bool {
        self.present[column]
    }

    // ============================================================ loop steps (see `step`)
    /// Row `i` begins: steps 1 to 3 of `step` in one visit when nothing can happen between
    /// them (the usual row: the same trading day, no live order).
    #[inline(always)]
    fn enter_row(&mut self, bars: &BarsView<'_>, i: usize) -> Entered {
        if let Some(day) = self.begin_row(bars, i) {
            return Entered::NewDay(day);
        }
        let broker = &mut self.broker;
        if !broker.live.is_empty() {
            // GTD orders past their time expire before the row opens (their events are
            // delivered before the open phase).
            broker.expire_gtd();
            self.open_row(bars, i);
            return Entered::Opened;
        }
        // No live order: the open phase would match nothing, so the bar opens and closes in
        // one pass over the symbols.
        Entered::Closed(self.open_and_close_row(bars, i))
    }

    /// Row `i` is the broker's current row; its trading day if that is a new one.
    #[inline(always)]
    fn begin_row(&mut self, bars: &BarsView<'_>, i: usize) -> Option<i64> {
        let broker = &mut self.broker;
        broker.index = i as i64;
        broker.now = bars.timestamps[i];
        // Timestamps ascend, so a row before `day_end` is on the broker's `day`.
        if broker.now >= self.day_end {
            let day = trading_day(broker.now);
            if day != broker.day {
                return Some(day);
            }
        }
        None
    }

    /// Which symbols have a bar, the day's reference closes, the participation capacities.
    /// After `enter_row` and any new day's expiry, so `day` is this row's trading day.
    fn open_row(&mut self, bars: &BarsView<'_>, i: usize) {
        let n_symbols = bars.n_symbols;
        let row = i * n_symbols..(i + 1) * n_symbols;
        let columns = bars.close[row.clone()].iter().zip(&bars.volume[row]).enumerate();
        for (n, (&close, &volume)) in columns {
            self.present[n] = !close.is_nan();
            if self.present[n] {
                self.broker.open_symbol(n, volume);
            }
        }
    }

    /// Step 3: the closes of the symbols with a bar, and the trailing stops follow them.
    fn close_row(&mut self, bars: &BarsView<'_>, i: usize) {
        let n_symbols = bars.n_symbols;
        let closes = &bars.close[i * n_symbols..(i + 1) * n_symbols];
        let columns = self.broker.portfolio.positions.iter_mut().zip(&self.present).zip(closes);
        for ((position, &present), &close) in columns {
            if present {
                position.last_price = close;
            }
        }
        self.broker.trail_stops(&self.present);
    }

    /// `open_row` then `close_row`, symbol by symbol in one pass (nothing reads the state of
    /// another symbol in between); returns the first symbol with a bar.
    #[inline(always)]
    fn open_and_close_row(&mut self, bars: &BarsView<'_>, i: usize) -> Option<usize> {
        let n_symbols = bars.n_symbols;
        let row = i * n_symbols..(i + 1) * n_symbols;
        let columns = bars.close[row.clone()].iter().zip(&bars.volume[row]).enumerate();
        let mut first = None;
        for (n, (&close, &volume)) in columns {
            self.present[n] = !close.is_nan();
            if self.present[n] {
                self.broker.open_symbol(n, volume);
                self.broker.portfolio.positions[n].last_price = close;
                first = first.or(Some(n));
            }
        }
        first
    }

    /// The first symbol at or after column `from` with a bar at this row.
    fn next_present(&self, from: usize) -> Option<usize> {
        let later = self.present.get(from..)?;
        later.iter().position(|&present| present).map(|k| from + k)
    }

    /// Step 6: equity and cash at the close, the drawdown stop, the time in the market; an
    /// equity outside the float range stops the run.
    #[inline]
    fn record_row(&mut self) -> Result<(), Box<Overflow>> {
        let broker = &mut self.broker;
        let equity = broker.portfolio.equity();
        let in_market = !broker.portfolio.held().is_empty();
        if !equity.is_finite() {
            return Err(broker.equity_overflow(equity));
        }
        self.equity.push(equity);
        self.cash.push(broker.portfolio.cash);
        broker.risk.record_equity(&broker.cfg, equity);
        if in_market {
            self.bars_in_market += 1;
        }
        if broker.portfolio.margined {
            // The margin call rule; the loop delivers its order changes after the record.
            broker.margin_check(equity);
        }
        Ok(())
    }

    /// A new trading day at row `i`: the day's cost rates come in force when they change
    /// at this row, the broker expires yesterday's DAY orders, then the corporate actions
    /// due at this row apply, in order.
    #[inline]
    fn expire_day(&mut self, bars: &BarsView<'_>, i: usize, day: i64) {
        // The next day starts at (day + 1) x NS_PER_DAY; past the int64 range, never.
        self.day_end = (day + 1).saturating_mul(NS_PER_DAY);
        let k = self.next_rates;
        if bars.market.rate_rows.get(k) == Some(&(i as i64)) {
            self.broker.set_rates(&bars.market.rates[k * N_RATES..(k + 1) * N_RATES]);
            self.next_rates = k + 1;
        }
        self.broker.expire_day(day);
        while let Some(action) = bars.actions.get(self.next_action) {
            if action.row != i {
                break;
            }
            self.next_action += 1;
            self.broker.corporate_action(action.column, action.cash, action.shares);
        }
    }

    /// Whether the next row can be a quiet row: no order is live, nothing is queued or
    /// reported, so its open and close phases would match nothing and publish nothing.
    #[inline]
    pub fn can_be_quiet(&self) -> bool {
        self.broker.live.is_empty() && self.broker.events.is_empty() && self.reports.is_empty()
    }

    /// Row `i` when nothing can happen in it but the close (see [`Host::quiet_rows`] and
    /// [`Core::can_be_quiet`]): steps 1, 3 and 6 of [`step`] without the deliveries. A new
    /// trading day still expires the day and applies its cost rates and corporate actions
    /// (which publish nothing with no order live); the symbols with a bar close; the equity
    /// and cash are recorded. Which symbols have a bar and their volumes are not noted: only
    /// the phases and the strategy read them, and a row that has them notes them first.
    /// Exactly the state the full row leaves when the strategy does nothing with its bars.
    #[inline(always)]
    pub fn quiet_row(&mut self, bars: &BarsView<'_>, i: usize) -> Result<(), Box<Overflow>> {
        if let Some(day) = self.begin_row(bars, i) {
            self.expire_day(bars, i, day);
        }
        debug_assert!(self.can_be_quiet(), "a quiet row publishes nothing");
        let n_symbols = bars.n_symbols;
        let closes = &bars.close[i * n_symbols..(i + 1) * n_symbols];
        for (position, &close) in self.broker.portfolio.positions.iter_mut().zip(closes) {
            if !close.is_nan() {
                position.last_price = close;
            }
        }
        self.record_row()
    }

    /// Match the `k`-th order of the phase snapshot if it is due.
    fn match_next(
        &mut self,
        bars: &BarsView<'_>,
        i: usize,
        k: usize,
        at_close: bool,
    ) -> Result<Visit, Box<Stop>> {
        let Some(&id) = self.snapshot.get(k) else { return Ok(Visit::End) };
        let order = &self.broker.orders[id];
        let n = order.column;
        if order.status.is_live() && order.eligible_bar <= i {
            // A DAY order's one trading day is that of the first row it is eligible at.
            self.broker.start_day(id);
            let order = &self.broker.orders[id];
            if self.broker.waits_for_close(order) != at_close {
                return Ok(Visit::Visited);
            }
            let one_chance = matches!(order.time_in_force, TimeInForce::Ioc | TimeInForce::Fok);
            if self.present[n] {
                let at = i * bars.n_symbols + n;
                let (o, h, l, c) = (bars.open[at], bars.high[at], bars.low[at], bars.close[at]);
                let limits = &bars.market;
                self.broker.bar_limits = if limits.limit_up.is_empty() {
                    (f64::NAN, f64::NAN)
                } else {
                    (limits.limit_down[at], limits.limit_up[at])
                };
                self.broker.match_order(id, o, h, l, c, at_close)?;
            }
            if one_chance {
                return Ok(Visit::OneChance(id));
            }
        }
        Ok(Visit::Visited)
    }
}

/// What [`Core::match_next`] did with an order of the phase snapshot.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Visit {
    /// The snapshot is done.
    End,
    /// An order visited (matched or not due).
    Visited,
    /// An IOC or FOK order had its one attempt: what is left of it ends once its events are
    /// delivered.
    OneChance(usize),
}

/// How a row began (see [`Core::enter_row`]).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Entered {
    /// A new trading day: the day's expiry comes first, then the row opens.
    NewDay(i64),
    /// The row opened and orders are live: the open phase comes next.
    Opened,
    /// The row opened and closed (no order was live); the first symbol with a bar.
    Closed(Option<usize>),
}

/// Deliver everything queued, in order; a failed delivery drops what is still queued (the
/// run is over).
pub fn drain<H: Host>(host: &mut H) -> Result<(), H::Error> {
    drain_then(host, |_| ())
}

/// [`drain`], then `then` on the core in the same visit that finds the queue empty (one
/// visit of the core instead of two, per bar of a strategy that publishes nothing).
fn drain_then<H: Host, R>(host: &mut H, then: impl Fn(&mut Core) -> R) -> Result<R, H::Error> {
    loop {
        // The usual case, an empty queue, returns only `then`'s small result: an event is a
        // few hundred bytes (it carries an order snapshot), too much to move out per bar.
        let done = host.with_core(|core, _| core.broker.events.is_empty().then(|| then(core)));
        if let Some(result) = done {
            return Ok(result);
        }
        let Some(event) = host.with_core(|core, _| core.broker.events.pop()) else {
            continue;
        };
        if let Err(error) = host.deliver(&event) {
            host.with_core(|core, _| core.broker.events.clear());
            return Err(error);
        }
    }
}

/// `result`, an overflow turned into the host's error.
fn stop<H: Host, T, E: Into<Box<Stop>>>(host: &mut H, result: Result<T, E>) -> Result<T, H::Error> {
    result.map_err(|error| match *error.into() {
        Stop::Overflow(overflow) => host.overflow(Box::new(overflow)),
        Stop::Model(error) => host.model_error(error),
    })
}

fn publish<H: Host>(host: &mut H, event: Event) -> Result<(), H::Error> {
    host.with_core(|core, _| core.broker.events.push(event));
    drain(host)
}

/// Match the live orders of this row that are due in this phase, oldest first, delivering
/// each order's events before the next order is matched.
fn match_phase<H: Host>(host: &mut H, i: usize, at_close: bool) -> Result<(), H::Error> {
    let any = host.with_core(|core, _| {
        // External execution: the broker, not the bar, fills the orders.
        if core.broker.live.is_empty() || core.broker.external {
            return false;
        }
        core.snapshot.clear();
        core.snapshot.extend_from_slice(&core.broker.live);
        true
    });
    if !any {
        return Ok(());
    }
    let mut k = 0;
    loop {
        let visit = host.with_core(|core, bars| core.match_next(bars, i, k, at_close));
        match stop(host, visit)? {
            Visit::End => return Ok(()),
            Visit::Visited => {}
            Visit::OneChance(id) => {
                drain(host)?;
                host.with_core(|core, _| core.broker.end_time_in_force(id));
            }
        }
        drain(host)?;
        k += 1;
    }
}

/// Book the broker's waiting reports in order, delivering each one's events before the next.
fn book_reports<H: Host>(host: &mut H) -> Result<(), H::Error> {
    loop {
        let booked = host.with_core(|core, _| {
            let report = core.reports.pop_front()?;
            Some(match report {
                Report::Fill { order_id, quantity, price, commission, tax } => {
                    core.broker.report_fill(order_id, quantity, price, commission, tax)
                }
                Report::Status { order_id, status, reason } => {
                    core.broker.report_status(order_id, status, reason);
                    Ok(())
                }
            })
        });
        let Some(result) = booked else { return Ok(()) };
        stop(host, result)?;
        drain(host)?;
    }
}

/// Everything that happens at row `i` (docs/semantics.md section 2, steps 1-5).
pub fn step<H: Host>(host: &mut H, i: usize) -> Result<(), H::Error> {
    row(host, i, false).map(|_| ())
}

/// [`step`]; with `record`, also step 6 (record equity and cash) when it can share the
/// core visit that ends the last bar delivery (no close phase follows); returns whether it
/// recorded the row, and how many orders were live when the row began.
///
/// The usual row (the same trading day, no live order) takes steps 1 to 3 in one visit of
/// the core, and its last bar delivery ends with the record: nothing is delivered between
/// them then, so nothing can tell the difference, and a host whose core sits behind a lock
/// (the Python one) takes two locks per row instead of six.
fn row<H: Host>(host: &mut H, i: usize, record: bool) -> Result<(bool, usize), H::Error> {
    let (entered, close_mode, live, mut queued) = host.with_core(|core, bars| {
        // External execution has no close phase (nothing is matched there).
        let close_mode = core.broker.cfg.fill_at == FillAt::Close && !core.broker.external;
        let entered = core.enter_row(bars, i);
        (entered, close_mode, core.broker.live.len(), !core.broker.events.is_empty())
    });
    let mut next_bar = match entered {
        Entered::Closed(first) => first,
        Entered::NewDay(_) | Entered::Opened => {
            // 1. A new trading day: yesterday's DAY orders expire, the corporate actions of the
            // day apply.
            if let Entered::NewDay(day) = entered {
                // The queue is empty between rows, so publishing `Day` and draining would
                // expire at once; doing it directly saves moving an event per day.
                host.with_core(|core, bars| core.expire_day(bars, i, day));
                drain(host)?;
                queued = host.with_core(|core, bars| {
                    core.broker.expire_gtd();
                    core.open_row(bars, i);
                    !core.broker.events.is_empty()
                });
            }
            // What the GTD expiry published is delivered before the open phase.
            if queued {
                drain(host)?;
            }
            // 2. Open phase: live orders from earlier rows meet this bar, oldest first.
            // With external execution the engine matches nothing: the broker's reports since
            // the last row are booked here instead, in the order they came.
            book_reports(host)?;
            match_phase(host, i, false)?;
            // 3. The bar closes: positions are valued at the new closes.
            host.with_core(|core, bars| {
                core.close_row(bars, i);
                core.next_present(0)
            })
        }
    };
    // 4. The strategy sees the complete bar, symbol by symbol.
    let record_after_bars = record && !close_mode;
    let recorded = record_after_bars && next_bar.is_some();
    while let Some(n) = next_bar {
        host.deliver(&Event::Bar(n))?;
        let next = drain_then(host, |core| {
            let next = core.next_present(n + 1);
            if next.is_none() && record_after_bars {
                core.record_row()?; // step 6: nothing is left to happen in this row
            }
            Ok::<_, Box<Overflow>>(next)
        })?;
        next_bar = stop(host, next)?;
    }
    // 5. Close phase (fill_at="close"): market orders up to now trade at this close. With no
    // live order it would match nothing, and nothing could see that it began.
    if close_mode {
        let any = host.with_core(|core, _| {
            core.broker.in_close_phase = !core.broker.live.is_empty();
            core.broker.in_close_phase
        });
        if any {
            let result = match_phase(host, i, true);
            host.with_core(|core, _| core.broker.in_close_phase = false);
            result?;
        }
    }
    Ok((recorded, live))
}

/// Bars and live orders visited between two calls of [`Host::check_interrupt`], at most: a
/// row visits each of its bars and each live order, so a row under thousands of live orders
/// is as long as thousands of rows without.
pub const POLL_WORK: usize = 1 << 16;

/// The whole run: [`start`], every row ([`rows`]), [`end`].
pub fn run<H: Host>(host: &mut H) -> Result<(), H::Error> {
    start(host)?;
    let n_bars = host.with_core(|_, bars| bars.n_bars());
    rows(host, 0..n_bars)?;
    end(host)
}

/// The run begins: `Start` is delivered (the strategy's `on_start`).
pub fn start<H: Host>(host: &mut H) -> Result<(), H::Error> {
    publish(host, Event::Start)
}

/// The rows `range` in order, each followed by step 6 (record equity and cash); the host's
/// [`Host::check_interrupt`] is called every 1024 rows and every [`POLL_WORK`] bars and live
/// orders. A host may run the rows in parts (consecutive ranges), between `start` and `end`.
pub fn rows<H: Host>(host: &mut H, range: std::ops::Range<usize>) -> Result<(), H::Error> {
    let (n_symbols, margined) =
        host.with_core(|core, bars| (bars.n_symbols, core.broker.portfolio.margined));
    // Quiet rows come in runs that end where a poll is due: at row 1023 of each 1024, and
    // within POLL_WORK bars.
    let quiet_run = (POLL_WORK / n_symbols.max(1)).clamp(1, 1024);
    let mut work = 0usize;
    let mut i = range.start;
    while i < range.end {
        let end = ((i / 1024 + 1) * 1024).min(i + quiet_run).min(range.end);
        let next = host.quiet_rows(i..end)?;
        // `i..=last` are done; `live` orders were visited.
        let (last, live) = if next > i {
            (next - 1, 0)
        } else {
            let (recorded, live) = row(host, i, true)?;
            if !recorded {
                let recorded = host.with_core(|core, _| core.record_row());
                stop(host, recorded)?;
            }
            (i, live)
        };
        if margined {
            drain(host)?; // the margin call's order changes, made at the record step
        }
        work = work.saturating_add((last + 1 - i) * n_symbols).saturating_add(live);
        if last % 1024 == 1023 || work >= POLL_WORK {
            work = 0;
            host.check_interrupt()?;
        }
        i = last + 1;
    }
    Ok(())
}

/// The run ends: `End` is delivered (the strategy's `on_end`).
pub fn end<H: Host>(host: &mut H) -> Result<(), H::Error> {
    publish(host, Event::End)
}

/// Bar events between two polls of a [`CancelFlag`], besides the loop's poll every 1024 rows
/// (a row of many symbols is many bar events): about a millisecond of work at most.
const BARS_PER_POLL: u32 = 4096;

/// A cancel flag nobody sets: the runs that cannot be cancelled.
static NEVER: AtomicBool = AtomicBool::new(false);

/// A run's cancel flag (set by another thread, on Ctrl-C), as a host without Python polls
/// it: at each [`Host::check_interrupt`] and every few thousand bar events.
#[derive(Debug)]
pub struct CancelFlag<'a> {
    flag: &'a AtomicBool,
    /// Bar events until the next poll.
    until_poll: u32,
}

impl<'a> CancelFlag<'a> {
    /// A flag nobody sets.
    pub fn never() -> Self {
        CancelFlag::new(&NEVER)
    }

    /// Polls of `flag`.
    pub fn new(flag: &'a AtomicBool) -> Self {
        CancelFlag { flag, until_poll: BARS_PER_POLL }
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// One bar event: whether the flag is set, read every [`BARS_PER_POLL`] events.
    #[inline]
    pub fn bar(&mut self) -> bool {
        self.until_poll -= 1;
        if self.until_poll > 0 {
            return false;
        }
        self.until_poll = BARS_PER_POLL;
        self.is_set()
    }
}
