"""Timestamps as the vendors write them, parsed to aware UTC datetimes."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["WALL_ZONE", "odata_datetime_literal", "odata_timestamp", "parse_ms_date", "parse_timestamp",
           "iso_timestamp"]

_FRACTION = re.compile(r"\.(\d+)")
_MS_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/$")  # also as escaped in raw JSON: \/Date(…)\/
_EPOCH = datetime(1970, 1, 1)
WALL_ZONE = "Europe/Amsterdam"  # Exact Online's NL/BE/FR instances: a connection field may say otherwise


def parse_timestamp(value: str | datetime | None) -> datetime | None:
    """ISO-8601 with any number of fraction digits (PowerOffice sends 7) → aware UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        # A plain datetime, whatever subclass came in: pendulum's DateTime (Airflow's data
        # interval) can lose its zone in replace()/min(), and then compares as naive.
        dt = datetime.fromisoformat(value.isoformat())
    else:
        text = value.strip().replace(" ", "T", 1).replace("Z", "+00:00")
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
        dt = datetime.fromisoformat(text)
    try:
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 is before the first UTC moment Python has
        raise ValueError(f"{value!s} lies outside the dates that can be expressed in UTC") from exc


def iso_timestamp(dt: datetime) -> str:
    """ISO-8601 with its offset (UTC): a REST filter value (PowerOffice's changed-since parameters)."""
    return dt.astimezone(UTC).isoformat()


def odata_timestamp(dt: datetime) -> str:
    """OData literal (unquoted) for Tribe's ``$filter``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ms_date(value: str | None, *, zone: str = WALL_ZONE) -> datetime | None:
    """``/Date(ms)/`` (OData v2 verbose JSON, .NET) → aware UTC.

    Without an offset, ``ms`` is a wall time of ``zone`` written as if it were UTC (Exact
    Online: ``/Date(1700000000000)/`` is 2023-11-14 22:13:20 *Amsterdam*, 21:13:20 UTC). With
    one (``/Date(ms+0100)/``), ``ms`` is the true UTC instant and the offset only names the
    zone it was written in, as the .NET serializer means it. A wall time of the autumn hour
    that happens twice is read as its first (summer) occurrence: readers overlap their windows
    across the change.
    """
    if value is None or value == "":
        return None
    found = _MS_DATE.match(value.strip())
    if found is None:
        raise ValueError(f"{value!r} is not a /Date(milliseconds)/ value")
    ms, offset = int(found.group(1)), found.group(2)
    try:
        if offset:
            return datetime.fromtimestamp(0, UTC) + timedelta(milliseconds=ms)
        return (_EPOCH + timedelta(milliseconds=ms)).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{value} lies outside the dates that can be expressed in UTC") from exc


def odata_datetime_literal(dt: datetime, *, zone: str = WALL_ZONE) -> str:
    """OData v2 ``datetime'…'`` filter literal: the wall time of ``zone``, no offset (what
    Exact Online compares its dates with). A naive ``dt`` is taken as UTC."""
    wall = (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))
    text = wall.strftime("%Y-%m-%dT%H:%M:%S")
    if wall.microsecond:
        text += f".{wall.microsecond // 1000:03d}"
    return f"datetime'{text}'"
