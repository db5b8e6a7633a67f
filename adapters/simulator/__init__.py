"""The Modbus simulator: SunSpec/gridctl register maps, device physics, fault injection."""

from adapters.simulator.battery import BatteryParams, SimBattery
from adapters.simulator.clock import SimClock
from adapters.simulator.device import Refused, SimulatedDevice
from adapters.simulator.faults import Faults
from adapters.simulator.pv import PvParams, SimPv
from adapters.simulator.server import Simulator

__all__ = [
    "BatteryParams", "Faults", "PvParams", "Refused", "SimBattery", "SimClock", "SimPv",
    "SimulatedDevice", "Simulator",
]
