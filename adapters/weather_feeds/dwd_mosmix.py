"""DWD MOSMIX_L station forecasts (open data, no key), read from the KMZ files DWD publishes:
``{base}/MOSMIX_L/single_stations/{station}/kml/MOSMIX_L_LATEST_{station}.kmz``.

A KMZ is a zip with one KML document: ``dwd:IssueTime``, the ``dwd:ForecastTimeSteps``
(hourly, UTC) and per station a ``dwd:Forecast`` per element with whitespace-separated values
(``-`` = undefined). Read: ``TTT`` (2 m temperature, K), ``Rad1h`` (global irradiance of the
hour ending at the step, kJ/m2; / 3.6 = W/m2 mean) and ``N`` (total cloud cover, %). Rows follow
:func:`adapters.weather_feeds.hourly.hourly_weather`, issued at the file's ``IssueTime``.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

import httpx
import numpy as np
import pandas as pd

from adapters.providers.http import DEFAULT_POLICY, FeedError, RetryPolicy, get_bytes
from adapters.weather_feeds.hourly import hourly_weather

BASE_URL = "https://opendata.dwd.de/weather/local_forecasts/mos"
NS = {"kml": "http://www.opengis.net/kml/2.2",
      "dwd": "https://opendata.dwd.de/weather/lib/pointforecast_dwd_extension_V1_0.xsd"}
KELVIN = 273.15
KJ_PER_M2_H_TO_W_M2 = 1000.0 / 3600.0


def parse_mosmix_kml(kml: bytes, station: str, source: str) -> pd.DataFrame:
    """The weather table of one station of a MOSMIX KML document."""
    root = ElementTree.fromstring(kml)
    issued = root.findtext(".//dwd:ProductDefinition/dwd:IssueTime", namespaces=NS)
    steps = [t.text for t in root.iterfind(".//dwd:ForecastTimeSteps/dwd:TimeStep", NS)]
    if not issued or not steps:
        raise FeedError(f"{source}: no dwd:IssueTime or dwd:ForecastTimeSteps; is this a MOSMIX KML file?")
    undefined = root.findtext(".//dwd:FormatCfg/dwd:DefaultUndefSign", default="-", namespaces=NS)
    placemark = next((p for p in root.iterfind(".//kml:Placemark", NS)
                      if (p.findtext("kml:name", namespaces=NS) or "").strip() == station), None)
    if placemark is None:
        raise FeedError(f"{source}: station {station!r} is not in the file")
    values = {}
    for element in ("TTT", "Rad1h", "N"):
        node = placemark.find(f".//dwd:Forecast[@dwd:elementName='{element}']/dwd:value", NS)
        if node is None or node.text is None:
            raise FeedError(f"{source}: station {station}: no {element} forecast")
        cells = node.text.split()
        if len(cells) != len(steps):
            raise FeedError(f"{source}: station {station}: {element} has {len(cells)} values for {len(steps)} steps")
        try:
            values[element] = np.array([np.nan if c == undefined else float(c) for c in cells])
        except ValueError as exc:
            raise FeedError(f"{source}: station {station}: {element}: {exc}") from None
    return hourly_weather(pd.DatetimeIndex(pd.to_datetime(steps, utc=True)), values["TTT"] - KELVIN,
                          values["Rad1h"] * KJ_PER_M2_H_TO_W_M2, values["N"], pd.Timestamp(issued), source)


class DwdMosmix:
    """MOSMIX_L forecast of one DWD station (e.g. ``10162`` Schwerin)."""

    def __init__(self, station: str, *, base_url: str = BASE_URL, policy: RetryPolicy = DEFAULT_POLICY,
                 client: httpx.Client | None = None):
        self.station, self.base_url, self.policy = station, base_url.rstrip("/"), policy
        self.client = client or httpx.Client(follow_redirects=True)

    def fetch(self, now: pd.Timestamp) -> pd.DataFrame:
        """The weather table of the newest MOSMIX_L run for the station (``now`` is not needed)."""
        del now
        source = f"DWD MOSMIX_L {self.station}"
        url = f"{self.base_url}/MOSMIX_L/single_stations/{self.station}/kml/MOSMIX_L_LATEST_{self.station}.kmz"
        body = get_bytes(self.client, url, self.policy, source)
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as kmz:
                kml = kmz.read(kmz.namelist()[0])
        except (zipfile.BadZipFile, IndexError):
            raise FeedError(f"{source}: the answer is not a KMZ (zip) file") from None
        try:
            return parse_mosmix_kml(kml, self.station, source)
        except ElementTree.ParseError as exc:
            raise FeedError(f"{source}: not valid KML ({exc})") from None
