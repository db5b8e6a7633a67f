"""A real HTTP server on an ephemeral loopback port serving canned answers by path (for clients
that neither respx nor responses can intercept, and for daemon-level feed tests)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import urlsplit


class LoopbackHTTP:
    """``routes[prefix] = (status, headers, body)``: a request is answered by the longest route its
    path starts with; no route answers 404.
    ``silent = True`` makes every request answer 503 (a provider gone quiet). ``requests`` logs
    each request's path and query."""

    def __init__(self):
        self.routes: dict[str, tuple[int, dict, bytes]] = {}
        self.requests: list[str] = []
        self.silent = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                path = urlsplit(self.path).path
                prefix = max((r for r in owner.routes if path.startswith(r)), key=len, default=None)
                status, headers, body = ((503, {}, b"down") if owner.silent else
                                         owner.routes.get(prefix, (404, {}, b"not found")))
                self.send_response(status)
                for k, v in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
