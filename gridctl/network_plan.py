"""Network-aware planning: the district's linear grid model around its AC state without flexibility."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.network import NetworkData, NetworkLimits, Tightening
from gridctl.district import District
from gridctl.flexible_loads import place
from network_models.ac_check import AcCheckResult
from network_models.linear import LinearGrid, OperatingPoint, linear_grid
from network_models.loading import NetworkError


def zero_flex_table(inp: DispatchInputs) -> pd.DataFrame:
    """A plan table in which every asset adds nothing (batteries, EVs, heat pumps, process loads at 0 kW, no curtailment)."""
    cols = [f"{a.id}.p_kw" for a in (*inp.batteries, *inp.ev_chargers, *inp.heat_pumps, *inp.process_loads)]
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
    """Linear model (``[network] method``) of the district for the model's flexible buses around ``base``."""
    return buses_network_data(district, list(model.FLEX_BUS), base)


def buses_network_data(district: District, buses: list, base: AcCheckResult) -> NetworkData:
    """Linear model (``[network] method``) of the district for the flexible ``buses`` around ``base``.

    Raises :class:`NetworkError` (naming the key) when the method cannot model the net.
    """
    method = district.config.network.method
    try:
        grid = linear_grid(method, district.net, base, buses, device_q_per_p(district, buses))
    except ValueError as exc:  # e.g. LinDistFlow on a meshed net
        raise NetworkError([f"network.method: {method!r} cannot model this net ({exc})"]) from None
    point = OperatingPoint.from_ac(base, grid, district.net)
    return NetworkData(grid, point, network_limits(district), Tightening.none(len(base.vm_pu), grid))


def bus_flex_from_table(table: pd.DataFrame, inp: DispatchInputs, buses: list[int]) -> np.ndarray:
    """Per-bus flexible injection (T, n_bus; load-referenced kW) of a plan table, as ``m.bus_flex_kw``."""
    col = {b: i for i, b in enumerate(buses)}
    x = np.zeros((len(table), len(buses)))
    for a in (*inp.batteries, *inp.ev_chargers, *inp.heat_pumps, *inp.process_loads):
        x[:, col[a.bus]] += table[f"{a.id}.p_kw"].to_numpy()
    for p in inp.pv_assets:
        x[:, col[p.bus]] += table[f"{p.id}.curtailed_kw"].to_numpy()
    return x


@dataclass
class _IntervalModel:
    """One interval's linear model and no-flexibility operating point."""

    dvm: np.ndarray  # (n_bus, n_inj)
    dpf: np.ndarray  # (n_branch, n_inj)
    dqf: np.ndarray  # (n_branch, n_inj)
    point: tuple[np.ndarray, ...]  # vm_pu, loading_pct, p_kw, q_kvar, vm_from of the interval
    issued: pd.Timestamp  # issue time of the forecast it was linearised under


class IntervalNetworkModels:
    """Linear network models of a district's intervals, linearised at their first plan and re-centred.

    Re-optimisations during the day reuse the model made for an interval by the first plan that
    covered it (the AC state without flexibility under that plan's forecast) instead of running
    an AC power flow and a linearisation per interval at every re-optimisation; :meth:`recentre`
    re-makes the models of the next hours around the latest forecast every few hours. Intervals
    that start before both the earliest one asked for and the issue time are dropped, so a running
    daemon keeps about two days, and a replay's day-ahead plan (tomorrow's intervals, asked for at
    the gate time) leaves the rest of today to be re-centred.
    """

    def __init__(self) -> None:
        self._buses: list | None = None
        self._layout: tuple[str, np.ndarray, list[str], np.ndarray] | None = None  # method, buses, branches, ratings
        self._by_interval: dict[pd.Timestamp, _IntervalModel] = {}
        self.recentres = 0  # how often :meth:`recentre` re-made models

    def network_data(self, district: District, model: pyo.ConcreteModel, index: pd.DatetimeIndex,
                     base_ac: Callable[[pd.DatetimeIndex], AcCheckResult], issued: pd.Timestamp) -> NetworkData:
        """Network data for ``model`` over ``index``; ``base_ac(intervals)`` runs the AC check
        without flexibility for intervals not seen before (under the forecast ``issued`` then)."""
        buses = list(model.FLEX_BUS)
        if buses != self._buses:
            self._buses, self._by_interval = buses, {}
        kept_from = min(index[0], issued)  # a day-ahead plan (tomorrow, issued today) keeps the rest of today
        self._by_interval = {t: v for t, v in self._by_interval.items() if t >= kept_from}
        new = index[~index.isin(list(self._by_interval))]
        if len(new):
            self._add(district, list(model.FLEX_BUS), new, base_ac(new), issued)
        rows = [self._by_interval[t] for t in index]
        method, bus_idx, branches, rated = self._layout
        grid = LinearGrid(method, bus_idx, branches, np.asarray(buses), rated,
                          np.stack([r.dvm for r in rows]), np.stack([r.dpf for r in rows]),
                          np.stack([r.dqf for r in rows]))
        point = OperatingPoint(*(np.stack([r.point[k] for r in rows]) for k in range(5)))
        return NetworkData(grid, point, network_limits(district), Tightening.none(len(index), grid))

    def recentre(self, district: District, index: pd.DatetimeIndex, issued: pd.Timestamp,
                 base_ac: Callable[[pd.DatetimeIndex], AcCheckResult], every_h: float) -> bool:
        """Re-linearise around the forecast ``issued`` now when an interval of the next ``every_h``
        hours of ``index`` holds a model made more than ``2 * every_h`` hours before it starts: then
        every interval of the next ``2 * every_h`` hours gets a new model (``every_h`` 0: never).
        Returns whether any model changed (a held model's rows must be renewed)."""
        if every_h <= 0 or self._buses is None:
            return False
        lead = pd.Timedelta(hours=every_h)
        near = [t for t in index[index < issued + lead] if t in self._by_interval]
        if not any(t - self._by_interval[t].issued > 2 * lead for t in near):
            return False
        block = index[index < issued + 2 * lead]
        self._add(district, self._buses, block, base_ac(block), issued)
        self.recentres += 1
        return True

    def _add(self, district: District, buses: list, new: pd.DatetimeIndex, base: AcCheckResult,
             issued: pd.Timestamp) -> None:
        data = buses_network_data(district, buses, base)
        g, p = data.grid, data.point
        self._layout = (g.method, g.buses, g.branches, g.s_rated_kva)
        last = g.dvm.shape[0] - 1  # LinDistFlow: one time-invariant model
        for i, t in enumerate(new):
            k = min(i, last)
            self._by_interval[t] = _IntervalModel(g.dvm[k], g.dpf[k], g.dqf[k],
                                                  (p.vm_pu[i], p.loading_pct[i], p.p_kw[i], p.q_kvar[i], p.vm_from[i]),
                                                  issued)


_INTERVAL_MODELS: WeakKeyDictionary[District, IntervalNetworkModels] = WeakKeyDictionary()


def interval_network_models(district: District) -> IntervalNetworkModels:
    """The district's :class:`IntervalNetworkModels` (one per district object)."""
    return _INTERVAL_MODELS.setdefault(district, IntervalNetworkModels())
