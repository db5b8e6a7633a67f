"""Register layout of a SunSpec device, computed from model definitions.

A device is the ``SunS`` marker at the base address, a chain of models (each ``ID``, ``L``,
then its points) and the end marker ``0xFFFF`` with length 0. The point tables come from the
JSON model definitions that ``pysunspec2`` ships (SunSpec models) or from ``adapters/maps``
(gridctl vendor models for devices without a common SunSpec model), never typed by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from sunspec2 import device as sunspec_device
from sunspec2 import mb, mdef

BASE_ADDRESS = 40000
SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"
END_MODEL_ID = mb.SUNS_END_MODEL_ID
MAPS_DIR = Path(__file__).resolve().parent.parent / "maps"


@dataclass(frozen=True)
class PointDef:
    """One point of a model: absolute register address, size and how to interpret it."""

    name: str  # dotted path below the model, e.g. "WSet" or "PFWInj.PF"
    model_id: int
    address: int
    size: int  # registers
    type: str
    sf: str | int | None  # name of the scale-factor point of the same model, or a fixed exponent
    access: str  # "R" or "RW"
    symbols: dict[str, int] = field(default_factory=dict, compare=False)
    sf_address: int | None = field(default=None, compare=False)  # address of the sf point, when named

    @property
    def writable(self) -> bool:
        return self.access == mdef.ACCESS_RW


@dataclass(frozen=True)
class ModelLayout:
    """A model placed at an address: ``address`` holds ``ID``, ``address + 1`` holds ``L``."""

    model_id: int
    name: str
    address: int
    length: int  # L: registers after ID and L
    points: dict[str, PointDef]

    @property
    def end(self) -> int:
        """First address after this model."""
        return self.address + 2 + self.length


@cache
def model_definition(model_id: int) -> dict:
    """The JSON definition of a model: gridctl's own maps first, then pysunspec2's."""
    own = MAPS_DIR / f"model_{model_id}.json"
    if own.exists():
        return json.loads(own.read_text())
    try:
        return sunspec_device.get_model_def(model_id, mapping=False)
    except mdef.ModelDefinitionError as exc:
        raise KeyError(f"no SunSpec or gridctl model definition for model {model_id}") from exc


def point_size(pdef: dict) -> int:
    """Registers taken by a point definition."""
    info = mb.point_type_info[pdef[mdef.TYPE]]
    return int(pdef[mdef.SIZE]) if info.len is None else info.len


def _group_points(group: dict, model_id: int, address: int, prefix: str, out: dict[str, PointDef]) -> int:
    """Place the points of ``group`` (and its fixed-count subgroups) from ``address``; return the end."""
    for pdef in group.get(mdef.POINTS, []):
        name = prefix + pdef[mdef.NAME]
        size = point_size(pdef)
        symbols = {s[mdef.NAME]: int(s[mdef.VALUE]) for s in pdef.get(mdef.SYMBOLS, [])}
        out[name] = PointDef(name, model_id, address, size, pdef[mdef.TYPE], pdef.get(mdef.SF),
                             pdef.get(mdef.ACCESS, mdef.ACCESS_R), symbols)
        address += size
    for sub in group.get(mdef.GROUPS, []):
        count = sub.get(mdef.COUNT, 1)
        if not isinstance(count, int):
            raise TypeError(f"model {model_id}: group {sub[mdef.NAME]!r} repeats by point {count!r}; "
                             "only fixed-count groups are supported")
        for i in range(count):
            label = sub[mdef.NAME] if count == 1 else f"{sub[mdef.NAME]}[{i}]"
            address = _group_points(sub, model_id, address, f"{prefix}{label}.", out)
    return address


def model_layout(model_id: int, address: int) -> ModelLayout:
    """Place model ``model_id`` with its ``ID`` register at ``address``."""
    definition = model_definition(model_id)
    group = definition[mdef.GROUP]
    points: dict[str, PointDef] = {}
    end = _group_points(group, model_id, address, "", points)
    for name, p in points.items():
        if isinstance(p.sf, str) and p.sf in points:
            points[name] = replace(p, sf_address=points[p.sf].address)
    return ModelLayout(model_id, group[mdef.NAME], address, end - address - 2, points)


@dataclass(frozen=True)
class DeviceMap:
    """The full register map of one device: marker, model chain, end marker."""

    models: tuple[ModelLayout, ...]
    base: int = BASE_ADDRESS
    _sf_points: dict[PointDef, PointDef] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, model_ids: list[int], base: int = BASE_ADDRESS) -> DeviceMap:
        """Lay out ``model_ids`` one after the other behind the ``SunS`` marker at ``base``."""
        models, address = [], base + 2
        for model_id in model_ids:
            layout = model_layout(model_id, address)
            models.append(layout)
            address = layout.end
        return cls(tuple(models), base)

    @property
    def end_marker(self) -> int:
        """Address of the end model's ID register."""
        return self.models[-1].end if self.models else self.base + 2

    @property
    def size(self) -> int:
        """Registers from the base address through the end marker's length register."""
        return self.end_marker + 2 - self.base

    def model(self, key: int | str) -> ModelLayout:
        """A model by id or name (the first one when a model repeats)."""
        for m in self.models:
            if key in (m.model_id, m.name):
                return m
        raise KeyError(f"device has no model {key!r}; it has {[m.model_id for m in self.models]}")

    def point(self, model: int | str, name: str) -> PointDef:
        """A point of a model; raises KeyError naming the model and point."""
        points = self.model(model).points
        if name not in points:
            raise KeyError(f"model {model!r} has no point {name!r}")
        return points[name]

    def sf_point(self, point: PointDef) -> PointDef | None:
        """The scale-factor point of ``point`` (None when it has none or a fixed one)."""
        if not isinstance(point.sf, str):
            return None
        sf = self._sf_points.get(point)
        if sf is None:
            sf = self._sf_points[point] = self.point(point.model_id, point.sf)
        return sf
