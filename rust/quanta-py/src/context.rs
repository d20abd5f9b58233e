//! The `ctx` of a native run (`quanta_ref.api.Context`) and the bar object `on_bar` receives.
//!
//! The context owns the run's [`Core`]; the loop borrows it only between deliveries, so a
//! callback may call any context method. A context is valid only inside its run's callbacks:
//! every method first checks that it is called on the thread of its run and that the run has
//! not ended, and raises the reference's `OrderError` otherwise (`quanta_ref.engine`'s
//! `CONTEXT_THREAD` and `CONTEXT_ENDED`); no other thread ever holds a borrow of it. Well-formed arguments (a known `str` symbol, `"buy"`,
//! a finite `float` or `int`) are handled here; anything else goes to the reference's own
//! checks (`quanta_fast._glue`, i.e. `quanta_ref.engine.check_*`), which either normalise the
//! value or raise the reference's exception with the reference's message.

use std::sync::Arc;
use std::thread::{self, ThreadId};

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use quanta_core::engine::{Core, Report};
use quanta_core::execution::Broker;
use quanta_core::execution::{trailing_level, Target, Terms};
use quanta_core::orders::{Fill, Order, OrderStatus, OrderType, Reason, Side, TimeInForce};

use crate::bars::Names;
use crate::errors::{internal_error, overflow_error, DataError, OrderError};
use crate::glue::Glue;
use crate::metrics;

/// One bar as `on_bar` sees it (the fields of `quanta_ref.events.BarEvent`). The engine reuses
/// one object while no one else holds it, and makes a new one when the strategy kept the last.
#[pyclass(name = "Bar", module = "quanta_fast._quanta_fast")]
pub struct PyBar {
    /// Timestamp, int64 ns.
    #[pyo3(get)]
    pub(crate) timestamp: i64,
    /// Symbol.
    #[pyo3(get)]
    pub(crate) symbol: Py<PyString>,
    /// Open.
    #[pyo3(get)]
    pub(crate) open: f64,
    /// High.
    #[pyo3(get)]
    pub(crate) high: f64,
    /// Low.
    #[pyo3(get)]
    pub(crate) low: f64,
    /// Close.
    #[pyo3(get)]
    pub(crate) close: f64,
    /// Volume.
    #[pyo3(get)]
    pub(crate) volume: f64,
}

impl PyBar {
    /// The fields in order, as a tuple: what pickling, equality and hashing use (as the
    /// reference's frozen dataclass `BarEvent` does).
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let symbol = self.symbol.clone_ref(py);
        (self.timestamp, symbol, self.open, self.high, self.low, self.close, self.volume)
            .into_pyobject(py)
    }
}

#[pymethods]
impl PyBar {
    /// A bar with these fields (what unpickling and copying call).
    #[new]
    #[pyo3(signature = (timestamp, symbol, open, high, low, close, volume))]
    fn py_new(
        timestamp: i64,
        symbol: Py<PyString>,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
    ) -> Self {
        PyBar { timestamp, symbol, open, high, low, close, volume }
    }

    /// Pickle and copy support: a new `Bar` with the same fields (the bar is a plain value,
    /// not tied to its run).
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, pyo3::types::PyType>, Bound<'py, PyTuple>)> {
        Ok((slf.get_type(), slf.borrow().fields(slf.py())?))
    }

    /// Equal to another `Bar` with equal fields, as `BarEvent`s compare.
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<PyBar>() {
            Ok(other) => {
                let equal = self.fields(py)?.eq(other.borrow().fields(py)?)?;
                Ok(equal.into_pyobject(py)?.to_owned().into_any().unbind())
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    /// The hash of the fields, as a `BarEvent`'s.
    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        self.fields(py)?.hash()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Bar(timestamp={}, symbol={:?}, open={:?}, high={:?}, low={:?}, close={:?}, \
             volume={:?})",
            self.timestamp,
            self.symbol.bind(py).to_string(),
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume
        )
    }
}

/// The checked arguments of a plain order (`PyContext::plain_order`).
struct PlainOrder {
    column: usize,
    side: Side,
    quantity: f64,
    kind: OrderType,
    limit: Option<f64>,
    stop: Option<f64>,
    tif: TimeInForce,
    terms: Terms,
}

/// The `ctx` of a run on the native engine (`quanta_ref.api.Context`).
#[pyclass(name = "Context", module = "quanta_fast._quanta_fast")]
pub struct PyContext {
    pub(crate) core: Core,
    pub(crate) bars: Py<PyAny>,
    symbols: Py<PyTuple>,
    pub(crate) names: Vec<Py<PyString>>,
    columns: Py<PyDict>,
    glue: Arc<Glue>,
    signals: Py<PyList>,
    /// The thread the run (and so every callback) runs on.
    thread: ThreadId,
    /// True until the run ends.
    open: bool,
}

/// The reference's refusal `which` (`CONTEXT_THREAD` or `CONTEXT_ENDED` of
/// `quanta_ref.engine`, through `quanta_fast._glue`): a context used outside its run.
fn refusal(py: Python<'_>, which: &str) -> PyErr {
    let message = py.import("quanta_fast._glue").and_then(|glue| glue.getattr(which));
    match message.and_then(|m| m.extract::<String>()) {
        Ok(message) => OrderError::new_err(message),
        Err(error) => error,
    }
}

