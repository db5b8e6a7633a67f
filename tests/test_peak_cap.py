"""No new peaks: plans never import more than the forecast without control would (peak_cap = "baseline")."""

from datetime import date

import pytest

from gridctl.dispatch.highs import solve
from gridctl.dispatch.model import build_model
from gridctl.dispatch.result import plan_table
from gridctl.planning import baseline_import_kw, dispatch_inputs, make_forecast
from gridctl.replay.sweep import district_with_config
from gridctl.timegrid import gate_time, local_day

DAY = date(2016, 1, 14)


def _inputs(district):
    horizon = local_day(DAY, district.tz, district.resolution_min)
    fc = make_forecast(district, gate_time(DAY, district.tz, district.config.site.gate_time), horizon)
    return dispatch_inputs(district, fc)


def test_the_plan_never_imports_above_the_uncontrolled_forecast_peak(demo_district):
    inp = _inputs(demo_district)
    peak = float(baseline_import_kw(inp).max())
    assert inp.import_limit_kw == pytest.approx(peak)
    assert peak < demo_district.config.grid.import_limit_kw
    model = build_model(inp)
    solve(model)
    table = plan_table(model, inp)
    assert table.grid_import_kw.max() <= peak + 1e-3
    assert table.emissions_kg.sum() < float((baseline_import_kw(inp) * inp.ci_kg_per_kwh * inp.dt_h).sum())


def test_limit_mode_keeps_only_the_configured_connection_limit(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.dispatch.peak_cap = "limit"
    inp = _inputs(district_with_config(demo_district, cfg))
    assert inp.import_limit_kw == cfg.grid.import_limit_kw
