"""Unserved energy of a heat pump: heat its store could not supply, not energy moved across midnight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridctl.config import HeatPumpConfig
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
