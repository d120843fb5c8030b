"""The normal form of a match key: how two typed values are compared when records are matched.

Both sides go through it — the value mapped from the source and the value the target holds —
so ``" 11013"`` typed in Tribe is the PowerOffice customer ``11013``:

* Unicode NFKC (full-width digits, composed accents), invisible format characters (zero-width
  space, BOM, soft hyphen…) dropped, whitespace trimmed and collapsed, case folded:
  ``" Acme  AS"`` and ``"ACME AS"`` are one key.
* A key made only of digits is a number and its leading zeros do not count (``"011013"`` is
  ``11013``): the accounting systems keep these numbers as integers (PowerOffice's ``Number``)
  or as digits padded to a width (Exact Online's account ``Code``), and people type them by
  hand. Anything with a letter keeps every character: ``"K0012"`` is not ``"K12"``.
* What is empty after that is no key at all: it never matches.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

__all__ = ["key_tuple", "normal_key"]


def normal_key(value: Any) -> str | None:
    """The normal form of one key value, or None when there is nothing to match on."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    text = " ".join("".join(ch for ch in text if unicodedata.category(ch) != "Cf").split()).casefold()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return text.lstrip("0") or "0"
    return text


def key_tuple(values: Sequence[Any]) -> tuple[str, ...] | None:
    """The normal form of a (composite) key; None when any part is empty."""
    parts = tuple(normal_key(v) for v in values)
    return None if any(p is None for p in parts) else parts  # type: ignore[return-value]
