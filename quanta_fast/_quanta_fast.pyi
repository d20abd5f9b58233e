# Hand-written stub of the native module built from rust/quanta-py. It is the contract of the
# private native surface: keep it in step with the #[pymodule] in rust/quanta-py/src/lib.rs,
# and check it with `python -m mypy.stubtest quanta_fast._quanta_fast`.

__all__ = ["version", "__version__"]

__version__: str
"""Version of the extension crate (the workspace version in rust/Cargo.toml)."""

def version() -> str:
    """Version of the Rust engine core, `quanta_core::version()`."""
