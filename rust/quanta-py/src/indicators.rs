//! Python surface of `quanta_core::indicators`: batch functions and streaming classes.
//!
//! The settings are validated twice: first in `quanta_fast/indicators.py`, with the
//! reference's own checks (so a bad type or value raises the same `ConfigError` with the same
//! message), then again by the core constructors, whose errors map to the same classes here.
//!
//! Batch functions take a C-contiguous float64 array, 1-D (a series) or 2-D (a (T, N) panel,
//! computed column by column by the core's `*_panel` functions); the Python wrapper converts
//! any other input with the reference's converter first. They read it in place with the GIL
//! released and move the output `Vec` into a new array of the input's shape. A
//! non-contiguous or unaligned array, or one of another dimension, is refused with `DataError`.
//! A large computation (`LARGE` steps or more) runs on its own thread on a copy of its input,
//! while the caller checks for Ctrl-C (`interrupt::abandonable`): an interrupted call raises
//! at once, and the abandoned computation finishes in the background, its result dropped.
//!
//! The streaming classes convert each argument of `update` as the reference's `_real` does
//! (`to_float`), so they accept (and refuse, with the same `DataError`) the same objects: a
//! `float`, an `int` or a `numpy.float64` is read here, anything else goes to `_real` itself.
//! They pickle and copy through `__reduce__`: the class, the settings and the core's `State`.
//!
//! Each indicator is declared once, in `indicator_table!` below: its class (core struct,
//! constructor settings with the reference's defaults, `update`'s inputs and output, getters)
//! and its batch function (inputs, core output, series and panel functions). The macros
//! `streaming_class!` and `batch_function!` write the PyO3 code; `register` adds it all.

use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyFloat, PyInt, PyType};
use quanta_core::indicators::{self, Columns3, IndicatorError};

use crate::interrupt::abandonable;

pyo3::import_exception!(quanta_ref.errors, ConfigError);
pyo3::import_exception!(quanta_ref.errors, DataError);

/// A core indicator error on its way to Python: `ConfigError` for a setting, `DataError` for
/// input lengths, with the core's message (the reference's text).
struct PyIndicatorError(IndicatorError);

impl From<PyIndicatorError> for PyErr {
    fn from(err: PyIndicatorError) -> PyErr {
        if err.0.is_config() {
            ConfigError::new_err(err.0.to_string())
        } else {
            DataError::new_err(err.0.to_string())
        }
    }
}

/// The reference's `_real(name, value)` (`quanta_ref.indicators`): `float(value)` for a real
/// number, `DataError` naming the argument for anything else. The common cases never leave
/// Rust: an exact `float` and a `numpy.float64` (a float subclass whose `float()` is its
/// value) are read directly, an exact `int` is converted by CPython's `int -> float` (the
/// rounding of `float()`). Anything else, and an int beyond the float range, goes to the
/// reference's function itself, so the value, or the exception class and message, is the
/// reference's.
fn to_float(name: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(float) = value.cast_exact::<PyFloat>() {
        return Ok(float.value());
    }
    let py = value.py();
    static FLOAT64: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    if let Ok(float) = value.cast::<PyFloat>() {
        if value.get_type().is(FLOAT64.import(py, "numpy", "float64")?) {
            return Ok(float.value());
        }
    }
    if value.is_exact_instance_of::<PyInt>() {
        if let Ok(x) = value.extract::<f64>() {
            return Ok(x);
        }
    }
    static REAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let real = REAL.import(py, "quanta_ref.indicators", "_real")?;
    real.call1((name, value))?.extract()
}

/// A batch input: a 1-D series, or a row-major (T, N) panel of N series.
struct Input<'a> {
    data: &'a [f64],
    /// N for a panel, `None` for a series.
    columns: Option<usize>,
    shape: Vec<usize>,
}

/// The array's data and shape, or `DataError` naming the argument if it is not contiguous or
/// not 1-D or 2-D.
fn as_input<'a>(name: &str, values: &'a PyReadonlyArrayDyn<'_, f64>) -> PyResult<Input<'a>> {
    let data = values.as_slice().map_err(|_| {
        DataError::new_err(format!("{name}: expected a contiguous, aligned float64 array"))
    })?;
    let shape = values.shape().to_vec();
    let columns = match shape[..] {
        [_] => None,
        [_, n] => Some(n),
        _ => {
            return Err(DataError::new_err(format!(
                "{name}: expected a 1-D array or a 2-D (T, N) array, got shape {}",
                python_shape(&shape)
            )))
        }
    };
    Ok(Input { data, columns, shape })
}

