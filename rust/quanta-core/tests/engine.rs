//! Hand-computed cases for the engine loop, the same kind as the Python semantics tests
//! (tests/test_semantics*.py): a scripted strategy, a few bars, exact expected numbers.

use quanta_core::bars::{BarsView, Panel};
use quanta_core::config::{Config, Settlement};
use quanta_core::engine::{self, Core, Host};
use quanta_core::events::{Event, NS_PER_DAY};
use quanta_core::execution::Target;
use quanta_core::orders::{OrderStatus, OrderType, Reason, Side, TimeInForce};

/// One bar: (open, high, low, close, volume); None = missing.
mod common;

use common::{panel, Row};

fn bar(o: f64, h: f64, l: f64, c: f64) -> Row {
    Some((o, h, l, c, 1e9))
}

/// A strategy as a closure over (core, bar index) called at the first symbol's bar.
struct Script<'a, F: FnMut(&mut Core, i64)> {
    core: Core,
    bars: BarsView<'a>,
    on_bar: F,
    events: Vec<Event>,
}

impl<F: FnMut(&mut Core, i64)> Host for Script<'_, F> {
    type Error = ();
    fn overflow(&mut self, _: Box<quanta_core::execution::Overflow>) {}
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Core, &BarsView<'_>) -> R) -> R {
        f(&mut self.core, &self.bars)
    }
    fn deliver(&mut self, event: &Event) -> Result<(), ()> {
        self.events.push(*event);
        if let Event::Bar(0) = event {
            let index = self.core.broker.index;
            (self.on_bar)(&mut self.core, index);
        }
        Ok(())
    }
}

fn run<F: FnMut(&mut Core, i64)>(cfg: Config, panel: &Panel, on_bar: F) -> Script<'_, F> {
    let bars = panel.view();
    let mut host = Script { core: Core::new(cfg, &bars), bars, on_bar, events: Vec::new() };
    engine::run(&mut host).unwrap();
    host
}

fn market(core: &mut Core, side: Side, quantity: f64) -> usize {
    core.broker.submit_order(0, side, quantity, OrderType::Market, None, None, TimeInForce::Gtc)
}

#[test]
fn market_buy_fills_at_the_next_open_and_pays_commission() {
    let panel = panel(&[&[bar(10.0, 11.0, 9.0, 10.5), bar(11.0, 12.0, 10.0, 11.5)]]);
    let cfg = Config { initial_cash: 10_000.0, commission_rate: 0.001, ..Config::default() };
    let host = run(cfg, &panel, |core, i| {
        if i == 0 {
            market(core, Side::Buy, 100.0);
        }
    });
    let fills = &host.core.broker.portfolio.transactions;
    assert_eq!(fills.len(), 1);
    assert_eq!((fills[0].price, fills[0].quantity, fills[0].commission), (11.0, 100.0, 1.1));
    assert_eq!(host.core.cash, vec![10_000.0, 10_000.0 - 1100.0 - 1.1]);
    assert_eq!(host.core.equity[1], 10_000.0 - 1100.0 - 1.1 + 100.0 * 11.5);
}

#[test]
fn limit_buy_fills_at_the_open_when_the_open_gaps_below_the_limit() {
    let panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0), bar(9.0, 9.5, 8.5, 9.2)]]);
    let host = run(Config::default(), &panel, |core, i| {
        if i == 0 {
            core.broker.submit_order(
                0,
                Side::Buy,
                10.0,
                OrderType::Limit,
                Some(9.5),
                None,
                TimeInForce::Gtc,
            );
        }
    });
    assert_eq!(host.core.broker.portfolio.transactions[0].price, 9.0);
}

#[test]
fn stop_limit_triggered_inside_the_bar_beyond_its_limit_does_not_fill() {
    // Buy stop 10.5, limit 10.2: the bar passes 10.5 but cannot show a return to 10.2.
    let panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0), bar(10.0, 11.0, 9.8, 10.9)]]);
    let host = run(Config::default(), &panel, |core, i| {
        if i == 0 {
            core.broker.submit_order(
                0,
                Side::Buy,
                1.0,
                OrderType::StopLimit,
                Some(10.2),
                Some(10.5),
                TimeInForce::Gtc,
            );
        }
    });
    assert!(host.core.broker.portfolio.transactions.is_empty());
    assert!(host.core.broker.orders[0].triggered);
    assert_eq!(host.core.broker.orders[0].status, OrderStatus::Pending);
}

