"""Exact Online simulator: a real HTTP server (FastAPI) for tribe-sync's tests, demo and stack.

``create_app(state)`` serves the OAuth2 authorization-code flow (``/api/oauth2/auth``,
``/api/oauth2/token``: rotating single-use refresh tokens, the 570 s rule, grace and strict
modes), the REST/OData v2 API under ``/api/v1/{division}/…`` (budgets of 60 a clock minute and
5,000 a UTC day per app × division, the error-rate block, mandatory filters, sync and bulk
endpoints, webhooks with signed events), fault injection and a ``/_sandbox`` control API on a
controllable clock. ``seed(state)`` adds a Dutch and a Belgian division with demo data;
``ExactServer`` (``sandbox.exact.clients``) runs it in a thread, over HTTP or HTTPS.
"""
from __future__ import annotations

from sandbox.exact.app import create_app
from sandbox.exact.options import ExactOptions
from sandbox.exact.seed import seed
from sandbox.exact.state import ExactState

__all__ = ["ExactOptions", "ExactState", "create_app", "seed"]
