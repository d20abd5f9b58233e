//! Compiled (numba) strategies at the Python edge: a job (a `quanta_ref.compiled.CompiledJob`,
//! read by attribute name) becomes a `quanta_core::compiled::CompiledJob`, whose entry is the
//! address of the strategy's numba `cfunc`; `quanta_core::compiled` runs it with the GIL
//! released (`Engine.run_compiled` here, many at once in `Engine.run_jobs`, see `arrays.rs`).
//! A run that stops is turned into the reference's exception by the reference's own helpers
//! (`compiled_request_error`, `compiled_callback_error` of `quanta_fast._glue`).
//!
//! Python keeps the job (and so the `cfunc` and its parameter record) alive during the call.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyTuple};

use quanta_core::bars::BarsView;
use quanta_core::compiled::{self, CompiledHost, CompiledJob, Entry, Halt, Request};
use quanta_core::engine::Core;

use crate::bars::Names;
use crate::costs::raised;
use crate::errors::{internal_error, overflow_error, panic_message, ConfigError};
use crate::glue::Glue;

/// The largest state (values, all symbols) and request buffer of a job: those of
/// `quanta_ref.compiled` (`MAX_STATE_VALUES`, `MAX_REQUESTS`).
const MAX_STATE_VALUES: usize = 1 << 27;
const MAX_REQUESTS: usize = 1 << 20;

/// A compiled job as Python describes it (`quanta_ref.compiled.CompiledJob`).
#[derive(FromPyObject)]
pub(crate) struct CompiledFields {
    entry_address: usize,
    callbacks: i64,
    params_address: usize,
    state_size: usize,
    max_requests: usize,
}

impl CompiledFields {
    /// The job of `job` if it has the attributes of a compiled job (`entry_address`, ...).
    pub fn read(job: &Bound<'_, PyAny>) -> Option<PyResult<CompiledJob>> {
        if !job.hasattr("entry_address").unwrap_or(false) {
            return None;
        }
        Some(job.extract::<CompiledFields>().and_then(CompiledFields::job))
    }

    fn job(self) -> PyResult<CompiledJob> {
        if self.entry_address == 0 || !(0..32).contains(&self.callbacks) {
            return Err(ConfigError::new_err(format!(
                "job: a compiled job needs an entry address and a callback mask in 0..32, got \
                 {:#x} and {}",
                self.entry_address, self.callbacks
            )));
        }
        // `quanta_ref.compiled` refuses larger buffers before a job gets here; this guards
        // the allocations of a job made by hand (an allocation failure would abort).
        if self.state_size > MAX_STATE_VALUES || !(1..=MAX_REQUESTS).contains(&self.max_requests) {
            return Err(ConfigError::new_err(format!(
                "job: state_size must be at most {MAX_STATE_VALUES} and max_requests from 1 to \
                 {MAX_REQUESTS}, got {} and {}",
                self.state_size, self.max_requests
            )));
        }
        Ok(CompiledJob {
            entry: entry(self.entry_address),
            callbacks: self.callbacks,
            params: self.params_address,
            state_size: self.state_size,
            max_requests: self.max_requests,
        })
    }
}

/// The entry at `address` (not 0).
#[allow(unsafe_code)]
fn entry(address: usize) -> Entry {
    // SAFETY: `address` is not 0 and is the address of a numba `cfunc` of C signature
    // `int64(Frame*)` (`quanta_ref.compiled_numba` builds it, from the frame layout checked
    // against `compiled_layout()`), which touches only what the frame describes and lives as
    // long as the Python job that holds it, i.e. the whole call. A function pointer has the
    // size of a `usize` on every target Python runs on.
    unsafe { std::mem::transmute::<usize, Entry>(address) }
}

/// How a compiled job ended, when it did not finish.
pub(crate) enum Failure {
    /// The core's reason.
    Halt(Halt),
    /// A bug: a panic inside the core, caught on the job's thread.
    Panic(String),
}

