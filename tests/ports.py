"""Loopback ports for tests that run in parallel (pytest-xdist): never a fixed port.

A server in the test's own process binds port 0 and reports the port the OS gave it
(:func:`uvicorn_port`); only a server in another process, which needs its port in a config
file, gets one from :func:`free_port`.
"""

from __future__ import annotations

import socket

import uvicorn


def free_port() -> int:
    """A loopback port the OS has just handed out and released, for a server in another process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvicorn_port(server: uvicorn.Server) -> int:
    """The port a started ``server`` configured with ``port=0`` listens on."""
    return server.servers[0].sockets[0].getsockname()[1]
