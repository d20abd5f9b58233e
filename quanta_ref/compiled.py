"""Stub of the compiled strategies' shared module, for the native side's branch only (the real
module, with the layouts, checks, error texts and the reference driver, replaces it)."""

from __future__ import annotations

from typing import Any

from quanta_ref.errors import OrderError, QuantaError


class CompiledStrategy:
    """A compiled strategy (stub)."""

    def native_job(self) -> Any:
        raise NotImplementedError


def compiled_request_error(
    request: tuple[Any, ...], symbols: tuple[str, ...], index: int, now: int, last_price: float
) -> BaseException | None:
    """The error of a refused request (stub)."""
    return OrderError(f"request refused: {request!r} at {index} ({now}), last {last_price!r}")


def compiled_callback_error(
    callback: int,
    status: int,
    fault: int,
    fault_value: int,
    n_requests: int,
    symbol: str | None,
    index: int,
    now: int,
) -> BaseException:
    """The error of a failed callback (stub)."""
    return QuantaError(
        f"callback {callback} failed: status {status}, fault {fault} ({fault_value}), "
        f"{n_requests} requests, symbol {symbol!r}, bar {index} ({now})"
    )
