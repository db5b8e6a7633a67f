"""Carbon-intensity forecasts: the provider's own forecast when the data holds one, else a profile model.

Input is the canonical carbon frame (``adapters.carbon``): UTC interval starts, ``ci_kg_per_kwh``,
``signal_type``, ``resolution_min`` and ``issued_at_utc``. Rows issued *before* their interval
starts are provider forecasts; the others are measurements. For each target interval the
forecast is the latest provider row issued before the issue time; intervals without one get the
profile model, trained on the measurements (held constant over sub-intervals when the data is
coarser than ``resolution_min``, never summed). The signal type (average or marginal) travels
with the forecast.

The profile model forecasts the change from the last measured intensity. Grid intensity moves
with wind, sun and demand, so the last value is the best guess a few hours ahead and the daily
profile is the best guess a day ahead; one gradient-boosted model learns the blend from rows
issued every ``ISSUE_EVERY`` over leads up to ``MAX_LEAD``, so it serves the day-ahead plan and
every intraday re-optimisation alike. Features, all known at the issue time: the target's local
time of day, weekday and holiday flag, the lead time and the issue's time of day, the last
value, the means of the last 3 hours, day and week, and the most recent same-time value.
Models are trained on ``history_before`` periodic cutoffs (:mod:`forecasts.schedule`); with
less than ``min_history_days`` of measurements the forecast is yesterday's profile.

The model's forecasts are re-issued every ``ISSUE_EVERY`` over the ``ERROR_DAYS`` before each
issue time's UTC day (each with the model and provider rows it had then) and compared with the
intervals measured by that day, per lead bucket (:mod:`forecasts.carbon_spread`). That gives the
weight of the model's change from the last value at each lead (least squares on those forecasts:
the model learns all leads at once and errs near the last value at the first ones, where the
weight falls toward 0) and, from the forecasts so weighted, :meth:`CarbonForecaster.spread`: how
far a forecast can be trusted at each lead.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from forecasts.base import history_before, rows_after
from forecasts.calendar import (
    WallClockHistory,
    holiday_flags,
    issued_before,
    lead_h,
    local_wall_ns,
    time_of_day_h,
    wall_hour_of_day,
    wall_weekday,
)
from forecasts.carbon_spread import (
    LEAD_EDGES_H,
    blend_weights,
    lead_bucket,
    spread_at,
    spread_by_lead,
)
from forecasts.load import LOAD_SETTINGS, GbmSettings
from forecasts.schedule import TrainedModels
from forecasts.seasonal_naive import SeasonalNaive

log = logging.getLogger(__name__)

COLUMN = "ci_kg_per_kwh"
ISSUE_EVERY = pd.Timedelta(hours=3)  # spacing of the training issue times
MAX_LEAD = pd.Timedelta(hours=48)  # longest lead learned: an intraday horizon to the end of the next day
WINDOWS = (pd.Timedelta(hours=3), pd.Timedelta(days=1), pd.Timedelta(days=7))
LOOKBACK = pd.Timedelta(days=8)  # longest window (7 days) + 1
ERROR_DAYS = pd.Timedelta(days=7)  # forecasts issued this long before an issue's day give its weights and spread


def split_provider_rows(carbon: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(measured, provider)`` rows of a canonical carbon frame: rows issued before their interval
    starts are provider forecasts; measured rows keep the last issued per interval, sorted."""
    is_forecast = (pd.to_datetime(carbon["issued_at_utc"], utc=True) < carbon.index).to_numpy()
    measured = carbon.loc[~is_forecast]
    return measured[~measured.index.duplicated(keep="last")].sort_index(), carbon.loc[is_forecast]


