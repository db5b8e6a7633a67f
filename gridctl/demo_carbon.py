"""The demo district's grid carbon-intensity series, derived from SimBench's 2016 profiles.

No carbon-intensity series ships in any installable package, so the demo derives one for the
German system of 2016 from the same year's SimBench profiles. Real deployments load a
provider's series instead (``[data] carbon = "path.csv"``, canonical CSV, see docs/conventions.md).

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

Provider forecasts (:func:`demo_provider_forecast`): real deployments take intensity forecasts
from their data provider, who builds them from weather-model forecasts of wind and sun. The
demo publishes such a forecast every hour, 48 hours ahead, by
running the same merit order on *forecast* demand, wind and solar: the actual series plus
errors of the size German day-ahead forecasts had around 2016, growing linearly from the
first hour to day-ahead and correlated in time (AR(1), 0.97 per 15 minutes, about 0.9 per hour):
- wind: RMSE 1.0 GW at the first hour to 2.5 GW day-ahead (2-5% of the 50 GW installed; German
  TSOs' aggregate day-ahead wind forecasts were at the low end of that range);
- solar: 5% to 20% of the current output (day-ahead PV forecast RMSE of 2-3% of installed
  capacity over daylight hours);
- demand: 0.8 GW to 1.5 GW (about 1.5-2.5% of demand; ENTSO-E day-ahead load forecasts).
The result errs 2-6% (MAE) of the mean intensity from the first hour to day-ahead, comparable
to what intensity providers report for their day-ahead forecasts.
The errors are drawn with a fixed seed, so the series is the same on every run. Forecast rows
are issued before their interval starts; the carbon forecaster uses the latest row issued
before its issue time, exactly as with a provider's file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

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

FORECAST_LEAD_H = 48
ERROR_CORRELATION = 0.97  # per 15-minute step
WIND_RMSE_GW = (1.0, 2.5)  # first hour, day-ahead
SOLAR_RMSE_REL = (0.05, 0.20)
DEMAND_RMSE_GW = (0.8, 1.5)
SEED = 2016


def national_system(load_profiles: pd.DataFrame, renewables: pd.DataFrame) -> pd.DataFrame:
    """Demand, wind and solar (GW) of the sketched national system, per profile interval."""
    hours = len(renewables) * 0.25
    p_cols = [c for c in load_profiles.columns if c.endswith("_pload")]
    shape = (load_profiles[p_cols] / load_profiles[p_cols].mean()).mean(axis=1)
    rel = shape / shape.mean() - 1.0
    return pd.DataFrame({
        "demand": MEAN_DEMAND_GW * (1.0 + DEMAND_CV * rel / rel.std()),
        "wind": _scale_to_energy(renewables[list(WIND_PROFILES)].mean(axis=1), WIND_TWH, hours),
        "solar": _scale_to_energy(renewables[list(SOLAR_PROFILES)].mean(axis=1), SOLAR_TWH, hours),
    })


def fossil_share(demand: np.ndarray, wind: np.ndarray, solar: np.ndarray) -> np.ndarray:
    """Share of demand met by fossil plants under the merit order (0.25 to 1)."""
    fossil = np.maximum(demand - wind - solar - OTHER_CARBON_FREE_GW, MIN_FOSSIL_SHARE * demand)
    return fossil / demand


def derive_carbon_intensity(load_profiles: pd.DataFrame, renewables: pd.DataFrame) -> pd.DataFrame:
    """Canonical in-memory carbon series (see :mod:`adapters.carbon`): the profiles' year measured,
    followed by the demo provider's forecasts (:func:`demo_provider_forecast`)."""
    system = national_system(load_profiles, renewables)
    share = fossil_share(system.demand.to_numpy(), system.wind.to_numpy(), system.solar.to_numpy())
    k = ANNUAL_MEAN_KG_PER_KWH * system.demand.sum() / (share * system.demand).sum()
    measured = _canonical(pd.Series((k * share).round(6), index=system.index), system.index)
    return pd.concat([measured, demo_provider_forecast(system, k)])


def demo_provider_forecast(system: pd.DataFrame, k: float) -> pd.DataFrame:
    """Forecast rows (canonical form) issued every hour for the next ``FORECAST_LEAD_H`` hours."""
    steps = FORECAST_LEAD_H * 4
    index = system.index
    issues = index[index.minute == 0]
    pos = np.searchsorted(index, issues)[:, None] + np.arange(steps)[None, :]
    pos = pos[pos[:, -1] < len(index)]
    growth = np.minimum(np.arange(steps) / 4.0 / 24.0, 1.0)
    rng = np.random.default_rng(SEED)

    def error(rmse: tuple[float, float]) -> np.ndarray:
        white = rng.standard_normal(pos.shape) * np.sqrt(1 - ERROR_CORRELATION ** 2)
        white[:, 0] = rng.standard_normal(len(pos))  # stationary start
        z = lfilter([1.0], [1.0, -ERROR_CORRELATION], white, axis=1)
        return z * (rmse[0] + (rmse[1] - rmse[0]) * growth)

    demand = system.demand.to_numpy()[pos] + error(DEMAND_RMSE_GW)
    wind = np.maximum(system.wind.to_numpy()[pos] + error(WIND_RMSE_GW), 0.0)
    solar = system.solar.to_numpy()[pos] * np.maximum(1.0 + error(SOLAR_RMSE_REL), 0.0)
    ci = (k * fossil_share(demand, wind, solar)).round(6)
    published = index[pos[:, 0]].repeat(steps) - pd.Timedelta(minutes=15)  # a quarter-hour before the first interval
    return _canonical(pd.Series(ci.ravel(), index=index[pos.ravel()]), published)


def _canonical(ci: pd.Series, issued: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ci_kg_per_kwh": ci.to_numpy(),
            "signal_type": _constant("average_direct", len(ci)),  # categorical: 1.7 million rows
            "resolution_min": 15,
            "zone": _constant("DE", len(ci)),
            "source": _constant(SOURCE, len(ci)),
            "issued_at_utc": issued,
            "is_estimated": True,
        },
        index=ci.index,
    )


def _constant(value: str, n: int) -> pd.Categorical:
    """A categorical column of ``n`` rows all ``value``, from codes (no list of ``n`` strings)."""
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def _scale_to_energy(profile: pd.Series, twh: float, hours: float) -> pd.Series:
    """Scale a profile so its energy over ``hours`` equals ``twh``; result in GW."""
    return profile * (twh * 1000.0 / hours) / profile.mean()
