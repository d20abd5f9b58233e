//! Compiled strategies run natively (docs/semantics.md section 26, `quanta_ref.compiled`).
//!
//! A compiled strategy is one C function, the *entry* (`int64 entry(Frame *frame)`, built by
//! numba from the strategy's callbacks). [`CompiledHost`] is an engine [`Host`] that calls it
//! for each event whose callback the strategy has: it fills the [`Frame`] (which callback,
//! the bar, the account as it is at that moment), calls the entry, then applies the
//! [`Request`]s the entry wrote, each exactly as the `ctx` method of the same name would be
//! called (the same argument checks, the same broker call). Nothing here touches Python: a
//! run holds no lock and many runs go on in parallel.
//!
//! The records are C structs of 8-byte fields, the same as the numpy dtypes of
//! `quanta_ref.compiled` (a test of the Python side compares [`layout`] with them). Addresses
//! are `usize` fields: the records stay plain data. Enum codes are positions in the
//! `named_enum!` tables (`Side::ALL`, ...), [`NO_CODE`] for none.
//!
//! Read [`CompiledHost::call`] first: one call of the entry.
//!
//! The account the entry reads (cash, equity, positions, live orders) is refreshed lazily:
//! only after something could have changed it (a fill or order event, a request applied, the
//! first bar of a row, start and end), so a bar loop that trades rarely copies nothing.

use std::sync::atomic::AtomicBool;

use crate::bars::BarsView;
use crate::config::Config;
use crate::engine::{self, CancelFlag, Core, Host};
use crate::events::Event;
use crate::execution::{trailing_level, ModelError, Overflow, Target, Terms};
use crate::orders::{Fill, Order, OrderStatus, OrderType, Reason, Side, TimeInForce};

/// A field of a C record: (name, offset, size) in bytes.
pub type Field = (&'static str, usize, usize);

/// A `#[repr(C)]` record of plain 8-byte fields, with its layout ([`Field`]s in order).
macro_rules! c_record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)+
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: $ty,)+
        }

        impl $name {
            /// Each field's (name, offset, size), in declaration order: the C layout.
            pub fn fields() -> Vec<Field> {
                vec![$((
                    stringify!($field),
                    std::mem::offset_of!($name, $field),
                    std::mem::size_of::<$ty>(),
                )),+]
            }
        }
    };
}

c_record! {
/// What the entry is called with: one per run, at the same address for the whole run.
pub struct Frame {
    /// Which callback: [`ON_START`], [`ON_BAR`], [`ON_FILL`], [`ON_ORDER`] or [`ON_END`].
    pub callback: i64,
    /// The broker's current row (`ctx.bar_index`; -1 in `on_start`).
    pub index: i64,
    /// The broker's current timestamp, int64 ns (`ctx.now`).
    pub now: i64,
    /// T.
    pub n_bars: i64,
    /// N.
    pub n_symbols: i64,
    /// `on_bar`: the bar's column; `on_fill` / `on_order`: the order's; else -1.
    pub column: i64,
    /// `portfolio.cash` at the call.
    pub cash: f64,
    /// `portfolio.equity()` at the call.
    pub equity: f64,
    /// Address of the T int64 timestamps.
    pub timestamps: usize,
    /// Address of the (T, N) C-order float64 opens (the bars' own array).
    pub open: usize,
    /// Highs.
    pub high: usize,
    /// Lows.
    pub low: usize,
    /// Closes.
    pub close: usize,
    /// Volumes.
    pub volume: usize,
    /// Address of N f64: each symbol's position quantity at the call.
    pub position: usize,
    /// Address of N f64: each symbol's position average cost at the call.
    pub average_cost: usize,
    /// Address of the job's parameter record (opaque bytes; 0 if none).
    pub params: usize,
    /// Address of the job's state: N x `state_size` f64, zeros when the run starts.
    pub state: usize,
    /// K, the state's values per symbol.
    pub state_size: i64,
    /// Address of [`OrderRecord`]`[n_orders]`: the live orders at the call, oldest first.
    pub orders: usize,
    /// How many live orders.
    pub n_orders: i64,
    /// The id the first order-creating request of this call will take.
    pub next_order_id: i64,
    /// Address of [`Request`]`[capacity]`.
    pub requests: usize,
    /// How many requests one call may make.
    pub capacity: i64,
    /// 0 before each call; the entry counts the requests it wrote.
    pub n_requests: i64,
    /// 0 before each call; a `ctx` method of the entry sets a fault code before it fails.
    pub fault: i64,
    /// The fault's detail (the bad column, length, field or index).
    pub fault_value: i64,
    /// `on_fill`: address of a [`FillRecord`]; `on_order`: of an [`OrderRecord`]; else 0.
    pub event: usize,
}
}

c_record! {
/// An order as the entry reads it: a live order, or the order of an `on_order` call.
pub struct OrderRecord {
    /// 1, 2, ... in submission order.
    pub order_id: i64,
    /// Its symbol's data column.
    pub symbol: i64,
    /// Code in `Side::ALL`, or [`NO_CODE`] (a target order not sized yet).
    pub side: i64,
    /// Code in `OrderType::ALL`.
    pub order_type: i64,
    /// Code in `TimeInForce::ALL`.
    pub time_in_force: i64,
    /// Code in `OrderStatus::ALL`.
    pub status: i64,
    /// Code in `Reason::ALL`, or [`NO_CODE`].
    pub reason: i64,
    /// Ordered quantity.
    pub quantity: f64,
    /// Quantity filled so far.
    pub filled_quantity: f64,
    /// Limit price (NaN: none).
    pub limit_price: f64,
    /// Stop price (NaN: none).
    pub stop_price: f64,
    /// Volume-weighted price of its fills.
    pub average_fill_price: f64,
    /// A target quantity order's target (NaN: none).
    pub target_quantity: f64,
    /// A target percent order's weight (NaN: none).
    pub target_percent: f64,
    /// A GTD order's last instant, ns ([`NO_TIME`]: none).
    pub expire_at: i64,
}
}

c_record! {
/// The fill of an `on_fill` call.
pub struct FillRecord {
    /// The order that traded.
    pub order_id: i64,
    /// Its symbol's data column.
    pub symbol: i64,
    /// Code in `Side::ALL`.
    pub side: i64,
    /// Quantity traded.
    pub quantity: f64,
    /// Price traded.
    pub price: f64,
    /// Commission paid.
    pub commission: f64,
    /// Tax paid.
    pub tax: f64,
}
}

