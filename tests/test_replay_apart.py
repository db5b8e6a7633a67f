"""Helper processes of a replay (gridctl.replay.apart): started with their arguments, Ctrl-C ignored, at their priority."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest

from gridctl.replay.apart import NICE, spawn


def _report(out, payload: dict) -> None:  # the helper's view of itself
    out.put((len(payload["rows"]), os.nice(0), signal.getsignal(signal.SIGINT) is signal.SIG_IGN))


@pytest.mark.parametrize("nice", [0, NICE])
def test_a_helper_gets_its_arguments_ignores_ctrl_c_and_runs_at_its_priority(nice):
    out = multiprocessing.get_context("spawn").Queue()
    process = spawn(_report, "gridctl-test-helper", (out,), ({"rows": list(range(200_000))},), nice=nice)
    rows, priority, ignores_ctrl_c = out.get(timeout=120)
    process.join(timeout=60)
    assert rows == 200_000  # sent through the pipe after the start, far more than its buffer holds
    assert priority == os.nice(0) + nice
    assert ignores_ctrl_c and process.exitcode == 0


def test_arguments_that_cannot_be_pickled_fail_here_before_any_process_starts():
    with pytest.raises((AttributeError, TypeError)):  # a local function has no pickle
        spawn(_report, "gridctl-test-helper", (), (lambda: None,))
    assert not [p for p in multiprocessing.active_children() if p.name == "gridctl-test-helper"]
