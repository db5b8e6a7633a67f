"""Forecasters of load, PV and carbon intensity behind one interface.

Every forecaster has ``fit(history)`` and ``predict(issue_time, horizon)``; history is a wide
DataFrame (UTC interval-start index, one column per series) and a forecaster only ever sees
rows that :func:`forecasts.base.history_before` lets through. Never imports ``gridctl``,
``network_models`` or ``adapters``.
"""
