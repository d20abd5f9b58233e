//! Array jobs (`quanta_ref.arrays.Signals` / `Targets`) run by `quanta_core::arrays`, and
//! compiled jobs (`compiled.rs`) run by `quanta_core::compiled`, many at once: every input is
//! read with the GIL held, then the jobs run on a rayon pool with the GIL released
//! (`interrupt::interruptible`: Ctrl-C stops them within milliseconds). Each job is
//! independent and runs on one thread, so the results do not depend on the number of threads.
//!
//! Two ways to hand the jobs back: `run_jobs` keeps each finished `Core` in a context (the
//! whole run, read from Python on demand); `run_jobs_stats` keeps only what a grid ranks by,
//! each job's statistics and rejection counts, computed on the job's thread as soon as it
//! ends, and drops the `Core` there, so a large grid never holds more than one run per thread.
//!
//! The arrays are read in place, without a copy (but for boolean arrays holding bytes other
//! than 0 and 1, see `Flags`). As with any code that releases the GIL over numpy memory,
//! another Python thread must not write to them while the run lasts.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

use numpy::ndarray::Array2;
use numpy::{
    Element, IntoPyArray, PyArray2, PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;

use quanta_core::arrays::{self, Halt, Job, PriceError, Signals, SizeType, Targets};
use quanta_core::bars::BarsView;
use quanta_core::compiled::{CompiledJob, Halt as CompiledHalt};
use quanta_core::config::Config;
use quanta_core::engine::Core;
use quanta_core::execution::Overflow;
use quanta_core::metrics::infer_periods_per_year;

use crate::bars::{BarArrays, Names};
use crate::compiled::{self, CompiledFields, Failure};
use crate::context::PyContext;
use crate::errors::{
    internal_error, overflow_error, panic_message, ConfigError, DataError, QuantaError,
};
use crate::glue::Glue;
use crate::interrupt::interruptible;
use crate::metrics::{self, N_RUN_STATS};

/// A boolean (T, N) array as numpy reads it: a byte that is not 0 is true. An array of 0/1
/// bytes (any array numpy computed) is read in place; one with other bytes (a `uint8`
/// buffer viewed as bool) is read as a normalised copy, since a Rust `bool` must be 0 or 1.
enum Flags<'py> {
    InPlace(PyReadonlyArray2<'py, bool>),
    Normalised(Vec<bool>),
}

impl Flags<'_> {
    fn as_slice(&self) -> &[bool] {
        match self {
            Flags::InPlace(array) => array.as_slice().expect("checked by `panel`"),
            Flags::Normalised(values) => values,
        }
    }
}

/// A job's arrays, borrowed read-only from numpy and checked: C-contiguous (T, N).
enum JobArrays<'py> {
    Signals {
        entries: Flags<'py>,
        exits: Flags<'py>,
        short_entries: Option<Flags<'py>>,
        short_exits: Option<Flags<'py>>,
        size: f64,
        size_type: SizeType,
        stop_loss: Option<f64>,
        take_profit: Option<f64>,
    },
    Targets {
        weights: PyReadonlyArray2<'py, f64>,
    },
}

/// `value` as a C-contiguous, aligned (T, N) array of `T` (checked without reading it), or a
/// `DataError` naming the field and job. The Python side (`quanta_ref.arrays`) hands over
/// such arrays only; this is the native side's own guard.
fn panel<'py, T: Element>(
    value: &Bound<'py, PyAny>,
    name: &str,
    position: usize,
    shape: [usize; 2],
    dtype: &str,
) -> PyResult<PyReadonlyArray2<'py, T>> {
    let refused = || {
        DataError::new_err(format!(
            "{name}: the native engine reads a C-contiguous, aligned {dtype} array of shape \
             {shape:?} (bars x symbols) in place and refuses other arrays (job {position})"
        ))
    };
    let array = value.cast::<PyUntypedArray>().map_err(|_| refused())?;
    if array.shape() != shape || !array.is_c_contiguous() || !array.is_aligned() {
        return Err(refused());
    }
    value.extract().map_err(|_| refused())
}

