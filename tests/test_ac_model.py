"""The internal-model cache of the AC check: one model per network structure, a new one when a
number or flag of an element changes in place."""

from __future__ import annotations

import pandapower.networks as pn
import pandas as pd

from network_models.ac_model import copy_net, fingerprint, internal_model


def test_a_copy_shares_the_model_a_changed_number_or_flag_does_not():
    net = pn.example_simple()
    model = internal_model(net)
    assert internal_model(copy_net(net)) is model  # same element tables: the cached model
    line = net.line.index[0]
    for column, value in (("length_km", net.line.at[line, "length_km"] * 2), ("in_service", False)):
        changed = copy_net(net)
        changed.line.at[line, column] = value
        assert fingerprint(changed) != fingerprint(net), column
        assert internal_model(changed) is not model
    # a nullable column's missing value hashes the same every time (not by object address)
    tagged = copy_net(net)
    tagged.line["max_i_ka"] = pd.array([None, *tagged.line.max_i_ka.iloc[1:]], dtype="Float64")
    assert fingerprint(tagged) == fingerprint(copy_net(tagged)) != fingerprint(net)
