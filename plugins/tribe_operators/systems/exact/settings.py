"""Exact Online's settings keys, on top of the core's (``settings.yaml``, the settings Variable).

Scopes are divisions: each scope's ``key`` is the division number (``/api/v1/{division}``), and
each keeps its own links, staging, watermarks, cursors and counts.
"""
from __future__ import annotations

from tribe_operators.mapping.settings import CoreSettings

__all__ = ["ExactSettings"]


class ExactSettings(CoreSettings):
    pass
