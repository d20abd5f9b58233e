//! Hand-computed cases for the native array strategies (docs/semantics.md section 16): a few
//! bars, a job, exact expected fills.

use quanta_core::arrays::{run_job, Job, Signals, SizeType, Targets};
use quanta_core::config::Config;
use quanta_core::engine::Core;
use quanta_core::orders::{OrderStatus, OrderType, Side};

/// One bar: (open, high, low, close); None = missing.
mod common;

use common::{panel, Row};

fn flat(price: f64) -> Row {
    Some((price, price, price, price, 1e9))
}

fn bar(o: f64, h: f64, l: f64, c: f64) -> Row {
    Some((o, h, l, c, 1e9))
}

/// Boolean column with `true` at the given rows.
fn at(n_bars: usize, rows: &[usize]) -> Vec<bool> {
    (0..n_bars).map(|t| rows.contains(&t)).collect()
}

fn signals<'a>(entries: &'a [bool], exits: &'a [bool]) -> Signals<'a> {
    Signals {
        entries,
        exits,
        short_entries: None,
        short_exits: None,
        size: 1.0,
        size_type: SizeType::Percent,
        stop_loss: None,
        take_profit: None,
    }
}

fn cash(amount: f64) -> Config {
    Config { initial_cash: amount, ..Config::default() }
}

/// (side, quantity, price) of every fill.
fn fills(core: &Core) -> Vec<(Side, f64, f64)> {
    core.broker.portfolio.transactions.iter().map(|f| (f.side, f.quantity, f.price)).collect()
}

#[test]
fn an_entry_buys_all_in_at_the_next_open_costs_included() {
    // Decided at row 0's close (9), sized at row 1's open (10): 10,000 / (10 x 1.001) = 999.0.
    let panel = panel(&[&[flat(9.0), bar(10.0, 12.0, 9.0, 11.0), flat(11.0)]]);
    let (entries, exits) = (at(3, &[0]), at(3, &[]));
    let cfg = Config { commission_rate: 0.001, ..cash(10_000.0) };
    let core = run_job(cfg, panel.view(), Job::Signals(signals(&entries, &exits))).unwrap();
    assert_eq!(fills(&core), vec![(Side::Buy, 999.0, 10.0)]);
    assert_eq!(core.broker.portfolio.transactions[0].timestamp, panel.timestamps[1]);
    assert_eq!(core.cash[1], 10_000.0 - 9_990.0 - 9.99);
    assert_eq!(core.broker.orders[0].target_percent, Some(1.0));
}

#[test]
fn an_exit_sells_the_whole_position_at_the_next_open_and_repeated_entries_do_nothing() {
    let panel = panel(&[&[flat(10.0), flat(10.0), flat(12.0), flat(13.0), flat(14.0)]]);
    let (entries, exits) = (at(5, &[0, 1, 2]), at(5, &[2]));
    let core =
        run_job(cash(1_000.0), panel.view(), Job::Signals(signals(&entries, &exits))).unwrap();
    // Entry at row 0 (bought at row 1), entry again at row 1 (long: nothing), entry and exit
    // at row 2 (the exit wins), sold at row 3's open.
    assert_eq!(fills(&core), vec![(Side::Buy, 100.0, 10.0), (Side::Sell, 100.0, 13.0)]);
    assert_eq!(core.broker.orders.len(), 2);
    assert_eq!(core.broker.portfolio.cash, 1_300.0);
    assert_eq!(core.broker.portfolio.trades.len(), 1);
}

#[test]
fn a_stop_loss_sells_at_its_stop_price_when_the_bar_passes_through_it() {
    let panel = panel(&[&[
        flat(100.0),
        flat(100.0),                 // entry fills at 100: stop at 90, from row 2
        bar(95.0, 96.0, 85.0, 88.0), // passes 90 inside the bar
        flat(80.0),
    ]]);
    let (entries, exits) = (at(4, &[0]), at(4, &[]));
    let job = Signals { stop_loss: Some(0.1), ..signals(&entries, &exits) };
    let core = run_job(cash(10_000.0), panel.view(), Job::Signals(job)).unwrap();
    assert_eq!(fills(&core), vec![(Side::Buy, 100.0, 100.0), (Side::Sell, 100.0, 90.0)]);
    let stop = core.broker.orders[1];
    assert_eq!(
        (stop.order_type, stop.side, stop.quantity),
        (OrderType::Stop, Some(Side::Sell), 100.0)
    );
    assert_eq!(stop.stop_price, Some(100.0 * (1.0 - 0.1)));
    assert_eq!(stop.eligible_bar, 2);
    assert_eq!(stop.status, OrderStatus::Filled);
}

