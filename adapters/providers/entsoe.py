"""ENTSO-E Transparency Platform through ``entsoe-py`` (``EntsoePandasClient``).

* Measured: "Actual Generation per Production Type" (A75) of the past ``past_h`` hours ->
  life-cycle intensity sum(MW x factor) / sum(MW) with :data:`ENTSOE_FACTORS_KG_PER_KWH`
  (``Hydro Pumped Storage`` left out, as in the CSV reader); issued at each interval's end.
* Forecast: the day-ahead "Generation Forecast" (A71, total) and "Wind and Solar Forecast"
  (A69) from now to the end of tomorrow. The platform has no day-ahead forecast per fuel
  beyond wind and solar, so the rest (total minus wind and solar) is taken at the mean factor
  of the non-wind, non-solar generation of the measured window. Issued at fetch time.

The client's endpoint is its own: ``ENTSOE_ENDPOINT_URL`` in the environment overrides it.
"""

from __future__ import annotations

import pandas as pd
import requests
from entsoe import EntsoePandasClient
from entsoe.exceptions import NoMatchingDataError
from entsoe.mappings import lookup_area

from adapters.carbon_formats import ENTSOE_EXCLUDED, ENTSOE_FACTORS_KG_PER_KWH, carbon_frame
from adapters.providers.http import DEFAULT_POLICY, FeedError, RetryPolicy, call

WEATHER_DEPENDENT = ("Solar", "Wind Onshore", "Wind Offshore")
# entsoe-py's names of production types whose Transparency Platform export name differs
NAMES = {"Hydro Run-of-river and pondage": "Hydro Run-of-river and poundage"}
EXCLUDED = ENTSOE_EXCLUDED | {"Energy storage"}  # stored energy is counted where it was generated


def _aggregated(frame: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Generation per production type (MW) from an entsoe-py generation frame."""
    if isinstance(frame, pd.Series):
        return frame.to_frame()
    if isinstance(frame.columns, pd.MultiIndex):  # (type, "Actual Aggregated" / "Actual Consumption")
        frame = frame.xs("Actual Aggregated", axis=1, level=-1)
    return frame.rename(columns=NAMES)


def _factors(columns, what: str) -> pd.Series:
    """Emission factor of each production type column; an unknown type is a :class:`FeedError`."""
    unknown = [c for c in columns if c not in ENTSOE_FACTORS_KG_PER_KWH and c not in EXCLUDED]
    if unknown:
        raise FeedError(f"{what}: no emission factor for production type(s) {unknown}")
    return pd.Series({c: ENTSOE_FACTORS_KG_PER_KWH[c] for c in columns if c not in EXCLUDED}, dtype=float)


def _resolution_min(starts: pd.DatetimeIndex) -> int:
    """Interval length of a series, minutes (its shortest step; 60 for a single row)."""
    return int(pd.Series(starts).diff().dropna().min().total_seconds() // 60) if len(starts) > 1 else 60


def mix_intensity(mw: pd.DataFrame, what: str) -> pd.Series:
    """kg/kWh of each interval's generation mix; intervals without generation are left out."""
    factors = _factors(mw.columns, what)
    mw = mw[factors.index].fillna(0.0).clip(lower=0.0)
    total = mw.sum(axis=1)
    return (mw.mul(factors, axis=1).sum(axis=1) / total)[total > 0]


class Entsoe:
    """Carbon intensity of one bidding zone or country (entsoe-py area code, e.g. ``DE_LU``)."""

    def __init__(self, api_key: str, area: str, *, past_h: int = 24, forecast: bool = True,
                 policy: RetryPolicy = DEFAULT_POLICY, session: requests.Session | None = None):
        self.area, self.past_h, self.with_forecast, self.policy = area, past_h, forecast, policy
        # one attempt inside the client: retries (with backoff) are ours
        self.client = EntsoePandasClient(api_key=api_key, session=session, retry_count=1, timeout=policy.timeout_s)

    def _query(self, name: str, what: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        query = getattr(self.client, name)
        try:
            return call(lambda: query(self.area, start=start, end=end), self.policy, f"ENTSO-E {what} ({self.area})")
        except FeedError as exc:
            if isinstance(exc.__cause__, NoMatchingDataError):
                return pd.DataFrame()
            raise

    def measured(self, now: pd.Timestamp) -> tuple[pd.DataFrame, float]:
        """Measured intensity rows, and the mean factor of the non-wind, non-solar generation."""
        what = f"ENTSO-E actual generation ({self.area})"
        mw = _aggregated(self._query("query_generation", "actual generation",
                                     now - pd.Timedelta(hours=self.past_h), now))
        if mw.empty:
            raise FeedError(f"{what}: no data in the past {self.past_h} h")
        ci = mix_intensity(mw, what)
        starts = ci.index.tz_convert("UTC")
        res_min = _resolution_min(starts)
        factors = _factors([c for c in mw if c not in WEATHER_DEPENDENT], what)
        rest_mw = mw[factors.index].fillna(0.0).clip(lower=0.0)
        rest_total = float(rest_mw.to_numpy().sum())
        rest_factor = float(rest_mw.mul(factors, axis=1).to_numpy().sum()) / rest_total if rest_total > 0 else 0.0
        frame = carbon_frame(starts, ci.to_numpy(), "average_lifecycle", res_min, self.area, "entsoe",
                             starts + pd.Timedelta(minutes=res_min), False)
        return frame, rest_factor

    def forecast(self, now: pd.Timestamp, rest_factor: float) -> pd.DataFrame:
        """Day-ahead intensity from now to the end of tomorrow (area's local days)."""
        what = f"ENTSO-E day-ahead forecast ({self.area})"
        start = now.floor("h")
        end = (now.tz_convert(lookup_area(self.area).tz).normalize() + pd.Timedelta(days=2)).tz_convert("UTC")
        total = _aggregated(self._query("query_generation_forecast", "generation forecast", start, end))
        ws = _aggregated(self._query("query_wind_and_solar_forecast", "wind and solar forecast", start, end))
        if total.empty or ws.empty:
            return carbon_frame(pd.DatetimeIndex([], tz="UTC"), [], "average_lifecycle", 60, self.area, "entsoe",
                                pd.DatetimeIndex([], tz="UTC"), True)
        ws = ws[[c for c in ws if c in WEATHER_DEPENDENT]].fillna(0.0).clip(lower=0.0)
        total_mw = total.iloc[:, 0].reindex(ws.index, method="ffill")
        ws_mw = ws.sum(axis=1)
        rest_mw = (total_mw - ws_mw).clip(lower=0.0)
        emitted = ws.mul(_factors(ws.columns, what), axis=1).sum(axis=1) + rest_mw * rest_factor
        generated = ws_mw + rest_mw
        ci = (emitted / generated)[(generated > 0) & total_mw.notna()]
        starts = ci.index.tz_convert("UTC")
        return carbon_frame(starts, ci.to_numpy(), "average_lifecycle", _resolution_min(starts), self.area, "entsoe",
                            pd.DatetimeIndex([now.tz_convert("UTC")] * len(starts)), True)

    def fetch(self, now: pd.Timestamp) -> pd.DataFrame:
        """Measured rows and (when enabled) the day-ahead forecast, as one frame."""
        measured, rest_factor = self.measured(now)
        parts = [measured] + ([self.forecast(now, rest_factor)] if self.with_forecast else [])
        return pd.concat(parts).sort_index(kind="stable")
