//! A live session on the native engine (`quanta_ref.session.Session`, the Rust half of
//! `quanta_ref.api.SessionCore`): a run kept open between pushes. The core stays in the
//! session's context; each `rows` call runs only the rows pushed since the last one
//! (`quanta_core::engine::rows` over consecutive ranges), never the run from its start.
//!
//! The Python session owns the panel, which grows: its arrays are rebound to bigger ones, so
//! they are borrowed anew at every call and no pointer is kept between calls. It checks every
//! input before it gets here; the checks below only keep a wrong call from reaching the core
//! (an index out of range would be a panic).

use std::sync::Arc;

use numpy::ndarray::s;
use numpy::{PyArray3, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use quanta_core::config::Config;
use quanta_core::engine::{self, Core, Host};

use crate::bars::{checked_symbols, BarArrays, Names};
use crate::context::{read_report, PyBar, PyContext};
use crate::costs::Callables;
use crate::errors::{catch_panic, internal_error, QuantaError};
use crate::glue::Glue;
use crate::host::{Callbacks, PyHost};

/// A run kept open between pushes (`quanta_fast._quanta_fast.Session`).
#[pyclass(name = "Session", module = "quanta_fast._quanta_fast")]
pub struct PySession {
    context: Py<PyContext>,
    /// The growing panel (`quanta_ref.session.Panel`).
    panel: Py<PyAny>,
    /// Its symbols, checked once: they never change.
    symbols: Py<PyTuple>,
    /// The strategy's callbacks in `quanta_ref.api.CALLBACKS` order; None: not overridden.
    callbacks: [Option<Py<PyAny>>; 5],
    /// The bar object `on_bar` last received, reused while no one else holds it.
    bar: Option<Py<PyBar>>,
    /// How many rows have run (`on_start` has been delivered when it is not 0).
    done: usize,
    /// A call failed (a strategy's exception, an overflow): the run cannot go on.
    failed: bool,
}

impl PySession {
    /// A session over `panel` (its first row filled), calling the given callbacks.
    pub(crate) fn new(
        py: Python<'_>,
        config: Config,
        glue: Arc<Glue>,
        callables: &Callables,
        panel: &Bound<'_, PyAny>,
        callbacks: [Option<Py<PyAny>>; 5],
        external: bool,
    ) -> PyResult<Self> {
        let symbols = checked_symbols(panel)?;
        let names = Names::new(&symbols)?;
        // The first row gives the core its first timestamp and the number of symbols.
        let arrays = BarArrays::read_first(panel, None, symbols.clone(), 1)?;
        let mut core = Core::new(config, &arrays.view());
        core.broker.external = external;
        core.broker.external_costs = callables.hook(py, &names.names);
        let context = Py::new(py, PyContext::new(py, core, panel, &names, glue))?;
        Ok(PySession {
            context,
            panel: panel.clone().unbind(),
            symbols: symbols.unbind(),
            callbacks,
            bar: None,
            done: 0,
            failed: false,
        })
    }

    /// Refuses a call once a call has failed or the session has ended.
    fn check_usable(&self, py: Python<'_>) -> PyResult<()> {
        if self.failed {
            return Err(QuantaError::new_err("the session stopped at an error: start a new one"));
        }
        if !self.context.borrow(py).is_open() {
            return Err(QuantaError::new_err("the session has ended"));
        }
        Ok(())
    }

    /// Run `work` with a host over the first `stop` rows of the panel (with the market tables
    /// and actions given, if any); marks the session failed when it fails.
    fn with_host<'py>(
        &mut self,
        py: Python<'py>,
        stop: usize,
        market: Option<&Bound<'py, PyAny>>,
        actions: Option<&Bound<'py, PyAny>>,
        work: impl FnOnce(&mut PyHost<'py, '_>) -> PyResult<()>,
    ) -> PyResult<()> {
        self.check_usable(py)?;
        let panel = self.panel.bind(py);
        let symbols = self.symbols.bind(py).clone();
        let arrays = BarArrays::read_first(panel, market, symbols, stop)?.with_actions(actions)?;
        let [on_start, on_bar, on_fill, on_order, on_end] =
            self.callbacks.each_ref().map(|f| f.as_ref().map(|f| f.bind(py).clone()));
        let callbacks = Callbacks { on_start, on_bar, on_fill, on_order, on_end };
        let context = self.context.bind(py).clone();
        let bar = self.bar.take().map(|bar| bar.into_bound(py));
        let mut host = PyHost::new(context, arrays.view(), callbacks, bar);
        let outcome = catch_panic(|| work(&mut host));
        self.bar = host.bar.map(Bound::unbind);
        if outcome.is_err() {
            self.failed = true;
        }
        outcome
    }
}

