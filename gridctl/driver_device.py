"""The control layer's :class:`~gridctl.control.Device` over the SunSpec drivers of :mod:`adapters.drivers`."""

from __future__ import annotations

from gridctl.control import Telemetry, charger_report


class DriverDevice:
    """:class:`Device` over a SunSpec driver of :mod:`adapters.drivers` (discovers on first use).

    Batteries: ``p_kw`` load-referenced, SoC converted from % to kWh with ``e_max_kwh``.
    PV: ``p_kw`` is the output (generator-referenced) and the setpoint is the output cap.
    EV chargers and heat pumps: session energy (while a vehicle is connected) and store
    temperature from the driver's extra telemetry, when it reports them; process loads: run state,
    seconds in it, energy and starts counters.
    """

    def __init__(self, driver, e_max_kwh: float | None = None):
        self.driver = driver
        self.id = driver.device_id
        self.endpoint = driver.host  # the shared connection (one per host:port, see HostPool)
        self.e_max_kwh = e_max_kwh

    async def _ready(self) -> None:
        if not self.driver.discovered:
            await self.driver.discover()

    async def read(self) -> Telemetry:
        await self._ready()
        t = await self.driver.read_telemetry()
        soc = None if t.soc_pct is None or self.e_max_kwh is None else t.soc_pct / 100 * self.e_max_kwh
        x = t.extra
        process = ((x["running"] == 1, x["state_s"] or 0.0, x["energy_kwh"], int(x["starts"] or 0))
                   if "running" in x else None)
        return Telemetry(t.p_kw, soc, charger_report(x), x.get("temp_c"), process)

    async def write(self, p_kw: float, revert_s: float) -> float:
        await self._ready()
        self.driver.revert_s = int(revert_s)
        return await self.driver.write_setpoint(p_kw)

    async def release(self) -> None:
        await self._ready()
        await self.driver.release()

    async def close(self) -> None:
        """Connections belong to the driver's host pool, closed by its owner."""
