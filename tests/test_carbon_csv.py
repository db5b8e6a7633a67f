"""The canonical carbon-intensity CSV: unit conversion on read, round trip, row-numbered errors."""

import pandas as pd
import pytest

from adapters.carbon import read_carbon_csv, write_carbon_csv
from adapters.errors import DataError

HEADER = "interval_start_utc,resolution_min,value,unit,signal_type,zone,source,issued_at_utc,is_estimated\n"


def test_units_are_converted_to_kg_per_kwh(tmp_path):
    path = tmp_path / "ci.csv"
    path.write_text(
        HEADER
        + "2016-07-14T00:00:00+00:00,15,420,g_per_kwh,marginal,DE,x,2016-07-13T12:00:00+00:00,true\n"
        + "2016-07-14T00:15:00+00:00,15,1000,lbs_per_mwh,marginal,DE,x,2016-07-13T12:00:00+00:00,false\n"
    )
    ci = read_carbon_csv(path)
    assert ci.ci_kg_per_kwh.to_numpy() == pytest.approx([0.42, 0.45359237])
    assert ci.index[0] == pd.Timestamp("2016-07-14T00:00Z")
    assert ci.is_estimated.tolist() == [True, False]
    write_carbon_csv(ci, tmp_path / "out.csv")
    again = read_carbon_csv(tmp_path / "out.csv")
    pd.testing.assert_frame_equal(again, ci, check_exact=False, rtol=1e-6)


def test_bad_rows_are_named_by_row_and_column(tmp_path):
    path = tmp_path / "ci.csv"
    path.write_text(
        HEADER
        + "2016-07-14T00:00:00+00:00,15,0.4,kg_per_kwh,average_direct,DE,x,2016-07-14T00:00:00+00:00,true\n"
        + "2016-07-14T00:15:00,15,0.4,kg_per_kwh,average_direct,DE,x,2016-07-14T00:15:00+00:00,true\n"
        + "2016-07-14T00:30:00+00:00,15,n/e,kg_per_kwh,average_direct,DE,x,2016-07-14T00:30:00+00:00,true\n"
        + "2016-07-14T00:45:00+00:00,15,0.4,tons,average_direct,DE,x,2016-07-14T00:45:00+00:00,true\n"
        + "2016-07-14T00:00:00+00:00,15,0.4,kg_per_kwh,average_direct,DE,x,2016-07-14T00:00:00+00:00,true\n"
    )
    with pytest.raises(DataError) as exc:
        read_carbon_csv(path)
    text = "\n".join(exc.value.problems)
    assert "row 3, column 'interval_start_utc': '2016-07-14T00:15:00' has no UTC offset" in text
    assert "row 4, column 'value': 'n/e' is not a non-negative number" in text
    assert "row 5, column 'unit': 'tons' is not one of" in text
    assert "row 6: duplicate (interval_start_utc, signal_type, issued_at_utc)" in text
