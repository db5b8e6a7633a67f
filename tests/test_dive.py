"""A dive from the LP relaxation: half the fractional values by count, and a bound's MIP start."""

import dataclasses
from datetime import date

import highspy
import numpy as np
import pandas as pd
import pytest

from gridctl.dispatch.dive import certain_half, dive
from gridctl.dispatch.highs import compile_model, pass_model, solve
from gridctl.dispatch.model import build_model
from gridctl.forecast_issue import make_forecast
from gridctl.planning import dispatch_inputs
from gridctl.timegrid import local_day

GAP = 1e-4


def test_the_certain_half_is_half_the_fractional_values_by_count_nearest_first_ties_in_order():
    x = np.array([0.4, 0.4, 0.4, 0.4, 0.4, 0.4, 0.25, 0.75, 1.0, 0.0, 2.0 + 1e-9])
    assert certain_half(x).tolist() == [6, 7, 0, 1]  # of 8 fractional values; 8, 9, 10 are integral
    assert certain_half(np.array([0.0, 1.0])).tolist() == []


@pytest.fixture(scope="module")
def flat_day(demo_district):
    """A demo day's inputs under a flat intensity: the relaxation spreads the compressors."""
    horizon = local_day(date(2016, 7, 13), demo_district.tz, demo_district.resolution_min)
    inp = dispatch_inputs(demo_district, make_forecast(demo_district, horizon[0] - pd.Timedelta(hours=1), horizon))
    ci = np.full(len(inp.ci_kg_per_kwh), float(np.mean(inp.ci_kg_per_kwh)))
    return dataclasses.replace(inp, ci_kg_per_kwh=ci, ci_objective_kg_per_kwh=ci)


def optimum(inp) -> float:
    """The MIP's optimum (a gap of 1e-9)."""
    return solve(build_model(inp), mip_gap=1e-9).objective


def test_a_dive_holds_its_lp_within_the_gap_and_restores_the_mip(flat_day):
    repn = compile_model(build_model(flat_day))
    h = pass_model(repn, 30.0, GAP)
    before = h.getLp()
    lower, upper, kinds = np.array(before.col_lower_), np.array(before.col_upper_), list(before.integrality_)
    integer = np.flatnonzero([v.is_integer() for v in repn.columns])
    made = dive(h, integer)
    best = optimum(flat_day)
    x = np.asarray(h.getSolution().col_value)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert np.abs(x[integer] - np.round(x[integer])).max() < 1e-9 and x[integer].sum() > 0
    assert made.bound - 1e-6 <= best <= h.getInfo().objective_function_value <= best + GAP * abs(best)
    made.restore(h)
    after = h.getLp()
    assert list(after.integrality_) == kinds
    assert np.array_equal(after.col_lower_, lower) and np.array_equal(after.col_upper_, upper)
    h.run()
    assert h.getInfo().mip_node_count >= 0  # a MIP again
    assert h.getInfo().objective_function_value == pytest.approx(best, rel=GAP)


def test_a_bound_solved_from_a_dive_is_within_the_gap_and_else_left_to_the_mip(flat_day):
    best = optimum(flat_day)
    result = solve(build_model(flat_day), mip_gap=GAP, dive=True)
    assert 0.0 <= result.mip_gap <= GAP
    assert best - 1e-6 <= result.objective <= best + GAP * abs(best)
    tight = solve(build_model(flat_day), mip_gap=1e-9, dive=True)  # no dive proves this: the MIP decides
    assert tight.objective == pytest.approx(best, rel=1e-9)
