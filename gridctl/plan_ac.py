"""The AC side of planning: the AC check of a schedule, the network rows of a re-optimisation
and the AC loop of a day-ahead plan."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from gridctl.flexible_loads import place
from gridctl.headroom import row_groups
from gridctl.network_plan import (
    IntervalNetworkModels,
    interval_network_models,
    network_data,
    zero_flex_table,
)
from gridctl.process_loads import add_load_elements
from network_models.ac_check import AcCheckResult, Limits, check_state, with_storage
from network_models.ac_model import fingerprint
from network_models.ac_state import Injections, solve_state
from network_models.profiles import InjectionLayout

if TYPE_CHECKING:
    from gridctl.forecast_issue import Forecast


def check_schedule(district: District, groups: pd.DataFrame, table: pd.DataFrame | Mapping[str, np.ndarray] | None
                   ) -> AcCheckResult:
    """AC power flow of every interval: forecast groups plus the plan's asset powers (a plan table,
    or its columns as arrays over ``groups``' intervals; None: baseline)."""
    checked = _checked_net(district)
    state = solve_state(checked.net, _injections(checked, groups.columns, groups.to_numpy(), table),
                        checked.key)
    net_cfg = district.config.network
    return check_state(state, groups.index, Limits(net_cfg.v_min_pu, net_cfg.v_max_pu, net_cfg.max_loading_pct))


