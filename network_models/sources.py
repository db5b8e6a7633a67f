"""Nets from the formats operators export, and the import rules every source shares.

- SimBench codes (:func:`simbench_grid`): SimBench's own storage units follow fixed profiles
  that a dispatch does not control, so they are taken out of service (the reason is logged and
  kept in ``net["import_notes"]``); controllable batteries come from the configuration.
- MATPOWER case files (``.m``, ``.mat``): pandapower's ``from_mpc`` (``.m`` parsed by
  ``matpowercaseframes``). The reference bus becomes the external grid, other generators are
  pandapower ``gen`` elements (voltage-controlled).
- CGMES / CIM (``.zip`` or ``.xml`` profiles; several files joined by ``;`` or ``,``):
  pandapower's ``from_cim``.

Profiles (:func:`apply_profile_map`): each rule of ``[[network.profile_map]]`` gives the
elements of one table (``load``, ``sgen``, ``gen``) whose name matches a glob the group series
``series`` (``<kind>/<name>``); the first matching rule wins, unmatched elements keep their
SimBench profile or get their own series (see :mod:`network_models.profiles`).
"""

from __future__ import annotations

import fnmatch
import logging
from pathlib import Path

import pandapower as pp

from network_models.formats import MATPOWER_SUFFIXES
from network_models.loading import NetworkError, load_simbench
from network_models.profiles import GENERATOR_KINDS

log = logging.getLogger(__name__)


def note(net: pp.pandapowerNet, text: str) -> None:
    """Log an import decision and keep it with the net (``net["import_notes"]``)."""
    log.info("%s", text)
    net["import_notes"] = [*net.get("import_notes", []), text]


def storage_out_of_service(net: pp.pandapowerNet, source: str) -> None:
    """Take the net's own storage units out of service (they follow fixed profiles, not the dispatch)."""
    active = net.storage.in_service.astype(bool) if len(net.storage) else []
    if len(net.storage) and active.any():
        p_mw = float(net.storage.p_mw[active].abs().sum())
        net.storage["in_service"] = False
        note(net, f"network.source: {int(active.sum())} storage units of {source} ({p_mw:.1f} MW at their static "
                  "power) are out of service: they follow fixed profiles; configure controllable batteries "
                  "as [[assets.battery]]")


def simbench_grid(code: str) -> pp.pandapowerNet:
    """A SimBench grid with its 2016 profiles, its own storage taken out of service."""
    net = load_simbench(code)
    storage_out_of_service(net, f"SimBench {code}")
    return net


def load_converted(source: str, paths: list[Path]) -> pp.pandapowerNet:
    """Load a MATPOWER case or CGMES files through pandapower's converters."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise NetworkError([f"network.source: file {missing[0]!r} not found"])
    try:
        if len(paths) == 1 and paths[0].suffix.lower() in MATPOWER_SUFFIXES:
            from pandapower.converter.matpower import from_mpc

            net = from_mpc(str(paths[0]))
        else:
            from pandapower.converter.cim.cim2pp.from_cim import from_cim

            net = from_cim(file_list=[str(p) for p in paths], ignore_errors=False)
    except Exception as exc:  # noqa: BLE001 - converters raise many types for a bad file
        raise NetworkError([f"network.source: {source!r} cannot be converted ({type(exc).__name__}: {exc})"]) from None
    storage_out_of_service(net, source)
    return net


def apply_profile_map(net: pp.pandapowerNet, rules: list[tuple[str, str, str]]) -> list[str]:
    """Set ``net[table]["series_id"]`` by rules ``(table, name_glob, series)``; returns problems.

    A rule that matches no element, or a series whose kind does not suit the table, is a problem.
    """
    problems = []
    for n, (table, pattern, series) in enumerate(rules):
        kind = series.split("/", 1)[0]
        allowed = ("load",) if table == "load" else GENERATOR_KINDS
        if "/" not in series or kind not in allowed:
            problems.append(f"network.profile_map.{n}.series: {series!r} must be '<kind>/<name>' with kind in "
                            f"{list(allowed)} for {table}")
            continue
        df = net[table]
        if "series_id" not in df:
            df["series_id"] = None
        names = df["name"].astype(str) if "name" in df else df.index.astype(str)
        hit = [i for i, name in zip(df.index, names)
               if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(str(i), pattern)]
        free = [i for i in hit if df.at[i, "series_id"] is None]
        if not hit:
            problems.append(f"network.profile_map.{n}.name: {pattern!r} matches no {table} of the net")
        df.loc[free, "series_id"] = series
    return problems
