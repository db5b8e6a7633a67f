"""Network-aware planning: the district's linear grid model around its AC state without flexibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.network import NetworkData, NetworkLimits, Tightening
from gridctl.district import District
from gridctl.flexible_loads import place
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


def device_q_per_p(district: District, buses: list[int]) -> np.ndarray:
    """Reactive per active power of the flexible devices at each bus, as the AC check draws it:
    EV chargers and heat pumps at the power factor of the load they replace (rating-weighted when
    several share a bus); buses with a battery or a PV inverter at unity, as their power dominates
    there (the AC loop corrects what remains)."""
    q, w = pd.Series(0.0, index=buses), pd.Series(0.0, index=buses)
    for p in place(district.net, district.groups, district.config.assets)[0]:
        if p.bus in w.index:
            load = district.net.load.loc[p.load]
            w[p.bus] += p.p_max_kw
            q[p.bus] += p.p_max_kw * (load.q_mvar / load.p_mw if load.p_mw else 0.0)
    unity = [a.bus for a in (*district.batteries, *district.pv_assets) if a.bus in w.index]
    q[unity] = 0.0
    q, w = q.to_numpy(), w.to_numpy()
    return np.divide(q, w, out=np.zeros_like(q), where=w > 0)


def network_data(district: District, model: pyo.ConcreteModel, base: AcCheckResult) -> NetworkData:
    """Linear model (``[network] method``) of the district for the model's flexible buses around ``base``.

    Raises :class:`NetworkError` (naming the key) when the method cannot model the net.
    """
    buses = list(model.FLEX_BUS)
    method = district.config.network.method
    try:
        grid = linear_grid(method, district.net, base, buses, device_q_per_p(district, buses))
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
