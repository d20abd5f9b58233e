# Shortcuts for development; README's commands work without make.
.PHONY: dev test bench lint fmt

# Build the Rust extension (release profile) and install everything editable, with dev tools.
dev:
	python -m pip install -e ".[dev]"

# Rust tests (no Python needed), then the Python suite.
test:
	cd rust && cargo test --workspace
	python -m pytest

# Benchmarks only (pytest-benchmark: the W1-W4 workloads and the callback-engine groups; a few
# minutes); results are kept under .benchmarks/. `quanta bench` prints the docs' tables.
bench:
	python -m pytest benchmarks --benchmark-only --benchmark-autosave

lint:
	ruff check .
	ruff format --check .
	cd rust && cargo fmt --all --check
	cd rust && cargo clippy --workspace --all-targets -- -D warnings
	mypy
	python -m mypy.stubtest quanta_fast._quanta_fast

fmt:
	ruff format .
	cd rust && cargo fmt --all
