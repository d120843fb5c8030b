"""``/Date(ms)/`` as OData v2 writes it — a zone's wall time read as UTC unless an offset says
otherwise — and the ``datetime'…'`` filter literal back (that zone's wall time, no offset)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tribe_operators.timeutil import odata_datetime_literal, parse_ms_date


@pytest.mark.parametrize("value,expected", [
    # 1700000000000 ms = 2023-11-14 22:13:20 as a wall time: in Amsterdam (CET, +1) that is 21:13:20 UTC
    ("/Date(1700000000000)/", datetime(2023, 11, 14, 21, 13, 20, tzinfo=UTC)),
    # summer (CEST, +2): 2024-07-01 00:00 wall time is 2024-06-30 22:00 UTC
    ("/Date(1719792000000)/", datetime(2024, 6, 30, 22, 0, tzinfo=UTC)),
    ("\\/Date(1700000000000)\\/", datetime(2023, 11, 14, 21, 13, 20, tzinfo=UTC)),  # as in raw JSON text
    # with an offset the milliseconds are the instant itself (.NET's meaning); the offset names the zone
    ("/Date(1700000000000+0100)/", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("/Date(1700000000000-0500)/", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("/Date(-86400000)/", datetime(1969, 12, 30, 23, 0, tzinfo=UTC)),  # before the epoch: 1969-12-31 00:00 wall
    (None, None),
    ("", None),
])
def test_parse_ms_date(value, expected):
    assert parse_ms_date(value) == expected


def test_the_zone_is_the_callers():
    assert parse_ms_date("/Date(1700000000000)/", zone="UTC") == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_ms_date("/Date(1700000000000)/", zone="Europe/London") == datetime(2023, 11, 14, 22, 13, 20,
                                                                                     tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2023-11-14", "/Date(abc)/", "/Date(1700000000000+01)/"])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValueError):
        parse_ms_date(bad)


def test_the_filter_literal_is_the_wall_time_and_reads_back():
    instant = datetime(2023, 11, 14, 21, 13, 20, 500_000, tzinfo=UTC)
    assert odata_datetime_literal(instant) == "datetime'2023-11-14T22:13:20.500'"
    assert odata_datetime_literal(datetime(2024, 6, 30, 22, 0)) == "datetime'2024-07-01T00:00:00'"  # naive: UTC
    ms = int(datetime(2023, 11, 14, 22, 13, 20, 500_000, tzinfo=UTC).timestamp() * 1000)  # the wall time as ms
    assert parse_ms_date(f"/Date({ms})/") == instant
