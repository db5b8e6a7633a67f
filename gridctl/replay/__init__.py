"""Replay: backtest historical days with the daemon's decision cycle on a simulated clock.

Decisions come from :func:`gridctl.cycle.decide` (forecasts issued at each decision time, no
look-ahead); outcomes come from the measured history, applied to in-process device physics.
:func:`gridctl.replay.run.run_replay` runs one. The package imports nothing itself, so a helper
process (:mod:`gridctl.replay.apart`) imports only the modules its work needs.
"""