c_record! {
/// One request written by the entry: an order ([`SUBMIT`]), a target order
/// ([`TARGET_QUANTITY`], [`TARGET_PERCENT`]) or a cancel ([`CANCEL`]).
pub struct Request {
    /// What it asks for.
    pub kind: i64,
    /// The symbol's column.
    pub column: i64,
    /// Code in `Side::ALL` (submit).
    pub side: i64,
    /// Code in `OrderType::ALL` (submit).
    pub order_type: i64,
    /// Code in `TimeInForce::ALL`.
    pub time_in_force: i64,
    /// The order to cancel (cancel).
    pub order_id: i64,
    /// A GTD order's last instant, ns (when [`GIVEN_EXPIRE`]).
    pub expire_at: i64,
    /// Which optional fields are given (`GIVEN_*` bits).
    pub given: i64,
    /// Submit: the quantity; target quantity: the target; target percent: the weight.
    pub quantity: f64,
    /// Limit price (when [`GIVEN_LIMIT`]).
    pub limit_price: f64,
    /// Stop price (when [`GIVEN_STOP`]).
    pub stop_price: f64,
    /// A trailing stop's distance in price (when [`GIVEN_AMOUNT`]).
    pub trail_amount: f64,
    /// A trailing stop's distance as a fraction (when [`GIVEN_PERCENT`]).
    pub trail_percent: f64,
}
}

/// Every record's layout, by its name in `quanta_ref.compiled` (`Frame`, `OrderRecord`,
/// `FillRecord`, `Request`).
pub fn layout() -> [(&'static str, Vec<Field>); 4] {
    [
        ("Frame", Frame::fields()),
        ("OrderRecord", OrderRecord::fields()),
        ("FillRecord", FillRecord::fields()),
        ("Request", Request::fields()),
    ]
}

/// The code tables by field: a code is a position in its table (the `named_enum!` `ALL`).
pub fn codes() -> [(&'static str, Vec<&'static str>); 5] {
    [
        ("side", Side::ALL.iter().map(|v| v.name()).collect()),
        ("order_type", OrderType::ALL.iter().map(|v| v.name()).collect()),
        ("time_in_force", TimeInForce::ALL.iter().map(|v| v.name()).collect()),
        ("status", OrderStatus::ALL.iter().map(|v| v.name()).collect()),
        ("reason", Reason::ALL.iter().map(|v| v.name()).collect()),
    ]
}

/// No side (a target order not sized yet), no reason.
pub const NO_CODE: i64 = -1;
/// No time (an order without `expire_at`): numpy's not-a-time.
pub const NO_TIME: i64 = i64::MIN;

/// `Frame.callback` of `on_start`; its bit in a callback mask is `1 << ON_START`.
pub const ON_START: i64 = 0;
/// `on_bar`.
pub const ON_BAR: i64 = 1;
/// `on_fill`.
pub const ON_FILL: i64 = 2;
/// `on_order`.
pub const ON_ORDER: i64 = 3;
/// `on_end`.
pub const ON_END: i64 = 4;

/// `Request.kind`: `ctx.submit_order`.
pub const SUBMIT: i64 = 1;
/// `ctx.order_target_quantity`.
pub const TARGET_QUANTITY: i64 = 2;
/// `ctx.order_target_percent`.
pub const TARGET_PERCENT: i64 = 3;
/// `ctx.cancel`.
pub const CANCEL: i64 = 4;

/// `Request.given`: a limit price.
pub const GIVEN_LIMIT: i64 = 1;
/// A stop price.
pub const GIVEN_STOP: i64 = 2;
/// An `expire_at`.
pub const GIVEN_EXPIRE: i64 = 4;
/// A trailing amount.
pub const GIVEN_AMOUNT: i64 = 8;
/// A trailing percent.
pub const GIVEN_PERCENT: i64 = 16;

/// The first nanosecond an integer `expire_at` may name: the reference reads integers in
/// [0, 1971-01-01) as a mistake (dates or epoch seconds read as nanoseconds) and refuses them
/// (`quanta_ref.bars._FIRST_INTEGER_NS`).
const FIRST_INTEGER_NS: i64 = 365 * 86_400 * 1_000_000_000;

/// The entry of a compiled strategy: `int64 entry(Frame *frame)`; 0 is success.
///
/// The function behind it must read and write only what the frame describes (the frame, the
/// live orders, the event record, the requests and the state; the panels, the positions and
/// the parameters read-only), and only during the call: quanta-py makes an `Entry` from the
/// address of a numba `cfunc` of that signature.
pub type Entry = extern "C" fn(*mut Frame) -> i64;

/// One compiled job: the entry and what the run gives it.
#[derive(Clone, Copy, Debug)]
pub struct CompiledJob {
    /// The strategy's entry.
    pub entry: Entry,
    /// Bit mask of the callbacks it has: bit `1 << ON_START`, ..., `1 << ON_END`.
    pub callbacks: i64,
    /// Address of its parameter record (0: none); alive for the whole run.
    pub params: usize,
    /// State values per symbol (K).
    pub state_size: usize,
    /// Requests one call may make.
    pub max_requests: usize,
}

/// Why a compiled run ended before its last row.
#[derive(Debug)]
pub enum Halt {
    /// The entry returned a nonzero status, or a request count outside `0..=capacity` (with
    /// status 0). The frame's fields as the entry left them.
    Callback {
        /// The frame's callback code.
        callback: i64,
        /// The status returned.
        status: i64,
        /// The frame's fault code.
        fault: i64,
        /// The fault's detail.
        fault_value: i64,
        /// The frame's request count.
        n_requests: i64,
        /// The frame's column (-1: none).
        column: i64,
        /// The broker's row.
        index: i64,
        /// The broker's timestamp.
        now: i64,
    },
    /// A request the `ctx` method would refuse; the requests before it were applied.
    Request {
        /// The request as written (boxed: a `Result` of this type is returned per bar).
        request: Box<Request>,
        /// The broker's row.
        index: i64,
        /// The broker's timestamp.
        now: i64,
        /// The last close of its symbol (NaN: none yet, or no such symbol).
        last_price: f64,
    },
    /// The run's cancel flag was set (Ctrl-C): the run's state is incomplete and is dropped.
    Cancelled,
    /// An accounting value outside the float range.
    Overflow(Box<Overflow>),
    /// An external cost model failed (its payload).
    Model(ModelError),
}

/// How much of a host's account view may differ from the core (in increasing order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stale {
    /// Nothing: it is the account.
    Fresh,
    /// A new row began (the closes marked), nothing else happened.
    Marks,
    /// Anything: an event, a request, the start or the end.
    All,
}

