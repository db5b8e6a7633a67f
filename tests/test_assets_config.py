"""Configuration of flexible assets: listed EV sessions on the horizon, clear errors for bad keys."""

from datetime import time

import pandas as pd
import pytest

from gridctl.config import ConfigError, EvChargerConfig, EvSessionConfig, parse_config
from gridctl.flexible_loads import PlacedFlexLoad, ev_params


def _charger(*sessions):
    cfg = EvChargerConfig(id="ev", load=0, unit_id=40, p_max_kw=11.0,
                          sessions=[EvSessionConfig(arrival=a, departure=d, energy_kwh=e) for a, d, e in sessions])
    return PlacedFlexLoad(cfg, "ev_charger", 0, 0, "load/x", 1.0, 11.0)


def test_listed_sessions_land_on_local_intervals_and_overnight_stays_are_cut():
    idx = pd.date_range("2016-07-14 00:00", "2016-07-14 23:45", freq="15min", tz="Europe/Berlin").tz_convert("UTC")
    groups = pd.DataFrame({"load/x": 0.0}, index=idx)
    # a day session 08:00-17:00 and an overnight one 20:00-06:00: yesterday's reaches into the
    # horizon (6 of its 10 h: 60 % of 20 kWh), today's leaves it (4 of 10 h: 40 %)
    ev = ev_params(_charger((time(8), time(17), 30.0), (time(20), time(6), 20.0)), groups, "Europe/Berlin", 0.25)
    got = [(s.arrival, s.departure, round(s.energy_kwh, 6)) for s in ev.sessions]
    assert got == [(0, 24, 12.0), (32, 68, 30.0), (80, 96, 8.0)]


@pytest.mark.parametrize("patch, message", [
    ({"dispatch": {"import_price_per_kwh": [0.2] * 23}}, "dispatch.import_price_per_kwh: give one price or 24"),
    ({"assets": {"heat_pump": [{"id": "hp", "load": 1, "unit_id": 50, "temp_min_c": 50, "temp_max_c": 45}]}},
     "need temp_min_c <= temp_initial_c <= temp_max_c"),
    ({"assets": {"ev_charger": [{"id": "ev", "load": 1, "unit_id": 51, "session": []}]}},
     "assets.ev_charger.0.session: unknown key"),
])
def test_bad_asset_config_names_the_key(patch, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config(patch)
