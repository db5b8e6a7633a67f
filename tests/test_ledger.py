"""Carbon ledger: hand-computed Scope 2 totals, attribution that adds up, re-booking, tamper
evidence, and an offline statement rendered in headless chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from browser import assert_offline, dump_dom
from sqlalchemy import text

from gridctl.ledger.book import book
from gridctl.ledger.chain import verify
from gridctl.ledger.config import LedgerConfig
from gridctl.ledger.intensity import booking_intensity
from gridctl.ledger.render import write_statement
from gridctl.ledger.statement import Period, statement
from gridctl.store import Store
from gridctl.store.ledger import append, chained_rows, entries

TZ = "Europe/Berlin"
# July 2016, two 12-hour intervals a local day: 62 intervals of 100 kWh import
INDEX = pd.date_range(pd.Timestamp("2016-07-01", tz=TZ), periods=62, freq="12h").tz_convert("UTC")
NOW = datetime(2016, 8, 1, tzinfo=UTC)


def config() -> LedgerConfig:
    return LedgerConfig.model_validate({
        "residual_mix_kg_per_kwh": 0.7,
        "instruments": [
            {"id": "ppa-wind", "kind": "ppa", "start": "2016-07-01", "end": "2016-08-01", "volume_kwh": 1000.0,
             "factor_kg_per_kwh": 0.0},
            {"id": "goo-hydro", "kind": "guarantee_of_origin", "start": "2016-07-20", "end": "2016-08-01",
             "volume_kwh": 500.0, "factor_kg_per_kwh": 0.01}],
        "groups": {"tenant": {"foundry": ["load/foundry"], "bakery": ["load/bakery", "pv/bakery_roof"]}},
    })


def measured(values: pd.Series) -> pd.DataFrame:
    """Canonical measured carbon rows (12-hour resolution)."""
    return pd.DataFrame({"ci_kg_per_kwh": values.to_numpy(), "signal_type": "average_direct", "resolution_min": 720,
                         "zone": "DE", "source": "test-feed", "issued_at_utc": values.index + pd.Timedelta(hours=12),
                         "is_estimated": False}, index=values.index)


def members() -> pd.DataFrame:
    return pd.DataFrame({"load/foundry": 60.0, "load/bakery": 50.0, "pv/bakery_roof": -10.0}, index=INDEX)


def booked(store: Store, ci: pd.Series) -> pd.DataFrame:
    rows = book(pd.Series(100.0, index=INDEX), members(), booking_intensity(measured(ci), INDEX), config(), TZ,
                refs={"meter": "test"})
    append(store, rows, NOW)
    return entries(store, INDEX[0].to_pydatetime(), NOW)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield s
    s.close()


def test_hand_computed_month_location_and_market_based(store):
    rows = booked(store, pd.Series(0.5, index=INDEX))
    st = statement(rows, config(), Period.parse("2016-07"), TZ)
    assert st["import_kwh"] == pytest.approx(6200.0)
    assert st["location_kg"] == pytest.approx(3100.0)  # 6200 kWh x 0.5
    # the PPA covers the first 10 intervals (1000 kWh at 0), the GoO 5 intervals from 20 July (500 kWh
    # at 0.01), the residual mix prices the other 4700 kWh at 0.7
    assert st["instruments_kwh"] == pytest.approx({"ppa-wind": 1000.0, "goo-hydro": 500.0})
    assert st["market_kg"] == pytest.approx(500 * 0.01 + 4700 * 0.7)
    district = rows[rows.grouping == "district"].set_index("interval_start")
    goo = district.inputs.map(lambda i: i["instruments_kwh"].get("goo-hydro", 0.0))
    assert goo[goo > 0].index[0].tz_convert(TZ) == pd.Timestamp("2016-07-20", tz=TZ)
    tenants = st["groupings"]["tenant"]
    assert tenants.location_kg.to_dict() == pytest.approx({"foundry": 1860.0, "bakery": 1240.0})  # 60 % / 40 %
    assert tenants.market_kg.sum() == pytest.approx(st["market_kg"])
    assert st["groupings"]["member"].location_kg.sum() == pytest.approx(3100.0)
    assert st["estimated_share_pct"] == 0.0


def test_estimated_interval_is_rebooked_and_both_versions_remain(store):
    ci = pd.Series(0.5, index=INDEX)
    booked(store, ci.drop(INDEX[30]))  # no intensity row for one interval yet: carried forward
    first = entries(store, INDEX[0].to_pydatetime(), NOW)
    gap = first[(first.grouping == "district") & (first.interval_start == INDEX[30])].iloc[0]
    assert gap.estimated and gap.method == f"grid: metered; intensity: carried forward from {INDEX[29].isoformat()}"
    ci[INDEX[30]] = 0.9
    rows = booked(store, ci)
    now = rows[(rows.grouping == "district") & (rows.interval_start == INDEX[30])].iloc[0]
    assert (now.version, now.estimated, now.location_kg) == (2, False, pytest.approx(90.0))
    every = entries(store, INDEX[30].to_pydatetime(), INDEX[31].to_pydatetime(), current_only=False)
    assert sorted(every[every.grouping == "district"].version) == [1, 2]
    assert verify(chained_rows(store))[1] == []
    assert statement(rows, config(), Period.parse("2016-07"), TZ)["location_kg"] == pytest.approx(3100.0 + 40.0)


def test_rebooking_the_same_data_appends_nothing(store):
    booked(store, pd.Series(0.5, index=INDEX))
    n = len(list(chained_rows(store)))
    booked(store, pd.Series(0.5, index=INDEX))
    assert len(list(chained_rows(store))) == n


def test_edit_or_delete_breaks_the_chain_at_that_row(store):
    booked(store, pd.Series(0.5, index=INDEX))
    assert verify(chained_rows(store))[1] == []
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET location_kg = location_kg - 1 WHERE seq = 17"))
    problems = verify(chained_rows(store))[1]
    assert len(problems) == 1 and problems[0].startswith("row seq 17 (") and "edited after booking" in problems[0]
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET location_kg = location_kg + 1 WHERE seq = 17"))
        conn.execute(text("DELETE FROM ledger WHERE seq = 40"))
    assert verify(chained_rows(store))[1] == ["rows seq 40..40 are missing (deleted after booking)"]


def test_ledger_verify_command_names_the_edited_row(store, tmp_path):
    booked(store, pd.Series(0.5, index=INDEX))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET location_kg = 0 WHERE seq = 5"))
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    proc = subprocess.run([sys.executable, "-m", "gridctl.cli", "ledger", "verify", "--store", url],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert re.search(r"row seq 5 \(2016-07-02T22:00:00\+00:00, district/district v1\): content does not match",
                     proc.stdout)


def test_tenant_statement_and_offline_html_in_headless_chromium(store, tmp_path):
    rows = booked(store, pd.Series(0.5, index=INDEX))
    st = statement(rows, config(), Period.parse("2016-07"), TZ, tenant="bakery")
    assert st["location_kg"] == pytest.approx(1240.0) and st["market_kg"] == pytest.approx(0.4 * (5 + 4700 * 0.7))
    assert list(st["groupings"]["member"].index) == ["load/bakery", "pv/bakery_roof"]
    out = tmp_path / "statement"
    csv_path, html_path = write_statement(st, out, "test park", {"rows": 9, "problems": 0, "head": "abc"})
    csv = pd.read_csv(csv_path)
    assert csv.loc[csv.section == "total", "location_kg"].item() == pytest.approx(1240.0)
    assert_offline(html_path.read_text(), html_path.name)
    dom = dump_dom(html_path.as_uri(), tmp_path / "chromium")
    assert "Carbon statement 2016-07: tenant bakery" in dom
    assert dom.count("<rect") == 62  # a location- and a market-based bar per day


def test_target_trajectory_budget():
    cfg = LedgerConfig.model_validate({"target": {"baseline_year": 2016, "baseline_kg_per_year": 365_000.0,
                                                  "target_year": 2026}})
    # 2020: 60 % of the baseline allowed; July has 31 of 366 days
    assert Period.parse("2020-07").first == date(2020, 7, 1)
    from gridctl.ledger.statement import target_budget_kg
    assert target_budget_kg(cfg, Period.parse("2020-07")) == pytest.approx(365_000 * 0.6 * 31 / 366)


def test_check_names_unknown_ledger_members(tmp_path):
    from gridctl.commands.check import collect_problems

    path = tmp_path / "config.toml"
    path.write_text('[ledger.groups.tenant]\nbakery = ["load/G0-A", "bakery_oven"]\n')
    assert collect_problems(str(path)) == [
        "ledger.groups.tenant.bakery: unknown member 'bakery_oven'; use a series id (e.g. 'load/G0-A') or an asset id"]


def test_live_inputs_meter_first_then_the_members_sum_then_the_plan():
    from gridctl.ledger.live import PLAN_ESTIMATE, SUM_ESTIMATE, live_inputs

    idx = INDEX[:3]
    measured = pd.DataFrame({"grid/meter": [80.0, None, None], "load/a": [100.0, 100.0, None],
                             "pv/roof": [30.0, 30.0, 30.0], "asset/bess": [10.0, 20.0, 40.0]}, index=idx)
    planned = pd.DataFrame({"grid_import_kw": [0.0, 0.0, 70.0], "bess.p_kw": [0.0, 0.0, 10.0]}, index=idx)
    got = live_inputs(idx, measured, "grid/meter", ["load/a"], ["pv/roof"], ["bess"], planned, dt_h=0.5)
    # metered 80 kW; then load 100 - PV 30 + battery 20; then the plan 70 + the battery's 30 kW deviation
    assert got.grid_kwh.tolist() == [40.0, 45.0, 50.0]
    assert got.method.tolist() == ["metered", SUM_ESTIMATE, PLAN_ESTIMATE]
    assert got.estimated.tolist() == [False, True, True]
    assert got.members_kwh.loc[idx[0]].to_dict() == {"load/a": 50.0, "pv/roof": -15.0, "bess": 5.0}