/// What a checked request does (the broker call of its `ctx` method).
enum Action {
    Submit {
        column: usize,
        side: Side,
        quantity: f64,
        kind: OrderType,
        limit: Option<f64>,
        stop: Option<f64>,
        tif: TimeInForce,
        terms: Terms,
    },
    Target {
        column: usize,
        target: Target,
        tif: TimeInForce,
        expire_at: Option<i64>,
    },
    Cancel(usize),
}

/// The variant at position `code` of `table`, if any.
#[inline]
fn decode<T: Copy>(table: &[T], code: i64) -> Option<T> {
    usize::try_from(code).ok().and_then(|k| table.get(k).copied())
}

/// `x` if it is a finite number > 0 (`check_number(..., positive=True)`).
#[inline]
fn positive(x: f64) -> Option<f64> {
    (x.is_finite() && x > 0.0).then_some(x)
}

/// An order's record.
fn order_record(order: &Order) -> OrderRecord {
    OrderRecord {
        order_id: order.order_id as i64,
        symbol: order.column as i64,
        side: order.side.map_or(NO_CODE, |side| side as i64),
        order_type: order.order_type as i64,
        time_in_force: order.time_in_force as i64,
        status: order.status as i64,
        reason: order.reject_reason.map_or(NO_CODE, |reason| reason as i64),
        quantity: order.quantity,
        filled_quantity: order.filled_quantity,
        limit_price: order.limit_price.unwrap_or(f64::NAN),
        stop_price: order.stop_price.unwrap_or(f64::NAN),
        average_fill_price: order.average_fill_price,
        target_quantity: order.target_quantity.unwrap_or(f64::NAN),
        target_percent: order.target_percent.unwrap_or(f64::NAN),
        expire_at: order.expire_at.unwrap_or(NO_TIME),
    }
}

/// A fill's record.
fn fill_record(fill: &Fill) -> FillRecord {
    FillRecord {
        order_id: fill.order_id as i64,
        symbol: fill.column as i64,
        side: fill.side as i64,
        quantity: fill.quantity,
        price: fill.price,
        commission: fill.commission,
        tax: fill.tax,
    }
}

/// A compiled strategy, as an engine [`Host`]: owns the run's [`Core`], the frame the entry
/// reads and the buffers the frame points to (sized once: nothing is allocated per bar).
#[derive(Debug)]
pub struct CompiledHost<'a> {
    core: Core,
    bars: BarsView<'a>,
    entry: Entry,
    callbacks: i64,
    /// Boxed: its address is the same for the whole run.
    frame: Box<Frame>,
    /// N x K user state.
    state: Vec<f64>,
    /// The request buffer (its length is the capacity).
    requests: Vec<Request>,
    /// The account view: positions, average costs, live orders.
    position: Vec<f64>,
    average_cost: Vec<f64>,
    orders: Vec<OrderRecord>,
    /// The event record of an `on_fill` / `on_order` call.
    fill: FillRecord,
    order: OrderRecord,
    /// How much of the account view may differ from the core.
    stale: Stale,
    /// The row of the last bar event seen (the first of a row marks the prices).
    bar_row: i64,
    /// The first corporate action of the bars after the last row whose marks were refreshed.
    next_action: usize,
    /// Set by another thread to stop the run.
    cancel: CancelFlag<'a>,
}

impl<'a> CompiledHost<'a> {
    /// A run of `job` over `bars` under `cfg`, before its first bar (`bars` holds a row or more).
    pub fn new(cfg: Config, bars: BarsView<'a>, job: CompiledJob) -> Self {
        let core = Core::new(cfg, &bars);
        Self::with_core(core, bars, job)
    }

    /// A run of `job` whose state is `core` (new, made for `bars`: its broker may carry
    /// external cost models).
    ///
    /// # Panics
    ///
    /// If symbols x `state_size` overflows (`quanta_ref.compiled` refuses such a job first).
    pub fn with_core(core: Core, bars: BarsView<'a>, job: CompiledJob) -> Self {
        let n = bars.n_symbols;
        // The frame tells the entry the state's shape: the buffer must hold all of it.
        let state_values = n.checked_mul(job.state_size).expect("state_size x symbols overflows");
        let frame = Frame {
            index: core.broker.index,
            now: core.broker.now,
            n_bars: bars.n_bars() as i64,
            n_symbols: n as i64,
            column: -1,
            timestamps: bars.timestamps.as_ptr() as usize,
            open: bars.open.as_ptr() as usize,
            high: bars.high.as_ptr() as usize,
            low: bars.low.as_ptr() as usize,
            close: bars.close.as_ptr() as usize,
            volume: bars.volume.as_ptr() as usize,
            params: job.params,
            state_size: job.state_size as i64,
            capacity: job.max_requests as i64,
            ..Frame::default()
        };
        CompiledHost {
            core,
            bars,
            entry: job.entry,
            callbacks: job.callbacks,
            frame: Box::new(frame),
            state: vec![0.0; state_values],
            requests: vec![Request::default(); job.max_requests],
            position: vec![0.0; n],
            average_cost: vec![0.0; n],
            orders: Vec::with_capacity(16),
            fill: FillRecord::default(),
            order: OrderRecord::default(),
            stale: Stale::All,
            bar_row: i64::MIN,
            next_action: 0,
            cancel: CancelFlag::never(),
        }
    }

    /// This run, stopped with [`Halt::Cancelled`] soon after `cancel` is set.
    pub fn with_cancel(self, cancel: &'a AtomicBool) -> Self {
        CompiledHost { cancel: CancelFlag::new(cancel), ..self }
    }

    /// The run's state.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// The run's state, taking it out of the host.
    pub fn into_core(self) -> Core {
        self.core
    }

    /// The user state (N x K values, row-major).
    pub fn state(&self) -> &[f64] {
        &self.state
    }

    /// Run the whole job (`engine::run`).
    pub fn run(&mut self) -> Result<(), Halt> {
        engine::run(self)
    }

    /// `Err(Halt::Cancelled)` once the cancel flag is set.
    fn poll(&self) -> Result<(), Halt> {
        if self.cancel.is_set() {
            return Err(Halt::Cancelled);
        }
        Ok(())
    }

    /// Whether the strategy has the callback `callback`.
    #[inline]
    fn listens(&self, callback: i64) -> bool {
        self.callbacks & (1 << callback) != 0
    }

    /// Bring the account view up to date, as far as it may be stale.
    #[inline]
    fn refresh(&mut self) {
        match self.stale {
            Stale::Fresh => {}
            Stale::Marks => self.refresh_marks(),
            Stale::All => self.refresh_all(),
        }
    }

