"""Drivers of EV charging points and heat pumps on the gridctl maps 64901 and 64902.

Both maps are load-referenced (positive = consuming), like gridctl, so no sign changes here.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.drivers.connection import ModbusHost
from adapters.drivers.errors import DeviceReadbackMismatch
from adapters.drivers.sunspec import SunSpecDriver, Telemetry, now_utc

FAULT = 3
SG_READY_STATES = (1, 2, 3, 4)


class FlexibleLoadDriver(SunSpecDriver):
    """A load with a revertable ``WSet`` control in a gridctl vendor model.

    ``safe_p_kw``: the setpoint applied when the revert timer expires; None (default) hands the
    device back to its own logic (uncontrolled charging, SG-Ready state).
    """

    model: ClassVar[int]

    def __init__(self, host: ModbusHost, unit_id: int, device_id: str, p_max_kw: float | None = None,
                 revert_s: int = 900, safe_p_kw: float | None = None):
        super().__init__(host, unit_id, device_id, p_max_kw, revert_s)
        self.safe_p_kw = safe_p_kw

    @property
    def rating_kw(self) -> float:
        return (self.value(self.model, "WMaxRtg") or 0.0) / 1000

    async def _read_telemetry(self, names: list[str]) -> dict[str, float | None]:
        values = await self.read_values((self.model, n) for n in
                                        ["St", "Alrm", "W", "WSetEna", "WSet", "WSetRvrtRem", *names])
        self.plausible_power(values["W"])
        return values

    def _telemetry(self, values: dict, extra: dict) -> Telemetry:
        rem = values["WSetRvrtRem"]
        return Telemetry(self.device_id, now_utc(), values["W"] / 1000, values["St"] != FAULT,
                         int(values["Alrm"] or 0), values["WSet"] / 1000 if values["WSetEna"] == 1 else None,
                         None if rem is None else int(rem), extra=extra)

    async def release(self) -> None:
        """Hand the device back to its own logic: ``WSetEna`` = 0."""
        await self.release_control(self.model, "WSet")

    async def write_setpoint(self, p_kw: float) -> float:
        """Command ``p_kw`` (+ = consuming), arm the revert timer; return the read-back."""
        safe = None if self.safe_p_kw is None else self.safe_p_kw * 1000
        return await self.write_control(self.model, "WSet", p_kw * 1000, safe, self.revert_s) / 1000


class EvChargerDriver(FlexibleLoadDriver):
    """An EV charging point (gridctl map 64901)."""

    model = 64901
    required_models = (1, 64901)

    async def read_telemetry(self) -> Telemetry:
        """Charging power, session state: connected, delivered and requested energy, departure."""
        v = await self._read_telemetry(["Conn", "SessWh", "SessReqWh", "DepRem", "WMinRtg"])
        return self._telemetry(v, {"connected": v["Conn"], "session_kwh": v["SessWh"] / 1000,
                                   "request_kwh": v["SessReqWh"] / 1000, "departure_s": v["DepRem"],
                                   "p_min_kw": (v["WMinRtg"] or 0.0) / 1000})


class HeatPumpDriver(FlexibleLoadDriver):
    """A heat pump with a heat store (gridctl map 64902)."""

    model = 64902
    required_models = (1, 64902)

    async def read_telemetry(self) -> Telemetry:
        """Electrical power, store temperature and SG-Ready state."""
        v = await self._read_telemetry(["TmpSto", "SGReady"])
        return self._telemetry(v, {"temp_c": v["TmpSto"], "sg_ready": v["SGReady"]})

    async def write_sg_ready(self, state: int) -> int:
        """Set the SG-Ready state (1 blocked, 2 normal, 3 recommended on, 4 forced on)."""
        if state not in SG_READY_STATES:
            raise ValueError(f"{self.device_id}: SG-Ready state {state!r}; use one of {SG_READY_STATES}")
        point = self.point(self.model, "SGReady")
        await self.host.write(self.device_id, self.unit_id, point.address, [state])
        readback = (await self.read_values([(self.model, "SGReady")]))["SGReady"]
        if readback != state:
            raise DeviceReadbackMismatch(self.device_id, f"SGReady written {state}, reads back {readback}")
        return int(readback)
