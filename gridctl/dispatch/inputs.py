"""Plain-data inputs of the dispatch model (arrays over the horizon, asset parameters)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BatteryParams:
    """A battery in model units: kW, kWh, efficiencies in (0, 1]."""

    id: str
    bus: int
    p_max_kw: float
    soc_min_kwh: float
    soc_max_kwh: float
    soc_initial_kwh: float
    eta_charge: float
    eta_discharge: float
    soc_terminal_min_kwh: float | None = None  # default: the initial SoC (no net draining)
    terminal_value_per_kwh: float | None = None  # value of stored energy at the end; replaces the target
    degradation_cost_per_kwh: float = 0.0  # per kWh of charge + discharge throughput (cost terms)
    binary: bool = False  # forbid simultaneous charge and discharge with a binary per interval


@dataclass(frozen=True)
class CurtailablePv:
    """A PV plant whose output (forecast ``available_kw``) may be curtailed down to zero."""

    id: str
    bus: int
    available_kw: np.ndarray


@dataclass(frozen=True)
class EvSession:
    """One stay of a vehicle at a charging point: intervals ``[arrival, departure)`` of the horizon."""

    arrival: int
    departure: int
    energy_kwh: float
    label: str = ""


@dataclass(frozen=True)
class ChargerReport:
    """What a charging point reports at re-optimisation: whether a vehicle is connected, the energy
    delivered to it so far, and, when the vehicle or driver announced them, its energy request and
    departure time (SunSpec-style EV model: ``Conn``, ``SessWh``, ``SessReqWh``, ``DepRem``)."""

    connected: bool
    delivered_kwh: float = 0.0
    requested_kwh: float | None = None
    hours_to_departure: float | None = None


@dataclass(frozen=True)
class EvChargerParams:
    """A charging point (load-referenced) with the sessions expected over the horizon."""

    id: str
    bus: int
    p_max_kw: float
    sessions: tuple[EvSession, ...]
    p_min_kw: float = 0.0  # minimum power while a vehicle is connected
    spare_rows: int = 0  # energy rows without a session, for sessions a persistent model takes in later


@dataclass(frozen=True)
class HeatPumpParams:
    """A heat pump charging a thermal store (building or tank) with a comfort band.

    ``heat_demand_kw`` and ``cop`` are arrays over the horizon; the store's temperature follows
    ``C * dT/dt = cop * p - heat_demand - ua * (T - ambient)``.
    """

    id: str
    bus: int
    p_max_kw: float
    cop: np.ndarray
    heat_demand_kw: np.ndarray
    capacity_kwh_per_k: float
    temp_min_c: float
    temp_max_c: float
    temp_initial_c: float
    loss_kw_per_k: float = 0.0
    ambient_c: float = 20.0
    temp_terminal_c: float | None = None  # end-of-horizon target; None: the initial temperature
    day_ends: tuple[int, ...] = ()  # last interval of each local day in the horizon: the target holds there too
    band_margin: bool = False  # plan at least one interval of worst-case heat demand above temp_min (low_margin_k)
    day_end_cap: bool = False  # at day_ends the store is also at most at the target (soft): no heat drawn for the next day


@dataclass(frozen=True)
class DemandCharge:
    """A demand charge in model units: per local month of the horizon (``"YYYY-MM"``), the intervals
    of its window and the peak import that month already reached (kW, the floor); a kW of peak
    above the floor costs ``weight_per_kw`` in the objective (see :mod:`gridctl.dispatch.demand`)."""

    name: str
    weight_per_kw: float
    periods: tuple[tuple[str, tuple[int, ...]], ...] = field(default=(), compare=False)
    floor_kw: tuple[float, ...] = field(default=(), compare=False)  # per period


@dataclass
class DispatchInputs:
    """Everything the model needs for one horizon; arrays are aligned with ``index``."""

    index: pd.DatetimeIndex
    dt_h: float
    load_kw: np.ndarray
    pv_kw: np.ndarray
    ci_kg_per_kwh: np.ndarray
    # intensity the objective weighs (the risk-adjusted forecast, gridctl.planning); None: ci_kg_per_kwh
    ci_objective_kg_per_kwh: np.ndarray | None = None
    batteries: list[BatteryParams] = field(default_factory=list)
    pv_assets: list[CurtailablePv] = field(default_factory=list)
    ev_chargers: list[EvChargerParams] = field(default_factory=list)
    heat_pumps: list[HeatPumpParams] = field(default_factory=list)
    process_loads: list = field(default_factory=list)  # gridctl.dispatch.process_load.ProcessLoadParams
    process_group_max_kw: dict[str, float] = field(default_factory=dict)  # shared budget per process group
    import_limit_kw: float | np.ndarray = float("inf")  # one number or one per interval
    peak_cap_kw: float | None = None  # the no-new-peak cap the import limit derives from (gridctl.headroom), if any
    export_limit_kw: float | np.ndarray = float("inf")
    curtailment_penalty_per_kwh: float = 1e-4
    throughput_penalty_per_kwh: float = 1e-5
    objective: str = "emissions"  # "emissions", "cost" or "blend" (see gridctl.dispatch.objective)
    price_per_kwh: np.ndarray | None = None  # import price; required by "cost" and "blend"
    export_price_per_kwh: float = 0.0
    export_credit_factor: float = 0.0  # exported kWh avoid this share of the grid's intensity
    carbon_price_per_kg: float = 0.0  # "blend": cost + carbon_price * emissions
    peak_charge_per_kw: float = 0.0  # charge on the horizon's highest import (cost terms)
    demand_charges: tuple[DemandCharge, ...] = ()  # windowed monthly peak charges (gridctl.dispatch.demand)
    event_import_limit_kw: np.ndarray | None = None  # grid operator's limit per interval, NaN: none
    event_export_limit_kw: np.ndarray | None = None  # (gridctl.dispatch.event_limits)

    def __post_init__(self) -> None:
        n = len(self.index)
        if self.price_per_kwh is None:
            self.price_per_kwh = np.zeros(n)
        if self.ci_objective_kg_per_kwh is None:
            self.ci_objective_kg_per_kwh = np.array(self.ci_kg_per_kwh, dtype=float)
        for name in ("load_kw", "pv_kw", "ci_kg_per_kwh", "ci_objective_kg_per_kwh", "price_per_kwh"):
            setattr(self, name, checked_series(name, getattr(self, name), n))


def checked_series(name: str, values, n: int) -> np.ndarray:
    """``values`` as a float array of ``n`` finite numbers; a ValueError naming ``name`` otherwise."""
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr
