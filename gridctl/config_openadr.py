"""Configuration of gridctl as an OpenADR 3 VEN (section ``[openadr]``, docs/openadr.md).

Part of :class:`gridctl.config.Config`. Off unless ``enabled``; the OAuth2 client id and secret
are read from the environment variables named here, never from the file.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OpenAdrConfig(BaseModel):
    """The VTN gridctl polls for grid-operator events and reports to."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = False
    vtn_url: str = "http://127.0.0.1:8081/openadr3/3.0.1"
    token_url: str = ""
    client_id_env: str = "GRIDCTL_OPENADR_CLIENT_ID"
    client_secret_env: str = "GRIDCTL_OPENADR_CLIENT_SECRET"
    scope: str = "read_all write_reports"
    programs: list[str] = Field(default_factory=list)
    poll_interval_s: float = Field(60.0, gt=0)
    ven_name: str = Field("gridctl-ven", min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]+$")

    def token_endpoint(self) -> str:
        """The OAuth2 token endpoint: ``token_url``, else ``<vtn_url>/auth/token``."""
        return self.token_url or f"{self.vtn_url.rstrip('/')}/auth/token"
