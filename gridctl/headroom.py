"""Headroom for forecast error: upper-quantile loads for network rows and the no-new-peak import guard.

A load's upper quantile is the larger of the forecaster's own quantile and the same quantile of
the median forecast's realised errors (actual minus forecast) over the last ``[dispatch]
headroom_days`` days: the forecasts issued at the same time of day on each of those days, errors
at leads within :data:`LEAD_WINDOW` of a target's lead pooled (conformal-style calibration from
data known at the issue time; it also holds when the forecaster has no quantile model, e.g. its
seasonal-naive fallback on short history).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd

from gridctl.district import District
from gridctl.forecasting import district_forecasters, issue_quantiles

if TYPE_CHECKING:
    from gridctl.forecast_issue import Forecast


def row_groups(district: District, fc: Forecast, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Forecast groups over ``index`` with every load at its upper quantile (the issue's, with the
    realised errors' headroom: :func:`upper_load_kw`; as forecast when there is none, e.g. actuals
    or ``load_quantile`` 0.5), the headroom network rows keep for the load forecast's error."""
    groups = fc.groups.loc[index]
    if fc.load_upper is None:
        return groups
    values = groups.to_numpy(dtype=float)  # a copy: one block, not a column at a time
    at = groups.columns.get_indexer(district.load_series)
    values[:, at] = np.maximum(_upper_kw(district, fc, index), values[:, at])
    return pd.DataFrame(values, index=groups.index, columns=groups.columns)


def _upper_kw(district: District, fc: Forecast, index: pd.DatetimeIndex) -> np.ndarray:
    """The loads' upper quantile (kW; ``index`` x load series, in that order)."""
    upper = fc.load_upper
    return upper[district.load_series].to_numpy()[upper.index.get_indexer(index)]


def upper_load_kw(district: District, issue_time: pd.Timestamp, median_kw: pd.DataFrame,
                  upper_kw: pd.DataFrame) -> pd.DataFrame:
    """The loads' upper quantile (kW; the leads of ``median_kw`` x load series) of an issue at
    ``issue_time``: the forecaster's ``upper_kw``, or the median plus the realised errors' quantile
    (:func:`error_quantile_kw`) where higher."""
    loads = district.load_series
    errors_kw = _error_quantile_kw(district, issue_time, median_kw.index, district.config.dispatch.load_quantile)
    upper = np.maximum(_columns_kw(upper_kw, loads), _columns_kw(median_kw, loads) + errors_kw)
    return pd.DataFrame(upper, index=median_kw.index, columns=pd.Index(loads))


