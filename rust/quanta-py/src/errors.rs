//! Errors cross the boundary here once: the Python classes of `quanta_ref.errors`, and a Rust
//! panic turned into a `QuantaError` instead of an abort or a `PanicException`.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;
use pyo3::types::PyString;
use quanta_core::execution::Overflow;

pyo3::import_exception!(quanta_ref.errors, QuantaError);
pyo3::import_exception!(quanta_ref.errors, ConfigError);
pyo3::import_exception!(quanta_ref.errors, DataError);
pyo3::import_exception!(quanta_ref.errors, OrderError);

/// Run `f`; a panic inside it becomes `QuantaError("internal error in the native engine: ...")`.
pub fn catch_panic<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(internal_error(&panic_message(payload))),
    }
}

/// The message a panic was raised with.
pub fn panic_message(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// The `QuantaError` a panic with this message becomes.
pub fn internal_error(message: &str) -> PyErr {
    QuantaError::new_err(format!(
        "internal error in the native engine (please report it): {message}"
    ))
}

/// The error a run stops with when an accounting value leaves the float range: the one
/// `quanta_ref.portfolio.overflow_error` makes, so class and message are the reference's.
/// `symbol` is the name of column `e.column`.
pub fn overflow_error(py: Python<'_>, symbol: &Bound<'_, PyString>, e: &Overflow) -> PyErr {
    let made = py.import("quanta_ref.portfolio").and_then(|module| {
        module.getattr("overflow_error")?.call1((
            e.kind.name(),
            e.field,
            e.value,
            e.order_id,
            symbol,
            e.index,
            e.now,
        ))
    });
    match made {
        Ok(error) => PyErr::from_value(error),
        Err(error) => error,
    }
}
