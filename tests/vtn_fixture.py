"""A loopback OpenADR 3 VTN for tests: a real HTTP server on a free port serving the REST API's
JSON shapes (``/auth/token``, ``/programs``, ``/events``, ``/reports``, ``/subscriptions``).

OAuth2 client credentials at ``/auth/token`` (form-encoded, as RFC 6749 §4.4); every other path
wants the bearer token it issued and answers 403 with a Problem object otherwise. Objects get
``id``, ``createdDateTime`` and ``modificationDateTime`` as a VTN provisions them.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlparse

CLIENT_ID, CLIENT_SECRET = "ven-client", "ven-secret"


class Vtn:
    """The VTN's objects and the server; ``url`` once started (``with Vtn() as vtn``)."""

    def __init__(self) -> None:
        self.programs: list[dict] = []
        self.events: list[dict] = []
        self.reports: list[dict] = []
        self.subscriptions: list[dict] = []
        self.tokens: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add_program(self, name: str) -> dict:
        program = _provisioned({"programName": name, "payloadDescriptors": [
            {"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": "IMPORT_CAPACITY_LIMIT", "units": "KW"}]},
            "PROGRAM")
        self.programs.append(program)
        return program

    def put_event(self, event: dict, at: str) -> dict:
        """Create or (same ``id``) replace an event, issued at ``at`` (ISO 8601)."""
        old = next((e for e in self.events if e["id"] == event.get("id")), None)
        event = {**event, "objectType": "EVENT", "id": event.get("id") or uuid.uuid4().hex[:12],
                 "createdDateTime": old["createdDateTime"] if old else at, "modificationDateTime": at}
        self.events = [e for e in self.events if e["id"] != event["id"]] + [event]
        return event


def _provisioned(obj: dict, object_type: str) -> dict:
    now = datetime.now(UTC).isoformat()
    return {"id": uuid.uuid4().hex[:12], "createdDateTime": now, "modificationDateTime": now,
            "objectType": object_type, **obj}


def _handler(vtn: Vtn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet test output
            pass

        def _send(self, status: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def _authorised(self) -> bool:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            if token in vtn.tokens:
                return True
            self._send(403, {"type": "about:blank", "title": "Forbidden", "status": 403,
                             "detail": "missing or unknown bearer token"})
            return False

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            collections = {"/programs": vtn.programs, "/events": vtn.events, "/reports": vtn.reports,
                           "/subscriptions": vtn.subscriptions}
            if url.path not in collections:
                return self._send(404, {"title": "Not Found", "status": 404})
            if self._authorised():
                items = collections[url.path]
                if "programID" in query:
                    items = [i for i in items if i.get("programID") == query["programID"]]
                self._send(200, items)

        def do_POST(self) -> None:
            path = urlparse(self.path).path
            if path == "/auth/token":
                form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                if (form.get("grant_type"), form.get("client_id"), form.get("client_secret")) != (
                        "client_credentials", CLIENT_ID, CLIENT_SECRET):
                    return self._send(401, {"error": "invalid_client"})
                token = uuid.uuid4().hex
                vtn.tokens.add(token)
                return self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
            targets = {"/reports": (vtn.reports, "REPORT"), "/subscriptions": (vtn.subscriptions, "SUBSCRIPTION")}
            if path not in targets:
                return self._send(404, {"title": "Not Found", "status": 404})
            if self._authorised():
                items, object_type = targets[path]
                obj = _provisioned(json.loads(self._body()), object_type)
                items.append(obj)
                self._send(201, obj)

    return Handler
