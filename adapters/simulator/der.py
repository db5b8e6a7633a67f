"""Common part of simulated SunSpec DER devices: models 701 (measurement) and 702 (capacity)."""

from __future__ import annotations

from adapters.simulator.device import SimulatedDevice

THREE_PHASE, CONNECTED, ON = 2, 1, 1
INV_SLEEPING, INV_RUNNING, INV_THROTTLED, INV_STANDBY = 1, 3, 4, 7


class SimDer(SimulatedDevice):
    """A DER with AC measurement (701) and ratings (702) of ``w_max`` W."""

    def configure_ac(self, w_max: float, ratings: tuple[str, ...] = ("WMaxRtg", "WMax")) -> None:
        """Static 701 points, scale factors for ``w_max`` and the 702 ``ratings`` at ``w_max``."""
        self.set_raw(701, "ACType", THREE_PHASE)
        self.set_raw(701, "ConnSt", CONNECTED)
        self.set_raw(701, "Alrm", 0)
        self.set_sf(701, "W_SF", w_max)
        self.set_raw(701, "TotWh_SF", 0)
        self.set_sf(702, "W_SF", w_max)
        for name in ratings:
            self.set(702, name, w_max)

    def publish_ac(self, w: float, inverter_state: int, wh_injected: float, wh_absorbed: float) -> None:
        """701 measurement: power (SunSpec sign), inverter state, energy counters."""
        self.set_raw(701, "St", ON)
        self.set_raw(701, "InvSt", inverter_state)
        self.set(701, "W", w)
        self.set_raw(701, "TotWhInj", int(wh_injected))
        self.set_raw(701, "TotWhAbs", int(wh_absorbed))
