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


@dataclass(frozen=True)
class CurtailablePv:
    """A PV plant whose output (forecast ``available_kw``) may be curtailed down to zero."""

    id: str
    bus: int
    available_kw: np.ndarray


@dataclass
class DispatchInputs:
    """Everything the model needs for one horizon; arrays are aligned with ``index``."""

    index: pd.DatetimeIndex
    dt_h: float
    load_kw: np.ndarray
    pv_kw: np.ndarray
    ci_kg_per_kwh: np.ndarray
    batteries: list[BatteryParams] = field(default_factory=list)
    pv_assets: list[CurtailablePv] = field(default_factory=list)
    import_limit_kw: float = float("inf")
    export_limit_kw: float = float("inf")
    curtailment_penalty_per_kwh: float = 1e-4
    throughput_penalty_per_kwh: float = 1e-6

    def __post_init__(self) -> None:
        n = len(self.index)
        for name in ("load_kw", "pv_kw", "ci_kg_per_kwh"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != (n,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
            if not np.isfinite(arr).all():
                raise ValueError(f"{name} contains NaN or infinite values")
            setattr(self, name, arr)
