"""A small HTTP control endpoint of the Modbus simulator: inspect devices, inject and clear faults.

``GET /devices`` lists every simulated device with its unit id, present power and faults;
``PUT /devices/{id}/faults`` with a JSON object such as ``{"offline": true}`` or
``{"delay_s": 2.5}`` changes its faults; ``DELETE /devices/{id}/faults`` makes it healthy.
``GET /clock`` tells the simulated time (UTC) and speed; ``POST /clock/advance`` with
``{"seconds": 900}`` moves it forward (how ``gridctl replay --modbus`` steps a simulator whose
clock stands still, ``gridctl simulate --clock-start``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import asdict

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from adapters.errors import DataError
from adapters.simulator import Faults, SimulatedDevice, Simulator


def _state(device: SimulatedDevice) -> dict:
    device.sync()
    return {"id": device.id, "unit_id": device.unit_id, "kind": device.model_name,
            "models": list(device.models), "p_kw": device.p_kw, "faults": asdict(device.faults)}


def control_app(sims: Simulator | Sequence[Simulator]) -> FastAPI:
    """The control API of one simulator, or of several sharing one clock (one per gateway)."""
    app = FastAPI(title="gridctl simulator control")
    sims = [sims] if isinstance(sims, Simulator) else list(sims)
    sim = sims[0]  # the clock's owner

    def device(device_id: str) -> SimulatedDevice:
        found = [s.devices[device_id] for s in sims if device_id in s.devices]
        if not found:
            raise HTTPException(404, f"no simulated device {device_id!r}; have "
                                     f"{sorted(d for s in sims for d in s.devices)}")
        return found[0]

    @app.get("/devices")
    def devices() -> list[dict]:
        return [_state(d) for s in sims for d in s.devices.values()]

    @app.put("/devices/{device_id}/faults")
    def set_faults(device_id: str, faults: dict[str, bool | int | float | None]) -> dict:
        target = device(device_id)
        try:
            target.faults.update(**faults)
        except (DataError, TypeError) as exc:
            raise HTTPException(422, getattr(exc, "problems", [str(exc)])) from None
        return _state(target)

    @app.delete("/devices/{device_id}/faults")
    def clear_faults(device_id: str) -> dict:
        target = device(device_id)
        target.faults.update(**asdict(Faults()))
        return _state(target)

    @app.get("/clock")
    def clock() -> dict:
        return {"now": sim.clock.now().isoformat(), "speed": sim.clock.speed}

    @app.post("/clock/advance")
    def advance(step: ClockStep) -> dict:
        sim.clock.advance(step.seconds)
        return {"now": sim.clock.now().isoformat(), "speed": sim.clock.speed}

    return app


class ClockStep(BaseModel):
    """Simulated seconds to move the clock forward."""

    seconds: float = Field(ge=0)


class ControlServer(uvicorn.Server):
    """uvicorn inside the simulator's event loop; the caller owns SIGTERM/SIGINT."""

    def __init__(self, sims: Simulator | Sequence[Simulator], host: str, port: int):
        super().__init__(uvicorn.Config(control_app(sims), host=host, port=port, log_config=None,
                                        lifespan="off", access_log=False))

    @contextlib.contextmanager
    def capture_signals(self):
        yield
