"""Demand charges: known optima of peak shaving, the month's running peak carried and reset, windows."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from dispatch_case import solve_case
from test_cli_errors import assert_one_line, gridctl

from gridctl.config import parse_config
from gridctl.config_charges import DemandChargeConfig
from gridctl.demand_charges import charge_report, model_charges, month_keys, running_peaks
from gridctl.dispatch.inputs import BatteryParams, DispatchInputs
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.site_data import measured_running_peaks
from gridctl.store import Store
from gridctl.store.series import SeriesRow, upsert_measured

LOAD_KW = [4.0, 10.0, 10.0, 4.0]  # hourly; 28 kWh, so the flattest import is 7 kW
PRICE = 0.1  # per kWh, flat: shifting energy is free, only the peak costs


def inputs(charge: DemandChargeConfig, running: dict | None = None, load_kw=LOAD_KW, start="2016-07-14T00:00Z",
           objective="cost", carbon_price_per_kg=0.0) -> DispatchInputs:
    """Hourly case (UTC site) with a lossless 5 kW / 10 kWh battery at 6 kWh that must end there."""
    n = len(load_kw)
    index = pd.date_range(start, periods=n, freq="1h", tz="UTC")
    bat = BatteryParams("b", 0, 5.0, 0.0, 10.0, 6.0, 1.0, 1.0)
    return DispatchInputs(index=index, dt_h=1.0, load_kw=np.array(load_kw), pv_kw=np.zeros(n),
                          ci_kg_per_kwh=np.full(n, 0.3), batteries=[bat], objective=objective,
                          price_per_kwh=np.full(n, PRICE), throughput_penalty_per_kwh=0.0,
                          carbon_price_per_kg=carbon_price_per_kg,
                          demand_charges=model_charges([charge], index, "UTC", objective, running or {}))


def charge(**kw) -> DemandChargeConfig:
    return DemandChargeConfig(**{"name": "peak", "price_per_kw": 10.0, **kw})


@pytest.mark.parametrize("objective", ["cost", "blend"])
def test_peak_shaving_reaches_the_flat_analytic_peak(objective):
    res, table, _ = solve_case(inputs(charge(), objective=objective, carbon_price_per_kg=0.1))
    assert table.grid_import_kw.max() == pytest.approx(7.0, abs=1e-6)
    # energy at the flat price plus 10 per kW of the 7 kW peak (blend: plus 0.1 per kg of 28 kWh at 0.3 kg/kWh)
    carbon = 0.1 * 0.3 * 28 if objective == "blend" else 0.0
    assert res.objective == pytest.approx(PRICE * 28 + 10.0 * 7.0 + carbon, abs=1e-6)
    report = charge_report(table.grid_import_kw, [charge()], "UTC")
    assert report == [{"name": "peak", "month": "2016-07", "carried_peak_kw": 0.0, "peak_kw": 7.0,
                       "price_per_kw": 10.0, "charge": 70.0, "added_charge": 70.0}]


def test_a_higher_carried_peak_is_neither_shaved_below_nor_paid_again():
    carried = {("peak", "2016-07"): 8.0}  # earlier this month the import reached 8 kW
    res, table, _ = solve_case(inputs(charge(), carried))
    assert table.grid_import_kw.max() <= 8.0 + 1e-6  # no new peak
    assert res.objective == pytest.approx(PRICE * 28, abs=1e-6)  # nothing added to the month's charge
    (row,) = charge_report(table.grid_import_kw, [charge()], "UTC", carried)
    assert row["peak_kw"] == 8.0 and row["charge"] == 80.0 and row["added_charge"] == 0.0


def test_a_lower_carried_peak_pays_only_the_increase():
    carried = {("peak", "2016-07"): 5.0}
    res, table, _ = solve_case(inputs(charge(), carried))
    assert table.grid_import_kw.max() == pytest.approx(7.0, abs=1e-6)
    assert res.objective == pytest.approx(PRICE * 28 + 10.0 * (7.0 - 5.0), abs=1e-6)


def test_the_window_only_charges_its_hours():
    # window: hour 1 only. The battery empties 5 kW into hour 1; hour 2 keeps its 10 kW
    res, table, _ = solve_case(inputs(charge(hours=[1])))
    assert table.grid_import_kw.iloc[1] == pytest.approx(5.0, abs=1e-6)
    assert table.grid_import_kw.max() >= 10.0 - 1e-6
    assert res.objective == pytest.approx(PRICE * 28 + 10.0 * 5.0, abs=1e-6)


def test_weekdays_and_months_limit_the_window():
    thursday = inputs(charge(weekdays=[4]))  # 2016-07-14 is a Thursday
    assert [p for p, _ in thursday.demand_charges[0].periods] == ["2016-07"]
    assert inputs(charge(weekdays=[1, 2, 3, 5, 6, 7])).demand_charges[0].periods == ()
    assert inputs(charge(months=[8])).demand_charges[0].periods == ()


def test_emissions_mode_uses_the_soft_cap_or_ignores_the_charge():
    off = inputs(charge(), objective="emissions")
    assert off.demand_charges == ()
    capped = inputs(charge(emissions_mode="soft_cap", soft_cap_kw=8.5, soft_cap_penalty_per_kw=5.0),
                    load_kw=[4.0, 10.0, 12.0, 4.0], objective="emissions")
    res, table, _ = solve_case(capped)
    # 30 kWh: the cap 8.5 is reachable (discharge 1.5 and 3.5, recharge 5 in hours 0 and 3)
    assert table.grid_import_kw.max() <= 8.5 + 1e-6
    assert res.objective == pytest.approx(0.3 * 30, abs=1e-4)


def test_the_running_peak_resets_at_local_month_start_and_reads_no_later_interval():
    tz = "Europe/Berlin"
    index = pd.date_range("2016-07-31T20:00Z", periods=12, freq="15min")  # 22:00 local on 31 July on
    import_kw = pd.Series(np.arange(12, dtype=float), index=index)
    charges = [charge()]
    now = pd.Timestamp("2016-07-31T22:30Z")  # 00:30 local on 1 August
    assert running_peaks(import_kw, charges, tz, now, 15) == {("peak", "2016-08"): 9.0}  # 22:00Z and 22:15Z only
    before = pd.Timestamp("2016-07-31T21:10Z")
    assert running_peaks(import_kw, charges, tz, before, 15) == {("peak", "2016-07"): 3.0}  # 21:00Z not ended yet
    horizon = pd.date_range("2016-07-31T21:00Z", periods=8, freq="15min")
    (two_months,) = model_charges(charges, horizon, tz, "cost", {("peak", "2016-07"): 3.0})
    assert [p for p, _ in two_months.periods] == ["2016-07", "2016-08"] and two_months.floor_kw == (3.0, 0.0)


def test_the_daemon_reads_the_running_peak_from_meter_rows_ended_before_now(tmp_path):
    cfg = parse_config({"dispatch": {"demand_charges": [{"name": "peak", "price_per_kw": 10.0, "hours": [8, 9]}]}})
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    meter = cfg.measurements.meter_series
    rows = [("2016-06-30T06:00Z", 99.0),  # June (local): another month
            ("2016-07-01T06:00Z", 40.0), ("2016-07-01T06:15Z", 55.0),  # 08:00-08:30 local, in the window
            ("2016-07-01T09:00Z", 70.0),  # 11:00 local: outside the window
            ("2016-07-01T06:30Z", 90.0), ("2016-07-01T06:45Z", 95.0)]  # ends after now / starts after now
    upsert_measured(store, [SeriesRow(meter, "p_kw", pd.Timestamp(t).to_pydatetime(), v) for t, v in rows], "meter",
                    datetime.now(UTC))
    now = pd.Timestamp("2016-07-01T06:40Z")
    assert measured_running_peaks(store, cfg, now) == {("peak", "2016-07"): 55.0}
    assert measured_running_peaks(store, cfg, pd.Timestamp("2016-07-01T07:00Z")) == {("peak", "2016-07"): 95.0}


def test_a_persistent_model_carries_the_new_running_peak_as_a_rebuild_does():
    load_kw = [4.0, 10.0, 10.0, 4.0, 3.0, 11.0, 9.0, 4.0]
    rolling = RollingDispatch()
    rolling.solve(inputs(charge(), load_kw=load_kw))
    for k, measured_peak in ((2, 6.5), (4, 9.5)):
        tail = inputs(charge(), {("peak", "2016-07"): measured_peak}, load_kw[k:],
                      start=pd.Timestamp("2016-07-14T00:00Z") + pd.Timedelta(hours=k))
        kept = rolling.solve(tail)
        built = RollingDispatch().solve(tail)
        assert not kept.rebuilt
        assert kept.objective == pytest.approx(built.objective, abs=1e-6)
        assert kept.model.demand_peak_kw["peak", "2016-07"].value == pytest.approx(
            built.model.demand_peak_kw["peak", "2016-07"].value, abs=1e-6)


@pytest.mark.parametrize("table, pattern", [
    ('name = "m"\nprice_per_kw = 10.0\nhours = [8, 24]', r"dispatch\.demand_charges\.0\.hours: \[24\] outside 0-23"),
    ('name = "m"\nprice_per_kw = 10.0\nweekdays = []', r"dispatch\.demand_charges\.0\.weekdays: empty weekdays"),
    ('name = "m"\nprice_per_kw = -1.0', r"dispatch\.demand_charges\.0\.price_per_kw: .*greater than 0"),
    ('name = "m"\nprice_per_kw = 1.0\n[[dispatch.demand_charges]]\nname = "m"\nprice_per_kw = 2.0',
     r"dispatch\.demand_charges: duplicate demand charge names \['m'\]"),
])
def test_a_bad_charge_is_one_line_and_exit_2(table, pattern, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f"[[dispatch.demand_charges]]\n{table}\n")
    proc = gridctl("plan", "--config", str(config), "--date", "2016-07-14", "--out", str(tmp_path / "out"))
    assert_one_line(proc, 2, r"^error: " + pattern)


def test_month_keys_are_the_formatted_local_months():
    """Formatted once per month, the keys are those of formatting every interval's local start."""
    index = pd.date_range("2016-02-28T20:00Z", "2016-04-01T02:00Z", freq="15min")  # month ends, the spring change
    keys = month_keys(index, "Europe/Berlin")
    assert keys.dtype == object and keys.tolist() == list(index.tz_convert("Europe/Berlin").strftime("%Y-%m"))
    assert month_keys(index[:0], "Europe/Berlin").tolist() == []
