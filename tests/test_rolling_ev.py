"""EV stays the held model has no row for take a held row in place: the rebuild's optimum."""

import dataclasses

import pytest
from test_dispatch import _inputs

from gridctl.dispatch.highs import solve
from gridctl.dispatch.inputs import EvChargerParams, EvSession
from gridctl.dispatch.model import build_model
from gridctl.dispatch.rolling import RollingDispatch
from gridctl.dispatch.rolling_ev import SPARE_ROWS

CI = [0.5, 0.3, 0.1, 0.2, 0.6, 0.4, 0.3, 0.5, 0.2, 0.7]
LOAD = [4.0, 5, 3, 2, 2, 6, 7, 5, 4, 3]


def _tail(k: int, *sessions: EvSession):
    """The horizon from interval ``k``: an EV charger (6 kW) with ``sessions`` (relative to ``k``)
    and an export limit of 0, so the charger's energy is bought at the intensity of its hours."""
    inp = _inputs(CI[k:], LOAD[k:], ev_chargers=[EvChargerParams("ev", 0, 6.0, tuple(sessions))], export_limit_kw=0.0)
    return dataclasses.replace(inp, index=_inputs(CI, LOAD).index[k:])


def _rebuilt(inp) -> float:
    return solve(build_model(inp)).objective


@pytest.mark.parametrize("steps", [
    [(0, ()), (2, (EvSession(1, 4, 10.0),)), (3, (EvSession(0, 4, 12.0), EvSession(5, 7, 6.0)))],  # spare rows
    [(0, (EvSession(2, 6, 18.0),)), (2, (EvSession(0, 6, 14.0),)), (3, (EvSession(0, 3, 9.0),))],  # departures move
    # a new stay over the hours of a held one that is gone: that row is cut back to its past
    [(0, (EvSession(2, 4, 6.0), EvSession(5, 8, 9.0))), (1, (EvSession(5, 8, 12.0),)), (3, (EvSession(3, 6, 10.0),))],
])
def test_stays_that_appear_or_move_take_held_rows(steps):
    rolling = RollingDispatch()
    for k, sessions in steps:
        inp = _tail(k, *sessions)
        kept = rolling.solve(inp)
        # the horizon from k alone (the fixed past's cost left out) is the rebuilt model's
        assert kept.objective == pytest.approx(_rebuilt(inp), rel=1e-9, abs=1e-9)
        delivered = kept.table()["ev.p_kw"].to_numpy()
        for s in sessions:  # each stay gets its energy within its hours, none outside
            assert delivered[s.arrival:s.departure].sum() == pytest.approx(s.energy_kwh, abs=1e-6)
        assert delivered.sum() == pytest.approx(sum(s.energy_kwh for s in sessions), abs=1e-6)
    assert rolling.builds == 1 and rolling.updates == 2


def test_more_stays_than_held_rows_build_a_new_model():
    rolling = RollingDispatch()
    rolling.solve(_tail(0))
    stays = [EvSession(2 * i, 2 * i + 1, 3.0) for i in range(SPARE_ROWS + 1)]
    rolling.solve(_tail(1, *stays))
    assert rolling.builds == 2