/// Run `job` on this thread over `bars` from `core` (new, made for `bars`), unless `cancel`
/// is set; never unwinds.
pub(crate) fn run_one(
    core: Core,
    bars: BarsView<'_>,
    job: CompiledJob,
    cancel: &AtomicBool,
) -> Result<Core, Failure> {
    if cancel.load(Ordering::Relaxed) {
        return Err(Failure::Halt(Halt::Cancelled)); // an interrupted call starts no more jobs
    }
    let run = || {
        let mut host = CompiledHost::with_core(core, bars, job).with_cancel(cancel);
        host.run().map(|()| host.into_core())
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(core)) => Ok(core),
        Ok(Err(halt)) => Err(Failure::Halt(halt)),
        Err(payload) => Err(Failure::Panic(panic_message(payload))),
    }
}

/// The exception a failed job raises: the reference's, made by the reference's helpers.
pub(crate) fn failure_error(py: Python<'_>, glue: &Glue, names: &Names, failure: Failure) -> PyErr {
    let halt = match failure {
        Failure::Panic(message) => return internal_error(&message),
        Failure::Halt(halt) => halt,
    };
    let made = match halt {
        Halt::Callback { callback, status, fault, fault_value, n_requests, column, index, now } => {
            let symbol = usize::try_from(column).ok().map(|n| names.name(py, n));
            let arguments = (callback, status, fault, fault_value, n_requests, symbol, index, now);
            glue.compiled_callback_error.bind(py).call1(arguments)
        }
        Halt::Request { request, index, now, last_price } => {
            request_tuple(py, &request).and_then(|request| {
                let symbols = names.symbols.bind(py);
                let arguments = (request, symbols, index, now, last_price);
                glue.compiled_request_error.bind(py).call1(arguments)
            })
        }
        // Only a signal sets the flag, and then `interruptible` returned its error.
        Halt::Cancelled => {
            return internal_error("a compiled job was cancelled without an interrupt")
        }
        Halt::Overflow(e) => return overflow_error(py, names.name(py, e.column), &e),
        Halt::Model(error) => return raised(error),
    };
    match made {
        Ok(error) if error.is_instance_of::<pyo3::exceptions::PyBaseException>() => {
            PyErr::from_value(error)
        }
        Ok(_) => internal_error("a compiled job's request or callback was refused natively only"),
        Err(error) => error,
    }
}

/// The request's 13 fields in layout order, as a tuple.
fn request_tuple<'py>(py: Python<'py>, r: &Request) -> PyResult<Bound<'py, PyTuple>> {
    let ints =
        [r.kind, r.column, r.side, r.order_type, r.time_in_force, r.order_id, r.expire_at, r.given];
    let floats = [r.quantity, r.limit_price, r.stop_price, r.trail_amount, r.trail_percent];
    let mut fields: Vec<Bound<'py, PyAny>> =
        ints.iter().map(|&v| PyInt::new(py, v).into_any()).collect();
    fields.extend(floats.iter().map(|&v| PyFloat::new(py, v).into_any()));
    PyTuple::new(py, fields)
}

/// The records' C layouts and the code tables (`quanta_core::compiled`), for the test that
/// compares them with the numpy dtypes of `quanta_ref.compiled`: {"Frame": [(name, offset,
/// size), ...], "OrderRecord": ..., "FillRecord": ..., "Request": ..., "codes": {"side":
/// [names], ...}}.
#[pyfunction]
#[pyo3(name = "compiled_layout")]
fn py_compiled_layout(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    for (record, fields) in compiled::layout() {
        out.set_item(record, PyList::new(py, fields)?)?;
    }
    let codes = PyDict::new(py);
    for (field, names) in compiled::codes() {
        codes.set_item(field, PyList::new(py, names)?)?;
    }
    out.set_item("codes", codes)?;
    Ok(out)
}

/// Add this module's functions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(py_compiled_layout, m)?)
}
