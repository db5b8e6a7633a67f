"""Values of indexed mutable Pyomo parameters written only where they changed.

Re-optimisations in place (:class:`gridctl.dispatch.intraday.IntradayDispatch`) write thousands
of forecast values per decision, most of them (the fixed past, flat forecasts) unchanged; Pyomo's
validated write costs about a microsecond a value, a comparison of arrays far less. The values that
moved are floats into entries the parameter holds, so they are stored unchecked (``store_values``
with ``check=False``), a few times quicker than one validated ``set_value`` each.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyomo.environ as pyo


class ParamStore:
    """Writes ``param[key]`` values through the parameters' data objects, found once per set of
    keys; the parameters must be written only through it (it keeps their last values), each key
    in one set of keys only."""

    def __init__(self) -> None:
        self._slots: dict[tuple, tuple[list, np.ndarray]] = {}  # (param, keys) -> data objects, last values
        self.moved: set[int] = set()  # ids of the data objects written since the owner last took them

    def last(self, param: pyo.Param, keys: Sequence) -> np.ndarray:
        """The values of ``param[keys[i]]`` (a copy)."""
        return self._slot(param, (id(param), tuple(keys)))[1].copy()

    def store(self, param: pyo.Param, keys: Sequence, values) -> None:
        """Set ``param[keys[i]]`` to ``values[i]`` where it differs from the value there (the
        data objects written join ``moved``)."""
        slot = (id(param), tuple(keys))
        data, last = self._slot(param, slot)
        values = np.asarray(values, dtype=float)
        moved = np.flatnonzero(values != last).tolist()
        # floats into a mutable parameter's existing entries: Pyomo's unchecked store (no domain or index check)
        param.store_values({slot[1][i]: float(values[i]) for i in moved}, check=False)
        self.moved.update(id(data[i]) for i in moved)
        self._slots[slot] = (data, values.copy())

    def _slot(self, param: pyo.Param, slot: tuple) -> tuple[list, np.ndarray]:
        """The data objects and last values of ``slot``: (id of ``param``, its keys)."""
        if slot not in self._slots:
            data = [param[k] for k in slot[1]]
            self._slots[slot] = (data, np.array([d.value for d in data], dtype=float))
        return self._slots[slot]
