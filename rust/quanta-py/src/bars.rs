//! The bar panel at the edge: a `quanta_ref.Bars` read in place, and its symbols as a context
//! looks them up.

use numpy::{PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PySet, PyString, PyTuple};

use quanta_core::bars::{BarsView, CorporateAction, Instruments, Market, N_RATES};
use quanta_core::config::CommissionModel;

use crate::costs::commission_model;
use crate::errors::DataError;

/// The arrays of a `quanta_ref.Bars` panel, borrowed read-only from numpy (no copy).
pub(crate) struct BarArrays<'py> {
    timestamps: PyReadonlyArray1<'py, i64>,
    fields: [PyReadonlyArray2<'py, f64>; 5],
    /// The symbols, in data order.
    pub symbols: Bound<'py, PyTuple>,
    /// The rows read: the first `stop` (all of a `Bars`; those filled so far of a session's
    /// growing panel).
    stop: usize,
    /// The run's `quanta_ref.market.RunMarket` tables: limit_down, limit_up (T, N), then the
    /// rate table (K, 5); None where the run has none.
    limits: Option<[PyReadonlyArray2<'py, f64>; 2]>,
    rate_rows: Option<PyReadonlyArray1<'py, i64>>,
    rates: Option<PyReadonlyArray2<'py, f64>>,
    /// The symbols' own settings (`RunMarket.lots`, `ticks`, `multipliers`, `margins`,
    /// `maintenance`), N values each, copied; None when the run has none.
    instruments: Option<[Vec<f64>; 5]>,
    /// The symbols' own commission models (`RunMarket.commissions`, None: the engine-wide
    /// rule), converted; empty when no symbol has one.
    commissions: Vec<Option<CommissionModel>>,
    /// The corporate actions of the run, in application order.
    actions: Vec<CorporateAction>,
}

impl<'py> BarArrays<'py> {
    /// Borrow the panel's arrays; a layout the engine cannot read in place is a `DataError`.
    ///
    /// Every way of building a `Bars` validates it in Python; the checks here are only
    /// defence in depth, so that a panel built around the constructor is refused with the
    /// constructor's message rather than reaching the core (which assumes at least one bar,
    /// one symbol and `str` names).
    ///
    /// `market` is the run's `quanta_ref.market.RunMarket`, read the same way.
    pub fn read(bars: &Bound<'py, PyAny>, market: &Bound<'py, PyAny>) -> PyResult<Self> {
        let timestamps = timestamps_of(bars)?;
        if timestamps.len() == 0 {
            return Err(DataError::new_err("timestamps: no bars (empty array)"));
        }
        let symbols = bars
            .getattr("symbols")?
            .cast_into::<PyTuple>()
            .map_err(|_| DataError::new_err("symbols: expected a list of names"))?;
        check_symbols(&symbols)?;
        let stop = timestamps.len();
        Self::read_rows(bars, Some(market), timestamps, symbols, stop, true)
    }

    /// Borrow the first `stop` rows (at least one) of a panel that grows: a live session's
    /// (`quanta_ref.session.Panel`), whose arrays have room for more rows than are filled.
    /// `symbols` are the panel's, checked once when the session began (`checked_symbols`);
    /// `market` is the `RunMarket` of the rows so far (its limit tables have at least `stop`
    /// rows), or None for none.
    pub fn read_first(
        panel: &Bound<'py, PyAny>,
        market: Option<&Bound<'py, PyAny>>,
        symbols: Bound<'py, PyTuple>,
        stop: usize,
    ) -> PyResult<Self> {
        let timestamps = timestamps_of(panel)?;
        if stop == 0 || timestamps.len() < stop {
            return Err(DataError::new_err(format!(
                "timestamps: the panel has room for {} rows, not {stop}",
                timestamps.len()
            )));
        }
        Self::read_rows(panel, market, timestamps, symbols, stop, false)
    }

    /// The fields and market tables of the first `stop` rows: of exactly `stop` rows when
    /// `exact`, else of at least `stop`.
    fn read_rows(
        bars: &Bound<'py, PyAny>,
        market: Option<&Bound<'py, PyAny>>,
        timestamps: PyReadonlyArray1<'py, i64>,
        symbols: Bound<'py, PyTuple>,
        stop: usize,
        exact: bool,
    ) -> PyResult<Self> {
        let n_symbols = symbols.len();
        let shape = [stop, n_symbols];
        let fits = |found: &[usize]| {
            found[1] == n_symbols && if exact { found[0] == stop } else { found[0] >= stop }
        };
        let expected = if exact {
            format!("of shape {shape:?} (bars x symbols)")
        } else {
            format!("of at least {stop} rows of {n_symbols} symbols")
        };
        let field = |name: &str| -> PyResult<PyReadonlyArray2<'py, f64>> {
            let layout = || {
                DataError::new_err(format!(
                    "{name}: the native engine reads a C-contiguous float64 panel {expected} in \
                     place and refuses other layouts; build the panel with Bars.from_arrays"
                ))
            };
            let array: PyReadonlyArray2<'py, f64> =
                bars.getattr(name)?.extract().map_err(|_| layout())?;
            if !fits(array.shape()) || !array.is_c_contiguous() || array.as_slice().is_err() {
                return Err(layout());
            }
            Ok(array)
        };
        let fields =
            [field("open")?, field("high")?, field("low")?, field("close")?, field("volume")?];
        let Some(market) = market else {
            let (limits, rate_rows, rates, actions) = (None, None, None, Vec::new());
            return Ok(BarArrays {
                timestamps,
                fields,
                symbols,
                stop,
                limits,
                rate_rows,
                rates,
                instruments: None,
                commissions: Vec::new(),
                actions,
            });
        };
        let table =
            |name: &str, width: Option<usize>| -> PyResult<Option<PyReadonlyArray2<'py, f64>>> {
                let value = market.getattr(name)?;
                if value.is_none() {
                    return Ok(None);
                }
                let refused = || {
                    DataError::new_err(format!(
                        "{name}: the native engine reads a C-contiguous float64 table in place"
                    ))
                };
                let array: PyReadonlyArray2<'py, f64> = value.extract().map_err(|_| refused())?;
                let fits = match width {
                    None => fits(array.shape()),
                    Some(width) => array.shape()[1] == width,
                };
                if !fits || !array.is_c_contiguous() || array.as_slice().is_err() {
                    return Err(refused());
                }
                Ok(Some(array))
            };
        let limits = match (table("limit_down", None)?, table("limit_up", None)?) {
            (Some(down), Some(up)) => Some([down, up]),
            (None, None) => None,
            _ => return Err(DataError::new_err("limit_down, limit_up: give both or neither")),
        };
        let rates = table("rates", Some(N_RATES))?;
        let rate_rows = match market.getattr("rate_rows")? {
            rows if rows.is_none() => None,
            rows => {
                let rows: PyReadonlyArray1<'py, i64> = rows.extract()?;
                let k = rates.as_ref().map_or(0, |r| r.shape()[0]);
                let slice = rows.as_slice().map_err(|_| contiguous_int64())?;
                let ascending = slice.windows(2).all(|w| w[0] < w[1]);
                if slice.len() != k || slice.first() != Some(&0) || !ascending {
                    return Err(DataError::new_err(
                        "rate_rows: expected ascending rows from 0, one per row of rates",
                    ));
                }
                Some(rows)
            }
        };
        if rates.is_some() != rate_rows.is_some() {
            return Err(DataError::new_err("rate_rows, rates: give both or neither"));
        }
        let column = |name: &str| -> PyResult<Option<Vec<f64>>> {
            let value = market.getattr(name)?;
            if value.is_none() {
                return Ok(None);
            }
            let refused = || {
                DataError::new_err(format!(
                    "{name}: expected a float64 array of one value per symbol ({n_symbols})"
                ))
            };
            let array: PyReadonlyArray1<'py, f64> = value.extract().map_err(|_| refused())?;
            let values = array.to_vec().map_err(|_| refused())?;
            if values.len() != n_symbols {
                return Err(refused());
            }
            Ok(Some(values))
        };
        let names = ["lots", "ticks", "multipliers", "margins", "maintenance"];
        let read: Vec<Option<Vec<f64>>> =
            names.iter().map(|n| column(n)).collect::<PyResult<_>>()?;
        let instruments = if read.iter().all(Option::is_some) {
            let mut read = read.into_iter().map(Option::unwrap_or_default);
            Some(std::array::from_fn(|_| read.next().unwrap_or_default()))
        } else if read.iter().all(Option::is_none) {
            None
        } else {
            return Err(DataError::new_err(format!("{}: give all or none", names.join(", "))));
        };
        let commissions = match market.getattr("commissions")? {
            models if models.is_none() => Vec::new(),
            models => {
                let models = models.cast_into::<PyTuple>().map_err(|_| {
                    DataError::new_err("commissions: expected a tuple of one model per symbol")
                })?;
                if models.len() != n_symbols || instruments.is_none() {
                    return Err(DataError::new_err(format!(
                        "commissions: expected one model per symbol ({n_symbols}), with the \
                         other per-symbol columns"
                    )));
                }
                models
                    .iter()
                    .map(|model| match commission_model(&model)? {
                        // Refused by the config check; defence in depth.
                        (Some(CommissionModel::External), _) => Err(DataError::new_err(
                            "commissions: a per-symbol commission must be a named model",
                        )),
                        (own, _) => Ok(own),
                    })
                    .collect::<PyResult<_>>()?
            }
        };
        let actions = Vec::new();
        Ok(BarArrays {
            timestamps,
            fields,
            symbols,
            stop,
            limits,
            rate_rows,
            rates,
            instruments,
            commissions,
            actions,
        })
    }

    /// Read the corporate actions of a run: None, or the tuple of 1-D arrays (row, column,
    /// cash, shares) of `quanta_ref.actions.schedule` (int64, int64, float64, float64), rows
    /// ascending. Anything else is a `DataError` (the shared Python computes it; this is
    /// defence in depth).
    pub fn with_actions(mut self, actions: Option<&Bound<'py, PyAny>>) -> PyResult<Self> {
        let Some(actions) = actions else { return Ok(self) };
        let bad = |what: &str| DataError::new_err(format!("actions: {what}"));
        let (rows, columns, cash, shares): (
            PyReadonlyArray1<'py, i64>,
            PyReadonlyArray1<'py, i64>,
            PyReadonlyArray1<'py, f64>,
            PyReadonlyArray1<'py, f64>,
        ) = actions.extract().map_err(|_| {
            bad("expected a tuple of 1-D arrays (row int64, column int64, cash, shares)")
        })?;
        let (rows, columns) = (rows.to_vec()?, columns.to_vec()?);
        let (cash, shares) = (cash.to_vec()?, shares.to_vec()?);
        let k = rows.len();
        if columns.len() != k || cash.len() != k || shares.len() != k {
            return Err(bad("the four arrays differ in length"));
        }
        let (n_bars, n_symbols) = (self.stop, self.symbols.len());
        let mut last = 0usize;
        for a in 0..k {
            let (row, column) = (rows[a], columns[a]);
            if row < 0 || row as usize >= n_bars || column < 0 || column as usize >= n_symbols {
                return Err(bad(&format!("action {a} is outside the panel")));
            }
            if (row as usize) < last {
                return Err(bad("rows must ascend"));
            }
            last = row as usize;
            self.actions.push(CorporateAction {
                row: row as usize,
                column: column as usize,
                cash: cash[a],
                shares: shares[a],
            });
        }
        Ok(self)
    }

    /// The panel as the core reads it.
    pub fn view(&self) -> BarsView<'_> {
        let cells = self.stop * self.symbols.len();
        let slice = |k: usize| &self.fields[k].as_slice().expect("checked by `read`")[..cells];
        let limit = |k: usize| {
            self.limits.as_ref().map_or(&[][..], |l| &l[k].as_slice().expect("read")[..cells])
        };
        BarsView {
            timestamps: &self.timestamps.as_slice().expect("checked by `read`")[..self.stop],
            open: slice(0),
            high: slice(1),
            low: slice(2),
            close: slice(3),
            volume: slice(4),
            n_symbols: self.symbols.len(),
            market: Market {
                limit_down: limit(0),
                limit_up: limit(1),
                rate_rows: self.rate_rows.as_ref().map_or(&[], |r| r.as_slice().expect("read")),
                rates: self.rates.as_ref().map_or(&[], |r| r.as_slice().expect("read")),
                instruments: match &self.instruments {
                    None => Instruments::default(),
                    Some([lots, ticks, multipliers, margins, maintenance]) => Instruments {
                        lots,
                        ticks,
                        multipliers,
                        margins,
                        maintenance,
                        commissions: &self.commissions,
                    },
                },
            },
            actions: &self.actions,
        }
    }
}