/// A shape as Python prints a tuple: `(3,)`, `(3, 2)`.
fn python_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// `DataError` for inputs of different shapes, as the reference words it: "lengths differ"
/// between series, "shapes differ" otherwise.
fn shapes_differ(names: &str, inputs: &[&Input<'_>]) -> PyErr {
    if inputs.iter().all(|input| input.columns.is_none()) {
        let lengths: Vec<String> = inputs.iter().map(|input| input.shape[0].to_string()).collect();
        return DataError::new_err(format!("{names}: lengths differ ({})", lengths.join(", ")));
    }
    let shapes: Vec<String> = inputs.iter().map(|input| python_shape(&input.shape)).collect();
    DataError::new_err(format!("{names}: shapes differ ({})", shapes.join(", ")))
}

/// Steps (values times the work per value) from which a batch computation runs on its own
/// thread, interruptible: below, it takes a few milliseconds and runs on the calling thread.
const LARGE: usize = 1 << 24;

/// `compute(inputs)` with the GIL released: on this thread when `steps` is below `LARGE`, else
/// on a copy of the inputs on a thread of its own, while this one checks for Ctrl-C.
fn run_batch<T: Send + 'static, const K: usize>(
    py: Python<'_>,
    inputs: [&[f64]; K],
    steps: usize,
    compute: impl FnOnce([&[f64]; K]) -> T + Send + 'static,
) -> PyResult<T> {
    if steps < LARGE {
        return Ok(py.detach(move || compute(inputs)));
    }
    let owned = inputs.map(<[f64]>::to_vec);
    abandonable(py, move || compute(owned.each_ref().map(Vec::as_slice)))
}

/// A core batch output moved into arrays of the input's shape, without a copy: one array for
/// a `Vec`, a tuple of three for `Columns3`.
trait IntoArrays<'py> {
    type Arrays;
    fn into_arrays(self, py: Python<'py>, shape: &[usize]) -> PyResult<Self::Arrays>;
}

impl<'py, T: numpy::Element> IntoArrays<'py> for Vec<T> {
    type Arrays = Bound<'py, PyArrayDyn<T>>;

    fn into_arrays(self, py: Python<'py>, shape: &[usize]) -> PyResult<Self::Arrays> {
        self.into_pyarray(py).reshape(shape)
    }
}

