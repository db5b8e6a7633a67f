"""Gradient-boosted quantile forecasts of load (and other demand-like series) from calendar and lags.

One model per quantile (P10, P50, P90), pooled across series: each series is divided by its own
mean over the 14 days before the issue time, so profiles of very different size share one model;
rows are weighted by that scale so the loss tracks kW errors. Features, all in local time and
all known at the issue time: time of day, weekday, public holiday (``holidays`` package),
hours ahead, the most recent same-time value and how many days back it lies, the same time one
and two weeks earlier (and whether that day was a holiday), the mean of the last day and the
last measured value; plus the air temperature forecast when a weather table is given.

Training rows are built exactly like forecasts: for each target interval, the day-ahead issue
time (``gate`` local time on the day before) decides which lags are known. Models are trained on
``history_before`` periodic cutoffs (:mod:`forecasts.schedule`), so a forecast never depends on
data at or after its issue time. The median model is a least-squares fit; the P10/P90 models use
the quantile loss on a smaller sample and are fitted on first use. With less than
``min_history_days`` of history the forecaster falls back to seasonal naive (same weekday last
week) and logs why.
"""

from __future__ import annotations

import functools
import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import ThreadpoolController

from forecasts import compiled_trees
from forecasts.base import history_before, rows_after
from forecasts.calendar import (
    WallClockHistory,
    day_ahead_issue_times,
    holiday_flags,
    issued_before,
    lead_h,
    local_wall_ns,
    wall_hour_of_day,
    wall_weekday,
)
from forecasts.schedule import TrainedModels, frame_key
from forecasts.seasonal_naive import SeasonalNaive

log = logging.getLogger(__name__)

QUANTILES = (0.1, 0.5, 0.9)
SCALE_WINDOW = pd.Timedelta(days=14)
LOOKBACK = pd.Timedelta(days=22)  # longest lag (14 days) + latest-lag search (7) + 1


@dataclass(frozen=True)
class GbmSettings:
    """Hyper-parameters and schedule of the gradient-boosted forecaster."""

    max_iter: int = 150
    learning_rate: float = 0.1
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    min_history_days: int = 28
    retrain_days: int = 14
    max_train_rows: int = 200_000
    max_quantile_rows: int = 30_000
    tail_max_iter: int = 50  # boosting iterations of the P10/P90 models (quantile loss is slow)
    # quantile models trained with the median, so a saved model holds them; any other is trained on first use
    tail_quantiles: tuple[float, ...] = ()
    n_threads: int = 1  # OpenMP threads for fitting; 1 stays fast when other work shares the cores
    # OpenMP threads for predictions (0: OpenMP's default, OMP_NUM_THREADS or one per CPU); each row's
    # sum of trees is made by one thread in tree order, so predictions and models do not depend on it
    predict_threads: int = field(default=1, repr=False, compare=False)
    seed: int = 0

    def regressor(self, max_iter: int | None = None, **loss) -> HistGradientBoostingRegressor:
        """An unfitted regressor with these settings; column 0 is the series code."""
        return HistGradientBoostingRegressor(
            **loss, max_iter=max_iter or self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf, categorical_features=[0], random_state=self.seed,
            early_stopping=False,
        )

    def threads(self) -> AbstractContextManager:
        """Context that limits OpenMP to ``n_threads`` (fitting)."""
        return _thread_pools().limit(limits=self.n_threads, user_api="openmp")

    def predict(self, model: HistGradientBoostingRegressor, x: np.ndarray) -> np.ndarray:
        """``model.predict(x)`` on ``predict_threads`` threads (:func:`tree_predict`)."""
        return tree_predict(model, x, self.predict_threads)


LOAD_SETTINGS = GbmSettings()


@functools.cache
def _thread_pools() -> ThreadpoolController:
    """The process's thread pools, found once (``threadpool_limits`` searches every loaded library at each call)."""
    return ThreadpoolController()


