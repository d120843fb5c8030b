"""``/_sandbox`` control routes every simulator mounts: faults, reset, state, counters."""
from __future__ import annotations

from typing import Any, Protocol

from fastapi import APIRouter, HTTPException

from sandbox.common.faults import FaultConfig

__all__ = ["SimulatorState", "control_router"]


class SimulatorState(Protocol):
    faults: FaultConfig

    def snapshot(self) -> dict[str, Any]: ...
    def reset(self) -> None: ...
    def counters(self) -> dict[str, Any]: ...


def control_router(state: SimulatorState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", include_in_schema=False)

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        return state.faults.as_dict()

    @router.put("/faults")
    def put_faults(body: dict[str, Any]) -> dict[str, Any]:
        try:
            state.faults.update(body)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return state.faults.as_dict()

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        state.faults.clear()
        return state.faults.as_dict()

    @router.get("/state")
    def get_state() -> dict[str, Any]:
        return state.snapshot()

    @router.get("/counters")
    def get_counters() -> dict[str, Any]:
        return state.counters()

    @router.post("/reset")
    def reset() -> dict[str, str]:
        state.reset()
        return {"status": "reset"}

    return router