    /// A new row began with no event since the last refresh: the closes moved the equity; a
    /// corporate action of this row, or of a row since the last look where no bar reached the
    /// strategy, may have changed cash and positions, and trailing stops
    /// follow the closes (the live orders' records). Else cash, positions and live orders
    /// are as they were.
    fn refresh_marks(&mut self) {
        let index = self.core.broker.index;
        let actions = self.bars.actions;
        // Any action of a row since the last look, this one or one the strategy saw no bar
        // of (its symbol, or every symbol, had none there): it may have changed positions.
        let mut action = false;
        while actions.get(self.next_action).is_some_and(|a| (a.row as i64) <= index) {
            self.next_action += 1;
            action = true;
        }
        if action || !self.core.broker.live.is_empty() {
            return self.refresh_all();
        }
        let portfolio = &self.core.broker.portfolio;
        self.frame.cash = portfolio.cash;
        self.frame.equity = portfolio.equity();
        self.stale = Stale::Fresh;
    }

    /// Copy the account into the view: cash, equity, positions, live orders.
    fn refresh_all(&mut self) {
        let broker = &self.core.broker;
        let portfolio = &broker.portfolio;
        let view = self.position.iter_mut().zip(&mut self.average_cost);
        for ((quantity, cost), position) in view.zip(&portfolio.positions) {
            *quantity = position.quantity;
            *cost = position.average_cost;
        }
        self.orders.clear();
        self.orders.extend(broker.live.iter().map(|&id| order_record(&broker.orders[id])));
        let frame = &mut *self.frame;
        frame.cash = portfolio.cash;
        frame.equity = portfolio.equity();
        frame.n_orders = self.orders.len() as i64;
        self.stale = Stale::Fresh;
    }

    /// One call of the entry for `callback`: fill the frame (refreshing the account view if
    /// it may be stale), call, then apply the requests in order (section 2 of the contract).
    #[inline]
    fn call(&mut self, callback: i64, column: i64, event: usize) -> Result<(), Halt> {
        self.refresh();
        #[cfg(test)]
        tests::check_view(self);
        let broker = &self.core.broker;
        let frame = &mut *self.frame;
        frame.callback = callback;
        frame.index = broker.index;
        frame.now = broker.now;
        frame.column = column;
        frame.event = event;
        frame.next_order_id = broker.orders.len() as i64 + 1;
        frame.n_requests = 0;
        frame.fault = 0;
        frame.fault_value = 0;
        // The buffers' addresses, taken afresh for each call: the entry writes through them.
        frame.position = self.position.as_mut_ptr() as usize;
        frame.average_cost = self.average_cost.as_mut_ptr() as usize;
        frame.orders = self.orders.as_mut_ptr() as usize;
        frame.state = self.state.as_mut_ptr() as usize;
        frame.requests = self.requests.as_mut_ptr() as usize;
        let status = (self.entry)(frame);
        let frame = &*self.frame;
        let n_requests = frame.n_requests;
        let counted = usize::try_from(n_requests).ok().filter(|&n| n <= self.requests.len());
        if status != 0 || counted.is_none() {
            return Err(Halt::Callback {
                callback,
                status,
                fault: frame.fault,
                fault_value: frame.fault_value,
                n_requests,
                column,
                index: frame.index,
                now: frame.now,
            });
        }
        match counted {
            Some(0) | None => Ok(()),
            Some(n) => {
                self.stale = Stale::All;
                self.apply(n)
            }
        }
    }

    /// Apply requests `0..n` in order; the first refused one stops the run.
    fn apply(&mut self, n: usize) -> Result<(), Halt> {
        for k in 0..n {
            let request = self.requests[k];
            let Some(action) = self.check(&request) else {
                let broker = &self.core.broker;
                let last_price = usize::try_from(request.column)
                    .ok()
                    .and_then(|n| broker.portfolio.positions.get(n))
                    .map_or(f64::NAN, |position| position.last_price);
                let (index, now) = (broker.index, broker.now);
                return Err(Halt::Request { request: Box::new(request), index, now, last_price });
            };
            let broker = &mut self.core.broker;
            match action {
                Action::Submit { column, side, quantity, kind, limit, stop, tif, terms } => {
                    broker.submit_order_with(column, side, quantity, kind, limit, stop, tif, terms);
                }
                Action::Target { column, target, tif, expire_at } => {
                    broker.submit_target_with(column, target, tif, expire_at);
                }
                Action::Cancel(order_id) => {
                    broker.cancel(order_id); // not live: nothing (ctx.cancel returns False)
                }
            }
        }
        Ok(())
    }

    /// What `request` does, or None when its `ctx` method would refuse its arguments
    /// (`quanta_ref.compiled.check_request`: the checks of `submit_order`,
    /// `order_target_quantity`, `order_target_percent` and `cancel`, in their order).
    fn check(&self, request: &Request) -> Option<Action> {
        let broker = &self.core.broker;
        if request.kind == CANCEL {
            let order_id = usize::try_from(request.order_id).ok()?;
            return (1..=broker.orders.len())
                .contains(&order_id)
                .then_some(Action::Cancel(order_id));
        }
        if !(SUBMIT..=TARGET_PERCENT).contains(&request.kind) {
            return None;
        }
        let column = usize::try_from(request.column).ok().filter(|&n| n < self.bars.n_symbols)?;
        let given = |bit: i64| request.given & bit != 0;
        let expire_at = given(GIVEN_EXPIRE).then_some(request.expire_at);
        if request.kind != SUBMIT {
            let tif = decode(TimeInForce::ALL, request.time_in_force)?;
            let value = request.quantity;
            if !value.is_finite() {
                return None;
            }
            let expire_at = self.expire_at(tif, expire_at)?;
            let target = if request.kind == TARGET_QUANTITY {
                Target::Quantity(value)
            } else {
                Target::Percent(value)
            };
            return Some(Action::Target { column, target, tif, expire_at });
        }
        let side = decode(Side::ALL, request.side)?;
        let kind = decode(OrderType::ALL, request.order_type)?;
        let tif = decode(TimeInForce::ALL, request.time_in_force)?;
        let quantity = positive(request.quantity)?;
        let limit = given(GIVEN_LIMIT).then_some(request.limit_price);
        let stop = given(GIVEN_STOP).then_some(request.stop_price);
        if kind.uses_limit_price() != limit.is_some() || kind.uses_stop_price() != stop.is_some() {
            return None;
        }
        let limit = match limit {
            Some(price) => Some(positive(price)?),
            None => None,
        };
        let mut stop = match stop {
            Some(price) => Some(positive(price)?),
            None => None,
        };
        let expire_at = self.expire_at(tif, expire_at)?;
        let amount = given(GIVEN_AMOUNT).then_some(request.trail_amount);
        let percent = given(GIVEN_PERCENT).then_some(request.trail_percent);
        let trailing = kind == OrderType::TrailingStop;
        let (trail_amount, trail_percent) = match (trailing, amount, percent) {
            (false, None, None) => (None, None),
            (true, Some(amount), None) => (Some(positive(amount)?), None),
            (true, None, Some(percent)) => (None, Some(positive(percent).filter(|p| *p < 1.0)?)),
            _ => return None,
        };
        if trailing {
            // The initial level, from the last close; without one acceptance refuses the
            // order (`no_price`: it has no stop price then).
            let last = broker.portfolio.positions[column].last_price;
            if !last.is_nan() {
                let level = trailing_level(side, last, trail_amount, trail_percent);
                if !(level.is_finite() && level > 0.0) {
                    return None;
                }
                stop = Some(level);
            }
        }
        let terms = Terms { expire_at, trail_amount, trail_percent, parent_id: None };
        Some(Action::Submit { column, side, quantity, kind, limit, stop, tif, terms })
    }

