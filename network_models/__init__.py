"""Power-network models: load/build pandapower nets, validate them, check schedules with AC power flow.

Never imports ``gridctl``, ``forecasts`` or ``adapters``.
"""
