//! `quanta-py`: the PyO3 glue that builds `quanta_fast._quanta_fast`.
//!
//! Conversions, error mapping and GIL handling only: every rule of the engine lives in
//! `quanta-core`. This crate is not meant to be used from Rust; its Python surface is described
//! by the hand-written stub `quanta_fast/_quanta_fast.pyi`.

#![deny(unsafe_code)]

use pyo3::prelude::*;

mod alloc;
mod arrays;
mod bars;
mod compiled;
mod context;
mod costs;
mod engine;
mod errors;
mod glue;
mod host;
mod indicators;
mod interrupt;
mod metrics;
mod session;

/// Large blocks on huge pages (`alloc.rs`).
#[global_allocator]
static HEAP: alloc::HugePages = alloc::HugePages;

/// The version of the Rust engine core (`quanta_core::version`).
#[pyfunction]
#[pyo3(name = "version")]
fn py_version() -> &'static str {
    quanta_core::version()
}

/// Panics inside the engine's panic guard: lets the tests check that a Rust panic reaches
/// Python as a `QuantaError` (never called by the engine).
#[pyfunction]
#[pyo3(name = "_debug_panic")]
fn py_debug_panic() -> PyResult<()> {
    errors::catch_panic(|| panic!("deliberate panic for the test suite"))
}

/// The native module `quanta_fast._quanta_fast`.
#[pymodule]
fn _quanta_fast(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_version, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<context::PyContext>()?;
    m.add_class::<context::PyBar>()?;
    m.add_class::<context::PyPortfolio>()?;
    m.add_class::<session::PySession>()?;
    m.add_function(wrap_pyfunction!(session::write_row, m)?)?;
    m.add_function(wrap_pyfunction!(py_debug_panic, m)?)?;
    compiled::register(m)?;
    metrics::register(m)?;
    indicators::register(m)?;
    Ok(())
}
