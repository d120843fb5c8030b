"""Timestamps as the vendors write them, parsed to aware UTC datetimes."""
from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["odata_timestamp", "parse_timestamp", "iso_timestamp"]

_FRACTION = re.compile(r"\.(\d+)")


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