/// The reference's `AttributeError` for setting or deleting attribute `name` of `owner`.
fn read_only(py: Python<'_>, owner: &str, name: &Bound<'_, PyAny>) -> PyErr {
    let glue = py.import("quanta_fast._glue");
    match glue.and_then(|glue| glue.getattr("read_only")?.call1((owner, name))) {
        Ok(error) => PyErr::from_value(error),
        Err(error) => error,
    }
}

/// An argument with a default that an explicit `None` must not select: the reference
/// refuses `time_in_force=None`, so "left out" and "None" differ.
pub enum Arg<'py> {
    /// Not passed: the default applies.
    Missing,
    /// Passed, whatever it is (None included).
    Given(Bound<'py, PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Arg<'py> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        Ok(Arg::Given(obj.to_owned()))
    }
}

impl<'py> Arg<'py> {
    /// The argument, or the string `default` when it was left out.
    fn or(self, py: Python<'py>, default: &str) -> Bound<'py, PyAny> {
        match self {
            Arg::Missing => PyString::new(py, default).into_any(),
            Arg::Given(value) => value,
        }
    }
}

/// The keyword arguments of an order's optional terms (`expire_at`, `trail_amount`,
/// `trail_percent`), as given: None when left out or None.
pub struct TermArgs<'a, 'py> {
    expire_at: Option<&'a Bound<'py, PyAny>>,
    trail_amount: Option<&'a Bound<'py, PyAny>>,
    trail_percent: Option<&'a Bound<'py, PyAny>>,
}

/// A core enum that a `ctx` argument names, and its Python enum class.
trait Choice: Copy + 'static {
    /// The Python enum class (`quanta_ref.orders`).
    fn class(glue: &Glue) -> &Py<PyAny>;
    /// Every variant (the core's table).
    fn all() -> &'static [Self];
    /// The variant's name (the Python enum's value).
    fn name(self) -> &'static str;
    /// The variant of a Python enum value.
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! choice {
    ($($enum:ident = $class:ident),+) => {$(
        impl Choice for $enum {
            fn class(glue: &Glue) -> &Py<PyAny> {
                &glue.$class
            }
            fn all() -> &'static [Self] {
                $enum::ALL
            }
            fn name(self) -> &'static str {
                $enum::name(self)
            }
            fn from_name(name: &str) -> Option<Self> {
                $enum::from_name(name)
            }
        }
    )+};
}

choice!(Side = side, OrderType = order_type, TimeInForce = time_in_force);

impl PyContext {
    /// The context of a run over `bars` whose state is `core`.
    pub(crate) fn new(
        py: Python<'_>,
        core: Core,
        bars: &Bound<'_, PyAny>,
        names: &Names,
        glue: Arc<Glue>,
    ) -> Self {
        PyContext {
            core,
            bars: bars.clone().unbind(),
            symbols: names.symbols.clone_ref(py),
            names: names.names.iter().map(|n| n.clone_ref(py)).collect(),
            columns: names.columns.clone_ref(py),
            glue,
            signals: PyList::empty(py).unbind(),
            thread: thread::current().id(),
            open: true,
        }
    }

    /// The run has ended: from now on every use of the context is refused.
    pub(crate) fn close(&mut self) {
        self.open = false;
    }

