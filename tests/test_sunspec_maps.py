"""Register maps built from model definitions: chain layout, codec, scale factors."""

from __future__ import annotations

import pytest
from sunspec2 import device as sunspec_device

from adapters.sunspec import END_MODEL_ID, SUNS_MARKER, DeviceMap, RegisterImage, fit_sf


def test_chain_starts_with_suns_and_ends_with_end_marker():
    dm = DeviceMap.build([1, 701, 702, 704, 713, 802])
    image = RegisterImage(dm)
    assert dm.base == 40000 and tuple(image.span(40000, 2)) == SUNS_MARKER
    address = 40002
    for model in dm.models:
        assert image.span(address, 2) == [model.model_id, model.length]
        address += 2 + model.length
    assert address == dm.end_marker and image.span(address, 2) == [END_MODEL_ID, 0]


@pytest.mark.parametrize("model_id", [1, 701, 702, 704, 713, 802, 203])
def test_model_lengths_match_pysunspec2(model_id):
    definition = sunspec_device.get_model_def(model_id)
    expected = next(p for p in definition["group"]["points"] if p["name"] == "L").get("value")
    layout = DeviceMap.build([model_id]).models[0]
    if expected is not None:
        assert layout.length == expected
    assert layout.length + 2 == sunspec_device.Model(model_id=model_id).len  # pysunspec2 counts ID and L


def test_scale_factors_and_unimplemented_values():
    dm = DeviceMap.build([1, 701])
    image = RegisterImage(dm)
    w, w_sf = dm.point(701, "W"), dm.point(701, "W_SF")
    assert image.get(w) is None  # not implemented until set
    image.set_raw(w_sf, fit_sf(2_000_000, w))
    assert image.get_raw(w_sf) == 2  # 2 MW in an int16 needs 100 W steps
    image.set(w, -153_449)
    assert image.get_raw(w) == -1534 and image.get(w) == -153_400
    with pytest.raises(ValueError, match="does not fit"):
        image.set(w, 4_000_000)


def test_gridctl_vendor_maps_are_laid_out_like_sunspec_models():
    ev = DeviceMap.build([1, 64901]).model(64901)
    hp = DeviceMap.build([1, 64902]).model(64902)
    for layout in (ev, hp):
        names = list(layout.points)
        # the revertable power control is contiguous, so one request sets it
        i = names.index("WSetEna")
        assert names[i:i + 6] == ["WSetEna", "WSet", "WSetRvrt", "WSetEnaRvrt", "WSetRvrtTms", "WSetRvrtRem"]
        assert layout.points["WSet"].writable and not layout.points["W"].writable
    assert ev.points["W"].sf == "W_SF" and hp.points["SGReady"].symbols["FORCED_ON"] == 4
