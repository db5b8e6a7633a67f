"""Optional parts of gridctl (pyproject extras) and the one-line error when one is not installed."""

from __future__ import annotations

import importlib
from types import ModuleType

# module -> (extra that installs it, the package)
EXTRAS = {
    "dask.distributed": ("sweep", "dask[distributed]"),
    "psycopg": ("postgres", "psycopg[binary]"),
}


class MissingExtra(RuntimeError):
    """An optional package a feature needs is not installed."""


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` (one of :data:`EXTRAS`); raise :class:`MissingExtra` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra, package = EXTRAS[module]
        raise MissingExtra(f"{feature} needs {package}, which is not installed: "
                           f"pip install 'gridctl[{extra}]'") from None
