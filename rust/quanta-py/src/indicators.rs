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
//! non-contiguous array, or one of another dimension, is refused with `DataError`.
//!
//! The streaming classes convert each argument of `update` exactly as the reference's
//! `float(value)` does, so they accept (and refuse) the same objects: a `float` is read
//! directly, anything else goes through Python's `float()`.

use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyFloat;
use quanta_core::indicators::{self, IndicatorError};

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

/// `float(value)` as the reference computes it: exact `float` objects directly, anything else
/// (int, numpy scalar, str, float subclass, ...) through Python's `float()`, which raises the
/// reference's exceptions for what it refuses.
fn to_float(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if let Ok(float) = value.cast_exact::<PyFloat>() {
        return Ok(float.value());
    }
    value.py().get_type::<PyFloat>().call1((value,))?.extract()
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
    let data = values
        .as_slice()
        .map_err(|_| DataError::new_err(format!("{name}: expected a contiguous float64 array")))?;
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

/// An output `Vec` as a new array of the input's shape (no copy).
fn into_array<'py, T: numpy::Element>(
    py: Python<'py>,
    out: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    out.into_pyarray(py).reshape(shape)
}

// --------------------------------------------------------------------- streaming classes
/// A single-output streaming indicator class over one core struct: `update(value)`, `value`,
/// `reset()`, a read-only `period`, and any extra methods given in braces.
macro_rules! single_output_class {
    ($py_name:literal, $rust_name:ident, $core:ty, $doc:literal $(, { $($extra:tt)* })?) => {
        #[doc = $doc]
        #[pyclass(name = $py_name, module = "quanta_fast._quanta_fast", subclass)]
        pub struct $rust_name {
            inner: $core,
        }

        #[pymethods]
        impl $rust_name {
            #[new]
            fn py_new(period: usize) -> PyResult<Self> {
                Ok(Self { inner: <$core>::new(period).map_err(PyIndicatorError)? })
            }

            /// Add the next value; return the new output, NaN during the warm-up.
            #[pyo3(name = "update")]
            fn py_update(&mut self, value: &Bound<'_, PyAny>) -> PyResult<f64> {
                Ok(self.inner.update(to_float(value)?))
            }

            /// Forget every value seen, as if just constructed.
            #[pyo3(name = "reset")]
            fn py_reset(&mut self) {
                self.inner.reset();
            }

            /// The latest output (NaN during the warm-up).
            #[getter(value)]
            fn py_value(&self) -> f64 {
                self.inner.value()
            }

            /// The period given to the constructor.
            #[getter(period)]
            fn py_period(&self) -> usize {
                self.inner.period()
            }

            $($($extra)*)?
        }
    };
}

single_output_class!("SMA", PySma, indicators::Sma, "Simple moving average, streaming.");
single_output_class!("EMA", PyEma, indicators::Ema, "Exponential moving average, streaming.", {
    /// The smoothing factor `2.0 / (period + 1)`.
    #[getter(k)]
    fn py_k(&self) -> f64 {
        self.inner.k()
    }
});
single_output_class!("WMA", PyWma, indicators::Wma, "Weighted moving average, streaming.");
single_output_class!("RSI", PyRsi, indicators::Rsi, "Relative strength index, streaming.");
single_output_class!(
    "RollingStd",
    PyRollingStd,
    indicators::RollingStd,
    "Rolling population standard deviation, streaming."
);
single_output_class!("Highest", PyHighest, indicators::Highest, "Highest value, streaming.");
single_output_class!("Lowest", PyLowest, indicators::Lowest, "Lowest value, streaming.");
single_output_class!("ROC", PyRoc, indicators::Roc, "Rate of change in percent, streaming.");

/// MACD line, signal line and histogram, streaming.
#[pyclass(name = "MACD", module = "quanta_fast._quanta_fast", subclass)]
pub struct PyMacd {
    inner: indicators::Macd,
}

#[pymethods]
impl PyMacd {
    #[new]
    #[pyo3(signature = (fast=12, slow=26, signal=9))]
    fn py_new(fast: usize, slow: usize, signal: usize) -> PyResult<Self> {
        Ok(Self { inner: indicators::Macd::new(fast, slow, signal).map_err(PyIndicatorError)? })
    }