/// A boolean panel (`panel`), its bytes checked as `u8` before any is read as `bool`.
fn flags<'py>(
    value: &Bound<'py, PyAny>,
    name: &str,
    position: usize,
    shape: [usize; 2],
) -> PyResult<Flags<'py>> {
    let array = panel::<bool>(value, name, position, shape, "bool")?;
    let bytes: PyReadonlyArray2<'py, u8> = value.call_method1("view", ("u1",))?.extract()?;
    let raw = bytes.as_slice().expect("a view of a checked panel");
    if raw.iter().all(|&b| b <= 1) {
        return Ok(Flags::InPlace(array));
    }
    Ok(Flags::Normalised(raw.iter().map(|&b| b != 0).collect()))
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
                "job: expected a quanta_ref.arrays.Signals or Targets, or a compiled job (job \
                 {position})"
            ))
        })?;
        let bools = |value: &Bound<'py, PyAny>, name: &str| flags(value, name, position, shape);
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

fn slice<'a>(flags: &'a Flags<'_>) -> &'a [bool] {
    flags.as_slice()
}

/// One job of a batch, as read from Python: an array job's borrowed arrays, or a compiled job.
enum Input<'py> {
    Array(JobArrays<'py>),
    Compiled(CompiledJob),
}

impl Input<'_> {
    /// The job as the core runs it.
    fn work(&self) -> Work<'_> {
        match self {
            Input::Array(arrays) => Work::Array(arrays.job()),
            Input::Compiled(job) => Work::Compiled(*job),
        }
    }
}

/// One job of a batch as the core runs it.
#[derive(Clone, Copy)]
enum Work<'a> {
    Array(Job<'a>),
    Compiled(CompiledJob),
}

/// Bars (rows x symbols, over all jobs) below which a call runs on the calling thread: a few
/// milliseconds at most, even for jobs that trade on every bar (about 0.5 us per bar).
const SHORT_RUN: usize = 1 << 14;

/// How one job ended, when it did not finish.
enum JobError {
    /// An exit price the reference refuses (its `OrderError`).
    Price(PriceError),
    /// An accounting value outside the float range (the reference's `overflow_error`).
    Overflow(Overflow),
    /// Stopped by Ctrl-C: the whole call raises `KeyboardInterrupt` and returns nothing.
    Cancelled,
    /// A bug: a panic inside the core, caught on the job's thread.
    Panic(String),
    /// A compiled job's callback failed or its request was refused.
    Compiled(Failure),
}

/// Run one job on this thread, unless `cancel` is set; never unwinds.
fn run_one(
    config: &Config,
    bars: BarsView<'_>,
    work: Work<'_>,
    cancel: &AtomicBool,
) -> Result<Core, JobError> {
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(JobError::Cancelled); // an interrupted call starts no more jobs
    }
    let job = match work {
        Work::Array(job) => job,
        Work::Compiled(job) => {
            let core = Core::new(config.clone(), &bars);
            return compiled::run_one(core, bars, job, cancel).map_err(|failure| match failure {
                Failure::Halt(CompiledHalt::Cancelled) => JobError::Cancelled,
                Failure::Halt(CompiledHalt::Overflow(error)) => JobError::Overflow(*error),
                failure => JobError::Compiled(failure),
            });
        }
    };
    let run = || arrays::run_job_until(config.clone(), bars, job, cancel);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(core)) => Ok(core),
        Ok(Err(Halt::Price(error))) => Err(JobError::Price(error)),
        Ok(Err(Halt::Cancelled)) => Err(JobError::Cancelled),
        Ok(Err(Halt::Overflow(error))) => Err(JobError::Overflow(*error)),
        Err(payload) => Err(JobError::Panic(panic_message(payload))),
    }
}

