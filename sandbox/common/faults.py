"""Fault injection: latency, 5xx, timeouts, dropped connections, 429 — as vendors fail.

A fault is drawn per request (control routes under ``/_sandbox`` are exempt). ``lost_response``
faults run the request *and then* drop the connection: the write happened but the client never
hears about it — the case an export ledger exists for.
"""
from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FaultConfig", "FaultInjectionMiddleware"]


@dataclass
class FaultConfig:
    """Shares are probabilities in [0, 1]; latency is drawn uniformly in milliseconds."""

    latency_ms: tuple[float, float] = (0.0, 0.0)
    error_5xx: float = 0.0
    timeout: float = 0.0
    connection_reset: float = 0.0
    too_many_requests: float = 0.0
    lost_response: float = 0.0  # only applied to writes (POST/PUT/PATCH/DELETE)
    timeout_sleep_s: float = 30.0
    paths: list[str] = field(default_factory=list)  # substrings; empty = every path
    seed: int | None = None
    injected: dict[str, int] = field(default_factory=dict)

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key == "injected" or not hasattr(self, key):
                raise ValueError(f"unknown fault setting {key!r}")
            setattr(self, key, tuple(value) if key == "latency_ms" else value)
        if "seed" in values:
            self._rng = random.Random(values["seed"])

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["latency_ms"] = list(self.latency_ms)
        return data

    def clear(self) -> None:
        for key, value in asdict(FaultConfig()).items():
            setattr(self, key, value)
        self._rng = random.Random()

    def __post_init__(self) -> None:
        # One RNG per config so a seeded run is repeatable (plain attributes, not fields).
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def draw(self, method: str, path: str) -> str | None:
        """Pick the fault for one request, or None."""
        if self.paths and not any(p in path for p in self.paths):
            return None
        with self._lock:
            roll = self._rng.random()
        is_write = method in {"POST", "PUT", "PATCH", "DELETE"}
        for name, share in (
            ("too_many_requests", self.too_many_requests),
            ("error_5xx", self.error_5xx),
            ("timeout", self.timeout),
            ("connection_reset", self.connection_reset),
            ("lost_response", self.lost_response if is_write else 0.0),
        ):
            if roll < share:
                with self._lock:
                    self.injected[name] = self.injected.get(name, 0) + 1
                return name
            roll -= share
        return None

    def latency_s(self) -> float:
        low, high = self.latency_ms
        if high <= 0:
            return 0.0
        with self._lock:
            return self._rng.uniform(low, high) / 1000.0


class _DropConnection(Exception):
    """Raised after a partial response so the server closes the socket mid-body."""


class FaultInjectionMiddleware:
    """Pure ASGI middleware: cheap, and able to break a response half-way."""

    def __init__(self, app: Any, config: FaultConfig, problem_body: Any = None) -> None:
        self.app = app
        self.config = config
        # The body a simulated 5xx carries, in the vendor's error shape.
        self.problem_body = problem_body or (lambda status, msg: {"error": {"code": str(status), "message": msg}})

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        delay = self.config.latency_s()
        if delay:
            await asyncio.sleep(delay)
        fault = self.config.draw(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
        elif fault == "too_many_requests":
            await _send_json(send, 429, self.problem_body(429, "Rate limit is exceeded. Try again in 1 seconds."),
                             [(b"retry-after", b"1")])
        elif fault == "error_5xx":
            status = random.choice([500, 502, 503])
            await _send_json(send, status, self.problem_body(status, "Injected server error"))
        elif fault == "timeout":
            await asyncio.sleep(self.config.timeout_sleep_s)
            await _send_json(send, 504, self.problem_body(504, "Injected gateway timeout"))
        elif fault == "connection_reset":
            await _drop(send)
        elif fault == "lost_response":
            async def swallow(message: dict) -> None:  # the write happens, the answer is lost
                return None
            await self.app(scope, receive, swallow)
            await _drop(send)


async def _send_json(send: Any, status: int, body: Any, extra: list | None = None) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": raw})


async def _drop(send: Any) -> None:
    # Promise a body, send none of it, then fail: uvicorn closes the socket, the client
    # sees a broken connection (requests: ConnectionError / ChunkedEncodingError).
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
    raise _DropConnection("injected connection reset")
