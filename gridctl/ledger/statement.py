"""Statements of a reporting period from booked ledger rows: totals by Scope 2 method, by group,
estimated share, avoided emissions and progress against the neutrality target."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

import pandas as pd

from gridctl.ledger.config import LedgerConfig

SUMS = ["energy_kwh", "import_kwh", "location_kg", "market_kg"]


@dataclass(frozen=True)
class Period:
    """A local calendar month (``YYYY-MM``) or year (``YYYY``)."""

    first: date
    last: date  # inclusive

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            if len(text) == 4:
                year = int(text)
                return cls(date(year, 1, 1), date(year, 12, 31))
            year, month = (int(p) for p in text.split("-"))
            return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
        except ValueError:
            raise ValueError(f"--period {text!r} is not YYYY-MM or YYYY") from None

    def bounds_utc(self, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        start = pd.Timestamp(self.first).tz_localize(tz)
        end = pd.Timestamp(self.last + pd.Timedelta(days=1)).tz_localize(tz)
        return start.tz_convert("UTC"), end.tz_convert("UTC")

    @property
    def label(self) -> str:
        return str(self.first.year) if self.first.month == 1 and self.last.month == 12 else self.first.strftime("%Y-%m")


def target_budget_kg(config: LedgerConfig, period: Period) -> float | None:
    """Location-based kg the linear trajectory to neutrality allows in ``period`` (None: no target)."""
    t = config.target
    if t.baseline_kg_per_year <= 0:
        return None
    total = 0.0
    for year in range(period.first.year, period.last.year + 1):
        share = min(max((t.target_year - year) / (t.target_year - t.baseline_year), 0.0), 1.0)
        first, last = max(period.first, date(year, 1, 1)), min(period.last, date(year, 12, 31))
        days_in_year = 366 if calendar.isleap(year) else 365
        total += t.baseline_kg_per_year * share * ((last - first).days + 1) / days_in_year
    return total


def totals(rows: pd.DataFrame, grouping: str) -> pd.DataFrame:
    """Sums per group of one grouping, with each group's share of the location-based kg."""
    part = rows[rows.grouping == grouping]
    out = part.groupby("group_id")[SUMS].sum(min_count=1)
    out["estimated_import_kwh"] = part[part.estimated].groupby("group_id").import_kwh.sum()
    out["estimated_import_kwh"] = out.estimated_import_kwh.fillna(0.0)
    total = out.location_kg.sum()
    out["location_share_pct"] = 100.0 * out.location_kg / total if total > 0 else 0.0
    return out.sort_values("location_kg", ascending=False)


def statement(rows: pd.DataFrame, config: LedgerConfig, period: Period, tz: str, tenant: str | None = None) -> dict:
    """Figures of a statement; ``rows``: the current ledger rows of the period. With ``tenant``, the
    headline figures are that tenant's share and the groups shown are the tenant and its members."""
    head = rows[rows.grouping == "district"] if tenant is None else \
        rows[(rows.grouping == "tenant") & (rows.group_id == tenant)]
    import_kwh = float(head.import_kwh.sum())
    est_kwh = float(head.loc[head.estimated.astype(bool), "import_kwh"].sum())
    location = float(head.location_kg.sum())
    avoided = rows[rows.grouping == "avoided"] if tenant is None else rows.iloc[:0]
    budget = target_budget_kg(config, period) if tenant is None else None
    booked = head.interval_start.dt.tz_convert(tz).dt.date
    to_date = target_budget_kg(config, Period(booked.min(), booked.max())) if budget and not head.empty else None
    groupings = {g: totals(rows, g) for g in sorted(set(rows.grouping) - {"district", "avoided"})}
    if tenant is not None:
        members = config.groups.get("tenant", {}).get(tenant, [])
        groupings = {"tenant": groupings.get("tenant", pd.DataFrame()).reindex([tenant]).dropna(how="all"),
                     "member": groupings.get("member", pd.DataFrame()).reindex(members).dropna(how="all")}
    return {
        "period": period.label, "tenant": tenant, "intervals": len(head),
        "import_kwh": import_kwh, "export_kwh": float((-head.energy_kwh).clip(lower=0).sum()),
        "location_kg": location,
        "market_kg": None if head.empty or head.market_kg.isna().any() else float(head.market_kg.sum()),
        "estimated_share_pct": 100.0 * est_kwh / import_kwh if import_kwh > 0 else 0.0,
        "signal_types": sorted(head.signal_type.dropna().unique().tolist()),
        "sources": sorted(head.ci_source.dropna().unique().tolist()),
        "instruments_kwh": _instrument_kwh(head.inputs) if tenant is None else {},
        "avoided_kg": float(avoided.location_kg.sum()) if not avoided.empty else None,
        "avoided_signal": sorted(avoided.signal_type.unique().tolist()) if not avoided.empty else [],
        "target_budget_kg": budget,
        "target_to_date_kg": to_date,
        "target_used_pct": 100.0 * location / to_date if to_date else None,
        "groupings": groupings,
        "daily": _daily(head, tz),
    }


def _instrument_kwh(inputs: pd.Series) -> dict[str, float]:
    used: dict[str, float] = {}
    for item in inputs:
        for k, v in (item or {}).get("instruments_kwh", {}).items():
            used[k] = used.get(k, 0.0) + v
    return used


def _daily(head: pd.DataFrame, tz: str) -> pd.DataFrame:
    if head.empty:
        return pd.DataFrame(columns=["location_kg", "market_kg"])
    return head.groupby(head.interval_start.dt.tz_convert(tz).dt.date)[["location_kg", "market_kg"]].sum(min_count=1)
