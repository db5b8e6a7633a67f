"""Async Modbus/SunSpec client drivers: one connection per host, typed errors, revert timers."""

from adapters.drivers.connection import HostPool, ModbusHost, Timing
from adapters.drivers.der import BatteryDriver, PvDriver
from adapters.drivers.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceReadbackMismatch,
    DeviceRejected,
    DeviceTimeout,
    DeviceUnreachable,
)
from adapters.drivers.fleet import poll_all, write_all
from adapters.drivers.flexible import EvChargerDriver, HeatPumpDriver
from adapters.drivers.process_load import ProcessLoadDriver
from adapters.drivers.sunspec import SunSpecDriver, Telemetry

__all__ = [
    "BatteryDriver", "DeviceError", "DeviceProtocolError", "DeviceReadbackMismatch", "DeviceRejected",
    "DeviceTimeout", "DeviceUnreachable", "EvChargerDriver", "HeatPumpDriver", "HostPool", "ModbusHost",
    "ProcessLoadDriver", "PvDriver", "SunSpecDriver", "Telemetry", "Timing", "poll_all", "write_all",
]