    /// A GTD order's `expire_at` (`check_expire_at` of an int64): required for GTD and
    /// refused for the other times in force; not-a-time, an integer in 1970 and a time before
    /// the current bar are refused. None: refused.
    fn expire_at(&self, tif: TimeInForce, expire_at: Option<i64>) -> Option<Option<i64>> {
        match (tif == TimeInForce::Gtd, expire_at) {
            (false, None) => Some(None),
            (true, Some(ns)) => {
                let readable = ns != NO_TIME && !(0..FIRST_INTEGER_NS).contains(&ns);
                (readable && ns >= self.core.broker.now).then_some(Some(ns))
            }
            _ => None,
        }
    }
}

impl Host for CompiledHost<'_> {
    type Error = Halt;

    #[inline]
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        f(&mut self.core, &self.bars)
    }

    /// The callback of `event`, if the strategy has it. Fills and order changes may change
    /// the account, delivered or not; so may the first bar of a row (the closes marked).
    #[inline]
    fn deliver(&mut self, event: &Event) -> Result<(), Halt> {
        match event {
            Event::Bar(column) => {
                if self.cancel.bar() {
                    return Err(Halt::Cancelled);
                }
                let index = self.core.broker.index;
                if index != self.bar_row {
                    self.bar_row = index;
                    self.stale = self.stale.max(Stale::Marks);
                }
                if self.listens(ON_BAR) {
                    self.call(ON_BAR, *column as i64, 0)?;
                }
                Ok(())
            }
            Event::Fill(fill) => {
                self.stale = Stale::All;
                if !self.listens(ON_FILL) {
                    return Ok(());
                }
                self.fill = fill_record(fill);
                let event = &mut self.fill as *mut FillRecord as usize;
                self.call(ON_FILL, fill.column as i64, event)
            }
            Event::Order(order) => {
                self.stale = Stale::All;
                if !self.listens(ON_ORDER) {
                    return Ok(());
                }
                self.order = order_record(order);
                let event = &mut self.order as *mut OrderRecord as usize;
                self.call(ON_ORDER, order.column as i64, event)
            }
            Event::Start | Event::End => {
                self.stale = Stale::All;
                let callback = if *event == Event::Start { ON_START } else { ON_END };
                if self.listens(callback) {
                    self.call(callback, -1, 0)?;
                }
                Ok(())
            }
        }
    }

    fn overflow(&mut self, error: Box<Overflow>) -> Halt {
        Halt::Overflow(error)
    }

    fn model_error(&mut self, error: ModelError) -> Halt {
        Halt::Model(error)
    }

    /// Every 1024 rows (`engine::run`).
    fn check_interrupt(&mut self) -> Result<(), Halt> {
        self.poll()
    }
}

/// Run `job` over `bars` under `cfg`: the finished run's state, or the error that ended it.
/// Never [`Halt::Cancelled`]: nobody sets its flag.
pub fn run_compiled(cfg: Config, bars: BarsView<'_>, job: CompiledJob) -> Result<Core, Halt> {
    run_compiled_until(cfg, bars, job, &AtomicBool::new(false))
}

/// [`run_compiled`], stopped with [`Halt::Cancelled`] soon after `cancel` is set (by another
/// thread): every 1024 rows and every few thousand bars the flag is read.
pub fn run_compiled_until(
    cfg: Config,
    bars: BarsView<'_>,
    job: CompiledJob,
    cancel: &AtomicBool,
) -> Result<Core, Halt> {
    let mut host = CompiledHost::new(cfg, bars, job).with_cancel(cancel);
    host.run()?;
    Ok(host.into_core())
}

#[cfg(test)]
#[allow(unsafe_code)] // the test strategies read the frame through its addresses, as C does
mod tests {
    use super::*;
    use crate::bars::{CorporateAction, Panel};
    use std::cell::RefCell;

    /// Asserts that the account view the entry is about to read is the core's account.
    pub(super) fn check_view(host: &CompiledHost<'_>) {
        let broker = &host.core.broker;
        let portfolio = &broker.portfolio;
        assert_eq!(host.frame.cash.to_bits(), portfolio.cash.to_bits(), "cash");
        assert_eq!(host.frame.equity.to_bits(), portfolio.equity().to_bits(), "equity");
        for (n, position) in portfolio.positions.iter().enumerate() {
            assert_eq!(host.position[n].to_bits(), position.quantity.to_bits(), "position");
            assert_eq!(host.average_cost[n].to_bits(), position.average_cost.to_bits(), "cost");
        }
        let live: Vec<_> = broker.live.iter().map(|&id| order_record(&broker.orders[id])).collect();
        assert_eq!(format!("{:?}", host.orders), format!("{live:?}"), "live orders");
        assert_eq!(host.frame.n_orders, live.len() as i64);
    }

    /// A test strategy: a closure over the frame, reached through the params address.
    type Script<'s> = Box<dyn FnMut(&mut Frame) -> i64 + 's>;