    /// True until the run ends.
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }

    /// Refuses a use from another thread or after the run (in that order, as the reference).
    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if thread::current().id() != self.thread {
            return Err(refusal(py, "CONTEXT_THREAD"));
        }
        if !self.open {
            return Err(refusal(py, "CONTEXT_ENDED"));
        }
        Ok(())
    }

    /// The context, to read, if it may be used here and now. A borrow that fails means the
    /// loop holds it: the caller is not in a callback of this run's thread.
    fn open<'py>(slf: &Bound<'py, Self>) -> PyResult<PyRef<'py, Self>> {
        let this = slf.try_borrow().map_err(|_| refusal(slf.py(), "CONTEXT_THREAD"))?;
        this.check_open(slf.py())?;
        Ok(this)
    }

    /// The context, to act on, if it may be used here and now (see `open`).
    fn open_mut<'py>(slf: &Bound<'py, Self>) -> PyResult<PyRefMut<'py, Self>> {
        let this = slf.try_borrow_mut().map_err(|_| refusal(slf.py(), "CONTEXT_THREAD"))?;
        this.check_open(slf.py())?;
        Ok(this)
    }

    fn column(&self, symbol: &Bound<'_, PyAny>) -> PyResult<usize> {
        let py = symbol.py();
        if symbol.is_instance_of::<PyString>() {
            if let Some(n) = self.columns.bind(py).get_item(symbol)? {
                return n.extract();
            }
        }
        self.glue
            .check_symbol
            .bind(py)
            .call1((
                symbol,
                self.columns.bind(py),
                self.symbols.bind(py),
                self.core.broker.index,
                self.core.broker.now,
            ))?
            .extract()
    }

    /// A choice argument by name: fast for an exact lowercase or uppercase name, else the
    /// reference's parser (which accepts enum members and any case, or raises).
    fn choice<E: Choice>(
        &self,
        value: &Bound<'_, PyAny>,
        field: &str,
        symbol: &Bound<'_, PyAny>,
    ) -> PyResult<E> {
        let py = value.py();
        if let Ok(text) = value.cast::<PyString>() {
            let text = text.to_str()?;
            for &variant in E::all() {
                let name = variant.name();
                if text == name || text.eq_ignore_ascii_case(name) && text.is_ascii() {
                    return Ok(variant);
                }
            }
        }
        let member = self.glue.check_choice.bind(py).call1((
            E::class(&self.glue),
            value,
            field,
            symbol,
            self.core.broker.index,
            self.core.broker.now,
        ))?;
        let name: String = member.getattr("value")?.extract()?;
        E::from_name(&name)
            .ok_or_else(|| internal_error(&format!("{field}: unknown enum value {name:?}")))
    }

    fn number(
        &self,
        field: &str,
        value: &Bound<'_, PyAny>,
        symbol: &Bound<'_, PyAny>,
        positive: bool,
    ) -> PyResult<f64> {
        if value.is_exact_instance_of::<PyFloat>() || value.is_exact_instance_of::<PyInt>() {
            if let Ok(x) = value.extract::<f64>() {
                if x.is_finite() && (!positive || x > 0.0) {
                    return Ok(x);
                }
            }
        }
        let py = value.py();
        self.glue
            .check_number
            .bind(py)
            .call1((field, value, symbol, positive, self.core.broker.index, self.core.broker.now))?
            .extract()
    }

    fn order_id(&self, order_id: &Bound<'_, PyAny>) -> PyResult<usize> {
        let n_orders = self.core.broker.orders.len();
        if order_id.is_exact_instance_of::<PyInt>() {
            if let Ok(id) = order_id.extract::<usize>() {
                if (1..=n_orders).contains(&id) {
                    return Ok(id);
                }
            }
        }
        let py = order_id.py();
        self.glue
            .check_order_id
            .bind(py)
            .call1((order_id, n_orders, self.core.broker.index, self.core.broker.now))?
            .extract()
    }

    /// The reference's `Order` for `order`.
    pub(crate) fn order_object<'py>(
        &self,
        py: Python<'py>,
        order: &Order,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.glue.order(py, &self.names, order)
    }

    /// The reference's `Fill` for `fill`.
    pub(crate) fn fill_object<'py>(
        &self,
        py: Python<'py>,
        fill: &Fill,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.glue.fill(py, &self.names, fill)
    }

    /// A copy of the position in column `n`, as the reference's `Position`.
    fn position_object<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyAny>> {
        let portfolio = &self.core.broker.portfolio;
        let (position, multiplier) = (&portfolio.positions[n], portfolio.multipliers[n]);
        self.glue.position(py, self.names[n].bind(py), position, multiplier)
    }

    /// `ctx.submit_order` (and `buy`, `sell`) once the context is known to be open.
    #[allow(clippy::too_many_arguments)]
    fn submit<'py>(
        &mut self,
        symbol: &Bound<'py, PyAny>,
        side: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        order_type: Arg<'py>,
        limit_price: Option<&Bound<'py, PyAny>>,
        stop_price: Option<&Bound<'py, PyAny>>,
        time_in_force: Arg<'py>,
        terms: TermArgs<'_, 'py>,
    ) -> PyResult<usize> {
        let order = self.plain_order(
            symbol,
            side,
            quantity,
            (order_type, "order_type"),
            limit_price,
            stop_price,
            time_in_force,
            terms,
        )?;
        let PlainOrder { column, side, quantity, kind, limit, stop, tif, terms } = order;
        let broker = &mut self.core.broker;
        Ok(broker.submit_order_with(column, side, quantity, kind, limit, stop, tif, terms))
    }

    /// The checked arguments of a plain order, in the reference's order of checks; the
    /// order type comes with the name of its argument (`order_type`, or a bracket's `entry`).
    #[allow(clippy::too_many_arguments)]
    fn plain_order<'py>(
        &self,
        symbol: &Bound<'py, PyAny>,
        side: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        (order_type, type_field): (Arg<'py>, &str),
        limit_price: Option<&Bound<'py, PyAny>>,
        stop_price: Option<&Bound<'py, PyAny>>,
        time_in_force: Arg<'py>,
        terms: TermArgs<'_, 'py>,
    ) -> PyResult<PlainOrder> {
        let py = symbol.py();
        let column = self.column(symbol)?;
        let side: Side = self.choice(side, "side", symbol)?;
        let order_type = order_type.or(py, "market");
        let kind: OrderType = self.choice(&order_type, type_field, symbol)?;
        if type_field == "entry" && kind == OrderType::TrailingStop {
            let (index, now) = (self.core.broker.index, self.core.broker.now);
            self.glue.check_bracket_entry.bind(py).call1((kind.name(), symbol, index, now))?;
            return Err(internal_error("check_bracket_entry accepted a trailing stop"));
        }
        let time_in_force = time_in_force.or(py, "gtc");
        let tif: TimeInForce = self.choice(&time_in_force, "time_in_force", symbol)?;
        let quantity = self.number("quantity", quantity, symbol, true)?;
        let limit_price = limit_price.filter(|p| !p.is_none());
        let stop_price = stop_price.filter(|p| !p.is_none());
        if kind.uses_limit_price() != limit_price.is_some()
            || kind.uses_stop_price() != stop_price.is_some()
        {
            let member = self.glue.order_type.bind(py).call1((kind.name(),))?;
            self.glue.check_prices.bind(py).call1((
                member,
                limit_price,
                stop_price,
                symbol,
                self.core.broker.index,
                self.core.broker.now,
            ))?;
        }
        let limit = limit_price.map(|p| self.number("limit_price", p, symbol, true)).transpose()?;
        let mut stop =
            stop_price.map(|p| self.number("stop_price", p, symbol, true)).transpose()?;
        let expire_at = self.expire_at(tif, terms.expire_at, symbol)?;
        let (trail_amount, trail_percent) =
            self.trail(kind, terms.trail_amount, terms.trail_percent, symbol)?;
        if kind == OrderType::TrailingStop {
            // The initial level, from the last close; without one acceptance refuses the
            // order (`no_price`: it has no stop price then).
            let last = self.core.broker.portfolio.positions[column].last_price;
            if !last.is_nan() {
                let level = trailing_level(side, last, trail_amount, trail_percent);
                if !(level.is_finite() && level > 0.0) {
                    let (index, now) = (self.core.broker.index, self.core.broker.now);
                    let args = (level, last, trail_amount, trail_percent, symbol, index, now);
                    self.glue.check_trailing_level.bind(py).call1(args)?;
                    return Err(internal_error("check_trailing_level accepted a bad level"));
                }
                stop = Some(level);
            }
        }
        let terms = Terms { expire_at, trail_amount, trail_percent, parent_id: None };
        Ok(PlainOrder { column, side, quantity, kind, limit, stop, tif, terms })
    }

    /// A GTD order's `expire_at` in ns (None for the other times in force), checked by the
    /// reference's `check_expire_at` whenever one is given or needed.
    fn expire_at(
        &self,
        tif: TimeInForce,
        expire_at: Option<&Bound<'_, PyAny>>,
        symbol: &Bound<'_, PyAny>,
    ) -> PyResult<Option<i64>> {
        let expire_at = expire_at.filter(|value| !value.is_none());
        if tif != TimeInForce::Gtd && expire_at.is_none() {
            return Ok(None);
        }
        let (index, now) = (self.core.broker.index, self.core.broker.now);
        let checked = self.glue.check_expire_at.bind(symbol.py()).call1((
            tif.name(),
            expire_at,
            symbol,
            index,
            now,
        ))?;
        checked.extract()
    }

    /// A trailing stop's (trail_amount, trail_percent): fast for one plain number in range,
    /// else the reference's `check_trail` (which raises for what it refuses).
    fn trail(
        &self,
        kind: OrderType,
        trail_amount: Option<&Bound<'_, PyAny>>,
        trail_percent: Option<&Bound<'_, PyAny>>,
        symbol: &Bound<'_, PyAny>,
    ) -> PyResult<(Option<f64>, Option<f64>)> {
        let amount = trail_amount.filter(|value| !value.is_none());
        let percent = trail_percent.filter(|value| !value.is_none());
        let plain = |value: &Bound<'_, PyAny>| {
            let number =
                value.is_exact_instance_of::<PyFloat>() || value.is_exact_instance_of::<PyInt>();
            let x = if number { value.extract::<f64>().ok() } else { None };
            x.filter(|x| x.is_finite() && *x > 0.0)
        };
        let trailing = kind == OrderType::TrailingStop;
        let fast = match (amount, percent) {
            (None, None) if !trailing => Some((None, None)),
            (Some(a), None) if trailing => plain(a).map(|a| (Some(a), None)),
            (None, Some(p)) if trailing => plain(p).filter(|p| *p < 1.0).map(|p| (None, Some(p))),
            _ => None,
        };
        if let Some(trail) = fast {
            return Ok(trail);
        }
        let (index, now) = (self.core.broker.index, self.core.broker.now);
        let args = (kind.name(), amount, percent, symbol, index, now);
        self.glue.check_trail.bind(symbol.py()).call1(args)?.extract()
    }

    fn submit_target(
        &mut self,
        symbol: &Bound<'_, PyAny>,
        field: &str,
        value: &Bound<'_, PyAny>,
        time_in_force: &Bound<'_, PyAny>,
        expire_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<usize> {
        let column = self.column(symbol)?;
        let tif = self.choice(time_in_force, "time_in_force", symbol)?;
        let value = self.number(field, value, symbol, false)?;
        let expire_at = self.expire_at(tif, expire_at, symbol)?;
        let target = if field == "target_quantity" {
            Target::Quantity(value)
        } else {
            Target::Percent(value)
        };
        Ok(self.core.broker.submit_target_with(column, target, tif, expire_at))
    }
}

