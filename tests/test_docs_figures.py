"""The figures the docs quote match what the code produces now (docs/figures.py, ``make docs-figures``).

Each figure between ``<!-- fig:NAME -->`` markers is rendered again from the day-ahead plans of
the demo district; a number that differs by more than ``figures.TOLERANCE`` (0.5 %) fails.
"""

import importlib.util
from pathlib import Path

import pytest

from gridctl.planning import make_plan

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figures)


def quoted_figures() -> list[tuple[str, str, str]]:
    """(file, name, body) of every figure quoted in README.md and docs/*.md."""
    return [(path.relative_to(ROOT).as_posix(), name, body)
            for path in figures.DOCS for name, body in figures.quoted(path.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def rendered(demo_district):
    plans = {day: make_plan(demo_district, day).summary for day in figures.days_needed()}
    return figures.render(plans)


def test_every_figure_is_quoted_and_every_quote_is_known():
    names = [name for _, name, _ in quoted_figures()]
    assert set(names) == set(figures.FIGURES)
    assert "plan-2016-07-14" in [name for path, name, _ in quoted_figures() if path == "README.md"]


@pytest.mark.parametrize("path,name,body", quoted_figures(), ids=lambda v: v if "\n" not in v and len(v) < 40 else "")
def test_quoted_figure_matches_the_code(rendered, path, name, body):
    problems = figures.differences(body, rendered[name])
    assert not problems, f"{path} fig:{name} is out of date (run `make docs-figures`): " + "; ".join(problems)


def test_a_hand_edited_figure_fails(rendered):
    text = rendered["plan-2016-07-14"]
    emissions = figures.numbers(text)[0]
    edited = text.replace(f"{emissions:,.0f}", f"{emissions * 1.01:,.0f}", 1)
    assert edited != text
    assert figures.differences(edited, text) != []
    assert figures.differences(text, text) == []
    assert figures.differences(text.replace("→ ", "→ 1"), text) != []  # a changed count


def test_rewrite_replaces_only_marked_text():
    doc = "a 1 b <!-- fig:x -->old 5<!-- /fig --> c 2"
    assert figures.rewrite(doc, {"x": "new 6"}) == "a 1 b <!-- fig:x -->new 6<!-- /fig --> c 2"