/// The threads a run of `n_jobs` uses: one per job, at most one per CPU this process may use
/// (more cannot make runs that only compute faster); None: one per CPU.
fn threads(n_jobs: Option<usize>) -> usize {
    // Asked once: on Linux the answer reads the cgroup files, tens of microseconds a time.
    static CPUS: OnceLock<usize> = OnceLock::new();
    let cpus = *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    n_jobs.map_or(cpus, |n| n.min(cpus))
}

/// Run `jobs` on `threads(n_jobs)` threads and `finish` each finished run on its thread;
/// results in job order. A panic in `finish` becomes that job's `JobError::Panic`.
fn run_all<T: Send>(
    config: &Config,
    bars: BarsView<'_>,
    jobs: &[Work<'_>],
    n_jobs: Option<usize>,
    cancel: &AtomicBool,
    finish: &(impl Fn(Core) -> T + Sync),
) -> Result<Vec<Result<T, JobError>>, String> {
    let run = |job: &Work<'_>| {
        let core = run_one(config, bars, *job, cancel)?;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| finish(core)))
            .map_err(|payload| JobError::Panic(panic_message(payload)))
    };
    let n = threads(n_jobs);
    if jobs.len() <= 1 || n == 1 {
        return Ok(jobs.iter().map(run).collect()); // no thread to start
    }
    if n == rayon::current_num_threads() {
        // rayon's global pool has one thread per CPU: reuse it rather than start threads.
        return Ok(jobs.par_iter().map(run).collect());
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| format!("cannot start {n} threads: {e}"))?;
    Ok(pool.install(|| jobs.par_iter().map(run).collect()))
}

/// Read every job and the bars with the GIL held, release it, run the jobs (Ctrl-C stops
/// every job and raises) and `finish` each finished run on its thread (it gets the run and
/// the bars); the outcomes in job order, and the symbols' names for the errors.
#[allow(clippy::too_many_arguments)] // the inputs of `run_jobs`, and what to keep of a run
fn run_batch<'py, T: Send>(
    py: Python<'py>,
    config: &Config,
    bars: &Bound<'py, PyAny>,
    market: &Bound<'py, PyAny>,
    actions: Option<&Bound<'py, PyAny>>,
    jobs: &Bound<'py, PyList>,
    n_jobs: Option<usize>,
    finish: impl Fn(Core, BarsView<'_>) -> T + Sync,
) -> PyResult<(Vec<Result<T, JobError>>, Names)> {
    let arrays = BarArrays::read(bars, market)?.with_actions(actions)?;
    let view = arrays.view();
    let shape = [view.n_bars(), view.n_symbols];
    let inputs = jobs
        .iter()
        .enumerate()
        .map(|(k, job)| match CompiledFields::read(&job) {
            Some(compiled) => compiled.map(Input::Compiled),
            None => JobArrays::read(&job, k, shape).map(Input::Array),
        })
        .collect::<PyResult<Vec<_>>>()?;
    let native: Vec<Work<'_>> = inputs.iter().map(Input::work).collect();
    let cells = view.n_bars() * view.n_symbols;
    let len = |work: &Work<'_>| match work {
        Work::Array(job) => job.len(),
        Work::Compiled(_) => cells,
    };
    let bar_events = native.iter().map(len).fold(0usize, usize::saturating_add);
    let short = bar_events < SHORT_RUN;
    let finish = |core| finish(core, view);
    let results =
        interruptible(py, short, |cancel| run_all(config, view, &native, n_jobs, cancel, &finish))?;
    let results = results.map_err(QuantaError::new_err)?;
    Ok((results, Names::new(&arrays.symbols)?))
}

/// The exception a job that did not finish raises (an interrupted call raised already).
fn job_error(py: Python<'_>, glue: &Glue, names: &Names, error: JobError) -> PyResult<PyErr> {
    Ok(match error {
        JobError::Price(e) => price_error(py, glue, names, &e),
        JobError::Overflow(e) => overflow_error(py, names.name(py, e.column), &e),
        JobError::Cancelled => {
            // Only a signal sets the flag, and then `interruptible` returned its error.
            return Err(internal_error("a job was cancelled without an interrupt"));
        }
        JobError::Panic(message) => internal_error(&message),
        JobError::Compiled(failure) => compiled::failure_error(py, glue, names, failure),
    })
}

