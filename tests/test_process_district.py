"""Process loads of the demo district: windows over horizons, day-ahead plan, state reports, replay."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandapower as pp
import pandas as pd
import pytest
from test_cli_errors import assert_one_line, config_with, gridctl
from test_replay import replay_district

from gridctl.config import parse_config
from gridctl.dispatch.process_load import ProcessReport
from gridctl.planning import make_plan
from gridctl.process_loads import ProcessTracker, process_params
from gridctl.replay.run import run_replay
from gridctl.timegrid import local_day

DAY = date(2016, 6, 1)
TZ = "Europe/Berlin"


def _config(**load) -> object:
    return parse_config({"assets": {"process_load": [{
        "id": "oven", "bus": 0, "unit_id": 50, "p_min_kw": 100.0, "p_max_kw": 100.0, "run_h": 2.0,
        "window": ["22:00", "06:00"], **load}]}})


def _net() -> pp.pandapowerNet:
    net = pp.create_empty_network()
    pp.create_bus(net, vn_kv=20.0)
    return net


def test_a_window_across_midnight_splits_its_energy_by_the_part_in_each_horizon():
    cfg = _config()
    day = local_day(DAY, TZ, 15)
    (pl,) = process_params(cfg, _net(), day)
    assert [(w.start, w.end) for w in pl.windows] == [(0, 24), (88, 96)]  # 00-06 (from the evening before), 22-24
    assert [w.energy_kwh for w in pl.windows] == [150.0, 50.0]  # 6/8 and 2/8 of 200 kWh, whole intervals
    spring = local_day(date(2016, 3, 27), TZ, 15)  # 92 intervals: 02:00-03:00 does not exist
    (pl,) = process_params(cfg, _net(), spring)
    assert pl.windows[0].end == 20  # 5 of the night's 7 hours: 142.9 kWh, to whole 25 kWh intervals
    assert pl.windows[0].energy_kwh == pytest.approx(150.0)


def test_a_report_of_the_window_under_way_replaces_the_share():
    cfg = _config(contiguous=True, min_on_min=60)
    horizon = local_day(DAY, TZ, 15)[8:]  # from 02:00, inside the night window
    report = ProcessReport(on=True, minutes_in_state=30.0, delivered_kwh=50.0, starts=1)
    (pl,) = process_params(cfg, _net(), horizon, {"oven": report})
    first = pl.windows[0]
    assert first.energy_kwh == 150.0 and first.starts_left == 0  # the block under way may not restart
    assert pl.on_initial and pl.steps_in_state == 2


def test_tracker_counts_energy_and_starts_from_the_first_reading_in_a_window():
    tracker = ProcessTracker(_config())
    t0 = pd.Timestamp("2016-06-01 20:00", tz="UTC")  # 22:00 local: the window opens
    assert tracker.report("oven", t0, False, 600.0, 1000.0, 7) == ProcessReport(False, 10.0, 0.0, 0)
    later = tracker.report("oven", t0 + pd.Timedelta(hours=1), True, 1800.0, 1080.0, 8)
    assert later.delivered_kwh == pytest.approx(80.0) and later.starts == 1 and later.on
    outside = tracker.report("oven", t0 + pd.Timedelta(hours=12), False, 60.0, 1300.0, 9)
    assert outside.delivered_kwh == 0.0 and outside.starts == 0


def test_demo_plan_runs_the_press_line_in_one_block_inside_its_window(demo_district):
    plan = make_plan(demo_district, DAY)
    s = plan.summary
    assert s["problem"] == "MILP" and s["mip_gap"] <= demo_district.config.dispatch.mip_gap
    p = plan.table["press_line.p_kw"]
    on = p[p > 1e-6]
    local = on.index.tz_convert(TZ)
    assert len(on) == 12 and np.allclose(on, 200.0)
    assert (local.hour >= 8).all() and (local + pd.Timedelta(minutes=15)).max().hour <= 16
    assert (on.index[-1] - on.index[0]) == pd.Timedelta(minutes=15 * 11)  # contiguous
    press = next(r for r in s["process_loads"] if r["asset"] == "press_line")
    assert press["delivered_kwh"] == pytest.approx(600.0) and press["starts"] == 1
    both = plan.table["press_line.p_kw"] + plan.table["compressors.p_kw"]
    assert both.max() <= 300.0 + 1e-6  # the works group's budget
    assert {"press_line", "compressors"} <= {a["id"] for a in s["assets"] if a["kind"] == "process_load"}


def test_replay_keeps_one_press_block_across_re_optimisations(demo_district):
    result = run_replay(replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=120,
                                        ac_check_every_min=0, baselines=["none"]), DAY, DAY)
    rows = {r["asset"]: r for r in result.summary["process_loads"]}
    assert rows["press_line"]["starts"] == 1  # re-plans knew the block had started
    assert rows["press_line"]["delivered_kwh"] == pytest.approx(600.0, abs=2.0)  # less the start ramp
    assert rows["compressors"]["starts"] <= 3
    assert rows["compressors"]["delivered_kwh"] == pytest.approx(800.0, abs=2.0)
    op = result.runs["gridctl"]
    assert (op["press_line.p_kw"] + op["compressors.p_kw"]).max() <= 300.0 + 1e-6


@pytest.mark.parametrize("edit, pattern", [
    ((r'^group = "works"( +# process group.*)$', r'group = "wrks"\1'),
     r"^error: assets\.process_load\.0\.group: 'wrks' \('press_line'\) is not one of the process_groups \['works'\]$"),
    ((r"^run_h = 3\.0 .*$", "run_h = 3.1"), r"^error: assets\.process_load\.0\.energy_kwh: 'press_line' on/off .*whole 15-min"),
    ((r'^bus = "MV4.101 Bus 12"( +# bus of the net \(index or name\) where.*)$', r'bus = "nowhere"\1'),
     r"^error: assets\.process_load\.0\.bus: no bus named 'nowhere'"),
    ((r"^p_min_kw = 50\.0 .*$", "p_min_kw = 500.0"), r"^error: assets\.process_load\.1: .*p_min_kw 500.0 is above p_max_kw"),
])
def test_process_load_mistakes_are_one_line_and_exit_2(edit, pattern, tmp_path):
    proc = gridctl("plan", "--date", "2016-07-14", "--config", str(config_with(tmp_path, edit)),
                   "--out", str(tmp_path / "out"))
    assert_one_line(proc, 2, pattern)
