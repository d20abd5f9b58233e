//! The host through which `quanta_core::engine` runs a Python strategy: the core lives in the
//! `Context` the strategy receives, and each event is delivered by calling the strategy's
//! callback with the GIL held. Used by a whole run (`engine.rs`) and by a live session
//! (`session.rs`), which runs its rows a few at a time.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

use quanta_core::bars::BarsView;
use quanta_core::engine::{Core, Host};
use quanta_core::events::Event;
use quanta_core::execution::{ModelError, Overflow};

use crate::context::{PyBar, PyContext};
use crate::costs::raised;
use crate::errors::overflow_error;

/// How long a run holding the GIL goes at least between two releases (more than Python's
/// default switch interval, 5 ms).
const YIELD_AFTER: Duration = Duration::from_millis(10);

/// The strategy's callbacks, in `quanta_ref.api.CALLBACKS` order; None for the ones it does
/// not override (their events are not delivered).
pub(crate) struct Callbacks<'py> {
    pub on_start: Option<Bound<'py, PyAny>>,
    pub on_bar: Option<Bound<'py, PyAny>>,
    pub on_fill: Option<Bound<'py, PyAny>>,
    pub on_order: Option<Bound<'py, PyAny>>,
    pub on_end: Option<Bound<'py, PyAny>>,
}

impl Callbacks<'_> {
    /// True when the strategy listens to no per-bar event (no `on_bar`, `on_fill`, `on_order`).
    pub fn detached(&self) -> bool {
        self.on_bar.is_none() && self.on_fill.is_none() && self.on_order.is_none()
    }
}

/// The engine's host in a Python run: the core lives in the `Context` the strategy receives,
/// and events are delivered by calling the strategy's callbacks, with the GIL held.
pub(crate) struct PyHost<'py, 'a> {
    pub py: Python<'py>,
    pub context: Bound<'py, PyContext>,
    pub bars: BarsView<'a>,
    callbacks: Callbacks<'py>,
    /// The bar object last passed to `on_bar` (reused while no one else holds it).
    pub bar: Option<Bound<'py, PyBar>>,
    /// When the GIL was last released in [`Host::check_interrupt`].
    last_yield: Instant,
}

impl<'py, 'a> PyHost<'py, 'a> {
    /// A host delivering to `callbacks` over `bars`, whose core is in `context`; `bar` is a
    /// bar object to reuse (the last one a host of the same run handed out), if any.
    pub fn new(
        context: Bound<'py, PyContext>,
        bars: BarsView<'a>,
        callbacks: Callbacks<'py>,
        bar: Option<Bound<'py, PyBar>>,
    ) -> Self {
        PyHost { py: context.py(), context, bars, callbacks, bar, last_yield: Instant::now() }
    }

    fn bar_object(&mut self, column: usize) -> PyResult<Bound<'py, PyBar>> {
        let context = self.context.borrow();
        let i = context.core.broker.index as usize;
        let at = i * self.bars.n_symbols + column;
        let fresh = PyBar {
            timestamp: context.core.broker.now,
            symbol: context.names[column].clone_ref(self.py),
            open: self.bars.open[at],
            high: self.bars.high[at],
            low: self.bars.low[at],
            close: self.bars.close[at],
            volume: self.bars.volume[at],
        };
        drop(context);
        match &self.bar {
            // Only this host holds it: reuse the object (no allocation per bar).
            #[allow(deprecated)] // the safe spelling; Py_REFCNT would need unsafe
            Some(bar) if bar.get_refcnt() == 1 => {
                *bar.borrow_mut() = fresh;
            }
            _ => self.bar = Some(Bound::new(self.py, fresh)?),
        }
        Ok(self.bar.as_ref().expect("set above").clone())
    }
}

impl Host for PyHost<'_, '_> {
    type Error = PyErr;

    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        let mut context = self.context.borrow_mut();
        f(&mut context.core, &self.bars)
    }

    fn deliver(&mut self, event: &Event) -> PyResult<()> {
        match *event {
            Event::Bar(column) => {
                if self.callbacks.on_bar.is_some() {
                    let bar = self.bar_object(column)?;
                    let on_bar = self.callbacks.on_bar.as_ref().expect("checked");
                    on_bar.call1((&self.context, bar))?;
                }
            }
            Event::Order(order) => {
                if let Some(on_order) = &self.callbacks.on_order {
                    let order = self.context.borrow().order_object(self.py, &order)?;
                    on_order.call1((&self.context, order))?;
                }
            }
            Event::Fill(fill) => {
                if let Some(on_fill) = &self.callbacks.on_fill {
                    let fill = self.context.borrow().fill_object(self.py, &fill)?;
                    on_fill.call1((&self.context, fill))?;
                }
            }
            Event::Start => {
                if let Some(on_start) = &self.callbacks.on_start {
                    on_start.call1((&self.context,))?;
                }
            }
            Event::End => {
                if let Some(on_end) = &self.callbacks.on_end {
                    on_end.call1((&self.context,))?;
                }
            }
        }
        Ok(())
    }

    fn overflow(&mut self, error: Box<Overflow>) -> PyErr {
        let symbol = self.context.borrow().names[error.column].clone_ref(self.py);
        overflow_error(self.py, symbol.bind(self.py), &error)
    }

    /// A callable cost model's exception, unchanged.
    fn model_error(&mut self, error: ModelError) -> PyErr {
        raised(error)
    }

    /// Every 1024 rows, sooner when rows are heavy: runs the signal handlers (Ctrl-C), and,
    /// at most every [`YIELD_AFTER`], releases the GIL for a moment so that a thread waiting
    /// for it takes it (the loop holds it between callbacks). Not more often: a thread waiting
    /// for the GIL asks for it only after the switch interval (5 ms) without a release, so
    /// releases more frequent than that, each retaken at once, would starve it.
    fn check_interrupt(&mut self) -> PyResult<()> {
        if self.last_yield.elapsed() >= YIELD_AFTER {
            self.py.detach(|| ());
            self.last_yield = Instant::now();
        }
        self.py.check_signals()
    }
}
