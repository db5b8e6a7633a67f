"""Battery block: charge/discharge power with efficiencies, SoC balance and bounds.

Variables (per interval ``t``): ``p_ch`` and ``p_dis`` in kW (both >= 0), ``soc`` in kWh at the
interval's end. ``soc[t] = soc[t-1] + (eta_c * p_ch[t] - p_dis[t] / eta_d) * dt``, starting from
the mutable parameter ``soc_initial`` (telemetry). The net load-referenced power is
``p_ch - p_dis``.

End of horizon, so the plan does not empty the battery at midnight: either a terminal target
(default: the initial SoC) that is soft (``terminal`` penalty of :mod:`gridctl.dispatch.soft`),
or, when ``terminal_value_per_kwh`` is given, no target and a value per stored kWh at the end
(objective units per kWh, subtracted from the objective).

Simultaneous charging and discharging only destroys energy: with round-trip efficiency ``rt``,
destroying 1 kWh this way costs ``throughput_penalty * (1 + rt) / (1 - rt)``. It lowers the
objective only when absorbing energy pays more than that: a negative intensity or price, or
surplus that could otherwise only be curtailed (when that cost is below the curtailment penalty)
or exported over a limit. With non-negative intensities/prices and
``throughput_penalty * (1 + rt) / (1 - rt) > curtailment_penalty`` (the defaults: 1e-5 * 19.5 > 1e-4
at 95 %/95 %), the LP never does it for curtailable surplus. Where it could pay,
``binary=True`` adds a binary per interval (``p_ch <= p_max * u``, ``p_dis <= p_max * (1 - u)``)
and the model becomes a MILP.
"""

from __future__ import annotations

import pyomo.environ as pyo

from gridctl.dispatch.inputs import BatteryParams
from gridctl.dispatch.soft import PENALTY, add_slack


def populate_battery(blk: pyo.Block, T: pyo.Set, dt_h: float, b: BatteryParams) -> None:
    """Fill Pyomo block ``blk`` with one battery's variables and constraints over ``T``."""
    blk.p_ch = pyo.Var(T, bounds=(0.0, b.p_max_kw))
    blk.p_dis = pyo.Var(T, bounds=(0.0, b.p_max_kw))
    blk.soc = pyo.Var(T, bounds=(b.soc_min_kwh, b.soc_max_kwh))
    blk.soc_initial = pyo.Param(initialize=b.soc_initial_kwh, mutable=True)
    first = T.first()

    def soc_balance(_, t):
        prev = blk.soc_initial if t == first else blk.soc[T.prev(t)]
        return blk.soc[t] == prev + (b.eta_charge * blk.p_ch[t] - blk.p_dis[t] / b.eta_discharge) * dt_h

    blk.soc_balance = pyo.Constraint(T, rule=soc_balance)
    if b.terminal_value_per_kwh is None:
        target = b.soc_initial_kwh if b.soc_terminal_min_kwh is None else b.soc_terminal_min_kwh
        short = add_slack(blk, "terminal_short", None, limit="terminal_soc", asset=b.id, unit="kWh",
                          penalty=PENALTY["terminal"])
        blk.soc_terminal = pyo.Param(initialize=min(target, b.soc_max_kwh), mutable=True)  # re-optimisations move it
        blk.terminal = pyo.Constraint(expr=blk.soc[T.last()] + short >= blk.soc_terminal)
        blk.terminal_value = pyo.Expression(expr=0.0)
    else:
        blk.terminal_value = pyo.Expression(expr=b.terminal_value_per_kwh * blk.soc[T.last()])
    if b.binary:
        blk.charging = pyo.Var(T, within=pyo.Binary)
        blk.charge_only = pyo.Constraint(T, rule=lambda _, t: blk.p_ch[t] <= b.p_max_kw * blk.charging[t])
        blk.discharge_only = pyo.Constraint(T, rule=lambda _, t: blk.p_dis[t] <= b.p_max_kw * (1 - blk.charging[t]))
    blk.p_kw = pyo.Expression(T, rule=lambda _, t: blk.p_ch[t] - blk.p_dis[t])
    blk.throughput_kwh = pyo.Expression(expr=sum(blk.p_ch[t] + blk.p_dis[t] for t in T) * dt_h)
    blk.degradation_cost = pyo.Expression(expr=b.degradation_cost_per_kwh * blk.throughput_kwh)