#[pymethods]
impl PyContext {
    /// See `quanta_ref.api.Context.submit_order`.
    #[pyo3(
        text_signature = "(self, symbol, side, quantity, order_type='market', limit_price=None, stop_price=None, time_in_force='gtc', expire_at=None, trail_amount=None, trail_percent=None)"
    )]
    #[pyo3(signature = (symbol, side, quantity, order_type=Arg::Missing, limit_price=None, stop_price=None, time_in_force=Arg::Missing, expire_at=None, trail_amount=None, trail_percent=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_order<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
        side: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        order_type: Arg<'py>,
        limit_price: Option<&Bound<'py, PyAny>>,
        stop_price: Option<&Bound<'py, PyAny>>,
        time_in_force: Arg<'py>,
        expire_at: Option<&Bound<'py, PyAny>>,
        trail_amount: Option<&Bound<'py, PyAny>>,
        trail_percent: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<usize> {
        Self::open_mut(slf)?.submit(
            symbol,
            side,
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            TermArgs { expire_at, trail_amount, trail_percent },
        )
    }

    /// `submit_order(symbol, "buy", ...)`.
    #[pyo3(
        text_signature = "(self, symbol, quantity, order_type='market', limit_price=None, stop_price=None, time_in_force='gtc', expire_at=None, trail_amount=None, trail_percent=None)"
    )]
    #[pyo3(signature = (symbol, quantity, order_type=Arg::Missing, limit_price=None, stop_price=None, time_in_force=Arg::Missing, expire_at=None, trail_amount=None, trail_percent=None))]
    #[allow(clippy::too_many_arguments)]
    fn buy<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        order_type: Arg<'py>,
        limit_price: Option<&Bound<'py, PyAny>>,
        stop_price: Option<&Bound<'py, PyAny>>,
        time_in_force: Arg<'py>,
        expire_at: Option<&Bound<'py, PyAny>>,
        trail_amount: Option<&Bound<'py, PyAny>>,
        trail_percent: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<usize> {
        let side = PyString::new(symbol.py(), "buy");
        Self::open_mut(slf)?.submit(
            symbol,
            side.as_any(),
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            TermArgs { expire_at, trail_amount, trail_percent },
        )
    }

    /// `submit_order(symbol, "sell", ...)`.
    #[pyo3(
        text_signature = "(self, symbol, quantity, order_type='market', limit_price=None, stop_price=None, time_in_force='gtc', expire_at=None, trail_amount=None, trail_percent=None)"
    )]
    #[pyo3(signature = (symbol, quantity, order_type=Arg::Missing, limit_price=None, stop_price=None, time_in_force=Arg::Missing, expire_at=None, trail_amount=None, trail_percent=None))]
    #[allow(clippy::too_many_arguments)]
    fn sell<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        order_type: Arg<'py>,
        limit_price: Option<&Bound<'py, PyAny>>,
        stop_price: Option<&Bound<'py, PyAny>>,
        time_in_force: Arg<'py>,
        expire_at: Option<&Bound<'py, PyAny>>,
        trail_amount: Option<&Bound<'py, PyAny>>,
        trail_percent: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<usize> {
        let side = PyString::new(symbol.py(), "sell");
        Self::open_mut(slf)?.submit(
            symbol,
            side.as_any(),
            quantity,
            order_type,
            limit_price,
            stop_price,
            time_in_force,
            TermArgs { expire_at, trail_amount, trail_percent },
        )
    }

    /// See `quanta_ref.api.Context.cancel`.
    fn cancel(slf: &Bound<'_, Self>, order_id: &Bound<'_, PyAny>) -> PyResult<bool> {
        let mut this = Self::open_mut(slf)?;
        let id = this.order_id(order_id)?;
        Ok(this.core.broker.cancel(id))
    }

    /// See `quanta_ref.api.Context.oco`. The ids are read by the reference's own check, and a
    /// member that cannot join is refused by it, so every message is the reference's.
    fn oco(slf: &Bound<'_, Self>, order_ids: &Bound<'_, PyAny>) -> PyResult<usize> {
        let py = slf.py();
        let mut this = Self::open_mut(slf)?;
        let broker = &this.core.broker;
        let (n_orders, index, now) = (broker.orders.len(), broker.index, broker.now);
        let ids: Vec<usize> =
            this.glue.check_oco_ids.bind(py).call1((order_ids, n_orders, index, now))?.extract()?;
        for &order_id in &ids {
            let order = &broker.orders[order_id - 1];
            if !order.status.is_live() || order.oco_group.is_some() {
                let (status, group) = (order.status.name(), order.oco_group);
                let check = this.glue.check_oco_member.bind(py);
                check.call1((order_id, status, group, index, now))?;
                return Err(internal_error("order_ids: a member the reference check accepted"));
            }
        }
        let positions: Vec<usize> = ids.iter().map(|id| id - 1).collect();
        Ok(this.core.broker.oco(&positions))
    }

    /// See `quanta_ref.api.Context.bracket`.
    #[pyo3(
        text_signature = "(self, symbol, side, quantity, entry='market', limit_price=None, stop_price=None, stop_loss=None, take_profit=None, time_in_force='gtc', expire_at=None)"
    )]
    #[pyo3(signature = (symbol, side, quantity, entry=Arg::Missing, limit_price=None, stop_price=None, stop_loss=None, take_profit=None, time_in_force=Arg::Missing, expire_at=None))]
    #[allow(clippy::too_many_arguments)]
    fn bracket<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
        side: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        entry: Arg<'py>,
        limit_price: Option<&Bound<'py, PyAny>>,
        stop_price: Option<&Bound<'py, PyAny>>,
        stop_loss: Option<&Bound<'py, PyAny>>,
        take_profit: Option<&Bound<'py, PyAny>>,
        time_in_force: Arg<'py>,
        expire_at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<usize> {
        let py = slf.py();
        let mut this = Self::open_mut(slf)?;
        let terms = TermArgs { expire_at, trail_amount: None, trail_percent: None };
        let order = this.plain_order(
            symbol,
            side,
            quantity,
            (entry, "entry"),
            limit_price,
            stop_price,
            time_in_force,
            terms,
        )?;
        let (index, now) = (this.core.broker.index, this.core.broker.now);
        let side_member = this.glue.side.bind(py).call1((order.side.name(),))?;
        let (stop_loss, take_profit): (Option<f64>, Option<f64>) = this
            .glue
            .check_bracket_levels
            .bind(py)
            .call1((side_member, stop_loss, take_profit, symbol, index, now))?
            .extract()?;
        let PlainOrder { column, side, quantity, kind, limit, stop, tif, terms } = order;
        Ok(this.core.broker.submit_bracket(
            column,
            side,
            quantity,
            kind,
            limit,
            stop,
            tif,
            terms.expire_at,
            stop_loss,
            take_profit,
        ))
    }

    /// See `quanta_ref.api.Context.order_target_quantity`.
    #[pyo3(text_signature = "(self, symbol, quantity, time_in_force='gtc', expire_at=None)")]
    #[pyo3(signature = (symbol, quantity, time_in_force=Arg::Missing, expire_at=None))]
    fn order_target_quantity<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        time_in_force: Arg<'py>,
        expire_at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<usize> {
        let tif = time_in_force.or(symbol.py(), "gtc");
        Self::open_mut(slf)?.submit_target(symbol, "target_quantity", quantity, &tif, expire_at)
    }

    /// See `quanta_ref.api.Context.order_target_percent`.
    #[pyo3(text_signature = "(self, symbol, weight, time_in_force='gtc', expire_at=None)")]
    #[pyo3(signature = (symbol, weight, time_in_force=Arg::Missing, expire_at=None))]
    fn order_target_percent<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
        weight: &Bound<'py, PyAny>,
        time_in_force: Arg<'py>,
        expire_at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<usize> {
        let tif = time_in_force.or(symbol.py(), "gtc");
        Self::open_mut(slf)?.submit_target(symbol, "target_percent", weight, &tif, expire_at)
    }

    /// Snapshots of the live orders, oldest first.
    fn open_orders<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let (py, this) = (slf.py(), Self::open(slf)?);
        let list = PyList::empty(py);
        for &id in &this.core.broker.live {
            list.append(this.order_object(py, &this.core.broker.orders[id])?)?;
        }
        Ok(list)
    }

    /// A snapshot of one order.
    fn get_order<'py>(
        slf: &Bound<'py, Self>,
        order_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = Self::open(slf)?;
        let id = this.order_id(order_id)?;
        this.order_object(slf.py(), &this.core.broker.orders[id - 1])
    }

    /// Quantity held (negative when short).
    fn position(slf: &Bound<'_, Self>, symbol: &Bound<'_, PyAny>) -> PyResult<f64> {
        let this = Self::open(slf)?;
        Ok(this.core.broker.portfolio.positions[this.column(symbol)?].quantity)
    }

    /// A copy of the symbol's position.
    fn get_position<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = Self::open(slf)?;
        this.position_object(slf.py(), this.column(symbol)?)
    }

    /// Cash now.
    #[getter]
    fn cash(slf: &Bound<'_, Self>) -> PyResult<f64> {
        Ok(Self::open(slf)?.core.broker.portfolio.cash)
    }

    /// The run's account (`quanta_ref.api.Portfolio`), a view of this context's.
    #[getter]
    fn portfolio(slf: &Bound<'_, Self>) -> PyResult<Py<PyPortfolio>> {
        Self::open(slf)?;
        Py::new(slf.py(), PyPortfolio { context: slf.clone().unbind() })
    }

    /// Cash plus positions at their last close.
    #[getter]
    fn equity(slf: &Bound<'_, Self>) -> PyResult<f64> {
        Ok(Self::open(slf)?.core.broker.portfolio.equity())
    }

    /// Timestamp of the current bar; None in `on_start`.
    #[getter]
    fn now(slf: &Bound<'_, Self>) -> PyResult<Option<i64>> {
        let this = Self::open(slf)?;
        Ok((this.core.broker.index >= 0).then_some(this.core.broker.now))
    }

    /// Row of the current bar (-1 in `on_start`).
    #[getter]
    fn bar_index(slf: &Bound<'_, Self>) -> PyResult<i64> {
        Ok(Self::open(slf)?.core.broker.index)
    }

    /// The symbols of the data, in data order.
    #[getter]
    fn symbols<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        Ok(Self::open(slf)?.symbols.bind(slf.py()).clone())
    }

    /// Read-only view of `field` for `symbol` up to the current bar.
    #[pyo3(text_signature = "(self, symbol, field='close', length=None)")]
    #[pyo3(signature = (symbol, field=Arg::Missing, length=None))]
    fn history<'py>(
        slf: &Bound<'py, Self>,
        symbol: &Bound<'py, PyAny>,
        field: Arg<'py>,
        length: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (py, this) = (slf.py(), Self::open(slf)?);
        let n = this.column(symbol)?;
        this.glue.history_view.bind(py).call1((
            this.bars.bind(py),
            n,
            this.core.broker.index,
            field.or(py, "close"),
            length,
        ))
    }

    /// Record a named number at the current bar.
    #[pyo3(signature = (name, value, symbol=None))]
    fn signal(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        symbol: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (py, this) = (slf.py(), Self::open(slf)?);
        let symbol = symbol.filter(|s| !s.is_none());
        if let Some(symbol) = symbol {
            this.column(symbol)?;
        }
        let broker = &this.core.broker;
        let event = this.glue.make_signal.bind(py).call1((
            name,
            value,
            symbol,
            broker.index,
            broker.now,
        ))?;
        this.signals.bind(py).append(event)
    }

    /// Refuses to set an attribute: the context is read-only (the reference's error).
    fn __setattr__(&self, name: &Bound<'_, PyAny>, _value: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(read_only(name.py(), "ctx", name))
    }

    /// Refuses to delete an attribute (the reference's error).
    fn __delattr__(&self, name: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(read_only(name.py(), "ctx", name))
    }

    // ---------------------------------------------------------------- results (private)
    /// Equity at each row's close (moved out: call once).
    fn _take_equity<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, std::mem::take(&mut self.core.equity))
    }

    /// Cash at each row's close (moved out: call once).
    fn _take_cash<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, std::mem::take(&mut self.core.cash))
    }

    /// Book a report of an external broker at once: one made while the strategy is being
    /// called (from the broker's `submit` or `cancel`). Its events wait in the queue and are
    /// delivered after the current callback, as the strategy's own requests' are. The
    /// report is ``("fill", order_id, quantity, price, commission, tax)`` or ``("status",
    /// order_id, status, reason)``, checked by the session.
    fn _report(slf: &Bound<'_, Self>, report: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = slf.py();
        let mut this = Self::open_mut(slf)?;
        match read_report(&this.core.broker, report)? {
            Report::Fill { order_id, quantity, price, commission, tax } => {
                let booked =
                    this.core.broker.report_fill(order_id, quantity, price, commission, tax);
                if let Err(error) = booked {
                    let symbol = this.names[error.column].clone_ref(py);
                    return Err(overflow_error(py, symbol.bind(py), &error));
                }
            }
            Report::Status { order_id, status, reason } => {
                this.core.broker.report_status(order_id, status, reason);
            }
        }
        Ok(())
    }

    /// Equity at each row's close so far, a copy (a session's result taken mid-run).
    fn _equity_copy<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.core.equity)
    }

    /// Cash at each row's close so far, a copy.
    fn _cash_copy<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, &self.core.cash)
    }

    /// Every fill as `Fill` objects.
    fn _fills<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for fill in &self.core.broker.portfolio.transactions {
            list.append(self.fill_object(py, fill)?)?;
        }
        Ok(list)
    }

    /// Every order, final state, as `Order` objects.
    fn _orders<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for order in &self.core.broker.orders {
            list.append(self.order_object(py, order)?)?;
        }
        Ok(list)
    }

    /// Closed round trips as `Trade` objects.
    fn _trades<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for trade in &self.core.broker.portfolio.trades {
            list.append(self.glue.trade(py, &self.names, trade)?)?;
        }
        Ok(list)
    }

    /// The corporate actions applied to a holding, as `CorporateActionRecord` objects.
    fn _corporate_actions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for record in &self.core.broker.portfolio.corporate_actions {
            list.append(self.glue.corporate_action(py, &self.names, record)?)?;
        }
        Ok(list)
    }

    /// How many orders the engine rejected, by reason, reasons in name order (what
    /// `quanta_ref.analysis.rejections` counts from the orders, without building them).
    fn _rejections<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (reason, count) in metrics::rejections(&self.core) {
            dict.set_item(reason, count)?;
        }
        Ok(dict)
    }

    /// Recorded signals, in order, from the `start`-th on (a copy: the result's own list; a
    /// session asks for the ones published since it last looked).
    #[pyo3(signature = (start=0))]
    fn _signals<'py>(&self, py: Python<'py>, start: usize) -> Bound<'py, PyList> {
        let signals = self.signals.bind(py);
        signals.get_slice(start, signals.len())
    }

    /// Final positions, data order, as `Position` copies.
    fn _positions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for n in 0..self.names.len() {
            list.append(self.position_object(py, n)?)?;
        }
        Ok(list)
    }

    /// The run's statistics (`quanta_ref.metrics.compute_stats` plus total_commission,
    /// total_tax and n_fills, as the reference's result has them), from the equity curve
    /// `_take_equity` handed out.
    fn _stats<'py>(
        &self,
        py: Python<'py>,
        timestamps: PyReadonlyArray1<'py, i64>,
        equity: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let timestamps = timestamps.as_slice().map_err(|_| {
            DataError::new_err("timestamps: the native engine needs a contiguous int64 array")
        })?;
        let equity = equity.as_slice().map_err(|_| {
            DataError::new_err("equity: the native engine needs a contiguous float64 array")
        })?;
        let periods_per_year = self.core.broker.cfg.periods_per_year;
        let values = metrics::run_stats(&self.core, timestamps, equity, periods_per_year);
        let dict = PyDict::new(py);
        for (key, value) in metrics::RUN_STAT_KEYS.into_iter().zip(values) {
            dict.set_item(key, value)?;
        }
        Ok(dict)
    }
}

