"""Common part of simulated SunSpec DER devices: models 701 (measurement) and 702 (capacity).

702 ``WMax`` (writable, 0 .. ``WMaxRtg``) caps the device's power in both directions; 704
percentages are of ``WMax``. The ``alarm`` fault latches an over-temperature alarm (701
``Alrm`` bit 7): the inverter trips (no power, ``InvSt`` FAULT) until the alarm is reset.
"""

from __future__ import annotations

from adapters.simulator.device import SimulatedDevice

THREE_PHASE, DISCONNECTED, CONNECTED, ON = 2, 0, 1, 1
INV_OFF, INV_SLEEPING, INV_RUNNING, INV_THROTTLED, INV_FAULT, INV_STANDBY = 0, 1, 3, 4, 6, 7
ALARM_OVER_TEMP = 1 << 7  # 701 Alrm


class SimDer(SimulatedDevice):
    """A DER with AC measurement (701) and ratings (702) of ``w_max`` W."""

    w_max_w: float = 0.0  # 702 WMax as last written

    def configure_ac(self, w_max: float, ratings: tuple[str, ...] = ("WMaxRtg", "WMax")) -> None:
        """Static 701 points, scale factors for ``w_max`` and the 702 ``ratings`` at ``w_max``."""
        self.set_raw(701, "ACType", THREE_PHASE)
        self.set_sf(701, "W_SF", w_max)
        self.set_raw(701, "TotWh_SF", 0)
        self.set_sf(702, "W_SF", w_max)
        for name in ratings:
            self.set(702, name, w_max)
        self.limit(702, "WMax", 0, w_max)
        self.w_max_w = w_max

    def applied(self, names: set[str]) -> None:
        if "WMax" in names:
            self.w_max_w = self.get(702, "WMax")

    @property
    def tripped(self) -> bool:
        """An alarm is latched: the inverter delivers no power."""
        return self.faults.alarm

    def connected(self) -> bool:
        """Whether the device is connected to the grid (701 ``ConnSt``)."""
        return True

    def publish_ac(self, w: float, inverter_state: int, wh_injected: float, wh_absorbed: float) -> None:
        """701 measurement: power (SunSpec sign), inverter state, alarms, energy counters."""
        self.set_raw(701, "St", ON)
        self.set_raw(701, "ConnSt", CONNECTED if self.connected() else DISCONNECTED)
        self.set_raw(701, "Alrm", ALARM_OVER_TEMP if self.tripped else 0)
        self.set_raw(701, "InvSt", INV_FAULT if self.tripped else inverter_state)
        self.set(701, "W", w)
        self.set_raw(701, "TotWhInj", int(wh_injected))
        self.set_raw(701, "TotWhAbs", int(wh_absorbed))
