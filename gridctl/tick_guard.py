"""Network guard of the control tick: the current interval's battery setpoints checked by AC power
flow against the latest load estimate, and moved as little as needed to keep the network limits.

Plans keep thermal and voltage rows with the loads at ``[dispatch] load_quantile`` (headroom), on
each interval's first linearisation. When the load runs above that headroom, or the linearisation
is stale, a binding row is exceeded while batteries downstream still have power and energy to
spare. The guard acts on measured evidence only: spending energy on the quantile itself would
leave less for the later intervals the plan budgeted it for. Before each interval's setpoints are written, the guard

1. estimates every load series for the interval as its median forecast (that of the plan in
   force: no new forecast) plus the error measured in the interval that just ended (actual minus
   the median forecast in force then): forecast errors persist from one interval to the next.
   Without a measurement of that interval the plan's setpoints stand;
2. runs an AC power flow of the interval with those loads and the planned setpoints;
3. where a limit (``max_loading_pct - thermal_margin_pct``, ``v_min_pu``, ``v_max_pu``) is exceeded,
   moves the batteries by the least total kW that brings every limit back (a small LP on
   finite-difference sensitivities from the same power flow), within power and state-of-charge
   limits, and checks again (at most :data:`ROUNDS` times).

An interval within limits costs one power flow and leaves the plan's setpoints unchanged; the next
re-optimisation plans from the measured state of charge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from gridctl.district import District
from gridctl.forecast_issue import issued_row
from gridctl.plan_ac import check_interval

ROUNDS = 3  # AC checks after a correction at most
STEP_SHARE = 0.1  # finite-difference step, share of each battery's power rating
AIM_PCT, AIM_PU = 0.05, 0.0002  # the correction aims this far inside each limit (linear error)
NEAR_PCT, NEAR_PU = 2.0, 0.002  # limits this close are kept too, so a correction creates no new violation
SLACK_PENALTY = 1e4  # per percentage point / 0.01 p.u. a limit stays exceeded (out of the batteries' reach)


@dataclass
class TickGuard:
    """State of the guard between ticks: the median load forecast of the interval in force."""

    median_kw: np.ndarray | None = None  # per load series (``district.load_series``), the median forecast of ``at``
    at: pd.Timestamp | None = None
    corrections: int = 0  # intervals whose setpoints the guard moved
    moved_kw: dict[str, float] = field(default_factory=dict)  # total |kW| moved per battery

    def setpoints(self, district: District, now: pd.Timestamp, issued: pd.Timestamp,
                  table: pd.DataFrame | Mapping[str, np.ndarray], measured_kw: pd.Series | None,
                  soc_kwh: dict[str, float]) -> dict[str, float]:
        """Battery setpoints (kW) for the interval starting ``now``: those of plan row ``table``
        (one row at ``now``: every ``.p_kw`` and ``.curtailed_kw`` column, as a table or one-element
        arrays by column, :func:`plan_row`), moved where the estimated loads would take a network
        limit past its bound. ``issued``: issue time of the plan in force's forecast;
        ``measured_kw``: per load series, the mean of the interval that just ended (None: unknown)."""
        series, values = issued_row(district, issued, now)  # the plan's own issue: no new forecast
        at = _positions(series, district.load_series, "issue")
        median, before = values[at], (self.median_kw, self.at)
        self.median_kw, self.at = median, now
        if measured_kw is None or before[0] is None or before[1] != now - _res(district):
            return {b.cfg.id: float(np.asarray(table[f"{b.cfg.id}.p_kw"])[0]) for b in district.batteries}
        measured = measured_kw.to_numpy()[_positions(measured_kw.index, district.load_series, "measured")]
        values[at] = np.clip(median + measured.astype(float) - before[0], 0.0, None)
        return self._correct(district, series, values, table, soc_kwh)

    def _correct(self, district: District, series: pd.Index, series_kw: np.ndarray,
                 table: pd.DataFrame | Mapping[str, np.ndarray], soc_kwh: dict[str, float]) -> dict[str, float]:
        ids = [b.cfg.id for b in district.batteries]
        if not ids:
            return {}
        row = {c: np.asarray(table[c], dtype=float) for c in table if c.endswith((".p_kw", ".curtailed_kw"))}
        x = np.array([row[f"{b}.p_kw"][0] for b in ids])
        x0 = x.copy()
        sens = None
        for _ in range(ROUNDS):
            y, n_branch = _state(district, series, series_kw, row, ids, x)
            upper, lower = _limits(district, len(y), n_branch)
            if not _outside(y, upper, lower).any():
                break
            if sens is None:  # the first round out of bounds
                lo, hi = _bounds(district, soc_kwh)
                step = -STEP_SHARE * np.array([b.cfg.p_max_kw for b in district.batteries])
                sens = np.stack([(_state(district, series, series_kw, row, ids, x + step * e)[0] - y) / (step * e).sum()
                                 for e in np.eye(len(ids))], axis=1)
            x = x + _least_move(y, upper, lower, n_branch, sens, lo - x, hi - x)
        if not np.allclose(x, x0):
            self.corrections += 1
            for b, d in zip(ids, np.abs(x - x0)):
                self.moved_kw[b] = self.moved_kw.get(b, 0.0) + float(d)
        return dict(zip(ids, x.tolist()))


def plan_row(row: pd.Series, setpoints_kw: Mapping[str, float]) -> dict[str, np.ndarray]:
    """The ``.p_kw`` and ``.curtailed_kw`` columns of plan table row ``row`` as one-element arrays,
    each asset's power replaced by its setpoint in ``setpoints_kw``: the row the guard checks."""
    labels = row.index.tolist()
    at = [j for j, c in enumerate(labels) if c.endswith((".p_kw", ".curtailed_kw"))]
    values = row.to_numpy(dtype=float)[at]
    out = {labels[i]: values[j:j + 1] for j, i in enumerate(at)}
    out.update({f"{a}.p_kw": np.array([float(v)]) for a, v in setpoints_kw.items()})
    return out


