"""Typed, validated configuration loaded from TOML.

Every setting has a default, so an empty file is a valid configuration of the
demo district. Unknown keys and wrong types are errors that name the key, the
value given and what is allowed (:class:`ConfigError`).
"""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gridctl.config_charges import DemandCharges
from gridctl.config_live import ForecastSourcesConfig, MeasurementsConfig
from gridctl.config_openadr import OpenAdrConfig
from gridctl.config_process import ProcessGroups, ProcessLoadConfig
from gridctl.config_replay import ReplayConfig
from gridctl.feed_config import FeedsConfig
from gridctl.ledger.config import LedgerConfig
from network_models.formats import is_file_source

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.toml"


class ConfigError(Exception):
    """A configuration problem; ``problems`` holds one human-readable line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SiteConfig(_Section):
    name: str = "demo-district"
    timezone: str = "Europe/Berlin"
    resolution_min: Literal[5, 10, 15, 30, 60] = 15
    latitude: float = Field(53.59, ge=-90, le=90)
    longitude: float = Field(11.45, ge=-180, le=180)
    country: str = "DE"
    gate_time: time = time(12, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}; use e.g. 'Europe/Berlin'") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ProfileRule(_Section):
    """Elements of ``table`` whose name (or index) matches the glob ``name`` share the group series ``series``."""

    table: Literal["load", "sgen", "gen"]
    name: str = "*"
    series: str


class NetworkConfig(_Section):
    source: str = "demo"
    profile_map: list[ProfileRule] = Field(default_factory=list)
    v_min_pu: float = Field(0.95, gt=0.5, lt=1.0)
    v_max_pu: float = Field(1.05, gt=1.0, lt=1.5)
    max_loading_pct: float = Field(100.0, gt=0, le=200)
    constrain_dispatch: bool = True
    method: Literal["sensitivity", "lindistflow"] = "sensitivity"
    thermal_margin_pct: float = Field(2.0, ge=0, lt=50)
    ac_rounds: int = Field(4, ge=1, le=20)
    recentre_h: float = Field(3.0, ge=0, le=24)

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value == "demo" or value.startswith("simbench:") or value.endswith(".json") or is_file_source(value):
            return value
        raise ValueError(
            f"{value!r} is not a network source; use 'demo', 'simbench:<code>', a pandapower .json file, "
            "a MATPOWER case (.m, .mat) or CGMES files (.zip/.xml, several joined by ';')"
        )


class DataConfig(_Section):
    history: str = "demo"
    carbon: str = "demo"
    weather: str = ""


class GridConfig(_Section):
    import_limit_kw: float = Field(60_000.0, gt=0)
    export_limit_kw: float = Field(60_000.0, ge=0)


DEMO_TARIFF = (0.22,) * 6 + (0.30,) * 11 + (0.38,) * 4 + (0.30,) + (0.22,) * 2  # demo time-of-use tariff by local hour


class DispatchConfig(_Section):
    objective: Literal["emissions", "cost", "blend"] = "emissions"
    curtailment_penalty_per_kwh: float = Field(1e-4, ge=0)
    throughput_penalty_per_kwh: float = Field(1e-5, ge=0)
    time_limit_s: float = Field(30.0, gt=0)
    mip_gap: float = Field(1e-4, ge=0, lt=1)
    recommit_h: float = Field(6.0, ge=0, le=48)
    battery_binary: bool = False
    import_price_per_kwh: float | list[float] = Field(default_factory=lambda: list(DEMO_TARIFF))
    export_price_per_kwh: float = Field(0.08, ge=0)
    export_credit_factor: float = Field(0.0, ge=0, le=1)
    carbon_price_per_kg: float = Field(0.1, ge=0)
    peak_charge_per_kw: float = Field(0.0, ge=0)
    lookahead_h: float = Field(24.0, ge=0, le=48)
    peak_cap: Literal["baseline", "limit"] = "baseline"
    demand_charges: DemandCharges = Field(default_factory=list)
    load_quantile: float = Field(0.9, ge=0.5, lt=1.0)
    headroom_days: int = Field(14, ge=0, le=60)
    heat_store_margin: bool = True
    heat_store_day_end_cap: bool = True
    carbon_risk_k: float = Field(0.0, ge=0, le=5)

    @field_validator("import_price_per_kwh")
    @classmethod
    def _hourly(cls, value: float | list[float]) -> float | list[float]:
        if isinstance(value, list) and len(value) != 24:
            raise ValueError(f"give one price or 24 hourly prices (local hours 0-23), not {len(value)}")
        return value

    def hourly_import_price(self) -> list[float]:
        """The import price of each local hour 0-23 (currency per kWh)."""
        return list(p) if isinstance(p := self.import_price_per_kwh, list) else [p] * 24


class StoreConfig(_Section):
    url: str = "sqlite:///var/gridctl.sqlite"
    retention_days: float = Field(90.0, gt=0)
    journal: str = "var/journal.sqlite"
    journal_max_records: int = Field(200_000, ge=100)
    connect_timeout_s: float = Field(3.0, gt=0)
    statement_timeout_s: float = Field(5.0, gt=0)
    sqlite_busy_timeout_s: float = Field(1.0, gt=0)


class SimulatorConfig(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(5020, ge=1, le=65535)
    meter_unit_id: int = Field(100, ge=1, le=247)
    faults: dict[str, dict[str, bool | int | float]] = Field(default_factory=dict)


class ApiConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(65_536, ge=1024)
    docs: bool = False


class ForecastConfig(_Section):
    """Forecast models (docs/forecasts.md) and the PV plant model."""

    holiday_subdivision: str = ""
    min_history_days: int = Field(28, ge=8)
    retrain_days: int = Field(14, ge=1)
    max_iter: int = Field(150, ge=10, le=2000)
    learning_rate: float = Field(0.1, gt=0, le=1)
    threads: int = Field(0, ge=0, le=1024)
    carbon_provider: bool = True
    pv_tilt_deg: float = Field(30.0, ge=0, le=90)
    pv_azimuth_deg: float = Field(180.0, ge=0, lt=360)
    pv_losses_pct: float = Field(14.0, ge=0, lt=100)
    pv_kwp: dict[str, float] = Field(default_factory=dict)


class DaemonConfig(_Section):
    """Scheduling of ``gridctl run`` (seconds are seconds of the daemon's clock)."""

    telemetry_s: float = Field(10.0, gt=0)
    intraday_lead_s: float = Field(120.0, ge=0)
    misfire_grace_s: float = Field(60.0, gt=0)
    watchdog_s: float = Field(1800.0, gt=0)
    retry_base_s: float = Field(5.0, gt=0)
    retry_max_s: float = Field(300.0, gt=0)
    offline_after: int = Field(3, ge=1)
    ramp_pct_per_s: float = Field(10.0, gt=0)
    data_year: int = Field(2016, ge=0)
    time_scale: float = Field(1.0, gt=0)
    log_json: bool = False


class EndpointConfig(_Section):
    """Where a device answers: Modbus TCP ``host``:``port`` (default: the ``[simulator]`` gateway)."""

    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)


