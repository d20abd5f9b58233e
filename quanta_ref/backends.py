"""The backends an `Engine` runs on, found by name.

A backend is a `quanta_ref.api.Backend`. The reference engine is built in as ``"python"``.
Every other backend is a plug-in: its package declares it as an entry point of the group
``quanta.backends``, the name mapping to a `Backend` class (or any function of no arguments
returning one). quanta's own Rust accelerator is declared that way in pyproject.toml::

    [project.entry-points."quanta.backends"]
    rust = "quanta_fast.engine:RustBackend"

so the reference never imports the accelerator: the accelerator plugs into the reference,
and a third-party backend can plug in the same way. ``"auto"`` is the first of `AUTO_ORDER`
that loads: every backend gives the same results bit for bit, so the fastest one available is
the right default.
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points

from quanta_ref.api import Backend
from quanta_ref.engine import ReferenceBackend
from quanta_ref.errors import BackendUnavailable, ConfigError

#: The entry-point group backends are declared in.
GROUP = "quanta.backends"
#: What ``backend="auto"`` tries, in order.
AUTO_ORDER = ("rust", "python")


@functools.cache
def _plugins() -> dict[str, EntryPoint]:
    """The backends declared by installed packages, by name. Read once per process: the scan
    of every installed package's metadata takes milliseconds, longer than a small run."""
    return {point.name: point for point in entry_points(group=GROUP)}


def names() -> tuple[str, ...]:
    """Every backend name an `Engine` accepts: quanta's own ``"python"`` and ``"rust"``
    (whether or not rust loads here), the installed plug-ins, and ``"auto"``."""
    plugins = sorted(name for name in _plugins() if name not in ("python", "rust", "auto"))
    return ("python", "rust", *plugins, "auto")


def check_name(name: object) -> str:
    """`name` if some backend has it (loadable here or not), else ConfigError."""
    if not isinstance(name, str) or name not in names():
        raise ConfigError(f"backend: must be one of {names()}, got {name!r}")
    return name


def load(name: str) -> Backend:
    """A new instance of the backend called `name` (``"auto"``: see `AUTO_ORDER`).

    Raises
    ------
    ConfigError
        No backend has that name, or its entry point gives something that is not a backend.
    BackendUnavailable
        It is declared but does not load here (e.g. the Rust extension is not built, or was
        built from older sources), or it is quanta's own Rust backend and the package
        metadata that declares it is missing (an install older than the registry).
    """
    if name == "auto":
        return _auto()
    if name == "python":
        return ReferenceBackend()
    point = _plugins().get(name) if isinstance(name, str) else None
    if point is None and name == "rust":
        raise BackendUnavailable(
            f"backend: 'rust' is not installed (no entry point 'rust' in the group {GROUP}); "
            f"install quanta with pip install -e '.[dev]'"
        )
    if point is None:
        check_name(name)
    assert point is not None
    try:
        backend = point.load()()
    except Exception as exc:
        raise BackendUnavailable(
            f"backend: {name!r} ({point.value}) does not load: {type(exc).__name__}: {exc}; "
            f"for quanta's Rust backend, build the extension with pip install -e '.[dev]'"
        ) from exc
    if not isinstance(backend, Backend) or not hasattr(backend, "indicators"):
        raise ConfigError(
            f"backend: the entry point {name!r} ({point.value}) gave a "
            f"{type(backend).__name__}, not a quanta_ref.api.Backend with its indicators"
        )
    return backend


def _auto() -> Backend:
    """The first backend of `AUTO_ORDER` that loads; one that is broken (not a backend at
    all) is an error, not a reason to fall back."""
    for name in AUTO_ORDER[:-1]:
        try:
            return load(name)
        except BackendUnavailable:
            continue
    return load(AUTO_ORDER[-1])
