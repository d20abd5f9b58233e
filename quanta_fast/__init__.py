"""`quanta_fast`: the Rust backend of quanta, a thin layer over the compiled `_quanta_fast`.

Everything here follows the reference implementation in `quanta_ref`, which defines the
behaviour; this package only makes it faster. ``ENGINE_AVAILABLE`` says whether the compiled
module carries the engine yet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quanta_fast import _quanta_fast
from quanta_fast.seed import RustBacktestEngine, RustExecutionEngine

if TYPE_CHECKING:
    from quanta_ref.api import Backend

__version__: str = _quanta_fast.__version__

ENGINE_AVAILABLE: bool = hasattr(_quanta_fast, "Engine")

__all__ = [
    "ENGINE_AVAILABLE",
    "RustBacktestEngine",
    "RustExecutionEngine",
    "__version__",
    "core_version",
    "rust_backend",
]


def core_version() -> str:
    """Version of the Rust engine core (`quanta-core`) compiled into this build."""
    return _quanta_fast.version()


def rust_backend() -> Backend:
    """The native backend `quanta_ref.api.Engine(backend="rust")` runs on."""
    from quanta_fast.engine import RustBackend

    return RustBackend()
