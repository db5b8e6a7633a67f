"""PV forecasts: a pvlib clear-sky model of each plant, fitted to its history, times a learned clear-sky index.

For each PV series a plant (kWp, tilt, azimuth, losses, clock offset) at the site's location
gives the clear-sky output: Ineichen clear-sky irradiance (Linke turbidity climatology),
isotropic transposition to the plane of array, PVWatts DC at 25 degC cell temperature, minus
losses. That is the physical bound: forecasts never exceed it and are zero when it is (sun down).

The plant is learned from history at every training cutoff (:func:`fit_plants`): per block of
14 days the upper envelope of measured output is compared with the clear-sky output of a grid
of azimuths, tilts and clock offsets (whole intervals: the time stamps of some measured series
run behind the sun), and the best-fitting candidate's kWp is scaled so that the bound sits on
the clearest blocks. The configured plant (``[forecast] pv_tilt_deg``, ...) is the prior and
stays in use when history holds fewer than two blocks.

The clear-sky index (measured / clear-sky output of the fitted plant) is forecast by one
gradient-boosted model pooled across series (least squares, which beat absolute error on the
tuning period: the district sums plants under partly different weather; rows weighted by
clear-sky output so the loss tracks kW): solar elevation and azimuth, hours ahead, the index of
the last day and the last 30 days known at the issue time, and, when a weather table is given,
the forecast clear-sky index of global irradiance (``ghi_w_m2``) and the cloud cover
(``cloud_cover_pct``) issued before the issue time. Models are trained on ``history_before``
periodic cutoffs (:mod:`forecasts.schedule`); with less than ``min_history_days`` of history the
forecast is yesterday's output capped at the configured plant's clear sky.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import time

import numpy as np
import pandas as pd
import pvlib
from sklearn.ensemble import HistGradientBoostingRegressor

from forecasts.base import history_before, rows_after
from forecasts.calendar import WallClockHistory, day_ahead_issue_times, issued_before, lead_h
from forecasts.load import GbmSettings, without_empty_features
from forecasts.schedule import TrainedModels, frame_key
from forecasts.seasonal_naive import SeasonalNaive

log = logging.getLogger(__name__)

CSI_WINDOWS_DAYS = (1, 30)  # a 3-, 7- or 14-day index adds noise, not skill (tuning period)
LOOKBACK = pd.Timedelta(days=max(CSI_WINDOWS_DAYS) + 1)
MIN_CLEARSKY_FRACTION = 0.01  # of kWp: below this the sun is treated as down
GAMMA_PDC = -0.004  # 1/K, crystalline silicon


@dataclass(frozen=True)
class PvPlant:
    """Plant parameters of one PV series (generator-referenced kW).

    ``clock_offset_min``: the series' time stamps lag the sun by this many minutes, i.e. output
    labelled ``t`` follows the sun at ``t + clock_offset_min`` (0 for a correct UTC clock).
    """

    kwp: float
    tilt_deg: float = 30.0
    azimuth_deg: float = 180.0
    losses_pct: float = 14.0
    clock_offset_min: float = 0.0


@dataclass(frozen=True)
class PlantSearch:
    """Candidates of the plant fit and how history is summarised for it.

    History is cut into blocks of ``block_days`` UTC days (at most ``max_blocks``, the most
    recent); per block and time of day the ``envelope_quantile`` (1.0: the maximum) of measured
    output is the block's near-clear-sky profile. Azimuth in degrees clockwise from north, tilt
    in degrees from horizontal.
    """

    azimuths_deg: tuple[float, ...] = tuple(range(60, 301, 15))
    tilts_deg: tuple[float, ...] = tuple(range(0, 61, 10))
    max_clock_offset_min: int = 180  # searched in whole intervals within +- this
    block_days: int = 14
    max_blocks: int = 26
    min_blocks: int = 2  # fewer: keep the configured plant
    envelope_quantile: float = 1.0
    capacity_quantile: float = 1.0  # of the blocks' least-squares kWp (1.0: the clearest block)


def unit_output(sky: pd.DataFrame, tilt_deg: np.ndarray | float, azimuth_deg: np.ndarray | float) -> np.ndarray:
    """Clear-sky DC output per kWp before losses (kW/kWp) for ``sky`` rows (see :meth:`ClearSkyModel.sky`).

    Plane-of-array irradiance by isotropic transposition, PVWatts at 25 degC cell temperature.
    ``tilt_deg``/``azimuth_deg`` broadcast against the rows: pass column vectors to get one row
    per candidate orientation.
    """
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, sky["zenith"].to_numpy(), sky["azimuth"].to_numpy(),
        sky["dni"].to_numpy(), sky["ghi"].to_numpy(), sky["dhi"].to_numpy(),
    )["poa_global"]
    poa = np.nan_to_num(np.clip(np.asarray(poa, dtype=float), 0.0, None))
    return np.asarray(pvlib.pvsystem.pvwatts_dc(poa, 25.0, 1.0, GAMMA_PDC), dtype=float)


# few, small, heavily regularised trees: a day-ahead clear-sky index without weather is mostly noise
PV_SETTINGS = GbmSettings(max_iter=60, learning_rate=0.05, max_leaf_nodes=7, min_samples_leaf=3000, min_history_days=14,
                          max_train_rows=100_000)


HELD_ROWS = 100_000  # clear-sky rows kept per plant set (about three years of 15-minute intervals)
HELD_PLANT_SETS = 3


class ClearSkyModel:
    """Clear-sky output (kW) of a set of PV plants at one location."""

    def __init__(self, latitude: float, longitude: float, plants: dict[str, PvPlant], resolution_min: int = 15):
        self.location = pvlib.location.Location(latitude, longitude)
        self.plants = plants
        self.resolution_min = resolution_min
        self._held: list[tuple[dict[str, PvPlant], pd.DataFrame]] = []  # computed rows per plant set, newest last
        self._sun = pd.DataFrame(columns=["elevation", "azimuth"], dtype=float)  # computed solar positions

    def midpoints(self, index: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Midpoint of each interval starting at ``index``."""
        return index + pd.Timedelta(minutes=self.resolution_min / 2)

    def solar_position(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Apparent elevation and azimuth (degrees) at each interval's midpoint (kept per instant,
        as :meth:`power`)."""
        self._sun, out = _held_rows(self._sun, index, self._solar_position)
        return out

    def _solar_position(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        pos = self.location.get_solarposition(self.midpoints(index))
        return pd.DataFrame({"elevation": pos["apparent_elevation"].to_numpy(), "azimuth": pos["azimuth"].to_numpy()},
                            index=index)

    def irradiance(self, index: pd.DatetimeIndex) -> pd.DataFrame:
        """Clear-sky ``ghi``, ``dni``, ``dhi`` (W/m2) at each interval's midpoint."""
        cs = self.location.get_clearsky(self.midpoints(index))
        cs.index = index
        return cs

    def sky(self, instants: pd.DatetimeIndex) -> pd.DataFrame:
        """Apparent ``zenith`` and ``azimuth`` (degrees), clear-sky ``ghi``, ``dni``, ``dhi`` (W/m2) at ``instants``."""
        pos = self.location.get_solarposition(instants)
        cs = self.location.get_clearsky(instants, solar_position=pos)
        return pd.DataFrame({"zenith": pos["apparent_zenith"], "azimuth": pos["azimuth"],
                             "ghi": cs["ghi"], "dni": cs["dni"], "dhi": cs["dhi"]}, index=instants)

    def power(self, index: pd.DatetimeIndex, plants: dict[str, PvPlant] | None = None) -> pd.DataFrame:
        """Clear-sky AC output of every plant (kW; default: the configured plants): the physical upper bound.

        The physics is per instant, so computed rows are kept per plant set (the last
        ``HELD_PLANT_SETS``, at most ``HELD_ROWS`` rows each) and only intervals not computed
        before are computed: rolling forecasts ask for overlapping horizons and history windows."""
        plants = dict(self.plants if plants is None else plants)
        others = [(p, frame) for p, frame in self._held if p != plants]
        held = next((frame for p, frame in self._held if p == plants), None)
        held = pd.DataFrame(columns=list(plants), dtype=float) if held is None else held
        held, out = _held_rows(held, index, lambda new: self._power(new, plants))
        self._held = [*others[-(HELD_PLANT_SETS - 1):], (plants, held)]
        return out

    def _power(self, index: pd.DatetimeIndex, plants: dict[str, PvPlant]) -> pd.DataFrame:
        mid = self.midpoints(index)
        shifted = {off: mid + pd.Timedelta(minutes=off) for off in {p.clock_offset_min for p in plants.values()}}
        sky = self.sky(pd.DatetimeIndex(np.unique(np.concatenate([s.asi8 for s in shifted.values()])), tz="UTC"))
        out = {}
        for series, p in plants.items():
            ac = unit_output(sky.reindex(shifted[p.clock_offset_min]), p.tilt_deg, p.azimuth_deg)
            ac *= p.kwp * (1 - p.losses_pct / 100)
            out[series] = np.where(ac >= MIN_CLEARSKY_FRACTION * p.kwp, ac, 0.0)
        return pd.DataFrame(out, index=index)


