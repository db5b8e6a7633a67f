"""A replay's forecast issues, made in a process of its own ahead of the decisions that use them.

An issue depends only on its issue time, the carbon decision and the data known at that time
(:mod:`gridctl.forecast_issue`), and a replay knows in advance at which times its decisions will
issue forecasts (the day-ahead gate times, the re-optimisation cadence, the grid operator's
recorded events). With a core to spare, :class:`ForecastJob` issues them in a spawned process, in
order and at most :data:`LOOKAHEAD` issues ahead of the decisions, and hands each over: the issue
the decision would have made, number for number, and made with nothing known after its issue time.

The process also makes the replay's day-ahead plans it is asked for (:mod:`gridctl.replay.day_ahead`),
in a persistent model of its own, from the issues it made (it keeps the latest): the plan the
replay's process would have made, handed over when that process needs it. It makes them while
it waits for the decisions to catch up, or at once when the replay's process waits for one.

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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pandas as pd
from threadpoolctl import threadpool_limits

from gridctl.district import District
from gridctl.feed_source import CarbonSource, carbon_source
from gridctl.forecast_issue import Issue, issue, issued_by
from gridctl.grid_events import GridEvents
from gridctl.replay.apart import context, one_thread, spare_core, spawn
from gridctl.replay.day_ahead import Made, PlanModels, PlanRequest, make_plan

log = logging.getLogger(__name__)

LOOKAHEAD = 48  # issues made and not yet taken, at most (two days of hourly decisions)
STALL_S = 300.0  # the longest wait for one issue (one that trains the forecasters' models takes seconds)
Request = tuple[pd.Timestamp, pd.Timestamp]  # (issue time, the last lead start any decision at it plans)


class ForecastJob:
    """The issues of ``requests`` (in order of issue time) made in a process of its own (see module doc);
    called as :func:`gridctl.forecast_issue.issued_by`'s source; and the ``plans`` day-ahead plans
    the replay will ask for (:meth:`plan`, under ``grid_events``), made there too."""

    def __init__(self, district: District, requests: list[Request], grid_events: GridEvents | None = None,
                 plans: int = 0):
        self.carbon = carbon_source({}, district.config.forecast.carbon_provider)  # a replay's: the data file
        self._district, self._requests = district, requests
        self._order = {t: i for i, (t, _) in enumerate(requests)}
        self._received: dict[pd.Timestamp, Issue | None] = {}
        self._plans: dict[date, Made] = {}  # day-ahead plans made there, not yet taken
        self.taken = 0  # issues the decisions took from the process
        self.plans_taken = 0  # day-ahead plans taken from the process
        self.made_ahead: set[pd.Timestamp] = set()  # issue times made here while the process made the one asked for
        ctx = context()
        self._passed = ctx.Value("i", -1, lock=False)  # the position of the latest issue the decisions asked for
        self._making = ctx.Value("i", -1, lock=False)  # the position of the issue the process is making
        self._claimed = ctx.Array("b", len(requests), lock=False)  # 1 at the positions made here ahead of the decisions
        self._from_process: set[pd.Timestamp] = set()  # issue times the process made
        self._lock = ctx.Lock()  # the process's choice of its next issue against a claim made here
        self._queue = ctx.Queue()
        self._plans_in = ctx.Queue()  # the day-ahead plans asked for
        self._wanted = ctx.Value("b", 0, lock=False)  # 1 while a plan is waited for here
        self._process = spawn(_run, "gridctl-forecasts",
                              (self._queue, self._passed, self._making, self._claimed, self._lock, self._plans_in,
                               self._wanted),
                              (district, self.carbon, requests, grid_events, plans))

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

    def plan(self, request: PlanRequest) -> bool:
        """Ask the process for a day-ahead plan; False when it has ended (make the plan here)."""
        if self._process is None:
            return False
        self._plans_in.put(request)
        return True

    def planned(self, day: date) -> Made | None:
        """The day-ahead plan for ``day`` the process made, waited for; None when the process
        ended or was stopped first (make the plan here)."""
        self._wanted.value = 1
        while day not in self._plans and self._process is not None:
            self._receive(block=True)
        self._wanted.value = 0
        made = self._plans.pop(day, None)
        self.plans_taken += made is not None
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
        """Take what the process has made (waiting for one more issue or plan with ``block``, at
        most :data:`STALL_S` seconds: a process that makes nothing for that long is stopped)."""
        waited_s = 0.0
        while self._process is not None:
            try:
                kind, key, made = self._queue.get(block=block, timeout=1.0)
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
            if kind == "plan":
                self._plans[key] = made
            else:
                self._received[key] = made
                self._from_process.add(key)
            block = False

    def cancel(self) -> None:
        """Stop the process (whatever it is doing, stalled or stopped included)."""
        if self._process is None:
            return
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        for channel in (self._queue, self._plans_in):
            channel.close()
            channel.cancel_join_thread()
        self._process = None


def ahead(requests: list[Request], first: int, stop: int, claimed, from_process: set[pd.Timestamp]) -> int | None:
    """The first position from ``first`` (before ``stop``) of ``requests`` not ``claimed`` whose
    issue time a day earlier is not among ``from_process`` (there, the process holds the past
    issues of that time of day its headroom needs; here they would be made again), or None."""
    day = pd.Timedelta(days=1)
    return next((k for k in range(first, min(stop, len(requests)))
                 if not claimed[k] and requests[k][0] - day not in from_process), None)


@contextmanager
def forecasts_apart(district: District, requests: list[Request], n_days: int,
                    grid_events: GridEvents | None = None) -> Iterator[ForecastJob | None]:
    """Within it, the district's forecast issues come from a :class:`ForecastJob` when a replay of
    ``n_days`` may run one: ``[replay] forecasts_apart_days`` or more days and :func:`spare_core`;
    else (or when its process cannot start, with a warning) they are made here. The job also
    makes the replay's ``n_days`` day-ahead plans it is asked for (under ``grid_events``)."""
    days = district.config.replay.forecasts_apart_days
    job = None
    if requests and 0 < days <= n_days and spare_core():
        try:
            job = ForecastJob(district, requests, grid_events, n_days)
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


