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
    """Every backend name an `Engine` accepts: the built-in ``"python"``, the installed
    plug-ins (whether or not they load here), and ``"auto"``."""
    plugins = sorted(name for name in _plugins() if name not in ("python", "auto"))
    return ("python", *plugins, "auto")


def load(name: str) -> Backend:
    """A new instance of the backend called `name` (``"auto"``: see `AUTO_ORDER`).

    Raises
    ------
    ConfigError
        No backend has that name.
    BackendUnavailable
        It is declared but does not load here (e.g. the Rust extension is not built).
    """
    if name == "auto":
        return _auto()
    if name == "python":
        return ReferenceBackend()
    point = _plugins().get(name) if isinstance(name, str) else None
    if point is None:
        raise ConfigError(f"backend: must be one of {names()}, got {name!r}")
    try:
        backend = point.load()()
    except ImportError as exc:
        raise BackendUnavailable(
            f"backend: {name!r} ({point.value}) does not load: {exc}; for quanta's Rust "
            f"backend, build the extension with pip install -e '.[dev]'"
        ) from None
    if not isinstance(backend, Backend):
        raise ConfigError(
            f"backend: the entry point {name!r} ({point.value}) gave a "
            f"{type(backend).__name__}, not a quanta_ref.api.Backend"
        )
    return backend


def _auto() -> Backend:
    for name in AUTO_ORDER[:-1]:
        try:
            return load(name)
        except (BackendUnavailable, ConfigError):
            continue
    return load(AUTO_ORDER[-1])
