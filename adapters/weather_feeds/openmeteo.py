"""Open-Meteo forecast API through ``openmeteo-requests`` (flatbuffers answers, niquests).

``GET /v1/forecast`` with ``latitude``, ``longitude``, ``hourly=temperature_2m,
shortwave_radiation,cloud_cover`` and ``forecast_days``; no key (a commercial key, when
configured, goes in ``apikey``). ``shortwave_radiation`` is the mean of the preceding hour, so
rows follow :func:`adapters.weather_feeds.hourly.hourly_weather`. The answer does not say when
the model ran: rows are issued at fetch time.
"""

from __future__ import annotations

import niquests
import openmeteo_requests
import pandas as pd

from adapters.providers.http import DEFAULT_POLICY, FeedError, RetryPolicy, call
from adapters.weather_feeds.hourly import hourly_weather

BASE_URL = "https://api.open-meteo.com/v1/forecast"
HOURLY = ["temperature_2m", "shortwave_radiation", "cloud_cover"]


class OpenMeteo:
    """Hourly forecast of temperature, GHI and cloud cover at one location."""

    def __init__(self, latitude: float, longitude: float, *, base_url: str = BASE_URL, api_key: str = "",
                 forecast_days: int = 2, policy: RetryPolicy = DEFAULT_POLICY):
        self.params = {"latitude": latitude, "longitude": longitude, "hourly": HOURLY, "forecast_days": forecast_days,
                       **({"apikey": api_key} if api_key else {})}
        self.url, self.policy = base_url, policy
        self.client = openmeteo_requests.Client(session=niquests.Session())

    def fetch(self, now: pd.Timestamp) -> pd.DataFrame:
        """The weather table of the newest forecast, issued at ``now``."""
        what = f"Open-Meteo ({self.params['latitude']}, {self.params['longitude']})"
        answers = call(lambda: self.client.weather_api(self.url, params=self.params, timeout=self.policy.timeout_s),
                       self.policy, what)
        hourly = answers[0].Hourly() if answers else None
        if hourly is None or hourly.VariablesLength() != len(HOURLY):
            raise FeedError(f"{what}: the answer has no hourly {HOURLY}")
        steps = pd.date_range(pd.Timestamp(hourly.Time(), unit="s", tz="UTC"),
                               pd.Timestamp(hourly.TimeEnd(), unit="s", tz="UTC"),
                               freq=pd.Timedelta(seconds=hourly.Interval()), inclusive="left")
        temp, ghi, cloud = (hourly.Variables(i).ValuesAsNumpy() for i in range(len(HOURLY)))
        # a step is stamped at the end of the hour its irradiance is the mean of
        return hourly_weather(steps, temp, ghi, cloud, now, what)
