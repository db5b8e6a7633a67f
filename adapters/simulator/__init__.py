"""The Modbus simulator: SunSpec/gridctl register maps, device physics, fault injection."""

from adapters.simulator.battery import BatteryParams, SimBattery
from adapters.simulator.clock import SimClock
from adapters.simulator.device import Refused, SimulatedDevice
from adapters.simulator.ev_charger import EvChargerParams, EvSessionSpec, SimEvCharger
from adapters.simulator.faults import Faults
from adapters.simulator.gateway import Silent
from adapters.simulator.heat_pump import HeatPumpParams, SimHeatPump
from adapters.simulator.meter import MeterParams, SimMeter
from adapters.simulator.process_load import ProcessLoadParams, SimProcessLoad
from adapters.simulator.pv import PvParams, SimPv
from adapters.simulator.server import Simulator

__all__ = [
    "BatteryParams", "EvChargerParams", "EvSessionSpec", "Faults", "HeatPumpParams", "MeterParams",
    "ProcessLoadParams", "PvParams", "Refused", "Silent", "SimBattery", "SimClock", "SimEvCharger", "SimHeatPump",
    "SimMeter", "SimProcessLoad", "SimPv", "SimulatedDevice", "Simulator",
]
