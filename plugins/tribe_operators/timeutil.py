"""Timestamps as the vendors write them, parsed to aware UTC datetimes."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["WALL_ZONE", "odata_datetime_literal", "odata_timestamp", "odata_wall_literal", "parse_ms_date",
           "parse_timestamp", "iso_timestamp", "wall_bounds"]

_FRACTION = re.compile(r"\.(\d+)")
_MS_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/$")  # also as escaped in raw JSON: \/Date(…)\/
_EPOCH = datetime(1970, 1, 1)
_TICK = timedelta(microseconds=1)
_NEAR_CHANGE = 3 * 3600  # seconds: longer than any clock change, shorter than the months between two
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
    return odata_wall_literal(_wall(dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC), ZoneInfo(zone)))


def odata_wall_literal(wall: datetime) -> str:
    """``datetime'…'`` of a naive wall time as it stands (milliseconds when there are any)."""
    text = wall.strftime("%Y-%m-%dT%H:%M:%S")
    if wall.microsecond:
        text += f".{wall.microsecond // 1000:03d}"
    return f"datetime'{text}'"


def wall_bounds(since: datetime | None, until: datetime | None, *,
                zone: str = WALL_ZONE) -> tuple[datetime | None, bool, datetime | None]:
    """``(lowest, lowest_included, highest)``: the naive wall times of ``zone`` that an instant of
    ``(since, until]`` can carry, for a filter on a field kept in wall time. Read ``wall gt
    lowest`` (``ge`` when ``lowest_included``) and ``wall le highest``; None: no bound.

    Bound by bound is not enough in autumn: the hour before the change is lived twice (02:00–03:00
    in Amsterdam), so the window 00:00–01:00 UTC would become 02:00–02:00 wall and read nothing,
    and a record stamped 02:15 in the second pass would never be read. When the clock goes back
    within the window, the lowest bound drops to the start of the repeated hour and the highest
    rises to its end. In spring the clock jumps forward: wall time only skips, the plain bounds
    hold."""
    tz = ZoneInfo(zone)
    since, until = (parse_timestamp(v) for v in (since, until))
    lowest = _wall(since, tz) if since is not None else None
    highest = _wall(until, tz) if until is not None else None
    included = False
    if since is not None:
        end = since.timestamp() + _NEAR_CHANGE
        back = _clock_change(since.timestamp(), min(end, until.timestamp()) if until is not None else end, tz)
        if back is not None and lowest is not None and _wall(back, tz) <= lowest:
            lowest, included = _wall(back, tz), True  # the first moment of the second pass
    if until is not None:
        start = until.timestamp() - _NEAR_CHANGE
        back = _clock_change(max(start, since.timestamp()) if since is not None else start, until.timestamp(), tz)
        if back is not None and highest is not None:
            # the last wall time before the change (the end of the first pass): 03:00
            highest = max(highest, _wall(back - _TICK, tz) + _TICK)
    return lowest, included, highest


def _wall(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None, fold=0)  # naive: compared and written as it stands


def _clock_change(start: float, end: float, tz: ZoneInfo) -> datetime | None:
    """The first whole second of ``(start, end]`` (epoch seconds) after which ``tz``'s clock is
    set back (its UTC offset smaller than at ``start``), or None. One change at most lies between
    two instants ``_NEAR_CHANGE`` apart; halving finds it to the second."""
    def offset(second: int) -> timedelta:
        return datetime.fromtimestamp(second, UTC).astimezone(tz).utcoffset() or timedelta()

    lo, hi = int(start // 1), -int(-end // 1)  # floor, ceil
    if hi <= lo or offset(hi) >= offset(lo):
        return None
    first = offset(lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if offset(mid) == first else (lo, mid)
    return datetime.fromtimestamp(hi, UTC)
