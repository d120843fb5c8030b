"""``X-Tribe-Signature``: Base64 of the HMAC-SHA512 digest of the raw body (Tribe's docs).

Tribe's recipe is "HMAC-SHA512 → hex string → hex-to-Base64", i.e. the hex is decoded back to
the 64 digest bytes before Base64 (a text-to-Base64 of the hex characters would be a different,
longer value). ``sandbox/tribe/webhooks.py`` (the simulator's sender) does the same.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Tribe-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature Tribe puts on ``body`` with ``secret``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode("ascii")


def verify(secrets: Iterable[str], body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is ``body`` signed with one of ``secrets``.

    Several secrets, because Tribe gives every webhook (one per entity type) its own secret,
    and because a rotated secret must keep working until Tribe has switched over.
    Every candidate is compared with ``hmac.compare_digest`` (constant time), and all of them
    are tried, so the time taken does not tell which secret almost matched.
    """
    if not signature:
        return False
    # Header values are latin-1 text; anything else cannot be ours (and would make
    # compare_digest raise on non-ASCII str).
    given = signature.strip().encode("latin-1", errors="replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(sign(secret, body).encode("ascii"), given)
    return matched
