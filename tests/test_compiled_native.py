"""The native side of compiled strategies (`quanta_core::compiled`, `Engine.run_compiled`).

The behaviour of compiled strategies is tested on both backends elsewhere; these are the
checks only the native engine has: its C records against the numpy dtypes, its errors going
through the reference's helpers, and compiled jobs in the parallel batch. The entries here are
raw numba `cfunc`s over the frame's fields (no `ctx`), so they test the engine alone.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from quanta_ref import Engine, Strategy
from quanta_ref.bars import Bars
from quanta_ref.data import synthetic
from quanta_ref.errors import ConfigError, OrderError, QuantaError
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
NO_TIME = -(2**63)
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


# ================================================================ request checks
@cfunc(ENTRY, nopython=True)
def replay(frame_pointer: Any) -> int:
    """on_bar of column 0: at bar 0 the first request of params (two REQUEST records), at
    bar 2 the second."""
    frame = carray(frame_pointer, 28)
    if frame[CALLBACK] != ON_BAR or frame[COLUMN] != 0:
        return 0
    index = frame[INDEX]
    if index != 0 and index != 2:
        return 0
    slot = 0 if index == 0 else REQUEST_FIELDS
    params = carray(_int64s(frame[PARAMS]), 2 * REQUEST_FIELDS)
    requests = carray(_int64s(frame[REQUESTS]), REQUEST_FIELDS)
    for k in range(REQUEST_FIELDS):
        requests[k] = params[slot + k]
    frame[N_REQUESTS] = 1
    return 0


def request_of(values: dict[str, Any]) -> Any:
    from quanta_ref.compiled import REQUEST

    record = np.zeros(1, dtype=REQUEST)
    for name, value in values.items():
        record[name] = value
    return record[0]


def mostly(*valid: Any, invalid: tuple[Any, ...]) -> Any:
    """A valid value seven times in eight, else an invalid one."""
    return st.sampled_from([*valid] * 7 * len(invalid) + [*invalid] * len(valid))


CHECK_BARS = synthetic(5, 2, seed=4)
NOW = int(CHECK_BARS.timestamps[2])
NUMBERS = mostly(0.5, 1.0, 3.0, 250.0, 1e308, invalid=(math.nan, math.inf, -math.inf, -1.0, 0.0))
DISTANCES = mostly(0.01, 0.5, 1.0, invalid=(math.nan, math.inf, -1.0, 0.0, 250.0, 1e308))
FRACTIONS = mostly(0.1, 0.5, 0.99, invalid=(1.0, 1.5, math.nan, 0.0, -0.5))
TIMES = mostly(NOW, NOW + 1, 2**63 - 1, invalid=(NOW - 1, NO_TIME, -5, 0, 5))


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    """A request, most of its fields valid and consistent, some not."""
    kind = draw(mostly(1, 1, 1, 2, 3, 4, invalid=(0, 5, -1)))
    order_type = draw(mostly(0, 1, 2, 3, 4, invalid=(-1, 5)))
    tif = draw(mostly(0, 1, 2, 3, 4, invalid=(-1, 5)))
    given = (1 if order_type in (1, 3) else 0) | (2 if order_type in (2, 3) else 0)
    given |= 4 if tif == 4 else 0
    given |= (8 if draw(st.booleans()) else 16) if order_type == 4 else 0
    given ^= draw(mostly(0, invalid=(1, 2, 4, 8, 16, 24)))
    return {
        "kind": kind,
        "column": draw(mostly(0, 1, invalid=(-1, 2))),
        "side": draw(mostly(0, 1, invalid=(-1, 2))),
        "order_type": order_type,
        "time_in_force": tif,
        "order_id": draw(mostly(1, 2, invalid=(-1, 0, 3))),
        "expire_at": draw(TIMES),
        "given": given,
        "quantity": draw(NUMBERS),
        "limit_price": draw(NUMBERS),
        "stop_price": draw(NUMBERS),
        "trail_amount": draw(DISTANCES),
        "trail_percent": draw(FRACTIONS),
    }


TRAILING_BUY = {"kind": 1, "column": 0, "side": 0, "order_type": 4, "quantity": 1.0, "given": 16}


@settings(max_examples=1000, deadline=None)
@given(fields=requests())
@example(fields={**TRAILING_BUY, "trail_percent": 1.0})  # a level, but not a fraction
@example(fields={**TRAILING_BUY, "trail_percent": 0.999})
@example(fields={**TRAILING_BUY, "time_in_force": 4, "given": 20, "expire_at": NOW - 1})
def test_the_native_checks_refuse_what_check_request_refuses(fields: dict[str, Any]) -> None:
    from quanta_ref.compiled import REQUEST, check_request

    live = {"kind": 1, "quantity": 1.0, "order_type": 1, "given": 1, "limit_price": 0.01}
    params = np.zeros(2, dtype=REQUEST)
    params[0] = request_of(live)  # order 1, live at bar 2
    params[1] = request_of(fields)
    compiled_job = SimpleNamespace(
        entry_address=replay.address,
        callbacks=1 << ON_BAR,
        params_address=params.ctypes.data,
        state_size=0,
        max_requests=1,
    )
    column = fields["column"]
    last = float(CHECK_BARS.close[2, column]) if 0 <= column < 2 else math.nan
    request = tuple(params[1].tolist())
    try:
        check_request(request, CHECK_BARS.symbols, 2, NOW, last, 1)
        refused = None
    except OrderError as error:
        refused = error
    if refused is None:
        run_compiled(CHECK_BARS, compiled_job)
    else:
        with pytest.raises(OrderError) as raised:
            run_compiled(CHECK_BARS, compiled_job)
        assert str(raised.value) == str(refused)


# ================================================================ the GIL, Ctrl-C
def test_the_gil_is_released_while_compiled_jobs_run() -> None:
    import threading
    import time

    from compiled_strategies import SmaCross

    panel = synthetic(100_000, seed=5, freq="1min", volatility=0.001)
    engine = Engine("rust")
    started = time.perf_counter()
    engine.run(panel, SmaCross())
    one = time.perf_counter() - started
    jobs = [SmaCross(fast=5 + k % 10) for k in range(max(1, int(0.5 / max(one, 1e-4))))]
    elapsed: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        engine.run_many(panel, jobs, n_jobs=1)
        elapsed.append(time.perf_counter() - start)

    worker = threading.Thread(target=work)
    count, longest, last = 0, 0.0, time.perf_counter()
    worker.start()
    while worker.is_alive():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
        count += 1
    worker.join()
    # With the GIL held, this loop would stop for the whole native run: no gap as long as
    # half the run.
    assert elapsed[0] > 0.1, elapsed
    assert longest < elapsed[0] / 2, (longest, elapsed)
    assert count > 10_000, count


def test_ctrl_c_stops_compiled_jobs_on_two_threads() -> None:
    from compiled_strategies import SmaCross
    from test_native_edges import in_backend, interrupt_inside, report

    panel = synthetic(n_bars=300_000, n_symbols=10, seed=2, freq="1min")
    jobs = [SmaCross(fast=5 + k) for k in range(16)]
    engine = Engine("rust")
    latency = interrupt_inside(
        lambda: engine.run_many(panel, jobs, n_jobs=2), in_backend("run_jobs")
    )
    report("compiled run_many(n_jobs=2)", "rust", latency)
