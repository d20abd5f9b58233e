//! `quanta-core`: the backtesting engine of quanta in pure Rust.
//!
//! This crate is the domain (bars, orders, fills, positions, portfolio) and the per-bar loops
//! that move it, written to reproduce `quanta_ref`, the pure-Python reference engine, result
//! for result. It is *not* a Python binding: it does not depend on pyo3 or numpy, builds and
//! tests with plain `cargo test`, and knows nothing of the GIL. The PyO3 glue lives in the
//! `quanta-py` crate, which converts at the edge and calls in here.
//!
//! Modules mirror the reference one for one, with the same names:
//! - [`bars`]: the bar panel the loop reads ([`bars::BarsView`]) and an owned one for Rust
//!   callers ([`bars::Panel`]);
//! - [`events`]: what the loop delivers ([`events::Event`]), its FIFO queue and the trading day;
//! - [`orders`]: orders, fills, trades and the names of their enums;
//! - [`execution`]: the broker (acceptance, fill prices, sizing, costs, booking);
//! - [`portfolio`], [`risk`], [`config`];
//! - [`engine`]: the loop ([`engine::run`]) over a [`engine::Host`];
//! - [`arrays`]: the array strategies of `quanta_ref.arrays`, run natively;
//! - [`compiled`]: the compiled (numba) strategies of `quanta_ref.compiled`, called through
//!   a C function pointer;
//! - [`metrics`]: statistics of a finished run; [`indicators`]: batch and streaming.
//!
//! Inputs are validated by the Python front before they reach this crate; its functions
//! document the preconditions they rely on.

#![deny(unsafe_code)]
#![warn(missing_docs)]
// Accumulations are spelled `x = x + y` as in the reference, so the two read line for line.
#![allow(clippy::assign_op_pattern)]

pub mod arrays;
pub mod bars;
pub mod compiled;
pub mod config;
pub mod engine;
pub mod events;
pub mod execution;
pub mod orders;
pub mod portfolio;
pub mod risk;

pub mod metrics;

pub mod indicators;

/// The version of this crate (the `version` in its `Cargo.toml`), e.g. `"0.1.0"`.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_cargo_package_version() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
        let parts: Vec<&str> = version().split('.').collect();
        assert_eq!(parts.len(), 3, "expected MAJOR.MINOR.PATCH, got {}", version());
        assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()));
    }
}