def tree_predict(model: HistGradientBoostingRegressor, x: np.ndarray, n_threads: int) -> np.ndarray:
    """``model.predict(x)`` on ``n_threads`` threads (0: OpenMP's default): the same sum of trees, without
    scikit-learn's per-call checks and categorical encoding where they leave ``x`` unchanged (float
    rows, a categorical column 0 holding the codes ``0..k-1`` it was fitted on, no other categorical
    column), from the model's compiled library once it has one (:mod:`forecasts.compiled_trees`,
    the same numbers); else ``model.predict`` itself."""
    categorical = getattr(model, "is_categorical_", None)
    trees = getattr(model, "_predictors", None)
    plain = (trees is not None and x.dtype == np.float64 and x.ndim == 2 and x.shape[1] == model.n_features_in_
             and (categorical is None or _codes_unchanged(model, categorical, x[:, 0])))
    if not plain:
        with _thread_pools().limit(limits=n_threads, user_api="openmp") if n_threads else nullcontext():
            return model.predict(x)
    n_threads = n_threads or _openmp_effective_n_threads()
    raw = compiled_trees.raw_sum(model, x, n_threads) if model.n_trees_per_iteration_ == 1 else None
    if raw is None:
        raw = np.zeros((len(x), model.n_trees_per_iteration_), dtype=model._baseline_prediction.dtype, order="F")
        raw += model._baseline_prediction  # as HistGradientBoostingRegressor._raw_predict
        model._predict_iterations(x, trees, raw, False, n_threads)
    return model._loss.link.inverse(raw.ravel())


def _codes_unchanged(model: HistGradientBoostingRegressor, categorical: np.ndarray, codes: np.ndarray) -> bool:
    """Whether the model's encoder maps column 0 (its only categorical feature) onto itself."""
    encoder = getattr(model, "_preprocessor", None)
    if encoder is None or not categorical[0] or categorical[1:].any():
        return False
    known = encoder.named_transformers_["encoder"].categories_[0]
    return (np.array_equal(known, np.arange(len(known))) and bool(((codes >= 0) & (codes < len(known))).all())
            and np.array_equal(codes, np.floor(codes)))


def without_empty_features(x: np.ndarray, what: str) -> np.ndarray:
    """``x`` with every all-missing column set to 0 (a constant the trees never split on).

    A weather table that covers none of the training period leaves its feature empty; gradient
    boosting cannot bin an empty column, and the model should simply not use it until it can.
    """
    empty = np.flatnonzero(np.isnan(x).all(axis=0)) if len(x) else np.array([], dtype=int)
    if len(empty):
        log.warning("%s model: features %s hold no value in the training period and are not used",
                    what, empty.tolist())
        x = x.copy()
        x[:, empty] = 0.0
    return x


class QuantileModel:
    """Least-squares median model, plus tail models fitted on first use from a kept sample."""

    def __init__(self, settings: GbmSettings, x: np.ndarray, y: np.ndarray, weight: np.ndarray):
        rng = np.random.default_rng(settings.seed)
        self.settings = settings
        self._tail_sample = _sample(rng, settings.max_quantile_rows, x, y, weight)
        with settings.threads():
            self.models = {0.5: settings.regressor(loss="squared_error").fit(*_sample(rng, settings.max_train_rows, x, y, weight))}
        for quantile in settings.tail_quantiles:
            self._fit_tail(quantile)

    def predict(self, x: np.ndarray, quantile: float, n_threads: int) -> np.ndarray:
        """Predicted (scaled) quantile for each row of ``x``, on ``n_threads`` OpenMP threads
        (:func:`tree_predict`; the forecaster's setting, not the one the model was trained with)."""
        if quantile not in self.models:
            self._fit_tail(quantile)
        return tree_predict(self.models[quantile], x, n_threads)

    def _fit_tail(self, quantile: float) -> None:
        """Fit the ``quantile`` model on the kept sample (the same model whenever it is fitted)."""
        with self.settings.threads():
            self.models[quantile] = self.settings.regressor(
                self.settings.tail_max_iter, loss="quantile", quantile=quantile).fit(*self._tail_sample)


