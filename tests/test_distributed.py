"""Beyond one process: a grid on a dask.distributed cluster gives the local results.

The cluster is a `LocalCluster` of two worker *processes* on this machine, so every chunk of
jobs really is pickled, sent, run natively in another interpreter and sent back. The workers
import quanta as this process does: through the installed package (CI: ``pip install -e``),
or through PYTHONPATH, which the worker processes inherit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from quanta_ref import Engine
from test_grid import BARS, GRID, SETTINGS, crossover, fingerprint, fingerprints, mixed_jobs, slower

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One two-process cluster for the whole module (starting one takes a few seconds)."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    dask_client = distributed.Client(cluster)
    try:
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


def test_run_many_on_a_dask_cluster_matches_the_local_run(client: Any, backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    local = engine.run_many(BARS, mixed_jobs(backend))
    remote = engine.run_many(BARS, mixed_jobs(backend), executor=client.get_executor())
    assert fingerprints(remote) == fingerprints(local)
    # The chunks really ran in the worker processes.
    assert len(client.nthreads()) == 2


def test_optimize_on_a_dask_cluster_matches_the_local_run(client: Any, backend: str) -> None:
    engine = Engine(backend=backend, **SETTINGS)
    local = engine.optimize(BARS, crossover, GRID, constraint=slower)
    remote = engine.optimize(
        BARS, crossover, GRID, constraint=slower, executor=client.get_executor(), progress=True
    )
    assert remote.table.equals(local.table)
    assert remote.best_params == local.best_params
    assert remote.best is not None and local.best is not None
    assert fingerprint(remote.best) == fingerprint(local.best)
