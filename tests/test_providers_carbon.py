"""Carbon-intensity provider clients against recorded answers in each provider's own format
(httpx clients through respx, requests clients through responses); nothing touches the network."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
import responses
import respx
import stamina
from responses import matchers

from adapters.carbon_formats import ENTSOE_FACTORS_KG_PER_KWH
from adapters.providers.electricitymaps import ElectricityMaps
from adapters.providers.entsoe import Entsoe
from adapters.providers.gb_carbon import GBCarbonIntensity
from adapters.providers.http import FeedError, RetryPolicy, backoff_hook, retry_after_s
from adapters.providers.watttime import WattTime

DATA = Path(__file__).parent / "data" / "providers"
NOW = pd.Timestamp("2026-12-02T12:00Z")
FAST = RetryPolicy(timeout_s=5.0, attempts=3, wait_initial_s=0.0, wait_max_s=0.0, wait_jitter_s=0.0)
EM = "https://api.electricitymap.org/v3/carbon-intensity"


def recorded(name: str):
    return json.loads((DATA / name).read_text())


@respx.mock
def test_electricitymaps_history_and_forecast():
    latest = respx.get(f"{EM}/latest", params={"zone": "DE"}).respond(json=recorded("electricitymaps_latest.json"))
    respx.get(f"{EM}/history").respond(json=recorded("electricitymaps_history.json"))
    route = respx.get(f"{EM}/forecast").respond(json=recorded("electricitymaps_forecast.json"))
    client = ElectricityMaps("secret-token", "DE", policy=FAST)
    frame = client.fetch(NOW)
    assert route.calls.last.request.headers["auth-token"] == "secret-token"
    assert route.calls.last.request.url.params["emissionFactorType"] == "lifecycle"
    measured, forecast = frame[frame.index <= NOW], frame[frame.index > NOW]
    assert len(frame) == 23 + 12  # the hour with carbonIntensity null is left out
    assert set(frame.signal_type) == {"average_lifecycle"} and set(frame.zone) == {"DE"}
    first = frame.loc["2026-12-01T13:00Z"]
    assert first.ci_kg_per_kwh == pytest.approx(0.412) and first.issued_at_utc == pd.Timestamp("2026-12-01T14:00Z")
    assert (measured.issued_at_utc == measured.index + pd.Timedelta(hours=1)).all()
    assert measured.is_estimated.sum() == 3  # as the provider flags them
    assert len(forecast) == 12 and forecast.is_estimated.all()
    assert (forecast.issued_at_utc == pd.Timestamp("2026-12-02T11:46:43Z")).all()
    assert forecast.loc["2026-12-02T13:00Z", "ci_kg_per_kwh"] == pytest.approx(0.415)
    assert client.latest().ci_kg_per_kwh.iloc[0] == pytest.approx(0.421) and latest.called


@respx.mock
def test_electricitymaps_bad_point_is_one_line_naming_the_row():
    doc = recorded("electricitymaps_history.json")
    doc["history"][3]["carbonIntensity"] = -5
    respx.get(f"{EM}/history").respond(json=doc)
    with pytest.raises(FeedError, match=r"row 4 \(data\[3\]\), column 'carbonIntensity': '-5(\.0)?' is not a non-negative number"):
        ElectricityMaps("t", "DE", forecast=False, policy=FAST).fetch(NOW)


@respx.mock
def test_rate_limit_retry_after_is_honoured_then_succeeds():
    route = respx.get(f"{EM}/history").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "0"}, json={"message": "rate limited"}),
        httpx.Response(503), httpx.Response(200, json=recorded("electricitymaps_history.json"))])
    frame = ElectricityMaps("t", "DE", forecast=False, policy=FAST).fetch(NOW)
    assert route.call_count == 3 and len(frame) == 23


@pytest.mark.parametrize("status, headers, message", [
    (429, {"Retry-After": "3600"}, "HTTP 429 \\(Retry-After 3600 s\\)"),  # longer than allowed: this fetch ends
    (401, {}, "HTTP 401"),  # not a transient answer
])
@respx.mock
def test_answers_that_are_not_retried(status, headers, message):
    route = respx.get(f"{EM}/history").respond(status, headers=headers, json={"error": "no"})
    with pytest.raises(FeedError, match=rf"^Electricity Maps history \(DE\): {message}$"):
        ElectricityMaps("t", "DE", forecast=False, policy=FAST).fetch(NOW)
    assert route.call_count == 1


def test_retry_after_header_sets_the_wait():
    response = httpx.Response(429, headers={"Retry-After": "7"}, request=httpx.Request("GET", "http://x"))
    exc = httpx.HTTPStatusError("429", request=response.request, response=response)
    assert backoff_hook(RetryPolicy(wait_max_s=60.0))(exc) == 7.0
    assert backoff_hook(RetryPolicy(wait_max_s=5.0))(exc) is False  # longer than allowed: give this fetch up
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert backoff_hook(RetryPolicy())(httpx.ConnectError("refused")) is True
    assert backoff_hook(RetryPolicy())(ValueError("bad")) is False


@respx.mock
def test_gb_carbon_intensity_actuals_and_forecasts():
    route = respx.get(url__regex=r"https://api\.carbonintensity\.org\.uk/intensity/.*").respond(
        json=recorded("gb_intensity.json"))
    frame = GBCarbonIntensity(policy=FAST).fetch(NOW)
    assert str(route.calls.last.request.url).endswith("/intensity/2026-12-01T12:00Z/2026-12-04T12:00Z")
    assert len(frame) == 6 and (frame.resolution_min == 30).all() and set(frame.zone) == {"GB"}
    actual = frame[~frame.is_estimated]
    assert list(actual.ci_kg_per_kwh) == pytest.approx([0.185, 0.176])
    assert (actual.issued_at_utc == actual.index + pd.Timedelta(minutes=30)).all()
    forecast = frame[frame.is_estimated]
    assert forecast.index[0] == pd.Timestamp("2026-12-02T12:00Z") and (forecast.issued_at_utc == NOW).all()
    assert forecast.ci_kg_per_kwh.iloc[0] == pytest.approx(0.175)


@responses.activate
def test_watttime_official_client_historical_and_forecast(monkeypatch):
    base = "https://wt.example.test"
    responses.get(f"{base}/login", json=recorded("watttime_login.json"))
    responses.get(f"{base}/v3/historical", json=recorded("watttime_historical.json"),
                  match=[matchers.query_param_matcher({"region": "CAISO_NORTH", "signal_type": "co2_moer"},
                                                      strict_match=False)])
    responses.get(f"{base}/v3/forecast", json=recorded("watttime_forecast.json"))
    monkeypatch.delenv("WATTTIME_USER", raising=False)
    frame = WattTime("user", "pw", "CAISO_NORTH", base_url=base, policy=FAST).fetch(NOW)
    auth = responses.calls[1].request.headers["Authorization"]
    assert auth == "Bearer eyJhbGciOiJSUzI1NiJ9.test-token"
    lb = 0.45359237 / 1000.0
    assert frame.loc["2026-12-02T11:05Z", "ci_kg_per_kwh"] == pytest.approx(842.0 * lb)
    forecast = frame[frame.is_estimated]
    assert len(forecast) == 6 and (forecast.issued_at_utc == pd.Timestamp("2026-12-02T11:55Z")).all()
    assert set(frame.signal_type) == {"marginal"} and (frame.resolution_min == 5).all()


@responses.activate
def test_watttime_rate_limited_then_served():
    base = "https://wt.example.test"
    responses.get(f"{base}/login", json=recorded("watttime_login.json"))
    responses.get(f"{base}/v3/forecast", status=429, headers={"Retry-After": "0"}, json={"error": "slow down"})
    responses.get(f"{base}/v3/forecast", json=recorded("watttime_forecast.json"))
    assert len(WattTime("user", "pw", "CAISO_NORTH", base_url=base, policy=FAST).forecast()) == 6


ENTSOE_URL = "https://web-api.tp.entsoe.eu/api"


def _entsoe_responses():
    for doc in ("A75", "A71", "A69"):
        responses.get(ENTSOE_URL, body=(DATA / f"entsoe_{doc}.xml").read_text(),
                      content_type="text/xml", match=[matchers.query_param_matcher({"documentType": doc},
                                                                                    strict_match=False)])


@responses.activate
def test_entsoe_generation_mix_to_intensity():
    _entsoe_responses()
    frame = Entsoe("key", "DE_LU", past_h=2, policy=FAST).fetch(NOW)
    assert responses.calls[0].request.params["securityToken"] == "key"
    measured = frame[~frame.is_estimated]
    assert len(measured) == 8 and (measured.resolution_min == 15).all()
    f = ENTSOE_FACTORS_KG_PER_KWH  # first quarter-hour by hand; pumped storage left out
    mw = {"Biomass": 4410, "Fossil Brown coal/Lignite": 9120, "Fossil Gas": 6050,
          "Hydro Run-of-river and poundage": 1510, "Solar": 8200, "Wind Onshore": 12400, "Wind Offshore": 3100}
    expected = sum(v * f[k] for k, v in mw.items()) / sum(mw.values())
    assert measured.ci_kg_per_kwh.iloc[0] == pytest.approx(expected)
    assert measured.issued_at_utc.iloc[0] == pd.Timestamp("2026-12-02T10:15Z")
    forecast = frame[frame.is_estimated]
    assert forecast.index[0] == NOW and len(forecast) == 8 and (forecast.issued_at_utc == NOW).all()
    # the rest (total minus wind and solar) at the measured window's non-wind, non-solar factor
    rest = {"Biomass": [4410, 4402, 4398, 4405, 4411, 4400, 4396, 4390],
            "Fossil Brown coal/Lignite": [9120, 9180, 9210, 9240, 9260, 9250, 9230, 9200],
            "Fossil Gas": [6050, 6110, 6180, 6200, 6230, 6190, 6150, 6120],
            "Hydro Run-of-river and poundage": [1510, 1508, 1512, 1505, 1500, 1499, 1503, 1507]}
    rest_factor = sum(f[k] * sum(v) for k, v in rest.items()) / sum(sum(v) for v in rest.values())
    ws = 8400 * f["Solar"] + 11000 * f["Wind Onshore"] + 2900 * f["Wind Offshore"]
    expected = (ws + (51200 - 8400 - 11000 - 2900) * rest_factor) / 51200
    assert forecast.ci_kg_per_kwh.iloc[0] == pytest.approx(expected)


@responses.activate
def test_entsoe_server_error_after_retries_is_one_line():
    responses.get(ENTSOE_URL, status=503, body="<html>Service Unavailable</html>")
    with stamina.set_testing(True, attempts=2), pytest.raises(
            FeedError, match=r"^ENTSO-E actual generation \(DE_LU\): HTTP 503$"):
        Entsoe("key", "DE_LU", past_h=2, policy=FAST).fetch(NOW)
    assert len(responses.calls) == 2
