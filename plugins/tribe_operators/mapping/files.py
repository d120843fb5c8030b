"""Where the mapping files live: ``include/mappings`` (``TRIBE_SYNC_MAPPINGS`` for tests).

Its own module so that what reads a data file there (settings, name particles and suffixes)
need not import the stream schema, which validates transform names and so imports them.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["mappings_root", "stream_names"]


def mappings_root() -> Path:
    """``include/mappings`` (override with ``TRIBE_SYNC_MAPPINGS`` for tests)."""
    env = os.environ.get("TRIBE_SYNC_MAPPINGS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "include" / "mappings"


def stream_names(integration: str) -> list[str]:
    """The streams an integration has a mapping for (every file in its folder but the
    settings), sorted."""
    return sorted(p.stem for p in (mappings_root() / integration).glob("*.yaml") if p.stem != "settings")
