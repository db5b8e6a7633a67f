"""Carbon spread and risk-adjusted intensity: a dip the forecaster cannot be trusted on is not chased."""

import numpy as np
import pandas as pd
import pytest

from forecasts.carbon import CarbonForecaster
from forecasts.carbon_spread import blend_weights, risk_adjusted, spread_by_lead
from forecasts.load import GbmSettings
from gridctl.dispatch.inputs import BatteryParams, DispatchInputs
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.forecast_issue import Forecast
from gridctl.planning import objective_intensity

TZ = "Europe/Berlin"
FAST = GbmSettings(max_iter=30, min_history_days=21, max_train_rows=20_000, max_quantile_rows=5_000)
ISSUE = pd.Timestamp("2016-05-11T10:00Z")

# 8 h in 15-minute intervals: a shallow dip now (trusted), a deeper one later (the forecaster's
# error there is large), a peak at the end; the battery holds one dip's worth of energy, and the
# round trip's losses keep it from cycling between a dip and the base level
N = 32
INDEX = pd.date_range("2016-07-12T04:00Z", periods=N, freq="15min")
NEAR, FAR, PEAK = slice(1, 5), slice(16, 20), slice(26, 30)
CI = np.full(N, 0.32)
CI[NEAR], CI[FAR], CI[PEAK] = 0.30, 0.25, 0.80
SPREAD = np.where(np.arange(N) < 12, 0.02, 0.15)
BATTERY = BatteryParams("b", 0, p_max_kw=100.0, soc_min_kwh=0.0, soc_max_kwh=95.0, soc_initial_kwh=0.0,
                        eta_charge=0.95, eta_discharge=0.95)


def _charged_kwh(k: float, rolling: RollingDispatch) -> tuple[float, float]:
    """Energy the plan charges in the near and in the far dip (kWh), objective risk-adjusted by ``k``."""
    fc = Forecast(INDEX[0], pd.DataFrame(index=INDEX), pd.Series(CI, index=INDEX), "average",
                  ci_spread_kg_per_kwh=pd.Series(SPREAD, index=INDEX))
    inp = DispatchInputs(index=INDEX, dt_h=0.25, load_kw=np.full(N, 1000.0), pv_kw=np.zeros(N), ci_kg_per_kwh=CI,
                         ci_objective_kg_per_kwh=objective_intensity(fc, k), batteries=[BATTERY])
    rs = rolling.solve(inp)
    charge = np.array([rs.model.battery["b"].p_ch[t].value for t in range(N)]) * 0.25
    return float(charge[NEAR].sum()), float(charge[FAR].sum())


def test_an_untrusted_dip_is_not_chased_while_a_trusted_one_is():
    rolling = RollingDispatch()
    near, far = _charged_kwh(0.0, rolling)  # the forecast as is: the deeper, later dip
    assert far == pytest.approx(100.0, abs=0.1) and near == pytest.approx(0.0, abs=0.1)
    near, far = _charged_kwh(1.0, rolling)  # one spread: the later dip is within the forecaster's error
    assert near == pytest.approx(100.0, abs=0.1) and far == pytest.approx(0.0, abs=0.1)
    assert rolling.builds == 1 and rolling.updates == 1  # the objective moved in the persistent model


def test_risk_adjusted_intensity_is_a_soft_threshold_toward_the_mean():
    ci = np.array([0.2, 0.5, 0.5, 0.8])  # mean 0.5
    assert risk_adjusted(ci, np.array([0.1, 0.1, 0.1, 0.5]), 1.0) == pytest.approx([0.3, 0.5, 0.5, 0.5])
    assert risk_adjusted(ci, np.full(4, 0.1), 0.0) == pytest.approx(ci)
    # an empty bucket takes the nearest shorter lead's spread; no errors: no spread
    assert spread_by_lead(np.array([0.75, 0.75, 30.0]), np.array([0.1, -0.1, 0.4])) == pytest.approx(
        [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4])
    assert spread_by_lead(np.array([]), np.array([])) == pytest.approx(np.zeros(8))
    # the model's change from the last value, weighted as the measured change followed it
    lead = np.array([0.0, 0.0, 30.0, 30.0])
    assert blend_weights(lead, np.array([0.01, -0.01, 0.2, 0.1]), np.array([0.1, -0.1, 0.1, 0.05])) == pytest.approx(
        [0.1, 1, 1, 1, 1, 1, 1, 1])


def _carbon(ci: np.ndarray, idx: pd.DatetimeIndex, issued: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame({"ci_kg_per_kwh": ci, "signal_type": "average", "resolution_min": 60, "zone": "DE",
                         "source": "test", "issued_at_utc": issued, "is_estimated": False}, index=idx)


def test_spread_is_the_recent_error_by_lead_known_at_the_issue_day():
    idx = pd.date_range("2016-04-01", "2016-05-20", freq="h", tz="UTC", inclusive="left")
    rng = np.random.default_rng(0)
    walk = np.convolve(rng.normal(0, 0.03, len(idx)), np.full(12, 1.0))[: len(idx)]  # errors grow with lead
    ci = 0.4 + 0.1 * np.sin(2 * np.pi * idx.hour / 24) + walk
    # a provider forecast of every hour, issued an hour before it and 0.05 too high
    data = pd.concat([_carbon(ci, idx, idx), _carbon(ci + 0.05, idx, idx - pd.Timedelta(hours=1))])
    horizon = pd.date_range(ISSUE, periods=48, freq="h")
    spread = CarbonForecaster(TZ, 60, settings=FAST).fit(data).spread(ISSUE, horizon)
    assert spread[0] == pytest.approx(0.05)  # lead 0: the provider's row, issued before each issue
    assert spread[1] < spread[-1]  # the profile model beyond: the further ahead, the larger
    future = data.index >= ISSUE.floor("D")
    mutated = data.assign(ci_kg_per_kwh=np.where(future, 5.0, data.ci_kg_per_kwh))
    later = CarbonForecaster(TZ, 60, settings=FAST).fit(mutated).spread(ISSUE, horizon)
    assert later == pytest.approx(spread)  # only intervals measured before the issue's day count
    profile = CarbonForecaster(TZ, 60, settings=FAST, use_provider=False).fit(data).spread(ISSUE, horizon)
    assert profile[0] != pytest.approx(0.05)


def test_near_leads_follow_the_last_value_as_far_as_the_model_erred_there():
    idx = pd.date_range("2016-04-01", "2016-05-20", freq="h", tz="UTC", inclusive="left")
    noise, ar = np.random.default_rng(1).normal(0, 0.03, len(idx)), np.zeros(len(idx))
    for i in range(1, len(idx)):  # weather-like swings that persist for hours
        ar[i] = 0.95 * ar[i - 1] + noise[i]
    ci = 0.4 + 0.1 * np.sin(2 * np.pi * idx.hour / 24) + ar
    data = _carbon(ci, idx, idx)
    issues = pd.date_range("2016-05-12T01:00Z", periods=20, freq="7h")
    errors = {}
    for blend in (True, False):
        f = CarbonForecaster(TZ, 60, settings=FAST, blend=blend).fit(data)
        lead0 = [f.predict(t, pd.DatetimeIndex([t])).ci_kg_per_kwh.iloc[0] for t in issues]
        errors[blend] = np.abs(np.array(lead0) - data.ci_kg_per_kwh.reindex(issues).to_numpy()).mean()
    assert errors[True] < 0.7 * errors[False], errors
