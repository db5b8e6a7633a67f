"""The district's forecasters are configured from [forecast] and checked against its series."""

import pytest

from gridctl.config import ConfigError
from gridctl.district import District
from gridctl.forecasting import pv_plants


def test_pv_kwp_for_an_unknown_series_names_the_key(demo_config, demo_district):
    cfg = demo_config.model_copy(deep=True)
    cfg.forecast.pv_kwp = {"pv/nowhere": 10.0, demo_district.pv_series[0]: 123.0}
    district = District(cfg, demo_district.net)
    with pytest.raises(ConfigError, match="forecast.pv_kwp.pv/nowhere"):
        pv_plants(district)
    cfg.forecast.pv_kwp = {demo_district.pv_series[0]: 123.0}
    assert pv_plants(district)[demo_district.pv_series[0]].kwp == 123.0


def test_evaluate_rejects_an_end_before_the_start(capsys):
    from gridctl.cli import main

    assert main(["forecast", "evaluate", "--start", "2016-10-05", "--end", "2016-10-01"]) == 2
    assert "--end 2016-10-01 is before --start 2016-10-05" in capsys.readouterr().err
