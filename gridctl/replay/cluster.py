"""Replay work on Dask (the ``sweep`` extra): a LocalCluster of worker processes, or a running
scheduler, mapping one function over a list of tasks (scenarios of a sweep, chunks of a replay)."""

from __future__ import annotations

from collections.abc import Callable

from tqdm import tqdm

from gridctl.extras import require


def dask_map(fn: Callable, tasks: list[tuple], scheduler: str | None = None, n_workers: int | None = None,
             progress: bool = False, unit: str = "task") -> list:
    """``[fn(*task) for task in tasks]`` on a new LocalCluster (``n_workers`` processes of one thread,
    default one per core) or the cluster at ``scheduler``; results in the order of ``tasks``."""
    distributed = require("dask.distributed", "replay on Dask")
    Client, LocalCluster, as_completed = distributed.Client, distributed.LocalCluster, distributed.as_completed
    cluster = None if scheduler else LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                  dashboard_address=":0")
    client = Client(scheduler or cluster)
    try:
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        for _ in tqdm(as_completed(futures), total=len(futures), unit=unit, desc=unit, disable=not progress):
            pass
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
