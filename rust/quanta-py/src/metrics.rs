//! Python bindings of `quanta_core::metrics`: `compute_stats` and `infer_periods_per_year`;
//! and what a finished native run reports of itself, its statistics (`BacktestResult.stats`)
//! and its rejected orders by reason (`BacktestResult.rejections`), for the context and for
//! the grids' array jobs alike.
//!
//! These take inputs that `quanta_fast.metrics` has already validated with the reference's
//! own checks and messages; here only what would otherwise make the core panic (an empty or
//! mismatched equity curve) or what cannot be viewed without a copy (a non-contiguous array)
//! is refused, with `quanta_ref.errors.DataError`.

use std::collections::BTreeMap;

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use quanta_core::engine::Core;
use quanta_core::metrics::{self, STAT_KEYS};
use quanta_core::orders::OrderStatus;

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

/// How many statistics a run has: `quanta_core::metrics::STAT_KEYS`, then the account totals.
pub const N_RUN_STATS: usize = STAT_KEYS.len() + 3;

/// The keys of a run's statistics, in the order of `BacktestResult.stats` (the reference's
/// `quanta_ref.analysis.CORE_KEYS`): `STAT_KEYS`, then total_commission, total_tax and n_fills.
pub const RUN_STAT_KEYS: [&str; N_RUN_STATS] = {
    let mut keys = [""; N_RUN_STATS];
    let mut k = 0;
    while k < STAT_KEYS.len() {
        keys[k] = STAT_KEYS[k];
        k += 1;
    }
    keys[k] = "total_commission";
    keys[k + 1] = "total_tax";
    keys[k + 2] = "n_fills";
    keys
};

/// A finished run's statistics in [`RUN_STAT_KEYS`] order, as the reference's result has
/// them: `quanta_core::metrics::compute_stats` of its equity curve (the run's own, or the
/// array `_take_equity` moved out of it) and closed trades, then the account totals.
/// `periods_per_year` is the run's setting, or, where it has none, `None` (inferred here
/// from `timestamps`) or the number inferred once for many runs over the same bars (the
/// same number, so the same bits).
pub fn run_stats(
    core: &Core,
    timestamps: &[i64],
    equity: &[f64],
    periods_per_year: Option<f64>,
) -> [f64; N_RUN_STATS] {
    let portfolio = &core.broker.portfolio;
    let pnls: Vec<f64> = portfolio.trades.iter().map(|t| t.pnl).collect();
    let stats = metrics::compute_stats(
        timestamps,
        equity,
        core.broker.cfg.initial_cash,
        &pnls,
        portfolio.traded_value,
        core.bars_in_market,
        periods_per_year,
    );
    let mut values = [0.0; N_RUN_STATS];
    values[..STAT_KEYS.len()].copy_from_slice(&stats.values());
    values[STAT_KEYS.len()] = portfolio.total_commission;
    values[STAT_KEYS.len() + 1] = portfolio.total_tax;
    values[STAT_KEYS.len() + 2] = portfolio.transactions.len() as f64;
    values
}

/// How many orders of a finished run the engine rejected, by reason, reasons in name order
/// (what `quanta_ref.analysis.rejections` counts from the orders, without building them).
pub fn rejections(core: &Core) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for order in &core.broker.orders {
        if order.status == OrderStatus::Rejected {
            let reason = order.reject_reason.map_or("unknown", |r| r.name());
            *counts.entry(reason).or_insert(0) += 1;
        }
    }
    counts
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
