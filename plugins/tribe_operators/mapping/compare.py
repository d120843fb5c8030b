"""Does a target already hold what we would write? Compared as the APIs answer."""
from __future__ import annotations

from typing import Any

__all__ = ["below_floor", "same_value"]


def same_value(current: Any, wanted: Any) -> bool:
    """``wanted`` (a mapped value, nested dicts allowed) equals what the target holds.

    Only the keys we write count in a nested record; numbers compare by value, so an API
    answering ``12.0`` for our ``12`` is no change."""
    if isinstance(wanted, dict):
        if not isinstance(current, dict):
            return False
        return all(same_value(current.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, int | float) and isinstance(current, int | float) and not isinstance(wanted, bool):
        return float(current) == float(wanted)
    return current == wanted


def below_floor(floors: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The ``at_least`` fields (``{field: floor}``) the target holds less of: absent, empty or lower."""
    def low(have: Any, floor: Any) -> bool:
        return not isinstance(have, int | float) or isinstance(have, bool) or have < floor

    return {k: v for k, v in floors.items() if v is not None and low(current.get(k), v)}
