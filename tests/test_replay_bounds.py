"""Perfect-foresight bounds of long replays: solved in blocks of local days, chained."""

from datetime import date

import pandas as pd
import pytest
from test_replay import NO_TRAINING_DAYS

from gridctl.replay import baselines
from gridctl.replay.actuals import load_actuals
from gridctl.replay.baseline_runs import run_baselines
from gridctl.replay.engine import Timings
from gridctl.replay.run import replay_days, replay_index, run_replay
from gridctl.replay.sweep import district_with_config


def test_blocks_cut_at_local_midnights_and_keep_dst_days_whole(demo_district):
    index = replay_index(demo_district, replay_days(date(2016, 3, 21), date(2016, 4, 5)))
    parts = baselines.blocks(demo_district, index)
    assert [len(p) for p in parts] == [7 * 96 - 4, 7 * 96, 2 * 96]  # 27 March has 92 quarter-hours
    assert pd.DatetimeIndex([]).append(parts).equals(index)
    local = [p[0].tz_convert(demo_district.tz) for p in parts]
    assert [t.date() for t in local] == [date(2016, 3, 21), date(2016, 3, 28), date(2016, 4, 4)]
    assert all((t.hour, t.minute) == (0, 0) for t in local)


def test_a_blocked_bound_chains_its_blocks_and_is_no_better_than_the_whole(demo_district, monkeypatch):
    index = replay_index(demo_district, replay_days(date(2016, 7, 12), date(2016, 7, 13)))
    actuals = load_actuals(demo_district, index)
    whole = baselines.perfect_foresight(demo_district, actuals)
    monkeypatch.setattr(baselines, "BLOCK_DAYS", 1)
    planned = []
    optimum = baselines._optimum
    monkeypatch.setattr(baselines, "_optimum", lambda *a: planned.append((a[2], optimum(*a))) or planned[-1][1])
    blocked = baselines.perfect_foresight(demo_district, actuals)
    assert len(planned) == 2
    (soc0, first), (soc1, _) = planned
    assert soc0 is None  # the first block starts from the configured SoC, the second from the first's end
    assert soc1 == {b.cfg.id: float(first[f"{b.cfg.id}.soc_kwh"].iloc[-1]) for b in demo_district.batteries}
    none = baselines.no_flexibility(demo_district, actuals)
    # a cut at midnight only constrains the optimum: no lower, and still far below doing nothing
    assert blocked.emissions_kg.sum() >= whole.emissions_kg.sum() - 1.0
    assert blocked.emissions_kg.sum() < none.emissions_kg.sum() - 0.5 * (none.emissions_kg.sum() - whole.emissions_kg.sum())


def test_the_network_bound_starts_from_the_copper_plate_commitment_within_the_mip_gap(demo_district, monkeypatch):
    index = replay_index(demo_district, replay_days(date(2016, 7, 12), date(2016, 7, 13)))
    actuals = load_actuals(demo_district, index)
    block = (index[0], index[-1])
    loops = []
    loop = baselines.solve_with_ac_loop
    monkeypatch.setattr(baselines, "solve_with_ac_loop", lambda *a: loops.append((a[4], loop(*a))) or loops[-1][1])
    baselines._COPPER_INTEGERS.pop(demo_district, None)
    alone = baselines.perfect_foresight_network(demo_district, actuals)  # its copper-plate start solved for it
    start = baselines._COPPER_INTEGERS[demo_district][block]
    assert loops[0][0] is start and sum(v for k, v in start.items() if ".on[" in k) >= 12  # the press line's 3 h at least
    copper = baselines.perfect_foresight(demo_district, actuals)  # the copper-plate baseline: the same commitment
    assert baselines._COPPER_INTEGERS[demo_district][block] == start
    baselines.perfect_foresight_network(demo_district, actuals)
    assert loops[1][0] is baselines._COPPER_INTEGERS[demo_district][block]
    monkeypatch.setattr(baselines, "solve_with_ac_loop", lambda *a: loops.append((None, loop(*a[:4]))) or loops[-1][1])
    baselines.perfect_foresight_network(demo_district, actuals)  # no start: HiGHS's own search
    started, unstarted = loops[1][1].result, loops[2][1].result
    assert started.objective == pytest.approx(unstarted.objective, rel=1e-4)  # both within the MIP gap of the optimum
    assert started.mip_gap <= 1e-4 and unstarted.mip_gap <= 1e-4
    assert alone.emissions_kg.sum() >= copper.emissions_kg.sum() - 1.0  # network limits only constrain the bound


