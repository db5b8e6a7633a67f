"""Drivers of SunSpec DER devices (models 701 measurement, 702 capacity, 704 controls).

Signs are converted here and nowhere else: SunSpec ``W`` and ``WSet`` are positive when the
device injects (a discharging battery, a producing PV plant); gridctl's battery power is
load-referenced (positive = charging) and PV power generator-referenced.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from adapters.drivers.connection import ModbusHost
from adapters.drivers.errors import DeviceProtocolError
from adapters.drivers.sunspec import SunSpecDriver, Telemetry, now_utc

INV_FAULT, INV_OFF = 6, 0


@cache
def _telemetry_points(control: str, more: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
    """The points a DER's telemetry reads: 701 state and power, the 704 control, ``more``."""
    return ((701, "St"), (701, "InvSt"), (701, "ConnSt"), (701, "Alrm"), (701, "W"),
            (704, control + "Ena"), (704, control), (704, control + "RvrtRem"), *more)


class DerDriver(SunSpecDriver):
    """Common part of battery and PV drivers: rating check, AC measurement, availability."""

    required_models: ClassVar[tuple[int, ...]] = (1, 701, 702, 704)
    control: ClassVar[str]  # prefix of the 704 control this driver writes

    async def release(self) -> None:
        """Hand the device back to its own control: the 704 control disabled."""
        await self.release_control(704, self.control)

    @property
    def rating_kw(self) -> float:
        """The device's own rating (702 ``WMaxRtg``), kW."""
        w = self.value(702, "WMaxRtg")
        if w is None:
            raise DeviceProtocolError(self.device_id, "702 WMaxRtg is not implemented")
        return w / 1000

    async def _read_telemetry(self, more: tuple[tuple[int, str], ...] = ()) -> dict[str, float | None]:
        """The telemetry points and ``more``, the power checked against the rating."""
        values = await self.read_values(_telemetry_points(self.control, more))
        self.plausible_power(values["W"])
        return values

    def _telemetry(self, values: dict, p_kw: float, setpoint_kw: float | None, soc_pct: float | None = None
                   ) -> Telemetry:
        available = (values["ConnSt"] == 1 and values["St"] == 1
                     and values["InvSt"] not in (INV_FAULT, INV_OFF))
        rem = values[self.control + "RvrtRem"]
        return Telemetry(self.device_id, now_utc(), p_kw, available,
                         int(values["Alrm"] or 0), setpoint_kw if values[self.control + "Ena"] == 1 else None,
                         None if rem is None else int(rem), soc_pct)


class BatteryDriver(DerDriver):
    """A SunSpec storage inverter: 701, 702, 704 ``WSet`` and 713 SoC.

    ``safe_p_kw``: the setpoint the battery falls back to when its revert timer expires.
    """

    required_models = (1, 701, 702, 704, 713)
    control = "WSet"

    def __init__(self, host: ModbusHost, unit_id: int, device_id: str, p_max_kw: float | None = None,
                 revert_s: int = 900, safe_p_kw: float = 0.0):
        super().__init__(host, unit_id, device_id, p_max_kw, revert_s)
        self.safe_p_kw = safe_p_kw

    async def read_telemetry(self) -> Telemetry:
        """Power (kW, + = charging), SoC (%), availability, alarms, active setpoint."""
        values = await self._read_telemetry(((713, "SoC"),))
        soc = values["SoC"]
        if soc is None or not 0 <= soc <= 100:
            raise DeviceProtocolError(self.device_id, f"implausible SoC {soc} %; check its scale factors")
        setpoint = values["WSet"]
        return self._telemetry(values, 0.0 - values["W"] / 1000, None if setpoint is None else 0.0 - setpoint / 1000,
                               soc)

    async def write_setpoint(self, p_kw: float) -> float:
        """Command ``p_kw`` (load-referenced: + = charge), arm the revert timer; return the read-back."""
        readback = await self.write_control(704, "WSet", -p_kw * 1000, -self.safe_p_kw * 1000, self.revert_s,
                                            extra_raw={"WSetMod": 1})
        return -readback / 1000


class PvDriver(DerDriver):
    """A SunSpec PV inverter: output capped by 704 ``WMaxLimPct`` (curtailment); the cap is
    lifted when the revert timer expires."""

    control = "WMaxLimPct"

    async def read_telemetry(self) -> Telemetry:
        """Output (kW, generator-referenced), availability, alarms, active output cap."""
        values = await self._read_telemetry(())
        pct = values["WMaxLimPct"]
        cap = None if pct is None else pct / 100 * self.rating_kw
        return self._telemetry(values, values["W"] / 1000, cap)

    async def write_setpoint(self, limit_kw: float) -> float:
        """Cap the output at ``limit_kw``, arm the revert timer (expiry lifts the cap); return the
        read-back cap."""
        pct = 100 * limit_kw / self.rating_kw
        readback = await self.write_control(704, "WMaxLimPct", pct, None, self.revert_s)
        return readback / 100 * self.rating_kw