/// The account of a native run (`quanta_ref.api.Portfolio`): a view of its context's
/// portfolio, read when asked (it holds no copy).
#[pyclass(name = "Portfolio", module = "quanta_fast._quanta_fast", frozen)]
pub struct PyPortfolio {
    context: Py<PyContext>,
}

#[pymethods]
impl PyPortfolio {
    /// Cash now.
    #[getter]
    fn cash(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(PyContext::open(self.context.bind(py))?.core.broker.portfolio.cash)
    }

    /// Cash plus every position at its last close.
    fn equity(&self, py: Python<'_>) -> PyResult<f64> {
        Ok(PyContext::open(self.context.bind(py))?.core.broker.portfolio.equity())
    }

    /// A copy of the position in `symbol` (flat if never traded).
    fn position_of<'py>(
        &self,
        py: Python<'py>,
        symbol: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let context = PyContext::open(self.context.bind(py))?;
        // The reference portfolio's check and message (it knows no bar, so neither does this).
        let column = match symbol.cast::<PyString>() {
            Ok(_) => context.columns.bind(py).get_item(symbol)?,
            Err(_) => None,
        };
        let Some(column) = column else {
            let symbols = PyList::new(py, context.symbols.bind(py))?;
            return Err(OrderError::new_err(format!(
                "symbol: unknown symbol {}; the data has {}",
                symbol.repr()?,
                symbols.repr()?
            )));
        };
        context.position_object(py, column.extract()?)
    }

    /// Whether the gross exposure after this order stays within `max_leverage` x `equity`
    /// (`quanta_core::portfolio::Portfolio::check_margin`). The arguments are read by the
    /// reference's own check (`check_margin_arguments`), so a bad one fails the same way.
    #[allow(clippy::too_many_arguments)]
    fn check_margin<'py>(
        &self,
        py: Python<'py>,
        column: &Bound<'py, PyAny>,
        side: &Bound<'py, PyAny>,
        quantity: &Bound<'py, PyAny>,
        price: &Bound<'py, PyAny>,
        max_leverage: &Bound<'py, PyAny>,
        equity: &Bound<'py, PyAny>,
    ) -> PyResult<bool> {
        let context = PyContext::open(self.context.bind(py))?;
        let checked = context.glue.check_margin_arguments.bind(py).call1((
            column,
            side,
            quantity,
            price,
            max_leverage,
            equity,
        ))?;
        let (column, member, quantity, price, max_leverage, equity): (
            Bound<'py, PyAny>,
            Bound<'py, PyAny>,
            f64,
            f64,
            f64,
            f64,
        ) = checked.extract()?;
        // A column outside the panel is no symbol's: it matches none, as in the reference.
        let column = column
            .extract::<i64>()
            .ok()
            .and_then(|c| usize::try_from(c).ok())
            .unwrap_or(usize::MAX);
        let name: String = member.getattr("value")?.extract()?;
        let side = Side::from_name(&name)
            .ok_or_else(|| internal_error(&format!("side: unknown enum value {name:?}")))?;
        let portfolio = &context.core.broker.portfolio;
        Ok(portfolio.check_margin(column, side, quantity, price, max_leverage, equity))
    }

    /// Refuses to set an attribute: the portfolio is read-only (the reference's error).
    fn __setattr__(&self, name: &Bound<'_, PyAny>, _value: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(read_only(name.py(), "ctx.portfolio", name))
    }

    /// Refuses to delete an attribute (the reference's error).
    fn __delattr__(&self, name: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(read_only(name.py(), "ctx.portfolio", name))
    }
}

