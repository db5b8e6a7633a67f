"""Which carbon-intensity source a plan may use, given the freshness of the carbon feeds.

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


def carbon_source(feeds: Mapping[str, Mapping], use_provider: bool = True) -> CarbonSource:
    """Decide from feed states (``FeedManager.status()``: ``signal``, ``stale``, ``age_s``, ``max_age_s``)."""
    if not use_provider:
        return CarbonSource(False, "[forecast] carbon_provider = false")
    carbon = {k: v for k, v in feeds.items() if v.get("signal") == "carbon"}
    if not carbon:
        return CarbonSource(True, "no carbon feed configured: provider rows of [data] carbon")
    fresh = sorted(k for k, v in carbon.items() if not v["stale"])
    if fresh:
        return CarbonSource(True, f"carbon feed {', '.join(fresh)} fresh")
    ages = ", ".join(f"{k} {v['age_s']:.0f} s > {v['max_age_s']:.0f} s" for k, v in sorted(carbon.items()))
    return CarbonSource(False, f"every carbon feed is stale ({ages}): profile model")