def _positions(labels: pd.Index, loads: list[str], kind: str) -> np.ndarray:
    """Position of each of ``loads`` among ``labels`` (``kind``: ``issue`` or ``measured``, for the error)."""
    at = labels.get_indexer(loads)
    if (at < 0).any():
        raise KeyError(f"no {kind} series {[s for s, k in zip(loads, at) if k < 0]}")
    return at


def _res(district: District) -> pd.Timedelta:
    return pd.Timedelta(minutes=district.resolution_min)


def _bounds(district: District, soc_kwh: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per battery, the lowest and highest setpoint (kW) its rating and state of charge allow over one interval."""
    dt_h = district.resolution_min / 60.0
    lo, hi = [], []
    for b in district.batteries:
        c, soc = b.cfg, soc_kwh.get(b.cfg.id, b.cfg.soc_initial_kwh)
        lo.append(-min(c.p_max_kw, max(soc - c.soc_min_kwh, 0.0) * c.eta_discharge / dt_h))
        hi.append(min(c.p_max_kw, max(c.soc_max_kwh - soc, 0.0) / (c.eta_charge * dt_h)))
    return np.array(lo), np.array(hi)


def _state(district: District, series: pd.Index, series_kw: np.ndarray, row: dict[str, np.ndarray], ids: list[str],
           x: np.ndarray) -> tuple[np.ndarray, int]:
    """Branch loadings (%) then energised bus voltages (p.u.) of the interval of plan ``row``
    (one-element arrays by column) with group series ``series_kw`` (kW, by label of ``series``)
    and battery setpoints ``x``, and the number of branches."""
    loading_pct, vm_pu = check_interval(district, series, series_kw,
                                        {**row, **{f"{b}.p_kw": np.array([v]) for b, v in zip(ids, x)}})
    return np.concatenate([loading_pct, vm_pu]), len(loading_pct)


def _limits(district: District, n: int, n_branch: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower bound per entry of :func:`_state` (thermal: ``max_loading_pct - thermal_margin_pct``)."""
    cfg = district.config.network
    upper = np.concatenate([np.full(n_branch, cfg.max_loading_pct - cfg.thermal_margin_pct),
                            np.full(n - n_branch, cfg.v_max_pu)])
    lower = np.concatenate([np.full(n_branch, -np.inf), np.full(n - n_branch, cfg.v_min_pu)])
    return upper, lower


def _outside(y: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Whether each entry lies outside its bound (an interval that did not converge: NaN, not outside)."""
    with np.errstate(invalid="ignore"):
        return (y > upper + 1e-9) | (y < lower - 1e-9)


def _least_move(y: np.ndarray, upper: np.ndarray, lower: np.ndarray, n_branch: int, sens: np.ndarray,
                lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Smallest total battery move (kW, within ``[lo, hi]``) that brings every exceeded or near
    limit inside by the aim, on the linear sensitivities ``sens`` (entries x batteries); limits
    out of reach stay exceeded at a penalty."""
    aim = np.r_[np.full(n_branch, AIM_PCT), np.full(len(y) - n_branch, AIM_PU)]
    near = np.r_[np.full(n_branch, NEAR_PCT), np.full(len(y) - n_branch, NEAR_PU)]
    scale = np.r_[np.ones(n_branch), np.full(len(y) - n_branch, 100.0)]  # 0.01 p.u. weighs as 1 point of loading
    y = np.nan_to_num(y, nan=0.0)
    rows_a, rows_b = [], []
    for keep, sign, bound in ((y > upper - near, 1.0, upper - aim), (y < lower + near, -1.0, lower + aim)):
        for r in np.flatnonzero(keep & np.isfinite(bound)):
            rows_a.append(sign * sens[r] * scale[r])
            rows_b.append(sign * (bound[r] - y[r]) * scale[r])
    n_b, n_r = sens.shape[1], len(rows_a)
    if not n_r:
        return np.zeros(n_b)
    a = np.asarray(rows_a)
    a_ub = np.hstack([a, -a, -np.eye(n_r)])  # move = up - down; slack per row
    cost = np.r_[np.ones(2 * n_b), np.full(n_r, SLACK_PENALTY)]
    bounds = [(0.0, max(h, 0.0)) for h in hi] + [(0.0, max(-v, 0.0)) for v in lo] + [(0.0, None)] * n_r
    res = linprog(cost, A_ub=a_ub, b_ub=np.asarray(rows_b), bounds=bounds, method="highs")
    if res.status != 0:
        return np.zeros(n_b)
    return res.x[:n_b] - res.x[n_b:2 * n_b]
