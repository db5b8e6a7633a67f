"""Structural checks of a pandapower net before it is used for dispatch."""

from __future__ import annotations

import pandapower as pp
import pandapower.topology as top


def validate_net(net: pp.pandapowerNet) -> list[str]:
    """Return one line per problem: connectivity, slack count, missing ratings."""
    problems: list[str] = []
    slack = net.ext_grid[net.ext_grid.in_service]
    if len(slack) != 1:
        problems.append(
            f"network: {len(slack)} in-service external grids (slack); exactly one is required"
        )
    in_service = set(net.bus.index[net.bus.in_service])
    if len(slack):
        graph = top.create_nxgraph(net, respect_switches=True)
        import networkx as nx

        reached = nx.node_connected_component(graph, int(slack.bus.iloc[0]))
        energised = in_service & set(_buses_with_elements(net))
        isolated = sorted(energised - set(reached))
        if isolated:
            problems.append(
                f"network: buses {isolated[:10]} carry loads or generators but are not connected "
                "to the slack (check open switches and out-of-service lines)"
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


def _buses_with_elements(net: pp.pandapowerNet) -> list[int]:
    buses: list[int] = []
    for table in ("load", "sgen", "storage"):
        df = net[table]
        buses.extend(df.bus[df.in_service].tolist())
    return buses
