"""Replay work on Dask (the ``sweep`` extra): a LocalCluster of worker processes, or a running
scheduler, mapping one function over a list of tasks (scenarios of a sweep, chunks of a replay).

Progress is counted in units of work (e.g. replayed days) that the tasks report from their
workers through :func:`progress_reporter` on a topic of the client's own."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

from gridctl.extras import require

LATE_EVENTS_S = 10.0  # how long the bar waits, after the last task, for reports still on their way


@dataclass(frozen=True)
class Units:
    """Progress in units of work: ``total`` of them (e.g. days), reported by the tasks."""

    total: int
    unit: str


def dask_map(fn: Callable, tasks: list[tuple], units: Units, scheduler: str | None = None,
             n_workers: int | None = None, progress: bool = False) -> list:
    """``[fn(*task, topic) for task in tasks]`` on a new LocalCluster (``n_workers`` processes of
    one thread, default one per core) or the cluster at ``scheduler``; results in the order of
    ``tasks``. The progress bar counts the ``units`` the tasks report on ``topic``
    (:func:`progress_reporter`)."""
    distributed = require("dask.distributed", "replay on Dask")
    chatter = logging.getLogger("distributed")  # the cluster's start and teardown, logged at INFO with tracebacks
    level = chatter.level
    chatter.setLevel(logging.ERROR)
    try:
        return _on_cluster(distributed, fn, tasks, units, scheduler, n_workers, progress)
    finally:
        chatter.setLevel(level)


def progress_reporter(topic: str | None) -> Callable[[object], None] | None:
    """A callback for a task in a Dask worker: each call reports one unit of work done (its
    argument, e.g. the day, is not sent) to the client's bar on ``topic``, or, called with a
    text, shows that text beside the bar (the work under way that counts no units); None without
    a topic."""
    if topic is None:
        return None

    def report(done: object) -> None:
        from distributed import get_worker

        get_worker().log_event(topic, done if isinstance(done, str) else 1)

    return report


def _on_cluster(distributed, fn: Callable, tasks: list[tuple], units: Units, scheduler: str | None,
                n_workers: int | None, progress: bool) -> list:
    cluster = None if scheduler else distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                                              processes=True, dashboard_address=":0")
    client = distributed.Client(scheduler or cluster)
    bar = tqdm(total=units.total, unit=units.unit, desc=units.unit, disable=not progress)
    topic = f"gridctl-progress-{uuid.uuid4().hex}"
    reported = [0]  # units reported (a disabled bar counts nothing)

    def on_report(event: tuple) -> None:
        if isinstance(event[1], str):
            bar.set_postfix_str(event[1])
            return
        reported[0] += event[1]
        bar.update(event[1])

    try:
        client.subscribe_topic(topic, on_report)
        futures = [client.submit(fn, *task, topic, pure=False) for task in tasks]
        results = client.gather(futures)
        deadline = time.monotonic() + LATE_EVENTS_S
        while reported[0] < units.total and time.monotonic() < deadline:
            time.sleep(0.05)
        return results
    finally:
        bar.close()
        client.unsubscribe_topic(topic)
        client.close()
        if cluster is not None:
            cluster.close()