def test_the_network_bound_on_the_held_copper_plate_model_equals_one_on_a_new_build(demo_district, monkeypatch):
    index = replay_index(demo_district, replay_days(date(2016, 7, 12), date(2016, 7, 13)))
    actuals = load_actuals(demo_district, index)
    builds = []
    build = baselines.build_model
    monkeypatch.setattr(baselines, "build_model", lambda inp: builds.append(inp) or build(inp))
    baselines.perfect_foresight(demo_district, actuals)  # holds its first block's model
    shared = baselines.perfect_foresight_network(demo_district, actuals)  # takes it: no build of its own
    assert len(builds) == 1 and demo_district not in baselines._HELD
    fresh = baselines.perfect_foresight_network(demo_district, actuals)
    assert len(builds) == 2
    pd.testing.assert_frame_equal(shared, fresh, check_exact=True)
    other = {b.cfg.id: b.cfg.soc_min_kwh for b in demo_district.batteries}  # from other states: not taken
    baselines.perfect_foresight(demo_district, actuals)
    shared_other = baselines.perfect_foresight_network(demo_district, actuals, other)
    assert len(builds) == 4 and demo_district in baselines._HELD
    baselines._HELD.pop(demo_district)
    fresh_other = baselines.perfect_foresight_network(demo_district, actuals, other)
    pd.testing.assert_frame_equal(shared_other, fresh_other, check_exact=True)


def test_a_bounds_solves_have_a_decisions_time_limit_per_day_of_its_block(demo_district, monkeypatch):
    """A week's MIP takes far longer than a decision's: the bounds' every solve (the copper plate's,
    the network-feasible one's AC loop) gets ``[dispatch] time_limit_s`` per local day of its block."""
    from gridctl.dispatch import ac_loop

    limits = []

    def recorded(solve):
        return lambda model, time_limit_s, *a, **k: limits.append(time_limit_s) or solve(model, time_limit_s, *a, **k)

    monkeypatch.setattr(baselines, "solve", recorded(baselines.solve))
    monkeypatch.setattr(ac_loop, "solve", recorded(ac_loop.solve))
    actuals = load_actuals(demo_district, replay_index(demo_district, replay_days(date(2016, 7, 12), date(2016, 7, 13))))
    baselines.perfect_foresight(demo_district, actuals)
    baselines.perfect_foresight_network(demo_district, actuals)
    assert len(limits) >= 2 and set(limits) == {2 * demo_district.config.dispatch.time_limit_s}


def test_a_bound_without_a_solution_is_left_out_of_the_report_not_the_replay(demo_district, caplog):
    """A solver time limit no MIP meets (real HiGHS runs): the perfect-foresight bound fails (and
    so does every decision, leaving gridctl's devices as measured); the replay still reports the
    other baselines, and its summary says which bound failed and why."""
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.time_limit_s = 1e-9
    cfg.forecast.min_history_days = NO_TRAINING_DAYS
    cfg.replay.baselines = ["perfect-foresight", "none"]
    district = district_with_config(demo_district, cfg)
    day = date(2016, 7, 12)
    runs, failed = run_baselines(district, load_actuals(district, replay_index(district, [day])), None, Timings())
    assert list(runs) == ["none"] and list(failed) == ["perfect-foresight"]
    assert "Time limit" in failed["perfect-foresight"]
    with caplog.at_level("WARNING"):
        summary = run_replay(district, day, day).summary
    assert "baseline perfect-foresight left out of the report" in caplog.text
    assert summary["baselines_failed"] == failed
    assert list(summary["runs"]) == ["gridctl", "none"]
    assert summary["reference_baseline"] == "none"  # the first configured baseline that ran
    assert summary["perfect_foresight_capture_pct"] is None
