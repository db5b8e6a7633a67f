"""No look-ahead: changing every measurement after an instant leaves all earlier decisions unchanged
(re-optimisations in the persistent model, as the daemon and replay make them; forecasts issued in a
second process ahead of the decisions, as a replay of three days or more issues them)."""

from __future__ import annotations

import os
from datetime import date

import pandas as pd
import pandas.testing as pdt

from gridctl.district import District
from gridctl.replay.run import run_replay
from gridctl.replay.sweep import district_with_config

START, END = date(2016, 7, 11), date(2016, 7, 13)
CUT = pd.Timestamp("2016-07-12T13:07Z")  # 15:07 local on the second day


def with_data(base: District, config, history: pd.DataFrame, carbon: pd.DataFrame) -> District:
    """A district on ``base``'s network with its own data (and so its own forecasters)."""
    district = District(config, base.net)
    district.__dict__.update(history=history, carbon=carbon)
    return district


def test_decisions_before_an_instant_ignore_all_data_after_it(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.replay.reoptimise_every_min, cfg.replay.ac_check_every_min, cfg.replay.baselines = 180, 0, ["none"]
    cfg.forecast.min_history_days = 10_000  # seasonal naive: the forecasters' own no-look-ahead is tested with them
    cfg.assets.process_load = []  # their MILP builds every decision afresh; here the held model is under test
    history = demo_district.history.copy()
    history.loc[history.index >= CUT] *= 1.7
    carbon = demo_district.carbon.copy()
    after = pd.to_datetime(carbon.issued_at_utc, utc=True) >= CUT  # measured after the cut, or forecast after it
    carbon.loc[after, "ci_kg_per_kwh"] = carbon.loc[after, "ci_kg_per_kwh"][::-1].to_numpy()

    a = run_replay(district_with_config(demo_district, cfg), START, END).controller
    b = run_replay(with_data(demo_district, cfg, history, carbon), START, END).controller

    assert [d.now for d in a.decisions] == [d.now for d in b.decisions]
    before = [(x, y) for x, y in zip(a.decisions, b.decisions) if x.now < CUT]
    later = [(x, y) for x, y in zip(a.decisions, b.decisions) if x.now > CUT]
    assert len(before) == 14 and later  # every 3 h: 8 on the first day, 6 on the second up to 15:00
    for x, y in before:
        assert x.setpoints_kw == y.setpoints_kw
        pdt.assert_frame_equal(x.plan.table, y.plan.table)
    for day in a.day_ahead:  # all three day-ahead plans were issued at gate times before the cut
        pdt.assert_frame_equal(a.day_ahead[day].table, b.day_ahead[day].table)
    # the changed data does reach the decisions made after the instant
    assert any(not x.plan.table.equals(y.plan.table) for x, y in later)
    early = a.operation.index < CUT
    pdt.assert_frame_equal(a.operation[early], b.operation[early])
    # decided in the persistent path: re-optimisations updated a held model in place, and shifted
    # it onto the next day's horizon at local midnight
    for run in (a, b):
        t = run.timings
        assert t.models_shifted >= 1 and t.models_updated >= 10
        assert t.models_built + t.models_shifted + t.models_updated == len(run.decisions)
    # with a spare core, forecasts issued in a second process ahead of the decisions (forecasts_apart_days = 3)
    assert (b.forecasts_apart > 0) == (len(os.sched_getaffinity(0)) > 1)
