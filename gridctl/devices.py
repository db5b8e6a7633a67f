"""The Modbus layer composed from the config: simulated devices and client drivers per asset.

``adapters`` knows nothing of gridctl; this module maps the Config's assets (and the district's
ratings and history) onto the adapters' plain parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from weakref import WeakKeyDictionary

import pandas as pd

from adapters.drivers import (
    BatteryDriver,
    EvChargerDriver,
    HeatPumpDriver,
    HostPool,
    ModbusHost,
    ProcessLoadDriver,
    PvDriver,
    SunSpecDriver,
)
from adapters.drivers.loopback import LoopbackHost
from adapters.errors import DataError
from adapters.simulator import (
    BatteryParams,
    EvChargerParams,
    EvSessionSpec,
    Faults,
    HeatPumpParams,
    MeterParams,
    ProcessLoadParams,
    PvParams,
    SimBattery,
    SimClock,
    SimEvCharger,
    SimHeatPump,
    SimMeter,
    SimProcessLoad,
    SimPv,
    SimulatedDevice,
    Simulator,
)
from gridctl.config import Config, ConfigError
from gridctl.control import Rating
from gridctl.district import District
from gridctl.flexible_loads import PlacedFlexLoad, ev_params, measured_cop
from gridctl.flexible_loads import place as place_flexible_loads


def simulator_clock(config: Config, now: pd.Timestamp | None = None, speed: float | None = None) -> SimClock:
    """A running clock on the data's time axis: now's UTC month-day-time in ``[daemon] data_year``."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    year = config.daemon.data_year
    if year:
        day = min(now.day, 28) if (now.month, now.day) == (2, 29) else now.day
        now = now.replace(year=year, day=day)
    return SimClock(now, speed=config.daemon.time_scale if speed is None else speed)


def _flexible(district: District) -> list[PlacedFlexLoad]:
    placed, problems = place_flexible_loads(district.net, district.groups, district.config.assets)
    if problems:
        raise ConfigError(problems)
    return placed


def _ev_params(district: District, placed: PlacedFlexLoad) -> EvChargerParams:
    """The simulated charger's parameters: its sessions over the whole history, listed once per
    district and charger (every plant of a replay's runs has the same; the parameters are never changed)."""
    history = district.history
    held = _EV_PARAMS.setdefault(district, {}).get(placed.cfg.id)
    if held is None or held[0] != placed or held[1] is not history:
        held = _EV_PARAMS[district][placed.cfg.id] = (placed, history, _listed_ev_params(district, placed))
    return held[2]


_EV_PARAMS: WeakKeyDictionary[District, dict[str, tuple[PlacedFlexLoad, pd.DataFrame, EvChargerParams]]] = (
    WeakKeyDictionary())


def _listed_ev_params(district: District, placed: PlacedFlexLoad) -> EvChargerParams:
    history = district.history
    step = history.index[1] - history.index[0]
    params = ev_params(placed, history, district.tz, step / timedelta(hours=1))
    ends = history.index.append(pd.DatetimeIndex([history.index[-1] + step]))
    sessions = tuple(EvSessionSpec(ends[s.arrival], ends[s.departure], s.energy_kwh) for s in params.sessions)
    return EvChargerParams(placed.cfg.id, placed.cfg.unit_id, params.p_max_kw, placed.cfg.p_min_kw, sessions)


def _heat_pump_params(district: District, placed: PlacedFlexLoad) -> HeatPumpParams:
    cfg, history = placed.cfg, district.history
    profile = history[placed.series_id] * placed.share
    if cfg.temperature_series is None:
        cop: float | pd.Series = cfg.cop
    elif cfg.temperature_series in history.columns:
        cop = pd.Series(measured_cop(cfg, history), index=history.index)
    else:
        raise DataError([(f"assets.heat_pump.{cfg.id}.temperature_series: {cfg.temperature_series!r} is not a "
                          "history series; add it to the history or remove the key")])
    return HeatPumpParams(cfg.id, cfg.unit_id, placed.p_max_kw, cop, cfg.capacity_kwh_per_k, cfg.temp_min_c,
                          cfg.temp_max_c, cfg.temp_initial_c, cfg.loss_kw_per_k, cfg.ambient_c,
                          heat_demand_kw=profile * cop)


