"""The baselines' runs over a replay's actuals: after gridctl's run in this process, or beside it
in a second one.

The baselines need only the actuals and the district, not gridctl's decisions, so with a core to
spare they can run while gridctl replays the same days: :class:`BaselineJob` starts them in a
spawned process at a lower priority (:func:`gridctl.replay.apart.spawn`: nothing waits for them
until gridctl's run ends) and hands their tables back: those of a run in this process, the same
code on the same data. Should that process fail
or die, the baselines run here after all. Until their tables are ready, OpenMP in this process
(the forecasters' trees under ``[forecast] threads = 0``) is held to one thread, so gridctl's
run and the baselines do not fight over the cores. As with every spawned process, a script that starts
such a replay must guard its entry point (``if __name__ == "__main__":``).
"""

from __future__ import annotations

import logging
import pickle
import time as timer

import pandas as pd

from gridctl.dispatch.highs import SolverError
from gridctl.district import District
from gridctl.replay.actuals import Actuals
from gridctl.replay.apart import NICE, context, one_thread, spare_core, spawn
from gridctl.replay.baselines import BASELINES
from gridctl.replay.engine import Timings

log = logging.getLogger(__name__)


Baselines = tuple[dict[str, pd.DataFrame], dict[str, str]]  # the runs' operation, and why a run failed


def run_baselines(district: District, actuals: Actuals, soc_kwh: dict[str, float] | None,
                  timings: Timings) -> Baselines:
    """The operation of every configured baseline over ``actuals`` (their time added to
    ``timings``), and for a perfect-foresight bound whose solver found no plan, the solver's
    message instead: the replay reports without it rather than losing gridctl's run."""
    runs, failed = {}, {}
    for name in district.config.replay.baselines:
        log.info("baseline %s over %d intervals", name, len(actuals.index))
        t0 = timer.perf_counter()
        try:
            runs[name] = BASELINES[name](district, actuals, soc_kwh)
        except SolverError as exc:
            failed[name] = str(exc)
        timings.baselines_s += timer.perf_counter() - t0
    return runs, failed


def runs_apart(district: District, n_days: int) -> bool:
    """Whether a replay of ``n_days`` may run its baselines beside gridctl's run: ``[replay]
    baselines_apart_days`` or more days, baselines configured, more than one core for this process
    and a process that may start others (not a Dask worker's)."""
    cfg = district.config.replay
    return bool(cfg.baselines) and 0 < cfg.baselines_apart_days <= n_days and spare_core()


class BaselineJob:
    """:func:`run_baselines` started in a process of its own (see module doc)."""

    def __init__(self, district: District, actuals: Actuals, soc_kwh: dict[str, float] | None):
        self._args = (district, actuals, soc_kwh)
        self._conn, child = context().Pipe(duplex=False)
        try:
            self._process = spawn(_run, "gridctl-baselines", (child,), self._args, nice=NICE)
        except BaseException:
            self._conn.close()
            raise
        finally:
            child.close()
        self._release = one_thread()

    def share_cores(self) -> None:
        """Give up this job's hold on OpenMP's threads here once the baselines' tables are ready."""
        if self._conn.poll():
            self._release()

    def result(self, timings: Timings) -> Baselines:
        """The baselines' tables and failures (:func:`run_baselines`; their run time added to
        ``timings``); run here when the process failed; a baseline's own error is raised here."""
        if not self._conn.poll():
            log.info("waiting for the baselines' process")
        try:
            outcome = self._conn.recv()
        except EOFError:  # the process died without an answer
            outcome = None
        finally:
            self.cancel()
        if outcome is None:
            log.warning("the baselines' process ended with exit code %s; running the baselines here",
                        self._process.exitcode)
            return run_baselines(*self._args, timings)
        if isinstance(outcome, BaseException):
            raise outcome
        runs, failed, seconds = outcome
        timings.baselines_s += seconds
        return runs, failed

    def cancel(self) -> None:
        """Stop the baselines' process (whatever it is doing)."""
        self._release()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._conn.close()


def start_apart(district: District, actuals: Actuals, soc_kwh: dict[str, float] | None) -> BaselineJob | None:
    """A :class:`BaselineJob`, or None (with a warning: the baselines then run after gridctl's run)
    when its process cannot be started, e.g. the district cannot be sent to it."""
    try:
        return BaselineJob(district, actuals, soc_kwh)
    except (OSError, pickle.PicklingError, TypeError, AttributeError) as exc:
        log.warning("the baselines cannot run in a process of their own (%s); they run after gridctl's run", exc)
        return None


def _run(conn, district: District, actuals: Actuals, soc_kwh: dict[str, float] | None) -> None:
    timings = Timings()
    try:
        outcome = (*run_baselines(district, actuals, soc_kwh, timings), timings.baselines_s)
    except Exception as exc:  # noqa: BLE001 - handed to the replay, which raises it
        outcome = exc
    conn.send(outcome)
    conn.close()
