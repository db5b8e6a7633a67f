"""GB Carbon Intensity API (National Energy System Operator, https://api.carbonintensity.org.uk),
through httpx; no key.

``GET /intensity/{from}/{to}`` (ISO 8601 ``YYYY-MM-DDThh:mmZ``) answers half-hours
``{"data": [{"from", "to", "intensity": {"forecast", "actual", "index"}}]}`` in gCO2/kWh
(operational emissions of generation: ``average_direct``, zone ``GB``). A half-hour with an
``actual`` is a measured row issued at its end; otherwise its ``forecast`` is a forecast row
issued at fetch time (the API does not say when it was made).
"""

from __future__ import annotations

import httpx
import pandas as pd

from adapters.carbon import UNIT_TO_KG_PER_KWH
from adapters.carbon_formats import carbon_frame
from adapters.providers.http import DEFAULT_POLICY, FeedError, RetryPolicy, get_json, known_points

BASE_URL = "https://api.carbonintensity.org.uk"
RESOLUTION_MIN = 30
STAMP = "%Y-%m-%dT%H:%MZ"


class GBCarbonIntensity:
    """National carbon intensity of Great Britain: the past ``past_h`` hours and ``ahead_h`` ahead."""

    def __init__(self, *, base_url: str = BASE_URL, past_h: int = 24, ahead_h: int = 48,
                 policy: RetryPolicy = DEFAULT_POLICY, client: httpx.Client | None = None):
        self.base_url, self.past_h, self.ahead_h, self.policy = base_url.rstrip("/"), past_h, ahead_h, policy
        self.client = client or httpx.Client(headers={"Accept": "application/json"})

    def fetch(self, now: pd.Timestamp) -> pd.DataFrame:
        """Measured and forecast half-hours around ``now``."""
        now = now.tz_convert("UTC")
        start = (now - pd.Timedelta(hours=self.past_h)).floor("30min").strftime(STAMP)
        end = (now + pd.Timedelta(hours=self.ahead_h)).floor("30min").strftime(STAMP)
        what = "GB Carbon Intensity"
        doc = get_json(self.client, f"{self.base_url}/intensity/{start}/{end}", self.policy, what)
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, list):
            raise FeedError(f"{what}: no 'data' list in the answer")
        intensity = [(r.get("from"), r.get("intensity") or {}) for r in data if isinstance(r, dict)]
        actual = [{"from": t, "value": i.get("actual")} for t, i in intensity]
        forecast = [{"from": t, "value": i.get("forecast") if i.get("actual") is None else None} for t, i in intensity]
        parts = []
        for rows, measured in ((actual, True), (forecast, False)):
            starts, grams = known_points(rows, "from", "value", what)
            issued = starts + pd.Timedelta(minutes=RESOLUTION_MIN) if measured else pd.DatetimeIndex([now] * len(starts))
            parts.append(carbon_frame(starts, grams * UNIT_TO_KG_PER_KWH["g_per_kwh"], "average_direct", RESOLUTION_MIN,
                                      "GB", "gb_carbon_intensity", issued, not measured))
        return pd.concat(parts).sort_index(kind="stable")
