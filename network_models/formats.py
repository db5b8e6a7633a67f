"""File formats a network ``source`` may name (no heavy imports: the config validator uses this)."""

from __future__ import annotations

from pathlib import Path

MATPOWER_SUFFIXES = (".m", ".mat")
CIM_SUFFIXES = (".zip", ".xml")


def source_parts(source: str) -> list[str]:
    """The file names of a source (CGMES profiles may be several, joined by ``;`` or ``,``)."""
    return [p.strip() for p in source.replace(";", ",").split(",") if p.strip()]


def is_file_source(source: str) -> bool:
    """Whether ``source`` names a MATPOWER case or CGMES files."""
    parts = source_parts(source)
    return bool(parts) and all(Path(p).suffix.lower() in MATPOWER_SUFFIXES + CIM_SUFFIXES for p in parts)
