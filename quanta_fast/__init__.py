"""`quanta_fast`: the Rust backend of quanta, a thin layer over the compiled `_quanta_fast`.

Everything here follows the reference implementation in `quanta_ref`, which defines the
behaviour; this package only makes it faster. It plugs into the reference as the backend
named "rust" (the entry point `quanta_fast.engine:RustBackend` of the group
``quanta.backends``): `quanta_ref.Engine(backend="rust")` finds it there, and
``backend="auto"`` (the default) picks it whenever it is built. ``ENGINE_AVAILABLE`` says
whether the compiled module carries the engine (every build since the engine was added
does; `quanta_ref.backends.load("rust")` is the check that also covers the installation).
"""

from __future__ import annotations

from quanta_fast import _quanta_fast
from quanta_fast.compat import RustBacktestEngine, RustExecutionEngine

__version__: str = _quanta_fast.__version__

ENGINE_AVAILABLE: bool = hasattr(_quanta_fast, "Engine")

__all__ = [
    "ENGINE_AVAILABLE",
    "RustBacktestEngine",
    "RustExecutionEngine",
    "__version__",
    "core_version",
]


def core_version() -> str:
    """Version of the Rust engine core (`quanta-core`) compiled into this build."""
    return _quanta_fast.version()