def meter_unit_id(config: Config) -> int:
    """Unit id of the grid-connection meter: ``[measurements] meter_unit_id``, else ``[simulator]``'s."""
    return config.measurements.meter_unit_id or config.simulator.meter_unit_id


def _faults(config: Config) -> dict[str, Faults]:
    ids = {a.id for a in config.assets.all()} | {"meter"}
    unknown = [f"simulator.faults.{k}: no device with this id; use one of {sorted(ids)}"
               for k in config.simulator.faults if k not in ids]
    if unknown:
        raise ConfigError(unknown)
    try:
        return {k: Faults.from_dict(v, f"simulator.faults.{k}") for k, v in config.simulator.faults.items()}
    except DataError as exc:
        raise ConfigError(exc.problems) from None


def simulated_devices(district: District, clock: SimClock) -> list[SimulatedDevice]:
    """Every configured asset as a simulated device, plus the grid-connection meter."""
    config, history, net = district.config, district.history, district.net
    faults = _faults(config)
    devices: list[SimulatedDevice] = [
        SimBattery(BatteryParams(b.id, b.unit_id, b.p_max_kw, b.e_max_kwh, b.soc_min_pct, b.soc_max_pct,
                                 b.soc_initial_pct, b.eta_charge, b.eta_discharge), clock, faults.get(b.id))
        for b in config.assets.battery
    ]
    represented = pd.Series(0.0, index=history.index)  # profile power the simulated devices stand for
    for p in district.pv_assets:
        profile = history[p.series_id] * p.share
        represented -= profile
        devices.append(SimPv(PvParams(p.cfg.id, p.cfg.unit_id, float(net.sgen.p_mw[p.sgen]) * 1000, profile),
                             clock, faults.get(p.cfg.id)))
    for placed in _flexible(district):
        represented += history[placed.series_id] * placed.share
        if placed.kind == "ev_charger":
            devices.append(SimEvCharger(_ev_params(district, placed), clock, faults.get(placed.cfg.id)))
        else:
            devices.append(SimHeatPump(_heat_pump_params(district, placed), clock, faults.get(placed.cfg.id)))
    devices += [SimProcessLoad(ProcessLoadParams(p.id, p.unit_id, p.p_min_kw, p.p_max_kw, p.ramp_s), clock,
                               faults.get(p.id))
                for p in config.assets.process_load]  # loads added to the net: nothing of the profiles
    net_load = history[district.load_series].sum(axis=1) - history[district.pv_series].sum(axis=1)
    base_kw = net_load - represented
    limit_kw = max(config.grid.import_limit_kw, config.grid.export_limit_kw)
    slack = net.ext_grid[net.ext_grid.in_service].iloc[0]  # the meter measures the grid connection bus
    meter = MeterParams("meter", meter_unit_id(config), min(limit_kw, _meter_range_kw(base_kw, devices)),
                        base_kw, v_nom_kv=float(net.bus.vn_kv[slack.bus]), v_pu=float(slack.vm_pu))
    devices.append(SimMeter(meter, clock, list(devices), faults.get("meter")))
    return devices


def _meter_range_kw(base_kw: pd.Series, devices: list[SimulatedDevice]) -> float:
    """Largest |power| the meter can see: the base load with every device at its rating in the
    same direction (drawing, or feeding in)."""
    draw_kw = sum(d.params.p_max_kw for d in devices if not isinstance(d, SimPv))
    feed_kw = sum(d.params.p_max_kw if isinstance(d, SimBattery) else d.params.p_rated_kw
                  for d in devices if isinstance(d, SimBattery | SimPv))
    return max(float(base_kw.max()) + draw_kw, feed_kw - float(base_kw.min()), 1.0)


def _gateway(config: Config, host: str | None, port: int | None) -> tuple[str, int]:
    """The default gateway (``[simulator] host:port``), optionally moved to another host or port."""
    return (host or config.simulator.host, config.simulator.port if port is None else port)