impl<'py> IntoArrays<'py> for Columns3 {
    type Arrays =
        (Bound<'py, PyArrayDyn<f64>>, Bound<'py, PyArrayDyn<f64>>, Bound<'py, PyArrayDyn<f64>>);

    fn into_arrays(self, py: Python<'py>, shape: &[usize]) -> PyResult<Self::Arrays> {
        let (a, b, c) = self;
        Ok((a.into_arrays(py, shape)?, b.into_arrays(py, shape)?, c.into_arrays(py, shape)?))
    }
}

// ----------------------------------------------------------------------- the generators
/// A streaming class over one core struct of `quanta_core::indicators`:
///
/// ```text
/// /// Docstring.
/// class PythonName = CoreStruct(setting: type = default, ...) {  // default: one token, 14
///     update(value) -> f64;           // or update(high, low, close): the fields of one bar
///     /// Docstring.
///     getter: type;                   // the core method of that name
///     /// Docstring.
///     getter: type = method().0;      // or any method, and a field of what it returns
/// }
/// ```
///
/// `update` returns one number (`-> f64`) or a tuple of three (`-> (upper, middle, lower)`,
/// named for the docstrings); `value` returns the same, `reset()` starts over. Each argument
/// of `update` is converted as `float()` does, in order, so the first bad one is reported.
/// The Rust struct has the Python name: the glue has no Rust callers.
macro_rules! streaming_class {
    (
        $(#[doc = $doc:literal])*
        class $class:ident = $core:ident(
            $($setting:ident: $setting_ty:ty $(= $default:tt)?),*
        ) {
            update($($input:ident),+) -> $output:tt;
            $(
                $(#[doc = $getter_doc:literal])*
                $getter:ident: $getter_ty:ty $(= $method:ident() $(.$field:tt)?)?;
            )*
        }
    ) => {
        $(#[doc = $doc])*
        #[allow(clippy::upper_case_acronyms)]
        #[pyclass(module = "quanta_fast._quanta_fast", subclass)]
        pub struct $class {
            inner: indicators::$core,
        }

        #[pymethods]
        impl $class {
            #[new]
            #[pyo3(signature = ($($setting $(= $default)?),*))]
            fn py_new($($setting: $setting_ty),*) -> PyResult<Self> {
                let inner = indicators::$core::new($($setting),*).map_err(PyIndicatorError)?;
                Ok(Self { inner })
            }

            #[doc = concat!(
                "Add the next ", streaming_class!(@seen $($input),+), "; return ",
                streaming_class!(@returns $output), ", NaN during the warm-up."
            )]
            #[pyo3(name = "update")]
            fn py_update(
                &mut self,
                $($input: &Bound<'_, PyAny>),+
            ) -> PyResult<streaming_class!(@type $output)> {
                $(let $input = to_float(stringify!($input), $input)?;)+
                Ok(self.inner.update($($input),+))
            }

            #[doc = concat!(
                "Forget every ", streaming_class!(@seen $($input),+), " seen, as if just ",
                "constructed."
            )]
            #[pyo3(name = "reset")]
            fn py_reset(&mut self) {
                self.inner.reset();
            }

            /// Pickle and copy support: the class, the settings, and what it has seen (the
            /// core's `State` as two lists of floats), so a copy continues bit for bit.
            fn __reduce__<'py>(
                slf: &Bound<'py, Self>,
            ) -> (Bound<'py, PyType>, ($($setting_ty,)*), (Vec<f64>, Vec<f64>)) {
                let this = slf.borrow();
                let state = this.inner.state();
                (slf.get_type(), ($(this.inner.$setting(),)*), (state.numbers, state.window))
            }

            /// Continue from what `__reduce__` saved; `DataError` for a state that does not
            /// fit this indicator and its settings.
            fn __setstate__(&mut self, state: (Vec<f64>, Vec<f64>)) -> PyResult<()> {
                let (numbers, window) = state;
                let state = indicators::State { numbers, window };
                self.inner.restore(&state).map_err(PyIndicatorError)?;
                Ok(())
            }

            #[doc = streaming_class!(@latest $output)]
            #[getter(value)]
            fn py_value(&self) -> streaming_class!(@type $output) {
                self.inner.value()
            }

            $(
                $(#[doc = $getter_doc])*
                #[getter($getter)]
                fn $getter(&self) -> $getter_ty {
                    streaming_class!(@get (self.inner) $getter $(= $method $(.$field)?)?)
                }
            )*
        }
    };
    // What `update` takes: one value, or the fields of one bar.
    (@seen $input:ident) => { "value" };
    (@seen $($input:ident),+) => { "bar" };
    // What it returns, and what `value` is.
    (@type f64) => { f64 };
    (@type ($a:ident, $b:ident, $c:ident)) => { (f64, f64, f64) };
    (@returns f64) => { "the new output" };
    (@returns ($($name:ident),+)) => { concat!("`(", stringify!($($name),+), ")`") };
    (@latest f64) => { "The latest output (NaN during the warm-up)." };
    (@latest ($($name:ident),+)) => {
        concat!("The latest `(", stringify!($($name),+), ")`, NaN during the warm-up.")
    };
    // A getter's body.
    (@get ($($inner:tt)+) $getter:ident) => { $($inner)+.$getter() };
    (@get ($($inner:tt)+) $getter:ident = $method:ident $(.$field:tt)?) => {
        $($inner)+.$method() $(.$field)?
    };
}

/// A batch function over C-contiguous float64 arrays, 1-D (a series, given to the core's
/// `series` function) or 2-D (a (T, N) panel, given to `panel` with N), with the GIL
/// released (`run_batch`); the output comes back as arrays of the input's shape (`IntoArrays`):
///
/// ```text
/// fn python_name(inputs, ...; settings: type, ...) -> CoreOutput = series, panel,
///     work [<expr>], check <expr>
/// ```
///
/// `work` is the cost of one value in steps when it grows with a setting (a window recomputed
/// at each value: `period`); empty, one step.
///
/// Several inputs must have one shape. That is checked here, before the core runs, so with
/// several inputs the settings are checked first, by the `check` expression (building the
/// streaming indicator), as the reference does. A single input goes to the core as it is,
/// which checks the settings itself; `check` is not needed there.
macro_rules! batch_function {
    (
        fn $name:ident($input:ident; $($setting:ident: $setting_ty:ty),*) -> $output:ty
            = $series:ident, $panel:ident, work [$($work:expr)?] $(, check $check:expr)?
    ) => {
        #[doc = concat!(
            "`quanta_core::indicators::", stringify!($series), "` (or its panel form) over a ",
            "contiguous 1-D or 2-D array."
        )]
        #[pyfunction]
        fn $name<'py>(
            py: Python<'py>,
            $input: PyReadonlyArrayDyn<'py, f64>,
            $($setting: $setting_ty),*
        ) -> PyResult<<$output as IntoArrays<'py>>::Arrays> {
            let $input = as_input(stringify!($input), &$input)?;
            let work: usize = 1 $(.max($work))?;
            let (columns, steps) = ($input.columns, $input.data.len().saturating_mul(work));
            let out = run_batch(py, [$input.data], steps, move |[data]: [&[f64]; 1]| {
                match columns {
                    None => indicators::$series(data, $($setting),*),
                    Some(n) => indicators::$panel(data, n, $($setting),*),
                }
            })?;
            out.map_err(PyIndicatorError)?.into_arrays(py, &$input.shape)
        }
    };
    (
        fn $name:ident($first:ident $(, $rest:ident)+; $($setting:ident: $setting_ty:ty),*)
            -> $output:ty = $series:ident, $panel:ident, work [$($work:expr)?]
            $(, check $check:expr)?
    ) => {
        #[doc = concat!(
            "`quanta_core::indicators::", stringify!($series), "` (or its panel form) over ",
            "contiguous 1-D or 2-D arrays of one shape."
        )]
        #[pyfunction]
        fn $name<'py>(
            py: Python<'py>,
            $first: PyReadonlyArrayDyn<'py, f64>,
            $($rest: PyReadonlyArrayDyn<'py, f64>,)+
            $($setting: $setting_ty),*
        ) -> PyResult<<$output as IntoArrays<'py>>::Arrays> {
            $($check.map_err(PyIndicatorError)?;)?
            let $first = as_input(stringify!($first), &$first)?;
            $(let $rest = as_input(stringify!($rest), &$rest)?;)+
            if $($rest.shape != $first.shape)||+ {
                let names = concat!(stringify!($first), $(", ", stringify!($rest)),+);
                return Err(shapes_differ(names, &[&$first, $(&$rest),+]));
            }
            let columns = $first.columns;
            let inputs = [$first.data, $($rest.data),+];
            let work: usize = 1 $(.max($work))?;
            let steps = $first.data.len().saturating_mul(work).saturating_mul(inputs.len());
            let out = run_batch(py, inputs, steps, move |[$first, $($rest),+]| match columns {
                None => indicators::$series($first, $($rest,)+ $($setting),*),
                Some(n) => indicators::$panel($first, $($rest,)+ n, $($setting),*),
            })?;
            out.map_err(PyIndicatorError)?.into_arrays(py, &$first.shape)
        }
    };
}

