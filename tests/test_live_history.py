"""The live path: the daemon plans on data known at its now; measurements reach the store."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pandas as pd
from test_daemon import running_daemon, wait_for

import gridctl.daemon
from forecasts.carbon import split_provider_rows
from forecasts.seasonal_naive import SeasonalNaive
from gridctl import forecasting
from gridctl.live_history import KnownDistrict, known_district
from gridctl.store import Store
from gridctl.store.series import (
    SeriesRow,
    measured_at,
    upsert_forecasts,
    upsert_measured,
)


def test_known_history_ends_at_now_and_takes_measurements_from_the_store(demo_district, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    now = pd.Timestamp("2016-06-01 10:07", tz="UTC")
    last = pd.Timestamp("2016-06-01 09:45", tz="UTC")  # the newest interval that has ended
    try:
        upsert_measured(store, [SeriesRow("load/G0-A", "p_kw", last.to_pydatetime(), 12345.0),
                                SeriesRow("load/G0-A", "p_kw", (last + pd.Timedelta(minutes=15)).to_pydatetime(),
                                          777.0),
                                SeriesRow("carbon", "ci_kg_per_kwh", last.to_pydatetime(), 0.9)], "api",
                        datetime.now(UTC))
        ahead = pd.Timestamp("2016-06-01 11:00", tz="UTC")
        hour = pd.Timedelta(hours=1)
        upsert_forecasts(store, [
            SeriesRow("carbon", "ci_kg_per_kwh", ahead.to_pydatetime(), 0.1, (now - hour).to_pydatetime()),
            SeriesRow("carbon", "ci_kg_per_kwh", ahead.to_pydatetime(), 0.7, (now + hour).to_pydatetime()),
            SeriesRow("weather", "temp_air_c", ahead.to_pydatetime(), 21.5, (now - hour).to_pydatetime()),
            SeriesRow("weather", "ghi_w_m2", ahead.to_pydatetime(), 640.0, (now - hour).to_pydatetime()),
            SeriesRow("weather", "temp_air_c", ahead.to_pydatetime(), 30.0, (now + hour).to_pydatetime())], "provider")
        known = known_district(demo_district, store, now)
    finally:
        store.close()
    assert known.history.index.max() == last  # the running interval and everything after: unknown
    assert known.history.loc[last, "load/G0-A"] == 12345.0  # the measurement replaces the configured value
    assert (pd.to_datetime(known.carbon.issued_at_utc, utc=True) <= now).all()
    assert known.measured_carbon.ci_kg_per_kwh.iloc[-1] == 0.9  # the store's measured intensity wins
    assert known.measured_carbon.index[-1] == last
    provider = split_provider_rows(known.carbon)[1]
    assert provider.loc[provider.index == ahead, "ci_kg_per_kwh"].tolist()[-1] == 0.1  # issued after now: unseen
    assert known.weather[["temp_air_c", "ghi_w_m2"]].values.tolist() == [[21.5, 640.0]]  # one issue, before now
    assert known.weather.issued_at_utc.iloc[0] == now - pd.Timedelta(hours=1)
    assert demo_district.history.index.max() > now  # the configured data reaches further


def test_after_a_long_gap_the_load_forecast_falls_back_and_says_why(demo_district, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'gridctl.sqlite'}")
    now = pd.Timestamp("2016-06-01 10:07", tz="UTC")
    stale = copy.copy(demo_district)  # its history ends 8 hours before now
    stale.__dict__["history"] = demo_district.history.loc[:now - pd.Timedelta(hours=8)]
    events = []
    try:
        known, rebuilt = KnownDistrict(stale, store, 6.0, lambda *e: events.append(e)).at(now)
    finally:
        store.close()
    assert rebuilt and events[0][:2] == ("warning", "measurement_gap") and "seasonal naive" in events[0][2]
    load = forecasting.district_forecasters(known).load
    assert isinstance(load, SeasonalNaive)
    horizon = pd.date_range("2016-06-01 10:15", periods=8, freq="15min", tz="UTC")
    week_before = demo_district.history.loc[horizon - pd.Timedelta(days=7), known.load_series].to_numpy()
    assert (load.predict(now, horizon).to_numpy() == week_before).all()


async def test_the_live_daemon_never_plans_on_rows_after_its_now(demo_district, tmp_path, monkeypatch):
    seen = []
    decide = gridctl.daemon.decide

    def recording(district, now, *args, **kwargs):
        seen.append((pd.Timestamp(now), district.history.index.max(),
                     pd.to_datetime(district.carbon.issued_at_utc, utc=True).max()))
        return decide(district, now, *args, **kwargs)

    monkeypatch.setattr(gridctl.daemon, "decide", recording)
    res = pd.Timedelta(minutes=15)
    async with running_daemon(demo_district, tmp_path) as run:
        clock = run.daemon.clock
        first = clock.data_time(run.daemon.current_interval())

        def published():  # the first interval with the demo feed's, the meter's and the derived rows
            for k in range(8):
                row = measured_at(run.store, (first + k * res).to_pydatetime())
                if {"load/G0-A", "grid/meter", "derived/inflexible_load"} <= set(row):
                    return first + k * res, row
            return None

        first, row = await wait_for(published, 90, "an interval's measurements")
        await wait_for(lambda: len(seen) >= 2, 60, "two intraday cycles")
        plan = run.store.latest_plan()
    assert all(history_end + res <= now and carbon_issued <= now for now, history_end, carbon_issued in seen)
    assert row["load/G0-A"] == demo_district.history.loc[first, "load/G0-A"]
    # derived load = meter - own assets + measured PV; the flexible loads' demand is not in it
    # (within the flexible loads' demand and 5 %: asset means come from telemetry sampled about every
    # minute, and the simulated meter integrates each step between two readings at the step's end power;
    # tests/test_measurements.py checks the formula to 0.1 % with readings at the boundaries)
    flexible = sum(demo_district.history.loc[first, s] for s in ("load/APLS_0.5202", "load/APLS_0.1014"))
    load = demo_district.history.loc[first, demo_district.load_series].sum()
    assert abs(row["derived/inflexible_load"] - load) < flexible + 0.05 * load
    assert plan["summary"]["history_known_until"] is not None and plan["summary"]["measurement_gaps"] == []