    /// Add the next value; return `(macd, signal, hist)`, NaN during the warm-up.
    #[pyo3(name = "update")]
    fn py_update(&mut self, value: &Bound<'_, PyAny>) -> PyResult<(f64, f64, f64)> {
        Ok(self.inner.update(to_float(value)?))
    }

    /// Forget every value seen, as if just constructed.
    #[pyo3(name = "reset")]
    fn py_reset(&mut self) {
        self.inner.reset();
    }

    /// The latest `(macd, signal, hist)`, NaN where not defined yet.
    #[getter(value)]
    fn py_value(&self) -> (f64, f64, f64) {
        self.inner.value()
    }

    /// The latest MACD line value.
    #[getter(macd)]
    fn py_macd(&self) -> f64 {
        self.inner.value().0
    }

    /// The latest signal line value (`signal` is the period).
    #[getter(signal_line)]
    fn py_signal_line(&self) -> f64 {
        self.inner.value().1
    }

    /// The latest histogram value.
    #[getter(hist)]
    fn py_hist(&self) -> f64 {
        self.inner.value().2
    }

    /// The fast EMA period.
    #[getter(fast)]
    fn py_fast(&self) -> usize {
        self.inner.fast()
    }

    /// The slow EMA period.
    #[getter(slow)]
    fn py_slow(&self) -> usize {
        self.inner.slow()
    }

    /// The signal EMA period.
    #[getter(signal)]
    fn py_signal(&self) -> usize {
        self.inner.signal()
    }
}

/// Bollinger Bands, streaming.
#[pyclass(name = "BollingerBands", module = "quanta_fast._quanta_fast", subclass)]
pub struct PyBollingerBands {
    inner: indicators::BollingerBands,
}

#[pymethods]
impl PyBollingerBands {
    #[new]
    #[pyo3(signature = (period=20, num_std=2.0))]
    fn py_new(period: usize, num_std: f64) -> PyResult<Self> {
        let inner = indicators::BollingerBands::new(period, num_std).map_err(PyIndicatorError)?;
        Ok(Self { inner })
    }

    /// Add the next value; return `(upper, middle, lower)`, NaN during the warm-up.
    #[pyo3(name = "update")]
    fn py_update(&mut self, value: &Bound<'_, PyAny>) -> PyResult<(f64, f64, f64)> {
        Ok(self.inner.update(to_float(value)?))
    }

    /// Forget every value seen, as if just constructed.
    #[pyo3(name = "reset")]
    fn py_reset(&mut self) {
        self.inner.reset();
    }

    /// The latest `(upper, middle, lower)`, NaN during the warm-up.
    #[getter(value)]
    fn py_value(&self) -> (f64, f64, f64) {
        self.inner.value()
    }

    /// The window length.
    #[getter(period)]
    fn py_period(&self) -> usize {
        self.inner.period()
    }

    /// The band width in standard deviations.
    #[getter(num_std)]
    fn py_num_std(&self) -> f64 {
        self.inner.num_std()
    }
}

/// Average true range, streaming.
#[pyclass(name = "ATR", module = "quanta_fast._quanta_fast", subclass)]
pub struct PyAtr {
    inner: indicators::Atr,
}

#[pymethods]
impl PyAtr {
    #[new]
    #[pyo3(signature = (period=14))]
    fn py_new(period: usize) -> PyResult<Self> {
        Ok(Self { inner: indicators::Atr::new(period).map_err(PyIndicatorError)? })
    }

    /// Add the next bar; return the average true range or NaN during the warm-up.
    #[pyo3(name = "update")]
    fn py_update(
        &mut self,
        high: &Bound<'_, PyAny>,
        low: &Bound<'_, PyAny>,
        close: &Bound<'_, PyAny>,
    ) -> PyResult<f64> {
        // Converted in the reference's order, so the first bad argument is the one reported.
        let (high, low, close) = (to_float(high)?, to_float(low)?, to_float(close)?);
        Ok(self.inner.update(high, low, close))
    }

    /// Forget every bar seen, as if just constructed.
    #[pyo3(name = "reset")]
    fn py_reset(&mut self) {
        self.inner.reset();
    }

    /// The latest output (NaN during the warm-up).
    #[getter(value)]
    fn py_value(&self) -> f64 {
        self.inner.value()
    }

    /// The smoothing period.
    #[getter(period)]
    fn py_period(&self) -> usize {
        self.inner.period()
    }
}

