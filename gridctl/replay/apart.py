"""Work a replay runs in a process of its own, beside gridctl's run, when a core is spare.

Helpers are forked by multiprocessing's fork server, a clean process (no threads, no solver or
OpenMP state) that imports the helpers' modules (:data:`HELPERS`, about 3 s of CPU) once, so a
helper starts in milliseconds, in this process's folder and with its ``sys.path``, and two
helpers do not import the same libraries twice. The
server starts with the first helper, or earlier with :func:`prepare` (e.g. while the district
loads), and serves every later replay of this process. A helper reads its arguments only once
it runs; passed as a process's arguments, a district (its history, carbon data and network)
would hold the replay until then. :func:`spawn` passes only the channels that way and sends the
rest, pickled here (so an error surfaces here), through a pipe a background thread writes.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.context
import os
import pickle
import signal
import threading
from collections.abc import Callable
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

HELPERS = ["gridctl.replay.baseline_runs", "gridctl.replay.forecast_job"]  # imported once by the fork server
NICE = 10  # priority steps down for a helper nothing waits on: gridctl's decisions set the replay's pace
_ONE_THREAD: dict = {"holders": 0, "limit": None}  # :func:`one_thread`'s limit and how many hold it


def spare_core() -> bool:
    """Whether this process has more than one core and may start others (not a Dask worker's)."""
    return len(os.sched_getaffinity(0)) > 1 and not multiprocessing.current_process().daemon


def context() -> multiprocessing.context.ForkServerContext:
    """The helpers' start method (module doc); its processes, queues, shared values and locks."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(HELPERS)
    return ctx


def prepare() -> None:
    """Start the helpers' fork server now: its imports run beside what this process does before
    its first helper (nothing when this process may start no helper; when the server cannot
    start, a warning: each helper then meets the error and its work runs in this process)."""
    if spare_core():
        context()
        try:
            forkserver.ensure_running()
        except OSError as exc:
            log.warning("the replay's helper processes cannot start (%s)", exc)


def spawn(target: Callable, name: str, channels: tuple, args: tuple, nice: int = 0) -> BaseProcess:
    """Start ``target(*channels, *args)`` in a daemon process (:func:`context`) that ignores Ctrl-C (the
    replay decides what stops), ``nice`` steps below this one's priority (e.g. :data:`NICE`). ``channels``: pipes,
    queues and shared values (passed at the start); ``args``: the rest, pickled here first
    (:class:`pickle.PicklingError`, :class:`TypeError` or :class:`AttributeError` when it cannot be)."""
    payload = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
    ctx = context()
    reader, writer = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_start, args=(reader, target, channels, nice), name=name, daemon=True)
    try:
        process.start()
    finally:
        reader.close()
    threading.Thread(target=_send, args=(writer, payload), name=f"{name}-arguments", daemon=True).start()
    return process


def one_thread() -> Callable[[], None]:
    """Limit OpenMP in this process to one thread (a forecast's trees, :mod:`forecasts.load`) while a
    helper process works on the other core; returns the release. The limit holds until every caller
    released it: two threads where a core is busy wait for each other (an issue here took five
    times as long beside a helper making issues)."""
    from threadpoolctl import threadpool_limits  # not in a helper's first imports

    if _ONE_THREAD["holders"] == 0:
        _ONE_THREAD["limit"] = threadpool_limits(limits=1, user_api="openmp")
    _ONE_THREAD["holders"] += 1
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            _ONE_THREAD["holders"] -= 1
            if _ONE_THREAD["holders"] == 0:
                _ONE_THREAD["limit"].restore_original_limits()
    return release


def _send(conn: Connection, payload: bytes) -> None:
    """Write ``payload`` as the process reads it (nothing more when it ended first)."""
    with conn, contextlib.suppress(OSError):
        conn.send_bytes(payload)


def _start(reader: Connection, target: Callable, channels: tuple, nice: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(nice)
    with reader:
        args = pickle.loads(reader.recv_bytes())
    target(*channels, *args)
