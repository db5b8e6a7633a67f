"""Days across workers: a window replayed in chunks on a local Dask cluster agrees with the sequential replay."""

from __future__ import annotations

from datetime import date

import pytest

from gridctl.config import ConfigError
from gridctl.replay.chunks import Chunk, run_chunked, split_window
from gridctl.replay.run import run_replay
from gridctl.replay.sweep import district_with_config

START, END = date(2016, 7, 11), date(2016, 7, 14)


def test_window_splits_into_consecutive_chunks_warmed_up_before_their_first_day():
    days = [date(2016, 7, d) for d in range(11, 18)]
    assert split_window(days, 3, 2) == [
        Chunk(date(2016, 7, 11), date(2016, 7, 11), date(2016, 7, 13)),  # the first: no warm-up, as the sequential run
        Chunk(date(2016, 7, 12), date(2016, 7, 14), date(2016, 7, 15)),
        Chunk(date(2016, 7, 14), date(2016, 7, 16), date(2016, 7, 17)),
    ]
    with pytest.raises(ConfigError, match="only 7 days"):
        split_window(days, 8, 1)


def test_chunked_replay_agrees_with_the_sequential_one(demo_district, capsys):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.replay.reoptimise_every_min, cfg.replay.ac_check_every_min = 180, 60
    cfg.replay.baselines = ["none", "self-consumption"]
    cfg.forecast.min_history_days = 10_000  # seasonal naive: no model training in the workers
    district = district_with_config(demo_district, cfg)
    sequential = run_replay(district, START, END)
    capsys.readouterr()
    chunked = run_chunked(district, START, END, chunks=2, warmup_days=1, n_workers=2, progress=True)
    bar = capsys.readouterr().err  # days 11-12, then 12 (warm-up) to 14: each reported from its worker
    assert "5/5" in bar and "day" in bar, bar
    assert "baselines of 2016-07-1" in bar, bar  # shown while a chunk's baselines run after its days

    a, b = sequential.summary, chunked.summary
    assert b["days"] == a["days"] == 4 and b["intervals_per_day"] == a["intervals_per_day"]
    assert chunked.intervals.index.equals(sequential.intervals.index)
    # the first chunk starts where the sequential replay does: the same emissions to the boundary (the
    # process loads' MILP solutions may differ within HiGHS's MIP gap, so intervals may differ)
    first = sequential.intervals.index < chunked.runs["gridctl"].index[2 * 96]
    assert chunked.runs["gridctl"][first].emissions_kg.sum() == pytest.approx(
        sequential.runs["gridctl"][first].emissions_kg.sum(), rel=1e-4)
    # the second chunk starts its warm-up a day early from the initial SoC and re-converges in it
    # (measured: gridctl's emissions within 2e-8 relative, baselines equal); the tolerance leaves
    # room for ties, LP optima of equal cost with another dispatch, after a different warm start
    for run in ("gridctl", "none", "self-consumption"):
        x, y = a["runs"][run], b["runs"][run]
        assert y["emissions_adjusted_kg"] == pytest.approx(x["emissions_adjusted_kg"], rel=1e-4), run
        assert y["peak_import_kw"] == pytest.approx(x["peak_import_kw"], rel=1e-3), run
    assert b["reduction_pct"] == pytest.approx(a["reduction_pct"], abs=0.01)
    assert abs(b["ac_violations"] - a["ac_violations"]) <= 1
