"""The gridctl store: measurements, forecasts, plans, setpoints, events, emissions, overrides.

``Store(url)`` creates the engine, applies the Alembic migrations and offers short
transactional methods; each method commits before it returns, so a crash loses nothing
that a method has reported as stored.
"""

from gridctl.store.repository import Page, Store

__all__ = ["Page", "Store"]