/// `Engine.run_jobs`: read everything, release the GIL, run (Ctrl-C stops every job and
/// raises), build one context per job (or the exception the job raised), in job order.
#[allow(clippy::too_many_arguments)] // the native entry point: each argument is one input
pub fn run_jobs<'py>(
    py: Python<'py>,
    config: &Config,
    glue: &Arc<Glue>,
    bars: &Bound<'py, PyAny>,
    market: &Bound<'py, PyAny>,
    actions: Option<&Bound<'py, PyAny>>,
    jobs: &Bound<'py, PyList>,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyList>> {
    let keep = |core, _: BarsView<'_>| core;
    let (results, names) = run_batch(py, config, bars, market, actions, jobs, n_jobs, keep)?;
    let out = PyList::empty(py);
    for result in results {
        match result {
            Ok(core) => {
                out.append(Bound::new(py, PyContext::new(py, core, bars, &names, glue.clone()))?)?
            }
            Err(error) => out.append(job_error(py, glue, &names, error)?.into_value(py))?,
        }
    }
    Ok(out)
}

/// What a grid keeps of a finished job: its statistics and its rejections by reason.
struct Summary {
    stats: [f64; N_RUN_STATS],
    rejections: std::collections::BTreeMap<&'static str, usize>,
}

/// `Engine.run_jobs_stats`: the jobs run as in `run_jobs`, but each one's statistics
/// (`metrics::run_stats`) and rejection counts are taken on its thread as it ends and its
/// `Core` dropped there. Returns a float64 (K, S) array of the statistics, in the order of
/// `BacktestResult.stats` (NaN in the row of a job that failed), and per job its rejections
/// (a dict) or the exception it raised, in job order.
#[allow(clippy::too_many_arguments)] // the native entry point: each argument is one input
pub fn run_jobs_stats<'py>(
    py: Python<'py>,
    config: &Config,
    glue: &Arc<Glue>,
    bars: &Bound<'py, PyAny>,
    market: &Bound<'py, PyAny>,
    actions: Option<&Bound<'py, PyAny>>,
    jobs: &Bound<'py, PyList>,
    n_jobs: Option<usize>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyList>)> {
    // Inferred once for the batch, not once per job (every job has the same timestamps): the
    // same number `compute_stats` would infer, so the same bits.
    let inferred = OnceLock::new();
    let summary = |core: Core, bars: BarsView<'_>| {
        let periods_per_year = config
            .periods_per_year
            .unwrap_or_else(|| *inferred.get_or_init(|| infer_periods_per_year(bars.timestamps)));
        Summary {
            stats: metrics::run_stats(&core, bars.timestamps, &core.equity, Some(periods_per_year)),
            rejections: metrics::rejections(&core),
        }
    };
    let (results, names) = run_batch(py, config, bars, market, actions, jobs, n_jobs, summary)?;
    let mut stats = Vec::with_capacity(results.len() * N_RUN_STATS);
    let outcomes = PyList::empty(py);
    for result in results {
        match result {
            Ok(summary) => {
                stats.extend_from_slice(&summary.stats);
                let rejections = PyDict::new(py);
                for (reason, count) in summary.rejections {
                    rejections.set_item(reason, count)?;
                }
                outcomes.append(rejections)?;
            }
            Err(error) => {
                stats.extend_from_slice(&[f64::NAN; N_RUN_STATS]);
                outcomes.append(job_error(py, glue, &names, error)?.into_value(py))?;
            }
        }
    }
    let rows = outcomes.len();
    let stats = Array2::from_shape_vec((rows, N_RUN_STATS), stats)
        .map_err(|e| internal_error(&format!("statistics of {rows} jobs: {e}")))?;
    Ok((stats.into_pyarray(py), outcomes))
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