def check_interval(district: District, series: pd.Index, series_kw: np.ndarray, row: Mapping[str, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Branch loadings (%) and energised bus voltages (p.u.) of one interval: group series
    ``series_kw`` (kW, one per label of ``series``) plus the asset powers of plan row ``row``
    (one-element arrays by column); the numbers of :func:`check_schedule`'s ``loading_pct`` and
    ``vm_pu`` without their tables."""
    checked = _checked_net(district)
    state = solve_state(checked.net, _injections(checked, series, series_kw[np.newaxis, :], row),
                        checked.key)
    return state.loading_pct[0], state.vm_pu[0]


def _injections(checked: _Checked, series: pd.Index, series_kw: np.ndarray,
                table: pd.DataFrame | Mapping[str, np.ndarray] | None) -> Injections:
    """Element powers (kW) per injection table of ``checked``'s net: group series ``series_kw``
    (rows: intervals, one column per label of ``series``) plus the plan's asset powers (None: baseline)."""
    n = len(series_kw)
    at = checked.positions(series)

    def planned(column: str) -> np.ndarray:
        return np.zeros(n) if table is None else np.asarray(table[column], dtype=float)

    layouts = checked.layouts
    sgen, load = layouts["sgen"].values_at(series_kw, at["sgen"]), layouts["load"].values_at(series_kw, at["load"])
    if table is not None:
        for column, cols in checked.curtailed:
            sgen[:, cols] -= planned(column)[:, None]
        for column, cols in checked.flexible:
            load[:, cols] = planned(column)[:, None]
    process = [planned(c) for c in checked.process_columns]
    storage = [planned(c) for c in checked.storage_columns]

    def stack(columns: list[np.ndarray]) -> np.ndarray:
        return np.column_stack(columns) if columns else np.zeros((n, 0))

    out = {"load": (checked.elements["load"], stack([load, *process])), "sgen": (checked.elements["sgen"], stack([sgen])),
           "storage": (checked.elements["storage"], stack(storage))}
    if checked.with_gen:  # generators driven by a series (MATPOWER, CGMES)
        out["gen"] = (checked.elements["gen"], stack([layouts["gen"].values_at(series_kw, at["gen"])]))
    return out


@dataclass
class _Checked:
    """The district's net as AC checks run it, made once per district and net (never changed)."""

    net: pandapowerNet  # with one storage per battery and one load per process load
    key: str  # its fingerprint
    layouts: dict[str, InjectionLayout]  # per table, its series-driven elements
    elements: dict[str, tuple]  # per injection table, its elements in the order of the injection columns
    curtailed: list[tuple[str, np.ndarray]]  # per PV asset, its curtailment column and its sgens' positions
    flexible: list[tuple[str, np.ndarray]]  # per flexible load, its power column and its load's positions
    process_columns: list[str]
    storage_columns: list[str]
    with_gen: bool  # whether generators take their power from a series
    series_at: tuple[pd.Index, dict[str, np.ndarray]] | None = None  # the last series labels and their positions

    def positions(self, series: pd.Index) -> dict[str, np.ndarray]:
        """Per table, the position of each element's series among ``series`` (kept while the labels stay the same)."""
        held = self.series_at
        if held is None or (held[0] is not series and not held[0].equals(series)):
            self.series_at = (series, {kind: layout.positions(series) for kind, layout in self.layouts.items()})
        return self.series_at[1]


def _columns(layout: InjectionLayout, element) -> np.ndarray:
    """Positions of ``element`` among the layout's elements (KeyError when it has none)."""
    at = np.flatnonzero(layout.elements == element)
    if not len(at):
        raise KeyError(element)
    return at


def _checked_net(district: District) -> _Checked:
    """The district's :class:`_Checked` net (made again when its batteries, process or flexible loads change)."""
    units = [(b.cfg.id, b.bus, b.cfg.p_max_kw, b.cfg.e_max_kwh) for b in district.batteries]
    assets = district.config.assets
    key = (units, [(p.id, p.bus) for p in assets.process_load], [(a.id, a.load) for a in (*assets.ev_charger, *assets.heat_pump)])
    held = _CHECKED.get(district)
    if held is None or held[0] is not district.net or held[1] != key:
        net, storage_idx = with_storage(district.net, units)
        process_idx = add_load_elements(net, district.config)
        layouts = {kind: InjectionLayout.of(district.groups, kind) for kind in ("sgen", "load", "gen")}
        elements = {"load": (*layouts["load"].elements, *process_idx), "sgen": tuple(layouts["sgen"].elements),
                    "storage": tuple(storage_idx), "gen": tuple(layouts["gen"].elements)}
        checked = _Checked(
            net, fingerprint(net), layouts, elements,
            [(f"{p.cfg.id}.curtailed_kw", _columns(layouts["sgen"], p.sgen)) for p in district.pv_assets],
            [(f"{p.cfg.id}.p_kw", _columns(layouts["load"], p.load))
             for p in place(district.net, district.groups, assets)[0]],
            [f"{p.id}.p_kw" for p in assets.process_load], [f"{b.cfg.id}.p_kw" for b in district.batteries],
            bool((district.groups.table == "gen").any()))
        held = _CHECKED[district] = (district.net, key, checked)
    return held[2]


_CHECKED: WeakKeyDictionary[District, tuple[pandapowerNet, tuple, _Checked]] = WeakKeyDictionary()
Extend = Callable[[pyo.ConcreteModel], dict]
Renew = Callable[[pyo.ConcreteModel, int], list | None]


def intraday_network_rows(district: District, fc: Forecast, inp: DispatchInputs,
                          models: IntervalNetworkModels | None = None) -> tuple[Extend, Renew, bool]:
    """``extend`` adding the network rows of a re-optimisation (each interval's first
    linearisation, around loads at ``[dispatch] load_quantile``; no AC loop), ``renew`` writing
    them into a held model (:mod:`gridctl.dispatch.rolling`), and whether this re-optimisation
    re-centred them around the latest forecast (every ``[network] recentre_h`` hours: a held
    horizon's rows must be renewed); ``models``: the linearisations kept (default: the district's)."""
    models = models if models is not None else interval_network_models(district)

    def base_ac(new: pd.DatetimeIndex) -> AcCheckResult:
        return check_schedule(district, row_groups(district, fc, new), zero_flex_table(inp).loc[new])

    def data(m: pyo.ConcreteModel) -> NetworkData:
        return models.network_data(district, m, inp.index, base_ac, fc.issue_time)

    every_h = district.config.network.recentre_h
    recentred = models.recentre(district, inp.index, fc.issue_time, base_ac, every_h)
    return (lambda m: add_network_block(m, data(m), inp.dt_h, RENEW_MARGIN if every_h > 0 else 0.0),
            lambda m, k: renew_network_block(m, data(m), k), recentred)


def solve_with_ac_loop(district: District, fc: Forecast, inp: DispatchInputs, model,
                       start: dict[str, float] | None = None, time_limit_s: float | None = None) -> LoopResult:
    """Solve ``model`` with the network rows linearised around the AC state without flexibility
    under ``fc``, tightened by AC checks of its plan (at most ``[network] ac_rounds``); ``start``:
    a MIP start (:func:`gridctl.dispatch.highs.solve`); ``time_limit_s``: each solve's (default
    ``[dispatch] time_limit_s``)."""
    cfg = district.config
    base = check_schedule(district, fc.groups, zero_flex_table(inp))
    return solve_network_aware(
        model, network_data(district, model, base), inp.dt_h,
        lambda m: check_schedule(district, fc.groups, plan_table(m, inp)),
        cfg.network.ac_rounds, cfg.dispatch.time_limit_s if time_limit_s is None else time_limit_s,
        cfg.dispatch.mip_gap, start,
    )
