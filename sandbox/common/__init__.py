"""Pieces every simulator shares: fault injection, rate limiting, the control API, threads."""
from __future__ import annotations

from sandbox.common.control import control_router
from sandbox.common.faults import FaultConfig, FaultInjectionMiddleware
from sandbox.common.ratelimit import SlidingWindowLimiter
from sandbox.common.server import ServerThread
from sandbox.common.timeutil import Clock

__all__ = [
    "Clock",
    "FaultConfig",
    "FaultInjectionMiddleware",
    "ServerThread",
    "SlidingWindowLimiter",
    "control_router",
]
