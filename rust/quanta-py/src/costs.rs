//! Cost models at the Python edge: the models of `quanta_ref.costs` read into the core's
//! enums once, when the native `Engine` is built, and Python callables given to the broker
//! as its [`ExternalCosts`] hook. A callable is called through the reference's own
//! `call_commission` / `call_slippage` (same arguments, same result checks, same messages);
//! its exception travels through the core as an opaque [`ModelError`] and comes out of the
//! run unchanged (the same object).

use pyo3::prelude::*;
use pyo3::types::PyString;

use quanta_core::config::{CommissionModel, SlippageModel};
use quanta_core::execution::{CostHook, ExternalCosts, ModelError};
use quanta_core::orders::Side;
use std::sync::Arc;

use crate::errors::internal_error;

/// `EngineConfig.commission` as the core's model, and the callable when it is one.
pub(crate) fn commission_model(
    model: &Bound<'_, PyAny>,
) -> PyResult<(Option<CommissionModel>, Option<Py<PyAny>>)> {
    Ok(match own_model(model)?.as_deref() {
        None if model.is_none() => (None, None),
        Some("PerValue") => {
            let (rate, minimum) = (model.getattr("rate")?, model.getattr("minimum")?);
            (
                Some(CommissionModel::PerValue {
                    rate: rate.extract()?,
                    minimum: minimum.extract()?,
                }),
                None,
            )
        }
        Some("PerShare") => (
            Some(CommissionModel::PerShare {
                per_share: model.getattr("per_share")?.extract()?,
                minimum: model.getattr("minimum")?.extract()?,
                maximum_rate: model.getattr("maximum_rate")?.extract()?,
            }),
            None,
        ),
        Some("Tiered") => (
            Some(CommissionModel::Tiered {
                tiers: model.getattr("tiers")?.extract()?,
                minimum: model.getattr("minimum")?.extract()?,
            }),
            None,
        ),
        _ => (Some(CommissionModel::External), Some(model.clone().unbind())),
    })
}

/// `EngineConfig.slippage` as the core's model, and the callable when it is one.
pub(crate) fn slippage_model(
    model: &Bound<'_, PyAny>,
) -> PyResult<(Option<SlippageModel>, Option<Py<PyAny>>)> {
    Ok(match own_model(model)?.as_deref() {
        None if model.is_none() => (None, None),
        Some("FixedBps") => (Some(SlippageModel::FixedBps(model.getattr("bps")?.extract()?)), None),
        Some("RangeFraction") => {
            (Some(SlippageModel::RangeFraction(model.getattr("fraction")?.extract()?)), None)
        }
        Some("SquareRootImpact") => {
            let coefficient = model.getattr("coefficient")?.extract()?;
            (Some(SlippageModel::SquareRootImpact(coefficient)), None)
        }
        _ => (Some(SlippageModel::External), Some(model.clone().unbind())),
    })
}

/// The class name of a model of `quanta_ref.costs`, or None (None, or a callable).
fn own_model(model: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if model.is_none() {
        return Ok(None);
    }
    let kind = model.get_type();
    if kind.getattr("__module__")?.extract::<String>()? != "quanta_ref.costs" {
        return Ok(None);
    }
    Ok(Some(kind.getattr("__name__")?.extract()?))
}

/// The callables of an engine's settings (None where the model is not one) and the
/// reference's helpers that call them.
pub(crate) struct Callables {
    pub commission: Option<Py<PyAny>>,
    pub slippage: Option<Py<PyAny>>,
    call_commission: Py<PyAny>,
    call_slippage: Py<PyAny>,
}

impl Callables {
    /// The callables given, with the helpers of `quanta_ref.costs`.
    pub fn new(
        py: Python<'_>,
        commission: Option<Py<PyAny>>,
        slippage: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let costs = py.import("quanta_ref.costs")?;
        Ok(Callables {
            commission,
            slippage,
            call_commission: costs.getattr("call_commission")?.unbind(),
            call_slippage: costs.getattr("call_slippage")?.unbind(),
        })
    }

    /// True when a model is a callable: the rows must run holding the GIL, and array jobs
    /// through the strategy path.
    pub fn any(&self) -> bool {
        self.commission.is_some() || self.slippage.is_some()
    }

    /// The broker's hook for a run whose symbols are `names`, or None without callables.
    pub fn hook(&self, py: Python<'_>, names: &[Py<PyString>]) -> Option<CostHook> {
        if !self.any() {
            return None;
        }
        let clone = |f: &Option<Py<PyAny>>| f.as_ref().map(|f| f.clone_ref(py));
        Some(CostHook(Arc::new(PyCosts {
            commission: clone(&self.commission),
            slippage: clone(&self.slippage),
            call_commission: self.call_commission.clone_ref(py),
            call_slippage: self.call_slippage.clone_ref(py),
            names: names.iter().map(|n| n.clone_ref(py)).collect(),
        })))
    }
}

/// The hook of one run: its callables and its symbols.
struct PyCosts {
    commission: Option<Py<PyAny>>,
    slippage: Option<Py<PyAny>>,
    call_commission: Py<PyAny>,
    call_slippage: Py<PyAny>,
    names: Vec<Py<PyString>>,
}

/// A Python error as the core carries it.
fn carried(error: PyErr) -> ModelError {
    ModelError(Box::new(error))
}

impl ExternalCosts for PyCosts {
    fn commission(
        &self,
        column: usize,
        side: Side,
        quantity: f64,
        price: f64,
        index: i64,
        now: i64,
    ) -> Result<f64, ModelError> {
        Python::attach(|py| {
            let model = self.commission.as_ref().expect("an external commission model");
            let symbol = self.names[column].bind(py);
            let arguments = (model.bind(py), symbol, side.name(), quantity, price, index, now);
            let value = self.call_commission.bind(py).call1(arguments)?;
            value.extract::<f64>()
        })
        .map_err(carried)
    }

    fn slippage(
        &self,
        column: usize,
        bar: [f64; 5],
        side: Side,
        quantity: f64,
        price: f64,
        index: i64,
        now: i64,
    ) -> Result<f64, ModelError> {
        Python::attach(|py| {
            let model = self.slippage.as_ref().expect("an external slippage model");
            let symbol = self.names[column].bind(py);
            let [open, high, low, close, volume] = bar;
            let arguments = (
                model.bind(py),
                symbol,
                now,
                open,
                high,
                low,
                close,
                volume,
                side.name(),
                quantity,
                price,
                index,
            );
            let value = self.call_slippage.bind(py).call1(arguments)?;
            value.extract::<f64>()
        })
        .map_err(carried)
    }
}

/// The Python exception an external model raised, back from the core's payload.
pub(crate) fn raised(error: ModelError) -> PyErr {
    match error.0.downcast::<PyErr>() {
        Ok(error) => *error,
        Err(_) => internal_error("an external cost model failed with a foreign error"),
    }
}
