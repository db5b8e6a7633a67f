"""The coefficients of a held HiGHS model's rows that are rewritten in place.

Rows rewritten in place (re-centred network rows, :meth:`gridctl.dispatch.intraday.IntradayDispatch.rewrite_rows`)
mostly keep their coefficients: a re-centring moves the operating point, and with it the bounds,
more often than the sensitivities. :class:`RowCoefficients` writes into HiGHS only the
coefficients that differ from those it holds: as last written, else as handed over.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp


class RowCoefficients:
    """What ``h`` holds in the rows of ``matrix`` (the compiled rows as handed over, CSR) that are
    rewritten; ``col_of``: HiGHS column by id of a Pyomo variable."""

    def __init__(self, h: highspy.Highs, matrix: sp.csr_matrix, col_of: dict[int, int]):
        self.h, self.matrix, self.col_of = h, matrix, col_of
        self._written: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # row -> columns, coefficients

    def write(self, rows: list[int], variables, coefs) -> None:
        """Make ``rows`` (a constraint's: one per bound of a ranged one) hold ``coefs`` on
        ``variables`` (its body, over the variables it was built on)."""
        cols, held = self._held(rows[0], variables)
        new = np.array(coefs, dtype=float)
        for n in np.flatnonzero(new != held).tolist():
            for row in rows:
                self.h.changeCoeff(row, int(cols[n]), float(new[n]))
        self._written[rows[0]] = (cols, new)

    def _held(self, row: int, variables) -> tuple[np.ndarray, np.ndarray]:
        if row in self._written:
            return self._written[row]
        cols = np.array([self.col_of[id(v)] for v in variables], dtype=np.int64)
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        built = dict(zip(self.matrix.indices[start:end].tolist(), self.matrix.data[start:end].tolist()))
        return cols, np.array([built.get(j, 0.0) for j in cols.tolist()])
