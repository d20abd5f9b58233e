//! Fill prices: where an order trades inside a bar, if at all (`quanta_ref.matching`).
//!
//! Every rule takes the view least favourable to the trader that the bar cannot rule out;
//! slippage moves market and stop fills against the trader but never outside the bar.

use crate::orders::{Order, OrderType, Side};

/// Without a tick size, a price this close (relative) to a daily limit counts as at it.
pub const PRICE_LIMIT_RELATIVE_TOLERANCE: f64 = 1e-9;

/// A market-style fill price: `base` moved by `slippage` against the trader, clamped to
/// the bar's [low, high].
pub fn with_slippage(side: Side, base: f64, high: f64, low: f64, slippage: f64) -> f64 {
    if side == Side::Buy {
        let price = base * (1.0 + slippage);
        return if price < high { price } else { high };
    }
    let price = base * (1.0 - slippage);
    if price > low {
        price
    } else {
        low
    }
}

/// Where a limit order live for the whole bar fills: the open if it is already good enough,
/// else the limit if the bar reached it, else no fill.
pub fn limit_price_in_bar(side: Side, limit: f64, open: f64, high: f64, low: f64) -> Option<f64> {
    if side == Side::Buy {
        if open <= limit {
            return Some(open);
        }
        if low <= limit {
            return Some(limit);
        }
        return None;
    }
    if open >= limit {
        return Some(open);
    }
    if high >= limit {
        return Some(limit);
    }
    None
}

/// The price at which `order` (already sized) fills in this bar, or None. Touching a stop
/// sets `order.triggered`.
pub fn fill_price(
    order: &mut Order,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    at_close: bool,
    slippage: f64,
) -> Option<f64> {
    let side = order.side.expect("target orders are sized before they are priced");
    let kind = order.order_type;
    if kind == OrderType::Market || (kind == OrderType::Stop && order.triggered) {
        let base = if at_close { close } else { open };
        return Some(with_slippage(side, base, high, low, slippage));
    }
    if kind == OrderType::Limit || (kind == OrderType::StopLimit && order.triggered) {
        let limit = order.limit_price.expect("limit orders have a limit price");
        return limit_price_in_bar(side, limit, open, high, low);
    }
    let stop = order.stop_price.expect("stop orders have a stop price");
    let buy = side == Side::Buy;
    // Triggered at the open: the whole bar happens after the trigger.
    if if buy { open >= stop } else { open <= stop } {
        order.triggered = true;
        if kind == OrderType::Stop {
            return Some(with_slippage(side, open, high, low, slippage));
        }
        let limit = order.limit_price.expect("stop-limit orders have a limit price");
        return limit_price_in_bar(side, limit, open, high, low);
    }
    // Triggered inside the bar.
    if if buy { high >= stop } else { low <= stop } {
        order.triggered = true;
        if kind == OrderType::Stop {
            return Some(with_slippage(side, stop, high, low, slippage));
        }
        // Stop-limit: fills at the stop if it is within the limit; otherwise the bar cannot
        // tell whether the price came back after the trigger (pessimistic: no fill).
        let limit = order.limit_price.expect("stop-limit orders have a limit price");
        let within = if buy { stop <= limit } else { stop >= limit };
        return if within { Some(stop) } else { None };
    }
    None
}

/// `floor` kept in float (infinities and NaN pass through), as `quanta_ref.matching.floor`.
pub fn floor(x: f64) -> f64 {
    x.floor()
}

/// `price` rounded to the nearest multiple of `tick`, halves up.
pub fn round_to_tick(price: f64, tick: f64) -> f64 {
    floor(price / tick + 0.5) * tick
}

/// (limit-down, limit-up) for a day whose previous close is `reference_close`.
pub fn price_limits(reference_close: f64, limit: f64, tick: Option<f64>) -> (f64, f64) {
    let mut up = reference_close * (1.0 + limit);
    let mut down = reference_close * (1.0 - limit);
    if let Some(tick) = tick {
        up = round_to_tick(up, tick);
        down = round_to_tick(down, tick);
    }
    (down, up)
}

/// True when a buy would trade at limit-up or a sell at limit-down (within a tolerance).
pub fn blocked_by_price_limit(
    side: Side,
    price: f64,
    down: f64,
    up: f64,
    tick: Option<f64>,
) -> bool {
    if side == Side::Buy {
        let tolerance = match tick {
            Some(tick) => tick * 0.5,
            None => up * PRICE_LIMIT_RELATIVE_TOLERANCE,
        };
        return price >= up - tolerance;
    }
    let tolerance = match tick {
        Some(tick) => tick * 0.5,
        None => down * PRICE_LIMIT_RELATIVE_TOLERANCE,
    };
    price <= down + tolerance
}