    extern "C" fn trampoline(frame: *mut Frame) -> i64 {
        // SAFETY: the host calls with its live frame, whose params is a `&mut Script` that
        // outlives the run (see `job`).
        let frame = unsafe { &mut *frame };
        let script = unsafe { &mut *(frame.params as *mut Script<'_>) };
        script(frame)
    }

    /// A job running `script` (kept alive by the caller) with every callback.
    fn job(script: &mut Script<'_>, callbacks: i64) -> CompiledJob {
        CompiledJob {
            entry: trampoline,
            callbacks,
            params: script as *mut Script<'_> as usize,
            state_size: 2,
            max_requests: 4,
        }
    }

    const ALL: i64 = 31;

    fn push(frame: &mut Frame, request: Request) {
        // SAFETY: the requests buffer holds `capacity` records; the tests stay below it.
        unsafe { *(frame.requests as *mut Request).add(frame.n_requests as usize) = request };
        frame.n_requests += 1;
    }

    fn live_orders(frame: &Frame) -> Vec<OrderRecord> {
        let n = frame.n_orders as usize;
        // SAFETY: `orders` points to `n_orders` records during the call.
        unsafe { std::slice::from_raw_parts(frame.orders as *const OrderRecord, n) }.to_vec()
    }

    fn position(frame: &Frame, n: usize) -> f64 {
        // SAFETY: `position` points to N values during the call.
        unsafe { *(frame.position as *const f64).add(n) }
    }

    fn buy(column: i64, quantity: f64) -> Request {
        Request { kind: SUBMIT, column, quantity, ..Request::default() }
    }

    /// Two symbols over `rows` daily rows, gently rising.
    fn panel(rows: usize) -> Panel {
        let day = 86_400_000_000_000;
        let mut panel = Panel::new((0..rows as i64).map(|t| t * day + 400 * day).collect(), 2);
        for t in 0..rows {
            let p = 10.0 + t as f64 * 0.25;
            panel.set(t, 0, (p, p + 1.0, p - 1.0, p + 0.5, 1e9));
            panel.set(t, 1, (2.0 * p, 2.0 * p + 1.0, 2.0 * p - 1.0, 2.0 * p, 1e9));
        }
        panel
    }

    /// Calls seen: (callback, index, column).
    type Calls = RefCell<Vec<(i64, i64, i64)>>;

    fn note(calls: &Calls, frame: &Frame) {
        calls.borrow_mut().push((frame.callback, frame.index, frame.column));
    }

    /// A plain host that submits a market buy of `quantity` of symbol 0 at the first bar.
    struct Plain<'a> {
        core: Core,
        bars: BarsView<'a>,
        quantity: f64,
    }

    impl Host for Plain<'_> {
        type Error = Halt;
        fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
            f(&mut self.core, &self.bars)
        }
        fn deliver(&mut self, event: &Event) -> Result<(), Halt> {
            if *event == Event::Bar(0) && self.core.broker.index == 0 {
                let (kind, tif) = (OrderType::Market, TimeInForce::Gtc);
                self.core.broker.submit_order(0, Side::Buy, self.quantity, kind, None, None, tif);
            }
            Ok(())
        }
        fn overflow(&mut self, error: Box<Overflow>) -> Halt {
            Halt::Overflow(error)
        }
    }

    #[test]
    fn codes_are_positions_in_the_named_tables() {
        assert!(Side::ALL.iter().enumerate().all(|(k, &v)| v as usize == k));
        assert!(OrderType::ALL.iter().enumerate().all(|(k, &v)| v as usize == k));
        assert!(TimeInForce::ALL.iter().enumerate().all(|(k, &v)| v as usize == k));
        assert!(OrderStatus::ALL.iter().enumerate().all(|(k, &v)| v as usize == k));
        assert!(Reason::ALL.iter().enumerate().all(|(k, &v)| v as usize == k));
        assert_eq!(codes()[0].1, ["buy", "sell"]);
    }

    #[test]
    fn records_are_plain_8_byte_fields() {
        let sizes = [("Frame", 28), ("OrderRecord", 15), ("FillRecord", 7), ("Request", 13)];
        for ((name, fields), (expected, count)) in layout().iter().zip(sizes) {
            assert_eq!(*name, expected);
            assert_eq!(fields.len(), count);
            for (k, &(_, offset, size)) in fields.iter().enumerate() {
                assert_eq!((offset, size), (8 * k, 8), "{name}");
            }
        }
        assert_eq!(std::mem::size_of::<Frame>(), 28 * 8);
        assert_eq!(std::mem::size_of::<OrderRecord>(), 120);
        assert_eq!(std::mem::size_of::<FillRecord>(), 56);
        assert_eq!(std::mem::size_of::<Request>(), 104);
    }

    #[test]
    fn a_buy_on_the_first_bar_fills_as_the_same_order_through_the_broker() {
        let panel = panel(20);
        let mut script: Script<'_> = Box::new(|frame| {
            if frame.callback == ON_BAR && frame.index == 0 && frame.column == 0 {
                push(frame, buy(0, 100.0));
            }
            0
        });
        let core = run_compiled(Config::default(), panel.view(), job(&mut script, ALL)).unwrap();
        let view = panel.view();
        let mut plain =
            Plain { core: Core::new(Config::default(), &view), bars: view, quantity: 100.0 };
        engine::run(&mut plain).unwrap();
        let ours = &core.broker.portfolio.transactions;
        assert_eq!(ours.len(), 1);
        assert_eq!(format!("{ours:?}"), format!("{:?}", plain.core.broker.portfolio.transactions));
        assert_eq!(core.equity, plain.core.equity);
        assert_eq!(core.cash, plain.core.cash);
    }

    #[test]
    fn requests_apply_in_order_with_the_predicted_ids() {
        let panel = panel(5);
        let seen = RefCell::new(Vec::new());
        let mut script: Script<'_> = Box::new(|frame| {
            if frame.callback == ON_BAR && frame.index == 0 && frame.column == 1 {
                assert_eq!(frame.next_order_id, 1);
                let limit = Request {
                    order_type: OrderType::Limit as i64,
                    given: GIVEN_LIMIT,
                    limit_price: 1.0,
                    ..buy(0, 10.0)
                };
                push(frame, limit); // order 1
                push(
                    frame,
                    Request {
                        kind: TARGET_PERCENT,
                        column: 1,
                        quantity: 0.5,
                        ..Request::default()
                    },
                ); // 2
                push(frame, Request { kind: CANCEL, order_id: 1, ..Request::default() });
            }
            if frame.callback == ON_BAR && frame.index == 1 && frame.column == 0 {
                assert_eq!(frame.next_order_id, 3);
                // Order 2 filled at this open: its records are gone from the live list.
                assert!(live_orders(frame).is_empty());
                assert!(position(frame, 1) > 0.0);
                // A cancel of an order that is no longer live does nothing.
                push(frame, Request { kind: CANCEL, order_id: 2, ..Request::default() });
            }
            if frame.callback == ON_ORDER {
                // SAFETY: the event of on_order is an OrderRecord.
                let order = unsafe { *(frame.event as *const OrderRecord) };
                seen.borrow_mut().push((order.order_id, order.status));
            }
            0
        });
        let core = run_compiled(Config::default(), panel.view(), job(&mut script, ALL)).unwrap();
        let orders = &core.broker.orders;
        assert_eq!(orders.len(), 2);
        assert_eq!(orders[0].status, OrderStatus::Cancelled);
        assert_eq!((orders[1].target_percent, orders[1].status), (Some(0.5), OrderStatus::Filled));
        let [pending, filled, cancelled] =
            [OrderStatus::Pending, OrderStatus::Filled, OrderStatus::Cancelled].map(|s| s as i64);
        assert_eq!(*seen.borrow(), [(1, pending), (2, pending), (1, cancelled), (2, filled)]);
    }

    #[test]
    fn a_refused_request_halts_after_applying_the_ones_before_it() {
        let panel = panel(5);
        let mut script: Script<'_> = Box::new(|frame| {
            if frame.callback == ON_BAR && frame.index == 2 {
                push(frame, buy(0, 10.0));
                push(frame, buy(0, -1.0));
                push(frame, buy(0, 10.0));
            }
            0
        });
        let mut host = CompiledHost::new(Config::default(), panel.view(), job(&mut script, ALL));
        match host.run() {
            Err(Halt::Request { request, index, now, last_price }) => {
                assert_eq!((request.quantity, index, now), (-1.0, 2, panel.timestamps[2]));
                assert_eq!(last_price, panel.close[2 * 2]);
            }
            other => panic!("expected a refused request, got {other:?}"),
        }
        assert_eq!(host.core().broker.orders.len(), 1);
    }

    #[test]
    fn requests_the_ctx_would_refuse_are_refused() {
        let refused = [
            Request { kind: 0, ..buy(0, 1.0) },
            Request { kind: CANCEL, order_id: 1, ..Request::default() }, // no order yet
            buy(2, 1.0),
            Request { side: 2, ..buy(0, 1.0) },
            Request { order_type: 5, ..buy(0, 1.0) },
            Request { time_in_force: -1, ..buy(0, 1.0) },
            buy(0, f64::NAN),
            Request { given: GIVEN_LIMIT, limit_price: 5.0, ..buy(0, 1.0) },
            Request { order_type: OrderType::Limit as i64, ..buy(0, 1.0) },
            Request { order_type: 1, given: GIVEN_LIMIT, limit_price: 0.0, ..buy(0, 1.0) },
            Request { time_in_force: TimeInForce::Gtd as i64, ..buy(0, 1.0) },
            Request { given: GIVEN_EXPIRE, expire_at: i64::MAX, ..buy(0, 1.0) },
            Request { time_in_force: 4, given: GIVEN_EXPIRE, expire_at: 5, ..buy(0, 1.0) },
            Request { time_in_force: 4, given: GIVEN_EXPIRE, expire_at: NO_TIME, ..buy(0, 1.0) },
            Request { time_in_force: 4, given: GIVEN_EXPIRE, expire_at: -5, ..buy(0, 1.0) },
            Request { given: GIVEN_AMOUNT, trail_amount: 1.0, ..buy(0, 1.0) },
            Request { order_type: 4, ..buy(0, 1.0) },
            Request {
                order_type: 4,
                given: 24,
                trail_amount: 1.0,
                trail_percent: 0.1,
                ..buy(0, 1.0)
            },
            Request { order_type: 4, given: GIVEN_PERCENT, trail_percent: 1.0, ..buy(0, 1.0) },
            // A sell trailing by more than the last close: the level is not a price.
            Request {
                order_type: 4,
                side: 1,
                given: GIVEN_AMOUNT,
                trail_amount: 99.0,
                ..buy(0, 1.0)
            },
            Request { kind: TARGET_QUANTITY, quantity: f64::INFINITY, ..Request::default() },
            Request { kind: TARGET_PERCENT, column: -1, ..Request::default() },
        ];
        let accepted = [
            Request { time_in_force: 4, given: GIVEN_EXPIRE, expire_at: i64::MAX, ..buy(0, 1.0) },
            Request { order_type: 4, given: GIVEN_PERCENT, trail_percent: 0.5, ..buy(0, 1.0) },
            Request { kind: TARGET_PERCENT, quantity: -0.5, side: 7, ..Request::default() },
        ];
        let panel = panel(2);
        let mut script: Script<'_> = Box::new(|_| 0);
        let mut host = CompiledHost::new(Config::default(), panel.view(), job(&mut script, ALL));
        host.core.broker.portfolio.positions[0].last_price = 10.0;
        host.core.broker.now = panel.timestamps[0];
        for request in refused {
            assert!(host.check(&request).is_none(), "{request:?}");
        }
        for request in accepted {
            assert!(host.check(&request).is_some(), "{request:?}");
        }
        let trailing = Request {
            order_type: 4,
            side: 1,
            given: GIVEN_AMOUNT,
            trail_amount: 2.0,
            ..buy(0, 1.0)
        };
        match host.check(&trailing) {
            Some(Action::Submit { stop, .. }) => assert_eq!(stop, Some(8.0)),
            _ => panic!("a trailing stop is accepted with its level"),
        }
    }

    #[test]
    fn a_nonzero_status_halts_naming_the_callback_and_bar() {
        let panel = panel(5);
        let mut script: Script<'_> = Box::new(|frame| {
            if frame.callback == ON_BAR && frame.index == 3 && frame.column == 1 {
                frame.fault = 1;
                frame.fault_value = 7;
                return 1;
            }
            0
        });
        match run_compiled(Config::default(), panel.view(), job(&mut script, ALL)) {
            Err(Halt::Callback {
                callback,
                status,
                fault,
                fault_value,
                column,
                index,
                now,
                ..
            }) => {
                assert_eq!((callback, status, fault, fault_value), (ON_BAR, 1, 1, 7));
                assert_eq!((column, index, now), (1, 3, panel.timestamps[3]));
            }
            other => panic!("expected a callback error, got {other:?}"),
        }
    }

    #[test]
    fn a_request_count_past_the_capacity_halts() {
        let panel = panel(3);
        let mut script: Script<'_> = Box::new(|frame| {
            if frame.callback == ON_START {
                assert_eq!(frame.index, -1);
                frame.n_requests = frame.capacity + 1;
            }
            0
        });
        match run_compiled(Config::default(), panel.view(), job(&mut script, ALL)) {
            Err(Halt::Callback { callback, status, fault, n_requests, column, .. }) => {
                assert_eq!((callback, status, fault, n_requests), (ON_START, 0, 0, 5));
                assert_eq!(column, -1);
            }
            other => panic!("expected a callback error, got {other:?}"),
        }
    }

    #[test]
    fn the_view_is_the_account_at_every_call() {
        // `check_view` asserts it at each call; this strategy makes the account move between
        // calls in every way: open-phase fills (on_fill, then on_bar of the same row), order
        // changes, requests, new closes.
        let panel = panel(12);
        let calls = Calls::default();
        let mut script: Script<'_> = Box::new(|frame| {
            note(&calls, frame);
            let state = frame.state as *mut f64;
            if frame.callback == ON_BAR {
                // SAFETY: the state holds N x 2 values.
                let count = unsafe { &mut *state.add(frame.column as usize * 2) };
                *count += 1.0;
                match (frame.index % 4, frame.column) {
                    (0, 0) => push(frame, buy(0, 100.0)),
                    (1, 1) => push(
                        frame,
                        Request {
                            kind: TARGET_PERCENT,
                            column: 1,
                            quantity: 0.3,
                            ..Request::default()
                        },
                    ),
                    (2, 0) => push(
                        frame,
                        Request { kind: TARGET_QUANTITY, quantity: 0.0, ..Request::default() },
                    ),
                    (3, 1) => {
                        let limit = Request {
                            order_type: 1,
                            given: GIVEN_LIMIT,
                            limit_price: 1.0,
                            ..buy(1, 5.0)
                        };
                        push(frame, limit);
                    }
                    _ => {}
                }
            }
            if frame.callback == ON_FILL {
                // SAFETY: the event of on_fill is a FillRecord.
                let fill = unsafe { *(frame.event as *const FillRecord) };
                assert_eq!(fill.symbol, frame.column);
            }
            0
        });
        let mut host = CompiledHost::new(Config::default(), panel.view(), job(&mut script, ALL));
        host.run().unwrap();
        assert_eq!(host.state(), [12.0, 0.0, 12.0, 0.0]);
        let calls = calls.borrow();
        // Row 1: the buy of row 0 fills at the open, then the row's bars.
        let row_1: Vec<_> = calls.iter().filter(|c| c.1 == 1).map(|c| (c.0, c.2)).collect();
        assert_eq!(row_1[..4], [(ON_FILL, 0), (ON_ORDER, 0), (ON_BAR, 0), (ON_BAR, 1)]);
        assert_eq!(calls.first(), Some(&(ON_START, -1, -1)));
        assert_eq!(calls.last(), Some(&(ON_END, 11, -1)));
    }

    #[test]
    fn the_view_follows_corporate_actions_and_trailing_stops() {
        // Rows where nothing is delivered but the account moves: a dividend, a split, a
        // trailing stop following the closes (`check_view` asserts the view at each call).
        let mut panel = panel(12);
        let action = |row, column, cash, shares| CorporateAction { row, column, cash, shares };
        panel.actions =
            vec![action(3, 0, 0.5, 0.0), action(4, 1, 0.0, 1.0), action(9, 0, 0.0, 0.5)];
        let stops = RefCell::new(Vec::new());
        let mut script: Script<'_> = Box::new(|frame| {
            if frame.callback != ON_BAR || frame.column != 1 {
                return 0;
            }
            if frame.index == 0 {
                push(frame, buy(0, 100.0));
                push(frame, buy(1, 100.0));
            }
            if frame.index == 6 {
                let trailing = Request {
                    order_type: OrderType::TrailingStop as i64,
                    side: Side::Sell as i64,
                    given: GIVEN_PERCENT,
                    trail_percent: 0.5,
                    ..buy(0, 10.0)
                };
                push(frame, trailing);
            }
            stops.borrow_mut().extend(live_orders(frame).iter().map(|o| o.stop_price));
            0
        });
        let only_bars = 1 << ON_BAR;
        let core = run_compiled(Config::default(), panel.view(), job(&mut script, only_bars));
        let core = core.unwrap();
        assert_eq!(core.broker.portfolio.corporate_actions.len(), 3);
        let stops = stops.borrow();
        assert!(stops.len() == 2 && stops.windows(2).all(|w| w[0] < w[1]), "{stops:?}");
    }

    #[test]
    fn the_view_follows_a_corporate_action_of_a_row_without_bars() {
        // Row 5 has no bar at all: no call there, and the bonus shares of its action must
        // still be in the view at row 6 (`check_view` asserts it at each call).
        let mut panel = panel(10);
        let nan = f64::NAN;
        for column in 0..2 {
            panel.set(5, column, (nan, nan, nan, nan, nan));
        }
        panel.actions = vec![CorporateAction { row: 5, column: 0, cash: 0.0, shares: 0.3 }];
        let held = RefCell::new(Vec::new());
        let mut script: Script<'_> = Box::new(|frame| {
            if frame.callback == ON_BAR && frame.column == 0 {
                if frame.index == 0 {
                    push(frame, buy(0, 100.0));
                }
                held.borrow_mut().push((frame.index, position(frame, 0)));
            }
            0
        });
        let core = run_compiled(Config::default(), panel.view(), job(&mut script, 1 << ON_BAR));
        assert_eq!(core.unwrap().broker.portfolio.corporate_actions.len(), 1);
        let held = held.borrow();
        assert_eq!(held[4], (4, 100.0));
        assert_eq!(held[5], (6, 130.0));
    }

    #[test]
    fn callbacks_the_strategy_lacks_are_not_called() {
        let panel = panel(6);
        let calls = Calls::default();
        let mut script: Script<'_> = Box::new(|frame| {
            note(&calls, frame);
            if frame.index == 0 && frame.column == 0 {
                push(frame, buy(0, 10.0));
            }
            0
        });
        let only_bars = 1 << ON_BAR;
        run_compiled(Config::default(), panel.view(), job(&mut script, only_bars)).unwrap();
        assert!(calls.borrow().iter().all(|c| c.0 == ON_BAR));
        assert_eq!(calls.borrow().len(), 12);
    }

    #[test]
    fn a_set_cancel_flag_stops_the_run_at_its_next_poll() {
        let panel = panel(5_000);
        let mut script: Script<'_> = Box::new(|_| 0);
        let cancel = AtomicBool::new(true);
        let mut host = CompiledHost::new(Config::default(), panel.view(), job(&mut script, ALL))
            .with_cancel(&cancel);
        assert!(matches!(host.run(), Err(Halt::Cancelled)));
        assert!(host.core().equity.len() <= 2048);
        let watched = AtomicBool::new(false);
        let mut script: Script<'_> = Box::new(|_| 0);
        let job = job(&mut script, ALL);
        let core = run_compiled_until(Config::default(), panel.view(), job, &watched).unwrap();
        assert_eq!(core.equity.len(), 5_000);
    }
}
