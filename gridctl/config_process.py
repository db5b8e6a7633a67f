"""Configuration of deferrable process loads: ``[[assets.process_load]]`` and ``[[process_groups]]``.

Part of :class:`gridctl.config.Config` (docs/process-loads.md). A process load is a new load
at a bus of the net that must be given ``energy_kwh`` (or ``run_h`` hours at ``p_max_kw``)
within each of its windows: a daily local-time ``window`` or listed dated ``windows``.
"""

from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatedWindow(_Section):
    """One dated window in local time (``start`` < ``end``)."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _order(self) -> DatedWindow:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("give local times without an offset, e.g. 2016-06-01T08:00:00")
        if not self.start < self.end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class ProcessLoadConfig(_Section):
    """A deferrable process load at a bus (load-referenced kW, energy per window in kWh)."""

    id: str
    bus: int | str
    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    unit_id: int = Field(ge=1, le=247)
    p_min_kw: float = Field(gt=0)
    p_max_kw: float = Field(gt=0)
    energy_kwh: float | None = Field(None, gt=0)
    run_h: float | None = Field(None, gt=0)
    window: tuple[time, time] | None = None
    windows: list[DatedWindow] = Field(default_factory=list)
    contiguous: bool = False
    min_on_min: int = Field(0, ge=0)
    min_off_min: int = Field(0, ge=0)
    startup_cost: float = Field(0.0, ge=0)
    max_starts: int | None = Field(None, ge=1)
    group: str | None = None
    ramp_s: float = Field(60.0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> ProcessLoadConfig:
        if self.p_min_kw > self.p_max_kw:
            raise ValueError(f"process load {self.id!r}: p_min_kw {self.p_min_kw} is above p_max_kw {self.p_max_kw}")
        if (self.energy_kwh is None) == (self.run_h is None):
            raise ValueError(f"process load {self.id!r}: give exactly one of energy_kwh and run_h")
        if (self.window is None) == (not self.windows):
            raise ValueError(f"process load {self.id!r}: give either a daily window = [\"08:00\", \"16:00\"] "
                             "or listed windows, not both or neither")
        if self.window is not None and self.window[0] == self.window[1]:
            raise ValueError(f"process load {self.id!r}: window start and end are equal")
        return self

    @property
    def on_off(self) -> bool:
        """Whether the load runs only at one power level (``p_min_kw == p_max_kw``)."""
        return self.p_min_kw == self.p_max_kw

    @property
    def requested_kwh(self) -> float:
        """Energy (kWh) to deliver per window: ``energy_kwh``, else ``run_h`` hours at ``p_max_kw``."""
        return self.energy_kwh if self.energy_kwh is not None else self.run_h * self.p_max_kw


class ProcessGroupConfig(_Section):
    """Process loads naming this ``id`` as their ``group`` draw at most ``max_kw`` together."""

    id: str
    max_kw: float = Field(gt=0)


class ProcessGroups(_Section):
    """The top-level ``[[process_groups]]`` list, checked against the loads naming them."""

    process_groups: list[ProcessGroupConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _groups_known(self):
        known = [g.id for g in self.process_groups]
        if len(set(known)) != len(known):
            raise ValueError(f"process_groups: duplicate ids {sorted({k for k in known if known.count(k) > 1})}")
        step_h = self.site.resolution_min / 60
        for i, p in enumerate(self.assets.process_load):
            key = f"assets.process_load.{i}"
            if p.group is not None and p.group not in known:
                raise ValueError(f"{key}.group: {p.group!r} ({p.id!r}) is not one of the process_groups {known}")
            steps = p.requested_kwh / (p.p_max_kw * step_h)
            if p.on_off and abs(steps - round(steps)) > 1e-6:
                raise ValueError(f"{key}.energy_kwh: {p.id!r} on/off at {p.p_max_kw} kW needs energy_kwh in whole "
                                 f"{self.site.resolution_min}-min intervals ({p.p_max_kw * step_h:g} kWh each), "
                                 f"not {p.requested_kwh:g}")
        return self
