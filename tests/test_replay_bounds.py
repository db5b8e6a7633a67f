"""Perfect-foresight bounds of long replays: solved in blocks of local days, chained."""

from datetime import date

import pandas as pd

from gridctl.replay import baselines
from gridctl.replay.actuals import load_actuals
from gridctl.replay.run import replay_days, replay_index


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
