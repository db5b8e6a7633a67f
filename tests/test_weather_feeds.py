"""Weather-forecast clients against recorded answers in the services' own formats: Open-Meteo's
flatbuffers through a real loopback HTTP server (openmeteo-requests uses niquests), DWD MOSMIX
KMZ through respx."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import respx

from adapters.providers.http import FeedError, RetryPolicy
from adapters.weather_feeds.dwd_mosmix import DwdMosmix
from adapters.weather_feeds.openmeteo import OpenMeteo
from tests.loopback_http import LoopbackHTTP

DATA = Path(__file__).parent / "data" / "providers"
NOW = pd.Timestamp("2026-12-02T05:50Z")
FAST = RetryPolicy(timeout_s=5.0, attempts=2, wait_initial_s=0.0, wait_max_s=0.0, wait_jitter_s=0.0)
KML = DATA / "MOSMIX_L_2026120209_10162.kml"
MOSMIX = "https://opendata.dwd.de/weather/local_forecasts/mos/MOSMIX_L/single_stations/10162/kml/MOSMIX_L_LATEST_10162.kmz"


def test_openmeteo_flatbuffers_answer_to_weather_table():
    with LoopbackHTTP() as server:
        server.routes["/v1/forecast"] = (200, {"Content-Type": "application/octet-stream"},
                                         (DATA / "openmeteo_forecast.fb").read_bytes())
        table = OpenMeteo(53.59, 11.45, base_url=f"{server.url}/v1/forecast", policy=FAST).fetch(NOW)
    query = server.requests[0]
    assert "format=flatbuffers" in query and "latitude=53.59" in query and "shortwave_radiation" in query
    # step 06:00 holds the irradiance of 05:00-06:00: the first row is the interval starting 05:00
    assert table.index[0] == pd.Timestamp("2026-12-02T05:00Z") and len(table) == 12
    assert (table.issued_at_utc == NOW).all()
    row = table.loc["2026-12-02T09:00Z"]  # step 10:00: GHI of 09-10, temperature mean of 09:00 and 10:00
    assert row.ghi_w_m2 == pytest.approx(92.0)
    assert row.temp_air_c == pytest.approx((1.9 + 3.0) / 2, abs=1e-6)
    assert row.cloud_cover_pct == pytest.approx((75.0 + 60.0) / 2)


def test_openmeteo_server_error_is_one_line():
    with LoopbackHTTP() as server:
        server.silent = True
        with pytest.raises(FeedError, match=r"^Open-Meteo \(53.59, 11.45\): "):
            OpenMeteo(53.59, 11.45, base_url=f"{server.url}/v1/forecast", policy=FAST).fetch(NOW)
    assert len(server.requests) == 2  # retried once


def _kmz(kml: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(KML.name, kml)
    return out.getvalue()


@respx.mock
def test_dwd_mosmix_kmz_to_weather_table():
    respx.get(MOSMIX).respond(content=_kmz(KML.read_bytes()))
    table = DwdMosmix("10162", policy=FAST).fetch(NOW)
    assert (table.issued_at_utc == pd.Timestamp("2026-12-02T09:00Z")).all()
    # steps 10:00..17:00; the 17:00 temperature is undefined ("-"), so that hour is left out
    assert list(table.index) == list(pd.date_range("2026-12-02T09:00Z", periods=7, freq="h"))
    first = table.iloc[0]
    assert first.ghi_w_m2 == pytest.approx(180.0 / 3.6) and first.temp_air_c == pytest.approx(2.0)
    second = table.loc["2026-12-02T10:00Z"]
    assert second.temp_air_c == pytest.approx((2.0 + 2.5) / 2) and second.cloud_cover_pct == pytest.approx(84.0)


@respx.mock
def test_dwd_mosmix_wrong_station_and_not_a_kmz():
    respx.get(MOSMIX).respond(content=_kmz(KML.read_bytes().replace(b"<kml:name>10162", b"<kml:name>10170")))
    with pytest.raises(FeedError, match=r"station '10162' is not in the file"):
        DwdMosmix("10162", policy=FAST).fetch(NOW)
    respx.get(MOSMIX).respond(content=b"<html>maintenance</html>")
    with pytest.raises(FeedError, match=r"not a KMZ"):
        DwdMosmix("10162", policy=FAST).fetch(NOW)
