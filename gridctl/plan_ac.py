"""The AC side of planning: the AC check of a schedule, the network rows of a re-optimisation
and the AC loop of a day-ahead plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pandapower import pandapowerNet

from gridctl.dispatch.ac_loop import LoopResult, solve_network_aware
from gridctl.dispatch.inputs import DispatchInputs
from gridctl.dispatch.network import (
    RENEW_MARGIN,
    NetworkData,
    add_network_block,
    renew_network_block,
)
from gridctl.dispatch.result import plan_table
from gridctl.district import District
from gridctl.flexible_loads import PlacedFlexLoad, place
from gridctl.headroom import row_groups
from gridctl.network_plan import interval_network_models, network_data, zero_flex_table
from gridctl.process_loads import add_load_elements
from network_models.ac_check import AcCheckResult, Limits, ac_check, with_storage
from network_models.ac_model import fingerprint
from network_models.profiles import InjectionLayout

if TYPE_CHECKING:
    from gridctl.forecast_issue import Forecast


def check_schedule(district: District, groups: pd.DataFrame, table: pd.DataFrame | Mapping[str, np.ndarray] | None
                   ) -> AcCheckResult:
    """AC power flow of every interval: forecast groups plus the plan's asset powers (a plan table,
    or its columns as arrays over ``groups``' intervals; None: baseline)."""
    net, key, storage_idx, process_idx, flex_loads, layouts = _checked_net(district)
    n = len(groups)

    def planned(column: str) -> np.ndarray:
        return np.zeros(n) if table is None else np.asarray(table[column], dtype=float)

    sgen, load = layouts["sgen"].values(groups), layouts["load"].values(groups)
    if table is not None:
        for p in district.pv_assets:
            sgen[:, _columns(layouts["sgen"], p.sgen)] -= planned(f"{p.cfg.id}.curtailed_kw")[:, None]
        for p in flex_loads:
            load[:, _columns(layouts["load"], p.load)] = planned(f"{p.cfg.id}.p_kw")[:, None]
    process = [planned(f"{p.id}.p_kw") for p in district.config.assets.process_load]
    storage = [planned(f"{b.cfg.id}.p_kw") for b in district.batteries]

    def frame(columns: list[np.ndarray], elements) -> pd.DataFrame:
        values = np.column_stack(columns) if columns else np.zeros((n, 0))
        return pd.DataFrame(values, index=groups.index, columns=elements)

    injections = {"load": frame([load, *process], [*layouts["load"].elements, *process_idx]),
                  "sgen": frame([sgen], layouts["sgen"].elements), "storage": frame(storage, storage_idx)}
    if (district.groups.table == "gen").any():  # generators driven by a series (MATPOWER, CGMES)
        injections["gen"] = frame([layouts["gen"].values(groups)], layouts["gen"].elements)
    net_cfg = district.config.network
    return ac_check(net, injections, Limits(net_cfg.v_min_pu, net_cfg.v_max_pu, net_cfg.max_loading_pct), key)


def _columns(layout: InjectionLayout, element) -> np.ndarray:
    """Positions of ``element`` among the layout's elements (KeyError when it has none)."""
    at = np.flatnonzero(layout.elements == element)
    if not len(at):
        raise KeyError(element)
    return at


def _checked_net(district: District) -> tuple[pandapowerNet, str, list[int], list[int], list[PlacedFlexLoad],
                                               dict[str, InjectionLayout]]:
    """The district's net with one storage per battery and one load per process load (never
    changed once made, so its fingerprint is kept), their indices, the flexible loads' elements
    and the layout of each table's series-driven elements (made once per district and net)."""
    units = [(b.cfg.id, b.bus, b.cfg.p_max_kw, b.cfg.e_max_kwh) for b in district.batteries]
    assets = district.config.assets
    key = (units, [(p.id, p.bus) for p in assets.process_load], [(a.id, a.load) for a in (*assets.ev_charger, *assets.heat_pump)])
    held = _CHECKED.get(district)
    if held is None or held[0] is not district.net or held[1] != key:
        net, storage_idx = with_storage(district.net, units)
        process_idx = add_load_elements(net, district.config)
        layouts = {kind: InjectionLayout.of(district.groups, kind) for kind in ("sgen", "load", "gen")}
        held = _CHECKED[district] = (district.net, key, net, fingerprint(net), storage_idx, process_idx,
                                     place(district.net, district.groups, assets)[0], layouts)
    return held[2:]


_CHECKED: WeakKeyDictionary[District, tuple] = WeakKeyDictionary()
Extend = Callable[[pyo.ConcreteModel], dict]
Renew = Callable[[pyo.ConcreteModel, int], list | None]


def intraday_network_rows(district: District, fc: Forecast, inp: DispatchInputs) -> tuple[Extend, Renew, bool]:
    """``extend`` adding the network rows of a re-optimisation (each interval's first
    linearisation, around loads at ``[dispatch] load_quantile``; no AC loop), ``renew`` writing
    them into a held model (:mod:`gridctl.dispatch.rolling`), and whether this re-optimisation
    re-centred them around the latest forecast (every ``[network] recentre_h`` hours: a held
    horizon's rows must be renewed)."""
    models = interval_network_models(district)

    def base_ac(new: pd.DatetimeIndex) -> AcCheckResult:
        return check_schedule(district, row_groups(district, fc, new), zero_flex_table(inp).loc[new])

    def data(m: pyo.ConcreteModel) -> NetworkData:
        return models.network_data(district, m, inp.index, base_ac, fc.issue_time)

    every_h = district.config.network.recentre_h
    recentred = models.recentre(district, inp.index, fc.issue_time, base_ac, every_h)
    return (lambda m: add_network_block(m, data(m), inp.dt_h, RENEW_MARGIN if every_h > 0 else 0.0),
            lambda m, k: renew_network_block(m, data(m), k), recentred)


def solve_with_ac_loop(district: District, fc: Forecast, inp: DispatchInputs, model,
                       start: dict[str, float] | None = None) -> LoopResult:
    """Solve ``model`` with the network rows linearised around the AC state without flexibility
    under ``fc``, tightened by AC checks of its plan (at most ``[network] ac_rounds``); ``start``:
    a MIP start (:func:`gridctl.dispatch.highs.solve`)."""
    cfg = district.config
    base = check_schedule(district, fc.groups, zero_flex_table(inp))
    return solve_network_aware(
        model, network_data(district, model, base), inp.dt_h,
        lambda m: check_schedule(district, fc.groups, plan_table(m, inp)),
        cfg.network.ac_rounds, cfg.dispatch.time_limit_s, cfg.dispatch.mip_gap, start,
    )
