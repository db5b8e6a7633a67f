"""Re-optimisations in one persistent model decide as rebuilding the model each time does."""

import dataclasses

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from gridctl.cycle import decide
from gridctl.daemon import without_assets
from gridctl.dispatch.highs import SolverError
from gridctl.dispatch.inputs import ChargerReport
from gridctl.dispatch.intraday import IntradayDispatch
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.network_plan import interval_network_models
from gridctl.process_loads import reports_from_operation
from gridctl.replay.sweep import district_with_config

DAY_START = pd.Timestamp("2016-07-11T22:00Z")  # local midnight of 12 July (CEST)
KEYS = ("asset", "window_start", "window_end", "requested_kwh", "starts")


def test_process_loads_reoptimise_in_the_held_model_while_they_follow_the_plan(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.recommit_h = 0.0  # every decision re-solves the commitment
    cfg.dispatch.mip_gap = 1e-7  # to the optimum: not two plans within the gap (starts and ramps tie closely)
    demo_district = district_with_config(demo_district, cfg)
    rolling = RollingDispatch()
    operation = None
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in demo_district.batteries}
    for hours in range(0, 20, 2):
        now = DAY_START + pd.Timedelta(hours=hours)
        reports = reports_from_operation(demo_district.config, operation, now) if operation is not None else None
        if reports and reports["compressors"].delivered_kwh > 0:  # its counter reads 20 kWh short of the plan
            reports["compressors"] = dataclasses.replace(reports["compressors"],
                                                         delivered_kwh=reports["compressors"].delivered_kwh - 20.0)
        if hours == 12:  # the press stops an hour into its block: a state the held plan does not have
            assert reports["press_line"].on
            reports["press_line"] = dataclasses.replace(reports["press_line"], on=False, minutes_in_state=0.0)
        builds = rolling.builds
        kept = decide(demo_district, now, soc, process_reports=reports, rolling=rolling)
        built = decide(demo_district, now, soc, process_reports=reports)
        a, b = kept.plan.summary, built.plan.summary
        assert a["problem"] == "MILP"
        assert a["objective"] == pytest.approx(b["objective"], rel=2e-4)
        assert a["objective"] <= b["objective"] * (1 + 1e-6)  # identical or better
        # the same windows, requests and starts; energy within one start's ramp (the two may start a
        # block at part load or a little later, within 1e-5 of the objective)
        for x, y in zip(a["process_loads"], b["process_loads"], strict=True):
            assert {k: x[k] for k in KEYS} == {k: y[k] for k in KEYS}
            assert x["delivered_kwh"] == pytest.approx(y["delivered_kwh"], abs=1.5)
            assert x["unserved_kwh"] == pytest.approx(y["unserved_kwh"], abs=1.5)
        if hours == 12:
            assert rolling.builds == builds + 1
        plan = kept.plan.table.loc[now:now + pd.Timedelta(minutes=105)]
        operation = plan if operation is None else pd.concat([operation, plan])
        soc = {b: float(kept.plan.table.loc[now + pd.Timedelta(hours=2), f"{b}.soc_kwh"]) for b in soc}
    assert rolling.updates >= 5  # states that follow the plan: in place, not rebuilt


class RecordedRolling(RollingDispatch):
    """Keeps the inputs and network rows of its last re-optimisation."""

    def solve(self, inp, extend=None, *args, **kwargs):
        self.last = (inp, extend)
        return super().solve(inp, extend, *args, **kwargs)


