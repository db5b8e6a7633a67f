"""Prometheus metrics of one daemon (own registry, so several daemons can share a process)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


def feed_metrics(feeds: dict[str, dict]):
    """Age, staleness, last success and newest row of every feed (gauges labelled by feed id)."""
    age = GaugeMetricFamily("gridctl_feed_age_seconds", "Age of the feed's newest information, s", labels=["feed"])
    stale = GaugeMetricFamily("gridctl_feed_stale", "1 when the feed is older than its max_age_s", labels=["feed"])
    success = GaugeMetricFamily("gridctl_feed_last_success_timestamp_seconds",
                                "Unix time of the last successful fetch (0: none yet)", labels=["feed"])
    newest = GaugeMetricFamily("gridctl_feed_newest_row_timestamp_seconds",
                               "Unix time of the newest interval start received (0: none yet)", labels=["feed"])
    failures = GaugeMetricFamily("gridctl_feed_failures", "Consecutive failed fetches (MQTT: bad payloads)",
                                 labels=["feed"])
    for feed_id, st in feeds.items():
        age.add_metric([feed_id], st["age_s"])
        stale.add_metric([feed_id], 1.0 if st["stale"] else 0.0)
        for family, key in ((success, "last_success"), (newest, "newest_row")):
            family.add_metric([feed_id], datetime.fromisoformat(st[key]).timestamp() if st[key] else 0.0)
        failures.add_metric([feed_id], st["failures"])
    yield from (age, stale, success, newest, failures)


class Metrics:
    """Solve times and cycle durations (observed), device errors, states and emissions today (collected)."""

    def __init__(self, status: Callable[[], dict]):
        self.registry = CollectorRegistry()
        self.solve_seconds = Histogram("gridctl_solve_seconds", "HiGHS time of one plan (model handover + solve: the plan's solve_s)",
                                       ["kind"], buckets=BUCKETS, registry=self.registry)
        self.cycle_seconds = Histogram("gridctl_cycle_seconds", "Wall time of one scheduled job run",
                                       ["job"], buckets=BUCKETS, registry=self.registry)
        self._status = status
        self.registry.register(self)

    def collect(self):
        """Values read from the daemon's state at scrape time."""
        status = self._status()
        errors = CounterMetricFamily("gridctl_device_errors", "Failed device accesses", labels=["device"])
        online = GaugeMetricFamily("gridctl_device_online", "1 when the device answers", labels=["device"])
        for dev, st in status.get("devices", {}).items():
            errors.add_metric([dev], st["errors_total"])
            online.add_metric([dev], 1.0 if st["online"] else 0.0)
        yield errors
        yield online
        yield from feed_metrics(status.get("feeds", {}))
        yield GaugeMetricFamily("gridctl_emissions_today_kg",
                                "Grid-import emissions of the local day so far (ledger), kg CO2",
                                value=status.get("emissions_today_kg", 0.0))

    def describe(self):
        return []

    def render(self) -> bytes:
        return generate_latest(self.registry)
