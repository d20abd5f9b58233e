"""Shared fixtures: every behavioural test takes `backend` and so runs on both engines."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(params=["python", "rust"])
def backend(request: pytest.FixtureRequest) -> str:
    """The engine backend under test. The Rust case skips locally when the extension is not
    built, but fails in CI, where a missing extension is a broken build."""
    if request.param == "rust":
        require_rust_engine()
    return str(request.param)


@pytest.fixture
def backend_rust() -> None:
    """For tests that need the Rust engine itself (differential tests): skip locally when
    it is not built, fail in CI."""
    require_rust_engine()


def require_rust_engine() -> None:
    """Skip the calling test when the Rust backend does not load (`quanta_ref.backends`, as
    `Engine(backend="rust")` finds it); fail it in CI, where that is a broken build."""
    from quanta_ref import backends
    from quanta_ref.errors import BackendUnavailable

    try:
        backends.load("rust")
    except BackendUnavailable as exc:
        if IN_CI:
            pytest.fail(f"the Rust backend does not load in CI: {exc}")
        pytest.skip(f"Rust backend not built: {exc}")
