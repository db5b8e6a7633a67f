"""The embedded demo district: a PV-rich commercial MV grid from SimBench's 2034 scenario.

Grid: SimBench ``1-MV-comm--2-sw`` (20 kV, 111 buses, 2 x 40 MVA HV/MV transformers, radial
feeders with open switches). It already holds commercial loads (BDEW G0-G6 profiles), aggregated
low-voltage districts, heat pumps (``Air_*``/``Soil_*`` profiles) and EV charging (``APLS_*``).

Changes made for the demo, so that the district is "loads + PV + controllable assets":
- wind, hydro and biomass generators are taken out of service (the demo's only local generation
  is PV: ``PV_MV`` plants and the ``lv_RES`` aggregates of rooftop PV);
- SimBench's own storage units (home batteries driven by fixed profiles) are taken out of service;
  controllable batteries come from the gridctl configuration instead.
"""

from __future__ import annotations

import pandapower as pp

from network_models.loading import load_simbench

DEMO_CODE = "1-MV-comm--2-sw"
PV_SGEN_TYPES = ("PV_MV", "lv_RES")


def demo_district() -> pp.pandapowerNet:
    """The demo district net with its SimBench 2016 profiles in ``net.profiles``."""
    net = load_simbench(DEMO_CODE)
    net.sgen.loc[~net.sgen.type.isin(PV_SGEN_TYPES), "in_service"] = False
    net.storage["in_service"] = False
    return net
