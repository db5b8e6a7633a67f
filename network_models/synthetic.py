"""Synthetic radial MV feeders of any size, for benchmarks and tests of the linear grid models.

A 20 kV feeder from one slack bus: every new bus hangs off one of the most recent ``branching``
buses (a long trunk with short laterals), through NA2XS2Y 1x240 cable, scaled so that the longest
path from the slack is ``max_path_km``. Every bus but the slack carries a load with
``cos(phi) = 0.98``; total peak load and PV are fixed, so feeders of any size have the same
electrical size and differ only in detail. Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp

CABLE = "NA2XS2Y 1x240 RM/25 12/20 kV"


def radial_feeder(n_buses: int, peak_load_mw: float = 6.0, pv_mw: float = 3.0, branching: int = 8,
                  max_path_km: float = 8.0, seed: int = 0) -> pp.pandapowerNet:
    """A radial feeder of ``n_buses`` buses with loads (``profile`` "load") and PV sgens ("pv")."""
    if n_buses < 2:
        raise ValueError(f"a feeder needs at least 2 buses, got {n_buses}")
    rng = np.random.default_rng(seed)
    net = pp.create_empty_network(name=f"radial_{n_buses}")
    buses = pp.create_buses(net, n_buses, vn_kv=20.0)
    pp.create_ext_grid(net, buses[0], vm_pu=1.03)
    parents = [max(0, k - 1 - int(rng.integers(0, branching))) if k > 1 else 0 for k in range(1, n_buses)]
    length = rng.uniform(0.5, 1.5, n_buses - 1)
    path = np.zeros(n_buses)
    for k, p in enumerate(parents, start=1):
        path[k] = path[p] + length[k - 1]
    length *= max_path_km / path.max()  # the same electrical size whatever the number of buses
    pp.create_lines(net, [buses[p] for p in parents], buses[1:], length_km=length, std_type=CABLE)
    share = rng.uniform(0.5, 1.5, n_buses - 1)
    p_load = peak_load_mw * share / share.sum()
    pp.create_loads(net, buses[1:], p_mw=p_load, q_mvar=p_load * np.tan(np.arccos(0.98)), profile="load")
    pv_buses = buses[1:][rng.random(n_buses - 1) < 0.3]
    if len(pv_buses):
        pp.create_sgens(net, pv_buses, p_mw=pv_mw / len(pv_buses), profile="pv")
    return net
