"""Weather forecast tables: the reader, the config key, and the PV forecaster using an irradiance forecast."""

from datetime import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.errors import DataError
from adapters.weather import read_weather_csv
from forecasts.load import GbmSettings
from forecasts.pv import ClearSkyModel, PvForecaster, PvPlant
from gridctl.commands.check import collect_problems
from gridctl.forecasting import build_forecasters
from gridctl.replay.sweep import district_with_config
from gridctl.timegrid import gate_time, local_day

DATA = Path(__file__).parent / "data"
TZ = "Europe/Berlin"


def test_reader_keeps_every_issue_of_every_interval():
    w = read_weather_csv(DATA / "weather_small.csv")
    assert list(w.columns) == ["issued_at_utc", "temp_air_c", "ghi_w_m2", "cloud_cover_pct"]
    assert len(w) == 16 and w.index.is_monotonic_increasing and str(w.index.tz) == "UTC"
    first = w.loc[pd.Timestamp("2016-07-14T04:00Z")]
    assert sorted(first.ghi_w_m2) == [50.0, 80.0]  # the later issue dropped its 30 W/m2 bias
    assert pd.Timestamp("2016-07-13T22:00Z") in set(first.issued_at_utc)


def test_malformed_file_names_row_and_column():
    with pytest.raises(DataError) as err:
        read_weather_csv(DATA / "weather_malformed.csv")
    text = "\n".join(err.value.problems)
    assert "row 3, column 'ghi_w_m2': '-5' is not a number in [0, 1500]" in text
    assert "row 4, column 'cloud_cover_pct': 'n/e'" in text
    assert "row 5: duplicate (interval_start_utc, issued_at_utc)" in text


def test_config_key_reaches_the_forecasters(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.data.weather = str(DATA / "weather_small.csv")
    f = build_forecasters(district_with_config(demo_district, cfg))
    assert f.pv.weather is not None and "ghi_w_m2" in f.pv.weather
    assert f.load.weather is not None and "temp_air_c" in f.load.weather


def test_a_table_that_misses_the_training_period_is_not_used():
    """Forecasts issued only after the training cutoff leave the feature empty: the model trains without it."""
    plants = {"pv/roof": PvPlant(500.0, 30, 180, 14)}
    clear = ClearSkyModel(53.59, 11.45, plants)
    idx = pd.date_range("2016-05-01T00:00Z", "2016-06-10T00:00Z", freq="15min", inclusive="left")
    history = clear.power(idx) * 0.7
    late = pd.DataFrame({"issued_at_utc": pd.Timestamp("2016-06-09T00:00Z"), "ghi_w_m2": 300.0},
                        index=pd.date_range("2016-06-09T00:00Z", periods=96, freq="15min"))
    settings = GbmSettings(max_iter=20, min_history_days=14, retrain_days=7, max_train_rows=5_000)
    fc = PvForecaster(clear, TZ, 15, time(12), settings, late).fit(history)
    out = fc.predict(pd.Timestamp("2016-06-09T10:00Z"), late.index)
    assert np.isfinite(out.to_numpy()).all() and out.to_numpy().max() > 0


def test_an_irradiance_forecast_sharpens_the_pv_forecast():
    """Daily cloudiness is random: without weather the model can only guess it; with a forecast of
    global irradiance (issued the day before) it follows each day."""
    plants = {"pv/roof": PvPlant(500.0, 30, 180, 14)}
    clear = ClearSkyModel(53.59, 11.45, plants)
    idx = pd.date_range(pd.Timestamp("2016-05-01", tz=TZ), pd.Timestamp("2016-06-20", tz=TZ), freq="15min",
                        inclusive="left").tz_convert("UTC")
    day = idx.tz_convert(TZ).tz_localize(None).normalize()
    rng = np.random.default_rng(1)
    cloud = pd.Series(rng.uniform(0.2, 1.0, len(day.unique())), index=day.unique()).reindex(day).to_numpy()
    history = clear.power(idx).mul(cloud, axis=0)
    weather = pd.DataFrame({"issued_at_utc": idx.normalize() - pd.Timedelta(hours=15),  # 09:00 UTC the day before
                            "ghi_w_m2": clear.irradiance(idx)["ghi"].to_numpy() * cloud}, index=idx)
    settings = GbmSettings(max_iter=60, max_leaf_nodes=15, min_samples_leaf=100, min_history_days=14,
                           retrain_days=7, max_train_rows=20_000)
    blind = PvForecaster(clear, TZ, 15, time(12), settings).fit(history)
    informed = PvForecaster(clear, TZ, 15, time(12), settings, weather).fit(history)
    errors = {"blind": 0.0, "informed": 0.0}
    for day in pd.date_range("2016-06-12", "2016-06-18"):
        issue, horizon = gate_time(day.date(), TZ, time(12)), local_day(day.date(), TZ, 15)
        actual = history.loc[horizon, "pv/roof"].to_numpy()
        for name, model in (("blind", blind), ("informed", informed)):
            errors[name] += np.abs(model.predict(issue, horizon)["pv/roof"].to_numpy() - actual).mean()
    assert errors["informed"] < 0.5 * errors["blind"]


def test_check_reports_a_malformed_weather_file(tmp_path):
    root = Path(__file__).parent.parent
    text = (root / "config.toml").read_text().replace('weather = ""', f'weather = "{DATA / "weather_malformed.csv"}"')
    (tmp_path / "config.toml").write_text(text)
    problems = collect_problems(str(tmp_path / "config.toml"))
    assert any("row 3, column 'ghi_w_m2'" in p for p in problems) and len(problems) == 3


def test_forecast_threads_reach_every_forecaster(demo_district):
    cfg = demo_district.config.model_copy(deep=True)
    cfg.forecast.threads = 3
    f = build_forecasters(district_with_config(demo_district, cfg))
    assert f.load.settings.predict_threads == f.pv.settings.predict_threads == f.carbon.settings.predict_threads == 3