/// The table: per indicator an optional streaming class (see `streaming_class!`) and a batch
/// function taking the class's settings after its inputs (see `batch_function!`; `work per
/// value` when a value costs more than one step), plus
/// `add_table`, which adds them all to the module.
macro_rules! indicator_table {
    ($(
        $(
            $(#[doc = $doc:literal])*
            class $class:ident = $core:ident(
                $($setting:ident: $setting_ty:ty $(= $default:tt)?),*
            ) { $($body:tt)* }
        )?
        fn $function:ident($($input:ident),+) -> $output:ty = $series:ident, $panel:ident
            $(, work per value $work:expr)?;
    )*) => {
        $(
            $(
                streaming_class! {
                    $(#[doc = $doc])*
                    class $class = $core($($setting: $setting_ty $(= $default)?),*) {
                        $($body)*
                    }
                }
            )?
            batch_function! {
                fn $function($($input),+; $($($setting: $setting_ty),*)?) -> $output
                    = $series, $panel, work [$($work)?]
                    $(, check indicators::$core::new($($setting),*))?
            }
        )*

        /// Add every class and function of the table to the module.
        fn add_table(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(
                $(m.add_class::<$class>()?;)?
                m.add_function(wrap_pyfunction!($function, m)?)?;
            )*
            Ok(())
        }
    };
}

// ---------------------------------------------------------------------------- the table
// One block per indicator: its streaming class, then its batch function. The crossings have
// no settings and no class; `cross`, one step of two scalar series, is written out below.
indicator_table! {
    /// Simple moving average, streaming.
    class SMA = Sma(period: usize) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
    }
    fn sma(values) -> Vec<f64> = sma, sma_panel;

    /// Exponential moving average, streaming.
    class EMA = Ema(period: usize) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
        /// The smoothing factor `2.0 / (period + 1)`.
        k: f64;
    }
    fn ema(values) -> Vec<f64> = ema, ema_panel;

    /// Weighted moving average, streaming.
    class WMA = Wma(period: usize) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
    }
    fn wma(values) -> Vec<f64> = wma, wma_panel, work per value period;

    /// Relative strength index, streaming.
    class RSI = Rsi(period: usize = 14) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
    }
    fn rsi(values) -> Vec<f64> = rsi, rsi_panel;

    /// MACD line, signal line and histogram, streaming.
    class MACD = Macd(fast: usize = 12, slow: usize = 26, signal: usize = 9) {
        update(value) -> (macd, signal, hist);
        /// The latest MACD line value.
        macd: f64 = value().0;
        /// The latest signal line value (`signal` is the period).
        signal_line: f64 = value().1;
        /// The latest histogram value.
        hist: f64 = value().2;
        /// The fast EMA period.
        fast: usize;
        /// The slow EMA period.
        slow: usize;
        /// The signal EMA period.
        signal: usize;
    }
    fn macd(values) -> Columns3 = macd, macd_panel;

    /// Rolling population standard deviation, streaming.
    class RollingStd = RollingStd(period: usize) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
    }
    fn rolling_std(values) -> Vec<f64> = rolling_std, rolling_std_panel, work per value period;

    /// Bollinger Bands, streaming.
    class BollingerBands = BollingerBands(period: usize = 20, num_std: f64 = 2.0) {
        update(value) -> (upper, middle, lower);
        /// The window length.
        period: usize;
        /// The band width in standard deviations.
        num_std: f64;
    }
    fn bollinger_bands(values) -> Columns3 = bollinger_bands, bollinger_bands_panel, work per value period;

    /// Average true range, streaming.
    class ATR = Atr(period: usize = 14) {
        update(high, low, close) -> f64;
        /// The smoothing period.
        period: usize;
    }
    fn atr(high, low, close) -> Vec<f64> = atr, atr_panel;

    /// Highest value, streaming.
    class Highest = Highest(period: usize) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
    }
    fn highest(values) -> Vec<f64> = highest, highest_panel;

    /// Lowest value, streaming.
    class Lowest = Lowest(period: usize) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
    }
    fn lowest(values) -> Vec<f64> = lowest, lowest_panel;

    /// Rate of change in percent, streaming.
    class ROC = Roc(period: usize = 10) {
        update(value) -> f64;
        /// The period given to the constructor.
        period: usize;
    }
    fn roc(values) -> Vec<f64> = roc, roc_panel;

    fn crossed_above(fast, slow) -> Vec<bool> = crossed_above, crossed_above_panel;
    fn crossed_below(fast, slow) -> Vec<bool> = crossed_below, crossed_below_panel;
}

// Not in the table: no array, no settings; four scalars, converted as `float()` does.
/// One step of two series: +1 cross up, -1 cross down, 0 no cross; see
/// `quanta_ref.indicators.cross` (this function is `quanta_fast.indicators.cross` itself).
#[pyfunction]
#[pyo3(name = "cross")]
fn py_cross(
    prev_fast: &Bound<'_, PyAny>,
    prev_slow: &Bound<'_, PyAny>,
    fast: &Bound<'_, PyAny>,
    slow: &Bound<'_, PyAny>,
) -> PyResult<i8> {
    let prev_fast = to_float("prev_fast", prev_fast)?;
    let prev_slow = to_float("prev_slow", prev_slow)?;
    let (fast, slow) = (to_float("fast", fast)?, to_float("slow", slow)?);
    Ok(indicators::cross(prev_fast, prev_slow, fast, slow))
}

/// Add the indicator classes and functions to the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    add_table(m)?;
    m.add_function(wrap_pyfunction!(py_cross, m)?)?;
    Ok(())
}
