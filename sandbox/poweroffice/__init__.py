"""PowerOffice Go API v2 simulator: a real HTTP server (FastAPI) for tribe-sync's tests.

``create_app(state)`` serves ``/OAuth/Token`` and ``/v2/...`` (also under ``/Demo``) with the
vendor's DTO shapes, paging, JSON Patch, ProblemDetails errors, 10 req/s throttling, 20-minute
tokens, fault injection and a ``/_sandbox`` control API. ``seed(state)`` adds demo data.
"""
from __future__ import annotations

from sandbox.poweroffice.app import create_app
from sandbox.poweroffice.seed import seed, valid_orgnr
from sandbox.poweroffice.state import KINDS, PowerOfficeState

__all__ = ["KINDS", "PowerOfficeState", "create_app", "seed", "valid_orgnr"]
