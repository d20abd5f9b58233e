//! The engine behind `Engine(backend="rust")`: the native `Engine` and its runs. The host
//! that lets `quanta_core::engine::run` call the strategy is in `host.rs`, the context the
//! strategy talks to in `context.rs`, a live session (rows pushed a few at a time) in
//! `session.rs`.
//!
//! A compiled strategy (`compiled.rs`) runs with the GIL released, its callbacks called
//! through a C function pointer.
//!
//! A strategy that listens to no per-bar event (no `on_bar`, `on_fill` or `on_order`) has
//! nothing to run in Python between `on_start` and `on_end`: its rows run with the GIL
//! released, on the `interrupt` helper (Ctrl-C stops them within milliseconds). A strategy
//! with such a callback runs on this thread holding the GIL; between callbacks the loop lets
//! the other Python threads run and runs the signal handlers, every 1024 rows and sooner when
//! rows are heavy with live orders (`quanta_core::engine::POLL_WORK`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use numpy::PyArray2;
use pyo3::prelude::*;
use pyo3::types::PyList;

use quanta_core::bars::BarsView;
use quanta_core::config::{Config, FillAt, Settlement};
use quanta_core::engine::{self, Core, Host};
use quanta_core::events::Event;
use quanta_core::execution::Overflow;

use crate::arrays::{run_jobs, run_jobs_stats};
use crate::bars::{BarArrays, Names};
use crate::compiled::{self, failure_error, CompiledFields};
use crate::context::PyContext;
use crate::costs::{commission_model, slippage_model, Callables};
use crate::errors::{catch_panic, internal_error, ConfigError};
use crate::glue::Glue;
use crate::host::{Callbacks, PyHost};
use crate::interrupt::interruptible;
use crate::session::PySession;

/// Rows x symbols below which a run without live orders takes a few milliseconds at most:
/// its rows run on the calling thread (still with the GIL released), sparing a thread's start.
const SHORT_RUN: usize = 1 << 14;

/// The settings of one engine and the Python helpers its runs call.
#[pyclass(name = "Engine", module = "quanta_fast._quanta_fast", frozen)]
pub struct PyEngine {
    config: Config,
    glue: Arc<Glue>,
    /// The cost models that are Python callables.
    callables: Arc<Callables>,
}

/// A `quanta_ref.config.EngineConfig` (already validated by the front), read by attribute name.
#[derive(FromPyObject)]
struct Settings {
    initial_cash: f64,
    #[pyo3(from_py_with = rate)]
    commission_rate: f64,
    #[pyo3(from_py_with = rate)]
    min_commission: f64,
    #[pyo3(from_py_with = rate)]
    sell_tax_rate: f64,
    #[pyo3(from_py_with = rate)]
    buy_tax_rate: f64,
    #[pyo3(from_py_with = rate)]
    transfer_fee_rate: f64,
    slippage_bps: f64,
    fill_at: String,
    lot_size: f64,
    fractional: bool,
    settlement: String,
    tick_size: Option<f64>,
    max_volume_fraction: Option<f64>,
    allow_short: bool,
    max_leverage: Option<f64>,
    max_position_quantity: Option<f64>,
    max_position_weight: Option<f64>,
    max_order_value: Option<f64>,
    max_drawdown_stop: Option<f64>,
    periods_per_year: Option<f64>,
    dividend_tax_rate: f64,
    commission: Py<PyAny>,
    slippage: Py<PyAny>,
}

impl Settings {
    /// The core's settings and the cost models that are callables; a name the core does not
    /// know is a `ConfigError`.
    fn config(self, py: Python<'_>) -> PyResult<(Config, Callables)> {
        let (commission, commission_callable) = commission_model(self.commission.bind(py))?;
        let (slippage, slippage_callable) = slippage_model(self.slippage.bind(py))?;
        let callables = Callables::new(py, commission_callable, slippage_callable)?;
        let config = Config {
            initial_cash: self.initial_cash,
            commission_rate: self.commission_rate,
            min_commission: self.min_commission,
            sell_tax_rate: self.sell_tax_rate,
            buy_tax_rate: self.buy_tax_rate,
            transfer_fee_rate: self.transfer_fee_rate,
            slippage_bps: self.slippage_bps,
            fill_at: parse(FillAt::from_name, "fill_at", &self.fill_at)?,
            lot_size: self.lot_size,
            fractional: self.fractional,
            settlement: parse(Settlement::from_name, "settlement", &self.settlement)?,
            tick_size: self.tick_size,
            max_volume_fraction: self.max_volume_fraction,
            allow_short: self.allow_short,
            max_leverage: self.max_leverage,
            max_position_quantity: self.max_position_quantity,
            max_position_weight: self.max_position_weight,
            max_order_value: self.max_order_value,
            max_drawdown_stop: self.max_drawdown_stop,
            periods_per_year: self.periods_per_year,
            dividend_tax_rate: self.dividend_tax_rate,
            commission,
            slippage,
        };
        Ok((config, callables))
    }
}

