"""EV charging points and heat pumps that replace the profiles of existing loads of the net.

A flexible load is configured on a load element (``[[assets.ev_charger]]``,
``[[assets.heat_pump]]``). Its forecast is its share of its profile group's forecast; that power
is removed from the inflexible ``load_kw`` (no double counting) and replaced by the asset block:
EV sessions from the config or from the profile (:mod:`gridctl.dispatch.ev`), heat demand as the
profile times the COP (:mod:`gridctl.dispatch.heat_pump`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandapower as pp
import pandas as pd

from forecasts.seasonal_naive import SeasonalNaive
from gridctl.config import AssetsConfig, EvChargerConfig, HeatPumpConfig
from gridctl.dispatch.ev import remaining_energy_kwh, reported_sessions, sessions_from_profile
from gridctl.dispatch.heat_pump import cop_from_temperature
from gridctl.dispatch.inputs import ChargerReport, EvChargerParams, EvSession, HeatPumpParams
from network_models.loading import find_element


@dataclass(frozen=True)
class PlacedFlexLoad:
    """A flexible asset on a load element: its group series, share of it and rated power."""

    cfg: EvChargerConfig | HeatPumpConfig
    kind: str  # "ev_charger" or "heat_pump"
    load: int
    bus: int
    series_id: str
    share: float
    rating_kw: float

    @property
    def p_max_kw(self) -> float:
        return self.cfg.p_max_kw or self.rating_kw

    def forecast_kw(self, groups: pd.DataFrame) -> np.ndarray:
        """The element's forecast (kW) from the group forecasts."""
        return groups[self.series_id].to_numpy() * self.share


def place(net: pp.pandapowerNet, groups: pd.DataFrame, assets: AssetsConfig) -> tuple[list[PlacedFlexLoad], list[str]]:
    """Resolve every configured EV charger and heat pump to its load element; also list problems."""
    loads = groups[groups.table == "load"].set_index("element")
    placed, problems, used = [], [], {}
    for kind, items in (("ev_charger", assets.ev_charger), ("heat_pump", assets.heat_pump)):
        for i, cfg in enumerate(items):
            key = f"assets.{kind}.{i}.load"
            try:
                idx = find_element(net, "load", cfg.load)
            except KeyError as exc:
                problems.append(f"{key}: {exc.args[0]} ({cfg.id!r}); use a load index or name of the net")
                continue
            if idx not in loads.index:
                problems.append(f"{key}: load {cfg.load!r} is out of service or has no profile")
                continue
            if idx in used:
                problems.append(f"{key}: load {cfg.load!r} is already the asset {used[idx]!r}; one asset per load")
                continue
            used[idx] = cfg.id
            row = loads.loc[idx]
            placed.append(PlacedFlexLoad(cfg, kind, idx, int(net.load.bus[idx]), row.series_id, float(row.share),
                                         float(net.load.p_mw[idx] * 1000.0)))
    return placed, problems


def ev_params(p: PlacedFlexLoad, groups: pd.DataFrame, tz: str, dt_h: float,
              report: ChargerReport | None = None, issue_time: pd.Timestamp | None = None) -> EvChargerParams:
    """Charger parameters with the sessions of the horizon ``groups.index`` (listed or from the profile).

    ``report``: what the charger reported at ``issue_time`` (:func:`gridctl.dispatch.ev.reported_sessions`
    puts it in place of the session expected at the horizon's start). A listed session in progress
    without a reported request asks for its listed energy minus the energy delivered; a
    profile-derived one keeps its forecast energy.
    """
    cfg: EvChargerConfig = p.cfg
    index = groups.index
    dwell = round(cfg.dwell_h / dt_h)
    connected = report is not None and report.connected
    if cfg.sessions:
        sessions = _listed_sessions(cfg, index, tz, report.delivered_kwh if connected else None)
    else:
        sessions = sessions_from_profile(p.forecast_kw(groups), dt_h, dwell_steps=dwell,
                                         merge_gap_steps=round(cfg.merge_gap_min / 60 / dt_h))
    if report is not None:
        departure = None
        if report.hours_to_departure is not None:
            at = (issue_time if issue_time is not None else index[0]) + pd.Timedelta(hours=report.hours_to_departure)
            departure = int(index.searchsorted(at))
        sessions = reported_sessions(sessions, len(index), report.connected, report.delivered_kwh,
                                     report.requested_kwh, departure, dwell)
    return EvChargerParams(cfg.id, p.bus, p.p_max_kw, tuple(sessions), cfg.p_min_kw)