def endpoints(config: Config, host: str | None = None, port: int | None = None) -> dict[str, tuple[str, int]]:
    """(host, port) of every asset's Modbus endpoint by asset id; assets without their own use the
    default gateway, which ``host``/``port`` move (an ephemeral test port, ``gridctl simulate --port``)."""
    gateway = _gateway(config, host, port)
    return {a.id: (a.host or gateway[0], a.port or gateway[1]) for a in config.assets.all()}


def meter_endpoint(config: Config, host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """(host, port) of the grid-connection meter (``[measurements] meter_host/meter_port``)."""
    m, gateway = config.measurements, _gateway(config, host, port)
    return (m.meter_host or gateway[0], m.meter_port or gateway[1])


def simulators(district: District, clock: SimClock, host: str | None = None,
               port: int | None = None) -> list[Simulator]:
    """The configured devices served like the site: one simulator per configured endpoint (the
    default gateway first, with the grid-connection meter unless the meter has its own endpoint)."""
    where = {**endpoints(district.config, host, port), "meter": meter_endpoint(district.config, host, port)}
    gateway = _gateway(district.config, host, port)
    groups: dict[tuple[str, int], list[SimulatedDevice]] = {gateway: []}
    for device in simulated_devices(district, clock):
        groups.setdefault(where[device.id], []).append(device)
    return [Simulator(devices, clock, h, p) for (h, p), devices in groups.items() if devices]


def simulator(district: District, clock: SimClock, host: str | None = None, port: int | None = None) -> Simulator:
    """Every configured device (and the meter) on one port: ``[simulator] host:port`` or the given ones."""
    return Simulator(simulated_devices(district, clock), clock, *_gateway(district.config, host, port))


def drivers(config: Config, pool: HostPool, host: str | None = None, port: int | None = None,
            revert_s: int = 900) -> dict[str, SunSpecDriver]:
    """A driver per configured asset (by asset id) at the asset's endpoint, one shared connection
    per host:port (:class:`HostPool`); ``host``/``port`` move the default gateway."""
    where = endpoints(config, host, port)
    return drivers_on(config, lambda asset_id: pool.get(*where[asset_id]), revert_s)


def drivers_on(config: Config, modbus: ModbusHost | LoopbackHost | Callable[[str], ModbusHost],
               revert_s: int = 900) -> dict[str, SunSpecDriver]:
    """A driver per configured asset (by asset id) behind one Modbus host (or an in-process
    simulator's), or behind ``modbus(asset_id)`` when it is a function."""
    at = modbus if callable(modbus) else (lambda _: modbus)
    out: dict[str, SunSpecDriver] = {}
    for b in config.assets.battery:
        out[b.id] = BatteryDriver(at(b.id), b.unit_id, b.id, p_max_kw=b.p_max_kw, revert_s=revert_s)
    for p in config.assets.pv:
        out[p.id] = PvDriver(at(p.id), p.unit_id, p.id, revert_s=revert_s)
    for e in config.assets.ev_charger:
        out[e.id] = EvChargerDriver(at(e.id), e.unit_id, e.id, p_max_kw=e.p_max_kw, revert_s=revert_s)
    for h in config.assets.heat_pump:
        out[h.id] = HeatPumpDriver(at(h.id), h.unit_id, h.id, p_max_kw=h.p_max_kw, revert_s=revert_s)
    for p in config.assets.process_load:
        out[p.id] = ProcessLoadDriver(at(p.id), p.unit_id, p.id, p_max_kw=p.p_max_kw, revert_s=revert_s)
    return out


def ratings(district: District) -> dict[str, Rating]:
    """Rating of every controllable asset: batteries, curtailable PV (setpoint = output cap), EV
    chargers and heat pumps (no fallback write: their own control takes over)."""
    config = district.config
    out = {b.id: Rating(-b.p_max_kw, b.p_max_kw, b.soc_min_kwh, b.soc_max_kwh) for b in config.assets.battery}
    for p in district.pv_assets:
        rated = float(district.net.sgen.p_mw[p.sgen] * 1000.0)
        out[p.cfg.id] = Rating(0.0, rated, safe_kw=rated)
    for f in _flexible(district):
        out[f.cfg.id] = Rating(0.0, f.p_max_kw, safe_kw=None)
    for p in config.assets.process_load:  # no fallback write: a running process is not cut
        out[p.id] = Rating(0.0, p.p_max_kw, safe_kw=None)
    return out
