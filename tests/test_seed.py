"""The store seeded from the configured history, and the live daemon training on the store alone."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pandas as pd
from test_daemon import running_daemon, wait_for
from test_store import store  # noqa: F401 - the SQLite and PostgreSQL store fixture

import gridctl.daemon
from gridctl import forecasting
from gridctl.store.seed import seed_history
from gridctl.store.series import SeriesRow, measured_frame, upsert_measured

RES = pd.Timedelta(minutes=15)


def test_seeding_copies_the_history_up_to_now_once(demo_district, store):  # noqa: F811
    history = demo_district.history.loc["2016-03-01":"2016-03-04", ["load/G0-A", "pv/PV2"]]
    now = pd.Timestamp("2016-03-03 06:07", tz="UTC")
    received = datetime.now(UTC)
    assert seed_history(store, history, now, 15, received) == 2 * (2 * 96 + 24)  # two days and 6 hours ended
    assert seed_history(store, history, now, 15, received) == 0  # a second start inserts nothing
    measured_at = now.floor("15min") + pd.Timedelta(hours=1)
    upsert_measured(store, [SeriesRow("load/G0-A", "p_kw", measured_at.to_pydatetime(), 5.0)],
                    "api", received)  # a measurement of an interval the history also holds
    later = now + pd.Timedelta(hours=6)
    assert seed_history(store, history, later, 15, received) == 2 * 4 * 6  # what ended since, offered
    stored = measured_frame(store, list(history.columns), None, later.to_pydatetime())
    expected = history.loc[history.index + RES <= later]
    assert stored.index.equals(expected.index)
    kept = stored.index != measured_at
    assert (stored.loc[kept] == expected.loc[kept]).all().all()  # the same values, bit for bit
    assert stored.loc[~kept, "load/G0-A"].tolist() == [5.0]  # a stored measurement is never overwritten


async def test_the_live_daemon_trains_on_the_seeded_store_and_never_reads_after_now(demo_district, tmp_path,
                                                                                     monkeypatch):
    district = copy.copy(demo_district)  # six weeks of history before the run: a quick seed
    district.__dict__["history"] = demo_district.history.loc["2016-10-10":"2016-11-30"]
    seen = []
    decide = gridctl.daemon.decide

    def recording(known, now, *args, **kwargs):
        fitted = forecasting.district_forecasters(known)
        seen.append((pd.Timestamp(now), known.history.copy(), fitted.load._history.index.max(),
                     fitted.pv._history.index.max()))
        return decide(known, now, *args, **kwargs)

    monkeypatch.setattr(gridctl.daemon, "decide", recording)
    async with running_daemon(district, tmp_path, seed_history=True) as run:
        store, first_now = run.store, seen[0][0]
        # the store's rows of the intervals ended by the first decision (rows of later intervals
        # arrive while the clock runs on, and are no part of what that decision could see)
        seeded = measured_frame(store, list(district.history.columns), None, first_now.floor("15min").to_pydatetime())
        assert seeded.index.min() == district.history.index.min()
        assert seen[0][1].equals(seeded.loc[seen[0][1].index])  # the first plan's history: the store's rows
        ended = first_now.floor("15min") - RES  # a correction of an ended interval, as a meter could send it
        upsert_measured(store, [SeriesRow("load/G0-A", "p_kw", ended.to_pydatetime(), 4321.0)], "api",
                        datetime.now(UTC))
        later = await wait_for(lambda: [s for s in seen[1:] if s[0] > first_now], 120, "a later intraday cycle")
        assert later[0][1].loc[ended, "load/G0-A"] == 4321.0  # the measurement reached the next forecast's history
    res = RES
    assert all(h.index.max() + res <= now and load_end + res <= now and pv_end + res <= now
               for now, h, load_end, pv_end in seen)  # no forecaster holds a row stamped after its issue time
