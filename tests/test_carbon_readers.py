"""Provider carbon-intensity files: read into the canonical frame, round-trip, bad rows named."""

from pathlib import Path

import pandas as pd
import pytest

from adapters.carbon import read_carbon_csv, write_carbon_csv
from adapters.carbon_formats import (
    ENTSOE_FACTORS_KG_PER_KWH,
    read_electricitymaps_csv,
    read_entsoe_generation_csv,
    read_watttime_json,
)
from adapters.errors import DataError

DATA = Path(__file__).parent / "data"


def _round_trip(frame: pd.DataFrame, tmp_path: Path) -> None:
    """The frame survives the canonical CSV unchanged (values to 1e-6 kg/kWh)."""
    write_carbon_csv(frame, tmp_path / "canonical.csv")
    back = read_carbon_csv(tmp_path / "canonical.csv")
    pd.testing.assert_frame_equal(back, frame, check_exact=False, atol=1e-6, check_dtype=False, check_freq=False)


def test_electricitymaps_export(tmp_path):
    frame = read_electricitymaps_csv(DATA / "carbon_electricitymaps.csv")
    assert list(frame.index) == list(pd.date_range("2016-07-14T00:00Z", periods=4, freq="h"))
    assert frame.ci_kg_per_kwh.iloc[0] == pytest.approx(0.4551)
    assert set(frame.signal_type) == {"average_lifecycle"} and set(frame.zone) == {"DE"}
    assert frame.is_estimated.tolist() == [False, False, True, False]
    direct = read_electricitymaps_csv(DATA / "carbon_electricitymaps.csv", signal_type="average_direct")
    assert direct.ci_kg_per_kwh.iloc[0] == pytest.approx(0.4025)
    _round_trip(frame, tmp_path)


def test_watttime_moer_is_converted_from_lbs_per_mwh(tmp_path):
    frame = read_watttime_json(DATA / "carbon_watttime.json")
    assert frame.ci_kg_per_kwh.iloc[0] == pytest.approx(950.0 * 0.45359237 / 1000)
    assert set(frame.signal_type) == {"marginal"} and set(frame.resolution_min) == {5}
    assert (frame.issued_at_utc == pd.Timestamp("2016-07-14T09:55Z")).all()  # a forecast, issued before
    _round_trip(frame, tmp_path)


def test_entsoe_generation_mix_to_intensity(tmp_path):
    frame = read_entsoe_generation_csv(DATA / "carbon_entsoe.csv", zone="DE")
    mw = {"Biomass": 4000, "Fossil Brown coal/Lignite": 15000, "Fossil Gas": 3000, "Nuclear": 8000,
          "Solar": 20000, "Wind Onshore": 10000}  # pumped storage left out, marine n/e throughout
    expected = sum(v * ENTSOE_FACTORS_KG_PER_KWH[k] for k, v in mw.items()) / sum(mw.values())
    assert frame.ci_kg_per_kwh.iloc[0] == pytest.approx(expected)
    assert frame.index[1] == pd.Timestamp("2016-07-14T10:15Z") and set(frame.resolution_min) == {15}
    _round_trip(frame, tmp_path)


@pytest.mark.parametrize(("reader", "name", "expected"), [
    (read_electricitymaps_csv, "carbon_electricitymaps_bad.csv",
     ["row 3, column 'Carbon intensity gCO₂eq/kWh (Life cycle)'", "row 4, column 'Datetime (UTC)': duplicate"]),
    (read_watttime_json, "carbon_watttime_bad.json",
     ["row 2 (data[1]), column 'value': 'NaN'", "row 3 (data[2]), column 'point_time'"]),
    (read_entsoe_generation_csv, "carbon_entsoe_bad.csv",
     ["row 3, column 'MTU (CET/CEST)'", "row 3, column 'Fossil Brown coal/Lignite  - Actual Aggregated [MW]': 'n/e'"]),
])
def test_malformed_file_names_row_and_column(reader, name, expected):
    with pytest.raises(DataError) as err:
        reader(DATA / name)
    text = "\n".join(err.value.problems)
    for fragment in expected:
        assert fragment in text
    assert len(err.value.problems) == len(expected)  # good rows are not reported
