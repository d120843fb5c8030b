"""A window of instants as a filter on a field kept in Amsterdam wall time (Exact's ``Modified``):
across the autumn change (25 Oct 2026, 02:00–03:00 lived twice) it covers every wall time an
instant of the window can carry, so consecutive windows lose no record; across the spring
change (29 Mar 2026, 02:00–03:00 never happens) the plain bounds hold and nothing breaks."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tribe_operators.systems.exact.odata import window_filter
from tribe_operators.timeutil import WALL_ZONE, odata_datetime_literal, parse_ms_date, wall_bounds

AMS = ZoneInfo(WALL_ZONE)
AUTUMN = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 03:00 CEST → 02:00 CET
SPRING = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET → 03:00 CEST


def utc(day: datetime, hours: float) -> datetime:
    return day.replace(hour=0) + timedelta(hours=hours)


def wall(moment: datetime) -> datetime:
    return moment.astimezone(AMS).replace(tzinfo=None, fold=0)


def read_by(since: datetime, until: datetime, stamped: datetime) -> bool:
    """Would the filter of the window ``(since, until]`` return a record stamped ``stamped`` (wall)?"""
    lowest, included, highest = wall_bounds(since, until)
    above = lowest is None or (stamped >= lowest if included else stamped > lowest)
    return above and (highest is None or stamped <= highest)


def test_the_hour_that_becomes_empty_bound_by_bound_covers_the_repeated_hour():
    since, until = utc(AUTUMN, 0), utc(AUTUMN, 1)  # 02:00 CEST … 02:00 CET: "02:00 to 02:00"
    assert odata_datetime_literal(since) == odata_datetime_literal(until) == "datetime'2026-10-25T02:00:00'"
    assert window_filter("Modified", since, until, zone=WALL_ZONE) == (
        "Modified ge datetime'2026-10-25T02:00:00' and Modified le datetime'2026-10-25T03:00:00'")
    # half an hour either side of the change: both halves of the repeated hour
    assert wall_bounds(utc(AUTUMN, 0.5), utc(AUTUMN, 1.5)) == (
        datetime(2026, 10, 25, 2, 0), True, datetime(2026, 10, 25, 3, 0))
    # a window that only starts or only ends there widens on that side alone
    assert wall_bounds(None, utc(AUTUMN, 1.25))[2] == datetime(2026, 10, 25, 3, 0)
    assert wall_bounds(utc(AUTUMN, 0.75), None)[:2] == (datetime(2026, 10, 25, 2, 0), True)


@pytest.mark.parametrize("since,until,expected", [
    # away from a change: the plain wall times, lower bound excluded (summer +2, winter +1)
    (datetime(2026, 7, 1, 10, tzinfo=UTC), datetime(2026, 7, 1, 11, tzinfo=UTC),
     "Modified gt datetime'2026-07-01T12:00:00' and Modified le datetime'2026-07-01T13:00:00'"),
    (datetime(2026, 12, 1, 10, tzinfo=UTC), None, "Modified gt datetime'2026-12-01T11:00:00'"),
    (None, None, "Modified ge datetime'1900-01-01'"),
    # wholly inside the second pass of the repeated hour: plain bounds again
    (utc(AUTUMN, 1.25), utc(AUTUMN, 1.5),
     "Modified gt datetime'2026-10-25T02:15:00' and Modified le datetime'2026-10-25T02:30:00'"),
    # spring: 01:30 CET to 03:30 CEST, the hour that does not exist in between
    (utc(SPRING, 0.5), utc(SPRING, 1.5),
     "Modified gt datetime'2026-03-29T01:30:00' and Modified le datetime'2026-03-29T03:30:00'"),
])
def test_the_literal_bounds(since, until, expected):
    assert window_filter("Modified", since, until, zone=WALL_ZONE) == expected


@pytest.mark.parametrize("change", [AUTUMN, SPRING], ids=["autumn", "spring"])
@pytest.mark.parametrize("step_minutes", [10, 25, 60])
def test_consecutive_windows_lose_nothing_across_a_change(change, step_minutes):
    """Records created every minute from 22:00 to 04:00 UTC, stamped with their wall time; windows
    of ``step_minutes`` read one after another, each at its end: every record is in the filter of
    the window it was created in (it exists when that window is read)."""
    start = change - timedelta(hours=3)
    windows = [(start + timedelta(minutes=step_minutes * i), start + timedelta(minutes=step_minutes * (i + 1)))
               for i in range(6 * 60 // step_minutes)]
    for since, until in windows:
        created = since + timedelta(minutes=1)
        while created <= until:
            assert read_by(since, until, wall(created)), (since, until, created, wall_bounds(since, until))
            created += timedelta(minutes=1)


def test_bound_by_bound_the_second_pass_of_the_hour_would_be_lost():
    """What the widening is for: (00:30, 01:30] UTC converted bound by bound is 02:30–02:30, so a
    record made at 01:15 UTC (02:15 in the second pass) falls in no window: the one before ended
    before it was made, the one after starts at 02:30 wall."""
    made = utc(AUTUMN, 1.25)
    assert wall(utc(AUTUMN, 0.5)) == wall(utc(AUTUMN, 1.5))
    assert read_by(utc(AUTUMN, 0.5), utc(AUTUMN, 1.5), wall(made))
    assert not read_by(utc(AUTUMN, 1.5), utc(AUTUMN, 2.5), wall(made))


def test_a_stamp_in_the_repeated_or_missing_hour_parses():
    """Exact's ``/Date(ms)/`` of 02:30 on both change days: the repeated one reads as its first
    (summer) pass, the missing one as if winter time still held (01:30 UTC, 03:30 in summer time) —
    neither raises."""
    def ms(naive: datetime) -> str:
        return f"/Date({int(naive.replace(tzinfo=UTC).timestamp() * 1000)})/"

    assert parse_ms_date(ms(datetime(2026, 10, 25, 2, 30))) == utc(AUTUMN, 0.5)
    assert parse_ms_date(ms(datetime(2026, 3, 29, 2, 30))) == utc(SPRING, 1.5)
