"""A re-commitment from the LP relaxation is accepted only when proven within the MIP gap."""

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest

from gridctl.dispatch.commitment import DIVE_LPS, carried_commitment, certified_commitment, dived
from gridctl.dispatch.highs import TIME_LIMIT
from gridctl.dispatch.intraday import IntradayDispatch
from gridctl.dispatch.rolling import _polish
from gridctl.forecast_issue import make_forecast
from gridctl.planning import dispatch_inputs
from gridctl.timegrid import local_day

GAP = 1e-4


@pytest.fixture(scope="module")
def inputs(demo_district):
    """A day of the demo district's dispatch inputs (press line and compressors: a MIP)."""
    horizon = local_day(date(2016, 7, 13), demo_district.tz, demo_district.resolution_min)
    inp = dispatch_inputs(demo_district, make_forecast(demo_district, horizon[0] - pd.Timedelta(hours=1), horizon))
    assert inp.process_loads
    return inp


def mip_objective(inp) -> float:
    """The objective of a MIP solve of ``inp`` in a new model, to a gap 100 times tighter."""
    result = IntradayDispatch(inp, mip_gap=GAP / 100).solve()
    assert result.mip_gap is not None
    return result.objective


def test_an_unchanged_commitment_is_proven_by_two_lps(inputs):
    d = IntradayDispatch(inputs, mip_gap=GAP)
    d.solve()
    before = d.commitment()
    result = certified_commitment(d, GAP)
    assert result is not None and d.held  # the commitment held: the next re-optimisations are warm LPs
    assert d.h.getInfo().mip_node_count == -1  # an LP was the last run: no branch and bound
    assert all(np.array_equal(before[i], on) for i, on in d.commitment().items())
    best = mip_objective(inputs)
    assert best - 1e-6 <= result.objective <= best + GAP * abs(best)
    assert 0.0 <= result.mip_gap <= GAP


def reversed_intensity(inputs) -> tuple[IntradayDispatch, float]:
    """A model solved and held on ``inputs``, then given the day's intensity reversed (new inputs
    under which the held on/off plan is poor), and its held plan's objective under them."""
    d = IntradayDispatch(inputs, mip_gap=GAP)
    d.solve()
    d.hold(d.commitment())
    d.solve()
    d.update_forecasts(ci_kg_per_kwh=inputs.ci_kg_per_kwh[::-1].copy())
    d.hold(d.commitment())
    return d, d.solve().objective


def test_a_commitment_the_new_forecasts_make_poor_is_dived_for_and_proven(inputs):
    """Intensity reversed over the day: the held on/off plan lies far from the relaxation's bound,
    and so does the relaxation rounded; the dive finds a commitment within the gap of the new
    inputs' optimum, proven without a MIP."""
    d, held_objective = reversed_intensity(inputs)
    reversed_ci = inputs.ci_kg_per_kwh[::-1].copy()
    best = mip_objective(dataclasses.replace(inputs, ci_kg_per_kwh=reversed_ci, ci_objective_kg_per_kwh=reversed_ci))
    assert held_objective > best + 2 * GAP * abs(best)  # the held plan is no longer good enough
    d.hold(None, relax=True)
    bound = d.solve().objective
    d.hold({i: np.round(on) for i, on in d.on_values().items()})
    assert d.solve().objective > bound + 2 * GAP * abs(best)  # nor is the relaxation rounded
    result = certified_commitment(d, GAP)
    assert result is not None and d.h.getInfo().mip_node_count == -1  # proven by LPs alone
    assert best - 1e-6 <= result.objective <= best + GAP * abs(best)
    assert all(set(np.unique(on)) <= {0.0, 1.0} for on in d.commitment().values()) and d.held


