//! External execution (a live session whose orders go to a broker): the engine never matches,
//! expires or cancels a live order itself, and the broker's reports book fills at the costs
//! it gives and end orders. Hand-computed, as `tests/engine.rs`.

use quanta_core::bars::{BarsView, CorporateAction, Panel};
use quanta_core::config::{Config, FillAt};
use quanta_core::engine::{self, Core, Host};
use quanta_core::events::Event;
use quanta_core::orders::{OrderStatus, OrderType, Reason, Side, TimeInForce};

mod common;

use common::{panel, Row};

fn bar(o: f64, h: f64, l: f64, c: f64) -> Row {
    Some((o, h, l, c, 1e9))
}

/// A strategy that submits orders at row 0 through `on_first_bar`, over an external broker.
struct Script<'a> {
    core: Core,
    bars: BarsView<'a>,
    on_first_bar: fn(&mut Core),
    events: Vec<Event>,
}

impl Host for Script<'_> {
    type Error = ();
    fn overflow(&mut self, _: Box<quanta_core::execution::Overflow>) {}
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        f(&mut self.core, &self.bars)
    }
    fn deliver(&mut self, event: &Event) -> Result<(), ()> {
        self.events.push(*event);
        if let Event::Bar(0) = event {
            if self.core.broker.index == 0 {
                (self.on_first_bar)(&mut self.core);
            }
        }
        Ok(())
    }
}

fn external(cfg: Config, panel: &Panel, on_first_bar: fn(&mut Core)) -> Script<'_> {
    let bars = panel.view();
    let mut core = Core::new(cfg, &bars);
    core.broker.external = true;
    Script { core, bars, on_first_bar, events: Vec::new() }
}

/// A market GTC buy, a DAY limit buy the bars reach, and a stop sell the bars trigger.
fn three_orders(core: &mut Core) {
    let broker = &mut core.broker;
    broker.submit_order(0, Side::Buy, 100.0, OrderType::Market, None, None, TimeInForce::Gtc);
    broker.submit_order(0, Side::Buy, 100.0, OrderType::Limit, Some(12.0), None, TimeInForce::Day);
    broker.submit_order(0, Side::Buy, 100.0, OrderType::Stop, None, Some(9.0), TimeInForce::Gtc);
}

#[test]
fn external_execution_never_matches_nor_expires_an_order() {
    for fill_at in [FillAt::NextOpen, FillAt::Close] {
        let panel = panel(&[&[bar(10.0, 11.0, 9.0, 10.5); 4]]);
        let mut host = external(Config { fill_at, ..Config::default() }, &panel, three_orders);
        engine::run(&mut host).unwrap();
        let broker = &host.core.broker;
        assert!(broker.portfolio.transactions.is_empty());
        assert_eq!(broker.live, vec![0, 1, 2]);
        for order in &broker.orders {
            assert_eq!((order.status, order.active_day), (OrderStatus::Pending, None));
        }
        assert!(!broker.in_close_phase);
        assert_eq!(host.core.equity, vec![1_000_000.0; 4]);
    }
}

#[test]
fn external_execution_applies_a_split_without_cancelling_the_orders() {
    let mut panel = panel(&[&[bar(10.0, 11.0, 9.0, 10.5); 3]]);
    // A 2-for-1 split at row 1 (shares +1 per share held).
    panel.actions = vec![CorporateAction { row: 1, column: 0, cash: 0.0, shares: 1.0 }];
    let mut host = external(Config::default(), &panel, three_orders);
    engine::run(&mut host).unwrap();
    let orders = &host.core.broker.orders;
    assert!(orders.iter().all(|o| o.status == OrderStatus::Pending));
}

