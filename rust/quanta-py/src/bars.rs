//! The bar panel at the edge: a `quanta_ref.Bars` read in place, and its symbols as a context
//! looks them up.

use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use quanta_core::bars::BarsView;

use crate::errors::DataError;

/// The arrays of a `quanta_ref.Bars` panel, borrowed read-only from numpy (no copy).
pub(crate) struct BarArrays<'py> {
    timestamps: PyReadonlyArray1<'py, i64>,
    fields: [PyReadonlyArray2<'py, f64>; 5],
    /// The symbols, in data order.
    pub symbols: Bound<'py, PyTuple>,
}

impl<'py> BarArrays<'py> {
    /// Borrow the panel's arrays; a layout the engine cannot read in place is a `DataError`.
    pub fn read(bars: &Bound<'py, PyAny>) -> PyResult<Self> {
        let timestamps: PyReadonlyArray1<'py, i64> = bars.getattr("timestamps")?.extract()?;
        if timestamps.as_slice().is_err() {
            return Err(DataError::new_err(
                "timestamps: the native engine needs a contiguous int64 array",
            ));
        }
        let symbols = bars.getattr("symbols")?.cast_into::<PyTuple>()?;
        let shape = [timestamps.len(), symbols.len()];
        let field = |name: &str| -> PyResult<PyReadonlyArray2<'py, f64>> {
            let array: PyReadonlyArray2<'py, f64> = bars.getattr(name)?.extract()?;
            if array.shape() != shape || !array.is_c_contiguous() || array.as_slice().is_err() {
                return Err(DataError::new_err(format!(
                    "{name}: the native engine reads a C-contiguous float64 panel of shape \
                     {shape:?} (bars x symbols) in place and refuses other layouts; build the \
                     panel with Bars.from_arrays"
                )));
            }
            Ok(array)
        };
        let fields =
            [field("open")?, field("high")?, field("low")?, field("close")?, field("volume")?];
        Ok(BarArrays { timestamps, fields, symbols })
    }

    /// The panel as the core reads it.
    pub fn view(&self) -> BarsView<'_> {
        let slice = |k: usize| self.fields[k].as_slice().expect("checked by `read`");
        BarsView {
            timestamps: self.timestamps.as_slice().expect("checked by `read`"),
            open: slice(0),
            high: slice(1),
            low: slice(2),
            close: slice(3),
            volume: slice(4),
            n_symbols: self.symbols.len(),
        }
    }
}

/// The symbols of a panel as a context looks them up, built once and shared by the contexts
/// of many runs on the same bars.
pub(crate) struct Names {
    pub(crate) symbols: Py<PyTuple>,
    pub(crate) names: Vec<Py<PyString>>,
    pub(crate) columns: Py<PyDict>,
}

impl Names {
    /// From the panel's symbols (each a `str`).
    pub fn new(symbols: &Bound<'_, PyTuple>) -> PyResult<Self> {
        let py = symbols.py();
        let columns = PyDict::new(py);
        for (n, symbol) in symbols.iter().enumerate() {
            columns.set_item(symbol, n)?;
        }
        let names = symbols
            .iter()
            .map(|s| s.cast_into::<PyString>().map(Bound::unbind))
            .collect::<Result<_, _>>()?;
        Ok(Names { symbols: symbols.clone().unbind(), names, columns: columns.unbind() })
    }

    /// The name of column `n`.
    pub fn name<'py>(&self, py: Python<'py>, n: usize) -> &Bound<'py, PyString> {
        self.names[n].bind(py)
    }
}
