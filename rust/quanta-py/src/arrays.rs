//! Array jobs (`quanta_ref.arrays.Signals` / `Targets`) run by `quanta_core::arrays`, many at
//! once: every input is read with the GIL held, then the GIL is released for the whole
//! computation, which runs the jobs on a rayon pool. Each job is independent and runs on one
//! thread, so the results do not depend on the number of threads.
//!
//! The arrays are read in place, without a copy. As with any code that releases the GIL over
//! numpy memory, another Python thread must not write to them while the run lasts.

use std::sync::Arc;

use numpy::{Element, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyList;
use rayon::prelude::*;

use quanta_core::arrays::{self, Job, PriceError, Signals, SizeType, Stop, Targets};
use quanta_core::bars::BarsView;
use quanta_core::config::Config;
use quanta_core::engine::Core;
use quanta_core::execution::Overflow;

use crate::bars::{BarArrays, Names};
use crate::context::PyContext;
use crate::errors::{
    internal_error, overflow_error, panic_message, ConfigError, DataError, QuantaError,
};
use crate::glue::Glue;

/// A job's arrays, borrowed read-only from numpy and checked: C-contiguous (T, N).
enum JobArrays<'py> {
    Signals {
        entries: PyReadonlyArray2<'py, bool>,
        exits: PyReadonlyArray2<'py, bool>,
        short_entries: Option<PyReadonlyArray2<'py, bool>>,
        short_exits: Option<PyReadonlyArray2<'py, bool>>,
        size: f64,
        size_type: SizeType,
        stop_loss: Option<f64>,
        take_profit: Option<f64>,
    },
    Targets {
        weights: PyReadonlyArray2<'py, f64>,
    },
}

/// `value` as a C-contiguous (T, N) array of `T`, or a `DataError` naming the field and job.
fn panel<'py, T: Element>(
    value: &Bound<'py, PyAny>,
    name: &str,
    position: usize,
    shape: [usize; 2],
    dtype: &str,
) -> PyResult<PyReadonlyArray2<'py, T>> {
    let refused = || {
        DataError::new_err(format!(
            "{name}: the native engine reads a C-contiguous {dtype} array of shape {shape:?} \
             (bars x symbols) in place and refuses other arrays (job {position})"
        ))
    };
    let array: PyReadonlyArray2<'py, T> = value.extract().map_err(|_| refused())?;
    if array.shape() != shape || !array.is_c_contiguous() || array.as_slice().is_err() {
        return Err(refused());
    }
    Ok(array)
}

/// A `quanta_ref.arrays.Signals` job (already checked), read by attribute name.
#[derive(FromPyObject)]
struct SignalsFields<'py> {
    entries: Bound<'py, PyAny>,
    exits: Bound<'py, PyAny>,
    short_entries: Bound<'py, PyAny>,
    short_exits: Bound<'py, PyAny>,
    size: f64,
    size_type: String,
    stop_loss: Option<f64>,
    take_profit: Option<f64>,
}

/// A `quanta_ref.arrays.Targets` job (already checked), read by attribute name.
#[derive(FromPyObject)]
struct TargetsFields<'py> {
    weights: Bound<'py, PyAny>,
}

/// Either kind of job: the first whose attributes the object has.
#[derive(FromPyObject)]
enum JobFields<'py> {
    Signals(SignalsFields<'py>),
    Targets(TargetsFields<'py>),
}

impl<'py> JobArrays<'py> {
    /// A checked job's arrays (`Signals` or `Targets`); `position` is its place in the list.
    fn read(job: &Bound<'py, PyAny>, position: usize, shape: [usize; 2]) -> PyResult<Self> {
        let fields: JobFields<'py> = job.extract().map_err(|_| {
            ConfigError::new_err(format!(
                "job: expected a quanta_ref.arrays.Signals or Targets (job {position})"
            ))
        })?;
        let bools = |value: &Bound<'py, PyAny>, name: &str| {
            panel::<bool>(value, name, position, shape, "bool")
        };
        let optional = |value: &Bound<'py, PyAny>, name: &str| {
            (!value.is_none()).then(|| bools(value, name)).transpose()
        };
        match fields {
            JobFields::Signals(job) => {
                let size_type = SizeType::from_name(&job.size_type).ok_or_else(|| {
                    ConfigError::new_err(format!(
                        "size_type: must be 'percent' or 'quantity', got {:?} (job {position})",
                        job.size_type
                    ))
                })?;
                Ok(JobArrays::Signals {
                    entries: bools(&job.entries, "entries")?,
                    exits: bools(&job.exits, "exits")?,
                    short_entries: optional(&job.short_entries, "short_entries")?,
                    short_exits: optional(&job.short_exits, "short_exits")?,
                    size: job.size,
                    size_type,
                    stop_loss: job.stop_loss,
                    take_profit: job.take_profit,
                })
            }
            JobFields::Targets(job) => Ok(JobArrays::Targets {
                weights: panel::<f64>(&job.weights, "weights", position, shape, "float64")?,
            }),
        }
    }

    /// The job as the core runs it.
    fn job(&self) -> Job<'_> {
        match self {
            JobArrays::Signals {
                entries,
                exits,
                short_entries,
                short_exits,
                size,
                size_type,
                stop_loss,
                take_profit,
            } => Job::Signals(Signals {
                entries: slice(entries),
                exits: slice(exits),
                short_entries: short_entries.as_ref().map(slice),
                short_exits: short_exits.as_ref().map(slice),
                size: *size,
                size_type: *size_type,
                stop_loss: *stop_loss,
                take_profit: *take_profit,
            }),
            JobArrays::Targets { weights } => {
                Job::Targets(Targets { weights: weights.as_slice().expect("checked by `panel`") })
            }
        }
    }
}