def test_a_held_commitment_is_the_lp_a_rebuild_holding_it_solves(demo_district):
    rolling = RecordedRolling()
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in demo_district.batteries}
    operation, problems = None, []
    for hours in range(8):
        now = DAY_START + pd.Timedelta(hours=6 + hours)
        reports = reports_from_operation(demo_district.config, operation, now) if operation is not None else None
        kept = decide(demo_district, now, soc, process_reports=reports, rolling=rolling)
        a = kept.plan.summary
        problems.append(a["problem"])
        if a["problem"] == "LP":  # the process loads' on/off plan held: rebuild with it fixed
            inp, extend = rolling.last
            k = len(rolling.held.inp.index) - len(inp.index)
            rebuilt = IntradayDispatch(inp, extend=extend)
            rebuilt.hold({i: on[k:] for i, on in rolling.held.commitment().items()})
            assert rebuilt.solve().mip_gap is None
            assert a["objective"] == pytest.approx(rebuilt.free_objective(), rel=1e-6, abs=1e-3)
            milp = decide(demo_district, now, soc, process_reports=reports).plan.summary
            gap = demo_district.config.dispatch.mip_gap * abs(milp["objective"])  # the MIP's optimum lies within
            assert milp["problem"] == "MILP" and a["objective"] >= milp["objective"] - gap - 1e-3
            assert now - rolling.committed_at < pd.Timedelta(hours=demo_district.config.dispatch.recommit_h)
        plan = kept.plan.table.loc[now:now + pd.Timedelta(minutes=45)]
        operation = plan if operation is None else pd.concat([operation, plan])
        soc = {b: float(kept.plan.table.loc[now + pd.Timedelta(hours=1), f"{b}.soc_kwh"]) for b in soc}
    assert problems.count("LP") >= 3 and problems.count("MILP") >= 2  # held between re-commitments


def test_a_held_commitment_without_a_solution_is_solved_again(demo_district, monkeypatch):
    """A held LP HiGHS returns no solution for (injected once) is re-solved as a MIP in the same model."""
    rolling = RollingDispatch()
    now = DAY_START + pd.Timedelta(hours=6)
    first = decide(demo_district, now, {}, rolling=rolling)
    assert first.plan.summary["problem"] == "MILP" and rolling.held.held  # polished: the commitment held
    solve, failed = IntradayDispatch.solve, []

    def failing_once(self):
        if self.held and not failed:
            failed.append(True)
            raise SolverError("injected: no usable solution")
        return solve(self)

    monkeypatch.setattr(IntradayDispatch, "solve", failing_once)
    later = now + pd.Timedelta(hours=1)
    reports = reports_from_operation(demo_district.config, first.plan.table.loc[now:later].iloc[:-1], later)
    again = decide(demo_district, later, {}, rolling=rolling, process_reports=reports)
    assert failed and again.plan.summary["problem"] == "MILP" and rolling.committed_at == later
    assert rolling.builds == 1  # in the held model, not a new one


def test_a_day_of_persistent_decisions_matches_rebuilt_ones(demo_district):
    demo_district = without_assets(demo_district, {p.id for p in demo_district.config.assets.process_load})
    rolling = RollingDispatch()
    recentred = interval_network_models(demo_district).recentres
    rng = np.random.default_rng(3)
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in demo_district.batteries}
    temps = None
    for hours in range(0, 24, 3):
        now = DAY_START + pd.Timedelta(hours=hours)
        # the fleet's vehicle (08:00-17:00 local) reports part of its energy delivered
        reports = {"ev_fleet": ChargerReport(True, delivered_kwh=20.0 * (hours - 8))} if 8 <= hours + 0.5 < 17 else None
        kept = decide(demo_district, now, soc, ev_reports=reports, heat_pump_temp_c=temps, rolling=rolling)
        built = decide(demo_district, now, soc, ev_reports=reports, heat_pump_temp_c=temps)
        a, b = kept.plan.summary, built.plan.summary
        assert a["objective"] == pytest.approx(b["objective"], rel=1e-6, abs=1e-3)
        assert a["emissions_kg"] == pytest.approx(b["emissions_kg"], rel=1e-6, abs=1e-3)
        assert a["ev_sessions"] == b["ev_sessions"]
        assert kept.plan.table.index.equals(built.plan.table.index)
        for column in ("grid_import_kw", "bess_park.soc_kwh", "hp_office.temp_c"):
            assert np.isfinite(kept.plan.table[column]).all()
        # measured states at the next decision: the plan's, off by a few per cent
        nxt = kept.plan.table.loc[now + pd.Timedelta(hours=3)]
        soc = {b: float(nxt[f"{b}.soc_kwh"]) * rng.uniform(0.97, 1.03) for b in soc}
        temps = {h: float(nxt[f"{h}.temp_c"]) + rng.uniform(-0.5, 0.5) for h in ("hp_office", "hp_shop")}
    # one model for the whole day: re-centred network rows are written into it
    recentred = interval_network_models(demo_district).recentres - recentred
    assert recentred > 0 and rolling.renewals == recentred and rolling.builds == 1 and rolling.updates == 7


