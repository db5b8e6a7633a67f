"""Configuration of demand charges: ``[[dispatch.demand_charges]]`` (docs/charges.md).

A demand charge bills the highest interval-mean grid import (kW) of a calendar month within a
time-of-use window (local hours, weekdays, months) at ``price_per_kw`` currency per kW per month.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

ALL_HOURS = list(range(24))
ALL_WEEKDAYS = list(range(1, 8))


class DemandChargeConfig(BaseModel):
    """One demand charge: its window, its price and how emissions mode treats it."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    name: str = Field(min_length=1)
    price_per_kw: float = Field(gt=0)
    hours: list[int] = Field(default_factory=lambda: list(ALL_HOURS))
    weekdays: list[int] = Field(default_factory=lambda: list(ALL_WEEKDAYS))
    months: list[int] = Field(default_factory=list)
    emissions_mode: Literal["off", "soft_cap"] = "off"
    soft_cap_kw: float = Field(0.0, ge=0)
    soft_cap_penalty_per_kw: float = Field(1.0, gt=0)

    @field_validator("hours", "weekdays", "months")
    @classmethod
    def _in_range(cls, value: list[int], info) -> list[int]:
        low, high = {"hours": (0, 23), "weekdays": (1, 7), "months": (1, 12)}[info.field_name]
        wrong = sorted({v for v in value if not low <= v <= high})
        if wrong:
            raise ValueError(f"{wrong} outside {low}-{high}; list {info.field_name} as numbers {low} to {high}")
        if info.field_name != "months" and not value:
            raise ValueError(f"empty {info.field_name}: the charge would never apply; omit the key for all")
        return sorted(set(value))


def check_unique_names(charges: list[DemandChargeConfig]) -> list[DemandChargeConfig]:
    """``charges`` when every name is unique, else a ValueError naming the repeated ones."""
    names = [c.name for c in charges]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"duplicate demand charge names {dup}; give every charge its own name")
    return charges


DemandCharges = Annotated[list[DemandChargeConfig], AfterValidator(check_unique_names)]
