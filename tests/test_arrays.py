"""Hand-computed tests of docs/semantics.md section 16: array strategies (`run_signals`,
`run_targets`), on both backends. Every expected fill is worked out in the comment above it.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import bars_from_rows

from quanta_ref import Engine
from quanta_ref.errors import ConfigError, DataError


def flat(price: float) -> tuple[float, ...]:
    return (price, price, price, price)


# ---------------------------------------------------------------------- regressions
def test_an_int_size_beyond_the_float_range_is_a_config_error(backend: str) -> None:
    # float(10**400) raises OverflowError; the check must turn it into the ConfigError
    bars = bars_from_rows([flat(10.0)] * 2)
    with pytest.raises(ConfigError) as caught:
        Engine(backend).run_signals(bars, [True, False], [False, False], size=10**400)
    assert str(caught.value) == f"size: must be a finite number > 0, got {10**400!r}"


def test_an_infinite_weight_is_named_as_a_plain_float(backend: str) -> None:
    # the element of a float64 array is np.float64, whose repr is "np.float64(inf)"
    bars = bars_from_rows([flat(10.0)] * 3)
    with pytest.raises(DataError) as caught:
        Engine(backend).run_targets(bars, np.array([np.nan, np.inf, 0.5]))
    assert str(caught.value) == ("weights: inf is not finite (NaN = no change), symbol 'X', "
                                 "bar 1 (2024-01-02T00:00:00.000000000)")


def test_a_wrong_shape_message_reports_the_shape_given(backend: str) -> None:
    # a (3,) array for one symbol was reported as "(3, 1)", the shape after the reshape
    bars = bars_from_rows([flat(10.0)] * 4)
    with pytest.raises(DataError) as caught:
        Engine(backend).run_signals(bars, [True, False, False], [False] * 4)
    assert str(caught.value) == "entries: expected shape (4, 1) (bars x symbols), got (3,)"