def test_a_window_closed_in_the_held_model_asks_for_nothing_more(demo_district):
    # the compressors' counter reads 20 kWh short of the plan, so their window's energy row asks
    # for more than at the build; once the window (06:00-22:00) has closed, the held model's row
    # must keep what its fixed intervals hold, not go back to the build's ask
    rolling = RollingDispatch()
    operation = None
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in demo_district.batteries}
    end = DAY_START + pd.Timedelta(hours=24)
    for hours in (16, 18, 20, 22, 23):
        now = DAY_START + pd.Timedelta(hours=hours)
        reports = reports_from_operation(demo_district.config, operation, now) if operation is not None else None
        if reports and reports["compressors"].delivered_kwh > 0:
            reports["compressors"] = dataclasses.replace(reports["compressors"],
                                                         delivered_kwh=reports["compressors"].delivered_kwh - 20.0)
        updates = rolling.updates
        kept = decide(demo_district, now, soc, process_reports=reports, rolling=rolling, horizon_end=end)
        if hours >= 22:  # the window has closed: still in place, and as a rebuild decides
            assert rolling.updates == updates + 1
            built = decide(demo_district, now, soc, process_reports=reports, horizon_end=end)
            assert kept.plan.summary["objective"] == pytest.approx(built.plan.summary["objective"], rel=1e-6)
        step = pd.Timedelta(hours=1 if hours >= 22 else 2)
        plan = kept.plan.table.loc[now:now + step - pd.Timedelta(minutes=15)]
        operation = plan if operation is None else pd.concat([operation, plan])
        soc = {b: float(kept.plan.table.loc[now + step, f"{b}.soc_kwh"]) if now + step < end else soc[b] for b in soc}


def test_recentred_network_rows_are_written_into_the_held_model(demo_district):
    """After a re-centre the held model, its network rows rewritten in place, solves as a model
    rebuilt with the re-centred rows: the same rows with bounds, objective and row values, no new model."""
    district = without_assets(demo_district, {p.id for p in demo_district.config.assets.process_load})
    rolling, models = RecordedRolling(), interval_network_models(district)
    decide(district, DAY_START + pd.Timedelta(hours=6), {}, rolling=rolling)
    held, recentres = rolling.held, models.recentres
    before = _bounded_rows(held.model, 0)
    kept = decide(district, DAY_START + pd.Timedelta(hours=12), {}, rolling=rolling).plan.summary
    assert models.recentres == recentres + 1  # new linearisations of the next hours ...
    assert rolling.held is held and rolling.builds == 1 and rolling.renewals == 1  # ... in the held model
    inp, extend = rolling.last
    k = len(held.inp.index) - len(inp.index)
    rows = _bounded_rows(held.model, k)
    assert len(set(rows) - {(kind, t - k, *numbers) for kind, t, *numbers in before}) > 10  # rows that moved
    activity = held.h.getSolution().row_value  # HiGHS holds the rewritten rows
    for i, r in enumerate(held.repn.rows):
        if r.constraint.parent_block() is held.model.network:
            assert activity[i] == pytest.approx(pyo.value(r.constraint.body), abs=1e-6)
    rebuilt = IntradayDispatch(inp, extend=extend)
    rebuilt.solve()
    assert kept["objective"] == pytest.approx(rebuilt.free_objective(), rel=1e-6)
    rebuilt_rows = _bounded_rows(rebuilt.model, 0)
    assert rows.keys() == rebuilt_rows.keys()
    for key, value in rows.items():
        assert value == pytest.approx(rebuilt_rows[key], rel=1e-6, abs=1e-6)


