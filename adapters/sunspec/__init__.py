"""SunSpec register maps built from model definitions, and typed access to their points."""

from adapters.sunspec.image import RegisterImage, decode, encode, fit_sf
from adapters.sunspec.layout import (
    BASE_ADDRESS,
    END_MODEL_ID,
    SUNS_MARKER,
    DeviceMap,
    ModelLayout,
    PointDef,
    model_definition,
    model_layout,
)

__all__ = [
    "BASE_ADDRESS", "END_MODEL_ID", "SUNS_MARKER", "DeviceMap", "ModelLayout", "PointDef",
    "RegisterImage", "decode", "encode", "fit_sf", "model_definition", "model_layout",
]
