"""Which carbon-intensity and weather sources a plan may use, given the freshness of the feeds.

The rule: provider rows (forecasts a provider issued) are used while at least one carbon feed
is fresh; when every configured carbon feed is stale beyond its ``max_age_s``, forecasts fall
back to the profile model. Without carbon feeds, the provider rows of ``[data] carbon`` are used
as before. ``[forecast] carbon_provider = false`` always means the profile model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class CarbonSource:
    """``provider``: provider forecasts may be used; ``reason``: why, for the plan record."""

    provider: bool
    reason: str

    @property
    def name(self) -> str:
        return "provider" if self.provider else "profile"


def _stale_ages(feeds: Mapping[str, Mapping], signal: str) -> tuple[dict[str, Mapping], list[str], str]:
    """(the feeds of ``signal``, the fresh ones, the ages of all)."""
    of = {k: v for k, v in feeds.items() if v.get("signal") == signal}
    fresh = sorted(k for k, v in of.items() if not v["stale"])
    ages = ", ".join(f"{k} {v['age_s']:.0f} s > {v['max_age_s']:.0f} s" for k, v in sorted(of.items()))
    return of, fresh, ages


def carbon_source(feeds: Mapping[str, Mapping], use_provider: bool = True) -> CarbonSource:
    """Decide from feed states (``FeedManager.status()``: ``signal``, ``stale``, ``age_s``, ``max_age_s``)."""
    if not use_provider:
        return CarbonSource(False, "[forecast] carbon_provider = false")
    carbon, fresh, ages = _stale_ages(feeds, "carbon")
    if not carbon:
        return CarbonSource(True, "no carbon feed configured: provider rows of [data] carbon")
    if fresh:
        return CarbonSource(True, f"carbon feed {', '.join(fresh)} fresh")
    return CarbonSource(False, f"every carbon feed is stale ({ages}): profile model")


@dataclass(frozen=True)
class WeatherSource:
    """``weather``: the load and PV forecasters may use weather forecasts; ``reason``: why, for the plan record."""

    weather: bool
    reason: str

    def as_dict(self) -> dict:
        return {"source": "weather" if self.weather else "no_weather", "reason": self.reason}


def weather_source(feeds: Mapping[str, Mapping]) -> WeatherSource:
    """Weather forecasts are used while a weather feed is fresh (or none is configured: the
    configured table and the stored forecasts); when every weather feed is stale, the load model
    forecasts from calendar and recent load and the PV model from clear-sky output and recent
    output, without weather features."""
    weather, fresh, ages = _stale_ages(feeds, "weather")
    if not weather:
        return WeatherSource(True, "no weather feed configured: [data] weather and the stored weather forecasts")
    if fresh:
        return WeatherSource(True, f"weather feed {', '.join(fresh)} fresh")
    return WeatherSource(False, f"every weather feed is stale ({ages}): load and PV forecasts without weather "
                                "features (calendar, recent values, clear-sky output)")
