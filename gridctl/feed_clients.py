"""Provider clients of the configured feeds: one ``fetch(now) -> frame`` per ``[[feeds.source]]``.

Each client module is imported when a feed of its kind is configured, so a daemon without feeds
does not load the provider libraries (entsoe-py, watttime, openmeteo-requests)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from adapters.providers.http import RetryPolicy
from gridctl.config import ConfigError, SiteConfig
from gridctl.feed_config import FeedConfig, FeedsConfig

Fetch = Callable[[pd.Timestamp], pd.DataFrame]


def retry_policy(cfg: FeedsConfig) -> RetryPolicy:
    return RetryPolicy(timeout_s=cfg.timeout_s, attempts=cfg.attempts, wait_initial_s=cfg.backoff_initial_s,
                       wait_max_s=cfg.backoff_max_s)


def secret(feed_id: str, key: str, name: str, env: Mapping[str, str]) -> str:
    """The value of environment variable ``name``; :class:`ConfigError` when it is not set."""
    value = env.get(name, "")
    if not value:
        raise ConfigError([(f"feeds.source.{feed_id}.{key}: environment variable {name!r} is not set; "
                            "export it before starting gridctl")])
    return value


def fetcher(feed: FeedConfig, cfg: FeedsConfig, site: SiteConfig, env: Mapping[str, str]) -> Fetch:
    """The fetch function of one feed (keys read from the environment now)."""
    policy = retry_policy(cfg)
    url = {"base_url": feed.base_url} if feed.base_url else {}
    key = secret(feed.id, "key_env", feed.key_env, env) if feed.key_env else ""
    if feed.kind == "electricitymaps":
        from adapters.providers.electricitymaps import ElectricityMaps
        return ElectricityMaps(key, feed.zone, forecast=feed.forecast, policy=policy, **url).fetch
    if feed.kind == "watttime":
        user = secret(feed.id, "user_env", feed.user_env, env)
        from adapters.providers.watttime import WattTime
        return WattTime(user, key, feed.zone, policy=policy, **url).fetch
    if feed.kind == "entsoe":
        from adapters.providers.entsoe import Entsoe
        return Entsoe(key, feed.zone, forecast=feed.forecast, policy=policy).fetch
    if feed.kind == "gb_carbon":
        from adapters.providers.gb_carbon import GBCarbonIntensity
        return GBCarbonIntensity(policy=policy, **url).fetch
    if feed.kind == "openmeteo":
        lat = site.latitude if feed.latitude is None else feed.latitude
        lon = site.longitude if feed.longitude is None else feed.longitude
        from adapters.weather_feeds.openmeteo import OpenMeteo
        return OpenMeteo(lat, lon, api_key=key, policy=policy, **url).fetch
    from adapters.weather_feeds.dwd_mosmix import DwdMosmix
    return DwdMosmix(feed.station, policy=policy, **url).fetch