class BatteryConfig(EndpointConfig):
    """A controllable battery, created at a bus of the net."""

    id: str
    bus: int | str
    p_max_kw: float = Field(gt=0)
    e_max_kwh: float = Field(gt=0)
    soc_min_pct: float = Field(10.0, ge=0, le=100)
    soc_max_pct: float = Field(95.0, ge=0, le=100)
    soc_initial_pct: float = Field(50.0, ge=0, le=100)
    eta_charge: float = Field(0.95, gt=0, le=1)
    eta_discharge: float = Field(0.95, gt=0, le=1)
    unit_id: int = Field(1, ge=1, le=247)
    terminal_value_per_kwh: float | None = Field(None, ge=0)
    degradation_cost_per_kwh: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _soc_order(self) -> BatteryConfig:
        if not self.soc_min_pct <= self.soc_initial_pct <= self.soc_max_pct:
            raise ValueError(
                f"battery {self.id!r}: need soc_min_pct <= soc_initial_pct <= soc_max_pct, got "
                f"{self.soc_min_pct} / {self.soc_initial_pct} / {self.soc_max_pct}"
            )
        return self

    @property
    def soc_min_kwh(self) -> float:
        return self.e_max_kwh * self.soc_min_pct / 100

    @property
    def soc_max_kwh(self) -> float:
        return self.e_max_kwh * self.soc_max_pct / 100

    @property
    def soc_initial_kwh(self) -> float:
        return self.e_max_kwh * self.soc_initial_pct / 100


class PvConfig(EndpointConfig):
    """A curtailable PV plant: an existing static generator of the net."""

    id: str
    sgen: int | str
    unit_id: int = Field(ge=1, le=247)


class EvSessionConfig(_Section):
    """A daily charging session at local times (departure at or before arrival: the next day)."""

    arrival: time
    departure: time
    energy_kwh: float = Field(gt=0)


