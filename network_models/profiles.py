"""Turn a net's SimBench profiles into time-stamped, per-group power series.

SimBench time stamps (``01.01.2016 00:15``) carry no zone. They are German local wall-clock
time (Europe/Berlin, CET/CEST): on 27 March 2016 the stamps jump from 01:45 to 03:00 and on
30 October 2016 the stamps 02:00-02:45 appear twice, first in CEST, then in CET. We therefore
localise them to Europe/Berlin (resolving the repeated hour by order) and convert to UTC. Each
stamp is the start of a 15-minute interval.

A group series is the sum, in kW, of the in-service elements of one kind that share a profile:
``load/<profile>`` for loads (active-power column ``<profile>_pload``) and ``pv/<profile>`` for
PV generators (generator-referenced, positive = producing). Element ``i`` of a group has the
fixed share ``p_mw_i / sum(p_mw)`` of its group at every instant, exactly as SimBench scales
profiles, so element-level injections are recovered from group series by :func:`element_injections`.
Nets without a ``profile`` column (plain pandapower JSON) get one series per element,
``load/#<index>`` and ``pv/#<index>``.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pandas as pd

SIMBENCH_TZ = "Europe/Berlin"


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


def element_groups(net: pp.pandapowerNet) -> pd.DataFrame:
    """One row per in-service load/PV element: ``table``, ``element``, ``series_id``, ``share``."""
    rows = []
    for table, kind in (("load", "load"), ("sgen", "pv")):
        df = net[table]
        profile = df["profile"] if "profile" in df else pd.Series("#" + df.index.astype(str), index=df.index)
        df = df.assign(profile=profile)[df.in_service & profile.notna()]
        for profile, grp in df.groupby("profile"):
            total = grp.p_mw.sum()
            shares = grp.p_mw / total if total > 0 else pd.Series(1.0 / len(grp), index=grp.index)
            for idx, share in shares.items():
                rows.append((table, int(idx), f"{kind}/{profile}", float(share), float(grp.p_mw[idx])))
    return pd.DataFrame(rows, columns=["table", "element", "series_id", "share", "p_mw"])


def group_series(net: pp.pandapowerNet) -> pd.DataFrame:
    """Wide table of group power series in kW, UTC interval-start index."""
    load_p = _profile_table(net, "load")
    renew = _profile_table(net, "renewables")
    groups = element_groups(net)
    columns = {}
    for series_id, grp in groups.groupby("series_id"):
        kind, profile = series_id.split("/", 1)
        source = load_p[f"{profile}_pload"] if kind == "load" else renew[profile]
        columns[series_id] = source.to_numpy(dtype=float) * grp.p_mw.sum() * 1000.0
    return pd.DataFrame(columns, index=load_p.index)


def raw_profiles(net: pp.pandapowerNet) -> dict[str, pd.DataFrame]:
    """All SimBench profile tables (per-unit values) with UTC indices."""
    return {name: _profile_table(net, name) for name in ("load", "renewables")}


def element_injections(groups: pd.DataFrame, series: pd.DataFrame, table: str) -> pd.DataFrame:
    """Per-element power (kW) for ``table`` from group series: rows = time, columns = element."""
    sel = groups[groups.table == table]
    values = series[sel.series_id].to_numpy() * sel.share.to_numpy()[np.newaxis, :]
    return pd.DataFrame(values, index=series.index, columns=sel.element.to_numpy())