/// A cost setting: its number, or 0.0 for a schedule by date (the run's rate table, read
/// with the bars, puts the schedule's values in force from the first row on).
fn rate(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.is_instance_of::<pyo3::types::PyTuple>() {
        return Ok(0.0);
    }
    value.extract()
}

/// A setting's value by name, or a `ConfigError` (the front checks them first).
fn parse<T>(from_name: fn(&str) -> Option<T>, field: &str, name: &str) -> PyResult<T> {
    from_name(name).ok_or_else(|| ConfigError::new_err(format!("{field}: unknown value {name:?}")))
}

impl PyEngine {
    /// A `ConfigError` when a cost model is a Python callable: array and compiled jobs run
    /// natively without Python (`quanta_fast.engine` runs such jobs through the strategy path
    /// instead).
    fn refuse_callables(&self) -> PyResult<()> {
        if self.callables.any() {
            return Err(ConfigError::new_err(
                "commission, slippage: array jobs run natively without Python; a callable \
                 cost model needs the strategy path",
            ));
        }
        Ok(())
    }
}

#[pymethods]
impl PyEngine {
    /// An engine for `config` (a `quanta_ref.config.EngineConfig`); `glue` is the module
    /// `quanta_fast._glue`, whose helpers are looked up here, once.
    #[new]
    fn py_new(py: Python<'_>, config: Settings, glue: Glue) -> PyResult<Self> {
        let (config, callables) = config.config(py)?;
        Ok(PyEngine { config, glue: Arc::new(glue), callables: Arc::new(callables) })
    }

    /// Run over `bars` (a `quanta_ref.Bars`) with its market tables `market` (a
    /// `quanta_ref.market.RunMarket`) and corporate actions `actions` (the arrays of
    /// `quanta_ref.actions.schedule`, or None), calling the given strategy callbacks (None
    /// for the ones the strategy does not override); returns the finished context.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(name = "run")]
    fn py_run<'py>(
        &self,
        py: Python<'py>,
        bars: &Bound<'py, PyAny>,
        market: &Bound<'py, PyAny>,
        actions: Option<Bound<'py, PyAny>>,
        on_start: Option<Bound<'py, PyAny>>,
        on_bar: Option<Bound<'py, PyAny>>,
        on_fill: Option<Bound<'py, PyAny>>,
        on_order: Option<Bound<'py, PyAny>>,
        on_end: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyContext>> {
        let arrays = BarArrays::read(bars, market)?.with_actions(actions.as_ref())?;
        let view = arrays.view();
        let names = Names::new(&arrays.symbols)?;
        let mut core = Core::new(self.config.clone(), &view);
        core.broker.external_costs = self.callables.hook(py, &names.names);
        let context = Bound::new(py, PyContext::new(py, core, bars, &names, self.glue.clone()))?;
        let callbacks = Callbacks { on_start, on_bar, on_fill, on_order, on_end };
        // A callable cost model is Python, called from the rows: they hold the GIL.
        let detached = callbacks.detached() && !self.callables.any();
        let mut host = PyHost::new(context.clone(), view, callbacks, None);
        let outcome =
            catch_panic(|| if detached { run_detached(&mut host) } else { engine::run(&mut host) });
        // However the run ended, its context is closed: a strategy that kept it gets an error.
        context.borrow_mut().close();
        outcome.map(|()| context)
    }

    /// A live session over `panel` (a `quanta_ref.session.Panel`, its first row filled),
    /// calling the given strategy callbacks; with `external`, the engine never matches,
    /// expires or cancels a live order itself (an external broker's reports end them). The
    /// market tables and corporate actions come with each call of the session's `rows`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(name = "session")]
    fn py_session(
        &self,
        py: Python<'_>,
        panel: &Bound<'_, PyAny>,
        on_start: Option<Py<PyAny>>,
        on_bar: Option<Py<PyAny>>,
        on_fill: Option<Py<PyAny>>,
        on_order: Option<Py<PyAny>>,
        on_end: Option<Py<PyAny>>,
        external: bool,
    ) -> PyResult<PySession> {
        let callbacks = [on_start, on_bar, on_fill, on_order, on_end];
        let (config, glue) = (self.config.clone(), self.glue.clone());
        PySession::new(py, config, glue, &self.callables, panel, callbacks, external)
    }

    /// Run one compiled job (read by attribute name: `entry_address`, `callbacks`,
    /// `params_address`, `state_size`, `max_requests`) over `bars` with its market tables and
    /// corporate actions (as in `run`), natively with the GIL released (Ctrl-C stops it and
    /// raises); returns the finished context. A callable cost model is called through the
    /// reference's helpers as in `run`, taking the GIL for each call.
    #[pyo3(name = "run_compiled")]
    fn py_run_compiled<'py>(
        &self,
        py: Python<'py>,
        bars: &Bound<'py, PyAny>,
        market: &Bound<'py, PyAny>,
        actions: Option<Bound<'py, PyAny>>,
        job: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyContext>> {
        let job = CompiledFields::read(job).unwrap_or_else(|| {
            Err(ConfigError::new_err("job: expected a compiled job (with an entry_address)"))
        })?;
        let arrays = BarArrays::read(bars, market)?.with_actions(actions.as_ref())?;
        let view = arrays.view();
        let names = Names::new(&arrays.symbols)?;
        let mut core = Core::new(self.config.clone(), &view);
        core.broker.external_costs = self.callables.hook(py, &names.names);
        let short = view.n_bars().saturating_mul(view.n_symbols) < SHORT_RUN;
        let finished =
            interruptible(py, short, |cancel| compiled::run_one(core, view, job, cancel))?;
        let core = finished.map_err(|failure| failure_error(py, &self.glue, &names, failure))?;
        let context = Bound::new(py, PyContext::new(py, core, bars, &names, self.glue.clone()))?;
        context.borrow_mut().close();
        Ok(context)
    }

