"""What actually happened: measured load, PV and carbon intensity over the replayed intervals.

Flexible loads are recorded in history with their uncontrolled behaviour. ``load_kw`` is the
inflexible rest of the load. What they ask for: each EV charger's sessions (listed in the config
or derived from its measured profile, as the dispatch derives them), charged at full power on
arrival when uncontrolled; each process load at full power from each window's start; each heat pump's measured profile (its heat demand, that profile times
the COP of the measured outdoor temperature or the constant COP, is the simulator's heat pump's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from adapters.errors import DataError
from gridctl.dispatch.ev import immediate_charging
from gridctl.dispatch.inputs import EvSession
from gridctl.dispatch.process_load import immediate_running
from gridctl.district import District
from gridctl.flexible_loads import ev_params, measured_cop, place
from gridctl.process_loads import process_params


@dataclass
class Actuals:
    """Measured group series (kW) and carbon intensity (kg/kWh) on ``index``, plus arrays used per tick."""

    index: pd.DatetimeIndex
    groups: pd.DataFrame
    ci_kg_per_kwh: np.ndarray
    signal_type: str
    load_kw: np.ndarray  # inflexible load: measured load minus the flexible loads' uncontrolled profiles
    pv_kw: np.ndarray
    pv_asset_kw: dict[str, np.ndarray]  # available power of each curtailable PV plant
    flex_kw: dict[str, np.ndarray]  # uncontrolled demand of each flexible load
    ev_sessions: dict[str, tuple[EvSession, ...]]  # per charger, interval positions on ``index``
    cop: dict[str, np.ndarray] = field(default_factory=dict)  # each heat pump's COP per interval


def measured_carbon(district: District) -> pd.Series:
    """The measured carbon intensity at the site's resolution (last issued value per interval, held)."""
    measured = district.measured_carbon["ci_kg_per_kwh"]
    return measured.resample(f"{district.resolution_min}min").ffill()


def load_actuals(district: District, index: pd.DatetimeIndex) -> Actuals:
    """Actual outcomes on ``index``; raise :class:`DataError` naming the missing intervals."""
    hist = district.history.reindex(index)
    ci = measured_carbon(district).reindex(index)
    series = district.load_series + district.pv_series
    problems = []
    for name, frame in (("data.history", hist[series]), ("data.carbon", ci.to_frame())):
        missing = frame.index[frame.isna().any(axis=1)]
        if len(missing):
            problems.append(f"{name}: no measured values for {len(missing)} replayed intervals from {missing[0]} "
                            "on; replay only days the data covers")
    if problems:
        raise DataError(problems)
    flex = place(district.net, district.groups, district.config.assets)[0]
    dt_h = district.resolution_min / 60.0
    evs = [ev_params(p, hist, district.tz, dt_h) for p in flex if p.kind == "ev_charger"]
    flex_kw = {p.cfg.id: p.forecast_kw(hist) for p in flex if p.kind == "heat_pump"}
    flex_kw.update({e.id: immediate_charging(e, len(index), dt_h) for e in evs})
    flex_kw.update({p.id: immediate_running(p, len(index), dt_h)  # process loads: full power from each window's start
                    for p in process_params(district.config, district.net, index)})
    heat_pumps = [p.cfg for p in flex if p.kind == "heat_pump"]
    for cfg in heat_pumps:
        if cfg.temperature_series is not None:
            _check_outdoor(district, cfg.temperature_series, index)
    return Actuals(
        index=index,
        groups=hist[series],
        ci_kg_per_kwh=ci.to_numpy(dtype=float),
        signal_type=str(district.carbon.signal_type.iloc[0]),
        load_kw=hist[district.load_series].sum(axis=1).to_numpy() - sum((p.forecast_kw(hist) for p in flex), np.zeros(len(index))),
        pv_kw=hist[district.pv_series].sum(axis=1).to_numpy(),
        pv_asset_kw={p.cfg.id: hist[p.series_id].to_numpy() * p.share for p in district.pv_assets},
        flex_kw=flex_kw,
        ev_sessions={e.id: tuple(e.sessions) for e in evs},
        cop={cfg.id: measured_cop(cfg, hist) for cfg in heat_pumps},
    )


def _check_outdoor(district: District, series: str, index: pd.DatetimeIndex) -> None:
    """Raise :class:`DataError` where the measured outdoor temperature (a heat pump's COP) is missing on ``index``."""
    if series not in district.history.columns:
        raise DataError([f"temperature_series {series!r} is not a history series; add it or remove the key"])
    values = district.history[series].reindex(index)
    if values.isna().any():
        raise DataError([f"data.history: no {series!r} values for {int(values.isna().sum())} replayed intervals"])
