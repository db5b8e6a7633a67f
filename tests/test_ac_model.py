"""The internal-model cache of the AC check: one model per network structure, a new one when a
number or flag of an element changes in place."""

from __future__ import annotations

import numpy as np
import pandapower.networks as pn
import pandas as pd

from network_models.ac_model import _newton, copy_net, fingerprint, internal_model, solve_intervals


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


def test_the_solver_kept_with_a_model_solves_as_a_new_one():
    """The Newton-Raphson solver is kept with its internal model across checks: an interval it
    solves after others gives the voltages of a solver that never ran, bit for bit."""
    model = internal_model(pn.example_multivoltage())
    ppci = model._ppc["internal"]
    sbus = ppci["Sbus"] * np.array([[1.2], [0.8], [1.1]])
    solve_intervals(model, sbus[1:])  # the kept solver has run
    V, converged, runs = solve_intervals(model, sbus[:1])
    new = _newton(ppci, {**model._options, "max_iteration": 20, "tolerance_mva": 1e-8})
    expected, ok = new(ppci["Ybus"].tocsc(), sbus[0], ppci["V"].copy(),
                       *(np.asarray(ppci[k], dtype=np.int64) for k in ("ref", "pv", "pq")))
    assert runs == 1 and converged[0] and ok
    assert V[0].tobytes() == expected.tobytes()
