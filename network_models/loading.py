"""Load pandapower nets from the embedded demo, any SimBench code, or a pandapower JSON file."""

from __future__ import annotations

from pathlib import Path

import pandapower as pp
import simbench as sb


class NetworkError(Exception):
    """A network cannot be loaded or fails validation; ``problems`` lists each issue."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_simbench(code: str) -> pp.pandapowerNet:
    """Load a SimBench grid (with its 2016 profiles in ``net.profiles``) by its code."""
    try:
        return sb.get_simbench_net(code)
    except Exception as exc:  # noqa: BLE001 - simbench raises bare Exceptions for unknown codes
        raise NetworkError(
            [(f"network.source: SimBench code {code!r} cannot be loaded ({exc}); "
             "use a code such as '1-MV-comm--2-sw'")]
        ) from None


def load_json(path: str | Path) -> pp.pandapowerNet:
    """Load a pandapower net saved with ``pandapower.to_json``."""
    path = Path(path)
    if not path.is_file():
        raise NetworkError([f"network.source: file {str(path)!r} not found; give a pandapower .json path"])
    try:
        return pp.from_json(str(path))
    except Exception as exc:  # noqa: BLE001 - pandapower raises many types for a bad file
        raise NetworkError([f"network.source: {str(path)!r} is not a pandapower JSON net ({exc})"]) from None


def find_element(net: pp.pandapowerNet, table: str, key: int | str) -> int:
    """Index of a row of ``net[table]`` given by index or by unique name."""
    df = net[table]
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        idx = int(key)
        if idx in df.index:
            return idx
        raise KeyError(f"{table} index {idx} does not exist (valid: {df.index.min()}..{df.index.max()})")
    hits = df.index[df["name"] == key]
    if len(hits) == 1:
        return int(hits[0])
    if len(hits) == 0:
        raise KeyError(f"no {table} named {key!r}")
    raise KeyError(f"{len(hits)} {table} rows are named {key!r}; use the index instead")
