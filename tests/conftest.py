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
    """Skip the calling test when the Rust engine is not built; fail it in CI, where a
    missing extension is a broken build."""
    try:
        import quanta_fast
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"the Rust extension does not import in CI: {exc}")
        pytest.skip(f"Rust extension not built: {exc}")
    if not getattr(quanta_fast, "ENGINE_AVAILABLE", False):
        if IN_CI:
            pytest.fail("the Rust engine is missing from the extension in CI")
        pytest.skip("the Rust engine is not in this build of the extension")
