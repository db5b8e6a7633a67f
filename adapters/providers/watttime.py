"""WattTime API v3 through the official ``watttime`` client (requests; login token handled by it).

MOER (``co2_moer``, lbs/MWh, 5-minute points) of one region: ``/v3/historical`` for the past
``past_h`` hours (issued at each point's start, as WattTime publishes it in real time) and
``/v3/forecast`` (issued at its ``meta.generated_at``). The ``/v3/signal-index`` percentile is a
rank, not an intensity, so it is not read; the newest historical point is the current MOER.
"""

from __future__ import annotations

import pandas as pd
from watttime import WattTimeForecast, WattTimeHistorical

from adapters.carbon_formats import watttime_frame
from adapters.providers.http import DEFAULT_POLICY, RetryPolicy, bad_data_as_feed_error, call

BASE_URL = "https://api.watttime.org"


class WattTime:
    """MOER history and forecast of one WattTime region (e.g. ``CAISO_NORTH``)."""

    def __init__(self, username: str, password: str, region: str, *, base_url: str = BASE_URL,
                 signal_type: str = "co2_moer", past_h: int = 24, horizon_h: int = 24,
                 policy: RetryPolicy = DEFAULT_POLICY):
        self.region, self.signal_type, self.past_h, self.horizon_h, self.policy = (
            region, signal_type, past_h, horizon_h, policy)
        self.historical = WattTimeHistorical(username=username, password=password)
        self.forecaster = WattTimeForecast(username=username, password=password)
        for client in (self.historical, self.forecaster):
            client.url_base = base_url.rstrip("/")

    def _frame(self, doc: dict, what: str) -> pd.DataFrame:
        with bad_data_as_feed_error():
            return watttime_frame(doc, what)

    def history(self, now: pd.Timestamp) -> pd.DataFrame:
        """MOER of the past ``past_h`` hours."""
        what = f"WattTime historical ({self.region})"
        start = (now - pd.Timedelta(hours=self.past_h)).to_pydatetime()
        docs = call(lambda: self.historical.get_historical_jsons(start, now.to_pydatetime(), self.region,
                                                                 self.signal_type), self.policy, what)
        return pd.concat([self._frame(d, what) for d in docs]).sort_index(kind="stable")

    def forecast(self) -> pd.DataFrame:
        """The newest MOER forecast, ``horizon_h`` hours ahead."""
        what = f"WattTime forecast ({self.region})"
        doc = call(lambda: self.forecaster.get_forecast_json(self.region, self.signal_type,
                                                             horizon_hours=self.horizon_h), self.policy, what)
        return self._frame(doc, what)

    def fetch(self, now: pd.Timestamp) -> pd.DataFrame:
        """History and forecast, as one frame."""
        return pd.concat([self.history(now), self.forecast()]).sort_index(kind="stable")
