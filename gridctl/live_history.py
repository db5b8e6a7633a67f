"""History as known at the daemon's now: the configured data up to now, extended by the store.

The daemon plans on :func:`known_district`: a copy of the district whose history holds only
intervals that had ended at the data-clock instant ``data_now`` (the configured history, the
demo's or a CSV, up to then, then the store's measured series after its end) and whose carbon
data holds only rows issued by then. So no forecaster the daemon runs can read a row stamped
after the daemon's now, whatever the configured files hold. :class:`DemoFeed` publishes the
configured history of each interval as it ends, through the measurement entry point, like a
site's meters would.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from functools import cached_property

import pandas as pd

from forecasts.seasonal_naive import SeasonalNaive
from gridctl import forecasting
from gridctl.district import District
from gridctl.feed_source import WeatherSource, weather_source
from gridctl.measurements import SeriesSpec, ingest
from gridctl.store import Store
from gridctl.store.seed import seed_history
from gridctl.store.series import forecast_rows, forecast_table, measured_frame

log = logging.getLogger(__name__)
NO_WEATHER_FEED = weather_source({})


def _feeds(district: District) -> dict[str, str]:
    """History series -> the measured series feeding it (``[measurements] forecast_inputs``, default
    the same id)."""
    inputs = district.config.measurements.forecast_inputs
    return {s: inputs.get(s, s) for s in district.history.columns}


def _measured(district: District, store: Store, since: pd.Timestamp | None, data_now: pd.Timestamp) -> pd.DataFrame:
    """The store's measured rows feeding the history series, of intervals in [since, ended by ``data_now``)."""
    feeds, res = _feeds(district), pd.Timedelta(minutes=district.resolution_min)
    measured = measured_frame(store, sorted(set(feeds.values())), None if since is None else since.to_pydatetime(),
                              (data_now - res).to_pydatetime() + pd.Timedelta(microseconds=1))
    return pd.DataFrame({s: measured[m] for s, m in feeds.items()}, index=measured.index)


def known_history(district: District, store: Store, data_now: pd.Timestamp) -> pd.DataFrame:
    """History series (kW) of every interval ended by ``data_now``: the configured history, overlaid
    from its last day on by the store's measured rows (``[measurements] seed_history = false``)."""
    res = pd.Timedelta(minutes=district.resolution_min)
    seed = district.history.loc[district.history.index + res <= data_now]
    since = seed.index[-1] - pd.Timedelta(days=1) if len(seed) else None  # re-read the last day: corrections
    fed = _measured(district, store, since, data_now)
    if fed.empty:
        return seed
    return fed.combine_first(seed.reindex(seed.index.union(fed.index)))[seed.columns]


class StoredHistory:
    """History series (kW) from the store alone (``[measurements] seed_history = true``), read
    incrementally: each read takes the rows of the last day known and after (late corrections)."""

    def __init__(self, district: District, store: Store):
        self.district, self.store = district, store
        self.frame: pd.DataFrame | None = None

    def until(self, data_now: pd.Timestamp) -> pd.DataFrame:
        """Every interval ended by ``data_now`` (nothing stamped later is read)."""
        res = pd.Timedelta(minutes=self.district.resolution_min)
        known = None if self.frame is None or self.frame.empty else self.frame
        since = None if known is None else min(known.index.max() - pd.Timedelta(days=1), data_now - res)
        fed = _measured(self.district, self.store, since, data_now)
        self.frame = fed if known is None else fed.combine_first(known.loc[known.index < since])
        return self.frame.loc[self.frame.index + res <= data_now]


def known_carbon(district: District, store: Store, data_now: pd.Timestamp) -> pd.DataFrame:
    """Carbon rows issued by ``data_now`` (measured rows only of intervals ended by then): the
    configured carbon data, then the store's ``[measurements] carbon_series`` (measured, and the
    newest provider forecast from the external forecasts), which win for the same interval."""
    carbon = district.carbon
    res = pd.to_timedelta(carbon.resolution_min, unit="min")
    issued = pd.to_datetime(carbon.issued_at_utc, utc=True)
    is_forecast = issued < carbon.index
    keep = (issued <= data_now) & (is_forecast | (carbon.index + res <= data_now))
    return pd.concat([carbon.loc[keep.to_numpy()], _store_carbon(district, store, data_now)])


