"""The district: config, network, asset placement and data, composed from the leaf packages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandapower as pp
import pandas as pd

from adapters.carbon import read_carbon_csv
from adapters.errors import DataError
from adapters.history import check_regular, read_history_csv
from adapters.weather import read_weather_csv
from forecasts.carbon import split_provider_rows
from gridctl.config import BatteryConfig, Config, PvConfig
from gridctl.demo_carbon import derive_carbon_intensity
from gridctl.flexible_loads import PlacedFlexLoad
from gridctl.flexible_loads import place as place_flexible_loads
from gridctl.process_loads import placement_problems as process_placement_problems
from network_models.demo import demo_district
from network_models.formats import is_file_source, source_parts
from network_models.loading import NetworkError, find_element, load_json
from network_models.profiles import element_groups, group_series, raw_profiles, series_kind
from network_models.sources import apply_profile_map, load_converted, simbench_grid
from network_models.validate import base_power_flow, validate_net


@dataclass(frozen=True)
class PlacedBattery:
    """A configured battery with its bus resolved to a net index."""

    cfg: BatteryConfig
    bus: int


@dataclass(frozen=True)
class PlacedPv:
    """A curtailable PV asset: its sgen, the history series it belongs to and its share of it."""

    cfg: PvConfig
    sgen: int
    bus: int
    series_id: str
    share: float


class District:
    """Everything a planning cycle needs about one district, loaded once."""

    def __init__(self, config: Config, net: pp.pandapowerNet):
        self.config = config
        self.net = net
        self.groups = element_groups(net)

    @classmethod
    def load(cls, config: Config) -> District:
        """Load the configured network; raise :class:`NetworkError` with every problem found."""
        net = _load_net(config.network.source, config)
        rules = [(r.table, r.name, r.series) for r in config.network.profile_map]
        problems = apply_profile_map(net, rules) + validate_net(net)
        if not problems:
            problems = base_power_flow(net)
        district = cls(config, net)
        problems += district.placement_problems()
        if problems:
            raise NetworkError(problems)
        return district

    @property
    def notes(self) -> list[str]:
        """Decisions taken when the net was imported (e.g. storage taken out of service)."""
        return list(self.net.get("import_notes", []))

    @property
    def tz(self) -> str:
        return self.config.site.timezone

    @property
    def resolution_min(self) -> int:
        return self.config.site.resolution_min

    def placement_problems(self) -> list[str]:
        """Problems placing configured assets on the net (unknown bus or sgen)."""
        problems = []
        for i, b in enumerate(self.config.assets.battery):
            try:
                find_element(self.net, "bus", b.bus)
            except KeyError as exc:
                problems.append(f"assets.battery.{i}.bus: {exc.args[0]} ({b.id!r}); use a bus index or name of the net")
        for i, p in enumerate(self.config.assets.pv):
            try:
                idx = find_element(self.net, "sgen", p.sgen)
                if idx not in set(self.groups.element[self.groups.table == "sgen"]):
                    problems.append(f"assets.pv.{i}.sgen: sgen {p.sgen!r} is out of service or has no profile")
            except KeyError as exc:
                problems.append(f"assets.pv.{i}.sgen: {exc.args[0]} ({p.id!r}); use an sgen index or name of the net")
        return (problems + place_flexible_loads(self.net, self.groups, self.config.assets)[1]
                + process_placement_problems(self.net, self.config))

    @cached_property
    def batteries(self) -> list[PlacedBattery]:
        return [PlacedBattery(b, find_element(self.net, "bus", b.bus)) for b in self.config.assets.battery]

    @cached_property
    def pv_assets(self) -> list[PlacedPv]:
        out = []
        sgens = self.groups[self.groups.table == "sgen"].set_index("element")
        for p in self.config.assets.pv:
            idx = find_element(self.net, "sgen", p.sgen)
            row = sgens.loc[idx]
            out.append(PlacedPv(p, idx, int(self.net.sgen.bus[idx]), row.series_id, float(row.share)))
        return out

    @cached_property
    def flexible_placement(self) -> tuple[list[PlacedFlexLoad], list[str]]:
        """EV chargers and heat pumps on their load elements, and the problems placing them
        (:func:`gridctl.flexible_loads.place`; found once, as :attr:`batteries`)."""
        return place_flexible_loads(self.net, self.groups, self.config.assets)

    @cached_property
    def load_series(self) -> list[str]:
        return sorted(self.groups.series_id[self.groups.table == "load"].unique())

    @cached_property
    def pv_series(self) -> list[str]:
        """Every local generation series (PV and other kinds; generator-referenced kW)."""
        return sorted(self.groups.series_id[self.groups.table != "load"].unique())

    @cached_property
    def solar_series(self) -> list[str]:
        """The PV series among :attr:`pv_series` (forecast by the PV model)."""
        return [s for s in self.pv_series if series_kind(s) == "pv"]

    def _require_profiles(self, key: str, alternative: str) -> None:
        """Raise DataError when the 'demo' data source is used on a net without SimBench profiles."""
        profiles = self.net.get("profiles")
        if not isinstance(profiles, dict) or not {"load", "renewables"} <= set(profiles):
            raise DataError([f"{key}: 'demo' data needs a SimBench net with profiles; set it to {alternative}"])

    @cached_property
    def history(self) -> pd.DataFrame:
        """Measured power per group series (wide, kW, UTC interval starts)."""
        source = self.config.data.history
        if source == "demo":
            self._require_profiles("data.history", "a history CSV")
            return group_series(self.net)
        return read_history_csv(self.config.resolve(source))

    @cached_property
    def carbon(self) -> pd.DataFrame:
        """Grid carbon intensity, measured and any provider forecasts (canonical in-memory form, see adapters.carbon)."""
        source = self.config.data.carbon
        if source == "demo":
            self._require_profiles("data.carbon", "a carbon-intensity CSV")
            # a national series: the demo district's profiles whatever the grid
            profiles = raw_profiles(self.net if self.config.network.source == "demo" else demo_district())
            return derive_carbon_intensity(profiles["load"], profiles["renewables"])
        return read_carbon_csv(self.config.resolve(source))

    @property
    def measured_carbon(self) -> pd.DataFrame:
        """The measured rows of :attr:`carbon`, one per interval (last issued), sorted."""
        return split_provider_rows(self.carbon)[0]

    @cached_property
    def weather(self) -> pd.DataFrame | None:
        """Weather forecasts (``adapters.weather``) from ``[data] weather``; None when not configured."""
        source = self.config.data.weather
        return read_weather_csv(self.config.resolve(source)) if source else None

    def data_problems(self) -> list[str]:
        """Gaps, NaNs and missing series in history and carbon data (and a weather file's bad rows)."""
        problems = check_regular(self.history, self.resolution_min, "data.history")
        missing = sorted(set(self.groups.series_id) - set(self.history.columns))
        if missing:
            problems.append(f"data.history: no series for {missing[:10]}; every load/PV group of the net needs one")
        signals = self.carbon.signal_type.unique()
        if len(signals) > 1:
            problems.append(f"data.carbon: holds several signal types {sorted(signals)}; give one per file")
        measured = self.measured_carbon[["ci_kg_per_kwh"]]
        problems += check_regular(measured, int(self.carbon.resolution_min.iloc[0]), "data.carbon")
        if self.weather is not None and self.weather.index.max() < self.history.index.min():
            problems.append("data.weather: ends before the history starts; give forecasts for the history's period")
        return problems


def _load_net(source: str, config: Config) -> pp.pandapowerNet:
    if source == "demo":
        return demo_district()
    if source.startswith("simbench:"):
        return simbench_grid(source.split(":", 1)[1])
    if is_file_source(source):
        return load_converted(source, [config.resolve(p) for p in source_parts(source)])
    return load_json(config.resolve(source))
