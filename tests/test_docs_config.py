"""docs/configuration.md is what docs/config_reference.py generates from the config models now."""

import importlib.util
import typing
from pathlib import Path

from gridctl.config import Config

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("docs_config_reference", ROOT / "docs" / "config_reference.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def test_committed_reference_is_current():
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == reference.render(), \
        "docs/configuration.md is out of date: run `make docs`"


def test_reference_names_every_section_and_key():
    text = reference.render()
    for name, field in Config.model_fields.items():
        if field.exclude:
            continue
        table = typing.get_args(field.annotation)[0] if typing.get_origin(field.annotation) is list else None
        assert f"## `[{name}]`" in text or f"## `[[{name}]]`" in text
        for key in (table or field.annotation).model_fields:
            assert f"| `{key}` |" in text or f"## `[{name}.{key}]`" in text, f"[{name}] {key} missing"


def test_comments_of_config_toml_are_read():
    comments, notes = reference.toml_comments(
        "[a]\n# about a\nx = 1  # the x\n      # continued\ny = 2\n\n"
        "# a key described above\nz = 3\n[[b]]\nq = 1  # first\n[[b]]\nq = 2  # example only\n")
    assert comments[("a", "x")] == "the x continued"
    assert ("a", "y") not in comments
    assert notes["a"] == ["about a"]
    assert comments[("a", "z")] == "a key described above"
    assert comments[("b", "q")] == "first"