fn slice<'a>(array: &'a PyReadonlyArray2<'_, bool>) -> &'a [bool] {
    array.as_slice().expect("checked by `panel`")
}

/// How one job ended, when it did not finish.
enum JobError {
    /// An exit price the reference refuses (its `OrderError`).
    Price(PriceError),
    /// An accounting value outside the float range (the reference's `overflow_error`).
    Overflow(Overflow),
    /// A bug: a panic inside the core, caught on the job's thread.
    Panic(String),
}

/// Run one job on this thread; never unwinds.
fn run_one(config: &Config, bars: BarsView<'_>, job: Job<'_>) -> Result<Core, JobError> {
    let run = std::panic::AssertUnwindSafe(|| arrays::run_job(config.clone(), bars, job));
    match std::panic::catch_unwind(run) {
        Ok(Ok(core)) => Ok(core),
        Ok(Err(Stop::Price(error))) => Err(JobError::Price(error)),
        Ok(Err(Stop::Overflow(error))) => Err(JobError::Overflow(error)),
        Err(payload) => Err(JobError::Panic(panic_message(payload))),
    }
}

/// Run `jobs` on `n_jobs` threads (None: rayon's default, one per core), results in job order.
fn run_all(
    config: &Config,
    bars: BarsView<'_>,
    jobs: &[Job<'_>],
    n_jobs: Option<usize>,
) -> Result<Vec<Result<Core, JobError>>, String> {
    let run = |job: &Job<'_>| run_one(config, bars, *job);
    if jobs.len() <= 1 || n_jobs == Some(1) {
        return Ok(jobs.iter().map(run).collect()); // no thread to start
    }
    match n_jobs {
        // rayon's global pool has one thread per core: reuse it rather than start threads.
        None => Ok(jobs.par_iter().map(run).collect()),
        Some(n) if n == rayon::current_num_threads() => Ok(jobs.par_iter().map(run).collect()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| format!("cannot start {n} threads: {e}"))?;
            Ok(pool.install(|| jobs.par_iter().map(run).collect()))
        }
    }
}

/// `Engine.run_jobs`: read everything, release the GIL, run, build one context per job (or
/// the exception the job raised), in job order.
pub fn run_jobs<'py>(
    py: Python<'py>,
    config: &Config,
    glue: &Arc<Glue>,
    bars: &Bound<'py, PyAny>,
    jobs: &Bound<'py, PyList>,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let arrays = BarArrays::read(bars)?;
    let view = arrays.view();
    if view.n_bars() == 0 {
        return Err(DataError::new_err("bars: the native engine needs at least one bar"));
    }
    let shape = [view.n_bars(), view.n_symbols];
    let inputs = jobs
        .iter()
        .enumerate()
        .map(|(k, job)| JobArrays::read(&job, k, shape))
        .collect::<PyResult<Vec<_>>>()?;
    let native: Vec<Job<'_>> = inputs.iter().map(JobArrays::job).collect();
    let results = py.detach(|| run_all(config, view, &native, n_jobs));
    let results = results.map_err(QuantaError::new_err)?;
    let names = Names::new(&arrays.symbols)?;
    let out = PyList::empty(py);
    for result in results {
        match result {
            Ok(core) => {
                out.append(Bound::new(py, PyContext::new(py, core, bars, &names, glue.clone()))?)?
            }
            Err(JobError::Price(e)) => {
                out.append(price_error(py, glue, &names, &e).into_value(py))?
            }
            Err(JobError::Overflow(e)) => {
                out.append(overflow_error(py, names.name(py, e.column), &e).into_value(py))?
            }
            Err(JobError::Panic(message)) => out.append(internal_error(&message).into_value(py))?,
        }
    }
    Ok(out)
}

/// The `OrderError` the reference's `ctx.submit_order` raises for this price (its own check,
/// `quanta_ref.engine.check_number`, called with the same arguments).
fn price_error(py: Python<'_>, glue: &Glue, names: &Names, e: &PriceError) -> PyErr {
    let check = glue.check_number.bind(py);
    let raised = check.call1((e.field, e.value, names.name(py, e.column), true, e.index, e.now));
    match raised {
        Err(error) => error,
        Ok(_) => internal_error(&format!("{}: {} was refused natively only", e.field, e.value)),
    }
}