def _held_rows(held: pd.DataFrame, index: pd.DatetimeIndex, compute: Callable[[pd.DatetimeIndex], pd.DataFrame]
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``held`` (rows computed per instant, sorted) with ``compute`` of the intervals of ``index`` it
    lacks (the last ``HELD_ROWS``), and its rows at ``index`` (a copy: callers may change theirs)."""
    at = _positions(held.index, index)
    if (at < 0).any():
        computed = compute(index[at < 0].unique())
        held = (pd.concat([held, computed]) if len(held) else computed).sort_index()
        at = _positions(held.index, index)
    return held.iloc[-HELD_ROWS:], pd.DataFrame(held.to_numpy()[at], index=index, columns=held.columns)


def _positions(held: pd.Index, index: pd.DatetimeIndex) -> np.ndarray:
    """Position of each instant of ``index`` in the sorted, unique instants ``held`` (-1: not there)."""
    if len(held) == 0:
        return np.full(len(index), -1)
    stamps, wanted = held.asi8, index.asi8
    at = np.searchsorted(stamps, wanted).clip(max=len(stamps) - 1)
    return np.where(stamps[at] == wanted, at, -1)


def block_envelopes(known: pd.DataFrame, resolution_min: int, search: PlantSearch) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Near-clear-sky profile of each series per block of whole UTC days (see :class:`PlantSearch`).

    Returns the interval starts of each block's middle day (``blocks x slots``, flattened) and
    the envelope (kW), shaped ``blocks x slots x series``; no blocks when history is shorter.
    """
    step = pd.Timedelta(minutes=resolution_min)
    first = known.index.min().ceil("D")
    days = pd.date_range(first, (known.index.max() + step).floor("D"), freq="D", inclusive="left")
    n_blocks = min(len(days) // search.block_days, search.max_blocks)
    days = days[len(days) - n_blocks * search.block_days:]
    slots = pd.timedelta_range(0, periods=int(pd.Timedelta(days=1) / step), freq=step)
    grid = pd.DatetimeIndex((days.asi8[:, None] + slots.asi8[None, :]).ravel(), tz="UTC")
    values = known.reindex(grid).to_numpy(dtype=float).reshape(n_blocks, search.block_days, len(slots), -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: no data in that block
        envelope = np.nan_to_num(np.nanquantile(values, search.envelope_quantile, axis=1))
    middle = days[search.block_days // 2::search.block_days]
    return pd.DatetimeIndex((middle.asi8[:, None] + slots.asi8[None, :]).ravel(), tz="UTC"), envelope


def fit_plants(known: pd.DataFrame, clear_sky: ClearSkyModel, search: PlantSearch = PlantSearch()) -> dict[str, PvPlant]:
    """Orientation, clock offset and effective kWp of each series that best explain its measured output (kW).

    Per series, the candidate (azimuth x tilt x clock offset in whole intervals) whose clear-sky
    profile, times one scale, best matches every block's envelope (least squares, each block's
    error relative to its envelope, so dark months count as much as bright ones) wins: the
    fit sees both the daily shape (orientation, clock) and the seasonal swing (tilt). Its kWp is
    the ``capacity_quantile`` of the blocks' own least-squares scales, so the clear-sky bound
    sits on the clearest blocks. Losses stay as configured. Uses only ``known``; with fewer than
    ``min_blocks`` blocks (or blocks with output) a series keeps its configured plant.
    """
    plants = {s: clear_sky.plants[s] for s in known.columns}
    instants, envelope = block_envelopes(known, clear_sky.resolution_min, search)
    n_blocks = envelope.shape[0]
    if n_blocks < search.min_blocks:
        return plants
    res = clear_sky.resolution_min
    offsets = np.arange(-(search.max_clock_offset_min // res), search.max_clock_offset_min // res + 1) * res
    mid = clear_sky.midpoints(instants)
    sky = clear_sky.sky(pd.DatetimeIndex(np.unique(np.concatenate(
        [(mid + pd.Timedelta(minutes=int(off))).asi8 for off in offsets])), tz="UTC"))
    tilt, azimuth = (a.ravel()[:, None] for a in np.meshgrid(search.tilts_deg, search.azimuths_deg, indexing="ij"))
    # candidate clear-sky profiles per kWp: offsets x orientations x blocks x slots
    profiles = np.stack([unit_output(sky.reindex(mid + pd.Timedelta(minutes=int(off))), tilt, azimuth)
                         for off in offsets]).reshape(len(offsets), len(tilt), n_blocks, -1)
    cc = np.einsum("otbk,otbk->otb", profiles, profiles)
    for j, series in enumerate(known.columns):
        e = envelope[:, :, j]
        ee = (e * e).sum(axis=1)
        if (ee > 0).sum() < search.min_blocks:
            continue
        ec = np.einsum("otbk,bk->otb", profiles, e)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = ec / cc
            # share of the envelope left unexplained by one scale for all blocks, each block's
            # squared error relative to its own envelope (winter weighs as much as summer)
            w = np.where(ee > 0, 1.0 / ee, 0.0)
            unexplained = 1.0 - (w * ec).sum(axis=2) ** 2 / ((w * cc).sum(axis=2) * (w * ee).sum())
        o, c = np.unravel_index(np.argmin(np.nan_to_num(unexplained, nan=1.0)), cc.shape[:2])
        prior = plants[series]
        kwp_dc = float(np.quantile(scale[o, c][ee > 0], search.capacity_quantile))
        plants[series] = replace(prior, kwp=kwp_dc / (1 - prior.losses_pct / 100), tilt_deg=float(tilt[c, 0]),
                                 azimuth_deg=float(azimuth[c, 0]), clock_offset_min=float(offsets[o]))
    return plants


@dataclass(frozen=True)
class TrainedPv:
    """What one training cutoff learned: fitted plants and the clear-sky-index model."""

    plants: dict[str, PvPlant]
    regressor: HistGradientBoostingRegressor


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
        search: PlantSearch = PlantSearch(),
    ):
        self.clear_sky = clear_sky
        self.timezone = timezone
        self.resolution_min = resolution_min
        self.gate = gate
        self.settings = settings
        self.weather = weather  # UTC interval starts, ``issued_at_utc``, ``ghi_w_m2`` and/or ``cloud_cover_pct``
        self.search = search
        self._history: pd.DataFrame | None = None
        self.models: TrainedModels | None = None

    def fit(self, history: pd.DataFrame) -> PvForecaster:
        """Keep ``history`` (columns must be plants of the clear-sky model)."""
        unknown = sorted(set(history.columns) - set(self.clear_sky.plants))
        if unknown:
            raise ValueError(f"no PV plant parameters for series {unknown}; add them to the plant model")
        self._history = history
        location = (self.clear_sky.location.latitude, self.clear_sky.location.longitude)
        identity = (repr(self.settings), self.timezone, str(self.gate), location, repr(self.clear_sky.plants),
                    repr(self.search), frame_key(self.weather))
        self.models = TrainedModels(self._train, self.settings.retrain_days, self.settings.min_history_days,
                                    self.resolution_min, "PV", identity)
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        """Forecast PV output (kW) of every series, between 0 and its clear-sky output."""
        if self._history is None:
            raise RuntimeError("PvForecaster.predict called before fit")
        issue_time = pd.Timestamp(issue_time)
        known = history_before(self._history, issue_time, self.resolution_min)
        trained = self.models.get(self._history, issue_time)
        if trained is None:
            bound = self.clear_sky.power(horizon)[list(known.columns)]
            naive = SeasonalNaive(1, self.timezone, self.resolution_min).fit(known).predict(issue_time, horizon)
            return np.minimum(naive.clip(lower=0.0), bound)
        bound = self.clear_sky.power(horizon, trained.plants)
        recent = rows_after(known, issue_time - LOOKBACK)
        issue = pd.DatetimeIndex(np.full(len(horizon), issue_time.value)).tz_localize("UTC")
        clear = self.clear_sky.power(recent.index, trained.plants)  # physics only: any history after training too
        x = self._features(recent, clear, horizon, bound, issue)
        csi = self.settings.predict(trained.regressor, x).reshape(bound.shape)
        return pd.DataFrame(np.clip(csi, 0.0, 1.0) * bound.to_numpy(), index=horizon, columns=known.columns)

    def plants(self, issue_time: pd.Timestamp) -> dict[str, PvPlant]:
        """Plant model of forecasts issued at ``issue_time``: fitted at its cutoff, configured when history is short."""
        if self._history is None:
            raise RuntimeError("PvForecaster.plants called before fit")
        trained = self.models.get(self._history, pd.Timestamp(issue_time))
        return dict(self.clear_sky.plants) if trained is None else trained.plants

    @property
    def fallback_reason(self) -> str | None:
        """Why the last forecast was yesterday's output (``None`` when the model was used)."""
        return self.models.reason if self.models else None

    def _train(self, known: pd.DataFrame) -> TrainedPv:
        s = self.settings
        plants = fit_plants(known, self.clear_sky, self.search)
        log.debug("PV plants fitted until %s: %s", known.index.max(), "; ".join(
            f"{s} {p.kwp:.0f} kWp, azimuth {p.azimuth_deg:.0f}, tilt {p.tilt_deg:.0f}, clock {p.clock_offset_min:+.0f} min"
            for s, p in plants.items()))
        clear = self.clear_sky.power(known.index, plants)  # physics only: plants are fitted on ``known``
        # the first LOOKBACK (at most half the history) only feeds the features of later rows
        warmup = min(LOOKBACK, (known.index.max() - known.index.min()) / 2)
        targets = known.index[known.index >= known.index.min() + warmup]
        bound = clear.loc[targets]
        issue = day_ahead_issue_times(targets, self.timezone, self.gate)
        x = self._features(known, clear.loc[known.index], targets, bound, issue)
        b = bound.to_numpy().ravel()
        y = known.loc[targets].to_numpy(dtype=float).ravel() / np.where(b > 0, b, 1.0)
        rows = np.flatnonzero((b > 0) & np.isfinite(y))
        if len(rows) > s.max_train_rows:
            rows = np.sort(np.random.default_rng(s.seed).choice(rows, s.max_train_rows, replace=False))
        model = s.regressor(loss="squared_error")
        with s.threads():
            model.fit(without_empty_features(x[rows], "PV"), np.clip(y[rows], 0.0, 1.5),
                      sample_weight=b[rows] / b[rows].mean())
        log.info("PV model trained on %d rows, %d series, until %s", len(rows), known.shape[1], known.index.max())
        return TrainedPv(plants, model)

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
            lead_h(targets, issue.asi8),
        ]
        per_target += self._weather_features(targets, issue)
        per_cell = []
        for days in CSI_WINDOWS_DAYS:
            window = pd.Timedelta(days=days)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_cell.append(measured.window_mean(issue.asi8, window) / modelled.window_mean(issue.asi8, window))
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