    /// Run checked array jobs (`quanta_ref.arrays.Signals` / `Targets`) and compiled jobs
    /// (as in `run_compiled`) over `bars` with its market tables and corporate actions (as in
    /// `run`) natively with the GIL released, on `n_jobs` threads (None: one per core); one
    /// finished context per job, in job order, or the exception that job raised.
    #[pyo3(name = "run_jobs", signature = (bars, market, actions, jobs, n_jobs=None))]
    fn py_run_jobs<'py>(
        &self,
        py: Python<'py>,
        bars: &Bound<'py, PyAny>,
        market: &Bound<'py, PyAny>,
        actions: Option<Bound<'py, PyAny>>,
        jobs: &Bound<'py, PyList>,
        n_jobs: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.refuse_callables()?;
        run_jobs(py, &self.config, &self.glue, bars, market, actions.as_ref(), jobs, n_jobs)
    }

    /// Run jobs as `run_jobs` does, keeping only each one's statistics and rejections (a
    /// grid's ranking reads nothing else): taken on the job's thread as it ends, the run
    /// dropped there. A float64 (K, S) array of the statistics in the order of
    /// `BacktestResult.stats` (NaN in a failed job's row), and per job its rejections by
    /// reason (a dict) or the exception it raised, in job order.
    #[pyo3(name = "run_jobs_stats", signature = (bars, market, actions, jobs, n_jobs=None))]
    fn py_run_jobs_stats<'py>(
        &self,
        py: Python<'py>,
        bars: &Bound<'py, PyAny>,
        market: &Bound<'py, PyAny>,
        actions: Option<Bound<'py, PyAny>>,
        jobs: &Bound<'py, PyList>,
        n_jobs: Option<usize>,
    ) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyList>)> {
        self.refuse_callables()?;
        let actions = actions.as_ref();
        run_jobs_stats(py, &self.config, &self.glue, bars, market, actions, jobs, n_jobs)
    }
}

/// A run whose strategy listens to no per-bar event: `on_start` and `on_end` on this thread,
/// the rows in between with the GIL released ([`Rows`]); Ctrl-C stops them and raises.
fn run_detached(host: &mut PyHost<'_, '_>) -> PyResult<()> {
    engine::start(host)?;
    let bars = host.bars;
    let mut context = host.context.borrow_mut();
    let core = &mut context.core;
    // Without a live order a row takes nanoseconds; with some, a row may take milliseconds.
    let cells = bars.n_bars().saturating_mul(bars.n_symbols);
    let short = cells < SHORT_RUN && core.broker.live.is_empty();
    let finished = interruptible(host.py, short, |cancel| {
        engine::rows(&mut Rows { core, bars, cancel }, 0..bars.n_bars())
    })?;
    drop(context);
    match finished {
        Ok(()) => {}
        // Only a signal sets the flag, and then `interruptible` returned its error.
        Err(Stopped::Cancelled) => {
            return Err(internal_error("a run was cancelled without an interrupt"));
        }
        Err(Stopped::Overflow(error)) => return Err(host.overflow(error)),
    }
    engine::end(host)
}

/// The rows of a run whose strategy listens to no per-bar event, as an engine [`Host`] that
/// touches nothing of Python's: the events it is handed have no listener and are dropped.
struct Rows<'c, 'a> {
    core: &'c mut Core,
    bars: BarsView<'a>,
    /// Set by the thread waiting for the rows when a signal handler raised.
    cancel: &'c AtomicBool,
}

/// Why [`Rows`] stopped early: its cancel flag was set, or an accounting value left the
/// float range (the error is built with the GIL, once the rows are over).
enum Stopped {
    Cancelled,
    Overflow(Box<Overflow>),
}

impl Host for Rows<'_, '_> {
    type Error = Stopped;

    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        f(self.core, &self.bars)
    }

    /// No listener: `on_bar`, `on_fill` and `on_order` are not overridden.
    fn deliver(&mut self, _event: &Event) -> Result<(), Stopped> {
        Ok(())
    }

    fn overflow(&mut self, error: Box<Overflow>) -> Stopped {
        Stopped::Overflow(error)
    }

    fn check_interrupt(&mut self) -> Result<(), Stopped> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Stopped::Cancelled);
        }
        Ok(())
    }
}
