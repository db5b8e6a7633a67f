"""The grid-connection meter: interval means from its energy counters, and the derived inflexible load.

SunSpec model 203 counts imported (``TotWhImp``) and exported (``TotWhExp``) energy. The mean
net import of an interval is the change of ``import - export`` between its boundaries divided
by its length; the counters at a boundary are interpolated linearly between the readings on
either side. Readings further apart than one interval bound no interval (a gap, not a guess).

Where only this meter exists, the district's inflexible load is derived from it (all kW,
interval means, load-referenced)::

    inflexible_load = meter_net_import - sum(own assets' power) + measured_pv

"own assets" are gridctl's batteries, EV chargers and heat pumps (+ = charging/consuming), and
``measured_pv`` is the district's whole PV output (its PV series, gridctl's PV plants included),
which the meter sees as negative load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from adapters.drivers import SunSpecDriver


@dataclass(frozen=True)
class CounterReading:
    """Meter counters at time ``t`` (UTC), Wh."""

    t: pd.Timestamp
    import_wh: float
    export_wh: float

    @property
    def net_wh(self) -> float:
        return self.import_wh - self.export_wh


class IntervalMeans:
    """Turns a stream of counter readings into mean net import (kW) per completed interval."""

    def __init__(self, resolution_min: int):
        self.res = pd.Timedelta(minutes=resolution_min)
        self._last: CounterReading | None = None
        self._edge: tuple[pd.Timestamp, float] | None = None  # (boundary, net Wh there)

    def add(self, r: CounterReading) -> list[tuple[pd.Timestamp, float]]:
        """(interval start, mean kW) of every interval this reading completes."""
        last, self._last = self._last, r
        if last is None or r.t <= last.t:
            return []
        if r.t - last.t > self.res or r.import_wh < last.import_wh or r.export_wh < last.export_wh:
            self._edge = None  # a gap or a counter reset: start again from the next boundary
            return []
        out = []
        b = last.t.floor(self.res) + self.res
        while b <= r.t:
            e_b = last.net_wh + (r.net_wh - last.net_wh) * ((b - last.t) / (r.t - last.t))
            if self._edge is not None and b - self._edge[0] == self.res:
                out.append((self._edge[0], (e_b - self._edge[1]) / (self.res / pd.Timedelta(hours=1)) / 1000.0))
            self._edge = (b, e_b)
            b += self.res
        return out


def inflexible_load_kw(meter_kw: float, own_assets_kw: Mapping[str, float], pv_kw: Mapping[str, float]) -> float:
    """The district's inflexible load from the grid-connection meter (see the module docstring)."""
    return meter_kw - sum(own_assets_kw.values()) + sum(pv_kw.values())


class MeterReader:
    """Reads the energy counters of a SunSpec model 203 meter (discovered on first use)."""

    def __init__(self, driver: SunSpecDriver):
        self.driver = driver

    async def read(self, t: pd.Timestamp) -> CounterReading:
        """The counters now, stamped ``t``."""
        if not self.driver.discovered:
            await self.driver.discover()
        values = await self.driver.read_values([(203, "TotWhImp"), (203, "TotWhExp")])
        if values["TotWhImp"] is None and values["TotWhExp"] is None:
            raise ValueError(f"{self.driver.device_id}: energy counters TotWhImp/TotWhExp not implemented")
        # a SunSpec accumulator reads 0 as "not accumulated": a counter that has not counted yet
        return CounterReading(t, float(values["TotWhImp"] or 0.0), float(values["TotWhExp"] or 0.0))