/// A report as the core books it: ``("fill", order_id, quantity, price, commission, tax)``
/// or ``("status", order_id, status, reason)`` on a live (sized, for a fill) order of
/// `broker`; anything else is an error (the session checked it: defence in depth).
pub(crate) fn read_report(broker: &Broker, report: &Bound<'_, PyAny>) -> PyResult<Report> {
    let kind: String = report.get_item(0)?.extract()?;
    let order_id: usize = report.get_item(1)?.extract()?;
    let orders = &broker.orders;
    let live = order_id >= 1 && order_id <= orders.len() && orders[order_id - 1].status.is_live();
    if !live {
        return Err(OrderError::new_err(format!("order_id: no live order {order_id}")));
    }
    if kind == "fill" {
        if orders[order_id - 1].side.is_none() {
            return Err(OrderError::new_err(format!(
                "order_id: order {order_id} is a target order, sized only when the engine fills it"
            )));
        }
        let (_, _, quantity, price, commission, tax): (String, usize, f64, f64, f64, f64) =
            report.extract()?;
        return Ok(Report::Fill { order_id, quantity, price, commission, tax });
    }
    let status = report.get_item(2)?;
    let name = match status.cast::<PyString>() {
        Ok(name) => name.to_str()?.to_owned(),
        Err(_) => status.getattr("value")?.extract()?,
    };
    let status = match OrderStatus::from_name(&name) {
        Some(s @ (OrderStatus::Cancelled | OrderStatus::Rejected | OrderStatus::Expired)) => s,
        _ => {
            return Err(OrderError::new_err(format!(
                "status: expected 'cancelled', 'rejected' or 'expired', got {name:?}"
            )))
        }
    };
    let reason: Option<String> = report.get_item(3)?.extract()?;
    let reason = match reason {
        None => None,
        Some(name) => Some(
            Reason::from_name(&name)
                .ok_or_else(|| OrderError::new_err(format!("reason: unknown reason {name:?}")))?,
        ),
    };
    Ok(Report::Status { order_id, status, reason })
}
