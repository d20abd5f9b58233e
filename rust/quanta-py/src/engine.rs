//! The engine behind `Engine(backend="rust")`: the native `Engine` and the host that lets
//! `quanta_core::engine::run` call the strategy. The context the strategy talks to is in
//! `context.rs`.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use quanta_core::bars::BarsView;
use quanta_core::config::{Config, FillAt, Settlement};
use quanta_core::engine::{self, Core, Host};
use quanta_core::events::Event;

use crate::bars::{BarArrays, Names};
use crate::context::{PyBar, PyContext};
use crate::errors::{catch_panic, ConfigError};

/// The settings of one engine (`quanta_ref.config.EngineConfig`, already validated).
#[pyclass(name = "Engine", module = "quanta_fast._quanta_fast", frozen)]
pub struct PyEngine {
    config: Config,
}

/// A setting's value by name, or a `ConfigError` (the front checks them first).
fn parse<T>(from_name: fn(&str) -> Option<T>, field: &str, name: &str) -> PyResult<T> {
    from_name(name).ok_or_else(|| ConfigError::new_err(format!("{field}: unknown value {name:?}")))
}

#[pymethods]
impl PyEngine {
    /// Settings by name, as `EngineConfig.as_dict()` gives them.
    #[new]
    fn py_new(settings: &Bound<'_, PyDict>) -> PyResult<Self> {
        let get = |name: &str| -> PyResult<Bound<'_, PyAny>> {
            settings
                .get_item(name)?
                .ok_or_else(|| PyTypeError::new_err(format!("Engine: missing setting {name:?}")))
        };
        let num = |name: &str| -> PyResult<f64> { get(name)?.extract() };
        let opt = |name: &str| -> PyResult<Option<f64>> { get(name)?.extract() };
        let text = |name: &str| -> PyResult<String> { get(name)?.extract() };
        let config = Config {
            initial_cash: num("initial_cash")?,
            commission_rate: num("commission_rate")?,
            min_commission: num("min_commission")?,
            sell_tax_rate: num("sell_tax_rate")?,
            slippage_bps: num("slippage_bps")?,
            fill_at: parse(FillAt::from_name, "fill_at", &text("fill_at")?)?,
            lot_size: num("lot_size")?,
            fractional: get("fractional")?.extract()?,
            settlement: parse(Settlement::from_name, "settlement", &text("settlement")?)?,
            price_limit: opt("price_limit")?,
            tick_size: opt("tick_size")?,
            max_volume_fraction: opt("max_volume_fraction")?,
            allow_short: get("allow_short")?.extract()?,
            max_leverage: opt("max_leverage")?,
            max_position_quantity: opt("max_position_quantity")?,
            max_position_weight: opt("max_position_weight")?,
            max_order_value: opt("max_order_value")?,
            max_drawdown_stop: opt("max_drawdown_stop")?,
            periods_per_year: opt("periods_per_year")?,
        };
        Ok(PyEngine { config })
    }

    /// Run over `bars` (a `quanta_ref.Bars`) calling the given strategy callbacks (None for
    /// the ones the strategy does not override); returns the finished context.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(name = "run")]
    fn py_run<'py>(
        &self,
        py: Python<'py>,
        bars: &Bound<'py, PyAny>,
        glue: &Bound<'py, PyAny>,
        on_start: Option<Bound<'py, PyAny>>,
        on_bar: Option<Bound<'py, PyAny>>,
        on_fill: Option<Bound<'py, PyAny>>,
        on_order: Option<Bound<'py, PyAny>>,
        on_end: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyContext>> {
        let arrays = BarArrays::read(bars)?;
        let view = arrays.view();
        let names = Names::new(&arrays.symbols)?;
        let core = Core::new(self.config.clone(), &view);
        let context = Bound::new(py, PyContext::new(py, core, bars, &names, glue))?;
        let mut host = PyHost {
            py,
            context: context.clone(),
            bars: view,
            on_start,
            on_bar,
            on_fill,
            on_order,
            on_end,
            bar: None,
        };
        catch_panic(|| engine::run(&mut host))?;
        Ok(context)
    }

    /// Run array jobs natively (`quanta_ref.arrays.Signals` / `Targets`, as the tuples
    /// `quanta_fast.engine` builds) with the GIL released, on `n_jobs` threads (None: one
    /// per core); one finished context per job, in job order, or the exception that job
    /// raised.
    #[pyo3(name = "run_jobs", signature = (bars, glue, jobs, n_jobs=None))]
    fn py_run_jobs<'py>(
        &self,
        py: Python<'py>,
        bars: &Bound<'py, PyAny>,
        glue: &Bound<'py, PyAny>,
        jobs: &Bound<'py, PyList>,
        n_jobs: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        crate::arrays::run_jobs(py, &self.config, bars, glue, jobs, n_jobs)
    }
}

