"""The ``[replay]`` section: backtests (``gridctl replay``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReplayConfig(BaseModel):
    """Backtests (``gridctl replay``): decision cadence, AC-check sampling, the control tick, baselines."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    reoptimise_every_min: int = Field(120, ge=0)
    ac_check_every_min: int = Field(60, ge=0)
    cover_forecast_error: bool = False
    track_heat_stores: bool = True
    tick_guard: bool = True
    baselines_apart_days: int = Field(3, ge=0)
    forecasts_apart_days: int = Field(3, ge=0)
    baselines: list[Literal["none", "self-consumption", "perfect-foresight", "perfect-foresight-network"]] = Field(
        default_factory=lambda: ["none", "self-consumption", "perfect-foresight", "perfect-foresight-network"]
    )
