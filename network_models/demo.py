"""The embedded demo district: a PV-rich commercial MV grid from SimBench's 2034 scenario.

Grid: SimBench ``1-MV-comm--2-sw`` (20 kV, 111 buses, 2 x 40 MVA HV/MV transformers, radial
feeders with open switches). It already holds commercial loads (BDEW G0-G6 profiles), aggregated
low-voltage districts, heat pumps (``Air_*``/``Soil_*`` profiles) and EV charging (``APLS_*``).

Changes made for the demo, so that the district is "loads + PV + controllable assets":
- wind, hydro and biomass generators are taken out of service (the demo's only local generation
  is PV: ``PV_MV`` plants and the ``lv_RES`` aggregates of rooftop PV);
- SimBench's own storage units (home batteries driven by fixed profiles) are taken out of service;
  controllable batteries come from the gridctl configuration instead;
- growth that congests the grid: an electric truck depot connects at the end of the longest
  feeder (bus 77, 21 buses and ~11 km of cable from the substation). 38 trucks return between
  16:00 and 19:00 local time and each charges for 2 hours at 350 kW as soon as it is plugged in
  (unmanaged), so up to 8.9 MW draw at once from 18:00 to 19:00, on top of the feeder's own evening
  load. SimBench has no depot profile, so :func:`depot_profile` derives it from that schedule,
  every day of the year. Unmanaged, the feeder's cables exceed their rating in the evening, in
  summer as in winter, and in winter the feeder end drops below 0.95 p.u. (docs/network.md);
  the depot's chargers are not controlled by gridctl, the battery ``bess_depot`` beside them is.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandas as pd

from network_models.loading import load_simbench

DEMO_CODE = "1-MV-comm--2-sw"
PV_SGEN_TYPES = ("PV_MV", "lv_RES")

# Growth: an electric truck depot at the end of the longest feeder (see module docstring)
DEPOT_BUS = "MV4.101 Bus 77"
DEPOT_NAME = "MV4.101 truck depot"
DEPOT_PROFILE = "truck_depot"
DEPOT_TRUCKS = 38
DEPOT_CHARGER_KW = 350.0
DEPOT_ARRIVALS_H = (16.0, 19.0)  # trucks return uniformly spread over this local-time window
DEPOT_CHARGE_H = 2.0  # each truck then charges at full charger power for this long


def demo_district() -> pp.pandapowerNet:
    """The demo district net with its SimBench 2016 profiles in ``net.profiles``."""
    net = load_simbench(DEMO_CODE)
    net.sgen.loc[~net.sgen.type.isin(PV_SGEN_TYPES), "in_service"] = False
    net.storage["in_service"] = False
    add_truck_depot(net)
    return net


def depot_profile(local_times: pd.Series) -> np.ndarray:
    """Per-unit depot demand for SimBench's 15-minute local time stamps (``dd.mm.yyyy HH:MM``).

    Share of the fleet charging at the interval's midpoint: arrivals uniform over
    ``DEPOT_ARRIVALS_H``, each charging ``DEPOT_CHARGE_H`` hours; 1.0 when most trucks charge at once.
    """
    t = pd.to_datetime(local_times, format="%d.%m.%Y %H:%M")
    hour = (t.dt.hour + t.dt.minute / 60.0 + 7.5 / 60.0).to_numpy()
    start, end = DEPOT_ARRIVALS_H
    overlap = np.clip(np.minimum(hour, end) - np.maximum(hour - DEPOT_CHARGE_H, start), 0.0, None)
    return overlap / min(DEPOT_CHARGE_H, end - start)


def add_truck_depot(net: pp.pandapowerNet) -> int:
    """Add the depot's chargers as a load with its own profile; returns the load index."""
    bus = int(net.bus.index[net.bus.name == DEPOT_BUS][0])
    share = min(DEPOT_CHARGE_H, DEPOT_ARRIVALS_H[1] - DEPOT_ARRIVALS_H[0]) / (DEPOT_ARRIVALS_H[1] - DEPOT_ARRIVALS_H[0])
    peak_mw = DEPOT_TRUCKS * share * DEPOT_CHARGER_KW / 1000.0
    profiles = net.profiles["load"]
    profiles[f"{DEPOT_PROFILE}_pload"] = depot_profile(profiles["time"])
    profiles[f"{DEPOT_PROFILE}_qload"] = 0.0
    return pp.create_load(net, bus, p_mw=peak_mw, q_mvar=0.0, name=DEPOT_NAME, profile=DEPOT_PROFILE)
