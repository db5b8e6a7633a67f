"""The ledger of a replayed day: booked with the daemon's rules, adding up to replay's own figures."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from test_replay import DAY, replay_district

from gridctl.ledger.chain import verify
from gridctl.replay.ledger import book_replay
from gridctl.replay.run import run_replay
from gridctl.store import Store
from gridctl.store.ledger import chained_rows, entries


@pytest.fixture(scope="module")
def booked(demo_district, tmp_path_factory):
    district = replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=0, ac_check_every_min=0,
                               baselines=["none"])
    result = run_replay(district, DAY, DAY)
    out = tmp_path_factory.mktemp("replay")
    path = book_replay(district, result, out)
    store = Store(f"sqlite:///{path}")
    rows = entries(store, pd.Timestamp("2016-01-01", tz="UTC"), pd.Timestamp("2017-01-01", tz="UTC"))
    n, problems = verify(chained_rows(store))
    store.close()
    return district, result, rows, out, n, problems


def test_location_based_total_is_replays_emissions_and_every_grouping_adds_up(booked):
    _, result, rows, _, n, problems = booked
    assert problems == [] and n == len(rows)
    op = result.runs["gridctl"]
    ledger = rows[rows.grouping == "district"].set_index("interval_start").sort_index()
    assert len(ledger) == 96
    assert ledger.location_kg.sum() == pytest.approx(result.summary["emissions_kg"], rel=1e-12)
    np.testing.assert_allclose(ledger.energy_kwh, op.grid_import_kw * 0.25, atol=1e-9)
    # the demo's contractual PPA starts on 1 July: it covers all of the day's import (factor 0)
    assert ledger.market_kg.sum() == pytest.approx(0.0)
    for grouping in ("member", "tenant"):
        part = rows[rows.grouping == grouping].groupby("interval_start")[["energy_kwh", "import_kwh", "location_kg"]].sum()
        np.testing.assert_allclose(part.energy_kwh, ledger.energy_kwh, atol=1e-6, err_msg=grouping)
        np.testing.assert_allclose(part.import_kwh, ledger.import_kwh, atol=1e-6, err_msg=grouping)
        np.testing.assert_allclose(part.location_kg, ledger.location_kg, atol=1e-6, err_msg=grouping)
    members = rows[rows.grouping == "member"]
    battery = members[members.group_id == "bess_park"].set_index("interval_start").energy_kwh
    np.testing.assert_allclose(battery, op["bess_park.p_kw"] * 0.25, atol=1e-9)
    tenants = set(rows[rows.grouping == "tenant"].group_id)
    assert tenants == {"logistics", "commerce", "neighbourhoods", "unassigned"}


def test_avoided_rows_sum_to_the_adjusted_reduction(booked):
    _, result, rows, *_ = booked
    runs = result.summary["runs"]
    avoided = rows[rows.grouping == "avoided"]
    expected = runs["none"]["emissions_adjusted_kg"] - runs["gridctl"]["emissions_adjusted_kg"]
    assert avoided.location_kg.sum() == pytest.approx(expected, rel=1e-9)
    assert set(avoided.signal_type) == {"average_direct"}  # the demo has no marginal signal: labelled average


def test_statement_from_the_replay_folder(booked, tmp_path):
    _, result, _, out, *_ = booked
    proc = subprocess.run([sys.executable, "-m", "gridctl.cli", "ledger", "report", "--period", "2016-07",
                           "--store", str(out), "--out", str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-500:]
    csv = pd.read_csv(tmp_path / "statement.csv")
    total = csv[csv.section == "total"].iloc[0]
    assert total.location_kg == pytest.approx(result.summary["emissions_kg"], rel=1e-6)
    assert total.market_kg == pytest.approx(0.0)