def _store_carbon(district: District, store: Store, data_now: pd.Timestamp) -> pd.DataFrame:
    """The store's carbon rows in the canonical in-memory form of the configured carbon data."""
    series, res = district.config.measurements.carbon_series, pd.Timedelta(minutes=district.resolution_min)
    measured = measured_frame(store, [series], None, (data_now - res).to_pydatetime() + pd.Timedelta(microseconds=1),
                              quantity="ci_kg_per_kwh")[series].dropna()
    provider = forecast_rows(store, series, data_now.to_pydatetime(), (data_now - pd.Timedelta(days=1)).to_pydatetime(),
                             (data_now + pd.Timedelta(days=3)).to_pydatetime())
    template = district.carbon.iloc[:1]
    frames = [pd.DataFrame({"ci_kg_per_kwh": measured, "issued_at_utc": measured.index + res}),
              pd.DataFrame({"ci_kg_per_kwh": provider.value, "issued_at_utc": provider.issued_at})]
    rows = pd.concat([f for f in frames if not f.empty]) if any(not f.empty for f in frames) else None
    if rows is None or template.empty:
        return template.iloc[:0]
    for column in ("signal_type", "zone"):
        rows[column] = template[column].iloc[0]
    rows["issued_at_utc"] = pd.to_datetime(rows.issued_at_utc, utc=True)
    rows["resolution_min"], rows["source"], rows["is_estimated"] = district.resolution_min, "store", False
    rows.index.name = template.index.name
    return rows[template.columns]


def known_weather(district: District, store: Store, data_now: pd.Timestamp) -> pd.DataFrame | None:
    """Weather forecasts issued by ``data_now``: the configured table's, then the store's
    ``[measurements] weather_series`` (None when neither has any)."""
    frames = []
    if district.weather is not None:
        issued = pd.to_datetime(district.weather.issued_at_utc, utc=True)
        frames.append(district.weather.loc[(issued <= data_now).to_numpy()])
    stored = forecast_table(store, district.config.measurements.weather_series, data_now.to_pydatetime())
    if not stored.empty:
        frames.append(stored)
    return pd.concat(frames).sort_index(kind="stable") if frames else None


def known_district(district: District, store: Store, data_now: pd.Timestamp,
                   history: pd.DataFrame | None = None, weather: bool = True) -> District:
    """A copy of ``district`` whose history (``history``, default :func:`known_history`), carbon data
    and weather forecasts (none without ``weather``) are those known at ``data_now``."""
    out = copy.copy(district)
    for name, attr in vars(type(district)).items():
        if isinstance(attr, cached_property):
            out.__dict__.pop(name, None)
    out.__dict__["history"] = known_history(district, store, data_now) if history is None else history
    out.__dict__["carbon"] = known_carbon(district, store, data_now)
    out.__dict__["weather"] = known_weather(district, store, data_now) if weather else None
    out.__dict__["known_at"] = data_now
    forecasting._FITTED.pop(out, None)
    return out


def gaps(history: pd.DataFrame, resolution_min: int, data_now: pd.Timestamp, max_gap_h: float) -> list[str]:
    """Why forecasts at ``data_now`` run on stale history: one line when the newest known interval
    (configured history or measured) ended more than ``max_gap_h`` before (empty list: fresh)."""
    res = pd.Timedelta(minutes=resolution_min)
    newest = None if history.empty else history.index.max()
    if newest is not None and data_now - (newest + res) <= pd.Timedelta(hours=max_gap_h):
        return []
    since = "no history known" if newest is None else f"newest known interval {newest.isoformat()}"
    return [(f"measurement gap: {since}, more than {max_gap_h:g} h before {data_now.isoformat()}; the load "
             "forecast falls back to seasonal naive (same weekday and time of the latest known week)")]