def _bounded_rows(m, start: int) -> dict:
    """Value of each network row with bounds of intervals ``start`` on, by kind, interval (from
    ``start``), bounds and coefficients."""
    out = {}
    for kind, (times, _) in m.network.row_keys.items():
        for i, c in getattr(m.network, f"{kind}_rows").items():
            if times[i] >= start and (c.has_lb() or c.has_ub()):
                key = (kind, int(times[i]) - start, *(float(x) for x in (c.lower, c.upper, *c.body.linear_coefs)))
                out[key] = pyo.value(c.body)
    return out


def test_ev_stays_that_move_or_appear_take_held_rows_in_place(demo_district):
    """The fleet's vehicle announces later, then earlier departures (and the depot's forecast
    sessions come and go): each stay takes a held energy row, rewritten in place, and every
    decision is the rebuild's. The later departure asks for more than the listed stay could
    deliver, so a row left over the old stay would leave energy unserved."""
    demo_district = without_assets(demo_district, {p.id for p in demo_district.config.assets.process_load})
    rolling = RollingDispatch()
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in demo_district.batteries}
    reports = {9: ChargerReport(True, delivered_kwh=40.0, hours_to_departure=8.0),  # the listed 17:00
               10: ChargerReport(True, delivered_kwh=90.0, requested_kwh=940.0, hours_to_departure=9.0),  # 19:00
               12: ChargerReport(True, delivered_kwh=290.0, requested_kwh=700.0, hours_to_departure=3.0)}  # 15:00
    for hours in (8, 9, 10, 12, 14):
        now = DAY_START + pd.Timedelta(hours=hours)
        ev = {"ev_fleet": reports[hours]} if hours in reports else None
        kept = decide(demo_district, now, soc, ev_reports=ev, rolling=rolling)
        built = decide(demo_district, now, soc, ev_reports=ev)
        a, b = kept.plan.summary, built.plan.summary
        assert a["objective"] == pytest.approx(b["objective"], rel=1e-6, abs=1e-3)
        assert a["ev_sessions"] == b["ev_sessions"]
        if hours == 10:  # 850 kWh at 100 kW: charging runs past the listed 17:00, all of it served
            fleet = next(s for s in a["ev_sessions"] if s["asset"] == "ev_fleet")
            assert fleet["unserved_kwh"] == 0.0 and fleet["delivered_kwh"] == pytest.approx(850.0, abs=1e-3)
            late = kept.plan.table["ev_fleet.p_kw"].loc[DAY_START + pd.Timedelta(hours=17):DAY_START + pd.Timedelta(hours=19)]
            assert late.sum() * 0.25 >= 850.0 - 7 * 100.0 - 1e-3  # what 08:00-17:00 cannot hold
    assert rolling.builds == 1 and rolling.updates == 4


def test_recentred_network_rows_keep_the_held_commitment(demo_district):
    """Re-centred rows written into the held model leave the process loads' on/off plan held (an
    LP) until ``recommit_h`` hours after the last re-commitment."""
    rolling, models = RollingDispatch(), interval_network_models(demo_district)
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in demo_district.batteries}
    operation, held_renewals = None, 0
    for hours in range(6, 12):
        now = DAY_START + pd.Timedelta(hours=hours)
        reports = reports_from_operation(demo_district.config, operation, now) if operation is not None else None
        recentres, renewals, committed = models.recentres, rolling.renewals, rolling.committed_at
        commitment = rolling.held.commitment() if rolling.held is not None else None
        kept = decide(demo_district, now, soc, process_reports=reports, rolling=rolling)
        if rolling.renewals > renewals and now - committed < pd.Timedelta(hours=demo_district.config.dispatch.recommit_h):
            assert models.recentres > recentres and rolling.builds == 1
            assert kept.plan.summary["problem"] == "LP" and rolling.committed_at == committed
            for load, on in rolling.held.commitment().items():
                np.testing.assert_array_equal(on, commitment[load])
            held_renewals += 1
        plan = kept.plan.table.loc[now:now + pd.Timedelta(minutes=45)]
        operation = plan if operation is None else pd.concat([operation, plan])
        soc = {b: float(kept.plan.table.loc[now + pd.Timedelta(hours=1), f"{b}.soc_kwh"]) for b in soc}
    assert held_renewals >= 1
