"""Driver of a deferrable process load on the gridctl map 64903 (load-referenced, like gridctl)."""

from __future__ import annotations

from adapters.drivers.errors import DeviceRejected
from adapters.drivers.flexible import FlexibleLoadDriver
from adapters.drivers.sunspec import Telemetry

INTERLOCKED, FAULT = 3, 4  # 64903 St
REFUSED = 4  # Modbus exception of a refused start


class ProcessLoadDriver(FlexibleLoadDriver):
    """A deferrable process load (gridctl map 64903): ``Run`` switches it, ``WSet`` sets its power.

    A start the device refused (Modbus exception, e.g. an active interlock or a trip) is not
    written again until a reading shows the process free to start (neither interlocked nor
    tripped): until then :meth:`write_setpoint` raises :class:`DeviceRejected` without writing.
    """

    model = 64903
    required_models = (1, 64903)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_refused = False

    async def read_telemetry(self) -> Telemetry:
        """Power, run state, interlock, starts and energy counters, seconds in the present state."""
        v = await self._read_telemetry(["Run", "Ilk", "Starts", "StTms", "TotWh", "WMinRtg"])
        if v["St"] not in (INTERLOCKED, FAULT):
            self.start_refused = False
        return self._telemetry(v, {"running": v["Run"], "interlock": v["Ilk"], "starts": v["Starts"],
                                   "state_s": v["StTms"], "energy_kwh": (v["TotWh"] or 0.0) / 1000,
                                   "p_min_kw": (v["WMinRtg"] or 0.0) / 1000})

    def _telemetry(self, values: dict, extra: dict) -> Telemetry:
        t = super()._telemetry(values, extra)
        t.available = values["St"] != FAULT
        return t

    async def write_setpoint(self, p_kw: float) -> float:
        """Run at ``p_kw`` (> 0: ``Run`` = RUN with ``WSet``, one request) or stop (``Run`` = STOP)."""
        if p_kw <= 0:
            point = self.point(self.model, "Run")
            await self.host.write(self.device_id, self.unit_id, point.address, [0])
            await self.refresh([point])
            return 0.0
        if self.start_refused:
            raise DeviceRejected(self.device_id, "start refused before; not retried until the device is free to "
                                 "start", REFUSED)
        try:
            return await self.write_control(self.model, "WSet", p_kw * 1000, None, self.revert_s,
                                            extra_raw={"Run": 1}) / 1000
        except DeviceRejected as exc:
            self.start_refused = exc.code == REFUSED
            raise
