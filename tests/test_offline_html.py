"""Every HTML page gridctl writes or serves works offline: nothing to fetch in its markup, and it
renders its charts in headless chromium with the network unreachable."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest
from browser import assert_offline, dump_dom
from test_replay import replay_district

from gridctl.commands.forecast import plot
from gridctl.replay.files import write_outputs
from gridctl.replay.run import run_replay


def walk_forward_results() -> pd.DataFrame:
    """A small table shaped like ``forecasts.evaluate.walk_forward``'s: two targets, two models, one day."""
    index = pd.date_range("2016-07-13T22:00Z", periods=96, freq="15min")
    rows = []
    for target in ("load", "pv"):
        for model, scale in (("forecast", 1.0), ("persistence", 1.1)):
            rows.append(pd.DataFrame({"target": target, "model": model, "issue_time": index[0], "interval_start": index,
                                      "forecast": scale * (1 + index.hour), "actual": 1.0 + index.hour}))
    return pd.concat(rows, ignore_index=True)


def plotly_rendered(dom: str) -> int:
    """Number of plotly charts drawn in a DOM (each has an SVG of class main-svg)."""
    return len(re.findall(r'<svg class="main-svg"', dom))


def test_forecasts_html_renders_offline(tmp_path):
    path = tmp_path / "forecasts.html"
    plot(walk_forward_results(), path, "Europe/Berlin")
    assert_offline(path.read_text(), path.name)
    dom = dump_dom(path.as_uri(), tmp_path / "chromium")
    assert plotly_rendered(dom) >= 1, "forecasts.html drew no chart offline"
    assert "load: measured" in dom


@pytest.fixture(scope="module")
def report(demo_district, tmp_path_factory):
    district = replay_district(demo_district, naive_forecasts=True, reoptimise_every_min=0, ac_check_every_min=0,
                               baselines=["none"])
    out = tmp_path_factory.mktemp("replay")
    write_outputs(run_replay(district, date(2016, 7, 12), date(2016, 7, 12)), out)
    return out / "report.html"


def test_report_html_renders_offline(report, tmp_path):
    assert_offline(report.read_text(), report.name)
    dom = dump_dom(report.as_uri(), tmp_path / "chromium")
    assert plotly_rendered(dom) >= 4, "report.html drew fewer than its four charts offline"
