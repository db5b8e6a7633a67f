"""Heat pumps between plan and plant: a dispatch plan run on the simulator's heat pump (1-minute
physics, overrides at the band's edges) while the heat demand differs from its forecast.

Pump 10 kW at COP 3 (30 kW of heat) on a 10 kWh/K store, 15-minute intervals: one interval of
demand at the pump's full heat output where 15 kW were forecast lowers the store 0.375 K below the plan.
"""

import asyncio

import numpy as np
import pandas as pd
import pytest
from dispatch_case import solve_case

from adapters.drivers import HeatPumpDriver
from adapters.drivers.loopback import LoopbackHost
from adapters.simulator import SimClock, SimHeatPump, Simulator
from adapters.simulator.heat_pump import HeatPumpParams as SimHeatPumpParams
from gridctl.cycle import heat_store_setpoints
from gridctl.dispatch.heat_pump import low_margin_k
from gridctl.dispatch.inputs import DispatchInputs, HeatPumpParams

START = pd.Timestamp("2016-02-22 16:00", tz="UTC")
N, DT_H, C, COP, P_MAX = 8, 0.25, 10.0, 3.0, 10.0


def _plan(forecast_heat_kw: float, temp_initial_c: float, ci, band_margin: bool) -> pd.DataFrame:
    hp = HeatPumpParams("hp", 0, P_MAX, cop=np.full(N, COP), heat_demand_kw=np.full(N, forecast_heat_kw),
                        capacity_kwh_per_k=C, temp_min_c=40.0, temp_max_c=50.0, temp_initial_c=temp_initial_c,
                        temp_terminal_c=40.0, band_margin=band_margin)
    inp = DispatchInputs(index=pd.date_range(START, periods=N, freq="15min"), dt_h=DT_H, load_kw=np.zeros(N),
                         pv_kw=np.zeros(N), ci_kg_per_kwh=np.asarray(ci, float), batteries=[], pv_assets=[],
                         heat_pumps=[hp])
    return solve_case(inp)[1]


def _run(table: pd.DataFrame, actual_heat_kw: float, temp_initial_c: float, track: bool):
    """Each interval's setpoint written through the heat-pump driver, the clock advanced 15 min;
    return the store temperature at each interval's end, the setpoints and the power drawn (kW)."""
    clock = SimClock(START)
    demand = pd.Series(actual_heat_kw, index=table.index)
    pump = SimHeatPump(SimHeatPumpParams("hp", 31, P_MAX, COP, C, 40.0, 50.0, temp_initial_c, 0.0,
                                         heat_demand_kw=demand), clock)
    driver = HeatPumpDriver(LoopbackHost(Simulator([pump], clock)), 31, "hp", p_max_kw=P_MAX, revert_s=3600)
    temps, written, drawn = [], [], []

    async def go():
        await driver.discover()
        for s in table.index:
            p_kw = (heat_store_setpoints(table, s, {"hp": pump.temp_c}, {"hp": C}, DT_H)["hp"] if track
                    else float(table.at[s, "hp.p_kw"]))
            written.append(float(np.clip(p_kw, 0.0, P_MAX)))
            await driver.write_setpoint(written[-1])
            wh = pump.wh_consumed
            clock.advance(DT_H * 3600)
            pump.sync()
            temps.append(pump.temp_c)
            drawn.append((pump.wh_consumed - wh) / 1000 / DT_H)

    asyncio.run(go())
    return np.array(temps), np.array(written), np.array(drawn)


@pytest.mark.parametrize("band_margin", [True, False])
def test_the_store_stays_in_the_band_when_demand_runs_at_full_output(band_margin):
    # forecast 15 kW of heat, actual 28 kW (the pump's full output is 30); falling intensity: the plan
    # lets the store fall to its floor and holds it there. With the margin (0.375 K, one interval of
    # demand at full output) the store ends every interval inside the band and the pump follows
    # every setpoint; the whole band planned, it falls below 40 degC and the pump overrides them.
    table = _plan(15.0, 41.0, np.linspace(0.8, 0.1, N), band_margin)
    margin = 0.375 if band_margin else 0.0
    assert table["hp.temp_c"].min() == pytest.approx(40.0 + margin, abs=1e-6)
    temps, written, drawn = _run(table, 28.0, 41.0, track=True)
    if band_margin:
        assert temps.min() >= 40.0
        assert drawn == pytest.approx(written, abs=1e-2)  # setpoints in the register's 1 W steps
    else:
        assert temps.min() < 40.0
        assert np.abs(drawn - written).max() > 1.0


def test_the_tick_brings_the_store_back_to_the_plan():
    # nothing forecast, 5 kW of heat drawn (0.125 K per interval): the plan keeps the pump off at 45 degC.
    # Tracking, the store ends each interval within one interval's error of the plan; the planned
    # setpoints alone let the error add up to 1 K by the end.
    table = _plan(0.0, 45.0, np.full(N, 0.5), band_margin=True)
    assert table["hp.p_kw"].to_numpy() == pytest.approx(np.zeros(N), abs=1e-9)
    planned = table["hp.temp_c"].to_numpy()
    tracked = _run(table, 5.0, 45.0, track=True)[0]
    assert np.abs(tracked - planned).max() == pytest.approx(0.125, abs=1e-3)  # setpoints in 1 W steps
    untracked = _run(table, 5.0, 45.0, track=False)[0]
    assert planned[-1] - untracked[-1] == pytest.approx(1.0, abs=1e-3)


def test_the_margin_is_one_interval_of_demand_at_full_output():
    hp = HeatPumpParams("hp", 0, P_MAX, cop=np.array([3.0, 3.0, 3.0, 2.0]), heat_demand_kw=np.array([0.0, 15.0, 40.0, 8.0]),
                        capacity_kwh_per_k=C, temp_min_c=40.0, temp_max_c=50.0, temp_initial_c=45.0, band_margin=True)
    # (p_max * cop - demand)+ * dt / C
    assert low_margin_k(hp, DT_H) == pytest.approx([0.75, 0.375, 0.0, 0.3])
