"""Forecast issues: every lead forecast once per issue time, held and reused, or issued elsewhere.

An issue holds, for every lead from the interval containing its issue time to a last one, the
load and PV forecasts, the carbon intensity (with its spread where the objective weighs it) and
the loads' upper quantile with the headroom for the load forecast's error
(:mod:`gridctl.headroom`). It depends only on the issue time, the carbon decision and the data
known at the issue time: not on any decision, measured state or device. So a caller may have it
issued elsewhere, ahead of time (:func:`issued_by`; a replay's forecasts in a second process,
:mod:`gridctl.replay.forecast_job`), and receive the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd

from gridctl.district import District
from gridctl.feed_source import CarbonSource, carbon_source
from gridctl.forecasting import district_forecasters, issue_quantiles
from gridctl.headroom import remember_issue, upper_load_kw


@dataclass
class Forecast:
    """Forecasts for one horizon: group power series (kW) and carbon intensity (kg/kWh)."""

    issue_time: pd.Timestamp
    groups: pd.DataFrame
    ci_kg_per_kwh: pd.Series
    signal_type: str
    carbon_source: dict = field(default_factory=dict)  # which source forecast the intensity, and why (recorded in the plan summary)
    # loads at ``[dispatch] load_quantile`` (kW), at least the median plus the realised errors' headroom
    # (:func:`gridctl.headroom.upper_load_kw`); None: no headroom
    load_upper: pd.DataFrame | None = None
    ci_spread_kg_per_kwh: pd.Series | None = None  # how far the intensity forecast is trusted (None: fully)


@dataclass
class Issue:
    """One issue: its forecast over every lead it was made for, and the source of each lead's intensity."""

    issue_time: pd.Timestamp
    carbon: CarbonSource
    forecast: Forecast
    sources: pd.Series

    def covers(self, issue_time: pd.Timestamp, carbon: CarbonSource, horizon: pd.DatetimeIndex) -> bool:
        """Whether this issue serves a forecast at ``issue_time`` with ``carbon`` over ``horizon``."""
        return (self.issue_time == issue_time and self.carbon == carbon
                and bool(horizon.isin(self.forecast.groups.index).all()))


IssueSource = Callable[[pd.Timestamp, CarbonSource, pd.DatetimeIndex], "Issue | None"]


def issue(district: District, issue_time: pd.Timestamp, carbon: CarbonSource, horizon: pd.DatetimeIndex) -> Issue:
    """The forecasts from data known at ``issue_time`` for every lead from the interval containing
    it (or ``horizon``'s first, if earlier) to ``horizon``'s last (load: P50 of the GBM and, with
    headroom, its ``[dispatch] load_quantile``; PV: pvlib clear sky times the learned clear-sky
    index; carbon: provider forecast where ``carbon`` allows, else profile model; with ``[dispatch]
    carbon_risk_k`` above 0 the intensity's spread, the carbon forecaster's recent error at each lead)."""
    issue_time = pd.Timestamp(issue_time)
    res = f"{district.resolution_min}min"
    first = issue_time.tz_convert(horizon.tz).floor(res)
    leads = pd.date_range(min(first, horizon[0]), horizon[-1], freq=res).union(horizon)
    fc = district_forecasters(district)
    ci = fc.carbon.predict(issue_time, leads, use_provider=carbon.provider)
    q = district.config.dispatch.load_quantile
    loads = fc.load.predict_quantiles(issue_time, leads, issue_quantiles(district))  # one issue, every quantile
    if getattr(fc.load, "own", fc.load) is fc.load:  # gridctl's own forecast: the headroom's later errors
        remember_issue(district, issue_time, loads[0.5])
    groups = pd.concat([loads[0.5], fc.pv.predict(issue_time, leads)], axis=1)
    spread = (pd.Series(fc.carbon.spread(issue_time, leads, use_provider=carbon.provider), index=leads)
              if district.config.dispatch.carbon_risk_k > 0 else None)
    upper = upper_load_kw(district, issue_time, loads[0.5], loads[q]) if q > 0.5 else None
    forecast = Forecast(issue_time, groups, ci["ci_kg_per_kwh"], ci.attrs["signal_type"], load_upper=upper,
                        ci_spread_kg_per_kwh=spread)
    return Issue(issue_time, carbon, forecast, ci["source"])