#[test]
fn t_plus_1_keeps_todays_buys_until_the_next_trading_day() {
    // Bars every 8 hours: rows 0-2 are one day, row 3 the next.
    let mut panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0); 4]]);
    let start = panel.timestamps[0];
    panel.timestamps = (0..4).map(|t| start + t * NS_PER_DAY / 3).collect();
    let host =
        run(Config { settlement: Settlement::TPlus1, ..Config::default() }, &panel, |core, i| {
            match i {
                0 => {
                    market(core, Side::Buy, 100.0); // fills at row 1's open, day 0
                }
                1 => {
                    market(core, Side::Sell, 100.0); // meets row 2 (day 0): waits for day 1
                }
                _ => {}
            }
        });
    let fills = &host.core.broker.portfolio.transactions;
    assert_eq!(fills.len(), 2);
    assert_eq!(
        (fills[0].timestamp, fills[1].timestamp),
        (panel.timestamps[1], panel.timestamps[3])
    );
}

#[test]
fn a_buy_at_limit_up_does_not_fill() {
    let mut panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0), bar(11.0, 11.0, 11.0, 11.0)]]);
    // The limits of a 10 % rule on the previous close 10.0 (quanta_ref.market computes them).
    panel.limit_down = vec![f64::NAN, 9.0];
    panel.limit_up = vec![f64::NAN, 11.0];
    let cfg = Config { tick_size: Some(0.01), ..Config::default() };
    let host = run(cfg, &panel, |core, i| {
        if i == 0 {
            market(core, Side::Buy, 100.0);
        }
    });
    assert!(host.core.broker.portfolio.transactions.is_empty());
    assert_eq!(host.core.broker.orders[0].status, OrderStatus::Pending);
}

#[test]
fn a_day_order_expires_at_the_start_of_the_next_trading_day() {
    let panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0); 3]]);
    let host = run(Config::default(), &panel, |core, i| {
        if i == 0 {
            core.broker.submit_order(
                0,
                Side::Buy,
                1.0,
                OrderType::Limit,
                Some(5.0),
                None,
                TimeInForce::Day,
            );
        }
    });
    let order = host.core.broker.orders[0];
    assert_eq!((order.status, order.reject_reason), (OrderStatus::Expired, Some(Reason::Expired)));
    assert_eq!(order.active_day, Some(19_724)); // the day of bar 1, the first it met
}

#[test]
fn target_percent_buys_the_most_whole_lots_the_cash_pays_for_costs_included() {
    let panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0), bar(10.0, 10.0, 10.0, 10.0)]]);
    let cfg = Config {
        initial_cash: 10_000.0,
        lot_size: 100.0,
        min_commission: 5.0,
        commission_rate: 0.0003,
        ..Config::default()
    };
    let host = run(cfg, &panel, |core, i| {
        if i == 0 {
            core.broker.submit_target(0, Target::Percent(1.0), TimeInForce::Gtc);
        }
    });
    // 1000 shares cost 10,000 + 5 commission > cash: 900 shares.
    let fill = host.core.broker.portfolio.transactions[0];
    assert_eq!((fill.quantity, fill.commission), (900.0, 5.0));
    assert_eq!(host.core.broker.portfolio.cash, 10_000.0 - 9_000.0 - 5.0);
}

#[test]
fn a_participation_limit_fills_part_of_the_order_per_bar() {
    let rows = [Some((10.0, 10.0, 10.0, 10.0, 1_000.0)); 3];
    let panel = panel(&[&rows]);
    let cfg = Config { max_volume_fraction: Some(0.1), ..Config::default() };
    let host = run(cfg, &panel, |core, i| {
        if i == 0 {
            market(core, Side::Buy, 150.0);
        }
    });
    let quantities: Vec<f64> =
        host.core.broker.portfolio.transactions.iter().map(|f| f.quantity).collect();
    assert_eq!(quantities, vec![100.0, 50.0]);
    assert_eq!(host.core.broker.orders[0].status, OrderStatus::Filled);
}

