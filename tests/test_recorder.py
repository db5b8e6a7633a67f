"""The local journal and the writer thread on real SQLite files: records left by a crashed process
are delivered in order at the next start, writes without a recorded result are marked, a record
the store rejects is dropped without holding back the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from gridctl.store import Store
from gridctl.store.journal import Journal, decode, encode
from gridctl.store.recorder import Recorder
from gridctl.store.repository import IN_FLIGHT, NO_RESULT

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_frames_and_times_round_trip():
    idx = pd.date_range(T0, periods=3, freq="15min", name="interval_start")
    frame = pd.DataFrame({"bess.p_kw": [1.5, np.nan, -2.0], "load_kw": [3.0, 4.0, 5.0]}, index=idx)
    back = decode(encode([T0, frame, {"a": {"p_kw": np.float64(1.0)}}, {"x", "y"}]))
    assert back[0] == T0
    pd.testing.assert_frame_equal(back[1], frame, check_freq=False)
    assert back[2] == {"a": {"p_kw": 1.0}} and back[3] == ["x", "y"]


def test_records_of_a_crashed_process_are_delivered_in_order(tmp_path):
    path = tmp_path / "journal.sqlite"
    crashed = Journal(path)  # what a killed daemon left: an intent without result, then events
    crashed.append("add_setpoint", [T0, T0, "bess", "plan", -300.0, -300.0, None, False, IN_FLIGHT])
    for i in range(5):
        crashed.append("add_event", [T0 + timedelta(seconds=i), "info", f"e{i}", "m"])
    crashed.append("add_event", [datetime(2026, 1, 1), "info", "naive", "the store rejects naive times"])
    crashed.append("add_event", [T0 + timedelta(seconds=9), "info", "last", "m"])
    del crashed

    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    records = Recorder(store, Journal(path), lambda: T0 + timedelta(hours=1))
    records.add_event(T0 + timedelta(hours=1), "info", "new", "after the restart")
    assert records.flush(), "journal not delivered"
    events = store.page("events", limit=100).items
    assert [e["kind"] for e in events] == ["e0", "e1", "e2", "e3", "e4", "last", "new"]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    sp = store.page("setpoints", limit=10).items
    assert len(sp) == 1 and sp[0]["written_kw"] == -300.0 and sp[0]["error"] == NO_RESULT
    assert records.status() == {"ok": True, "state": "ok", "since": None, "error": None, "backlog": 0,
                                "dropped": 0}
    records.close()
    assert len(Journal(path)) == 0
    store.close()
