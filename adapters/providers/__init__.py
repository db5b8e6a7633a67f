"""Clients of carbon-intensity providers; each returns the canonical carbon frame of
:mod:`adapters.carbon` (UTC interval starts, ``ci_kg_per_kwh``, ``issued_at_utc``, ...)."""
