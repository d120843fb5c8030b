"""Values on the wire: ``/Date(ms)/``, padded codes, GUIDs, base64 binaries.

Inside the simulator every DateTime is a *naive wall time* of the division's zone (Amsterdam),
which is what Exact stores: ``/Date(ms)/`` is that wall time read as if it were UTC (AB's tests,
NANGO's recording: created 14:31 UTC in June -> 16:31 "UTC"). ``datetime'…'`` filter literals are
the same wall time, so they compare directly.
"""
from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.exact.errors import ATTACHMENT_NOT_BASE64, ExactError

__all__ = ["from_json", "pad_code", "to_json", "wall_time"]

_EPOCH = datetime(1970, 1, 1)
_DATE_RE = re.compile(r"^/Date\((-?\d+)\)/$")


def wall_time(moment: datetime, zone: str = "Europe/Amsterdam") -> datetime:
    """An aware moment as the naive wall time Exact keeps."""
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def pad_code(code: str | int | None, width: int = 18) -> str | None:
    """Account codes are 18 characters, right-aligned with spaces (``'%18s'``)."""
    return None if code is None else str(code).strip().rjust(width)


def to_json(value: Any, typ: str) -> Any:
    if value is None:
        return None
    if typ == "d":
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        return f"/Date({int((value - _EPOCH) / timedelta(milliseconds=1))})/"
    if typ == "x":
        return None  # binaries come back null (Attachment: fetch it from Url)
    return value


def _bad(name: str, typ: str, raw: Any) -> ExactError:
    if typ == "x":
        return ExactError(400, ATTACHMENT_NOT_BASE64.replace("'Attachment'", f"'{name}'"))
    edm = {"g": "Guid", "i": "Int32", "l": "Int64", "f": "Double", "b": "Boolean", "y": "Byte", "d": "DateTime"}[typ]
    return ExactError(400, "Error processing request stream. Error encountered in converting the value from request "
                           f"payload for property '{name}' to type '{edm}', which is the property's type.")


def parse_datetime(raw: str, zone: str = "Europe/Amsterdam") -> datetime:
    """ISO text or ``/Date(ms)/`` as a naive wall time; an offset/Z is converted to ``zone`` [INFER]."""
    match = _DATE_RE.match(raw.strip())
    if match:
        return _EPOCH + timedelta(milliseconds=int(match.group(1)))
    text = raw.strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        return wall_time(moment.astimezone(UTC), zone)
    return moment


def from_json(name: str, typ: str, raw: Any, zone: str = "Europe/Amsterdam") -> Any:
    """A request-body value as the stored Python value (400 in Exact's words when it does not convert)."""
    if raw is None:
        return None
    try:
        if typ == "g":
            return str(uuid.UUID(str(raw)))
        if typ in {"i", "l", "y"}:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError(raw)
            return int(raw)
        if typ == "f":
            if isinstance(raw, bool):
                raise ValueError(raw)
            return float(raw)
        if typ == "b":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in {"true", "false"}:
                return raw.lower() == "true"
            raise ValueError(raw)
        if typ == "d":
            return parse_datetime(str(raw), zone)
        if typ == "x":
            if not isinstance(raw, str):
                raise ValueError(raw)
            return base64.b64decode(raw, validate=True)
        if typ == "s":
            return raw if isinstance(raw, str) else str(raw)
    except (ValueError, TypeError, binascii.Error):
        raise _bad(name, typ, raw) from None
    raise ExactError(400, f"The property '{name}' cannot be written.")
