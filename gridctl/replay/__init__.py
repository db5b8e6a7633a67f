"""Replay: backtest historical days with the daemon's decision cycle on a simulated clock.

Decisions come from :func:`gridctl.cycle.decide` (forecasts issued at each decision time, no
look-ahead); outcomes come from the measured history, applied to in-process device physics.
"""

from gridctl.replay.run import ReplayResult, run_replay

__all__ = ["ReplayResult", "run_replay"]
