from datetime import date, time

import pandas as pd

from gridctl.timegrid import gate_time, local_day


def test_normal_and_dst_days_have_96_92_100_intervals():
    assert len(local_day(date(2016, 7, 14), "Europe/Berlin", 15)) == 96
    assert len(local_day(date(2016, 3, 27), "Europe/Berlin", 15)) == 92
    assert len(local_day(date(2016, 10, 30), "Europe/Berlin", 15)) == 100


def test_local_day_starts_at_local_midnight_in_utc():
    idx = local_day(date(2016, 7, 14), "Europe/Berlin", 15)
    assert idx[0] == pd.Timestamp("2016-07-13T22:00:00Z")
    assert idx[-1] == pd.Timestamp("2016-07-14T21:45:00Z")


def test_gate_time_is_previous_local_day():
    assert gate_time(date(2016, 7, 14), "Europe/Berlin", time(12)) == pd.Timestamp("2016-07-13T10:00:00Z")
