"""Battery block: charge/discharge power with efficiencies, SoC balance and bounds.

Variables (per interval ``t``): ``p_ch`` and ``p_dis`` in kW (both >= 0), ``soc`` in kWh at the
interval's end. ``soc[t] = soc[t-1] + (eta_c * p_ch[t] - p_dis[t] / eta_d) * dt``. The net
load-referenced power is ``p_ch - p_dis``. The terminal SoC must reach the target (default: the
initial SoC) so the plan does not empty the battery at the horizon's end.

Simultaneous charging and discharging only destroys energy; with non-negative intensities and
a positive throughput penalty it never lowers the objective, so the LP needs no binaries.
"""

from __future__ import annotations

import pyomo.environ as pyo

from gridctl.dispatch.inputs import BatteryParams


def populate_battery(blk: pyo.Block, T: pyo.Set, dt_h: float, b: BatteryParams) -> None:
    """Fill Pyomo block ``blk`` with one battery's variables and constraints over ``T``."""
    blk.p_ch = pyo.Var(T, bounds=(0.0, b.p_max_kw))
    blk.p_dis = pyo.Var(T, bounds=(0.0, b.p_max_kw))
    blk.soc = pyo.Var(T, bounds=(b.soc_min_kwh, b.soc_max_kwh))
    first = T.first()

    def soc_balance(m, t):
        prev = b.soc_initial_kwh if t == first else blk.soc[T.prev(t)]
        return blk.soc[t] == prev + (b.eta_charge * blk.p_ch[t] - blk.p_dis[t] / b.eta_discharge) * dt_h

    blk.soc_balance = pyo.Constraint(T, rule=soc_balance)
    target = b.soc_initial_kwh if b.soc_terminal_min_kwh is None else b.soc_terminal_min_kwh
    blk.terminal = pyo.Constraint(expr=blk.soc[T.last()] >= min(target, b.soc_max_kwh))
    blk.p_kw = pyo.Expression(T, rule=lambda m, t: blk.p_ch[t] - blk.p_dis[t])
    blk.throughput_kwh = pyo.Expression(expr=sum(blk.p_ch[t] + blk.p_dis[t] for t in T) * dt_h)
