"""The native side of compiled strategies (`quanta_core::compiled`, `Engine.run_compiled`).

The behaviour of compiled strategies is tested on both backends elsewhere; these are the
checks only the native engine has: its C records against the numpy dtypes, its errors going
through the reference's helpers, and compiled jobs in the parallel batch. The entries here are
raw numba `cfunc`s over the frame's fields (no `ctx`), so they test the engine alone.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from quanta_ref import Engine, Strategy
from quanta_ref.bars import Bars
from quanta_ref.data import synthetic
from quanta_ref.errors import ConfigError, QuantaError
from quanta_ref.market import prepare
from test_differential import assert_same_result

numba = pytest.importorskip("numba")
from numba import carray, cfunc, types  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

pytestmark = pytest.mark.usefixtures("backend_rust")

# Frame fields by position (every field is 8 bytes).
CALLBACK, INDEX, COLUMN = 0, 1, 5
PARAMS, STATE, REQUESTS, N_REQUESTS, FAULT, FAULT_VALUE = 16, 17, 22, 24, 25, 26
ON_BAR = 1
REQUEST_FIELDS = 13


@intrinsic
def _int64s(typingctx: Any, address: Any) -> Any:
    """The int64 values at `address`."""
    signature = types.CPointer(types.int64)(address)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.inttoptr(args[0], context.get_value_type(sig.return_type))

    return signature, codegen


@intrinsic
def _float64s(typingctx: Any, address: Any) -> Any:
    """The float64 values at `address`."""
    signature = types.CPointer(types.float64)(address)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.inttoptr(args[0], context.get_value_type(sig.return_type))

    return signature, codegen


ENTRY = types.int64(types.CPointer(types.int64))


@cfunc(ENTRY, nopython=True)
def buy_then_fail(frame_pointer: Any) -> int:
    """on_bar: at bar 0 buy params[0] of column 0 (a bad quantity fails at once, as the
    engine refuses it); at bar params[1] return status 7 with fault 1 (value 9); count the
    bars of each column in the state."""
    frame = carray(frame_pointer, 28)
    if frame[CALLBACK] != ON_BAR:
        return 0
    params = carray(_float64s(frame[PARAMS]), 2)
    state = carray(_float64s(frame[STATE]), 1)
    state[0] += 1.0
    if frame[INDEX] == int(params[1]):
        frame[FAULT] = 1
        frame[FAULT_VALUE] = 9
        return 7
    if frame[INDEX] == 0 and frame[COLUMN] == 0:
        ints = carray(_int64s(frame[REQUESTS]), REQUEST_FIELDS)
        floats = carray(_float64s(frame[REQUESTS]), REQUEST_FIELDS)
        for k in range(REQUEST_FIELDS):
            ints[k] = 0
        ints[0] = 1  # submit_order
        floats[8] = params[0]  # quantity
        frame[N_REQUESTS] = 1
    return 0


class BuyOnce(Strategy):
    """What `buy_then_fail` does when it neither fails nor errs, as a Python strategy."""

    def __init__(self, quantity: float) -> None:
        self.quantity = quantity

    def on_bar(self, ctx: Any, bar: Any) -> None:
        if ctx.bar_index == 0 and bar.symbol == ctx.symbols[0]:
            ctx.buy(bar.symbol, self.quantity)


def job(quantity: float, fail_at: int = -1) -> SimpleNamespace:
    """A compiled job running `buy_then_fail`; its parameters stay alive with it."""
    params = np.array([quantity, fail_at], dtype=np.float64)
    return SimpleNamespace(
        entry_address=buy_then_fail.address,
        callbacks=1 << ON_BAR,
        params_address=params.ctypes.data,
        state_size=1,
        max_requests=2,
        params=params,
    )


def bars(n_bars: int = 300, n_symbols: int = 2) -> Bars:
    return synthetic(n_bars, n_symbols, seed=3)


def run_compiled(bars: Bars, compiled_job: Any, **settings: Any) -> Any:
    from quanta_fast import _glue, _quanta_fast
    from quanta_fast.engine import _actions, _result

    config = Engine(**settings).config
    engine = _quanta_fast.Engine(config, _glue)
    ctx = engine.run_compiled(bars, prepare(bars, config), _actions(bars), compiled_job)
    return _result(bars, config, ctx)


def run_batch(bars: Bars, jobs: list[Any], n_jobs: int | None, **settings: Any) -> list[Any]:
    from quanta_fast import _glue, _quanta_fast
    from quanta_fast.engine import _actions

    config = Engine(**settings).config
    engine = _quanta_fast.Engine(config, _glue)
    return engine.run_jobs(bars, prepare(bars, config), _actions(bars), jobs, n_jobs)


def test_the_native_records_are_the_layouts_of_the_shared_module() -> None:
    from quanta_fast import _quanta_fast
    from quanta_ref import compiled

    native = _quanta_fast.compiled_layout()
    for name, dtype in (
        ("Frame", compiled.FRAME),
        ("OrderRecord", compiled.ORDER_RECORD),
        ("FillRecord", compiled.FILL_RECORD),
        ("Request", compiled.REQUEST),
    ):
        fields = [(field, dtype.fields[field][1], dtype[field].itemsize) for field in dtype.names]
        assert native[name] == fields, name
        assert dtype.itemsize == sum(size for _, _, size in native[name])
    codes = native["codes"]
    assert codes["side"] == list(compiled.SIDES)
    assert codes["order_type"] == list(compiled.ORDER_TYPES)
    assert codes["time_in_force"] == list(compiled.TIMES_IN_FORCE)
    assert codes["status"] == list(compiled.STATUSES)
    assert codes["reason"] == list(compiled.REASONS)


def test_a_raw_entry_trades_as_the_same_python_strategy() -> None:
    panel = bars()
    native = run_compiled(panel, job(100.0))
    reference = Engine("python").run(panel, BuyOnce(100.0))
    assert len(native.fills) == 1
    assert_same_result(reference, native)


def test_a_failed_callback_raises_the_reference_error() -> None:
    from quanta_fast._glue import compiled_callback_error

    panel = bars()
    with pytest.raises(QuantaError) as raised:
        run_compiled(panel, job(100.0, fail_at=5))
    symbol = panel.symbols[0]
    expected = compiled_callback_error(ON_BAR, 7, 1, 9, 0, symbol, 5, int(panel.timestamps[5]))
    assert type(raised.value) is type(expected)
    assert str(raised.value) == str(expected)


def test_a_refused_request_raises_the_reference_error() -> None:
    from quanta_fast._glue import compiled_request_error

    panel = bars()
    with pytest.raises(QuantaError) as raised:
        run_compiled(panel, job(-5.0))
    request = (1, 0, 0, 0, 0, 0, 0, 0, -5.0, 0.0, 0.0, 0.0, 0.0)
    last = float(panel.close[0, 0])
    expected = compiled_request_error(request, panel.symbols, 0, int(panel.timestamps[0]), last)
    assert expected is not None
    assert type(raised.value) is type(expected)
    assert str(raised.value) == str(expected)


def test_a_job_without_an_entry_is_refused() -> None:
    with pytest.raises(ConfigError, match="entry address"):
        run_compiled(bars(), SimpleNamespace(**{**vars(job(1.0)), "entry_address": 0}))


@pytest.mark.parametrize("n_jobs", [1, 2, None])
def test_compiled_jobs_in_a_batch_match_their_single_runs(n_jobs: int | None) -> None:
    from quanta_fast import _quanta_fast
    from quanta_fast.engine import _result
    from quanta_ref.arrays import Targets

    panel = bars(400, 3)
    weights = np.full(panel.close.shape, 0.3)
    jobs = [job(10.0 * k) for k in range(1, 6)]
    jobs.insert(2, job(-1.0))  # refused: its error, in its place
    jobs.insert(4, Targets(weights).checked(panel, Engine().config))
    done = run_batch(panel, jobs, n_jobs)
    assert isinstance(done[2], QuantaError)
    assert isinstance(done[4], _quanta_fast.Context)
    config = Engine().config
    for k, outcome in enumerate(done):
        if k in (2, 4):
            continue
        single = run_compiled(panel, jobs[k])
        assert_same_result(single, _result(panel, config, outcome))


def test_a_callable_cost_model_is_called_from_a_compiled_run() -> None:
    panel = bars()

    def commission(symbol: str, side: str, quantity: float, price: float) -> float:
        return 1.5

    native = run_compiled(panel, job(100.0), commission=commission)
    reference = Engine("python", commission=commission).run(panel, BuyOnce(100.0))
    assert native.fills[0].commission == 1.5
    assert_same_result(reference, native)
