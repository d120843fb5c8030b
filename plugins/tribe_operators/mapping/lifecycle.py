"""A record's active period: has its end date passed, and is it then this stream's at all?

Accounting systems mark an account or item inactive by an end date rather than a flag (Exact
Online: "if current date > EndDate the account is inactive"; an item's "StartDate/EndDate
together determine if the item is active"). The date may come as .NET's ``/Date(ms)/`` (a wall
time of ``zone``), ISO text or a datetime. A date without a time of day is a whole day: it passes
when that day is over, as "current date > EndDate" says.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tribe_operators.exceptions import OutOfScope, RecordError
from tribe_operators.timeutil import WALL_ZONE, parse_ms_date

if TYPE_CHECKING:
    from collections.abc import Callable

    from tribe_operators.mapping.transforms import MapContext

__all__ = ["LIFECYCLE_TRANSFORMS", "date_passed", "out_of_scope_if", "passed"]


def _moment(value: Any, zone: str) -> datetime | None:
    """The instant ``value`` ends: an aware datetime; a whole day (a ``date``, ISO ``2026-01-31``,
    or a datetime at midnight wall time) ends at the start of the next day in ``zone``."""
    tz = ZoneInfo(zone)
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=tz)
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), tz)
    elif isinstance(value, str) and value.strip().startswith("/Date("):
        moment = parse_ms_date(value, zone=zone)
    elif isinstance(value, str):
        text = value.strip()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)
    else:
        raise TypeError(type(value).__name__)
    if moment is None:
        return None
    wall = moment.astimezone(tz)
    if wall.time() == time():  # a whole day: over when the next one starts
        wall = datetime.combine(wall.date() + timedelta(days=1), time(), tz)
    return wall.astimezone(UTC)


def passed(value: Any, *, zone: str = WALL_ZONE, now: datetime | None = None) -> bool:
    """Whether the date ``value`` lies before ``now`` (an empty date never passes).

    Raises:
        ValueError: ``value`` is not a date.
    """
    if value in (None, ""):
        return False
    try:
        moment = _moment(value, zone)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a date") from exc
    return moment is not None and moment <= (now or datetime.now(UTC))


def date_passed(value: Any, ctx: MapContext, record: dict[str, Any], *, zone: str = WALL_ZONE) -> bool:
    """True when the date has passed, False when it has not or is empty: an item's ``EndDate`` →
    Tribe's ``IsInactive`` (an end date cleared again makes it active again)."""
    try:
        return passed(value, zone=zone)
    except ValueError as exc:
        raise RecordError(None, str(exc)) from exc


def out_of_scope_if(value: Any, ctx: MapContext, record: dict[str, Any], *, reason: str) -> Any:
    """A true value puts the record out of this stream's scope: counted and left alone, never
    quarantined and never written (an ended account: "inactive relations are not imported").
    Otherwise the value passes on unchanged (a ``check_only`` field writes nothing)."""
    if value is True:
        raise OutOfScope(reason)
    return value


LIFECYCLE_TRANSFORMS: dict[str, Callable[..., Any]] = {
    "date_passed": date_passed,
    "out_of_scope_if": out_of_scope_if,
}
