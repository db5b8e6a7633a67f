"""``[ledger]``: carbon accounting settings (groupings, contractual instruments, target)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class InstrumentConfig(_Section):
    """A contractual instrument of market-based Scope 2 accounting (GHG Protocol Scope 2 guidance).

    It covers the district's grid import of its period (``start`` inclusive, ``end`` exclusive,
    local dates) in time order until ``volume_kwh`` is used up, at ``factor_kg_per_kwh``."""

    id: str = Field(min_length=1, max_length=64)
    kind: Literal["ppa", "guarantee_of_origin", "supplier_specific", "green_tariff"]
    start: date
    end: date
    volume_kwh: float = Field(gt=0)
    factor_kg_per_kwh: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _period(self) -> InstrumentConfig:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class TargetConfig(_Section):
    """Neutrality target: location-based emissions fall linearly from ``baseline_kg_per_year`` in
    ``baseline_year`` to zero in ``target_year`` (0: no target)."""

    baseline_year: int = Field(2016, ge=1990, le=2100)
    baseline_kg_per_year: float = Field(0.0, ge=0)
    target_year: int = Field(2035, ge=1990, le=2200)

    @model_validator(mode="after")
    def _order(self) -> TargetConfig:
        if self.target_year <= self.baseline_year:
            raise ValueError(f"target_year {self.target_year} must be after baseline_year {self.baseline_year}")
        return self


class LedgerConfig(_Section):
    """Carbon ledger: residual mix, instruments, groupings (tenant, feeder, ...) of members."""

    residual_mix_kg_per_kwh: float | None = Field(None, ge=0)
    instruments: list[InstrumentConfig] = Field(default_factory=list)
    groups: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    target: TargetConfig = Field(default_factory=TargetConfig)

    @model_validator(mode="after")
    def _unique(self) -> LedgerConfig:
        ids = [i.id for i in self.instruments]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"instrument ids must be unique; repeated: {dup}")
        for grouping, groups in self.groups.items():
            if grouping in ("district", "member", "avoided"):
                raise ValueError(f"grouping name {grouping!r} is reserved; use e.g. 'tenant' or 'feeder'")
            seen: dict[str, str] = {}
            for group, members in groups.items():
                for m in members:
                    if m in seen:
                        raise ValueError(f"{grouping}: member {m!r} is in both {seen[m]!r} and {group!r}")
                    seen[m] = group
        return self


def member_problems(config: LedgerConfig, known: set[str]) -> list[str]:
    """One line per group member that is neither a load/PV series nor an asset id."""
    return [f"ledger.groups.{grouping}.{group}: unknown member {m!r}; use a series id (e.g. 'load/G0-A') "
            "or an asset id"
            for grouping, groups in config.groups.items() for group, ms in groups.items()
            for m in ms if m not in known]
