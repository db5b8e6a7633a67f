"""Configuration of the live data path: measurements in, and where forecasts come from.

Part of :class:`gridctl.config.Config` (sections ``[measurements]`` and ``[forecast_sources]``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

QUANTITIES = ("p_kw", "ci_kg_per_kwh", "temp_air_c", "ghi_w_m2", "cloud_cover_pct")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class MeasurementsConfig(_Section):
    """Measured series in the store: the grid-connection meter, the API, MQTT (docs/live-data.md)."""

    meter: bool = True
    demo_feed: bool = True
    seed_history: bool = True
    meter_host: str | None = None
    meter_port: int | None = Field(None, ge=1, le=65535)
    meter_unit_id: int | None = Field(None, ge=1, le=247)
    meter_series: str = "grid/meter"
    derived_load_series: str = "derived/inflexible_load"
    carbon_series: str = "carbon"
    weather_series: str = "weather"
    series: dict[str, Literal["p_kw", "ci_kg_per_kwh", "temp_air_c", "ghi_w_m2", "cloud_cover_pct"]] = Field(
        default_factory=dict)
    nonnegative: list[str] = Field(default_factory=list)
    forecast_inputs: dict[str, str] = Field(default_factory=dict)
    future_tolerance_min: float = Field(0.0, ge=0)
    max_gap_h: float = Field(6.0, gt=0)


class ForecastSourcesConfig(_Section):
    """Per forecast series: gridctl's own forecaster or forecasts handed in from outside."""

    external: dict[str, Literal["load_kw", "pv_kw", "ci_kg_per_kwh"]] = Field(default_factory=dict)
    max_age_h: float = Field(24.0, gt=0)
    file: str = ""
    source: dict[Literal["load_kw", "pv_kw", "ci_kg_per_kwh"], Literal["own", "external"]] = Field(
        default_factory=dict)
