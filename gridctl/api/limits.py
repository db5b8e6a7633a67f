"""What the API accepts: times the store can hold, bounded bodies and offsets, bounded store reads."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import HTTPException, status
from pydantic import AfterValidator, AwareDatetime
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_OFFSET = 2**31 - 1
READ_TIMEOUT_S = 5.0  # a store read slower than this answers 503


def _in_range(t: datetime) -> datetime:
    try:
        utc = t.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{t.isoformat()} is outside the times the store holds "
                         f"({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} UTC)") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"{t.isoformat()} is outside the times the store holds "
                         f"({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} UTC)")
    return utc


Time = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""An ISO 8601 time with UTC offset, between ``EARLIEST`` and ``LATEST`` (else 422 with the reason)."""


class BodyLimit:
    """ASGI middleware: request bodies over ``max_bytes`` answer 413 (by Content-Length, or as
    they stream in)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await self._refuse(send)
        seen, refused = 0, False

        async def limited() -> Message:
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # the app gets a truncated body; its answer is replaced below
                refused = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def answer(message: Message) -> None:
            if not refused:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send)

        await self.app(scope, limited, answer)

    async def _refuse(self, send: Send) -> None:
        body = f'{{"detail":"request body over {self.max_bytes} bytes ([api] max_body_bytes)"}}'.encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class ReadCache:
    """Answers of store reads, kept while the store has taken no new record (``generation``)."""

    def __init__(self, generation: Callable[[], int], size: int = 256):
        self.generation, self.size = generation, size
        self._items: OrderedDict[tuple, tuple[int, object]] = OrderedDict()

    async def get(self, key: tuple, read: Callable[[], object]) -> object:
        """``read()`` in a worker thread (503 when the store fails or is slower than ``READ_TIMEOUT_S``),
        or its cached answer."""
        gen = self.generation()
        hit = self._items.get(key)
        if hit is not None and hit[0] == gen:
            self._items.move_to_end(key)
            return hit[1]
        try:
            value = await asyncio.wait_for(run_in_threadpool(read), READ_TIMEOUT_S)
        except TimeoutError:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"the store did not answer within {READ_TIMEOUT_S:g} s; try again later") from None
        self._items[key] = (gen, value)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value