#[pymethods]
impl PySession {
    /// Run the panel's rows from the first not yet run up to `stop` (exclusive), each with
    /// step 6 (record equity and cash); the first call delivers `on_start` before row 0.
    /// `market` is the `quanta_ref.market.RunMarket` of the rows so far (limit tables of at
    /// least `stop` rows), or None when it has no table; `actions` the arrays of their
    /// `ActionSchedule`, or None.
    /// `reports` (external execution): the broker's reports since the last row, booked in
    /// the open phase of the first of these rows, each ``("fill", order_id, quantity, price,
    /// commission, tax)`` or ``("status", order_id, status, reason)`` (checked by the session).
    #[pyo3(signature = (stop, market, actions, reports))]
    fn rows<'py>(
        &mut self,
        py: Python<'py>,
        stop: usize,
        market: Option<Bound<'py, PyAny>>,
        actions: Option<Bound<'py, PyAny>>,
        reports: &Bound<'py, PyList>,
    ) -> PyResult<()> {
        let start = self.done;
        if stop < start {
            return Err(internal_error(&format!("rows {start} already ran, not up to {stop}")));
        }
        if !reports.is_empty() {
            let mut context = self.context.borrow_mut(py);
            let core = &mut context.core;
            for report in reports.iter() {
                let report = read_report(&core.broker, &report)?;
                core.reports.push_back(report);
            }
        }
        self.with_host(py, stop, market.as_ref(), actions.as_ref(), |host| {
            if start == 0 {
                // The symbols' own settings come with the first rows' market tables (the
                // core was made before them), before on_start can submit an order.
                host.with_core(|core, bars| core.broker.use_instruments(&bars.market.instruments));
                engine::start(host)?;
            }
            engine::rows(host, start..stop)
        })?;
        self.done = stop;
        Ok(())
    }

    /// Deliver the events a request made through the context between pushes left queued.
    fn drain(&mut self, py: Python<'_>) -> PyResult<()> {
        let stop = self.done.max(1);
        self.with_host(py, stop, None, None, |host| engine::drain(host))
    }

    /// The run ends: `on_end` is delivered, then the context closes (however `on_end` ends).
    fn end(&mut self, py: Python<'_>) -> PyResult<()> {
        let stop = self.done.max(1);
        let outcome = self.with_host(py, stop, None, None, |host| engine::end(host));
        self.context.borrow_mut(py).close();
        outcome
    }

    /// The strategy's `ctx`, which holds the run's state.
    #[getter]
    fn context(&self, py: Python<'_>) -> Py<PyContext> {
        self.context.clone_ref(py)
    }

    /// How many rows have run.
    #[getter]
    fn done(&self) -> usize {
        self.done
    }

    /// What this session holds, for Python's garbage collector: its callbacks reach the
    /// Python session that holds it, a cycle the collector must see to free it.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.context)?;
        visit.call(&self.panel)?;
        for callback in self.callbacks.iter().flatten() {
            visit.call(callback)?;
        }
        if let Some(bar) = &self.bar {
            visit.call(bar)?;
        }
        Ok(())
    }

    /// Drop the references that can close a cycle (the collector calls it on garbage).
    fn __clear__(&mut self) {
        self.callbacks = [None, None, None, None, None];
        self.bar = None;
    }
}

/// `quanta_ref.session.write_row`, natively: write one pushed row into a session panel's
/// (5, capacity, N) float64 buffer at row `at` and say whether every bar is clean by the same
/// quick test (positive low, high and low bracketing open and close, finite high and
/// volume, volume >= 0; a NaN fails every comparison). A TypeError (not float64 arrays) or
/// ValueError (not N values, no row `at`) writes nothing; the session then converts and
/// checks the values itself.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_row(
    fields: &Bound<'_, PyArray3<f64>>,
    at: usize,
    open: PyReadonlyArray1<'_, f64>,
    high: PyReadonlyArray1<'_, f64>,
    low: PyReadonlyArray1<'_, f64>,
    close: PyReadonlyArray1<'_, f64>,
    volume: PyReadonlyArray1<'_, f64>,
) -> PyResult<bool> {
    let mut buffer = fields.try_readwrite()?;
    let mut buffer = buffer.as_array_mut();
    let (_, capacity, n) = buffer.dim();
    let given = [&open, &high, &low, &close, &volume].map(|x| x.as_array());
    if at >= capacity || given.iter().any(|x| x.len() != n) {
        return Err(PyValueError::new_err("expected one value per symbol, and room for the row"));
    }
    for (k, values) in given.iter().enumerate() {
        buffer.slice_mut(s![k, at, ..]).assign(values);
    }
    let [o, h, l, c, v] = given;
    let bars = o.iter().zip(&h).zip(&l).zip(&c).zip(&v);
    let clean = bars.into_iter().all(|((((&o, &h), &l), &c), &v)| {
        l > 0.0
            && h >= o
            && h >= c
            && l <= o
            && l <= c
            && h < f64::INFINITY
            && (0.0..f64::INFINITY).contains(&v)
    });
    Ok(clean)
}
