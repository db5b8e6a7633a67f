"""Baselines replayed on the same actuals and device physics as gridctl: the simulator's devices,
in-process (also when gridctl's own run goes over Modbus TCP).

- ``none``: no flexibility used (batteries idle, no curtailment, flexible loads run as recorded:
  as soon as they arrive).
- ``self-consumption``: the usual rule-based control: batteries charge from PV surplus and
  discharge to cover load, within their limits, shared by power rating.
- ``perfect-foresight``: the optimum with actual data known in advance: the same dispatch model
  over the whole replayed period (in blocks of a week when longer) with actuals as forecasts,
  ending at the initial SoC or above (copper plate: no network limits).
- ``perfect-foresight-network``: the same with the network rows and the AC loop of gridctl's
  day-ahead plans (linearised around the actual AC state, tightened by AC checks of its plan):
  a bound a controller that keeps the network limits can approach.
"""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from gridctl.dispatch.highs import integer_values, solve
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table
from gridctl.district import District
from gridctl.forecast_issue import Forecast
from gridctl.plan_ac import solve_with_ac_loop
from gridctl.planning import dispatch_inputs, has_assets
from gridctl.replay.actuals import Actuals, load_actuals
from gridctl.replay.operation import Recorder
from gridctl.replay.plant import open_plant
from gridctl.replay.tick import battery_setpoints, control_tick


def _follow(district: District, actuals: Actuals, soc_kwh: dict[str, float] | None,
            setpoints: pd.DataFrame | None, cover_net_load: bool) -> pd.DataFrame:
    """Run the simulator's devices (in-process) with fixed setpoints (or none: batteries idle, flexible
    loads set to their recorded profiles), optionally covering the whole net load with the batteries."""
    batteries = district.config.assets.battery
    pv_ids = [p.cfg.id for p in district.pv_assets]
    net = actuals.load_kw + sum(actuals.flex_kw.values(), 0.0) - actuals.pv_kw
    with open_plant(district, actuals.index[0], soc_kwh) as plant:
        rec = Recorder(actuals, plant.battery_ids, pv_ids)
        if setpoints is not None:  # by column, as arrays: one pandas lookup per column, not per interval
            p_kw = {a: setpoints[f"{a}.p_kw"].to_numpy(dtype=float) for a in [*plant.battery_ids, *actuals.flex_kw]}
            curtailed_kw = {a: setpoints[f"{a}.curtailed_kw"].to_numpy(dtype=float) for a in pv_ids}
        for k in range(len(actuals.index)):
            if setpoints is None:
                sp = {a: float(v[k]) for a, v in actuals.flex_kw.items()}
                curtailed = {a: 0.0 for a in pv_ids}
            else:
                sp = {a: float(v[k]) for a, v in p_kw.items()}
                curtailed = {a: float(v[k]) for a, v in curtailed_kw.items()}
            sp.update(battery_setpoints(batteries, sp, net[k] if cover_net_load else 0.0, cover_net_load))
            p, curtailment = control_tick(plant, actuals, k, sp, curtailed)
            rec.record(k, p, plant.soc_kwh, curtailment, plant.temp_c)
    return rec.table(district.resolution_min / 60.0)


def no_flexibility(district: District, actuals: Actuals, soc_kwh: dict[str, float] | None = None) -> pd.DataFrame:
    """Batteries idle, PV uncurtailed."""
    return _follow(district, actuals, soc_kwh, None, cover_net_load=False)


def self_consumption(district: District, actuals: Actuals, soc_kwh: dict[str, float] | None = None) -> pd.DataFrame:
    """Charge from PV surplus, discharge to cover load."""
    return _follow(district, actuals, soc_kwh, None, cover_net_load=True)


def perfect_foresight(district: District, actuals: Actuals, soc_kwh: dict[str, float] | None = None,
                      network: bool = False) -> pd.DataFrame:
    """The dispatch model's optimum over the whole period with actual load, PV and intensity as
    forecasts; with ``network``, under the network rows and AC loop of gridctl's plans.

    A period of more than ``BLOCK_DAYS`` local days is optimised block by block, each from the
    states the previous block planned and back to its starting SoC or above (a year in one MILP is
    out of reach; the blocks' edges make the bound slightly less tight). A network-feasible
    block's MIP starts from the copper-plate optimum's integer values (process loads' on/off) of
    the same block: those of the copper-plate baseline when this process ran it, else solved for
    the start. The start only speeds the MIP; its solution is within the MIP gap either way."""
    tables, soc, temps = [], soc_kwh, None
    for n, index in enumerate(blocks(district, actuals.index)):
        block = actuals if len(index) == len(actuals.index) else load_actuals(district, index)
        table = _optimum(district, block, soc, temps, network, n == 0)
        tables.append(table)
        soc = {b.cfg.id: float(table[f"{b.cfg.id}.soc_kwh"].iloc[-1]) for b in district.batteries}
        temps = {c.removesuffix(".temp_c"): float(table[c].iloc[-1]) for c in table.columns if c.endswith(".temp_c")}
    return _follow(district, actuals, soc_kwh, pd.concat(tables), cover_net_load=False)


