"""Where the mapping files live: ``include/mappings`` (``TRIBE_SYNC_MAPPINGS`` for tests).

Its own module so that what reads a data file there (settings, name particles and suffixes)
need not import the stream schema, which validates transform names and so imports them.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["mappings_root"]


def mappings_root() -> Path:
    """``include/mappings`` (override with ``TRIBE_SYNC_MAPPINGS`` for tests)."""
    env = os.environ.get("TRIBE_SYNC_MAPPINGS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "include" / "mappings"
