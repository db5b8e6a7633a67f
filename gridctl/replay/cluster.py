"""Replay work on Dask (the ``sweep`` extra): a LocalCluster of worker processes, or a running
scheduler, mapping one function over a list of tasks (scenarios of a sweep, chunks of a replay)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tqdm import tqdm

from gridctl.extras import require


def dask_map(fn: Callable, tasks: list[tuple], scheduler: str | None = None, n_workers: int | None = None,
             progress: bool = False, unit: str = "task") -> list:
    """``[fn(*task) for task in tasks]`` on a new LocalCluster (``n_workers`` processes of one thread,
    default one per core) or the cluster at ``scheduler``; results in the order of ``tasks``."""
    distributed = require("dask.distributed", "replay on Dask")
    chatter = logging.getLogger("distributed")  # the cluster's start and teardown, logged at INFO with tracebacks
    level = chatter.level
    chatter.setLevel(logging.ERROR)
    try:
        return _on_cluster(distributed, fn, tasks, scheduler, n_workers, progress, unit)
    finally:
        chatter.setLevel(level)


def _on_cluster(distributed, fn: Callable, tasks: list[tuple], scheduler: str | None, n_workers: int | None,
                progress: bool, unit: str) -> list:
    cluster = None if scheduler else distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                                              processes=True, dashboard_address=":0")
    client = distributed.Client(scheduler or cluster)
    try:
        futures = [client.submit(fn, *task, pure=False) for task in tasks]
        for _ in tqdm(distributed.as_completed(futures), total=len(futures), unit=unit, desc=unit,
                      disable=not progress):
            pass
        return client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
