"""A replay's day-ahead plans: each made at its day's gate time from what is known then, in the
forecasts' process when one runs (:mod:`gridctl.replay.forecast_job`), else in the replay's.

A day's day-ahead plan is in force from its local midnight only until a re-optimisation
replaces it, and one is due at that midnight whenever ``[replay] reoptimise_every_min`` is set.
So the replay's process asks for a plan made elsewhere only when it needs it: at a midnight
without a re-optimisation, after a re-optimisation that failed, and at the replay's end (the
report shows every plan). Made there or here, a plan is the same: the same request (the day,
the batteries' SoC and the demand charges' running peaks measured at the gate time) through the
same persistent model (:class:`gridctl.dispatch.rolling.RollingDispatch`), shifted from one
day's plan to the next, under network rows linearised for the day-ahead plans alone
(:class:`PlanModels`): the decisions' rows do not depend on where the plans were made, as in the
daemon, whose day-ahead plans take the AC loop instead.
"""

from __future__ import annotations

import logging
import time as timer
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from gridctl.demand_charges import PeakKey
from gridctl.dispatch.highs import SolverError
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.district import District
from gridctl.grid_events import GridEvents
from gridctl.network_plan import IntervalNetworkModels
from gridctl.planning import Plan, plan_horizon
from gridctl.timegrid import gate_time, local_day

if TYPE_CHECKING:
    from gridctl.replay.engine import Timings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanRequest:
    """A day-ahead plan for local ``day``, from the states measured at its gate time."""

    day: date
    soc_kwh: dict[str, float]
    running_peak_kw: dict[PeakKey, float]


@dataclass
class PlanModels:
    """What a replay's day-ahead plans keep from one to the next: their persistent model and their
    network rows' linearisations (their own, not the decisions')."""

    rolling: RollingDispatch = field(default_factory=RollingDispatch)
    network: IntervalNetworkModels = field(default_factory=IntervalNetworkModels)


Made = tuple[Plan | None, str | None, float]  # the plan (without its model) or why it failed, and its seconds


class PlanMaker(Protocol):
    """Where plans may be made elsewhere (:class:`gridctl.replay.forecast_job.ForecastJob`)."""

    def plan(self, request: PlanRequest) -> bool: ...  # sent: True; False: make it here

    def planned(self, day: date) -> Made | None: ...  # waited for; None: make it here


def day_ahead_issue(district: District, day: date) -> tuple[pd.Timestamp, pd.DatetimeIndex]:
    """The issue time (the gate time) and horizon of the day-ahead plan for local ``day``."""
    return gate_time(day, district.tz, district.config.site.gate_time), local_day(day, district.tz, district.resolution_min)


def day_ahead_plan(district: District, day: date, soc_kwh: dict[str, float],
                   running_peak_kw: dict[PeakKey, float] | None = None,
                   grid_events: GridEvents | None = None, rolling: RollingDispatch | None = None,
                   network_models: IntervalNetworkModels | None = None) -> Plan:
    """The day-ahead plan for ``day`` from data known at its gate time (as ``gridctl plan`` makes it);
    with ``rolling``, in its persistent model, shifted from the day before's plan when it can be
    (the same optimum within the MIP gap: :mod:`gridctl.dispatch.rolling`); ``network_models``:
    its network rows' linearisations (:func:`gridctl.planning.plan_horizon`)."""
    issue, horizon = day_ahead_issue(district, day)
    return plan_horizon(district, issue, horizon, soc_initial_kwh=soc_kwh, with_ac_check=False,
                        running_peak_kw=running_peak_kw, grid_events=grid_events, rolling=rolling,
                        network_models=network_models)


def make_plan(district: District, request: PlanRequest, grid_events: GridEvents | None, models: PlanModels) -> Made:
    """The plan of ``request`` in ``models``, kept without its solved model (as the decisions
    are), or the solver's message when it found none; and the seconds it took."""
    t0 = timer.perf_counter()
    try:
        plan = day_ahead_plan(district, request.day, request.soc_kwh, request.running_peak_kw, grid_events,
                              models.rolling, models.network)
    except SolverError as exc:
        return None, str(exc), timer.perf_counter() - t0
    return replace(plan, model=None), None, timer.perf_counter() - t0


class DayAheadPlans:
    """A replay's day-ahead plans (module doc): made by ``maker`` when given and it can, else here."""

    def __init__(self, district: District, grid_events: GridEvents | None, timings: Timings,
                 maker: PlanMaker | None = None):
        self.plans: dict[date, Plan] = {}
        self._district, self._events, self._timings, self._maker = district, grid_events, timings, maker
        self._pending: dict[date, PlanRequest] = {}  # made elsewhere, not yet taken
        self._models = PlanModels()

    def request(self, day: date, soc_kwh: dict[str, float], running_peak_kw: dict[PeakKey, float]) -> None:
        """Have the plan for ``day`` made from these states (measured at its gate time)."""
        request = PlanRequest(day, dict(soc_kwh), dict(running_peak_kw))
        if self._maker is not None and self._maker.plan(request):
            self._pending[day] = request
        else:
            self._record(day, make_plan(self._district, request, self._events, self._models))

    def get(self, day: date) -> Plan | None:
        """The plan for ``day`` (None: none requested, or it failed), waited for when made elsewhere."""
        request = self._pending.pop(day, None)
        if request is not None:
            made = self._maker.planned(day)
            self._record(day, made or make_plan(self._district, request, self._events, self._models))
        return self.plans.get(day)

    def collect(self) -> dict[date, Plan]:
        """Every plan made, those made elsewhere waited for."""
        for day in list(self._pending):
            self.get(day)
        return self.plans

    def _record(self, day: date, made: Made) -> None:
        plan, error, elapsed_s = made
        if plan is None:
            log.warning("day-ahead plan for %s failed (%s)", day, error)
            return
        self.plans[day] = plan
        self._timings.add_plan(plan, elapsed_s)