class EvChargerConfig(EndpointConfig):
    """A controllable charging point replacing the profile of an existing load of the net."""

    id: str
    load: int | str
    unit_id: int = Field(ge=1, le=247)
    p_max_kw: float | None = Field(None, gt=0)
    p_min_kw: float = Field(0.0, ge=0)
    sessions: list[EvSessionConfig] = Field(default_factory=list)
    dwell_h: float = Field(8.0, gt=0)
    merge_gap_min: int = Field(60, ge=0)


class HeatPumpConfig(EndpointConfig):
    """A controllable heat pump replacing the profile of an existing load of the net."""

    id: str
    load: int | str
    unit_id: int = Field(ge=1, le=247)
    p_max_kw: float | None = Field(None, gt=0)
    cop: float = Field(3.0, ge=1)
    temperature_series: str | None = None
    sink_temp_c: float = 45.0
    carnot_efficiency: float = Field(0.45, gt=0, le=1)
    capacity_kwh_per_k: float = Field(2.0, gt=0)
    temp_min_c: float = 40.0
    temp_max_c: float = 55.0
    temp_initial_c: float = 47.5
    loss_kw_per_k: float = Field(0.005, ge=0)
    ambient_c: float = 15.0

    @model_validator(mode="after")
    def _band_order(self) -> HeatPumpConfig:
        if not self.temp_min_c <= self.temp_initial_c <= self.temp_max_c:
            raise ValueError(
                f"heat pump {self.id!r}: need temp_min_c <= temp_initial_c <= temp_max_c, got "
                f"{self.temp_min_c} / {self.temp_initial_c} / {self.temp_max_c}"
            )
        return self


class AssetsConfig(_Section):
    battery: list[BatteryConfig] = Field(default_factory=list)
    pv: list[PvConfig] = Field(default_factory=list)
    ev_charger: list[EvChargerConfig] = Field(default_factory=list)
    heat_pump: list[HeatPumpConfig] = Field(default_factory=list)
    process_load: list[ProcessLoadConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> AssetsConfig:
        dup = sorted(k for k, n in Counter(a.id for a in self.all()).items() if n > 1)
        if dup:
            raise ValueError(f"duplicate asset ids {dup}; every asset needs a unique id")
        return self

    def all(self) -> list[BatteryConfig | PvConfig | EvChargerConfig | HeatPumpConfig | ProcessLoadConfig]:
        """Every configured asset, batteries first."""
        return [*self.battery, *self.pv, *self.ev_charger, *self.heat_pump, *self.process_load]


class Config(ProcessGroups):
    site: SiteConfig = Field(default_factory=SiteConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    grid: GridConfig = Field(default_factory=GridConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    simulator: SimulatorConfig = Field(default_factory=SimulatorConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    replay: ReplayConfig = Field(default_factory=ReplayConfig)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    assets: AssetsConfig = Field(default_factory=AssetsConfig)
    measurements: MeasurementsConfig = Field(default_factory=MeasurementsConfig)
    forecast_sources: ForecastSourcesConfig = Field(default_factory=ForecastSourcesConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    openadr: OpenAdrConfig = Field(default_factory=OpenAdrConfig)
    base_dir: Path = Field(default=Path("."), exclude=True)

    def endpoint(self, asset: EndpointConfig) -> tuple[str, int]:
        """(host, port) of an asset's Modbus TCP endpoint: its own, else the ``[simulator]`` gateway's."""
        return (asset.host or self.simulator.host, asset.port or self.simulator.port)

    @model_validator(mode="after")
    def _unique_units(self) -> Config:
        units: dict[tuple[str, int, int], str] = {}
        for asset in self.assets.all():
            host, port = self.endpoint(asset)
            key = (host, port, asset.unit_id)
            if key in units:
                raise ValueError(
                    f"unit_id {asset.unit_id} at {host}:{port} used by both {units[key]!r} and "
                    f"{asset.id!r}; give each device behind one endpoint its own Modbus unit id"
                )
            units[key] = asset.id
        return self

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path from the config relative to the config file's folder."""
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p


def _format_error(err: dict) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key (value {err['input']!r}); remove it or check its spelling"
    if err["type"] == "missing":
        return f"{key}: required key is missing; add it"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{key}: {msg} (got {err['input']!r})" if err["loc"] else msg  # top level: the message names its keys


def parse_config(data: dict, base_dir: Path = Path(".")) -> Config:
    """Validate a config mapping; raise :class:`ConfigError` listing every problem."""
    try:
        return Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError([_format_error(e) for e in exc.errors()]) from None


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a TOML config file (the embedded default when ``path`` is None)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    if not path.is_file():
        raise ConfigError([f"{path}: config file not found; pass --config PATH to an existing file"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc}); fix the syntax"]) from None
    return parse_config(data, base_dir=path.resolve().parent)
