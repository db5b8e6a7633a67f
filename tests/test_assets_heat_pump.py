"""Heat pumps: pre-heating before a dirty period, soft comfort band, temperature-dependent COP."""

import numpy as np
import pytest
from dispatch_case import solve_case
from test_dispatch import _inputs

from gridctl.dispatch.heat_pump import cop_from_temperature
from gridctl.dispatch.inputs import HeatPumpParams


def _hp(demand, p_max=5.0, **kw):
    n = len(demand)
    return HeatPumpParams("hp", 0, p_max, cop=np.full(n, 3.0), heat_demand_kw=np.array(demand, float),
                          capacity_kwh_per_k=1.0, temp_min_c=40.0, temp_max_c=50.0, temp_initial_c=45.0, **kw)


def _solve(hp, ci):
    return solve_case(_inputs(ci, [0.0] * len(ci), heat_pumps=[hp]))


def test_heat_pump_preheats_before_dirty_hour():
    # store 1 kWh/K at 45 degC, band 40-50, COP 3, 6 kWh of heat needed in the dirty last hour and
    # the store must end at 45: pre-heat to the band's top (5 K = 5/3 kWh) in the cleanest hour and
    # cover the remaining 1 K (1/3 kWh) in the dirty hour.
    res, table, viol = _solve(_hp([0, 0, 6]), [0.1, 0.2, 0.9])
    assert table["hp.p_kw"].to_numpy() == pytest.approx([5 / 3, 0.0, 1 / 3], abs=1e-6)
    assert table["hp.temp_c"].to_numpy() == pytest.approx([50.0, 50.0, 45.0], abs=1e-6)
    assert res.objective == pytest.approx(5 / 3 * 0.1 + 1 / 3 * 0.9, rel=1e-9)
    assert viol == []


def test_standing_losses_are_replaced():
    # loss 0.1 kW/K to a 20 degC room from 45 degC: 2.5 kW of heat per hour keeps the store at 45
    _, table, _ = _solve(_hp([0], loss_kw_per_k=0.1), [0.3])
    assert table["hp.p_kw"].iloc[0] == pytest.approx(2.5 / 3, abs=1e-6)


def test_too_small_heat_pump_reports_comfort_violation():
    # 30 kWh of heat in one hour at most 15 kWh from the pump: the store falls 15 K to 30 degC,
    # 10 K below the band, and ends 15 K below its target
    res, table, viol = _solve(_hp([30.0]), [0.3])
    assert res.status == "optimal"
    assert table["hp.temp_c"].iloc[0] == pytest.approx(30.0, abs=1e-6)
    sizes = {v["limit"]: v["size"] for v in viol}
    assert sizes == {"comfort_min": pytest.approx(10.0), "terminal_temp": pytest.approx(15.0)}


def test_cop_follows_outdoor_temperature():
    cop = cop_from_temperature(np.array([0.0, 10.0, 40.0]), sink_c=35.0)
    assert cop == pytest.approx([0.45 * 308.15 / 35, 0.45 * 308.15 / 25, 7.0])


def test_each_local_day_ends_at_the_target_temperature():
    # two "days" of two hours each (day ends at positions 1 and 3): 3 kWh of heat on each day, the
    # first day dirty, the second clean. Without day ends the pump leaves the first day's heat to the
    # store and re-heats on the clean day; with them the first day draws its own heat.
    ci = [0.9, 0.9, 0.1, 0.1]
    free = _solve(_hp([0, 3, 0, 3]), ci)[1]
    assert free["hp.temp_c"].iloc[1] == pytest.approx(42.0, abs=1e-6)
    _, table, viol = _solve(_hp([0, 3, 0, 3], day_ends=(1, 3)), ci)
    assert table["hp.temp_c"].to_numpy()[[1, 3]] == pytest.approx([45.0, 45.0], abs=1e-6)
    assert table["hp.p_kw"].iloc[:2].sum() == pytest.approx(1.0, abs=1e-6) and viol == []


def test_a_capped_day_end_leaves_the_next_days_heat_to_the_next_day():
    # the first day clean, the second dirty: at or above the target the first day pre-heats the store
    # to the band's top for the second (day 2 then draws less than its heat); capped it ends at 45 degC
    ci = [0.1, 0.1, 0.9, 0.9]
    table = _solve(_hp([0, 3, 0, 3], day_ends=(1, 3)), ci)[1]
    assert table["hp.temp_c"].iloc[1] == pytest.approx(48.0, abs=1e-6)
    _, table, viol = _solve(_hp([0, 3, 0, 3], day_ends=(1, 3), day_end_cap=True), ci)
    assert table["hp.temp_c"].to_numpy()[[1, 3]] == pytest.approx([45.0, 45.0], abs=1e-6)
    assert table["hp.p_kw"].iloc[2:].sum() == pytest.approx(1.0, abs=1e-6) and viol == []
