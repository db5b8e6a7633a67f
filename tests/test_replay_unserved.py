"""Unserved energy of a heat pump: heat its store could not supply, not energy moved across midnight."""

from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd
import pytest

from adapters.simulator import ProcessLoadParams, SimClock, SimProcessLoad
from gridctl.config import HeatPumpConfig, ProcessLoadConfig
from gridctl.replay.actuals import Actuals
from gridctl.replay.operation import operation_table
from gridctl.replay.unserved import heat_store_unserved_kwh, unserved_by_asset_kwh

# A store of 4 kWh/K, band 40-55 degC, starting at 47.5 degC; COP 4: 1 K of store = 1 kWh electric
HP = HeatPumpConfig(id="hp", load=0, unit_id=1, p_max_kw=10.0, cop=4.0, capacity_kwh_per_k=4.0)
COP = np.full(4, 4.0)


def _unserved(temp_c: list[float], p_kw: list[float], requested_kw: list[float]) -> float:
    """The heat pump's unserved kWh in a replay of four 6-hour intervals from 2016-07-12 12:00 UTC."""
    index = pd.date_range("2016-07-12 12:00", periods=4, freq="6h", tz="UTC")
    actuals = Actuals(index=index, groups=pd.DataFrame(index=index), ci_kg_per_kwh=np.full(4, 0.5),
                      signal_type="average", load_kw=np.zeros(4), pv_kw=np.zeros(4), pv_asset_kw={},
                      flex_kw={"hp": np.array(requested_kw)}, ev_sessions={}, cop={"hp": COP})
    op = operation_table(actuals, {"hp": np.array(p_kw)}, {}, {}, dt_h=6.0, temp_c={"hp": np.array(temp_c)})
    return unserved_by_asset_kwh(op, actuals, 6.0, "UTC", [HP])["hp"]


def test_heat_moved_across_midnight_within_the_band_is_not_unserved():
    # the pump runs ahead of the demand before midnight (store 47.5 -> 51.5 degC) and behind it after
    # (back to 47.5): 24 kWh more on 12 July, 24 kWh less on 13 July; every demand was met
    assert _unserved([49.5, 51.5, 49.5, 47.5], [5.0, 5.0, 1.0, 1.0], [3.0, 3.0, 3.0, 3.0]) == 0.0


def test_demand_the_store_could_not_supply_and_its_end_deficit_are_unserved():
    # the store hits its floor and drops 1.5 K below it (demand beyond the pump at full power), recovers,
    # and ends 2 K below its start: 1.5 + 2 kWh electric at COP 4 and 4 kWh/K
    assert _unserved([40.0, 38.5, 41.0, 45.5], [3.0, 10.0, 10.0, 10.0], [5.0, 10.0, 8.0, 8.0]) == pytest.approx(3.5)
    # ending below the floor: the 0.5 K dip further and the 7.5 K down to the floor, each counted once
    assert heat_store_unserved_kwh(np.array([41.0, 40.0, 39.0, 39.5]), COP, HP) == pytest.approx(1.0 + 7.5)
    # a colder store a day later is a deficit only at the end: 2 K, at the period's mean COP of 2.5
    assert heat_store_unserved_kwh(np.array([45.0, 44.0, 45.5]), np.array([2.0, 3.0, 2.5]), HP) == pytest.approx(
        2.0 * 4.0 / 2.5)


PRESS = ProcessLoadConfig(id="press", bus=0, unit_id=41, p_min_kw=200.0, p_max_kw=200.0, run_h=3.0,
                          window=(time(8), time(16)), ramp_s=60.0)


def _press_unserved(load: ProcessLoadConfig, run: list[int]) -> float:
    """The load's unserved kWh over 16 quarter-hours asking 200 kW in intervals 1-12, drawn by the
    simulated device started and stopped as ``run`` says, interval by interval."""
    clock = SimClock(pd.Timestamp("2016-07-12 06:00", tz="UTC"))
    device = SimProcessLoad(ProcessLoadParams(load.id, load.unit_id, load.p_min_kw, load.p_max_kw, load.ramp_s), clock)
    p_kw = []
    for on in run:
        device.set_raw(64903, "Run", on)
        device.applied({"Run"})
        wh = device.wh_consumed
        device.step(clock.now, 900.0)
        p_kw.append((device.wh_consumed - wh) / 250.0)
    index = pd.date_range("2016-07-12 06:00", periods=16, freq="15min", tz="UTC")
    requested = np.r_[0.0, np.full(12, 200.0), np.zeros(3)]
    actuals = Actuals(index=index, groups=pd.DataFrame(index=index), ci_kg_per_kwh=np.full(16, 0.5),
                      signal_type="average", load_kw=np.zeros(16), pv_kw=np.zeros(16), pv_asset_kw={},
                      flex_kw={load.id: requested}, ev_sessions={})
    op = operation_table(actuals, {load.id: np.array(p_kw)}, {}, {}, dt_h=0.25)
    return unserved_by_asset_kwh(op, actuals, 0.25, "UTC", [], [load])[load.id]


def test_an_on_off_loads_start_ramp_is_part_of_its_run_a_short_run_is_not():
    three_hours = [0] + [1] * 12 + [0] * 3
    # the device's 60 s ramp from 0 to 200 kW draws 1.67 kWh less than full power: a full run all the same
    assert _press_unserved(PRESS, three_hours) == pytest.approx(0.0, abs=1e-9)
    # two starts (one ramp each), still 12 intervals in all
    assert _press_unserved(PRESS, [0] * 2 + [1] * 6 + [0] * 2 + [1] * 6) == pytest.approx(0.0, abs=1e-9)
    # stopped an interval early: 50 kWh short
    assert _press_unserved(PRESS, [0] + [1] * 11 + [0] * 4) == pytest.approx(50.0)
    # a semi-continuous load plans its ramps' energy (gridctl.process_loads), so a ramp it misses counts
    semi = PRESS.model_copy(update={"p_min_kw": 100.0})
    assert _press_unserved(semi, three_hours) == pytest.approx(200.0 * 60 / 7200)
