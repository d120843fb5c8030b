"""Tribe CRM simulator: OAuth2 client credentials, the OData v4 API and signed webhooks.

Typical use::

    state = TribeState()
    seed(state)
    with ServerThread(create_app(state)) as server:
        ...  # talk HTTP to server.url
"""
from __future__ import annotations

from sandbox.tribe.app import create_app
from sandbox.tribe.seed import seed
from sandbox.tribe.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TribeState
from sandbox.tribe.webhooks import SIGNATURE_HEADER, sign

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "SIGNATURE_HEADER", "TribeState", "create_app",
           "seed", "sign"]
