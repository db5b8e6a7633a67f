"""PV forecasts: a pvlib clear-sky plant model times a learned clear-sky-index forecast.

For each PV series a plant (kWp, tilt, azimuth, losses) at the site's location gives the
clear-sky output: Ineichen clear-sky irradiance (Linke turbidity climatology), isotropic
transposition to the plane of array, PVWatts DC at 25 degC cell temperature, minus losses. That
is the physical bound: forecasts never exceed it and are zero when it is (sun down).

The clear-sky index (measured / clear-sky output) is forecast by one gradient-boosted model
pooled across series (absolute-error loss, rows weighted by clear-sky output so the loss tracks
kW): solar elevation and azimuth, hours ahead, the index of the last 1, 3 and 7 days and of the
most recent same-time interval known at the issue time, and, when a weather table is given, the
forecast clear-sky index of global irradiance (``ghi_w_m2``) and the cloud cover
(``cloud_cover_pct``) issued before the issue time. Because it learns measured against modelled
output, the model also corrects the plant model's bias (orientation, capacity, shading).
Models are trained on ``history_before`` periodic cutoffs (:mod:`forecasts.schedule`); with less
than ``min_history_days`` of history the forecast is yesterday's output capped at clear sky.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import time

import numpy as np
import pandas as pd
import pvlib
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from forecasts.base import history_before
from forecasts.calendar import WallClockHistory, day_ahead_issue_times, issued_before
from forecasts.load import GbmSettings
from forecasts.schedule import TrainedModels, frame_key
from forecasts.seasonal_naive import SeasonalNaive

log = logging.getLogger(__name__)

CSI_WINDOWS_DAYS = (1, 3, 7, 14, 30)
LOOKBACK = pd.Timedelta(days=max(CSI_WINDOWS_DAYS) + 1)
MIN_CLEARSKY_FRACTION = 0.01  # of kWp: below this the sun is treated as down
GAMMA_PDC = -0.004  # 1/K, crystalline silicon


@dataclass(frozen=True)
class PvPlant:
    """Plant parameters of one PV series (generator-referenced kW)."""

    kwp: float
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0


# smaller, more regularised trees than for load: the clear-sky index is noisy
PV_SETTINGS = GbmSettings(max_leaf_nodes=15, min_samples_leaf=200, min_history_days=14, max_train_rows=100_000)


class ClearSkyModel:
    """Clear-sky output (kW) of a set of PV plants at one location."""

    def __init__(self, latitude: float, longitude: float, plants: dict[str, PvPlant], resolution_min: int = 15):
        self.location = pvlib.location.Location(latitude, longitude)
        self.plants = plants
        self.resolution_min = resolution_min

    def solar_position(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Apparent elevation and azimuth (degrees) at each interval's midpoint."""
        mid = index + pd.Timedelta(minutes=self.resolution_min / 2)
        pos = self.location.get_solarposition(mid)
        return pd.DataFrame({"elevation": pos["apparent_elevation"].to_numpy(), "azimuth": pos["azimuth"].to_numpy()},
                            index=index)

    def irradiance(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Clear-sky ``ghi``, ``dni``, ``dhi`` (W/m2) at each interval's midpoint."""
        mid = index + pd.Timedelta(minutes=self.resolution_min / 2)
        cs = self.location.get_clearsky(mid)
        cs.index = index
        return cs

    def power(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Clear-sky AC output of every plant (kW): the physical upper bound of a forecast."""
        mid = index + pd.Timedelta(minutes=self.resolution_min / 2)
        pos = self.location.get_solarposition(mid)
        cs = self.location.get_clearsky(mid, solar_position=pos)
        out = {}
        for series, p in self.plants.items():
            poa = pvlib.irradiance.get_total_irradiance(
                p.tilt_deg, p.azimuth_deg, pos["apparent_zenith"], pos["azimuth"], cs["dni"], cs["ghi"], cs["dhi"],
            )["poa_global"].clip(lower=0).fillna(0.0)
            dc = pvlib.pvsystem.pvwatts_dc(poa, 25.0, p.kwp, GAMMA_PDC)
            ac = np.asarray(dc, dtype=float) * (1 - p.losses_pct / 100)
            out[series] = np.where(ac >= MIN_CLEARSKY_FRACTION * p.kwp, ac, 0.0)
        return pd.DataFrame(out, index=index)


class PvForecaster:
    """Clear-sky plant model times a learned clear-sky index; ``predict`` returns kW per series."""

    def __init__(
        self,
        clear_sky: ClearSkyModel,
        timezone: str,
        resolution_min: int = 15,
        gate: time = time(12),
        settings: GbmSettings = PV_SETTINGS,
        weather: pd.DataFrame | None = None,
    ):
        self.clear_sky = clear_sky
        self.timezone = timezone
        self.resolution_min = resolution_min
        self.gate = gate
        self.settings = settings
        self.weather = weather  # UTC interval starts, ``issued_at_utc``, ``ghi_w_m2`` and/or ``cloud_cover_pct``
        self._history: pd.DataFrame | None = None
        self._clear: pd.DataFrame | None = None
        self.models: TrainedModels | None = None

    def fit(self, history: pd.DataFrame) -> PvForecaster:
        """Keep ``history`` (columns must be plants of the clear-sky model)."""
        unknown = sorted(set(history.columns) - set(self.clear_sky.plants))
        if unknown:
            raise ValueError(f"no PV plant parameters for series {unknown}; add them to the plant model")
        self._history = history
        self._clear = self.clear_sky.power(history.index)[list(history.columns)]
        location = (self.clear_sky.location.latitude, self.clear_sky.location.longitude)
        identity = (repr(self.settings), self.timezone, str(self.gate), location, repr(self.clear_sky.plants),
                    frame_key(history), frame_key(self.weather))
        self.models = TrainedModels(self._train, self.settings.retrain_days, self.settings.min_history_days,
                                    self.resolution_min, "PV", identity)
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        """Forecast PV output (kW) of every series, between 0 and its clear-sky output."""
        if self._history is None:
            raise RuntimeError("PvForecaster.predict called before fit")
        issue_time = pd.Timestamp(issue_time)
        known = history_before(self._history, issue_time, self.resolution_min)
        bound = self.clear_sky.power(horizon)[list(known.columns)]
        model = self.models.get(self._history, issue_time)
        if model is None:
            naive = SeasonalNaive(1, self.timezone, self.resolution_min).fit(known).predict(issue_time, horizon)
            return np.minimum(naive.clip(lower=0.0), bound)
        recent = known.loc[known.index > issue_time - LOOKBACK]
        issue = pd.DatetimeIndex(np.full(len(horizon), issue_time.value)).tz_localize("UTC")
        x = self._features(recent, self._clear.loc[recent.index], horizon, bound, issue)
        with threadpool_limits(self.settings.n_threads, user_api="openmp"):
            csi = model.predict(x).reshape(bound.shape)
        return pd.DataFrame(np.clip(csi, 0.0, 1.0) * bound.to_numpy(), index=horizon, columns=known.columns)

    @property
    def fallback_reason(self) -> str | None:
        """Why the last forecast was yesterday's output (``None`` when the model was used)."""
        return self.models.reason if self.models else None

    def _train(self, known: pd.DataFrame) -> HistGradientBoostingRegressor:
        s = self.settings
        targets = known.index[known.index >= known.index.min() + LOOKBACK]
        clear = self._clear.loc[known.index]
        bound = clear.loc[targets]
        issue = day_ahead_issue_times(targets, self.timezone, self.gate)
        x = self._features(known, clear, targets, bound, issue)
        b = bound.to_numpy().ravel()
        y = known.loc[targets].to_numpy(dtype=float).ravel() / np.where(b > 0, b, 1.0)
        rows = np.flatnonzero((b > 0) & np.isfinite(y))
        if len(rows) > s.max_train_rows:
            rows = np.sort(np.random.default_rng(s.seed).choice(rows, s.max_train_rows, replace=False))
        model = s.regressor(loss="absolute_error")
        with threadpool_limits(s.n_threads, user_api="openmp"):
            model.fit(x[rows], np.clip(y[rows], 0.0, 1.5), sample_weight=b[rows] / b[rows].mean())
        log.info("PV model trained on %d rows, %d series, until %s", len(rows), known.shape[1], known.index.max())
        return model

    def _features(self, known: pd.DataFrame, clear: pd.DataFrame, targets: pd.DatetimeIndex,
                  bound: pd.DataFrame, issue: pd.DatetimeIndex) -> np.ndarray:
        """Rows target-major, series-minor; everything known at each row's issue time."""
        n_s = len(known.columns)
        measured = WallClockHistory(known, self.timezone, self.resolution_min)
        modelled = WallClockHistory(clear, self.timezone, self.resolution_min)
        sun = self.clear_sky.solar_position(targets)
        per_target = [
            sun["elevation"].to_numpy(),
            sun["azimuth"].to_numpy(),
            (targets - issue).total_seconds().to_numpy() / 3600.0,
        ]
        per_target += self._weather_features(targets, issue)
        per_cell = []
        for days in CSI_WINDOWS_DAYS:
            window = pd.Timedelta(days=days)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_cell.append(measured.window_mean(issue, window) / modelled.window_mean(issue, window))
        columns = [np.tile(np.arange(n_s, dtype=float), len(targets))]
        columns += [np.repeat(f, n_s) for f in per_target]
        columns += [f.ravel() for f in per_cell]
        return np.column_stack(columns)

    def _weather_features(self, targets: pd.DatetimeIndex, issue: pd.DatetimeIndex) -> list[np.ndarray]:
        if self.weather is None:
            return []
        out = []
        if "ghi_w_m2" in self.weather:
            ghi_clear = self.clear_sky.irradiance(targets)["ghi"].to_numpy()
            ghi = issued_before(self.weather, "ghi_w_m2", targets, issue)
            with np.errstate(invalid="ignore", divide="ignore"):
                out.append(np.where(ghi_clear > 1.0, ghi / ghi_clear, np.nan))
        if "cloud_cover_pct" in self.weather:
            out.append(issued_before(self.weather, "cloud_cover_pct", targets, issue))
        return out