#[test]
fn when_stop_and_target_are_both_inside_one_bar_the_stop_wins_and_cancels_the_target() {
    let panel = panel(&[&[
        flat(100.0),
        flat(100.0),                    // bought 100 at 100: stop 90, target 110
        bar(100.0, 115.0, 85.0, 100.0), // both levels inside the bar
        flat(100.0),
    ]]);
    let (entries, exits) = (at(4, &[0]), at(4, &[]));
    let job = Signals { stop_loss: Some(0.1), take_profit: Some(0.1), ..signals(&entries, &exits) };
    let core = run_job(cash(10_000.0), panel.view(), Job::Signals(job)).unwrap();
    assert_eq!(fills(&core), vec![(Side::Buy, 100.0, 100.0), (Side::Sell, 100.0, 90.0)]);
    let (stop, target) = (core.broker.orders[1], core.broker.orders[2]);
    assert_eq!(stop.order_type, OrderType::Stop);
    assert_eq!(target.order_type, OrderType::Limit);
    assert_eq!(target.limit_price, Some(100.0 * (1.0 + 0.1)));
    assert_eq!(stop.status, OrderStatus::Filled);
    assert_eq!(target.status, OrderStatus::Cancelled);
    assert_eq!(core.broker.portfolio.positions[0].quantity, 0.0);
}

#[test]
fn a_take_profit_fills_at_its_limit_and_cancels_the_stop() {
    let panel = panel(&[&[
        flat(100.0),
        flat(100.0),
        bar(101.0, 111.0, 99.0, 105.0), // 110.00000000000001 is inside
        flat(100.0),
    ]]);
    let (entries, exits) = (at(4, &[0]), at(4, &[]));
    let job = Signals { stop_loss: Some(0.1), take_profit: Some(0.1), ..signals(&entries, &exits) };
    let core = run_job(cash(10_000.0), panel.view(), Job::Signals(job)).unwrap();
    let target = 100.0 * (1.0 + 0.1);
    assert_eq!(fills(&core), vec![(Side::Buy, 100.0, 100.0), (Side::Sell, 100.0, target)]);
    assert_eq!(core.broker.orders[1].status, OrderStatus::Cancelled);
}

#[test]
fn a_short_entry_reverses_a_long_position_on_a_margin_account_with_quantity_sizing() {
    let panel = panel(&[&[flat(10.0), flat(10.0), flat(10.0), flat(10.0)]]);
    let (entries, exits, shorts) = (at(4, &[0]), at(4, &[]), at(4, &[1]));
    let job = Signals {
        short_entries: Some(&shorts),
        size: 50.0,
        size_type: SizeType::Quantity,
        ..signals(&entries, &exits)
    };
    let cfg = Config { allow_short: true, ..cash(10_000.0) };
    let core = run_job(cfg, panel.view(), Job::Signals(job)).unwrap();
    assert_eq!(fills(&core), vec![(Side::Buy, 50.0, 10.0), (Side::Sell, 100.0, 10.0)]);
    assert_eq!(core.broker.orders[1].target_quantity, Some(-50.0));
    assert_eq!(core.broker.portfolio.positions[0].quantity, -50.0);
}

#[test]
fn a_target_rebalance_sends_the_sells_before_the_buys_whatever_the_data_order() {
    // Columns: B then A. Row 0: A to 100 %. Row 1: B to 100 %, A to 0 %: A's sell is sent
    // first (data order would send B's buy first), so B's buy can use A's cash.
    let b: &[Row] = &[flat(50.0), flat(50.0), flat(50.0), flat(50.0)];
    let a: &[Row] = &[flat(100.0), flat(100.0), flat(110.0), flat(110.0)];
    let panel = panel(&[b, a]);
    let nan = f64::NAN;
    #[rustfmt::skip]
    let weights = [
        nan, 1.0,
        1.0, 0.0,
        nan, nan,
        nan, nan,
    ];
    let core =
        run_job(cash(10_000.0), panel.view(), Job::Targets(Targets { weights: &weights })).unwrap();
    let columns: Vec<usize> = core.broker.orders.iter().map(|o| o.column).collect();
    assert_eq!(columns, vec![1, 1, 0]);
    // Row 2: A's 100 shares sold at 110 (cash 11,000), then B bought with all of it at 50.
    assert_eq!(
        fills(&core),
        vec![(Side::Buy, 100.0, 100.0), (Side::Sell, 100.0, 110.0), (Side::Buy, 220.0, 50.0)]
    );
    assert_eq!(core.broker.portfolio.cash, 0.0);
}

#[test]
fn decisions_wait_for_the_last_symbol_present_in_the_row() {
    // Row 1: B is missing, so A's bar is the row's last; row 2: A missing, B decides. Both
    // entries are seen and each order is sized at the symbol's next present open.
    let a: &[Row] = &[flat(10.0), flat(10.0), None, flat(10.0), flat(10.0)];
    let b: &[Row] = &[flat(20.0), None, flat(20.0), flat(20.0), flat(20.0)];
    let panel = panel(&[a, b]);
    #[rustfmt::skip]
    let entries = [
        false, false,
        true, false,  // A enters at row 1
        false, true,  // B enters at row 2
        false, false,
        false, false,
    ];
    let exits = [false; 10];
    let job = Signals { size: 0.5, ..signals(&entries, &exits) };
    let core = run_job(cash(1_000.0), panel.view(), Job::Signals(job)).unwrap();
    let created: Vec<(usize, i64)> =
        core.broker.orders.iter().map(|o| (o.column, o.created_at)).collect();
    assert_eq!(created, vec![(0, panel.timestamps[1]), (1, panel.timestamps[2])]);
    assert_eq!(fills(&core), vec![(Side::Buy, 50.0, 10.0), (Side::Buy, 25.0, 20.0)]);
}
