"""EV charging points: cleanest feasible hours, soft energy targets, sessions from profiles."""

import numpy as np
import pytest
from dispatch_case import solve_case
from test_dispatch import _inputs

from gridctl.dispatch.ev import immediate_charging, reported_sessions, sessions_from_profile
from gridctl.dispatch.inputs import EvChargerParams, EvSession


def _solve(ev, ci):
    return solve_case(_inputs(ci, [0.0] * len(ci), ev_chargers=[ev]))


def test_ev_charges_in_cleanest_hours_before_departure():
    # connected hours 0-2 (departs at the start of hour 3, the cleanest); 15 kWh at up to 10 kW:
    # 10 kWh in hour 2 (0.1), 5 kWh in hour 1 (0.2), nothing in the dirty hour 0 or after departure
    ev = EvChargerParams("ev", 0, 10.0, (EvSession(0, 3, 15.0),))
    res, table, viol = _solve(ev, [0.5, 0.2, 0.1, 0.05])
    assert res.status == "optimal"
    assert table["ev.p_kw"].to_numpy() == pytest.approx([0.0, 5.0, 10.0, 0.0], abs=1e-6)
    assert res.objective == pytest.approx(5 * 0.2 + 10 * 0.1, rel=1e-9)
    assert viol == []


def test_impossible_session_reports_its_shortfall():
    # 50 kWh asked in 3 h at 10 kW: 30 kWh delivered, 20 kWh unserved, and still a plan
    ev = EvChargerParams("ev", 0, 10.0, (EvSession(0, 3, 50.0, label="van 1"),))
    res, table, viol = _solve(ev, [0.5, 0.2, 0.1, 0.05])
    assert res.status == "optimal"
    assert table["ev.p_kw"].to_numpy() == pytest.approx([10.0, 10.0, 10.0, 0.0], abs=1e-6)
    assert viol == [{"limit": "ev_energy", "asset": "ev", "size": pytest.approx(20.0), "unit": "kWh", "where": "van 1"}]


def test_sessions_from_profile_and_immediate_baseline():
    p = np.array([0, 4, 4, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0], float)  # two blocks (gap of 1 merged), dt 0.5 h
    sessions = sessions_from_profile(p, 0.5, dwell_steps=4, merge_gap_steps=1)
    assert sessions == [EvSession(1, 5, 5.0), EvSession(11, 13, 1.5)]
    base = immediate_charging(EvChargerParams("ev", 0, 6.0, tuple(sessions)), len(p), 0.5)
    assert base[[1, 2, 11]] == pytest.approx([6.0, 4.0, 3.0]) and base.sum() * 0.5 == pytest.approx(6.5)


def test_overlapping_sessions_are_rejected():
    ev = EvChargerParams("ev", 0, 10.0, (EvSession(0, 3, 5.0), EvSession(2, 4, 5.0)))
    with pytest.raises(ValueError, match="arrives before the previous session departs"):
        _solve(ev, [0.1] * 4)


EXPECTED = [EvSession(0, 8, 40.0, "morning"), EvSession(6, 12, 30.0, "noon"), EvSession(20, 24, 10.0)]


def test_no_vehicle_reported_drops_the_expected_session_under_way():
    assert reported_sessions(EXPECTED, 24, connected=False) == EXPECTED[1:]


def test_reported_vehicle_replaces_the_expected_session():
    got = reported_sessions(EXPECTED, 24, True, delivered_kwh=15.0, requested_kwh=50.0, departure=10)
    # asks for its request minus what it received, stays to its announced departure; the next
    # vehicle cannot arrive before it leaves
    assert got == [EvSession(0, 10, 35.0, "morning"), EvSession(10, 12, 30.0, "noon"), EvSession(20, 24, 10.0)]


def test_unannounced_vehicle_keeps_the_expected_stay_and_energy():
    assert reported_sessions(EXPECTED, 24, True, delivered_kwh=5.0)[0] == EvSession(0, 8, 40.0, "morning")
    surprise = reported_sessions(EXPECTED[1:], 24, True, requested_kwh=20.0, stay=4)
    assert surprise[0] == EvSession(0, 4, 20.0, "connected vehicle")
    assert reported_sessions([], 3, True, requested_kwh=5.0, departure=99) == [EvSession(0, 3, 5.0, "connected vehicle")]
