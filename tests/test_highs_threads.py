"""HiGHS runs on one thread in every process that imports gridctl's solver module: its task
scheduler is started at the import, on one thread, and a process forked after it (a replay's
helpers) inherits that scheduler."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import multiprocessing
import highspy
from gridctl.dispatch.highs import one_column_lp


def run(threads):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.passModel(one_column_lp())
    return h.run() == highspy.HighsStatus.kOk


def child(out):
    out.put((run(0), run(1), run(2)))


if __name__ == "__main__":
    q = multiprocessing.get_context("fork").Queue()
    p = multiprocessing.get_context("fork").Process(target=child, args=(q,))
    p.start()
    forked = q.get(timeout=60)
    p.join()
    print((run(0), run(1), run(2)), forked)
"""


def test_the_scheduler_runs_one_thread_here_and_in_a_forked_process(tmp_path):
    """Default and one-thread instances run; one asking for two threads meets the scheduler
    started on one (HiGHS refuses it), in this process and in a child forked after the import."""
    script = tmp_path / "threads.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split("\n")[-2] == "(True, True, False) (True, True, False)"
