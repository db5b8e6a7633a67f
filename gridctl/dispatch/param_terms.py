"""The numbers of a compiled model that hold mutable Pyomo parameters, as an affine map of their values.

:class:`gridctl.dispatch.intraday.IntradayDispatch` measures the map once per model, so an
update of forecasts or states is one sparse product, not thousands of expression evaluations.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import NegationExpression, ProductExpression, SumExpressionBase
from pyomo.core.expr.visitor import identify_mutable_parameters
from pyomo.repn import generate_standard_repn
from scipy import sparse


class ParamTerms:
    """Every number of the HiGHS model that holds mutable parameters (coefficients and bounds of
    rows, costs and the objective's constant) as an affine map of the parameters' values.

    Each number is an expression in the parameters; its gradient is measured once (values at the
    parameters +1 and -1; a number that is not affine in them is refused), so an update is one
    sparse product instead of evaluating thousands of Pyomo expressions.
    """

    def __init__(self, rows: list[tuple[int, object]], sense: np.ndarray, objective, col_of: dict[int, int]):
        exprs: list = []

        def add(expr) -> int:
            exprs.append(expr)
            return len(exprs) - 1

        coef_row, coef_col, coef_q, row_ids, bound_q, const_q = [], [], [], [], [], []
        for i, con in rows:
            repn = generate_standard_repn(con.body, compute_values=False, quadratic=False)
            for v, c in zip(repn.linear_vars, repn.linear_coefs):
                if not isinstance(c, (int, float)):
                    coef_row.append(i), coef_col.append(col_of[id(v)]), coef_q.append(add(c))
            row_ids.append(i)
            const_q.append(add(repn.constant))
            bound_q.append(add(con.upper if sense[i] > 0 else con.lower))
        obj = generate_standard_repn(objective, compute_values=False, quadratic=False)
        cost = [(col_of[id(v)], add(c)) for v, c in zip(obj.linear_vars, obj.linear_coefs)
                if id(v) in col_of and not isinstance(c, (int, float))]
        self.offset_q = add(obj.constant)
        self.coef_row, self.coef_col, self.coef_q = (np.asarray(a, dtype=np.int64) for a in (coef_row, coef_col, coef_q))
        self.rows, self.bound_q, self.const_q = (np.asarray(a, dtype=np.int64) for a in (row_ids, bound_q, const_q))
        self.cost_col = np.asarray([c for c, _ in cost], dtype=np.int64)
        self.cost_q = np.asarray([q for _, q in cost], dtype=np.int64)
        self._linearise(exprs)
        self.last_coefs = self.values()[self.coef_q]

    def _linearise(self, exprs: list) -> None:
        index: dict[int, int] = {}
        self.data: list = []
        grads: list[tuple[int, int, float]] = []
        self.q0 = np.array([float(pyo.value(e)) for e in exprs])
        for n, e in enumerate(exprs):
            if isinstance(e, (int, float)) or e is None:
                continue
            for scale, term in _terms(e):
                for p in identify_mutable_parameters(term):
                    j = index.setdefault(id(p), len(self.data))
                    if j == len(self.data):
                        self.data.append(p)
                    grads.append((n, j, scale * _slope(term, p)))
        rows, cols, vals = zip(*grads) if grads else ((), (), ())
        self.grad = sparse.csr_matrix((vals, (rows, cols)), shape=(len(exprs), len(self.data)))
        self.p0 = np.fromiter((p.value for p in self.data), dtype=float, count=len(self.data))
        self.p = self.p0.copy()  # the parameters' values as last read
        self._position = {id(p): j for j, p in enumerate(self.data)}

    def update(self, changed: set[int]) -> None:
        """Read the values of the ``changed`` parameters (ids of scalar ones and of data objects)."""
        for i in changed:
            j = self._position.get(i)
            if j is not None:
                self.p[j] = self.data[j].value

    def values(self) -> np.ndarray:
        """Every number at the parameters' values as last read (see :meth:`update`)."""
        return self.q0 + self.grad @ (self.p - self.p0)


def _terms(expr, scale: float = 1.0):
    """``expr`` as ``(factor, term)`` pairs whose weighted sum it is: sums, negations and products
    with a number are opened (so a slope is measured on a small term, not the whole sum)."""
    if isinstance(expr, SumExpressionBase):
        for arg in expr.args:
            yield from _terms(arg, scale)
    elif isinstance(expr, NegationExpression):
        yield from _terms(expr.args[0], -scale)
    elif isinstance(expr, ProductExpression) and isinstance(expr.args[0], (int, float)):
        yield from _terms(expr.args[1], scale * expr.args[0])
    elif isinstance(expr, ProductExpression) and isinstance(expr.args[1], (int, float)):
        yield from _terms(expr.args[0], scale * expr.args[1])
    elif not isinstance(expr, (int, float)):
        yield scale, expr


def _slope(expr, p) -> float:
    """d expr / d p, measured at p +- 1 (the parameter itself: the same difference, without
    evaluating it thrice); raises when ``expr`` is not affine in ``p``."""
    v0 = p.value
    if expr is p:
        return (float(v0) + 1.0) - float(v0)
    at = float(pyo.value(expr))
    p.set_value(v0 + 1.0)
    up = float(pyo.value(expr))
    p.set_value(v0 - 1.0)
    down = float(pyo.value(expr))
    p.set_value(v0)
    if abs((up - at) - (at - down)) > 1e-9 * max(1.0, abs(up), abs(down)):
        raise ValueError(f"{expr} is not affine in {p}; the model cannot be updated in place")
    return up - at


def params_of(expr, data: bool = False) -> frozenset[int]:
    """Ids of the mutable parameter components (``data``: parameters' data objects) ``expr``
    holds (empty for None and numbers)."""
    if expr is None or isinstance(expr, (int, float)):
        return frozenset()
    return frozenset(id(p if data else p.parent_component()) for p in identify_mutable_parameters(expr))
