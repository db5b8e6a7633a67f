"""One Modbus TCP connection per host, shared by every unit id behind it.

Requests go through pymodbus' async client, one at a time per connection. Each request has a
timeout, is retried with exponential backoff and reconnects when the connection dropped; the
whole call never takes longer than :attr:`Timing.bound_s`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from adapters.drivers.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceRejected,
    DeviceTimeout,
    DeviceUnreachable,
)

log = logging.getLogger(__name__)
MAX_READ = 125  # registers per read request (Modbus limit)
MAX_WRITE = 123  # registers per write request
GATEWAY_PATH, GATEWAY_TARGET = 10, 11  # gateway exceptions: path unavailable, target failed to respond
RETRY_CODES = {5, 6, GATEWAY_PATH, GATEWAY_TARGET}  # acknowledge, busy, gateway: worth retrying


@dataclass(frozen=True)
class Timing:
    """Timeouts and retries of one request."""

    timeout_s: float = 1.0  # per attempt
    retries: int = 2  # further attempts after the first
    backoff_s: float = 0.2  # wait before the first retry, doubled for each next one
    backoff_max_s: float = 2.0

    @property
    def bound_s(self) -> float:
        """Longest time a request can take, retries and backoff included."""
        waits = sum(min(self.backoff_s * 2**i, self.backoff_max_s) for i in range(self.retries))
        return (self.retries + 1) * self.timeout_s + waits


class ModbusHost:
    """A Modbus TCP server (device or gateway) at ``host:port``."""

    def __init__(self, host: str, port: int = 502, timing: Timing = Timing()):
        self.host, self.port, self.timing = host, port, timing
        self._client = AsyncModbusTcpClient(host, port=port, timeout=timing.timeout_s, retries=0,
                                            reconnect_delay=0, trace_connect=self._connection_changed)
        self._client.set_max_no_responses(100)  # one silent unit must not drop the others
        self._connect_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ModbusHost({self.host}:{self.port})"

    def _connection_changed(self, connected: bool) -> None:
        """A connection closed while a request waits for its answer (by the device, or by pymodbus
        on an answer it cannot frame) fails that request at once instead of after the timeout;
        it is retried on a new connection."""
        pending = getattr(self._client.ctx, "response_future", None)
        if not connected and pending is not None and not pending.done():
            pending.set_exception(ConnectionException("connection closed before the answer"))

    async def read(self, device_id: str, unit_id: int, address: int, count: int) -> list[int]:
        """Holding registers ``address`` .. ``address + count - 1`` of one unit."""
        if not 1 <= count <= MAX_READ:
            raise ValueError(f"cannot read {count} registers in one request (1..{MAX_READ})")
        request = self._client.read_holding_registers
        try:  # first try on an open connection: pymodbus bounds it by timeout_s
            rsp = await request(address, count=count, device_id=unit_id) if self._client.connected else None
        except ModbusException as exc:
            rsp = exc
        if not isinstance(rsp, ModbusPDU) or rsp.isError():
            rsp = await self._call(device_id, ("read", count, address), rsp,
                                   lambda: request(address, count=count, device_id=unit_id))
        registers = getattr(rsp, "registers", None)
        if registers is None or len(registers) != count:
            raise DeviceProtocolError(device_id, f"asked for {count} registers at {address}, got "
                                                 f"{type(rsp).__name__} with {len(registers or [])}")
        return registers

    async def write(self, device_id: str, unit_id: int, address: int, values: list[int]) -> None:
        """Write ``values`` from ``address`` in one request (function code 16)."""
        if not 1 <= len(values) <= MAX_WRITE:
            raise ValueError(f"cannot write {len(values)} registers in one request (1..{MAX_WRITE})")
        request = self._client.write_registers
        try:  # first try on an open connection: pymodbus bounds it by timeout_s
            rsp = await request(address, values, device_id=unit_id) if self._client.connected else None
        except ModbusException as exc:
            rsp = exc
        if not isinstance(rsp, ModbusPDU) or rsp.isError():
            rsp = await self._call(device_id, ("write", len(values), address), rsp,
                                   lambda: request(address, values, device_id=unit_id))
        if getattr(rsp, "address", address) != address or getattr(rsp, "count", len(values)) != len(values):
            raise DeviceProtocolError(device_id, f"write at {address} confirmed as {rsp}")

    async def _call(self, device_id: str, request_id: tuple[str, int, int],
                    first: ModbusPDU | ModbusException | None, request: Callable[[], Awaitable[ModbusPDU]]
                    ) -> ModbusPDU:
        """The answer to ``request`` after the ``first`` try failed (None: it was not made): retried
        with backoff, all tries together never longer than ``bound_s``."""
        error, budget_s = None, self.timing.bound_s
        if first is not None:
            error = (self._failure(device_id, request_id, first) if isinstance(first, ModbusException)
                     else _rejected(device_id, request_id, first))
            budget_s -= self.timing.timeout_s
        try:
            async with asyncio.timeout(budget_s):
                return await self._retries(device_id, request_id, request, error)
        except TimeoutError:
            raise DeviceTimeout(device_id, f"{_describe(request_id)}: no answer within "
                                           f"{self.timing.bound_s:.2f} s") from None

    async def _retries(self, device_id: str, request_id: tuple[str, int, int],
                       request: Callable[[], Awaitable[ModbusPDU]], error: DeviceError | None) -> ModbusPDU:
        """The remaining tries after ``error`` (all of them when None), with backoff between them."""
        delay = self.timing.backoff_s
        for _ in range(self.timing.retries + (error is None)):
            if error is not None:
                await asyncio.sleep(delay)
                delay = min(2 * delay, self.timing.backoff_max_s)
            try:
                await self._connect(device_id)
                rsp = await request()
            except DeviceUnreachable as exc:
                error = exc
                continue
            except ModbusException as exc:
                error = self._failure(device_id, request_id, exc)
                continue
            if not rsp.isError():
                return rsp
            error = _rejected(device_id, request_id, rsp)
        raise error

    def _failure(self, device_id: str, request_id: tuple[str, int, int], exc: ModbusException) -> DeviceError:
        """The error for a request that got no (usable) answer; a lost connection is closed."""
        if isinstance(exc, ConnectionException):
            self._client.close()
            return DeviceUnreachable(device_id, f"{_describe(request_id)}: connection lost ({exc})")
        return DeviceTimeout(device_id, f"{_describe(request_id)}: {exc}")  # no answer, or one not matched

    async def _connect(self, device_id: str) -> None:
        if self._client.connected:
            return
        async with self._connect_lock:
            if not self._client.connected and not await self._client.connect():
                raise DeviceUnreachable(device_id, f"cannot connect to {self.host}:{self.port}")
            log.debug("connected to %s:%d", self.host, self.port)

    def close(self) -> None:
        self._client.close()


def _describe(request_id: tuple[str, int, int]) -> str:
    """``("read", 2, 40000)`` -> "read 2 registers at 40000"."""
    kind, count, address = request_id
    return f"{kind} {count} registers at {address}"


def _rejected(device_id: str, request_id: tuple[str, int, int], rsp: ModbusPDU) -> DeviceError:
    """The error for a Modbus exception answer worth retrying; others are raised."""
    code = getattr(rsp, "exception_code", 0)
    error = _exception_error(device_id, _describe(request_id), code)
    if code not in RETRY_CODES:
        raise error
    return error


def _exception_error(device_id: str, what: str, code: int) -> DeviceError:
    """The error for a Modbus exception answer: a gateway's 10/11 mean the device is not reached."""
    if code == GATEWAY_TARGET:
        return DeviceTimeout(device_id, f"{what}: gateway target device failed to respond (Modbus exception 11)")
    if code == GATEWAY_PATH:
        return DeviceUnreachable(device_id, f"{what}: gateway path unavailable (Modbus exception 10)")
    return DeviceRejected(device_id, what, code)


class HostPool:
    """One :class:`ModbusHost` per (host, port), created on first use."""

    def __init__(self, timing: Timing = Timing()):
        self.timing = timing
        self._hosts: dict[tuple[str, int], ModbusHost] = {}

    def get(self, host: str, port: int = 502) -> ModbusHost:
        key = (host, port)
        if key not in self._hosts:
            self._hosts[key] = ModbusHost(host, port, self.timing)
        return self._hosts[key]

    def close(self) -> None:
        for host in self._hosts.values():
            host.close()
        self._hosts.clear()