def test_a_load_the_relaxation_spreads_evenly_is_served_by_the_dive(inputs):
    """Flat intensity: the relaxation runs the compressors at one fractional on/off value over most
    of their window, every value as far from 0 or 1. The dive fixes at most half of the fractional
    values at a time, so the LP after each fixing moves the energy onto the intervals left free;
    the commitment is proven within the gap of the MIP's optimum, the window's energy served."""
    ci = np.full(len(inputs.ci_kg_per_kwh), float(np.mean(inputs.ci_kg_per_kwh)))
    flat = dataclasses.replace(inputs, ci_kg_per_kwh=ci, ci_objective_kg_per_kwh=ci)
    d = IntradayDispatch(flat, mip_gap=GAP)
    d.hold(None, relax=True)
    d.solve()
    spread = d.on_values()["compressors"]
    spread = spread[spread > 0.1]
    assert len(spread) > 24 and np.ptp(spread) < 1e-6 and 0.2 < spread[0] < 0.5  # one value, rounding to 0
    result = certified_commitment(d, GAP)
    assert result is not None and d.h.getInfo().mip_node_count == -1
    best = mip_objective(flat)
    assert best - 1e-6 <= result.objective <= best + GAP * abs(best)
    assert d.commitment()["compressors"].sum() > 0


def test_a_dive_solves_at_most_its_lps_and_returns_a_feasible_commitment(inputs, monkeypatch):
    """From a fractional relaxation the dive solves at most ``DIVE_LPS`` LPs and returns a 0/1
    commitment with a solution at or above the relaxation's bound; from integral values it
    returns them as they are, solving nothing."""
    d, _ = reversed_intensity(inputs)
    d.hold(None, relax=True)
    bound = d.solve().objective
    on = d.on_values()
    assert any(((v > 1e-6) & (v < 1 - 1e-6)).any() for v in on.values())
    solves = []
    solve = IntradayDispatch.solve
    monkeypatch.setattr(IntradayDispatch, "solve", lambda self: solves.append(1) or solve(self))
    commitment = dived(d, on)
    assert 1 <= len(solves) <= DIVE_LPS
    assert all(set(np.unique(v)) <= {0.0, 1.0} for v in commitment.values())
    d.hold(commitment)
    assert d.solve().objective >= bound - 1e-6
    integral = {i: np.round(v) for i, v in on.items()}
    solves.clear()
    assert all(np.array_equal(dived(d, integral)[i], v) for i, v in integral.items()) and not solves


def test_the_lp_after_a_mip_starts_from_the_relaxations_basis(inputs):
    """HiGHS keeps no basis after a MIP: the LP of the MIP's commitment starts from the basis of
    the relaxation the failed proof solved, and reaches the optimum a start from none reaches."""
    d, _ = reversed_intensity(inputs)
    assert certified_commitment(d, 1e-12) is None and d.relaxed_basis is not None  # a gap no commitment meets
    mip = d.solve()
    polished = _polish(d, mip)
    warm = d.h.getInfo().simplex_iteration_count
    assert d.relaxed_basis is None  # used once
    d.h.clearSolver()  # the same LP from no basis
    cold = d.solve()
    assert d.h.getInfo().simplex_iteration_count > 3 * warm
    assert polished.objective == pytest.approx(cold.objective, rel=1e-9)
    assert polished.objective <= mip.objective + 1e-6 * abs(mip.objective)


def test_a_relaxation_stopped_early_proves_nothing(inputs, monkeypatch):
    """A relaxation that stopped at the time limit gives no bound: the MIP decides."""
    d = IntradayDispatch(inputs, mip_gap=GAP)
    d.solve()
    solve, calls = IntradayDispatch.solve, []

    def first_stopped(self):
        result = solve(self)
        calls.append(result)
        return dataclasses.replace(result, status=TIME_LIMIT) if len(calls) == 1 else result

    monkeypatch.setattr(IntradayDispatch, "solve", first_stopped)
    assert certified_commitment(d, GAP) is None and len(calls) == 1
    monkeypatch.undo()
    assert not d.held and d.solve().mip_gap is not None  # integral again: the MIP is next


def test_a_new_model_carries_the_plan_in_force_at_the_intervals_both_have(demo_district, inputs):
    """After a build (the horizon's end moved), the previous model's on/off values are carried at
    the shared intervals and NaN beyond them."""
    old = IntradayDispatch(inputs, mip_gap=GAP)
    old.solve()
    start = inputs.index[48]
    horizon = pd.date_range(start, periods=96, freq="15min")
    new = IntradayDispatch(dispatch_inputs(demo_district, make_forecast(demo_district, start, horizon)), mip_gap=GAP)
    carried = carried_commitment(old, new)
    for load, on in old.commitment().items():
        np.testing.assert_array_equal(carried[load][:48], on[48:])
        assert np.isnan(carried[load][48:]).all()