// ----------------------------------------------------------------------- batch functions
/// A single-output batch function: `name(values, period) -> ndarray` of the same shape.
macro_rules! single_output_function {
    ($py_name:literal, $rust_name:ident, $series:path, $panel:path) => {
        #[doc = concat!("`quanta_core::indicators::", $py_name, "` (or its panel form) over a ")]
        #[doc = "contiguous 1-D or 2-D array."]
        #[pyfunction]
        #[pyo3(name = $py_name)]
        fn $rust_name<'py>(
            py: Python<'py>,
            values: PyReadonlyArrayDyn<'py, f64>,
            period: usize,
        ) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
            let input = as_input("values", &values)?;
            let out = py.detach(|| match input.columns {
                None => $series(input.data, period),
                Some(n) => $panel(input.data, n, period),
            });
            into_array(py, out.map_err(PyIndicatorError)?, &input.shape)
        }
    };
}

single_output_function!("sma", py_sma, indicators::sma, indicators::sma_panel);
single_output_function!("ema", py_ema, indicators::ema, indicators::ema_panel);
single_output_function!("wma", py_wma, indicators::wma, indicators::wma_panel);
single_output_function!("rsi", py_rsi, indicators::rsi, indicators::rsi_panel);
single_output_function!(
    "rolling_std",
    py_rolling_std,
    indicators::rolling_std,
    indicators::rolling_std_panel
);
single_output_function!("highest", py_highest, indicators::highest, indicators::highest_panel);
single_output_function!("lowest", py_lowest, indicators::lowest, indicators::lowest_panel);
single_output_function!("roc", py_roc, indicators::roc, indicators::roc_panel);

type Arrays3<'py> =
    (Bound<'py, PyArrayDyn<f64>>, Bound<'py, PyArrayDyn<f64>>, Bound<'py, PyArrayDyn<f64>>);

fn into_arrays3<'py>(
    py: Python<'py>,
    (a, b, c): indicators::Columns3,
    shape: &[usize],
) -> PyResult<Arrays3<'py>> {
    Ok((into_array(py, a, shape)?, into_array(py, b, shape)?, into_array(py, c, shape)?))
}

/// `quanta_core::indicators::macd` (or `macd_panel`) over a contiguous 1-D or 2-D array.
#[pyfunction]
#[pyo3(name = "macd")]
fn py_macd<'py>(
    py: Python<'py>,
    values: PyReadonlyArrayDyn<'py, f64>,
    fast: usize,
    slow: usize,
    signal: usize,
) -> PyResult<Arrays3<'py>> {
    let input = as_input("values", &values)?;
    let out = py.detach(|| match input.columns {
        None => indicators::macd(input.data, fast, slow, signal),
        Some(n) => indicators::macd_panel(input.data, n, fast, slow, signal),
    });
    into_arrays3(py, out.map_err(PyIndicatorError)?, &input.shape)
}

/// `quanta_core::indicators::bollinger_bands` (or its panel form) over a contiguous 1-D or
/// 2-D array.
#[pyfunction]
#[pyo3(name = "bollinger_bands")]
fn py_bollinger_bands<'py>(
    py: Python<'py>,
    values: PyReadonlyArrayDyn<'py, f64>,
    period: usize,
    num_std: f64,
) -> PyResult<Arrays3<'py>> {
    let input = as_input("values", &values)?;
    let out = py.detach(|| match input.columns {
        None => indicators::bollinger_bands(input.data, period, num_std),
        Some(n) => indicators::bollinger_bands_panel(input.data, n, period, num_std),
    });
    into_arrays3(py, out.map_err(PyIndicatorError)?, &input.shape)
}

/// `quanta_core::indicators::atr` (or `atr_panel`) over three contiguous arrays of one shape.
#[pyfunction]
#[pyo3(name = "atr")]
fn py_atr<'py>(
    py: Python<'py>,
    high: PyReadonlyArrayDyn<'py, f64>,
    low: PyReadonlyArrayDyn<'py, f64>,
    close: PyReadonlyArrayDyn<'py, f64>,
    period: usize,
) -> PyResult<Bound<'py, PyArrayDyn<f64>>> {
    // The period first, then the inputs, as the reference.
    indicators::Atr::new(period).map_err(PyIndicatorError)?;
    let (h, l, c) = (as_input("high", &high)?, as_input("low", &low)?, as_input("close", &close)?);
    if h.shape != l.shape || l.shape != c.shape {
        return Err(shapes_differ("high, low, close", &[&h, &l, &c]));
    }
    let out = py.detach(|| match c.columns {
        None => indicators::atr(h.data, l.data, c.data, period),
        Some(n) => indicators::atr_panel(h.data, l.data, c.data, n, period),
    });
    into_array(py, out.map_err(PyIndicatorError)?, &c.shape)
}

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
    let (prev_fast, prev_slow) = (to_float(prev_fast)?, to_float(prev_slow)?);
    let (fast, slow) = (to_float(fast)?, to_float(slow)?);
    Ok(indicators::cross(prev_fast, prev_slow, fast, slow))
}