class KnownDistrict:
    """The daemon's planning district: rebuilt at every data-clock day and on request (the gate),
    extended with the newest measured rows at every other cycle. With ``seed`` the store is seeded
    from the configured history on the first call (:mod:`gridctl.store.seed`) and the history is
    the store's alone."""

    def __init__(self, district: District, store: Store, max_gap_h: float, report, seed: bool = False):
        self.district, self.store, self.max_gap_h = district, store, max_gap_h
        self.report = report  # (severity, kind, message): the daemon's event
        self.stored = StoredHistory(district, store) if seed else None
        self.seeded = not seed
        self.current: District | None = None
        self.day = None
        self.gaps: list[str] = []
        self.weather = NO_WEATHER_FEED

    def history(self, data_now: pd.Timestamp) -> pd.DataFrame:
        """History known at ``data_now`` (seeding the store first, once)."""
        if not self.seeded:
            seed_history(self.store, self.district.history, data_now, self.district.resolution_min,
                         pd.Timestamp.now(tz="UTC").to_pydatetime())
            self.seeded = True
        if self.stored is None:
            return known_history(self.district, self.store, data_now)
        return self.stored.until(data_now)[list(self.district.history.columns)]

    def at(self, data_now: pd.Timestamp, refresh: bool = False,
           weather: WeatherSource = NO_WEATHER_FEED) -> tuple[District, bool]:
        """(the district known at ``data_now``, whether it was rebuilt rather than extended in place);
        with weather forecasts unless every weather feed is stale (``weather``)."""
        day = data_now.tz_convert(self.district.tz).date()
        history = self.history(data_now)
        changed, self.weather = weather.weather != self.weather.weather, weather
        same_day = not (refresh or changed) and self.current is not None and self.day == day and not self.gaps
        if same_day and not gaps(history, self.district.resolution_min, data_now, self.max_gap_h):
            forecasting.extend(self.current, history, known_carbon(self.district, self.store, data_now))
            self.current.__dict__["known_at"] = data_now
            return self.current, False
        self.current, self.day = known_district(self.district, self.store, data_now, history, weather.weather), day
        self.gaps = gaps(history, self.district.resolution_min, data_now, self.max_gap_h)
        for line in self.gaps:
            self.report("warning", "measurement_gap", line)
        if self.gaps:  # the load model's recent-value features would be stale: a profile that needs none
            fitted = forecasting.district_forecasters(self.current)
            naive = SeasonalNaive(7, self.district.tz, self.district.resolution_min)
            forecasting._FITTED[self.current] = replace(
                fitted, load=naive.fit(self.current.history[self.current.load_series]))
        return self.current, True

    def record(self) -> dict:
        """What the plan record says of its data: history known until, measurement gaps."""
        until = None if self.current is None or self.current.history.empty else self.current.history.index.max()
        return {"history_known_until": None if until is None else until.isoformat(), "measurement_gaps": self.gaps,
                "weather_source": self.weather.as_dict()}


class DemoFeed:
    """Publishes the configured history of each interval as it ends, through :func:`ingest`."""

    def __init__(self, district: District, store: Store, known: dict[str, SeriesSpec]):
        self.district, self.store, self.known = district, store, known

    def publish(self, data_start: pd.Timestamp, received_at) -> int:
        """Store the history row of the interval starting ``data_start`` (data clock); rows stored."""
        history = self.district.history
        if data_start not in history.index:
            return 0
        row = history.loc[data_start]
        rows = [{"series_id": s, "quantity": "p_kw", "interval_start_utc": data_start.isoformat(), "value": float(v)}
                for s, v in row.items() if s in self.known and pd.notna(v)]
        return ingest(self.store, rows, self.known, self.district.resolution_min, data_start, "demo", received_at)
