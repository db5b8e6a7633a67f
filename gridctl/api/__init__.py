"""REST API, Prometheus metrics and the dashboard of the daemon (FastAPI)."""

from gridctl.api.app import create_app

__all__ = ["create_app"]
