"""Fault settings of the Odoo simulator: the shared ones (``sandbox.common.faults``: latency, 5xx,
timeouts, resets, lost responses) plus Odoo's own retryable error, the PostgreSQL
serialization failure that a writing call reports once the server's retries are used up."""
from __future__ import annotations

from dataclasses import dataclass

from sandbox.common import FaultConfig

__all__ = ["OdooFaultConfig"]


@dataclass
class OdooFaultConfig(FaultConfig):
    """``serialization_failure`` is the share of writing calls (create, write, unlink, action_*)
    that fail with ``psycopg2.errors.SerializationFailure`` and change nothing. ``paths`` also
    filters it, matched against ``"<model>.<method>"``."""

    serialization_failure: float = 0.0

    def clear(self) -> None:
        super().clear()
        self.serialization_failure = 0.0

    def draw_serialization(self, target: str) -> bool:
        if self.serialization_failure <= 0 or (self.paths and not any(p in target for p in self.paths)):
            return False
        with self._lock:
            hit = self._rng.random() < self.serialization_failure
            if hit:
                self.injected["serialization_failure"] = self.injected.get("serialization_failure", 0) + 1
        return hit