#[test]
fn an_order_past_max_position_is_rejected_at_submission() {
    let panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0); 2]]);
    let cfg = Config { max_position_quantity: Some(50.0), ..Config::default() };
    let host = run(cfg, &panel, |core, i| {
        if i == 0 {
            market(core, Side::Buy, 100.0);
        }
    });
    let order = host.core.broker.orders[0];
    assert_eq!(
        (order.status, order.reject_reason),
        (OrderStatus::Rejected, Some(Reason::MaxPosition))
    );
}

#[test]
fn round_trips_are_matched_first_in_first_out_with_costs() {
    let panel = panel(&[&[
        bar(10.0, 10.0, 10.0, 10.0),
        bar(10.0, 10.0, 10.0, 10.0),
        bar(12.0, 12.0, 12.0, 12.0),
        bar(15.0, 15.0, 15.0, 15.0),
    ]]);
    let cfg = Config { commission_rate: 0.01, ..Config::default() };
    let host = run(cfg, &panel, |core, i| match i {
        0 => {
            market(core, Side::Buy, 10.0); // at 10 (bar 1)
        }
        1 => {
            market(core, Side::Buy, 10.0); // at 12 (bar 2)
        }
        2 => {
            market(core, Side::Sell, 15.0); // at 15 (bar 3): all of lot 1, half of lot 2
        }
        _ => {}
    });
    let trades = &host.core.broker.portfolio.trades;
    assert_eq!(trades.len(), 2);
    // Lot 1: (15 - 10) * 10 - 0.1 * 10 - 0.15 * 10 = 47.5.
    assert_eq!((trades[0].quantity, trades[0].pnl), (10.0, 47.5));
    // Lot 2, 5 of 10: (15 - 12) * 5 - 0.12 * 5 - 0.15 * 5 = 13.65 (in float arithmetic).
    assert_eq!(trades[1].quantity, 5.0);
    assert_eq!(trades[1].pnl, 3.0 * 5.0 - 0.12 * 5.0 - 0.15 * 5.0);
    assert_eq!(host.core.broker.portfolio.positions[0].quantity, 5.0);
}

#[test]
fn events_reach_the_strategy_in_bus_order() {
    let panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0); 2]]);
    let host = run(Config::default(), &panel, |core, i| {
        if i == 0 {
            market(core, Side::Buy, 1.0);
        }
    });
    let kinds: Vec<&str> = host
        .events
        .iter()
        .map(|e| match e {
            Event::Start => "start",
            Event::Bar(_) => "bar",
            Event::Order(o) if o.status == OrderStatus::Pending => "accepted",
            Event::Order(_) => "order",
            Event::Fill(_) => "fill",
            Event::End => "end",
        })
        .collect();
    // The acceptance is delivered right after on_bar; the fill, then the order's new state.
    assert_eq!(kinds, ["start", "bar", "accepted", "fill", "order", "bar", "end"]);
}

#[test]
fn the_rate_table_puts_each_row_of_rates_in_force_at_its_new_day() {
    let mut panel = panel(&[&[bar(10.0, 10.0, 10.0, 10.0); 3]]);
    // Row 0: commission 0.1 %, no levies; from row 2: 0.2 %, buy stamp duty 0.1 % and a
    // transfer fee of 0.002 % (quanta_ref.market computes the table).
    panel.rate_rows = vec![0, 2];
    panel.rates = vec![0.001, 0.0, 0.0, 0.0, 0.0, 0.002, 0.0, 0.0, 0.001, 0.00002];
    let host = run(Config::default(), &panel, |core, i| {
        if i < 2 {
            market(core, Side::Buy, 100.0);
        }
    });
    let fills = &host.core.broker.portfolio.transactions;
    assert_eq!((fills[0].commission, fills[0].tax), (1000.0 * 0.001, 0.0));
    assert_eq!(
        (fills[1].commission, fills[1].tax),
        (1000.0 * 0.002, 1000.0 * 0.001 + 1000.0 * 0.00002)
    );
    let cash = 1_000_000.0 - 1000.0 - 1.0;
    assert_eq!(host.core.broker.portfolio.cash, cash - 1000.0 - 2.0 - (1.0 + 0.02));
}