def _run(out: multiprocessing.Queue, passed, making, claimed, lock, plans_in: multiprocessing.Queue, wanted,
         district: District, carbon: CarbonSource, requests: list[Request], grid_events: GridEvents | None,
         plans: int) -> None:
    """Make the requested issues in order, skipping those the decisions have passed or the replay's
    process made, and waiting while :data:`LOOKAHEAD` are ahead of the decisions (None for one that
    cannot be made: :func:`_issue_or_none`); the day-ahead plans asked for while waiting so, or
    before the next issue while one is ``wanted``, and after the issues until ``plans`` were made."""
    planner = _Planner(district, grid_events, plans)
    with threadpool_limits(limits=1, user_api="openmp"), issued_by(district, planner.issued):  # the spare core, not both
        for at, (issue_time, last) in enumerate(requests):
            while wanted.value and planner.serve(plans_in, out):
                pass
            while at > passed.value + LOOKAHEAD:
                planner.serve(plans_in, out, wait_s=0.05)
            with lock:
                skipped = at <= passed.value or claimed[at]
                if not skipped:
                    making.value = at
            if skipped:
                continue
            made = _issue_or_none(district, issue_time, carbon, last)
            planner.keep(issue_time, made)
            out.put(("issue", issue_time, made))
        while planner.due > 0:
            planner.serve(plans_in, out, wait_s=None)


class _Planner:
    """The process's day-ahead plans, in one persistent model, from the latest issues it made."""

    def __init__(self, district: District, grid_events: GridEvents | None, due: int):
        self.district, self.grid_events, self.due = district, grid_events, due
        self.models = PlanModels()
        self.kept: dict[pd.Timestamp, Issue] = {}  # the latest issues made, by issue time

    def keep(self, issue_time: pd.Timestamp, made: Issue | None) -> None:
        """Keep an issue made here for a plan (a plan is asked for at most :data:`LOOKAHEAD` issues later)."""
        if made is not None and self.due > 0:
            self.kept[issue_time] = made
            if len(self.kept) > LOOKAHEAD + 1:
                del self.kept[next(iter(self.kept))]

    def issued(self, issue_time: pd.Timestamp, carbon: CarbonSource, horizon: pd.DatetimeIndex) -> Issue | None:
        """:func:`gridctl.forecast_issue.issued_by`'s source: a kept issue (None: make it)."""
        return self.kept.get(issue_time)

    def serve(self, plans_in: multiprocessing.Queue, out: multiprocessing.Queue, wait_s: float | None = 0.0) -> bool:
        """Make the next plan asked for, if one is (waiting up to ``wait_s`` seconds for it; None:
        until it comes); whether one was made."""
        try:
            request = plans_in.get(block=wait_s != 0.0, timeout=wait_s)
        except queue.Empty:
            return False
        out.put(("plan", request.day, make_plan(self.district, request, self.grid_events, self.models)))
        self.due -= 1
        return True


def _issue_or_none(district: District, issue_time: pd.Timestamp, carbon: CarbonSource, last: pd.Timestamp
                   ) -> Issue | None:
    """The issue at ``issue_time`` to lead ``last``, or None when it cannot be made (the decision
    then makes it itself and meets the error where it belongs)."""
    try:
        return issue(district, issue_time, carbon, pd.DatetimeIndex([last]))
    except Exception:  # the decision meets it when it issues the forecast itself
        log.debug("issue at %s left to the decision", issue_time, exc_info=True)
        return None