#[test]
fn a_reported_fill_books_the_given_commission_and_tax() {
    let panel = panel(&[&[bar(10.0, 11.0, 9.0, 10.5); 2]]);
    let mut host = external(Config { initial_cash: 10_000.0, ..Config::default() }, &panel, |c| {
        c.broker.submit_order(0, Side::Buy, 300.0, OrderType::Market, None, None, TimeInForce::Gtc);
    });
    engine::start(&mut host).unwrap();
    engine::rows(&mut host, 0..1).unwrap();
    let broker = &mut host.core.broker;
    // Two reports at row 0: 100 at 10.2 (commission 1.5, tax 0.25), then 200 at 10.5.
    broker.report_fill(1, 100.0, 10.2, 1.5, 0.25).unwrap();
    assert_eq!(broker.orders[0].status, OrderStatus::PartiallyFilled);
    broker.report_fill(1, 200.0, 10.5, 2.0, 0.5).unwrap();
    let order = broker.orders[0];
    assert_eq!((order.status, order.filled_quantity), (OrderStatus::Filled, 300.0));
    // The volume-weighted price, in the reference's operation order.
    assert_eq!(order.average_fill_price, (10.2 * 100.0 + 10.5 * 200.0) / (100.0 + 200.0));
    let fills = &broker.portfolio.transactions;
    assert_eq!(fills.len(), 2);
    assert_eq!((fills[0].commission, fills[0].tax, fills[0].side), (1.5, 0.25, Side::Buy));
    assert_eq!((fills[1].commission, fills[1].tax), (2.0, 0.5));
    let cash = 10_000.0 - 100.0 * 10.2 - 1.5 - 0.25;
    assert_eq!(broker.portfolio.cash, cash - 200.0 * 10.5 - 2.0 - 0.5);
    assert_eq!(broker.portfolio.positions[0].quantity, 300.0);
    assert!(broker.live.is_empty());
    // Published as for an engine fill: accepted, then Fill and Order per report.
    let mut kinds = Vec::new();
    while let Some(event) = broker.events.pop() {
        kinds.push(match event {
            Event::Fill(_) => "fill",
            Event::Order(o) => o.status.name(),
            _ => "other",
        });
    }
    assert_eq!(kinds, ["fill", "partially_filled", "fill", "filled"]);
}

#[test]
fn a_reported_status_ends_the_order_with_its_reason() {
    let panel = panel(&[&[bar(10.0, 11.0, 9.0, 10.5); 2]]);
    let mut host = external(Config::default(), &panel, three_orders);
    engine::start(&mut host).unwrap();
    engine::rows(&mut host, 0..1).unwrap();
    engine::drain(&mut host).unwrap();
    let broker = &mut host.core.broker;
    broker.report_status(2, OrderStatus::Rejected, Some(Reason::Broker));
    broker.report_status(3, OrderStatus::Cancelled, None);
    assert_eq!(broker.live, vec![0]);
    let order = broker.orders[1];
    assert_eq!((order.status, order.reject_reason), (OrderStatus::Rejected, Some(Reason::Broker)));
    assert_eq!(broker.orders[2].status, OrderStatus::Cancelled);
    assert!(matches!(broker.events.pop(), Some(Event::Order(o)) if o.order_id == 2));
    assert!(matches!(broker.events.pop(), Some(Event::Order(o)) if o.order_id == 3));
}

#[test]
fn waiting_reports_are_booked_in_the_open_phase_of_the_next_row() {
    let panel = panel(&[&[bar(10.0, 11.0, 9.0, 10.5); 3]]);
    let mut host = external(Config::default(), &panel, three_orders);
    engine::start(&mut host).unwrap();
    engine::rows(&mut host, 0..1).unwrap();
    host.events.clear();
    host.core.reports.push_back(engine::Report::Fill {
        order_id: 1,
        quantity: 100.0,
        price: 10.25,
        commission: 2.5,
        tax: 0.5,
    });
    let status = engine::Report::Status {
        order_id: 2,
        status: OrderStatus::Rejected,
        reason: Some(Reason::Broker),
    };
    host.core.reports.push_back(status);
    engine::rows(&mut host, 1..2).unwrap();
    let broker = &host.core.broker;
    let fill = broker.portfolio.transactions[0];
    // Booked at row 1, before its bar reached the strategy.
    assert_eq!(
        (fill.timestamp, fill.price, fill.commission, fill.tax),
        (panel.timestamps[1], 10.25, 2.5, 0.5)
    );
    assert!(matches!(host.events[0], Event::Fill(_)));
    assert!(matches!(host.events[1], Event::Order(o) if o.status == OrderStatus::Filled));
    assert!(matches!(host.events[2], Event::Order(o) if o.status == OrderStatus::Rejected));
    assert!(matches!(host.events[3], Event::Bar(0)));
    assert_eq!(broker.orders[1].reject_reason, Some(Reason::Broker));
    assert_eq!(host.core.cash, vec![1_000_000.0, 1_000_000.0 - 1025.0 - 2.5 - 0.5]);
    assert!(host.core.reports.is_empty());
}
