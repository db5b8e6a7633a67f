"""Grid connection and objective modes: soft import cap, peak charge, blend, export credit."""

import numpy as np
import pytest
from dispatch_case import solve_case
from test_dispatch import _inputs

from gridctl.dispatch.inputs import BatteryParams
from gridctl.dispatch.model import build_model


def test_import_cap_is_soft_and_reported():
    res, table, viol = solve_case(_inputs([0.2, 0.2], [10.0, 4.0], import_limit_kw=6.0))
    assert res.status == "optimal"
    assert table.grid_import_kw.to_numpy() == pytest.approx([10.0, 4.0])
    assert viol == [{"limit": "import_limit", "asset": "grid", "size": pytest.approx(4.0), "unit": "kW",
                     "interval_start": table.index[0].isoformat()}]


def test_peak_charge_shaves_the_peak():
    # lossless battery holding 5 kWh that must end at 5: moving 4 kWh from hour 0 to hour 1
    # brings both hours to 6 kW
    bat = BatteryParams("b", 0, 5.0, 0.0, 10.0, 5.0, 1.0, 1.0)
    inp = _inputs([0.2, 0.2], [10.0, 2.0], batteries=[bat], objective="cost", price_per_kwh=[0.1, 0.1],
                  peak_charge_per_kw=1.0)
    res, table, _ = solve_case(inp)
    assert table.grid_import_kw.to_numpy() == pytest.approx([6.0, 6.0], abs=1e-6)
    assert res.objective == pytest.approx(12 * 0.1 + 6.0, abs=1e-4)


def test_blend_prices_carbon():
    inp = _inputs([0.5], [10.0], objective="blend", price_per_kwh=[0.2], carbon_price_per_kg=0.1)
    res, _, _ = solve_case(inp)
    assert res.objective == pytest.approx(10 * 0.2 + 0.1 * 10 * 0.5)


def test_export_credit_counts_displaced_emissions():
    inp = _inputs([0.4], [0.0], pv=[10.0], export_credit_factor=0.5)
    res, table, _ = solve_case(inp)
    assert table.emissions_kg.iloc[0] == pytest.approx(-0.5 * 0.4 * 10)
    assert res.objective == pytest.approx(-2.0)


def test_unknown_objective_mode_is_rejected():
    with pytest.raises(ValueError, match="objective 'carbon'"):
        build_model(_inputs([0.4], [1.0], objective="carbon"))
    assert np.isfinite(_inputs([0.4], [1.0]).price_per_kwh).all()
