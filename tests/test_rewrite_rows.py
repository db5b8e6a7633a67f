"""Rows rewritten in place in a held model reach HiGHS: it holds each row's coefficients as the
Pyomo row has them after every rewrite, though only the coefficients that moved are written."""

import pandas as pd
from pyomo.core.expr.numeric_expr import LinearExpression

from gridctl.cycle import decide
from gridctl.daemon import without_assets
from gridctl.dispatch.rolling import RollingDispatch

DAY_START = pd.Timestamp("2016-07-11T22:00Z")  # local midnight of 12 July (CEST)


def _in_highs(d, con) -> dict[int, float]:
    """The coefficients HiGHS holds for ``con``: the same in each of its rows (one per bound)."""
    held = []
    for i, r in enumerate(d.repn.rows):
        if r.constraint is con:
            _, cols, values = d.h.getRowEntries(i)
            held.append({int(j): float(a) for j, a in zip(cols, values) if a != 0.0})
    assert held and all(h == held[0] for h in held)
    return held[0]


def _in_pyomo(d, con) -> dict[int, float]:
    body = con.body
    return {d.col_of[id(v)]: float(a) for v, a in zip(body.linear_vars, body.linear_coefs) if a != 0.0}


def test_rewritten_rows_hold_their_new_coefficients_in_highs(demo_district):
    district = without_assets(demo_district, {p.id for p in demo_district.config.assets.process_load})
    rolling = RollingDispatch()
    decide(district, DAY_START + pd.Timedelta(hours=6), {}, rolling=rolling)
    d = rolling.held
    first, second = list(d.model.network.thermal_rows.values())[:2]
    lower, body, upper = first.lower, first.body, first.upper
    n = len(body.linear_coefs)
    for scales in ([1.5] * n, [1.0] * (n // 2) + [0.5] * (n - n // 2), [1.0] * n):  # all, half, back
        coefs = [a * s for a, s in zip(body.linear_coefs, scales)]
        first.set_value((lower, LinearExpression(constant=body.constant, linear_coefs=coefs,
                                                 linear_vars=list(body.linear_vars)), upper))
        d.rewrite_rows([first, second])
        for con in (first, second):
            assert _in_highs(d, con) == _in_pyomo(d, con)
    assert _in_highs(d, first) == {d.col_of[id(v)]: a for v, a in zip(body.linear_vars, body.linear_coefs) if a}
