"""The outside world: Modbus/SunSpec devices, the simulator, readers of measured and carbon data.

Never imports ``gridctl``, ``network_models`` or ``forecasts``.
"""
