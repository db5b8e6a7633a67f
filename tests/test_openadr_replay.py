"""Replay with recorded grid-operator events (``gridctl replay --events``): every plan made after
an event was issued keeps import under its cap, a new version issued during the day triggers a
re-optimisation at the next interval start and tightens the cap from then on."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from test_openadr import DAY, ISSUED, cap_event, evening
from test_replay import replay_district

from gridctl.cli import main
from gridctl.grid_events import GridEvents
from gridctl.replay.run import run_replay

CAP_KW = 13_000.0  # the demo's uncontrolled evening peak on DAY is above 15 MW
TIGHTER_KW = 12_500.0
CHANGED = "2016-07-12T09:05:00+00:00"  # 11:05 local, between the 2-hourly re-optimisations


@pytest.mark.parametrize("forecasts_apart_days", [3, 1])  # 1: the day-ahead plan made in the forecasts' process
def test_replay_plans_respect_a_recorded_cap(demo_district, forecasts_apart_days):
    events = GridEvents()
    events.add({**cap_event("dso-flex", CAP_KW, "ev-evening"), "createdDateTime": ISSUED})
    events.add({**cap_event("dso-flex", TIGHTER_KW, "ev-evening"), "createdDateTime": ISSUED,
                "modificationDateTime": CHANGED})
    district = replay_district(demo_district, reoptimise_every_min=120, ac_check_every_min=0, baselines=["none"],
                               forecasts_apart_days=forecasts_apart_days)
    result = run_replay(district, DAY, DAY, grid_events=events)
    assert result.controller.plans_apart == (forecasts_apart_days == 1 and len(os.sched_getaffinity(0)) > 1)
    planned = evening(result.controller.planned.grid_import_kw)
    assert len(planned) == 12 and planned.max() <= TIGHTER_KW + 1e-6
    assert evening(result.runs["none"].grid_import_kw).max() > CAP_KW + 1000  # the cap binds
    day_ahead = evening(result.controller.day_ahead[DAY].table.grid_import_kw)
    assert CAP_KW - 1e-6 <= day_ahead.max() <= CAP_KW + 1e-6  # made at the gate: the first version
    times = [d.now for d in result.controller.decisions]
    assert pd.Timestamp("2016-07-12T11:15:00+02:00") in times  # the change's re-optimisation
    for decision in result.controller.decisions:  # every re-optimisation covering the evening took the event
        if decision.now < pd.Timestamp("2016-07-12T18:00:00+02:00"):
            assert decision.plan.summary["grid_events"][0]["event_id"] == "ev-evening"


def test_replay_cli_reports_a_bad_events_file_in_one_line(tmp_path, capsys):
    bad = tmp_path / "events.json"
    bad.write_text(json.dumps([{**cap_event("dso-flex", CAP_KW, "ev1"), "createdDateTime": ISSUED,
                                "intervalPeriod": {"start": "2016-07-12T17:00:00", "duration": "PT1H"}}]))
    code = main(["replay", "--start", "2016-07-12", "--end", "2016-07-12", "--out", str(tmp_path / "out"),
                 "--events", str(bad)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.endswith("event 0: intervalPeriod.start: 2016-07-12 17:00:00 has no UTC offset")
