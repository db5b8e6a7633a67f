"""Carbon-intensity forecasts: the provider's own forecast when the data holds one, else a profile model.

Input is the canonical carbon frame (``adapters.carbon``): UTC interval starts, ``ci_kg_per_kwh``,
``signal_type``, ``resolution_min`` and ``issued_at_utc``. Rows issued *before* their interval
starts are provider forecasts; the others are measurements. For each target interval the
forecast is the latest provider row issued before the issue time; intervals without one get the
calendar-and-lag model of :mod:`forecasts.load` trained on the measurements (held constant over
sub-intervals when the data is coarser than ``resolution_min``, never summed). The signal type
(average or marginal) travels with the forecast.
"""

from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd

from forecasts.calendar import issued_before
from forecasts.load import LOAD_SETTINGS, GbmSettings, LoadForecaster

COLUMN = "ci_kg_per_kwh"


class CarbonForecaster:
    """Provider forecasts first, profile model second; ``predict`` gives ``ci_kg_per_kwh`` and ``source``."""

    def __init__(self, timezone: str, resolution_min: int = 15, gate: time = time(12),
                 settings: GbmSettings = LOAD_SETTINGS):
        self.resolution_min = resolution_min
        self.profile = LoadForecaster(timezone, resolution_min, gate, settings=settings)
        self.signal_type: str | None = None
        self._provider: pd.DataFrame | None = None
        self.measured: pd.DataFrame | None = None

    def fit(self, carbon: pd.DataFrame) -> CarbonForecaster:
        """Split provider forecasts from measurements; one signal type per frame."""
        signals = sorted(carbon["signal_type"].unique())
        if len(signals) != 1:
            raise ValueError(f"carbon data holds signal types {signals}; forecast one signal type at a time")
        self.signal_type = signals[0]
        issued = pd.to_datetime(carbon["issued_at_utc"], utc=True)
        is_forecast = (issued < carbon.index).to_numpy()
        self._provider = carbon.loc[is_forecast, [COLUMN, "issued_at_utc"]]
        measured = carbon.loc[~is_forecast, [COLUMN]]
        measured = measured[~measured.index.duplicated(keep="last")].sort_index()
        self.measured = measured.resample(f"{self.resolution_min}min").ffill()
        self.profile.fit(self.measured)
        return self

    def predict(self, issue_time: pd.Timestamp, horizon: pd.DatetimeIndex) -> pd.DataFrame:
        """Intensity (kg/kWh) per interval and where it came from (``provider`` or ``profile``)."""
        if self.signal_type is None:
            raise RuntimeError("CarbonForecaster.predict called before fit")
        issue = pd.DatetimeIndex(np.full(len(horizon), pd.Timestamp(issue_time).value)).tz_localize("UTC")
        provider = issued_before(self._provider, COLUMN, horizon, issue)
        out = pd.DataFrame({COLUMN: provider, "source": "provider"}, index=horizon)
        missing = np.isnan(provider)
        if missing.any():
            profile = self.profile.predict(issue_time, horizon)[COLUMN].to_numpy()
            out.loc[missing, COLUMN] = profile[missing]
            out.loc[missing, "source"] = "profile"
        out.attrs["signal_type"] = self.signal_type
        return out
