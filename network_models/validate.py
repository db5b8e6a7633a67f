"""Checks of a pandapower net before it is used for dispatch: structure, then a base AC power flow.

Several external grids are allowed (meshed, multi-infeed nets): each holds its bus at its
voltage magnitude and angle (``vm_pu``, ``va_degree``) and supplies whatever the network's
impedances make it supply (pandapower's power flow, no distributed slack).
"""

from __future__ import annotations

import copy

import pandapower as pp
import pandapower.topology as top
from pandapower.powerflow import LoadflowNotConverged


def validate_net(net: pp.pandapowerNet) -> list[str]:
    """Return one line per problem: connectivity, slack count, missing ratings."""
    problems: list[str] = []
    slack = net.ext_grid[net.ext_grid.in_service]
    if len(slack) == 0:
        problems.append("network: no in-service external grid (slack); add one with pandapower.create_ext_grid")
    in_service = set(net.bus.index[net.bus.in_service])
    if len(slack):
        graph = top.create_nxgraph(net, respect_switches=True)
        reached = set().union(*(top.connected_component(graph, int(b)) for b in slack.bus))
        energised = in_service & set(_buses_with_elements(net))
        isolated = sorted(energised - set(reached))
        if isolated:
            problems.append(
                f"network: buses {isolated[:10]} carry loads or generators but are not connected "
                "to an external grid (check open switches and out-of-service lines)"
            )
    lines = net.line[net.line.in_service]
    bad = lines.index[~(lines.max_i_ka > 0)].tolist()
    if bad:
        problems.append(f"network: lines {bad[:10]} have no thermal rating (max_i_ka); set it")
    trafos = net.trafo[net.trafo.in_service]
    bad = trafos.index[~(trafos.sn_mva > 0)].tolist()
    if bad:
        problems.append(f"network: transformers {bad[:10]} have no rating (sn_mva); set it")
    return problems


def base_power_flow(net: pp.pandapowerNet) -> list[str]:
    """Run an AC power flow of the net's static values; one line with a hint when it does not converge."""
    test = copy.deepcopy(net)
    try:
        pp.runpp(test, numba=False, max_iteration=30)
    except LoadflowNotConverged:
        return [NOT_CONVERGED]
    except Exception as exc:  # noqa: BLE001 - pandapower raises many types for a malformed net
        return [f"network: base AC power flow failed ({type(exc).__name__}: {exc})"]
    return []


NOT_CONVERGED = ("network: the base AC power flow (static loads and generation of the net) does not converge; "
                 "hint: check line and transformer impedances, generator and external-grid voltage set points, "
                 "and load sizes against the network's capacity")


def _buses_with_elements(net: pp.pandapowerNet) -> list[int]:
    buses: list[int] = []
    for table in ("load", "sgen", "storage"):
        df = net[table]
        buses.extend(df.bus[df.in_service].tolist())
    return buses
