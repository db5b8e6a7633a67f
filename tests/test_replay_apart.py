"""Helper processes of a replay (gridctl.replay.apart): forked by a fork server that imported their
modules, started with their arguments and in this process's folder, Ctrl-C ignored, at their priority."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from gridctl.replay.apart import HELPERS, NICE, context, one_thread, prepare, spawn


def _report(out, payload: dict) -> None:  # the helper's view of itself
    out.put((len(payload["rows"]), os.nice(0), signal.getsignal(signal.SIGINT) is signal.SIG_IGN))


@pytest.mark.parametrize("nice", [0, NICE])
def test_a_helper_gets_its_arguments_ignores_ctrl_c_and_runs_at_its_priority(nice):
    out = context().Queue()
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


def _modules_and_folder(out) -> None:
    out.put(({m: m in sys.modules for m in (*HELPERS, "gridctl.replay.run")}, os.getcwd()))


def test_a_helper_starts_with_its_modules_imported_in_this_process_folder(tmp_path, monkeypatch):
    """The fork server imported the helpers' modules once (and only those): a helper imports
    nothing before its work. It works in this process's folder, not the one the server started in."""
    prepare()
    monkeypatch.chdir(tmp_path)
    out = context().Queue()
    process = spawn(_modules_and_folder, "gridctl-test-helper", (out,), ())
    modules, folder = out.get(timeout=120)
    process.join(timeout=60)
    assert modules == {**dict.fromkeys(HELPERS, True), "gridctl.replay.run": False}
    assert folder == str(tmp_path)


def test_openmp_runs_one_thread_here_until_every_helper_released_it():
    import sklearn.ensemble  # noqa: F401 - loads OpenMP

    def threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"}

    with threadpool_limits(limits=2, user_api="openmp"):
        assert threads() == {2}
        first, second = one_thread(), one_thread()  # e.g. the baselines' process and the forecasts'
        assert threads() == {1}
        first()
        first()  # a second release of the same hold counts once
        assert threads() == {1}
        second()
        assert threads() == {2}


def test_a_fork_server_that_cannot_start_is_a_warning_not_an_error(monkeypatch, caplog):
    """E.g. no folder for its socket: the replay goes on, and each helper falls back to this process."""
    from multiprocessing import forkserver

    def refuse() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(forkserver, "ensure_running", refuse)
    monkeypatch.setattr("gridctl.replay.apart.spare_core", lambda: True)
    prepare()
    assert "helper processes cannot start" in caplog.text and "No space left" in caplog.text