def make_forecast(district: District, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex,
                  carbon: CarbonSource | None = None) -> Forecast:
    """Forecasts from data known at ``issue_time`` for ``horizon`` (:func:`issue`).

    ``carbon`` says whether provider forecasts may be used, from the feeds' freshness; the forecast
    records the decision and how many intervals each source forecast. Issued once per issue time
    (and carbon decision) for every lead to the horizon's end, and reused: a day-ahead plan and a
    re-optimisation at the same instant (the gate time) share one issue. Within :func:`issued_by`,
    its source is asked for the issue first.
    """
    issue_time = pd.Timestamp(issue_time)
    carbon = carbon or carbon_source({}, district.config.forecast.carbon_provider)  # no feed state: the data file
    held = _ISSUED.get(district)
    if held is None or not held.covers(issue_time, carbon, horizon):
        source = _SOURCES.get(district)
        held = source(issue_time, carbon, horizon) if source is not None else None
        if held is None or not held.covers(issue_time, carbon, horizon):
            held = issue(district, issue_time, carbon, horizon)
        _ISSUED[district] = held
    fc_all = held.forecast
    used = {"source": carbon.name, "reason": carbon.reason,
            "intervals": {k: int(v) for k, v in held.sources.loc[horizon].value_counts().items()}}
    upper = None if fc_all.load_upper is None else fc_all.load_upper.loc[horizon]
    spread = None if fc_all.ci_spread_kg_per_kwh is None else fc_all.ci_spread_kg_per_kwh.loc[horizon]
    return Forecast(issue_time, fc_all.groups.loc[horizon], fc_all.ci_kg_per_kwh.loc[horizon], fc_all.signal_type,
                    used, upper, spread)


_ISSUED: WeakKeyDictionary[District, Issue] = WeakKeyDictionary()  # the latest issue per district
_SOURCES: WeakKeyDictionary[District, IssueSource] = WeakKeyDictionary()


@contextmanager
def issued_by(district: District, source: IssueSource) -> Iterator[None]:
    """Within it, :func:`make_forecast` asks ``source(issue_time, carbon, horizon)`` for the
    district's issues first; one it returns (an :class:`Issue` that covers the request) is used
    as if issued here, and on None the issue is made here."""
    _SOURCES[district] = source
    try:
        yield
    finally:
        _SOURCES.pop(district, None)


def issued_row(district: District, issue_time: pd.Timestamp, at: pd.Timestamp) -> tuple[pd.Index, np.ndarray]:
    """The load and PV forecast groups (their labels and kW) at interval ``at`` of the issue at
    ``issue_time``: the held one's when it covers ``at`` (whatever its carbon source; its table
    read as an array once per issue), else :func:`make_forecast`'s. The array is the caller's."""
    held = _ISSUED.get(district)
    if held is not None and held.issue_time == issue_time:
        kept = _ROWS.get(district)
        if kept is None or kept[0] is not held:
            groups = held.forecast.groups
            kept = _ROWS[district] = (held, groups.index, groups.columns, groups.to_numpy(dtype=float))
        try:
            k = kept[1].get_loc(at)
        except KeyError:
            pass
        else:
            return kept[2], kept[3][k].copy()
    groups = make_forecast(district, issue_time, pd.DatetimeIndex([at])).groups
    return groups.columns, groups.to_numpy(dtype=float)[0]


_ROWS: WeakKeyDictionary[District, tuple[Issue, pd.DatetimeIndex, pd.Index, np.ndarray]] = WeakKeyDictionary()
