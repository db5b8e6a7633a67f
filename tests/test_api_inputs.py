"""Invalid input gets a 4xx with the reason, never a 5xx: the inputs that once gave 500, oversized
and unknown bodies, the clamped override answer, and a bounded fuzz of every endpoint's query
parameters and bodies (hypothesis, derandomised)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api import TOKEN, api  # noqa: F401 - the api fixture

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAR = "9999-12-31T23:00-05:00"
EARLY = "0001-01-01T00:00+05:00"
HUGE = "99999999999999999999"
RANGED = {"/api/plans": ["kind", "status"], "/api/forecasts": ["series"], "/api/telemetry": ["asset_id", "quantity"],
          "/api/setpoints": ["asset_id"], "/api/events": ["asset_id", "severity"], "/api/emissions": ["asset_id"]}
GETS = {**{p: ["start", "end", "limit", "offset", *f] for p, f in RANGED.items()}, "/api/plan": ["start", "end"],
        "/health": [], "/api/devices": [], "/api/dashboard": [], "/metrics": [], "/": []}


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GRIDCTL_API_TOKEN", TOKEN)


async def test_inputs_that_gave_500_are_4xx_with_the_reason(api):  # noqa: F811
    client, _ = api
    r = await client.post("/api/override/bess_park", json={"p_kw": 1.0, "until": FAR}, headers=AUTH)
    assert r.status_code == 422 and "outside the times the store holds" in r.text
    for path in ("/api/plan", "/api/events"):
        r = await client.get(path, params={"start": EARLY})
        assert r.status_code == 422 and "outside the times the store holds" in r.text
    r = await client.get("/api/events", params={"end": FAR})
    assert r.status_code == 422 and "outside the times the store holds" in r.text
    r = await client.get("/api/events", params={"offset": HUGE})
    assert r.status_code == 422 and "offset" in r.text
    r = await client.get("/api/plan", params={"start": "2026-11-25T12:00Z", "end": "2026-11-25T11:00Z"})
    assert r.status_code == 422 and "is not after start" in r.text


async def test_body_limit_unknown_fields_and_the_clamped_override_answer(api):  # noqa: F811
    client, run = api
    until = (run.daemon.clock.now() + pd.Timedelta(hours=1)).isoformat()
    big = b'{"p_kw": 1, "until": "' + until.encode() + b'", "x": "' + b"a" * 10_000_000 + b'"}'
    r = await client.post("/api/override/bess_park", content=big, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413 and "max_body_bytes" in r.text

    async def chunks():  # no Content-Length: counted as it streams in
        for _ in range(100):
            yield b"a" * 10_000

    r = await client.post("/api/override/bess_park", content=chunks(), headers=AUTH)
    assert r.status_code == 413
    r = await client.post("/api/override/bess_park", json={"p_kw": 1.0, "until": until, "pkw": 2}, headers=AUTH)
    assert r.status_code == 422 and "pkw" in r.text and "Extra inputs are not permitted" in r.text
    # at the SoC floor a discharge is clamped to 0 kW: the answer says 0 kW was written, and why
    battery = run.sim["bess_park"]
    battery.e_kwh = battery.e_min_kwh - 100.0
    await run.daemon.poll()
    r = await client.post("/api/override/bess_park", json={"p_kw": -500.0, "until": until}, headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["requested_kw"], body["p_kw"], body["clamps"], body["ok"]) == (-500.0, 0.0, ["soc"], True)
    assert battery.get(704, "WSet") == 0
    assert (await client.get("/docs")).status_code == 404  # off by default ([api] docs)


def _fuzz_requests() -> list[tuple[str, str, dict, object]]:
    """(method, path, query, json body) drawn by hypothesis, derandomised and bounded."""
    times = st.datetimes(min_value=pd.Timestamp("0001-01-02").to_pydatetime(),
                         timezones=st.sampled_from([None, *(pd.Timestamp(0, tz=z).tzinfo for z in
                                                             ("UTC", "Etc/GMT+5", "Etc/GMT-14"))]))
    value = st.one_of(st.text(max_size=30), st.integers(-2**80, 2**80).map(str), times.map(lambda t: t.isoformat()),
                      st.floats().map(str), st.sampled_from([FAR, EARLY, HUGE, "", "NaN", "-0", "2026-02-30"]))
    json_value = st.recursive(st.none() | st.booleans() | st.floats() | st.integers(-2**70, 2**70) | st.text(max_size=20)
                              | value, lambda inner: st.lists(inner, max_size=3)
                              | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
    gets = st.sampled_from(sorted(GETS)).flatmap(lambda p: st.tuples(
        st.just("GET"), st.just(p), st.dictionaries(st.sampled_from([*GETS[p], "junk"]), value, max_size=4),
        st.none()))
    asset = st.sampled_from(["bess_park", "pv_park", "ev_depot", "hp_office", "nope", "x" * 300, "%00"])
    body = st.one_of(json_value, st.fixed_dictionaries({"p_kw": json_value, "until": json_value},
                                                       optional={"extra": json_value}))
    writes = st.tuples(st.sampled_from(["POST", "DELETE"]), asset.map(lambda a: f"/api/override/{a}"),
                       st.just({}), body)
    out = []

    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(gets, writes))
    def collect(request):
        out.append(request)

    collect()
    return out


async def test_fuzz_every_endpoint_no_5xx(api):  # noqa: F811
    client, _ = api
    statuses = {}
    for method, path, params, body in _fuzz_requests():
        kw = {"json": body} if method == "POST" else {}
        r = await client.request(method, path, params=params, headers=AUTH, **kw)
        assert r.status_code < 500, f"{method} {path} {params} {body!r}: {r.status_code} {r.text[:300]}"
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    assert statuses.get(200, 0) > 0 and statuses.get(422, 0) > 0, statuses
