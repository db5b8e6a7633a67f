"""Re-optimisations in one persistent model decide as rebuilding the model each time does."""

import numpy as np
import pandas as pd
import pytest

from gridctl.cycle import decide
from gridctl.daemon import without_assets
from gridctl.dispatch.inputs import ChargerReport
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.network_plan import interval_network_models

DAY_START = pd.Timestamp("2016-07-11T22:00Z")  # local midnight of 12 July (CEST)


def test_process_loads_make_every_decision_build_its_own_model(demo_district):
    rolling = RollingDispatch()
    decide(demo_district, DAY_START + pd.Timedelta(hours=9), {}, rolling=rolling)
    assert rolling.builds == 0 and rolling.updates == 0  # binaries and reported states: a fresh MILP


def test_a_day_of_persistent_decisions_matches_rebuilt_ones(demo_district):
    demo_district = without_assets(demo_district, {p.id for p in demo_district.config.assets.process_load})
    rolling = RollingDispatch()
    recentred = interval_network_models(demo_district).recentres
    rng = np.random.default_rng(3)
    soc = {b.cfg.id: b.cfg.soc_initial_kwh for b in demo_district.batteries}
    temps = None
    for hours in range(0, 24, 3):
        now = DAY_START + pd.Timedelta(hours=hours)
        # the fleet's vehicle (08:00-17:00 local) reports part of its energy delivered
        reports = {"ev_fleet": ChargerReport(True, delivered_kwh=20.0 * (hours - 8))} if 8 <= hours + 0.5 < 17 else None
        kept = decide(demo_district, now, soc, ev_reports=reports, heat_pump_temp_c=temps, rolling=rolling)
        built = decide(demo_district, now, soc, ev_reports=reports, heat_pump_temp_c=temps)
        a, b = kept.plan.summary, built.plan.summary
        assert a["objective"] == pytest.approx(b["objective"], rel=1e-6, abs=1e-3)
        assert a["emissions_kg"] == pytest.approx(b["emissions_kg"], rel=1e-6, abs=1e-3)
        assert a["ev_sessions"] == b["ev_sessions"]
        assert kept.plan.table.index.equals(built.plan.table.index)
        for column in ("grid_import_kw", "bess_park.soc_kwh", "hp_office.temp_c"):
            assert np.isfinite(kept.plan.table[column]).all()
        # measured states at the next decision: the plan's, off by a few per cent
        nxt = kept.plan.table.loc[now + pd.Timedelta(hours=3)]
        soc = {b: float(nxt[f"{b}.soc_kwh"]) * rng.uniform(0.97, 1.03) for b in soc}
        temps = {h: float(nxt[f"{h}.temp_c"]) + rng.uniform(-0.5, 0.5) for h in ("hp_office", "hp_shop")}
    # one model for the whole day, rebuilt only when the network rows were re-centred
    recentred = interval_network_models(demo_district).recentres - recentred
    assert recentred > 0 and rolling.builds == 1 + recentred and rolling.updates == 7 - recentred
