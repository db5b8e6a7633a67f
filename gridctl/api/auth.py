"""Bearer-token protection of the write endpoints (token from ``GRIDCTL_API_TOKEN``)."""

from __future__ import annotations

import hmac
import os
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

TOKEN_ENV = "GRIDCTL_API_TOKEN"
_bearer = HTTPBearer(auto_error=False, description=f"the token in the daemon's {TOKEN_ENV}")


def require_token(creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """403 when write endpoints are disabled (no token set) or the token is wrong; 401 when missing."""
    expected = os.environ.get(TOKEN_ENV, "")
    if not expected:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"write endpoints are disabled: start the daemon with {TOKEN_ENV} set")
    if creds is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token (Authorization: Bearer <token>)",
                            headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(creds.credentials.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong bearer token")