BLOCK_DAYS = 7


def blocks(district: District, index: pd.DatetimeIndex) -> list[pd.DatetimeIndex]:
    """``index`` cut at every ``BLOCK_DAYS``-th local midnight from its first day."""
    days = index.tz_convert(district.tz).date
    first = days[0]
    number = np.array([(d - first).days // BLOCK_DAYS for d in days])
    return [index[number == n] for n in np.unique(number)]


def _optimum(district: District, actuals: Actuals, soc_kwh: dict[str, float] | None,
             temps_c: dict[str, float] | None, network: bool, first: bool = False) -> pd.DataFrame:
    """Plan table of the dispatch model's optimum over ``actuals`` (see :func:`perfect_foresight`);
    ``first``: the bound's first block, whose copper-plate model the network bound's first block
    (from the same states) takes over (:func:`_hold`)."""
    ci = pd.Series(actuals.ci_kg_per_kwh, index=actuals.index)
    fc = Forecast(actuals.index[0], actuals.groups, ci, actuals.signal_type)
    inp = dispatch_inputs(district, fc, soc_kwh, heat_pump_temp_c=temps_c)
    limit_s = time_limit_s(district, actuals.index)
    copper = _COPPER_INTEGERS.setdefault(district, {})
    block = (actuals.index[0], actuals.index[-1])
    key = (block, _frozen(soc_kwh), _frozen(temps_c))
    if network and district.config.network.constrain_dispatch and has_assets(inp):
        model = _take(district, key)
        if model is None:
            model = build_model(inp)
            if block not in copper and _has_integers(model):  # its copper-plate integer values: the start
                _solve_copper(district, model, block, limit_s)
        solve_with_ac_loop(district, fc, inp, model, copper.get(block), limit_s)
        return plan_table(model, inp)
    model = build_model(inp)
    if network:
        solve(model, limit_s, district.config.dispatch.mip_gap, dive=True)
        return plan_table(model, inp)
    _solve_copper(district, model, block, limit_s)
    table = plan_table(model, inp)
    if first and _network_bound_follows(district):
        _hold(district, key, model)
    return table


_COPPER_INTEGERS: WeakKeyDictionary[District, dict[tuple, dict[str, float]]] = WeakKeyDictionary()
_HELD: WeakKeyDictionary[District, tuple[tuple, pyo.ConcreteModel]] = WeakKeyDictionary()


def time_limit_s(district: District, index: pd.DatetimeIndex) -> float:
    """A bound's solver time limit over ``index``: a decision's (``[dispatch] time_limit_s``) per
    local day (a week's copper-plate MIP took 16 s alone on a 2-core machine, and the baselines'
    process runs at a lower priority than a replay's decisions)."""
    return district.config.dispatch.time_limit_s * len(set(index.tz_convert(district.tz).date))


def _solve_copper(district: District, model: pyo.ConcreteModel, block: tuple, limit_s: float) -> None:
    """Solve the copper-plate ``model`` of ``block`` from a dive's start; its integer values are
    kept as the network bound's start."""
    solve(model, limit_s, district.config.dispatch.mip_gap, dive=True)
    _COPPER_INTEGERS.setdefault(district, {})[block] = integer_values(model)


def _network_bound_follows(district: District) -> bool:
    """Whether a network-feasible bound with its own rows is configured (it may take a held model)."""
    cfg = district.config
    return cfg.network.constrain_dispatch and "perfect-foresight-network" in cfg.replay.baselines


def _frozen(values: dict[str, float] | None) -> tuple | None:
    """Starting states (SoC kWh or store temperatures degC by asset) as part of a block's key."""
    return None if values is None else tuple(sorted(values.items()))


def _hold(district: District, key: tuple, model: pyo.ConcreteModel) -> None:
    """Keep the solved copper-plate ``model`` of a bound's first block (inputs ``key``: block and
    starting states) for the network bound, whose first block starts from the same states: its
    network rows join that model instead of a new build of it (solved values are no input to a
    solve: the same model, the same result). One model per district, the last one held."""
    _HELD[district] = (key, model)


def _take(district: District, key: tuple) -> pyo.ConcreteModel | None:
    """The copper-plate model held for inputs ``key`` (no longer held), or None."""
    held = _HELD.get(district)
    if held is None or held[0] != key:
        return None
    del _HELD[district]
    return held[1]


def _has_integers(model: pyo.ConcreteModel) -> bool:
    return any(v.is_integer() for v in model.component_data_objects(pyo.Var, descend_into=True))


def perfect_foresight_network(district: District, actuals: Actuals,
                              soc_kwh: dict[str, float] | None = None) -> pd.DataFrame:
    """:func:`perfect_foresight` under the network's limits."""
    return perfect_foresight(district, actuals, soc_kwh, network=True)


BASELINES: dict[str, Callable[[District, Actuals, dict[str, float] | None], pd.DataFrame]] = {
    "none": no_flexibility,
    "self-consumption": self_consumption,
    "perfect-foresight": perfect_foresight,
    "perfect-foresight-network": perfect_foresight_network,
}