/// The panel's timestamps, a contiguous int64 array (else a `DataError`).
fn timestamps_of<'py>(bars: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArray1<'py, i64>> {
    let timestamps: PyReadonlyArray1<'py, i64> =
        bars.getattr("timestamps")?.extract().map_err(|_| contiguous_int64())?;
    if timestamps.as_slice().is_err() {
        return Err(contiguous_int64());
    }
    Ok(timestamps)
}

fn contiguous_int64() -> PyErr {
    DataError::new_err("timestamps: the native engine needs a contiguous int64 array")
}

/// The symbols of a session's panel (a tuple of `str`), checked once when the session begins
/// with the rules of `Bars`.
pub(crate) fn checked_symbols<'py>(panel: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
    let symbols = panel
        .getattr("symbols")?
        .cast_into::<PyTuple>()
        .map_err(|_| DataError::new_err("symbols: expected a tuple of names"))?;
    check_symbols(&symbols)?;
    Ok(symbols)
}

/// The symbol rules of `Bars` (quanta_ref/bars.py, `_symbol_list`), with its messages: at
/// least one, each a non-empty `str`, none twice.
fn check_symbols(symbols: &Bound<'_, PyTuple>) -> PyResult<()> {
    for symbol in symbols.iter() {
        let named = symbol.cast::<PyString>().map(|s| s.to_str().map(|t| !t.is_empty()));
        if !matches!(named, Ok(Ok(true))) {
            return Err(DataError::new_err(format!(
                "symbols: every symbol must be a non-empty string, got {}",
                symbol.repr()?
            )));
        }
    }
    let seen = PySet::empty(symbols.py())?;
    for symbol in symbols.iter() {
        if seen.contains(&symbol)? {
            return Err(DataError::new_err(format!(
                "symbols: {} appears more than once",
                symbol.repr()?
            )));
        }
        seen.add(&symbol)?;
    }
    if symbols.is_empty() {
        return Err(DataError::new_err("symbols: no symbols"));
    }
    Ok(())
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