def _listed_sessions(cfg: EvChargerConfig, index: pd.DatetimeIndex, tz: str,
                     delivered_kwh: float | None = None) -> list[EvSession]:
    """Daily sessions on the horizon; a session in progress at its start asks for its energy minus
    ``delivered_kwh`` when measured, else for its share of the energy in proportion to time."""
    local = index.tz_convert(tz)
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(minutes=15)
    end = index[-1] + step
    out = []
    for day in sorted({d for d in local.date} | {local[0].date() - timedelta(days=1)}):
        for s in cfg.sessions:
            arrive = pd.Timestamp(datetime.combine(day, s.arrival)).tz_localize(tz, nonexistent="shift_forward")
            depart_day = day if s.departure > s.arrival else day + timedelta(days=1)
            depart = pd.Timestamp(datetime.combine(depart_day, s.departure)).tz_localize(tz, nonexistent="shift_forward")
            a, d = index.searchsorted(arrive), index.searchsorted(min(depart, end))
            if d <= a or depart <= index[0] or arrive >= end:
                continue
            stay = (depart - arrive) / pd.Timedelta(hours=1)
            here = (min(depart, end) - max(arrive, index[0])) / pd.Timedelta(hours=1)
            # a session cut by the horizon asks for its share of the energy (or of the rest), in proportion to time
            energy = s.energy_kwh * min(here / stay, 1.0)
            if delivered_kwh is not None and arrive < index[0]:
                left = (depart - index[0]) / pd.Timedelta(hours=1)
                energy = remaining_energy_kwh(s.energy_kwh, delivered_kwh) * min(here / left, 1.0)
            out.append(EvSession(int(a), int(d), energy, label=f"{arrive.isoformat()}"))
    return out


def heat_pump_params(p: PlacedFlexLoad, groups: pd.DataFrame, outdoor_c: np.ndarray | None,
                     temp_initial_c: float | None = None, day_ends: tuple[int, ...] = (),
                     band_margin: bool = False, day_end_cap: bool = False) -> HeatPumpParams:
    """Heat-pump parameters: heat demand = forecast profile x COP (COP from outdoor temperature when given);
    the store starts at ``temp_initial_c`` (measured) or the configured temperature, which is also its target
    at the horizon's end and at ``day_ends`` (positions of the last interval of each local day)."""
    cfg: HeatPumpConfig = p.cfg
    n = len(groups)
    cop = np.full(n, cfg.cop) if outdoor_c is None else cop_from_temperature(outdoor_c, cfg.sink_temp_c,
                                                                              cfg.carnot_efficiency)
    return HeatPumpParams(
        cfg.id, p.bus, p.p_max_kw, cop=cop, heat_demand_kw=p.forecast_kw(groups) * cop,
        capacity_kwh_per_k=cfg.capacity_kwh_per_k, temp_min_c=cfg.temp_min_c, temp_max_c=cfg.temp_max_c,
        temp_initial_c=cfg.temp_initial_c if temp_initial_c is None else temp_initial_c,
        loss_kw_per_k=cfg.loss_kw_per_k, ambient_c=cfg.ambient_c, temp_terminal_c=cfg.temp_initial_c,
        day_ends=day_ends, band_margin=band_margin, day_end_cap=day_end_cap,
    )


def measured_cop(cfg: HeatPumpConfig, history: pd.DataFrame) -> np.ndarray:
    """A heat pump's COP on ``history``'s intervals: from its measured outdoor temperature, else its constant COP."""
    if cfg.temperature_series is None:
        return np.full(len(history), cfg.cop)
    return cop_from_temperature(history[cfg.temperature_series].to_numpy(), cfg.sink_temp_c, cfg.carnot_efficiency)


def outdoor_temperature(history: pd.DataFrame, series: str, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex,
                        tz: str, resolution_min: int) -> np.ndarray:
    """Outdoor temperature forecast (degC): the same local time on the latest day known at ``issue_time``."""
    if series not in history.columns:
        raise KeyError(f"temperature_series {series!r} is not a history series; add it or remove the key")
    return SeasonalNaive(1, tz, resolution_min).fit(history[[series]]).predict(issue_time, horizon)[series].to_numpy()