type CrossedSeries = fn(&[f64], &[f64]) -> Result<Vec<bool>, IndicatorError>;
type CrossedPanel = fn(&[f64], &[f64], usize) -> Result<Vec<bool>, IndicatorError>;

/// A crossing function over two contiguous arrays of one shape: `series` for 1-D inputs,
/// `panel` (with the number of columns) for 2-D ones.
fn crossed<'py>(
    py: Python<'py>,
    fast: PyReadonlyArrayDyn<'py, f64>,
    slow: PyReadonlyArrayDyn<'py, f64>,
    series: CrossedSeries,
    panel: CrossedPanel,
) -> PyResult<Bound<'py, PyArrayDyn<bool>>> {
    let (f, s) = (as_input("fast", &fast)?, as_input("slow", &slow)?);
    if f.shape != s.shape {
        return Err(shapes_differ("fast, slow", &[&f, &s]));
    }
    let out = py.detach(|| match f.columns {
        None => series(f.data, s.data),
        Some(n) => panel(f.data, s.data, n),
    });
    into_array(py, out.map_err(PyIndicatorError)?, &f.shape)
}

/// `quanta_core::indicators::crossed_above` (or its panel form) over two contiguous arrays of
/// one shape.
#[pyfunction]
#[pyo3(name = "crossed_above")]
fn py_crossed_above<'py>(
    py: Python<'py>,
    fast: PyReadonlyArrayDyn<'py, f64>,
    slow: PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, PyArrayDyn<bool>>> {
    crossed(py, fast, slow, indicators::crossed_above, indicators::crossed_above_panel)
}

/// `quanta_core::indicators::crossed_below` (or its panel form) over two contiguous arrays of
/// one shape.
#[pyfunction]
#[pyo3(name = "crossed_below")]
fn py_crossed_below<'py>(
    py: Python<'py>,
    fast: PyReadonlyArrayDyn<'py, f64>,
    slow: PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, PyArrayDyn<bool>>> {
    crossed(py, fast, slow, indicators::crossed_below, indicators::crossed_below_panel)
}

/// Add the indicator classes and functions to the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySma>()?;
    m.add_class::<PyEma>()?;
    m.add_class::<PyWma>()?;
    m.add_class::<PyRsi>()?;
    m.add_class::<PyMacd>()?;
    m.add_class::<PyRollingStd>()?;
    m.add_class::<PyBollingerBands>()?;
    m.add_class::<PyAtr>()?;
    m.add_class::<PyHighest>()?;
    m.add_class::<PyLowest>()?;
    m.add_class::<PyRoc>()?;
    m.add_function(wrap_pyfunction!(py_sma, m)?)?;
    m.add_function(wrap_pyfunction!(py_ema, m)?)?;
    m.add_function(wrap_pyfunction!(py_wma, m)?)?;
    m.add_function(wrap_pyfunction!(py_rsi, m)?)?;
    m.add_function(wrap_pyfunction!(py_macd, m)?)?;
    m.add_function(wrap_pyfunction!(py_bollinger_bands, m)?)?;
    m.add_function(wrap_pyfunction!(py_atr, m)?)?;
    m.add_function(wrap_pyfunction!(py_rolling_std, m)?)?;
    m.add_function(wrap_pyfunction!(py_highest, m)?)?;
    m.add_function(wrap_pyfunction!(py_lowest, m)?)?;
    m.add_function(wrap_pyfunction!(py_roc, m)?)?;
    m.add_function(wrap_pyfunction!(py_cross, m)?)?;
    m.add_function(wrap_pyfunction!(py_crossed_above, m)?)?;
    m.add_function(wrap_pyfunction!(py_crossed_below, m)?)?;
    Ok(())
}
