"""Scenario sweeps on Dask: one replay per scenario, scenarios in parallel, days in order within one.

``sweep.toml``::

    periods = [["2016-07-11", "2016-07-12"]]    # replayed periods (default: --start/--end), one axis
    battery_scale = [0.5, 1.0]                  # multiplies every battery's p_max_kw and e_max_kwh

    [config]                                    # any config key (dotted) -> the values to try
    "dispatch.throughput_penalty_per_kwh" = [1e-5, 1e-3]

The grid is the product of all axes; each scenario gives one summary row. Workers load the
network and data once per process and reuse them for every scenario they run.
"""

from __future__ import annotations

import copy
import itertools
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from gridctl.config import ConfigError, parse_config
from gridctl.district import District
from gridctl.forecasting import _FITTED, district_forecasters
from gridctl.replay.cluster import Units, dask_map, progress_reporter
from gridctl.replay.run import CONTROLLER, run_replay

ROW_KEYS = ["emissions_kg", "emissions_adjusted_kg", "baseline_emissions_kg", "baseline_emissions_adjusted_kg",
            "reduction_pct", "perfect_foresight_capture_pct", "network_bound_capture_pct", "peak_import_kw", "ac_violations",
            "unserved_energy_kwh", "decisions", "runtime_s"]
_DISTRICTS: dict[str, District] = {}  # per worker process: loaded network and data by source


@dataclass(frozen=True)
class Scenario:
    """One replay of the grid: period, battery scale and config overrides (dotted key -> value)."""

    start: date
    end: date
    battery_scale: float = 1.0
    overrides: tuple[tuple[str, object], ...] = ()

    @property
    def name(self) -> str:
        parts = [f"{self.start}..{self.end}", f"battery_scale={self.battery_scale:g}"]
        return ",".join(parts + [f"{k}={v}" for k, v in self.overrides])


def read_sweep(path: Path, start: date | None, end: date | None) -> list[Scenario]:
    """The scenarios of ``sweep.toml``; raise :class:`ConfigError` naming the bad key."""
    try:
        spec = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the sweep file ({exc}); give a TOML file"]) from None
    unknown = sorted(set(spec) - {"periods", "battery_scale", "config"})
    if unknown:
        raise ConfigError([f"{path}: unknown keys {unknown}; use periods, battery_scale and [config]"])
    try:
        periods = [(date.fromisoformat(str(a)), date.fromisoformat(str(b))) for a, b in spec.get("periods", [])]
    except (TypeError, ValueError):
        raise ConfigError([f"{path}: periods must be a list of [start, end] dates YYYY-MM-DD"]) from None
    if not periods:
        if start is None or end is None:
            raise ConfigError([f"{path}: no periods; add periods = [[start, end]] or pass --start and --end"])
        periods = [(start, end)]
    scales = spec.get("battery_scale", [1.0])
    axes = spec.get("config", {})
    for key, values in {"battery_scale": scales, **axes}.items():
        if not isinstance(values, list) or not values:
            raise ConfigError([f"{path}: {key} must be a non-empty list of values to try"])
    keys = list(axes)
    return [
        Scenario(p[0], p[1], float(scale), tuple(zip(keys, combo)))
        for p, scale, combo in itertools.product(periods, scales, itertools.product(*axes.values()))
    ]


def scenario_config(base: dict, scenario: Scenario, base_dir: Path):
    """The validated config of ``scenario``: ``base`` (TOML mapping) with its overrides and battery scale."""
    data = copy.deepcopy(base)
    for key, value in scenario.overrides:
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    for battery in data.get("assets", {}).get("battery", []):
        battery["p_max_kw"] = battery["p_max_kw"] * scenario.battery_scale
        battery["e_max_kwh"] = battery["e_max_kwh"] * scenario.battery_scale
    return parse_config(data, base_dir)


def district_with_config(base: District, config) -> District:
    """A district for ``config`` sharing ``base``'s loaded network and data (same sources and site),
    and its trained forecasters when ``[site]`` and ``[forecast]`` are the same too."""
    district = District(config, base.net)
    district.__dict__.update(history=base.history, carbon=base.carbon)  # the cached data, shared
    problems = district.placement_problems()
    if problems:
        raise ConfigError(problems)
    if config.site == base.config.site and config.forecast == base.config.forecast:
        _FITTED[district] = district_forecasters(base)  # same data and settings: the same models
    return district


def worker_district(config) -> District:
    """A district for ``config``, reusing the network and data already loaded in this process."""
    key = config.network.model_dump_json() + config.data.model_dump_json() + config.site.model_dump_json()
    if key not in _DISTRICTS:
        _DISTRICTS[key] = District.load(config)
    return district_with_config(_DISTRICTS[key], config)


def run_scenario(base: dict, base_dir: Path, scenario: Scenario, topic: str | None = None) -> dict:
    """Replay one scenario; return its summary row (in a Dask worker, each day replayed is
    reported on ``topic``)."""
    district = worker_district(scenario_config(base, scenario, base_dir))
    summary = run_replay(district, scenario.start, scenario.end, on_day=progress_reporter(topic)).summary
    row = {"scenario": scenario.name, "start": scenario.start.isoformat(), "end": scenario.end.isoformat(),
           "battery_scale": scenario.battery_scale, **dict(scenario.overrides)}
    row.update({k: summary[k] for k in ROW_KEYS})
    for name, kpis in summary["runs"].items():
        if name != CONTROLLER:
            row[f"{name}.emissions_adjusted_kg"] = kpis["emissions_adjusted_kg"]
    return row


def run_sweep(base: dict, base_dir: Path, scenarios: list[Scenario], scheduler: str | None = None,
              n_workers: int | None = None, progress: bool = False) -> list[dict]:
    """Run ``scenarios`` on a Dask cluster (a new LocalCluster, or the one at ``scheduler``); rows in order."""
    tasks = [(base, base_dir, s) for s in scenarios]
    days = sum((s.end - s.start).days + 1 for s in scenarios)
    return dask_map(run_scenario, tasks, Units(days, "day"), scheduler, n_workers, progress)