struct PyHost<'py, 'a> {
    py: Python<'py>,
    context: Bound<'py, PyContext>,
    bars: BarsView<'a>,
    on_start: Option<Bound<'py, PyAny>>,
    on_bar: Option<Bound<'py, PyAny>>,
    on_fill: Option<Bound<'py, PyAny>>,
    on_order: Option<Bound<'py, PyAny>>,
    on_end: Option<Bound<'py, PyAny>>,
    bar: Option<Bound<'py, PyBar>>,
}

impl<'py> PyHost<'py, '_> {
    fn bar_object(&mut self, column: usize) -> PyResult<Bound<'py, PyBar>> {
        let context = self.context.borrow();
        let i = context.core.broker.index as usize;
        let at = i * self.bars.n_symbols + column;
        let fresh = PyBar {
            timestamp: context.core.broker.now,
            symbol: context.names[column].clone_ref(self.py),
            open: self.bars.open[at],
            high: self.bars.high[at],
            low: self.bars.low[at],
            close: self.bars.close[at],
            volume: self.bars.volume[at],
        };
        drop(context);
        match &self.bar {
            // Only this host holds it: reuse the object (no allocation per bar).
            #[allow(deprecated)] // the safe spelling; Py_REFCNT would need unsafe
            Some(bar) if bar.get_refcnt() == 1 => {
                *bar.borrow_mut() = fresh;
            }
            _ => self.bar = Some(Bound::new(self.py, fresh)?),
        }
        Ok(self.bar.as_ref().expect("set above").clone())
    }
}

impl Host for PyHost<'_, '_> {
    type Error = PyErr;

    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        let mut context = self.context.borrow_mut();
        f(&mut context.core, &self.bars)
    }

    fn deliver(&mut self, event: &Event) -> PyResult<()> {
        match *event {
            Event::Bar(column) => {
                if self.on_bar.is_some() {
                    let bar = self.bar_object(column)?;
                    let on_bar = self.on_bar.as_ref().expect("checked");
                    on_bar.call1((&self.context, bar))?;
                }
            }
            Event::Order(order) => {
                if let Some(on_order) = &self.on_order {
                    let order = self.context.borrow().order_object(self.py, &order)?;
                    on_order.call1((&self.context, order))?;
                }
            }
            Event::Fill(fill) => {
                if let Some(on_fill) = &self.on_fill {
                    let fill = self.context.borrow().fill_object(self.py, &fill)?;
                    on_fill.call1((&self.context, fill))?;
                }
            }
            Event::Start => {
                if let Some(on_start) = &self.on_start {
                    on_start.call1((&self.context,))?;
                }
            }
            Event::End => {
                if let Some(on_end) = &self.on_end {
                    on_end.call1((&self.context,))?;
                }
            }
            Event::Day(_) => unreachable!("the core handles day events"),
        }
        Ok(())
    }

    fn check_interrupt(&mut self) -> PyResult<()> {
        self.py.check_signals()
    }
}
