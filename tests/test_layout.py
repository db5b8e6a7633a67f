"""The package rules of docs/architecture.md, checked on every import statement of the source tree."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEAVES = ("network_models", "forecasts", "adapters")
DECISION_MODULES = ("cycle", "planning", "dispatch", "forecasting", "forecast_issue", "headroom", "district")
RUNTIME_MODULES = ("gridctl.daemon", "gridctl.store", "gridctl.api", "gridctl.replay")


def imported(path: Path) -> list[str]:
    """Absolute module names imported anywhere in ``path`` (relative imports stay inside a package)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaf_packages_import_neither_gridctl_nor_each_other(leaf):
    forbidden = [p for p in ("gridctl", *LEAVES) if p != leaf]
    offending = [f"{path.relative_to(ROOT)}: {name}" for path in sorted((ROOT / leaf).rglob("*.py"))
                 for name in imported(path) if any(within(name, p) for p in forbidden)]
    assert offending == []


def test_decision_modules_never_import_daemon_store_api_or_replay():
    paths = [p for m in DECISION_MODULES for p in [ROOT / "gridctl" / f"{m}.py", *(ROOT / "gridctl" / m).rglob("*.py")]
             if p.is_file()]
    assert len(paths) > len(DECISION_MODULES)  # the dispatch package has modules of its own
    offending = [f"{path.relative_to(ROOT)}: {name}" for path in paths
                 for name in imported(path) if any(within(name, p) for p in RUNTIME_MODULES)]
    assert offending == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("import os\nfrom gridctl.store import Store\n")
    assert any(within(name, "gridctl.store") for name in imported(probe))
