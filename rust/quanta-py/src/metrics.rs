//! Python bindings of `quanta_core::metrics`: `compute_stats` and `infer_periods_per_year`.
//!
//! These take inputs that `quanta_fast.metrics` has already validated with the reference's
//! own checks and messages; here only what would otherwise make the core panic (an empty or
//! mismatched equity curve) or what cannot be viewed without a copy (a non-contiguous array)
//! is refused, with `quanta_ref.errors.DataError`.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use quanta_core::metrics;

pyo3::import_exception!(quanta_ref.errors, DataError);

/// A zero-copy slice of a 1-D array, or a `DataError` naming `name` if it is not contiguous.
fn contiguous<'a, T: numpy::Element>(
    name: &str,
    array: &'a PyReadonlyArray1<'_, T>,
) -> PyResult<&'a [T]> {
    array
        .as_slice()
        .map_err(|_| DataError::new_err(format!("{name}: expected a contiguous 1-D array")))
}

/// Bars per year guessed from int64 nanosecond timestamps (`quanta_core::metrics`).
#[pyfunction]
#[pyo3(name = "infer_periods_per_year")]
fn py_infer_periods_per_year(timestamps: PyReadonlyArray1<'_, i64>) -> PyResult<f64> {
    Ok(metrics::infer_periods_per_year(contiguous("timestamps", &timestamps)?))
}

/// The statistics of `quanta_core::metrics::compute_stats` as a dict in `STAT_KEYS` order.
#[pyfunction]
#[pyo3(
    name = "compute_stats",
    signature = (
        timestamps, equity, initial_cash, *, trade_pnls, traded_value, bars_in_market,
        periods_per_year = None
    )
)]
#[allow(clippy::too_many_arguments)]
fn py_compute_stats<'py>(
    py: Python<'py>,
    timestamps: PyReadonlyArray1<'py, i64>,
    equity: PyReadonlyArray1<'py, f64>,
    initial_cash: f64,
    trade_pnls: PyReadonlyArray1<'py, f64>,
    traded_value: f64,
    bars_in_market: usize,
    periods_per_year: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let timestamps = contiguous("timestamps", &timestamps)?;
    let equity = contiguous("equity", &equity)?;
    let trade_pnls = contiguous("trade_pnls", &trade_pnls)?;
    if equity.is_empty() {
        return Err(DataError::new_err("equity: empty (a backtest has at least one bar)"));
    }
    if timestamps.len() != equity.len() {
        return Err(DataError::new_err(format!(
            "equity: length {} does not match {} timestamps",
            equity.len(),
            timestamps.len()
        )));
    }
    let stats = metrics::compute_stats(
        timestamps,
        equity,
        initial_cash,
        trade_pnls,
        traded_value,
        bars_in_market,
        periods_per_year,
    );
    let dict = PyDict::new(py);
    for (key, value) in stats.entries() {
        dict.set_item(key, value)?;
    }
    Ok(dict)
}

/// Add the metrics functions to the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_infer_periods_per_year, m)?)?;
    m.add_function(wrap_pyfunction!(py_compute_stats, m)?)?;
    Ok(())
}
