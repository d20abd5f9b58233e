"""The `quanta` command and its benchmarks: `quanta demo` and `quanta bench`.

Product code around the engine, kept out of the reference package `quanta_ref` (the
specification): the benchmark workloads, their timing and peak-memory measurement, and the
report `quanta bench` prints (the tables of docs/benchmarks.md).
"""
