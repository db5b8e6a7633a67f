"""The ``[feeds]`` configuration section: provider fetch jobs and the MQTT measurement route."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CARBON_KINDS = ("electricitymaps", "watttime", "entsoe", "gb_carbon")
WEATHER_KINDS = ("openmeteo", "dwd_mosmix")
NEEDS_ZONE = {"electricitymaps", "watttime", "entsoe"}
NEEDS_KEY = {"electricitymaps", "watttime", "entsoe"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class FeedConfig(_Section):
    """One scheduled provider fetch (``[[feeds.source]]``)."""

    id: str = Field(min_length=1)
    kind: Literal["electricitymaps", "watttime", "entsoe", "gb_carbon", "openmeteo", "dwd_mosmix"]
    zone: str = ""  # Electricity Maps zone, WattTime region, ENTSO-E area (entsoe-py code)
    station: str = ""  # DWD MOSMIX station id
    latitude: float | None = Field(None, ge=-90, le=90)  # Open-Meteo; default [site] latitude
    longitude: float | None = Field(None, ge=-180, le=180)
    key_env: str = ""  # environment variable holding the API key / token (WattTime: the password)
    user_env: str = ""  # WattTime: environment variable holding the user name
    base_url: str = ""  # "" = the provider's public endpoint
    interval_s: float = Field(900.0, gt=0)  # fetch period, s (daemon clock)
    max_age_s: float = Field(7200.0, gt=0)  # stale when the newest information is older than this, s
    forecast: bool = True  # also fetch the provider's forecast (Electricity Maps, ENTSO-E)

    @property
    def signal(self) -> str:
        """``carbon`` or ``weather``: the table the feed writes."""
        return "carbon" if self.kind in CARBON_KINDS else "weather"

    @model_validator(mode="after")
    def _complete(self) -> FeedConfig:
        missing = [name for name, needed in (("zone", self.kind in NEEDS_ZONE),
                                             ("key_env", self.kind in NEEDS_KEY),
                                             ("user_env", self.kind == "watttime"),
                                             ("station", self.kind == "dwd_mosmix"))
                   if needed and not getattr(self, name)]
        if missing:
            raise ValueError(f"feed {self.id!r} of kind {self.kind!r} needs {', '.join(missing)}")
        if self.kind == "entsoe" and self.base_url:
            raise ValueError(f"feed {self.id!r}: entsoe-py reads its endpoint from the environment "
                             "variable ENTSOE_ENDPOINT_URL; leave base_url empty")
        return self


class MqttConfig(_Section):
    """Measurements over MQTT (``[feeds.mqtt]``)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username_env: str = ""  # environment variables of the broker login ("" = anonymous)
    password_env: str = ""
    topics: dict[str, str] = Field(default_factory=dict)  # MQTT topic (wildcards allowed) -> series id
    forecast_topics: dict[str, str] = Field(default_factory=dict)  # topic -> [forecast_sources] external series
    max_age_s: float = Field(900.0, gt=0)  # stale when no message arrived for this long, s
    reconnect_s: float = Field(5.0, gt=0)  # wait between connection attempts, s

    @model_validator(mode="after")
    def _topics_when_enabled(self) -> MqttConfig:
        if self.enabled and not (self.topics or self.forecast_topics):
            raise ValueError("mqtt is enabled but no topics (or forecast_topics) are mapped to series ids")
        return self


class FeedsConfig(_Section):
    """Provider feeds and MQTT; nothing is fetched unless a source is listed."""

    timeout_s: float = Field(20.0, gt=0)  # per HTTP request, s
    attempts: int = Field(3, ge=1, le=10)  # tries per fetch, the first included
    backoff_initial_s: float = Field(1.0, ge=0)  # first retry wait (doubles, plus up to 1 s jitter), s
    backoff_max_s: float = Field(60.0, ge=0)  # longest retry wait; a longer Retry-After ends the fetch, s
    source: list[FeedConfig] = Field(default_factory=list)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)

    @model_validator(mode="after")
    def _unique_ids(self) -> FeedsConfig:
        ids = [f.id for f in self.source] + (["mqtt"] if self.mqtt.enabled else [])
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"feed ids must be unique ('mqtt' is taken by [feeds.mqtt]); repeated: {repeated}")
        return self
