"""The district's forecasters, built from configuration and fitted on its data once per district."""

from __future__ import annotations

from dataclasses import dataclass, replace
from weakref import WeakKeyDictionary

import pandas as pd

from forecasts.carbon import CarbonForecaster
from forecasts.generation import GenerationForecaster
from forecasts.load import GbmSettings, LoadForecaster
from forecasts.pv import PV_SETTINGS, ClearSkyModel, PvForecaster, PvPlant
from gridctl import model_cache
from gridctl.config import ConfigError
from gridctl.district import District


@dataclass
class DistrictForecasters:
    """Fitted load (per load group), local generation (PV model per PV group, rules per wind, hydro,
    biomass or other group: :mod:`forecasts.generation`) and carbon-intensity forecasters."""

    load: LoadForecaster
    pv: PvForecaster
    carbon: CarbonForecaster


_FITTED: WeakKeyDictionary[District, DistrictForecasters] = WeakKeyDictionary()


def pv_plants(district: District) -> dict[str, PvPlant]:
    """Plant model per PV series: kWp from its generators' rating unless ``[forecast] pv_kwp`` overrides."""
    cfg = district.config.forecast
    unknown = sorted(set(cfg.pv_kwp) - set(district.solar_series))
    if unknown:
        raise ConfigError([f"forecast.pv_kwp.{key}: no PV series of that name; use one of {district.solar_series}"
                           for key in unknown])
    groups = district.groups[district.groups.table == "sgen"]
    rated_kw = groups.groupby("series_id").p_mw.sum() * 1000.0
    return {
        series: PvPlant(cfg.pv_kwp.get(series, float(rated_kw[series])), cfg.pv_tilt_deg, cfg.pv_azimuth_deg,
                        cfg.pv_losses_pct)
        for series in district.solar_series
    }


def issue_quantiles(district: District) -> tuple[float, ...]:
    """The load quantiles one forecast issue computes (median, and ``[dispatch] load_quantile`` above it)."""
    q = district.config.dispatch.load_quantile
    return (0.5, q) if q > 0.5 else (0.5,)


def build_forecasters(district: District) -> DistrictForecasters:
    """Unfitted forecasters configured from ``[site]`` and ``[forecast]``."""
    site, cfg = district.config.site, district.config.forecast
    res, gate = district.resolution_min, site.gate_time
    gbm = GbmSettings(max_iter=cfg.max_iter, learning_rate=cfg.learning_rate,
                      min_history_days=cfg.min_history_days, retrain_days=cfg.retrain_days, predict_threads=cfg.threads)
    weather = district.weather
    temperature = weather if weather is not None and "temp_air_c" in weather else None
    sky = weather if weather is not None and {"ghi_w_m2", "cloud_cover_pct"} & set(weather) else None
    tails = tuple(q for q in issue_quantiles(district) if q != 0.5)  # trained and saved with the median model
    load = LoadForecaster(district.tz, res, gate, site.country, cfg.holiday_subdivision or None,
                          replace(gbm, tail_quantiles=tails), temperature)
    clear_sky = ClearSkyModel(site.latitude, site.longitude, pv_plants(district), res)
    pv = GenerationForecaster(clear_sky, district.tz, res, gate, replace(PV_SETTINGS, retrain_days=cfg.retrain_days, predict_threads=cfg.threads), sky)
    carbon = CarbonForecaster(district.tz, res, gbm, site.country, cfg.holiday_subdivision or None,
                              cfg.carbon_provider)
    return DistrictForecasters(load, pv, carbon)


def district_forecasters(district: District) -> DistrictForecasters:
    """Forecasters fitted on the district's history and carbon data (built once per district); their
    trained models are kept in ``var/models/`` next to the config (:mod:`gridctl.model_cache`)."""
    if district not in _FITTED:
        f = build_forecasters(district)
        f.load.fit(district.history[district.load_series])
        f.pv.fit(district.history[district.pv_series])
        f.carbon.fit(district.carbon)
        model_cache.persist([f.load, f.pv, f.carbon], district.config.resolve(model_cache.FOLDER))
        _FITTED[district] = f
    return _FITTED[district]


def extend(district: District, history: pd.DataFrame, carbon: pd.DataFrame) -> None:
    """Give ``district`` and its fitted forecasters longer history and carbon data (the live
    daemon's newest measurements); trained models are reused until their next retraining cutoff."""
    f = district_forecasters(district)
    if not history.equals(district.history):
        district.__dict__["history"] = history
        f.load.fit(history[district.load_series])
        f.pv.fit(history[district.pv_series])
    if not carbon.equals(district.carbon):
        district.__dict__["carbon"] = carbon
        f.carbon.fit(carbon)
    model_cache.persist([f.load, f.pv, f.carbon], district.config.resolve(model_cache.FOLDER))
