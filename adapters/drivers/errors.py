"""Typed device errors a daemon can act on: retry later, mark unavailable, alert or stop."""

from __future__ import annotations


class DeviceError(Exception):
    """Any failure talking to a device; ``device_id`` names it."""

    def __init__(self, device_id: str, message: str):
        self.device_id = device_id
        super().__init__(f"{device_id}: {message}")


class DeviceTimeout(DeviceError):
    """No (valid) answer within the configured time bound, or a gateway reports that the device
    failed to respond (exception 11): retry later, treat as unavailable."""


class DeviceUnreachable(DeviceError):
    """The TCP connection cannot be opened (host down, wrong address/port) or closes before the
    answer; or a gateway reports the path to the device unavailable (exception 10)."""


class DeviceRejected(DeviceError):
    """The device answered with a Modbus exception (``code``), e.g. 3 = illegal data value."""

    def __init__(self, device_id: str, message: str, code: int):
        self.code = code
        super().__init__(device_id, f"{message} (Modbus exception {code})")


class DeviceProtocolError(DeviceError):
    """A malformed, unexpected or implausible answer: wrong map, wrong scale factor, bad data."""


class DeviceReadbackMismatch(DeviceError):
    """A setpoint was accepted but reads back different from what was written."""