def _columns_kw(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The ``columns`` of ``frame`` as a float array (the whole table's when they are its columns, in order)."""
    return frame.to_numpy(dtype=float) if list(frame.columns) == columns else frame[columns].to_numpy(dtype=float)


LEAD_WINDOW = pd.Timedelta(hours=1)  # errors at leads this close to a target's lead count for it


def error_quantile_kw(district: District, issue_time: pd.Timestamp, targets: pd.DatetimeIndex,
                      q: float) -> pd.DataFrame:
    """Per target and load series, the headroom (kW) the realised errors of the median load
    forecast call for: the ``q`` quantile of its errors at about the target's lead, from the
    forecasts issued at ``issue_time``'s time of day on each of the ``[dispatch] headroom_days``
    days before (leads beyond a day: the last day-long lead's); 0 where no error is known or
    ``headroom_days`` is 0."""
    return pd.DataFrame(_error_quantile_kw(district, issue_time, targets, q), index=targets, columns=district.load_series)


def _error_quantile_kw(district: District, issue_time: pd.Timestamp, targets: pd.DatetimeIndex,
                       q: float) -> np.ndarray:
    """:func:`error_quantile_kw` as an array (targets x load series)."""
    loads = district.load_series
    days = district.config.dispatch.headroom_days
    res = _res(district)
    if days == 0:
        return np.zeros((len(targets), len(loads)))
    first = issue_time.floor(res)  # past issues on the interval grid recur day after day (cached)
    oldest = first - pd.Timedelta(days=days)
    for held in (_ERRORS.setdefault(district, {}), _ISSUES.setdefault(district, {})):
        for t in [t for t in held if t < oldest]:
            del held[t]
    issued = [first - pd.Timedelta(days=k) for k in range(1, days + 1)]
    _issue_missing(district, issued)
    errors = np.stack([_day_errors(district, t) for t in issued])
    per_day = errors.shape[1]  # (days, leads of one day, series)
    w = int(LEAD_WINDOW / res)
    padded = np.pad(errors, ((0, 0), (w, w), (0, 0)), constant_values=np.nan)
    pooled = np.lib.stride_tricks.sliding_window_view(padded, 2 * w + 1, axis=1)  # days, lead, series, window
    pooled = pooled.transpose(1, 2, 0, 3).reshape(per_day, len(loads), -1)
    by_lead = np.nan_to_num(_nanquantile_higher(pooled, q))  # a lead with no known error: no headroom
    lead = ((targets - first) // res).to_numpy().clip(0, per_day - 1)
    return by_lead[lead]


def _nanquantile_higher(a: np.ndarray, q: float) -> np.ndarray:
    """``np.nanquantile(a, q, axis=-1, method="higher")`` (NaN where a row has no number), vectorised:
    numpy applies it row by row."""
    n = (~np.isnan(a)).sum(axis=-1)
    at = np.ceil((n - 1) * q).astype(np.intp).clip(0, a.shape[-1] - 1)  # numpy's index for "higher"
    value = np.take_along_axis(np.sort(a, axis=-1), at[..., None], axis=-1)[..., 0]  # NaN sorts last
    return np.where(n > 0, value, np.nan)


def _issue_missing(district: District, issued: list[pd.Timestamp]) -> None:
    """Issue the median load forecasts of the ``issued`` times (on the interval grid) whose errors
    are neither known nor remembered, in one batch (:meth:`forecasts.load.LoadForecaster.predict_issues`;
    NaN for an issue too early for any forecast), so :func:`_day_errors` finds them remembered."""
    held, remembered = _ERRORS.setdefault(district, {}), _ISSUES.setdefault(district, {})
    missing = [t for t in issued if t not in held and t not in remembered]
    if not missing:
        return
    load = district_forecasters(district).load
    own = getattr(load, "own", load)  # gridctl's own model under an external overlay (it keeps no past issues)
    leads, loads, quantiles = int(pd.Timedelta(days=1) / _res(district)), district.load_series, issue_quantiles(district)

    def medians(times: list[pd.Timestamp]) -> list[np.ndarray]:
        return [_columns_kw(f[0.5], loads) for f in own.predict_issues(times, leads, quantiles)]

    try:
        remembered.update(zip(missing, medians(missing)))
    except ValueError:  # too little history then for some: one by one, no error known where none can be made
        for t in missing:
            try:
                remembered[t] = medians([t])[0]
            except ValueError:
                remembered[t] = np.full((leads, len(loads)), np.nan)


def _day_errors(district: District, issued: pd.Timestamp) -> np.ndarray:
    """Actual minus median forecast (kW; leads of one day x load series) of the load forecast
    issued at ``issued`` (on the interval grid, issued or remembered: :func:`_issue_missing`),
    every lead of which ended a day later; NaN where unknown (cached)."""
    held = _ERRORS.setdefault(district, {})
    if issued not in held:
        _issue_missing(district, [issued])
        res_ns = _res(district).value
        targets_ns = issued.value + res_ns * np.arange(pd.Timedelta(days=1).value // res_ns)
        held[issued] = _measured_loads_kw(district, targets_ns) - _ISSUES[district].pop(issued)
    return held[issued]


def _measured_loads_kw(district: District, starts_ns: np.ndarray) -> np.ndarray:
    """The history's loads (kW; ``starts_ns`` x load series) in the intervals starting at ``starts_ns``
    (UTC ns), NaN where none was measured; the load columns read as an array once per history."""
    history = district.history
    kept = _LOADS.get(district)
    if kept is None or kept[0] is not history:
        stamps = history.index.asi8
        order = np.argsort(stamps, kind="stable")
        kept = _LOADS[district] = (history, stamps[order], history[district.load_series].to_numpy(dtype=float)[order])
    _, stamps, loads_kw = kept
    out = np.full((len(starts_ns), loads_kw.shape[1]), np.nan)
    if len(stamps):
        at = np.searchsorted(stamps, starts_ns).clip(max=len(stamps) - 1)
        found = stamps[at] == starts_ns
        out[found] = loads_kw[at[found]]
    return out


_LOADS: WeakKeyDictionary[District, tuple[pd.DataFrame, np.ndarray, np.ndarray]] = WeakKeyDictionary()


def _res(district: District) -> pd.Timedelta:
    return pd.Timedelta(minutes=district.resolution_min)


_ERRORS: WeakKeyDictionary[District, dict] = WeakKeyDictionary()  # a day's realised errors by issue time


def remember_issue(district: District, issued: pd.Timestamp, median_kw: pd.DataFrame) -> None:
    """Keep the first day of gridctl's own median load forecast issued at ``issued`` (on the interval
    grid; ``median_kw`` from :func:`issue_quantiles`), so the headroom of the days after reads its
    errors without issuing it again."""
    res = _res(district)
    if district.config.dispatch.headroom_days == 0 or issued != issued.floor(res):
        return
    targets = pd.date_range(issued, issued + pd.Timedelta(days=1), freq=res, inclusive="left")
    at = median_kw.index.get_indexer(targets)
    if (at >= 0).all():  # kW, targets x load series
        _ISSUES.setdefault(district, {})[issued] = _columns_kw(median_kw, district.load_series)[at]


_ISSUES: WeakKeyDictionary[District, dict] = WeakKeyDictionary()  # median forecasts issued, by issue time


def peak_cap_kw(limit_kw: float, base_kw: np.ndarray, day_peak_kw: float = 0.0) -> float:
    """The highest import without control, forecast over the horizon (``base_kw``) or measured
    earlier today (``day_peak_kw``), within the connection limit ``limit_kw``: an import at or
    below it makes no new peak."""
    return min(float(limit_kw), max(float(base_kw.max()), day_peak_kw, 0.0))


def peak_guard_kw(limit_kw: float, base_kw: np.ndarray, headroom_kw: np.ndarray, day_peak_kw: float = 0.0
                  ) -> float | np.ndarray:
    """Import limit that makes no new peak: :func:`peak_cap_kw`, less ``headroom_kw`` per interval
    for the load forecast's error, but never below what no control would draw in that interval
    (the guard stops added charging, it does not force discharging). One number when there is no headroom."""
    cap = peak_cap_kw(limit_kw, base_kw, day_peak_kw)
    if not headroom_kw.any():
        return cap
    return np.maximum(cap - headroom_kw, np.minimum(base_kw, cap))


def day_peak_so_far_kw(district: District, now: pd.Timestamp, start: pd.Timestamp) -> float:
    """Highest import without control in the intervals of ``now``'s local day that ended by ``now``
    (measured load minus measured PV of the history) when the horizon starting at ``start`` begins that day; else 0."""
    local = pd.Timestamp(now).tz_convert(district.tz)
    if pd.Timestamp(start).tz_convert(district.tz).date() != local.date():
        return 0.0
    day_start = local.normalize().tz_convert("UTC")
    end = pd.Timestamp(now).tz_convert("UTC") - _res(district)
    h = _rows_within(district.history, day_start, end)
    if h.empty:
        return 0.0
    load, pv = (_row_sums(h[series].to_numpy(dtype=float)) for series in (district.load_series, district.pv_series))
    return float((load - pv).max())


def _rows_within(history: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``history`` stamped from ``first`` to ``last`` (a slice of a sorted table)."""
    index = history.index
    if index.is_monotonic_increasing:
        return history.iloc[index.searchsorted(first, side="left"):index.searchsorted(last, side="right")]
    return history.loc[(index >= first) & (index <= last)]


def load_headroom_kw(district: District, fc: Forecast) -> np.ndarray:
    """Per interval, how far the district's load at ``[dispatch] load_quantile`` lies above its forecast (kW)."""
    median = fc.groups[district.load_series].to_numpy(dtype=float)
    if fc.load_upper is None:
        return np.zeros(len(median))
    upper = np.maximum(_upper_kw(district, fc, fc.groups.index), median)
    return _row_sums(upper) - _row_sums(median)


def _row_sums(x: np.ndarray) -> np.ndarray:
    """Sum of each row of ``x`` as a frame's ``sum(axis=1)`` makes it: NaN as 0, column after column
    (the same order, so the same bits)."""
    return np.asfortranarray(np.where(np.isnan(x), 0.0, x)).sum(axis=1)
