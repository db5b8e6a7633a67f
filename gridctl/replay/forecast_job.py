"""A replay's forecast issues, made in a process of its own ahead of the decisions that use them.

An issue depends only on its issue time, the carbon decision and the data known at that time
(:mod:`gridctl.forecast_issue`), and a replay knows in advance at which times its decisions will
issue forecasts (the day-ahead gate times, the re-optimisation cadence, the grid operator's
recorded events). With a core to spare, :class:`ForecastJob` issues them in a spawned process, in
order and at most :data:`LOOKAHEAD` issues ahead of the decisions, and hands each over: the issue
the decision would have made, number for number, and made with nothing known after its issue time.

A decision makes the issue itself when the process is behind (while it starts; the process then
skips the issues passed), could not make that issue, has ended or made nothing for
:data:`STALL_S` seconds (stopped, with a warning). Rather than wait for the issue the process is
making, the replay's process makes a later issue itself (:func:`ahead`), which the process then
skips: where an issue costs more than a decision (the first day's, each with a headroom warm-up of
past issues), both cores make issues.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from threadpoolctl import threadpool_limits

from gridctl.district import District
from gridctl.feed_source import CarbonSource, carbon_source
from gridctl.forecast_issue import Issue, issue, issued_by
from gridctl.replay.apart import context, one_thread, spare_core, spawn

log = logging.getLogger(__name__)

LOOKAHEAD = 48  # issues made and not yet taken, at most (two days of hourly decisions)
STALL_S = 300.0  # the longest wait for one issue (one that trains the forecasters' models takes seconds)
Request = tuple[pd.Timestamp, pd.Timestamp]  # (issue time, the last lead start any decision at it plans)


class ForecastJob:
    """The issues of ``requests`` (in order of issue time) made in a process of its own (see module doc);
    called as :func:`gridctl.forecast_issue.issued_by`'s source."""

    def __init__(self, district: District, requests: list[Request]):
        self.carbon = carbon_source({}, district.config.forecast.carbon_provider)  # a replay's: the data file
        self._district, self._requests = district, requests
        self._order = {t: i for i, (t, _) in enumerate(requests)}
        self._received: dict[pd.Timestamp, Issue | None] = {}
        self.taken = 0  # issues the decisions took from the process
        self.made_ahead: set[pd.Timestamp] = set()  # issue times made here while the process made the one asked for
        ctx = context()
        self._passed = ctx.Value("i", -1, lock=False)  # the position of the latest issue the decisions asked for
        self._making = ctx.Value("i", -1, lock=False)  # the position of the issue the process is making
        self._claimed = ctx.Array("b", len(requests), lock=False)  # 1 at the positions made here ahead of the decisions
        self._from_process: set[pd.Timestamp] = set()  # issue times the process made
        self._lock = ctx.Lock()  # the process's choice of its next issue against a claim made here
        self._queue = ctx.Queue()
        self._process = spawn(_run, "gridctl-forecasts",
                              (self._queue, self._passed, self._making, self._claimed, self._lock),
                              (district, self.carbon, requests))

    def __call__(self, issue_time: pd.Timestamp, carbon: CarbonSource, horizon: pd.DatetimeIndex) -> Issue | None:
        """The issue at ``issue_time`` from the process, or None: make it here."""
        at = self._order.get(issue_time)
        if at is None or carbon != self.carbon or self._process is None:
            return None
        self._passed.value = max(self._passed.value, at)
        self._receive(block=False)
        while issue_time not in self._received and self._making.value == at and self._process is not None:
            self._receive(block=not self._make_ahead(at))  # being made: make the next one, or wait for it
        for t in [t for t in self._received if self._order[t] < at]:  # passed: never asked for again
            del self._received[t]
        made = self._received.pop(issue_time, None)
        self.taken += made is not None and issue_time not in self.made_ahead
        return made

    def _make_ahead(self, at: int) -> bool:
        """Make an issue after ``at`` here, which the process then skips: the first the process has
        not reached and whose time of day it did not issue a day before (where its past issues for
        the headroom are held); False when there is none."""
        with self._lock:
            k = ahead(self._requests, max(at, self._making.value) + 1, at + LOOKAHEAD, self._claimed, self._from_process)
            if k is None:
                return False
            self._claimed[k] = 1
        issue_time, last = self._requests[k]
        self._received[issue_time] = _issue_or_none(self._district, issue_time, self.carbon, last)
        self.made_ahead.add(issue_time)
        return True

    def _receive(self, block: bool) -> None:
        """Take what the process has made (waiting for one more issue with ``block``, at most
        :data:`STALL_S` seconds: a process that makes nothing for that long is stopped)."""
        waited_s = 0.0
        while self._process is not None:
            try:
                issue_time, made = self._queue.get(block=block, timeout=1.0)
            except queue.Empty:
                if not block:
                    return
                waited_s += 1.0
                if not self._process.is_alive():
                    log.warning("the forecasts' process ended with exit code %s; forecasts are issued here",
                                self._process.exitcode)
                    self.cancel()
                elif waited_s >= STALL_S:
                    log.warning("the forecasts' process made no issue in %.0f s; it is stopped and forecasts "
                                "are issued here", waited_s)
                    self.cancel()
                continue
            self._received[issue_time] = made
            self._from_process.add(issue_time)
            block = False

    def cancel(self) -> None:
        """Stop the process (whatever it is doing, stalled or stopped included)."""
        if self._process is None:
            return
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._queue.close()
        self._queue.cancel_join_thread()
        self._process = None


