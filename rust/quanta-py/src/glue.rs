//! The Python helpers the native engine calls (`quanta_fast._glue`), resolved once, when the
//! native `Engine` is built, into a typed struct: a missing helper fails there, not mid-run.
//!
//! Two kinds: the reference's own argument checks (`quanta_ref.engine.check_*`, so an unusual
//! argument gets the reference's exception and message) and the constructors of the
//! reference's result types (`Order`, `Fill`, `Trade`, `Position`), which the methods below
//! call with the core's values.

use pyo3::prelude::*;
use pyo3::types::PyString;

use quanta_core::orders::Position;
use quanta_core::orders::{CorporateActionRecord, Fill, Order, Reason, Side, Trade};

/// The helpers of `quanta_fast._glue`, by attribute name.
#[derive(FromPyObject)]
pub(crate) struct Glue {
    /// `make_order(head, tail) -> Order`.
    pub make_order: Py<PyAny>,
    /// `make_fill(...) -> Fill`.
    pub make_fill: Py<PyAny>,
    /// `make_trade(...) -> Trade`.
    pub make_trade: Py<PyAny>,
    /// `make_position(...) -> Position`.
    pub make_position: Py<PyAny>,
    /// `make_signal(name, value, symbol, index, now)`.
    pub make_signal: Py<PyAny>,
    /// `check_symbol(symbol, columns, symbols, index, now) -> column`.
    pub check_symbol: Py<PyAny>,
    /// `check_choice(enum, value, field, symbol, index, now) -> member`.
    pub check_choice: Py<PyAny>,
    /// `check_number(field, value, symbol, positive, index, now) -> float`.
    pub check_number: Py<PyAny>,
    /// `check_prices(order_type, limit_price, stop_price, symbol, index, now)`.
    pub check_prices: Py<PyAny>,
    /// `check_expire_at(tif, expire_at, symbol, index, now) -> int | None`.
    pub check_expire_at: Py<PyAny>,
    /// `check_trail(order_type, trail_amount, trail_percent, symbol, index, now)`.
    pub check_trail: Py<PyAny>,
    /// `check_trailing_level(level, reference, trail_amount, trail_percent, symbol, index,
    /// now)`: raises for a level that is not a price.
    pub check_trailing_level: Py<PyAny>,
    /// `check_order_id(order_id, n_orders, index, now) -> order_id`.
    pub check_order_id: Py<PyAny>,
    /// `check_oco_ids(order_ids, n_orders, index, now) -> [order_id, ...]`.
    pub check_oco_ids: Py<PyAny>,
    /// `check_oco_member(order_id, status, group, index, now)`: raises for a member that
    /// cannot join a group.
    pub check_oco_member: Py<PyAny>,
    /// `check_bracket_levels(side, stop_loss, take_profit, symbol, index, now)`.
    pub check_bracket_levels: Py<PyAny>,
    /// `check_bracket_entry(order_type, symbol, index, now)`: raises for an entry type a
    /// bracket does not take.
    pub check_bracket_entry: Py<PyAny>,
    /// `check_margin_arguments(column, side, quantity, price, max_leverage, equity)`.
    pub check_margin_arguments: Py<PyAny>,
    /// `compiled_request_error(request, symbols, index, now, last_price) -> OrderError`: the
    /// reference's error for a compiled strategy's request the native checks refused.
    pub compiled_request_error: Py<PyAny>,
    /// `compiled_callback_error(callback, status, fault, fault_value, n_requests, symbol,
    /// index, now) -> StrategyError`: the reference's error for a failed compiled callback.
    pub compiled_callback_error: Py<PyAny>,
    /// `history_view(bars, column, index, field, length)`.
    pub history_view: Py<PyAny>,
    /// `quanta_ref.orders.Side`.
    #[pyo3(attribute("Side"))]
    pub side: Py<PyAny>,
    /// `quanta_ref.orders.OrderType`.
    #[pyo3(attribute("OrderType"))]
    pub order_type: Py<PyAny>,
    /// `quanta_ref.orders.TimeInForce`.
    #[pyo3(attribute("TimeInForce"))]
    pub time_in_force: Py<PyAny>,
    /// `quanta_ref.orders.CorporateActionRecord`.
    #[pyo3(attribute("CorporateActionRecord"))]
    pub corporate_action_record: Py<PyAny>,
}

impl Glue {
    /// The reference's `Order` for `order` (a snapshot); `names` are the panel's symbols.
    pub fn order<'py>(
        &self,
        py: Python<'py>,
        names: &[Py<PyString>],
        order: &Order,
    ) -> PyResult<Bound<'py, PyAny>> {
        let head = (
            order.order_id,
            names[order.column].bind(py),
            order.side.map(Side::name),
            order.quantity,
            order.filled_quantity,
            order.order_type.name(),
            order.limit_price,
            order.stop_price,
            order.time_in_force.name(),
            order.status.name(),
            order.reject_reason.map(Reason::name),
            order.created_at,
        );
        let tail = (
            order.filled_at,
            order.target_quantity,
            order.target_percent,
            order.average_fill_price,
            order.expire_at,
            order.trail_amount,
            order.trail_percent,
            order.oco_group,
            order.parent_id,
            order.triggered,
            order.eligible_bar,
            order.active_day,
        );
        self.make_order.bind(py).call1((head, tail))
    }

    /// The reference's `Fill` for `fill`.
    pub fn fill<'py>(
        &self,
        py: Python<'py>,
        names: &[Py<PyString>],
        fill: &Fill,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.make_fill.bind(py).call1((
            fill.order_id,
            fill.timestamp,
            names[fill.column].bind(py),
            fill.side.name(),
            fill.quantity,
            fill.price,
            fill.commission,
            fill.tax,
        ))
    }

    /// The reference's `Trade` for `trade`.
    pub fn trade<'py>(
        &self,
        py: Python<'py>,
        names: &[Py<PyString>],
        trade: &Trade,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.make_trade.bind(py).call1((
            names[trade.column].bind(py),
            trade.direction,
            trade.quantity,
            trade.entry_time,
            trade.entry_price,
            trade.exit_time,
            trade.exit_price,
            trade.pnl,
            trade.return_,
        ))
    }

    /// The reference's `CorporateActionRecord` for `record`.
    pub fn corporate_action<'py>(
        &self,
        py: Python<'py>,
        names: &[Py<PyString>],
        record: &CorporateActionRecord,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.corporate_action_record.bind(py).call1((
            record.timestamp,
            names[record.column].bind(py),
            record.quantity_before,
            record.quantity_after,
            record.cash,
            record.tax,
        ))
    }

    /// A copy of `position`, the position in `symbol` (of contract multiplier `multiplier`),
    /// as the reference's `Position`.
    pub fn position<'py>(
        &self,
        py: Python<'py>,
        symbol: &Bound<'py, PyString>,
        position: &Position,
        multiplier: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.make_position.bind(py).call1((
            symbol,
            position.quantity,
            position.average_cost,
            position.realized_pnl,
            position.last_price,
            multiplier,
        ))
    }
}
