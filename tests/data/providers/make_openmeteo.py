"""Writes ``openmeteo_forecast.fb``: an Open-Meteo forecast answer in its wire format (``format=
flatbuffers``: size-prefixed ``WeatherApiResponse`` tables of the openmeteo-sdk schema), for
latitude 53.59, longitude 11.45, hourly temperature_2m, shortwave_radiation and cloud_cover,
12 hours from 2026-12-02 06:00 UTC. Run: ``python tests/data/providers/make_openmeteo.py``."""

from pathlib import Path

import flatbuffers
from openmeteo_sdk.Unit import Unit
from openmeteo_sdk.Variable import Variable

START = 1_796_191_200  # 2026-12-02T06:00:00Z
TEMP_C = [1.2, 1.0, 1.1, 1.9, 3.0, 3.8, 4.2, 4.0, 3.4, 2.6, 2.1, 1.8]
GHI_W_M2 = [0.0, 0.0, 3.0, 38.0, 92.0, 131.0, 140.0, 112.0, 60.0, 14.0, 0.0, 0.0]
CLOUD_PCT = [100.0, 98.0, 91.0, 75.0, 60.0, 52.0, 55.0, 70.0, 84.0, 96.0, 100.0, 100.0]


def vector(b: flatbuffers.Builder, items: list, prepend) -> int:
    """A flatbuffers vector of 4-byte items, each written by ``prepend``."""
    b.StartVector(4, len(items), 4)
    for item in reversed(items):
        prepend(item)
    return b.EndVector()


def variable(b: flatbuffers.Builder, var: int, unit: int, altitude: int, values: list[float]) -> int:
    vec = vector(b, values, b.PrependFloat32)
    b.StartObject(13)
    b.PrependUint8Slot(0, var, 0)
    b.PrependUint8Slot(1, unit, 0)
    b.PrependUOffsetTRelativeSlot(3, vec, 0)
    b.PrependInt16Slot(5, altitude, 0)
    return b.EndObject()


def build() -> bytes:
    b = flatbuffers.Builder(1024)
    offsets = [variable(b, Variable.temperature, Unit.celsius, 2, TEMP_C),
               variable(b, Variable.shortwave_radiation, Unit.watt_per_square_metre, 0, GHI_W_M2),
               variable(b, Variable.cloud_cover, Unit.percentage, 0, CLOUD_PCT)]
    variables = vector(b, offsets, b.PrependUOffsetTRelative)
    b.StartObject(4)
    b.PrependInt64Slot(0, START, 0)
    b.PrependInt64Slot(1, START + 3600 * len(TEMP_C), 0)
    b.PrependInt32Slot(2, 3600, 0)
    b.PrependUOffsetTRelativeSlot(3, variables, 0)
    hourly = b.EndObject()
    tz, abbr = b.CreateString("GMT"), b.CreateString("GMT")
    b.StartObject(15)
    b.PrependFloat32Slot(0, 53.6, 0.0)
    b.PrependFloat32Slot(1, 11.440002, 0.0)
    b.PrependFloat32Slot(2, 42.0, 0.0)
    b.PrependFloat32Slot(3, 0.081, 0.0)
    b.PrependUOffsetTRelativeSlot(7, tz, 0)
    b.PrependUOffsetTRelativeSlot(8, abbr, 0)
    b.PrependUOffsetTRelativeSlot(11, hourly, 0)
    b.FinishSizePrefixed(b.EndObject())
    return bytes(b.Output())


if __name__ == "__main__":
    Path(__file__).with_name("openmeteo_forecast.fb").write_bytes(build())
