"""Demand charges as numbers: window masks, the month's running peak, model inputs and reports.

A charge's peak is the highest interval-mean grid import (kW, never below 0) of a local calendar
month within its window (local hours, ISO weekdays 1 = Monday, months); the month's charge is
``price_per_kw * peak``. Peaks are keyed by ``(charge name, "YYYY-MM")``; the running peak resets
at local month start. Pure functions: the daemon feeds them the store's meter rows, replay its
simulated operation (docs/charges.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gridctl.config_charges import DemandChargeConfig
from gridctl.dispatch.inputs import DemandCharge

PeakKey = tuple[str, str]


def month_keys(index: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Local calendar month (``"YYYY-MM"``) of every interval start (formatted once per month)."""
    local = index.tz_convert(tz)
    months, at = np.unique(local.year.to_numpy() * 100 + local.month.to_numpy(), return_inverse=True)
    return np.array([f"{m // 100:04d}-{m % 100:02d}" for m in months], dtype=object)[at.reshape(-1)]


def window_mask(index: pd.DatetimeIndex, charge: DemandChargeConfig, tz: str) -> np.ndarray:
    """Whether each interval (by its local start) lies in the charge's window."""
    local = index.tz_convert(tz)
    mask = np.isin(local.hour, charge.hours) & np.isin(local.dayofweek + 1, charge.weekdays)
    return mask & np.isin(local.month, charge.months) if charge.months else mask


def peaks(import_kw: pd.Series, charges: Sequence[DemandChargeConfig], tz: str) -> dict[PeakKey, float]:
    """Per charge and local month with window intervals in ``import_kw``: the peak import there (kW)."""
    months = month_keys(import_kw.index, tz)
    out = {}
    for c in charges:
        mask = window_mask(import_kw.index, c, tz)
        for month in dict.fromkeys(months[mask]):
            out[(c.name, str(month))] = max(float(import_kw.to_numpy()[mask & (months == month)].max()), 0.0)
    return out


def running_peaks(import_kw: pd.Series, charges: Sequence[DemandChargeConfig], tz: str, now: pd.Timestamp,
                  resolution_min: int) -> dict[PeakKey, float]:
    """The peaks of the local month of ``now`` so far: only intervals that ended by ``now`` count
    (nothing measured later is read); earlier months are left out (the running peak resets)."""
    end = import_kw.index + pd.Timedelta(minutes=resolution_min)
    month = month_keys(pd.DatetimeIndex([pd.Timestamp(now)]), tz)[0]
    ended = import_kw[(end <= pd.Timestamp(now)) & (month_keys(import_kw.index, tz) == month)].dropna()
    return peaks(ended, charges, tz)


def model_charges(charges: Sequence[DemandChargeConfig], index: pd.DatetimeIndex, tz: str, objective: str,
                  running_kw: dict[PeakKey, float]) -> tuple[DemandCharge, ...]:
    """The charges as dispatch inputs over ``index``: in cost and blend modes weighted by their
    price; in emissions mode only soft caps (weighted by their penalty, floor at least
    ``soft_cap_kw``); floors from ``running_kw`` (0 for a month not begun)."""
    months = month_keys(index, tz)
    out = []
    for c in charges:
        soft = objective == "emissions"
        if soft and c.emissions_mode == "off":
            continue
        mask = window_mask(index, c, tz)
        periods = tuple((str(mo), tuple(int(t) for t in np.flatnonzero(mask & (months == mo))))
                        for mo in dict.fromkeys(months[mask]))
        floors = tuple(max(running_kw.get((c.name, mo), 0.0), c.soft_cap_kw if soft else 0.0) for mo, _ in periods)
        out.append(DemandCharge(c.name, c.soft_cap_penalty_per_kw if soft else c.price_per_kw, periods, floors))
    return tuple(out)


def charge_report(import_kw: pd.Series, charges: Sequence[DemandChargeConfig], tz: str,
                  carried_kw: dict[PeakKey, float] | None = None) -> list[dict]:
    """Per charge and local month of ``import_kw``'s windows or of ``carried_kw``: the peak carried in
    (the running peak before these intervals), the peak with them (kW), the month's charge and what
    these intervals add to it (currency)."""
    carried_kw = carried_kw or {}
    price = {c.name: c.price_per_kw for c in charges}
    planned = peaks(import_kw, charges, tz)
    out = []
    for name, month in sorted({*planned, *(k for k in carried_kw if k[0] in price)}):
        carried = carried_kw.get((name, month), 0.0)
        peak_kw = max(planned.get((name, month), 0.0), carried)
        out.append({"name": name, "month": month, "carried_peak_kw": round(carried, 3), "peak_kw": round(peak_kw, 3),
                    "price_per_kw": price[name], "charge": round(price[name] * peak_kw, 2),
                    "added_charge": round(price[name] * (peak_kw - carried), 2)})
    return out


def realised_charges(import_kw: pd.Series, charges: Sequence[DemandChargeConfig], tz: str) -> dict:
    """Key figures of an operation: every charge's peak and charge per month, and their sum (currency)."""
    keep = ("name", "month", "peak_kw", "price_per_kw", "charge")
    report = [{k: r[k] for k in keep} for r in charge_report(import_kw, charges, tz)]
    return {"demand_charges": report, "demand_charge_cost": round(sum(r["charge"] for r in report), 2)}
