"""The replay's cost prices the grid exchange with the configured tariff, as cost_basis says."""

import pandas as pd
import pytest

from gridctl.config import DispatchConfig
from gridctl.replay.kpis import COST_BASIS, energy_cost


def test_cost_prices_import_by_local_hour_and_export_flat():
    tariff = DispatchConfig(import_price_per_kwh=[0.2] * 7 + [0.5] * 17, export_price_per_kwh=0.05)
    index = pd.DatetimeIndex(["2016-07-11T04:00Z", "2016-07-11T05:00Z", "2016-07-11T10:00Z"])  # 06, 07, 12 local
    operation = pd.DataFrame({"grid_import_kw": [100.0, 100.0, -40.0]}, index=index)
    # 100 kW for 15 min at 0.2, then at 0.5; 40 kW exported for 15 min at 0.05
    assert energy_cost(operation, 0.25, "Europe/Berlin", tariff) == pytest.approx(25 * 0.2 + 25 * 0.5 - 10 * 0.05)
    assert "import_price_per_kwh" in COST_BASIS and "no price" not in COST_BASIS
