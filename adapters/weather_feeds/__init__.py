"""Clients of weather-forecast services; each returns the weather table of :mod:`adapters.weather`
(UTC interval starts, ``issued_at_utc``, ``temp_air_c``, ``ghi_w_m2``, ``cloud_cover_pct``)."""
