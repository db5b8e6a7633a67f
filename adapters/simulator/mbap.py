"""Modbus TCP framing of the simulator: MBAP headers checked, malformed frames close the connection.

A real device drops a connection whose byte stream it cannot frame (protocol id != 0, a length
field outside 2..254, a PDU whose length does not match its function code), so that a client
with a framing bug sees a closed connection instead of timeouts. Well-formed requests are
handed to ``serve(unit_id, pdu)``; its answer (a PDU, or None for silence) goes back under the
request's transaction id. Requests on one connection are served in order of arrival.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
MBAP = struct.Struct(">HHHB")  # transaction id, protocol id, length, unit id
MAX_LENGTH = 254  # unit id + a PDU of at most 253 bytes
Serve = Callable[[int, bytes], Awaitable[bytes | None]]


def _sized(offset: int, extra: int) -> Callable[[bytes], int]:
    """Length of a request whose byte count sits at ``offset``, followed by that many bytes."""
    return lambda pdu: extra + pdu[offset] if len(pdu) > offset else -1


# function code -> expected PDU length of a request (function code byte included)
_REQUEST_LENGTH: dict[int, Callable[[bytes], int]] = {
    3: lambda pdu: 5, 4: lambda pdu: 5, 6: lambda pdu: 5, 22: lambda pdu: 7, 17: lambda pdu: 1,
    16: _sized(5, 6), 23: _sized(9, 10),
    8: lambda pdu: len(pdu) if len(pdu) >= 3 and len(pdu) % 2 else -1,
    43: lambda pdu: 4 if len(pdu) > 1 and pdu[1] == 14 else len(pdu),
}


def malformed(pdu: bytes) -> str | None:
    """Why ``pdu`` cannot be a request of its function code (None when it is well formed).

    Unknown function codes are well formed here: they are answered with exception 1.
    """
    expected = _REQUEST_LENGTH.get(pdu[0])
    if expected is not None and expected(pdu) != len(pdu):
        return f"function {pdu[0]} request of {len(pdu)} bytes"
    return None


class ModbusConnection(asyncio.Protocol):
    """One client connection of the simulator's Modbus TCP server."""

    def __init__(self, serve: Serve, closed: Callable[[ModbusConnection], None] = lambda c: None):
        self._serve, self._closed = serve, closed
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._queue: asyncio.Queue[tuple[int, int, bytes]] = asyncio.Queue()
        self._worker: asyncio.Task | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._worker = asyncio.get_running_loop().create_task(self._work())

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._worker is not None:
            self._worker.cancel()
        self._closed(self)

    def close(self) -> None:
        """Close the connection from the server's side."""
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= MBAP.size:
            tid, protocol, length, unit = MBAP.unpack_from(buffer)
            if protocol != 0 or not 2 <= length <= MAX_LENGTH:
                self._drop(f"MBAP protocol id {protocol}, length {length}")
                return
            end = 6 + length
            if len(buffer) < end:
                return
            pdu = bytes(buffer[MBAP.size:end])
            del buffer[:end]
            if reason := malformed(pdu):
                self._drop(reason)
                return
            self._queue.put_nowait((tid, unit, pdu))

    def _drop(self, reason: str) -> None:
        peer = self._transport.get_extra_info("peername") if self._transport else None
        log.warning("closing Modbus connection from %s: malformed frame (%s)", peer, reason)
        self._buffer.clear()
        self.close()

    async def _work(self) -> None:
        while True:
            tid, unit, pdu = await self._queue.get()
            answer = await self._serve(unit, pdu)
            if answer is not None and self._transport is not None and not self._transport.is_closing():
                self._transport.write(MBAP.pack(tid, 0, len(answer) + 1, unit) + answer)
