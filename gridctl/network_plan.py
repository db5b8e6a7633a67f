"""Network-aware planning: the district's linear grid model around its AC state without flexibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.network import NetworkData, NetworkLimits, Tightening
from gridctl.district import District
from network_models.ac_check import AcCheckResult
from network_models.linear import OperatingPoint, linear_grid
from network_models.loading import NetworkError


def zero_flex_table(inp: DispatchInputs) -> pd.DataFrame:
    """A plan table in which every asset adds nothing (batteries, EVs and heat pumps at 0 kW, no curtailment)."""
    cols = [f"{a.id}.p_kw" for a in (*inp.batteries, *inp.ev_chargers, *inp.heat_pumps)]
    cols += [f"{p.id}.curtailed_kw" for p in inp.pv_assets]
    return pd.DataFrame(0.0, index=inp.index, columns=cols)


def network_limits(district: District) -> NetworkLimits:
    cfg = district.config.network
    return NetworkLimits(cfg.v_min_pu, cfg.v_max_pu, cfg.max_loading_pct, cfg.thermal_margin_pct)


def network_data(district: District, model: pyo.ConcreteModel, base: AcCheckResult) -> NetworkData:
    """Linear model (``[network] method``) of the district for the model's flexible buses around ``base``.

    Raises :class:`NetworkError` (naming the key) when the method cannot model the net.
    """
    buses = list(model.FLEX_BUS)
    method = district.config.network.method
    try:
        grid = linear_grid(method, district.net, base, buses)
    except ValueError as exc:  # e.g. LinDistFlow on a meshed net
        raise NetworkError([f"network.method: {method!r} cannot model this net ({exc})"]) from None
    point = OperatingPoint.from_ac(base, grid, district.net)
    return NetworkData(grid, point, network_limits(district), Tightening.none(len(model.T), grid))


def bus_flex_from_table(table: pd.DataFrame, inp: DispatchInputs, buses: list[int]) -> np.ndarray:
    """Per-bus flexible injection (T, n_bus; load-referenced kW) of a plan table, as ``m.bus_flex_kw``."""
    col = {b: i for i, b in enumerate(buses)}
    x = np.zeros((len(table), len(buses)))
    for a in (*inp.batteries, *inp.ev_chargers, *inp.heat_pumps):
        x[:, col[a.bus]] += table[f"{a.id}.p_kw"].to_numpy()
    for p in inp.pv_assets:
        x[:, col[p.bus]] += table[f"{p.id}.curtailed_kw"].to_numpy()
    return x
