"""Turn a net's SimBench profiles into time-stamped, per-group power series.

SimBench time stamps (``01.01.2016 00:15``) carry no zone. They are German local wall-clock
time (Europe/Berlin, CET/CEST): on 27 March 2016 the stamps jump from 01:45 to 03:00 and on
30 October 2016 the stamps 02:00-02:45 appear twice, first in CEST, then in CET. We therefore
localise them to Europe/Berlin (resolving the repeated hour by order) and convert to UTC. Each
stamp is the start of a 15-minute interval.

A group series is the sum, in kW, of the in-service elements of one kind that share a profile,
``<kind>/<profile>``: ``load/<profile>`` for loads (active-power column ``<profile>_pload``) and,
for static generators (``sgen``) and generators (``gen``; generator-referenced, positive =
producing), the kind of the unit (:func:`generator_kind`): ``pv``, ``wind``, ``hydro``,
``biomass`` or ``other``. Element ``i`` of a group has the fixed share ``p_mw_i / sum(p_mw)`` of
its group at every instant, exactly as SimBench scales profiles, so element-level injections are
recovered from group series by :class:`InjectionLayout`. Elements without a profile (plain
pandapower JSON, MATPOWER, CGMES) get one series per element, ``load/#<index>``,
``pv/#<index>`` (sgen) and ``other/#<index>`` (gen), unless a ``series_id`` column (set by
:func:`network_models.sources.apply_profile_map`) names their series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pandas as pd

SIMBENCH_TZ = "Europe/Berlin"
GENERATOR_KINDS = ("pv", "wind", "hydro", "biomass", "other")
# SimBench profile-name prefixes and type substrings of non-PV units (checked in this order)
_KIND_MARKERS = (("wind", ("WP",), "wind"), ("hydro", ("Hydro",), "hydro"), ("biomass", ("BM",), "biomass"))


def simbench_index(times: pd.Series) -> pd.DatetimeIndex:
    """UTC interval starts for SimBench's local, zone-less ``time`` column."""
    local = pd.to_datetime(times, format="%d.%m.%Y %H:%M")
    return pd.DatetimeIndex(local).tz_localize(SIMBENCH_TZ, ambiguous="infer").tz_convert("UTC")


def _profile_table(net: pp.pandapowerNet, name: str) -> pd.DataFrame:
    table = net.profiles[name]
    out = table.drop(columns="time")
    out.index = simbench_index(table["time"])
    out.index.name = "interval_start_utc"
    return out


def generator_kind(table: str, unit_type: object, profile: object) -> str:
    """Kind of a generating unit: wind (SimBench profile ``WP*`` or type containing ``wind``),
    hydro (``Hydro*``), biomass (``BM*`` or ``biomass``); other sgens are PV (SimBench's PV
    plants and its ``lv_*``/``mv_*`` rooftop aggregates), other gens ``other``."""
    name, kind_text = str(profile or ""), str(unit_type or "").lower()
    for kind, prefixes, word in _KIND_MARKERS:
        if name.startswith(prefixes) or word in kind_text:
            return kind
    return "pv" if table == "sgen" else "other"


def _series_ids(df: pd.DataFrame, table: str) -> pd.Series:
    """Series id per element: the ``series_id`` column where set, else ``<kind>/<profile>``."""
    own = pd.Series("#" + df.index.astype(str), index=df.index)
    profile = df.get("profile", own)
    types = df["type"] if "type" in df else pd.Series(None, index=df.index, dtype=object)
    kinds = ["load" if table == "load" else generator_kind(table, t, p) for t, p in zip(types, profile)]
    ids = pd.Series([f"{k}/{p}" if isinstance(p, str) else np.nan for k, p in zip(kinds, profile)], index=df.index)
    if "series_id" in df:
        ids = df["series_id"].where(df["series_id"].notna(), ids)
    return ids


def element_groups(net: pp.pandapowerNet) -> pd.DataFrame:
    """One row per in-service load/generator element: ``table``, ``element``, ``series_id``, ``share``, ``p_mw``."""
    rows = []
    for table in ("load", "sgen", "gen"):
        df = net[table]
        if df.empty:
            continue
        ids = _series_ids(df, table)
        df = df.assign(series_id=ids)[df.in_service & ids.notna()]
        for series_id, grp in df.groupby("series_id"):
            total = grp.p_mw.sum()
            shares = grp.p_mw / total if total > 0 else pd.Series(1.0 / len(grp), index=grp.index)
            for idx, share in shares.items():
                rows.append((table, int(idx), series_id, float(share), float(grp.p_mw[idx])))
    return pd.DataFrame(rows, columns=["table", "element", "series_id", "share", "p_mw"])


def series_kind(series_id: str) -> str:
    """The kind of a group series: ``load`` or a generator kind."""
    return series_id.split("/", 1)[0]


def group_series(net: pp.pandapowerNet) -> pd.DataFrame:
    """Wide table of group power series in kW, UTC interval-start index."""
    load_p = _profile_table(net, "load")
    generation = pd.concat([_profile_table(net, name) for name in ("renewables", "powerplants")
                            if name in net.profiles], axis=1)
    groups = element_groups(net)
    columns = {}
    for series_id, grp in groups.groupby("series_id"):
        kind, profile = series_id.split("/", 1)
        source = load_p[f"{profile}_pload"] if kind == "load" else generation[profile]
        columns[series_id] = source.to_numpy(dtype=float) * grp.p_mw.sum() * 1000.0
    return pd.DataFrame(columns, index=load_p.index)


def raw_profiles(net: pp.pandapowerNet) -> dict[str, pd.DataFrame]:
    """All SimBench profile tables (per-unit values) with UTC indices."""
    return {name: _profile_table(net, name) for name in ("load", "renewables")}


@dataclass(frozen=True)
class InjectionLayout:
    """How the elements of one table take their power from group series: element ``i`` draws
    ``share[i]`` of series ``series_ids[i]``."""

    series_ids: np.ndarray
    share: np.ndarray
    elements: np.ndarray

    @classmethod
    def of(cls, groups: pd.DataFrame, table: str) -> InjectionLayout:
        """The layout of ``table``'s elements in the groups table ``groups``."""
        sel = groups[groups.table == table]
        return cls(sel.series_id.to_numpy(), sel.share.to_numpy(), sel.element.to_numpy())

    def positions(self, series: pd.Index) -> np.ndarray:
        """Position of each element's series among the group series labels ``series`` (KeyError when one is missing)."""
        at = series.get_indexer(self.series_ids)
        if (at < 0).any():
            raise KeyError(f"no series {list(self.series_ids[at < 0])}")
        return at

    def values_at(self, series_kw: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Per-element power (kW; rows = time, columns = :attr:`elements`) from group series
        ``series_kw`` (columns: series) at the :meth:`positions` ``at``."""
        return series_kw[:, at] * self.share[np.newaxis, :]
