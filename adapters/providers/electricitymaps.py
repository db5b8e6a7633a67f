"""Electricity Maps API v3 (https://api.electricitymap.org/v3), through httpx.

Endpoints: ``carbon-intensity/latest``, ``/history`` (the past 24 hours) and ``/forecast``
(paid plans), with ``zone`` and ``emissionFactorType`` (``lifecycle`` or ``direct``), the
token in the ``auth-token`` header. Values are gCO2eq/kWh, hourly. Measured rows are issued at
their interval's end (when the hour is over), forecast rows at the answer's ``updatedAt``.
Hours with ``carbonIntensity: null`` are left out.
"""

from __future__ import annotations

import httpx
import pandas as pd

from adapters.carbon import UNIT_TO_KG_PER_KWH
from adapters.carbon_formats import carbon_frame
from adapters.providers.http import DEFAULT_POLICY, FeedError, RetryPolicy, get_json, known_points

BASE_URL = "https://api.electricitymap.org/v3"
SIGNAL_TYPES = {"lifecycle": "average_lifecycle", "direct": "average_direct"}
RESOLUTION_MIN = 60


class ElectricityMaps:
    """Carbon intensity of one zone (e.g. ``DE``)."""

    def __init__(self, token: str, zone: str, *, base_url: str = BASE_URL, emission_factor_type: str = "lifecycle",
                 forecast: bool = True, policy: RetryPolicy = DEFAULT_POLICY, client: httpx.Client | None = None):
        if emission_factor_type not in SIGNAL_TYPES:
            raise ValueError(f"emission_factor_type must be one of {sorted(SIGNAL_TYPES)}")
        self.zone, self.factor_type, self.with_forecast, self.policy = zone, emission_factor_type, forecast, policy
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(headers={"auth-token": token})
        if client is not None:
            self.client.headers["auth-token"] = token

    def _get(self, endpoint: str) -> dict:
        doc = get_json(self.client, f"{self.base_url}/carbon-intensity/{endpoint}", self.policy,
                       f"Electricity Maps {endpoint} ({self.zone})",
                       params={"zone": self.zone, "emissionFactorType": self.factor_type})
        if not isinstance(doc, dict):
            raise FeedError(f"Electricity Maps {endpoint} ({self.zone}): answer is not a JSON object")
        return doc

    def _rows(self, rows: list, what: str, forecast_issued: pd.Timestamp | None) -> pd.DataFrame:
        source = f"Electricity Maps {what} ({self.zone})"
        starts, grams = known_points(rows, "datetime", "carbonIntensity", source)
        known = [r for r in rows if isinstance(r, dict) and r.get("carbonIntensity") is not None]
        if forecast_issued is None:
            issued, estimated = starts + pd.Timedelta(minutes=RESOLUTION_MIN), [bool(r.get("isEstimated")) for r in known]
        else:
            issued, estimated = pd.DatetimeIndex([forecast_issued] * len(starts)), True
        return carbon_frame(starts, grams * UNIT_TO_KG_PER_KWH["g_per_kwh"], SIGNAL_TYPES[self.factor_type],
                            RESOLUTION_MIN, self.zone, "electricitymaps", issued, estimated)

    def latest(self) -> pd.DataFrame:
        """The current hour's value (one row)."""
        return self._rows([self._get("latest")], "latest", None)

    def history(self) -> pd.DataFrame:
        """The past 24 hours."""
        return self._rows(self._get("history").get("history"), "history", None)

    def forecast(self, now: pd.Timestamp) -> pd.DataFrame:
        """The provider's forecast, issued at its ``updatedAt`` (``now`` when the answer has none)."""
        doc = self._get("forecast")
        updated = doc.get("updatedAt")
        issued = pd.Timestamp(updated).tz_convert("UTC") if updated else now
        return self._rows(doc.get("forecast"), "forecast", issued)

    def fetch(self, now: pd.Timestamp) -> pd.DataFrame:
        """History and (when enabled) forecast rows, as one frame."""
        parts = [self.history()] + ([self.forecast(now)] if self.with_forecast else [])
        return pd.concat(parts).sort_index(kind="stable")
