"""Reachability of the configured Modbus TCP endpoints (``gridctl check``)."""

from __future__ import annotations

import asyncio

from gridctl.config import Config
from gridctl.devices import endpoints, meter_endpoint


def assets_by_endpoint(config: Config) -> dict[tuple[str, int], list[str]]:
    """Asset ids (and ``meter`` when polled) behind each configured host:port."""
    out: dict[tuple[str, int], list[str]] = {}
    where = endpoints(config)
    if config.measurements.meter:
        where["meter"] = meter_endpoint(config)
    for asset_id, endpoint in where.items():
        out.setdefault(endpoint, []).append(asset_id)
    return out


async def _reachable(host: str, port: int, timeout_s: float) -> str | None:
    """None when ``host:port`` accepts a TCP connection within ``timeout_s``, else why not."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except TimeoutError:
        return f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    writer.close()
    return None


def unreachable(config: Config, timeout_s: float = 2.0) -> list[str]:
    """One warning per endpoint that accepts no connection, naming the assets behind it."""
    groups = assets_by_endpoint(config)

    async def probe() -> list[str | None]:
        return await asyncio.gather(*(_reachable(h, p, timeout_s) for h, p in groups))

    return [f"{h}:{p} unreachable ({why}); assets {ids} will be offline until it answers "
            "(check the address, or test it with mbpoll, docs/modbus.md)"
            for ((h, p), ids), why in zip(groups.items(), asyncio.run(probe())) if why is not None]
