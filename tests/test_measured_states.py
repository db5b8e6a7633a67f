"""Measured EV and heat-pump states in re-optimisation: sessions in progress ask only for the rest,
heat stores start at their measured temperature, and replay delivers what each session asked for."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from adapters.drivers import HostPool
from gridctl.clock import DaemonClock
from gridctl.commands.run import device_io, simulator
from gridctl.cycle import decide, remaining_horizon
from gridctl.dispatch.inputs import ChargerReport
from gridctl.forecast_issue import make_forecast
from gridctl.planning import dispatch_inputs
from gridctl.replay.actuals import load_actuals
from gridctl.replay.engine import replay_controller
from gridctl.replay.sweep import district_with_config
from gridctl.timegrid import local_day

DAY = date(2016, 7, 12)
NOON = pd.Timestamp("2016-07-12 12:00", tz="Europe/Berlin")  # ev_fleet: 08:00-17:00, 300 kWh
NO_TRAINING_DAYS = 10_000  # more history than exists: seasonal-naive forecasts, no model training


@pytest.fixture(scope="module")
def naive(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.forecast.min_history_days = NO_TRAINING_DAYS
    cfg.replay.reoptimise_every_min = 120
    cfg.dispatch.lookahead_h = 0.0  # today only: one EV session per charger in the horizon
    return district_with_config(demo_district, cfg)


@pytest.fixture(scope="module")
def noon_forecast(naive):
    return make_forecast(naive, NOON, remaining_horizon(naive, NOON))


def fleet_session(inp):
    ev = next(e for e in inp.ev_chargers if e.id == "ev_fleet")
    assert len(ev.sessions) == 1 and ev.sessions[0].arrival == 0
    return ev.sessions[0]


def test_session_in_progress_asks_for_the_rest_of_its_energy(naive, noon_forecast):
    # unmeasured: 5 of the 9 hours remain, so 5/9 of 300 kWh
    assert fleet_session(dispatch_inputs(naive, noon_forecast)).energy_kwh == pytest.approx(300 * 5 / 9)
    half = dispatch_inputs(naive, noon_forecast, ev_reports={"ev_fleet": ChargerReport(True, 150.0)})
    assert fleet_session(half).energy_kwh == pytest.approx(150.0)
    over = dispatch_inputs(naive, noon_forecast, ev_reports={"ev_fleet": ChargerReport(True, 320.0)})
    assert fleet_session(over).energy_kwh == 0.0  # never negative


def test_reoptimisation_mid_session_plans_only_the_remainder(naive):
    plan = decide(naive, NOON, {}, ev_reports={"ev_fleet": ChargerReport(True, 150.0)}).plan
    session = next(s for s in plan.summary["ev_sessions"] if s["asset"] == "ev_fleet")
    assert session["requested_kwh"] == pytest.approx(150.0)
    assert plan.table["ev_fleet.p_kw"].sum() * 0.25 == pytest.approx(150.0, abs=1e-4)


def test_charger_report_replaces_the_expected_session(naive, noon_forecast):
    # a vehicle that asks for 80 kWh and leaves at 15:00, three hours after the report at noon
    report = ChargerReport(True, delivered_kwh=20.0, requested_kwh=80.0, hours_to_departure=3.0)
    session = fleet_session(dispatch_inputs(naive, noon_forecast, ev_reports={"ev_fleet": report}))
    assert session.energy_kwh == pytest.approx(60.0) and session.departure == 12
    gone = dispatch_inputs(naive, noon_forecast, ev_reports={"ev_fleet": ChargerReport(False)})
    assert next(e for e in gone.ev_chargers if e.id == "ev_fleet").sessions == ()  # today's vehicle left


def test_unknown_asset_in_measured_states_is_named(naive, noon_forecast):
    with pytest.raises(ValueError, match="heat_pump_temp_c: 'ev_fleet' is not a configured heat_pump"):
        dispatch_inputs(naive, noon_forecast, heat_pump_temp_c={"ev_fleet": 50.0})


def test_heat_pump_measured_at_the_top_of_its_band_does_not_preheat(naive):
    hp = next(h for h in naive.config.assets.heat_pump if h.id == "hp_office")
    table = decide(naive, NOON, {}, heat_pump_temp_c={"hp_office": hp.temp_max_c}).plan.table
    temp, p = table["hp_office.temp_c"].to_numpy(), table["hp_office.p_kw"].to_numpy()
    assert temp.max() <= hp.temp_max_c + 1e-6
    # the store starts at the measured temperature: the first interval's balance from temp_max
    inp = dispatch_inputs(naive, make_forecast(naive, NOON, table.index), heat_pump_temp_c={"hp_office": 55.0})
    h = next(h for h in inp.heat_pumps if h.id == "hp_office")
    heat = h.cop[0] * p[0] - h.heat_demand_kw[0] - h.loss_kw_per_k * (hp.temp_max_c - h.ambient_c)
    assert temp[0] == pytest.approx(hp.temp_max_c + heat * 0.25 / h.capacity_kwh_per_k, abs=1e-6)
    assert h.temp_terminal_c == hp.temp_initial_c  # the target stays the configured temperature


def test_replay_delivers_each_session_its_energy_and_no_more(naive):
    actuals = load_actuals(naive, local_day(DAY, naive.tz, naive.resolution_min))
    op = replay_controller(naive, actuals, [DAY]).operation
    assert len(actuals.ev_sessions["ev_fleet"]) == 1
    for ev, sessions in actuals.ev_sessions.items():
        p = op[f"{ev}.p_kw"].to_numpy()
        for s in sessions:
            delivered = p[s.arrival:s.departure].sum() * 0.25
            assert delivered <= s.energy_kwh + 1e-6, (ev, s)
            assert delivered >= s.energy_kwh * 0.99, (ev, s)


async def test_charger_and_heat_pump_telemetry_carry_their_states(demo_district):
    clock = DaemonClock(180.0, pd.Timestamp("2026-11-25T11:35:00Z"), data_year=2016)  # ev_fleet connected
    sim = simulator(demo_district, clock, port=0)
    port = await sim.start()
    pool = HostPool()
    try:
        io = device_io(demo_district, pool, port)
        ev, hp = await io["ev_fleet"].read(), await io["hp_office"].read()
        battery = await io["bess_park"].read()
    finally:
        pool.close()
        await sim.stop()
    # the simulator's clock runs on between the read and now: states within their physical ranges
    # the 08:00-17:00 session asks for 300 kWh; read at about 12:35 local time
    assert ev.ev.connected and 0.0 <= ev.ev.delivered_kwh <= 300.0 and ev.ev.requested_kwh == pytest.approx(300.0)
    assert 4.0 < ev.ev.hours_to_departure < 4.5
    assert 30.0 <= hp.temp_c <= 65.0
    assert battery.ev is None and battery.temp_c is None