def _sample(rng: np.random.Generator, n: int, x: np.ndarray, y: np.ndarray, weight: np.ndarray):
    """At most ``n`` random rows of ``x``, ``y`` and (mean-normalised) sample weights."""
    rows = np.sort(rng.choice(len(y), n, replace=False)) if len(y) > n else np.arange(len(y))
    return x[rows], y[rows], weight[rows] / weight[rows].mean()


class LoadForecaster:
    """Pooled quantile GBM over every column of the history; ``predict`` returns P50 in kW."""

    def __init__(
        self,
        timezone: str,
        resolution_min: int = 15,
        gate: time = time(12),
        country: str | None = None,
        subdivision: str | None = None,
        settings: GbmSettings = LOAD_SETTINGS,
        weather: pd.DataFrame | None = None,
    ):
        self.timezone = timezone
        self.resolution_min = resolution_min
        self.gate = gate
        self.country = country
        self.subdivision = subdivision
        self.settings = settings
        self.weather = weather  # UTC interval starts, ``temp_air_c`` and ``issued_at_utc``
        self._history: pd.DataFrame | None = None
        self.models: TrainedModels | None = None

    def fit(self, history: pd.DataFrame) -> LoadForecaster:
        """Keep ``history``; models are trained on the part known at each issue time."""
        self._history = history
        identity = (repr(self.settings), self.timezone, str(self.gate), self.country, self.subdivision,
                    frame_key(self.weather))
        self.models = TrainedModels(self._train, self.settings.retrain_days, self.settings.min_history_days,
                                    self.resolution_min, "load", identity)
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        """Median (P50) forecast of every series for the interval starts in ``horizon``."""
        return self.predict_quantiles(issue_time, horizon, (0.5,))[0.5]

    def predict_quantiles(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex,
                          quantiles: tuple[float, ...] = QUANTILES) -> dict[float, pd.DataFrame]:
        """Quantile forecasts (kW, non-crossing) keyed by quantile, default P10/P50/P90."""
        if self._history is None:
            raise RuntimeError("LoadForecaster.predict called before fit")
        issue_time = pd.Timestamp(issue_time)
        model = self.models.get(self._history, issue_time)
        if model is None:
            known = history_before(self._history, issue_time, self.resolution_min)
            naive = SeasonalNaive(7, self.timezone, self.resolution_min).fit(known).predict(issue_time, horizon)
            return {q: naive for q in quantiles}
        return self._quantile_frames(model, [self._issue_rows(issue_time, horizon)], quantiles)[0]

    def predict_issues(self, issues: list[pd.Timestamp], leads: int,
                       quantiles: tuple[float, ...] = QUANTILES) -> list[dict[float, pd.DataFrame]]:
        """:meth:`predict_quantiles` of each issue time in ``issues`` for its ``leads`` interval
        starts from the issue on (``issues`` on the interval grid): the same numbers, each issue's
        features from the history known at it, and one pass of each model's trees for all the
        issues it serves."""
        if self._history is None:
            raise RuntimeError("LoadForecaster.predict called before fit")
        res = pd.Timedelta(minutes=self.resolution_min)
        horizons = {t: pd.date_range(t, periods=leads, freq=res) for t in issues}
        out: dict[pd.Timestamp, dict[float, pd.DataFrame]] = {}
        served: dict[int, tuple[QuantileModel, list[pd.Timestamp]]] = {}
        for t in issues:
            model = self.models.get(self._history, t)
            if model is None:
                out[t] = self.predict_quantiles(t, horizons[t], quantiles)
            else:
                served.setdefault(id(model), (model, []))[1].append(t)
        for model, times in served.values():
            rows = [self._issue_rows(t, horizons[t]) for t in times]
            out.update(zip(times, self._quantile_frames(model, rows, quantiles)))
        return [out[t] for t in issues]

    def _issue_rows(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> tuple:
        """Feature rows and scale of one issue (:meth:`_features`, from the history known at
        ``issue_time``) and its horizon."""
        recent = rows_after(history_before(self._history, issue_time, self.resolution_min), issue_time - LOOKBACK)
        issue = pd.DatetimeIndex(np.full(len(horizon), issue_time.value)).tz_localize("UTC")
        return (*self._features(recent, horizon, issue), horizon)

    def _quantile_frames(self, model: QuantileModel, issues: list[tuple], quantiles: tuple[float, ...]
                         ) -> list[dict[float, pd.DataFrame]]:
        """Per issue of ``issues`` (:meth:`_issue_rows`), its quantile forecasts (kW, non-crossing),
        the trees run once over all their rows."""
        x = np.vstack([rows for rows, _, _ in issues])
        qs = sorted(quantiles)
        preds = np.sort(np.stack([model.predict(x, q, self.settings.predict_threads) for q in qs]), axis=0)
        out, at = [], 0
        for rows, scale, horizon in issues:
            cut = preds[:, at:at + len(rows)]
            at += len(rows)
            out.append({q: pd.DataFrame(np.maximum(p.reshape(scale.shape), 0.0) * scale, index=horizon,
                                        columns=self._history.columns) for q, p in zip(qs, cut)})
        return out

    @property
    def fallback_reason(self) -> str | None:
        """Why the last forecast was seasonal naive (``None`` when the model was used)."""
        return self.models.reason if self.models else None

    def _train(self, known: pd.DataFrame) -> QuantileModel:
        targets = known.index[known.index >= known.index.min() + LOOKBACK]
        issue = day_ahead_issue_times(targets, self.timezone, self.gate)
        x, scale = self._features(known, targets, issue)
        y = (known.loc[targets].to_numpy(dtype=float) / scale).ravel()
        weight = scale.ravel()
        ok = np.isfinite(y) & np.isfinite(weight)
        model = QuantileModel(self.settings, without_empty_features(x[ok], "load"), y[ok], weight[ok])
        log.info("load model trained on %d series until %s", known.shape[1], known.index.max())
        return model

    def _features(self, known: pd.DataFrame, targets: pd.DatetimeIndex, issue: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """Feature matrix (rows: target-major, series-minor) and the per-row scale (targets x series)."""
        wall = WallClockHistory(known, self.timezone, self.resolution_min)
        n_t, n_s = len(targets), len(known.columns)
        wall_ns, issue_ns = local_wall_ns(targets, self.timezone), issue.asi8
        scale = wall.window_mean(issue_ns, SCALE_WINDOW)
        scale = np.where(np.abs(scale) > 1e-6, np.abs(scale), 1e-6)
        latest, days_back = wall.latest_lag(wall_ns, issue_ns)
        holiday = self._holidays(targets)
        week_holiday = self._holidays(targets - pd.Timedelta(days=7))
        per_target = [
            wall_hour_of_day(wall_ns),
            wall_weekday(wall_ns),
            holiday,
            week_holiday,
            lead_h(targets, issue_ns),
            days_back,
        ]
        if self.weather is not None:
            per_target.append(issued_before(self.weather, "temp_air_c", targets, issue))
        per_cell = [
            latest / scale,
            wall.lag(wall_ns, 7, issue_ns) / scale,
            wall.lag(wall_ns, 14, issue_ns) / scale,
            wall.window_mean(issue_ns, pd.Timedelta(days=1)) / scale,
            wall.last_value(issue_ns) / scale,
        ]
        series_code = np.tile(np.arange(n_s, dtype=float), n_t)
        columns = [series_code]
        columns += [np.repeat(f, n_s) for f in per_target]
        columns += [f.ravel() for f in per_cell]
        return np.column_stack(columns), scale

    def _holidays(self, index: pd.DatetimeIndex) -> np.ndarray:
        if self.country is None:
            return np.zeros(len(index))
        return holiday_flags(index, self.timezone, self.country, self.subdivision)
