"""An access log of a simulator, kept in the test process: when each call the live Airflow made
arrived and was answered. The simulators run in this process, so a test reads it directly —
e.g. when a task first talked to the vendor (its hook was ready) and when its write was done.

Only the test's view of the vendor's side: nothing here changes what a simulator answers.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

__all__ = ["AccessLog", "Call"]


@dataclass(frozen=True)
class Call:
    """One HTTP call: wall-clock seconds (``time.time()``) it arrived and was answered."""

    arrived: float
    answered: float
    method: str
    path: str
    status: int
    rpc: str = ""  # JSON-RPC's "model.method" (Odoo's execute_kw), else ""

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}" + (f" {self.rpc}" if self.rpc else "")


class AccessLog:
    """ASGI middleware around a simulator app; keeps the last ``size`` calls."""

    def __init__(self, app: Any, size: int = 20_000) -> None:
        self.app = app
        self._calls: deque[Call] = deque(maxlen=size)
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        arrived, status, body = time.time(), [0], bytearray()

        async def receive_and_keep() -> Any:
            message = await receive()
            if message.get("type") == "http.request" and len(body) < 8192:
                body.extend(message.get("body", b"")[:8192])
            return message

        async def send_and_note(message: Any) -> None:
            if message.get("type") == "http.response.start":
                status[0] = message.get("status", 0)
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_note)
        finally:
            call = Call(arrived, time.time(), scope.get("method", ""), scope.get("path", ""), status[0],
                        _rpc_label(bytes(body)) if scope.get("path") == "/jsonrpc" else "")
            with self._lock:
                self._calls.append(call)

    def calls(self, since: float = 0.0, until: float = float("inf")) -> list[Call]:
        """Calls that arrived in [since, until], in arrival order."""
        with self._lock:
            return [c for c in self._calls if since <= c.arrived <= until]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def _rpc_label(body: bytes) -> str:
    """``res.partner.create`` of an ``object.execute_kw`` call; the service.method otherwise."""
    try:
        params = json.loads(body).get("params") or {}
    except (ValueError, AttributeError):
        return ""
    args = params.get("args") or []
    if params.get("method") in ("execute_kw", "execute") and len(args) >= 5:
        return f"{args[3]}.{args[4]}"
    return f"{params.get('service', '')}.{params.get('method', '')}"