def ahead(requests: list[Request], first: int, stop: int, claimed, from_process: set[pd.Timestamp]) -> int | None:
    """The first position from ``first`` (before ``stop``) of ``requests`` not ``claimed`` whose
    issue time a day earlier is not among ``from_process`` (there, the process holds the past
    issues of that time of day its headroom needs; here they would be made again), or None."""
    day = pd.Timedelta(days=1)
    return next((k for k in range(first, min(stop, len(requests)))
                 if not claimed[k] and requests[k][0] - day not in from_process), None)


@contextmanager
def forecasts_apart(district: District, requests: list[Request], n_days: int) -> Iterator[ForecastJob | None]:
    """Within it, the district's forecast issues come from a :class:`ForecastJob` when a replay of
    ``n_days`` may run one: ``[replay] forecasts_apart_days`` or more days and :func:`spare_core`;
    else (or when its process cannot start, with a warning) they are made here."""
    days = district.config.replay.forecasts_apart_days
    job = None
    if requests and 0 < days <= n_days and spare_core():
        try:
            job = ForecastJob(district, requests)
        except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
            log.warning("the forecasts cannot be issued in a process of their own (%s); they are issued here", exc)
    if job is None:
        yield None
        return
    release = one_thread()  # the process has the other core
    try:
        with issued_by(district, job):
            yield job
    finally:
        job.cancel()
        release()


def _run(out: multiprocessing.Queue, passed, making, claimed, lock, district: District, carbon: CarbonSource,
         requests: list[Request]) -> None:
    """Make the requested issues in order, skipping those the decisions have passed or the replay's
    process made, and waiting while :data:`LOOKAHEAD` are ahead of the decisions (None for one that
    cannot be made: :func:`_issue_or_none`)."""
    with threadpool_limits(limits=1, user_api="openmp"):  # the spare core, not both
        for at, (issue_time, last) in enumerate(requests):
            while at > passed.value + LOOKAHEAD:
                time.sleep(0.05)
            with lock:
                skipped = at <= passed.value or claimed[at]
                if not skipped:
                    making.value = at
            if skipped:
                continue
            out.put((issue_time, _issue_or_none(district, issue_time, carbon, last)))


def _issue_or_none(district: District, issue_time: pd.Timestamp, carbon: CarbonSource, last: pd.Timestamp
                   ) -> Issue | None:
    """The issue at ``issue_time`` to lead ``last``, or None when it cannot be made (the decision
    then makes it itself and meets the error where it belongs)."""
    try:
        return issue(district, issue_time, carbon, pd.DatetimeIndex([last]))
    except Exception:  # the decision meets it when it issues the forecast itself
        log.debug("issue at %s left to the decision", issue_time, exc_info=True)
        return None
