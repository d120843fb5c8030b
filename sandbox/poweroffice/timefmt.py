"""Timestamp and date formats as PowerOffice Go v2 writes and reads them.

Go (ASP.NET, ``DateTimeOffset``) emits seven fractional digits plus an offset
(``2026-11-22T10:00:00.1234567+00:00``); clients send anything ISO-8601-ish, including the
spec's own example form ``2021-09-25 08:03:00.1234567 -00:00``.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["fmt_date", "fmt_ts", "parse_date", "parse_ts"]

_TS = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"                 # date
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"  # optional time and fraction
    r"\s*(Z|[+\- ]\d{2}:?\d{2})?$",             # optional offset; ' ' is a '+' lost to URL decoding
    re.IGNORECASE,
)


def fmt_ts(value: datetime) -> str:
    """Format a timestamp the way Go does: 7 fractional digits and an explicit offset.

    Args:
        value: An aware datetime (naive values are taken as UTC).

    Returns:
        E.g. ``2026-11-22T10:00:00.1234560+00:00``.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    # Python keeps microseconds; the 7th digit (100 ns) is always 0 here.
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def fmt_date(value: date) -> str:
    """Format a date as ``YYYY-MM-DD``."""
    return value.isoformat()


def parse_ts(text: str) -> datetime:
    """Parse any ISO-8601 timestamp (or bare date) into an aware datetime.

    Fractions beyond microseconds are truncated, which keeps "strictly greater than"
    filters exact: a stored value is greater than the 100 ns input iff it is greater
    than the truncated one.

    Raises:
        ValueError: When the text is not a timestamp.
    """
    match = _TS.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a valid date-time")
    year, month, day, hour, minute, second, frac, off = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    tz = UTC
    if off and off.upper() != "Z":
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                    int(second or 0), micro, tzinfo=tz)


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD`` (a time part, if any, is ignored).

    Raises:
        ValueError: When the text is not a date.
    """
    text = text.strip()
    if len(text) > 10:
        return parse_ts(text).date()
    return date.fromisoformat(text)
