"""Headroom for forecast error: upper-quantile loads for network rows and the no-new-peak import guard."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from gridctl.district import District

if TYPE_CHECKING:
    from gridctl.planning import Forecast


def row_groups(district: District, fc: Forecast, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Forecast groups over ``index`` with every load at its ``[dispatch] load_quantile`` (issued with
    the median, :func:`gridctl.planning.make_forecast`; as forecast when there is none, e.g. actuals
    or ``load_quantile`` 0.5), the headroom network rows keep for the load forecast's error."""
    groups = fc.groups.loc[index]
    if fc.load_upper is None:
        return groups
    upper = fc.load_upper.loc[index]
    return groups.assign(**{c: np.maximum(upper[c].to_numpy(), groups[c].to_numpy()) for c in district.load_series})


def peak_guard_kw(limit_kw: float, base_kw: np.ndarray, headroom_kw: np.ndarray, day_peak_kw: float = 0.0
                  ) -> float | np.ndarray:
    """Import limit that makes no new peak: the highest import without control, forecast over the
    horizon (``base_kw``) or measured earlier today (``day_peak_kw``), within the connection limit
    ``limit_kw``; less ``headroom_kw`` per interval for the load forecast's error, but never below
    what no control would draw in that interval (the guard stops added charging, it does not force
    discharging). One number when there is no headroom."""
    cap = min(float(limit_kw), max(float(base_kw.max()), day_peak_kw, 0.0))
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
    end = pd.Timestamp(now).tz_convert("UTC") - pd.Timedelta(minutes=district.resolution_min)
    h = district.history.loc[(district.history.index >= day_start) & (district.history.index <= end)]
    if h.empty:
        return 0.0
    return float((h[district.load_series].sum(axis=1) - h[district.pv_series].sum(axis=1)).max())


def load_headroom_kw(district: District, fc: Forecast) -> np.ndarray:
    """Per interval, how far the district's load at ``[dispatch] load_quantile`` lies above its forecast (kW)."""
    loads = district.load_series
    return (row_groups(district, fc, fc.groups.index)[loads].sum(axis=1) - fc.groups[loads].sum(axis=1)).to_numpy()
