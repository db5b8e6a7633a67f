"""Grid-operator events as dispatch inputs: units, overlaps and versions (gridctl.grid_events), and
the per-interval limits of the model, hard where a plan can meet them and soft, reported, where
none can (gridctl.dispatch.event_limits)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dispatch_case import solve_case
from test_dispatch import _inputs

from gridctl.dispatch.inputs import BatteryParams, DispatchInputs
from gridctl.grid_events import EventFormatError, GridEvents

T0 = "2016-07-14T00:00:00Z"


def event(event_id: str, payload_type: str, values: list[float], units: str | None, issued: str = "2016-07-13T08:00:00Z",
          start: str = T0, duration: str = "PT15M") -> dict:
    return {"id": event_id, "programID": "p1", "createdDateTime": issued,
            "payloadDescriptors": [{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": payload_type,
                                    **({"units": units} if units else {})}],
            "intervalPeriod": {"start": start, "duration": duration},
            "intervals": [{"id": k, "payloads": [{"type": payload_type, "values": [v]}]} for k, v in enumerate(values)]}


def quarter_hours(n: int = 4) -> DispatchInputs:
    return DispatchInputs(index=pd.date_range(T0, periods=n, freq="15min"), dt_h=0.25, load_kw=np.full(n, 100.0),
                          pv_kw=np.zeros(n), ci_kg_per_kwh=np.full(n, 0.4), price_per_kwh=np.full(n, 0.3))


def test_payloads_become_limits_prices_and_intensities_in_gridctl_units():
    events = GridEvents()
    events.add(event("cap", "IMPORT_CAPACITY_LIMIT", [500.0, 500.0], "KW"))
    events.add(event("cap2", "IMPORT_CAPACITY_LIMIT", [400.0], None, start="2016-07-14T00:15:00Z"))  # lowest wins
    events.add(event("exp", "EXPORT_CAPACITY_LIMIT", [0.2], "MW", duration="PT1H"))
    events.add(event("price", "PRICE", [120.0], "MWH", start="2016-07-14T00:30:00Z"))
    events.add(event("ghg", "GHG", [300.0], None, start="2016-07-14T00:45:00Z"))  # g/kWh by default
    events.add(event("late", "IMPORT_CAPACITY_LIMIT", [1.0] * 4, "KW", issued="2016-07-13T12:00:01Z"))
    inp = quarter_hours()
    used = events.apply(inp, pd.Timestamp("2016-07-13T12:00:00Z"))
    np.testing.assert_allclose(inp.event_import_limit_kw, [500.0, 400.0, np.nan, np.nan])
    np.testing.assert_allclose(inp.event_export_limit_kw, [200.0] * 4)
    np.testing.assert_allclose(inp.price_per_kwh, [0.3, 0.3, 0.12, 0.3])
    np.testing.assert_allclose(inp.ci_kg_per_kwh, [0.4, 0.4, 0.4, 0.3])
    assert sorted(u["event_id"] for u in used) == ["cap", "cap2", "exp", "ghg", "price"]  # "late" not yet issued


def test_unknown_units_and_missing_issue_time_name_the_field():
    with pytest.raises(EventFormatError, match=r"payloadDescriptors.IMPORT_CAPACITY_LIMIT.units: 'KWH'"):
        GridEvents().add(event("x", "IMPORT_CAPACITY_LIMIT", [1.0], "KWH"))
    with pytest.raises(EventFormatError, match="createdDateTime: missing"):
        GridEvents().add({k: v for k, v in event("x", "PRICE", [1.0], None).items() if k != "createdDateTime"})


def _battery_day(limit_kw: float):
    # 1-h intervals, load 10 kW, clean then dirty hour: unconstrained, the lossless battery (5 kW,
    # 5 of 10 kWh, back to 5 at the end) charges in the clean hour, so import is [15, 5]
    bat = BatteryParams("b", 0, 5.0, 0.0, 10.0, 5.0, 1.0, 1.0)
    inp = _inputs([0.1, 0.5], [10.0, 10.0], batteries=[bat], throughput_penalty_per_kwh=0.0)
    inp.event_import_limit_kw = np.array([limit_kw, np.nan])
    return solve_case(inp)


def test_event_import_limit_is_met_when_any_plan_can():
    _, table, viol = _battery_day(float("nan"))
    assert table.grid_import_kw.to_numpy() == pytest.approx([15.0, 5.0], abs=1e-6)
    _, table, viol = _battery_day(6.0)  # the battery discharges 4 kW in the first hour instead
    assert table.grid_import_kw.to_numpy() == pytest.approx([6.0, 14.0], abs=1e-6)
    assert viol == []


def test_event_import_limit_no_plan_can_meet_is_broken_least_and_reported():
    _, table, viol = _battery_day(2.0)  # 10 kW load, at most 5 kW from the battery
    assert table.grid_import_kw.iloc[0] == pytest.approx(5.0, abs=1e-6)
    assert viol == [{"limit": "event_import_limit", "asset": "grid", "size": pytest.approx(3.0), "unit": "kW",
                     "interval_start": table.index[0].isoformat()}]