def _provider_arrays(provider: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interval starts and issue times (ns) and values of the provider's rows (views of its columns
    where they hold nanoseconds and floats: no copies)."""
    starts, issued = (t if t.unit == "ns" else t.as_unit("ns")
                      for t in (pd.DatetimeIndex(provider.index), pd.DatetimeIndex(provider["issued_at_utc"])))
    return starts.asi8, issued.asi8, provider[COLUMN].to_numpy(dtype=float)


class CarbonForecaster:
    """Provider forecasts first (unless ``use_provider`` is false), profile model second; ``predict``
    gives ``ci_kg_per_kwh`` and ``source``. ``blend=False`` uses the model's change from the last
    value unweighted (module doc)."""

    def __init__(self, timezone: str, resolution_min: int = 15, settings: GbmSettings = LOAD_SETTINGS,
                 country: str | None = None, subdivision: str | None = None, use_provider: bool = True,
                 blend: bool = True):
        self.timezone = timezone
        self.resolution_min = resolution_min
        self.settings = settings
        self.country = country
        self.subdivision = subdivision
        self.use_provider = use_provider
        self.blend = blend
        self.signal_type: str | None = None
        self._provider: pd.DataFrame | None = None
        self._provider_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # starts, issue times (ns), values
        self.measured: pd.DataFrame | None = None
        self.models: TrainedModels | None = None
        self._spreads: dict[tuple, tuple] = {}  # (blend weight, spread) per lead bucket by (UTC day, provider used)
        self._past: dict[pd.Timestamp, tuple] = {}  # the re-issued forecasts of the latest day asked for

    def fit(self, carbon: pd.DataFrame) -> CarbonForecaster:
        """Split provider forecasts from measurements; one signal type per frame."""
        signals = sorted(carbon["signal_type"].unique())
        if len(signals) != 1:
            raise ValueError(f"carbon data holds signal types {signals}; forecast one signal type at a time")
        self.signal_type = signals[0]
        measured, provider = split_provider_rows(carbon[[COLUMN, "issued_at_utc"]])  # the columns used, then the rows
        provider = provider.iloc[: None if self.use_provider else 0]
        provider = provider.assign(issued_at_utc=pd.to_datetime(provider.issued_at_utc, utc=True))
        starts_ns, issued_ns, _ = _provider_arrays(provider)  # no NaT: each row issued before its interval starts
        order = np.lexsort((issued_ns, starts_ns))  # by interval, then issue time, else as given (stable)
        self._provider = provider.take(order)
        self._provider_arrays = _provider_arrays(self._provider)
        self.measured = measured[[COLUMN]].resample(f"{self.resolution_min}min").ffill()
        identity = (repr(self.settings), self.timezone, self.country, self.subdivision)
        self.models = TrainedModels(self._train, self.settings.retrain_days, self.settings.min_history_days,
                                    self.resolution_min, "carbon", identity)
        self._spreads, self._past = {}, {}
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex, use_provider: bool = True) -> pd.DataFrame:
        """Intensity (kg/kWh) per interval and where it came from (``provider`` or ``profile``);
        ``use_provider=False`` (the provider's feed is stale) forecasts every interval with the profile model."""
        if self.signal_type is None:
            raise RuntimeError("CarbonForecaster.predict called before fit")
        issue_time = pd.Timestamp(issue_time)
        issue = pd.DatetimeIndex(np.full(len(horizon), issue_time.value)).tz_localize("UTC")
        provider = self._latest_provider_rows(issue_time, horizon) if use_provider else np.full(len(horizon), np.nan)
        out = pd.DataFrame({COLUMN: provider, "source": "provider"}, index=horizon)
        missing = np.isnan(provider)
        if missing.any():
            profile = self._profile(issue_time, horizon, issue)
            out.loc[missing, COLUMN] = profile[missing]
            out.loc[missing, "source"] = "profile"
        out.attrs["signal_type"] = self.signal_type
        return out

    def spread(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex, use_provider: bool = True) -> np.ndarray:
        """Spread (kg/kWh) of the forecast issued at ``issue_time`` per interval of ``horizon``: the
        RMS error of this forecaster at the same lead bucket over the ``ERROR_DAYS`` before the
        issue time's UTC day (module doc), from data known at that day's start; cached per day."""
        issue_time = pd.Timestamp(issue_time)
        spread = self._day_stats(issue_time.floor("D"), use_provider and self.use_provider)[1]
        return spread_at((horizon - issue_time).total_seconds().to_numpy() / 3600.0, spread)

    def _day_stats(self, day: pd.Timestamp, use_provider: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per lead bucket, the profile model's weight against the last value and the spread, for
        forecasts issued on UTC ``day`` (from :meth:`past_forecasts` up to its start; cached)."""
        key = (day, use_provider)
        if key not in self._spreads:
            if len(self._spreads) >= 4:
                self._spreads.clear()
            if day not in self._past:
                self._past = {day: self.past_forecasts(day)}
            lead_h, actual, provider, profile, last = self._past[day]
            provider = provider if use_provider else np.full(len(provider), np.nan)
            weight = (blend_weights(lead_h, actual - last, profile - last) if self.blend
                      else np.ones(len(LEAD_EDGES_H) + 1))
            blended = last + weight[lead_bucket(lead_h)] * (profile - last)
            self._spreads[key] = weight, spread_by_lead(lead_h, actual - np.where(np.isnan(provider), blended, provider))
        return self._spreads[key]

    def past_forecasts(self, until: pd.Timestamp) -> tuple[np.ndarray, ...]:
        """Lead (hours), measured intensity, provider forecast, profile-model forecast and last
        measured value of the forecasts issued every ``ISSUE_EVERY`` in the ``ERROR_DAYS`` before
        ``until``, for every lead up to ``MAX_LEAD`` whose interval had ended by ``until`` (provider
        rows issued before each issue, NaN without; the profile model of that issue's cutoff, NaN
        where it had none)."""
        step = pd.Timedelta(minutes=self.resolution_min)
        issues = pd.date_range((until - ERROR_DAYS).ceil(ISSUE_EVERY), until, freq=ISSUE_EVERY, inclusive="left")
        leads = np.arange(int(MAX_LEAD / step))
        which = np.repeat(np.arange(len(issues)), len(leads))  # position of each row's issue in ``issues``
        targets = issues[which] + np.tile(leads, len(issues)) * step
        keep = targets + step <= until
        which, targets = which[keep], targets[keep]
        issue = issues[which]
        known = history_before(self.measured, until, self.resolution_min)
        provider = np.full(len(targets), np.nan)
        if len(self._provider):
            provider = issued_before(self._provider, COLUMN, targets, issue)
        recent = known.loc[known.index > until - ERROR_DAYS - LOOKBACK]
        x, last = self._features(recent, targets, issue)
        profile = np.full(len(targets), np.nan)
        reason = self.models.reason
        cutoffs = np.array([self.models.cutoff(t).value for t in issues])[which]
        for cut in np.unique(cutoffs):
            rows = np.flatnonzero(cutoffs == cut)
            model = self.models.get(self.measured, issue[rows[0]])
            if model is not None:
                profile[rows] = np.maximum(last[rows] + self.settings.predict(model, x[rows]), 0.0)
        self.models.reason = reason
        actual = known[COLUMN].reindex(targets).to_numpy(dtype=float)
        return (targets - issue).total_seconds().to_numpy() / 3600.0, actual, provider, profile, last

    @property
    def fallback_reason(self) -> str | None:
        """Why the last profile forecast was yesterday's profile (``None`` when the model was used)."""
        return self.models.reason if self.models else None

    def _latest_provider_rows(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> np.ndarray:
        """Per interval, the provider's latest value issued before ``issue_time`` (NaN: none)."""
        starts_ns, issued_ns, values = self._provider_arrays  # sorted by interval, then issue time
        wanted_ns = horizon.asi8
        window = slice(starts_ns.searchsorted(wanted_ns.min(), "left"), starts_ns.searchsorted(wanted_ns.max(), "right"))
        rows = window.start + np.flatnonzero(issued_ns[window] < issue_time.value)
        out = np.full(len(wanted_ns), np.nan)
        if len(rows) == 0:
            return out
        starts = starts_ns[rows]
        latest = rows[np.append(starts[1:] != starts[:-1], True)]  # the last row issued of each interval
        at = starts_ns[latest].searchsorted(wanted_ns).clip(max=len(latest) - 1)
        found = starts_ns[latest][at] == wanted_ns
        out[found] = values[latest[at[found]]]
        return out

    def _profile(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex, issue: pd.DatetimeIndex) -> np.ndarray:
        known = history_before(self.measured, issue_time, self.resolution_min)
        model = self.models.get(self.measured, issue_time)
        if model is None:
            naive = SeasonalNaive(1, self.timezone, self.resolution_min).fit(known)
            return naive.predict(issue_time, horizon)[COLUMN].to_numpy()
        recent = rows_after(known, issue_time - LOOKBACK)
        x, last = self._features(recent, horizon, issue)
        weight = self._day_stats(issue_time.floor("D"), False)[0][lead_bucket(x[:, 3])] if self.blend else 1.0
        return np.maximum(last + weight * self.settings.predict(model, x), 0.0)

    def _train(self, known: pd.DataFrame) -> HistGradientBoostingRegressor:
        s = self.settings
        step = pd.Timedelta(minutes=self.resolution_min)
        first = (known.index.min() + LOOKBACK).ceil(ISSUE_EVERY)
        issues = pd.date_range(first, known.index.max(), freq=ISSUE_EVERY)
        leads = np.arange(int(MAX_LEAD / step))
        pairs = np.stack(np.meshgrid(np.arange(len(issues)), leads, indexing="ij"), axis=-1).reshape(-1, 2)
        if len(pairs) > s.max_train_rows:
            pairs = pairs[np.sort(np.random.default_rng(s.seed).choice(len(pairs), s.max_train_rows, replace=False))]
        issue = issues[pairs[:, 0]]
        targets = issue + pairs[:, 1] * step
        actual = known[COLUMN].reindex(targets).to_numpy()
        x, last = self._features(known, targets, issue)
        ok = np.isfinite(actual) & np.isfinite(last)
        model = s.regressor(loss="squared_error")
        with s.threads():
            model.fit(x[ok], (actual - last)[ok])
        log.info("carbon model trained on %d rows until %s", int(ok.sum()), known.index.max())
        return model

    def _features(self, known: pd.DataFrame, targets: pd.DatetimeIndex,
                  issue: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """Feature matrix (one row per target; column 0 the weekday) and the last value known at each issue."""
        wall = WallClockHistory(known, self.timezone, self.resolution_min)
        wall_ns, issue_ns = local_wall_ns(targets, self.timezone), issue.asi8
        last = wall.last_value(issue_ns)[:, 0]
        same_time, days_back = wall.latest_lag(wall_ns, issue_ns)
        holiday = (holiday_flags(targets, self.timezone, self.country, self.subdivision) if self.country
                   else np.zeros(len(targets)))
        columns = [
            wall_weekday(wall_ns),
            wall_hour_of_day(wall_ns),
            holiday,
            lead_h(targets, issue_ns),
            time_of_day_h(issue, self.timezone),
            last,
            same_time[:, 0] - last,
            days_back,
        ]
        columns += [wall.window_mean(issue_ns, w)[:, 0] - last for w in WINDOWS]
        return np.column_stack(columns), last
