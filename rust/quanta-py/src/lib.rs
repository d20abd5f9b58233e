//! `quanta-py`: the PyO3 glue that builds `quanta_fast._quanta_fast`.
//!
//! Conversions, error mapping and GIL handling only: every rule of the engine lives in
//! `quanta-core`. This crate is not meant to be used from Rust; its Python surface is described
//! by the hand-written stub `quanta_fast/_quanta_fast.pyi`.

#![deny(unsafe_code)]

use pyo3::prelude::*;

mod indicators;

/// The version of the Rust engine core (`quanta_core::version`).
#[pyfunction]
#[pyo3(name = "version")]
fn py_version() -> &'static str {
    quanta_core::version()
}

/// The native module `quanta_fast._quanta_fast`.
#[pymodule]
fn _quanta_fast(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_version, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    indicators::register(m)?;
    Ok(())
}
