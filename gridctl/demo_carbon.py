"""The demo district's grid carbon-intensity series, derived from SimBench's 2016 profiles.

No carbon-intensity series ships in any installable package, so the demo derives one for the
German system of 2016 from the same year's SimBench profiles. Real deployments load a
provider's series instead (``[data] carbon = "path.csv"``, canonical CSV, see DESIGN.md).

Model (hourly merit-order sketch, every number documented):
- national demand ``D(t)``: the shape of the mean of all SimBench load profiles (each normalised
  to its annual mean), its spread scaled to a coefficient of variation of 0.17 (German load in
  2016 ranged about 35-80 GW, ENTSO-E) around a mean of 60 GW (about 527 TWh, AGEB);
- wind ``W(t)``: mean of SimBench wind profiles WP5/WP8, scaled to 79.9 TWh (2016 wind
  generation, AGEB "Bruttostromerzeugung 2016");
- solar ``S(t)``: mean of SimBench PV profiles PV2/PV5/PV6/PV8, scaled to 38.2 TWh (2016, AGEB);
- other carbon-free generation (nuclear 84.9, hydro 21.5, biomass 50.9 TWh in 2016, AGEB) as a
  flat 17.9 GW;
- fossil output ``F(t) = max(D - W - S - 17.9 GW, 0.25 D)``: surplus renewables are exported,
  and at least 25% of demand stays fossil (must-run CHP and system services);
- intensity ``CI(t) = k * F(t) / D(t)``, with ``k`` (the fossil fleet's emission factor, kg/kWh)
  calibrated so that the demand-weighted annual mean equals 0.516 kg/kWh, Umweltbundesamt's
  CO2 emission factor of the German electricity mix in 2016 (direct emissions, so the signal
  type is ``average_direct``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ANNUAL_MEAN_KG_PER_KWH = 0.516
MEAN_DEMAND_GW = 60.0
WIND_TWH = 79.9
SOLAR_TWH = 38.2
OTHER_CARBON_FREE_GW = 17.9
MIN_FOSSIL_SHARE = 0.25
DEMAND_CV = 0.17
WIND_PROFILES = ("WP5", "WP8")
SOLAR_PROFILES = ("PV2", "PV5", "PV6", "PV8")
SOURCE = "gridctl-demo: SimBench 2016 profiles, scaled to AGEB 2016 and UBA 2016 (0.516 kg/kWh)"


def derive_carbon_intensity(load_profiles: pd.DataFrame, renewables: pd.DataFrame) -> pd.DataFrame:
    """Canonical in-memory carbon series (see :mod:`adapters.carbon`) for the profiles' year."""
    hours = len(renewables) * 0.25
    p_cols = [c for c in load_profiles.columns if c.endswith("_pload")]
    shape = (load_profiles[p_cols] / load_profiles[p_cols].mean()).mean(axis=1)
    rel = shape / shape.mean() - 1.0
    demand = MEAN_DEMAND_GW * (1.0 + DEMAND_CV * rel / rel.std())
    wind = _scale_to_energy(renewables[list(WIND_PROFILES)].mean(axis=1), WIND_TWH, hours)
    solar = _scale_to_energy(renewables[list(SOLAR_PROFILES)].mean(axis=1), SOLAR_TWH, hours)
    fossil = np.maximum(demand - wind - solar - OTHER_CARBON_FREE_GW, MIN_FOSSIL_SHARE * demand)
    share = fossil / demand
    k = ANNUAL_MEAN_KG_PER_KWH * demand.sum() / (share * demand).sum()
    ci = (k * share).round(6)
    return pd.DataFrame(
        {
            "ci_kg_per_kwh": ci,
            "signal_type": "average_direct",
            "resolution_min": 15,
            "zone": "DE",
            "source": SOURCE,
            "issued_at_utc": ci.index,
            "is_estimated": True,
        },
        index=ci.index,
    )


def _scale_to_energy(profile: pd.Series, twh: float, hours: float) -> pd.Series:
    """Scale a profile so its energy over ``hours`` equals ``twh``; result in GW."""
    return profile * (twh * 1000.0 / hours) / profile.mean()
