"""Records that end on a date: read again once that day is over, though nothing in the source changed.

A record given an end date weeks ahead (an item that leaves the assortment) is read once while
still active; when the day passes, the source changes nothing — no new cursor, no webhook — so
a stream that reads changes would keep it active for good. A stream whose mapping declares
``source.ends_field`` therefore also asks its source (``protocols.EndingSource``), at most once a
day per scope, for the records whose date passed since it last looked, and stages them like
any changed record: the mapping (``date_passed``) marks them ended, dedupe and load write that.

Days are the source's own (its dates are wall times of ``wall_zone``) and a whole day ends when
the next begins, so the look on day D asks for dates before D. How far it has looked is a
watermark under ``<stream>@ended``, committed by the load (``commit``: what was staged is
written first) and never by a dry run, which only counts. A stream that was never loaded reads
every record anyway: its first look costs no call.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from tribe_operators.protocols import EndingSource

__all__ = ["commit", "day_start", "mark_entity", "read_ended"]

log = logging.getLogger(__name__)


def mark_entity(stream: str) -> str:
    """The watermark entity of a stream's look at end dates (beside its own cursor)."""
    return f"{stream}@ended"


def day_start(moment: datetime, zone: str) -> datetime:
    """The start of ``moment``'s day in ``zone`` (00:00 wall time), in UTC."""
    tz = ZoneInfo(zone)
    return datetime.combine(moment.astimezone(tz).date(), time(), tz).astimezone(UTC)


def read_ended(ctx: Any, source: Any, spec: Any, where: list[Any], staging: Any, counts: dict[str, Any]) -> None:
    """Stage the records of ``spec`` whose end date passed since the last look (not those this run
    staged already); ``counts`` gets ``ended`` (how many, when it asked) and ``ended_until`` (epoch
    seconds of the day start the load may commit). Nothing when the stream declares no
    ``ends_field``, its source cannot be asked, or it looked today already (no call)."""
    if not spec.source.ends_field or not isinstance(source, EndingSource):
        return
    today = day_start(datetime.now(UTC), source.wall_zone)
    looked = ctx.watermarks.get(mark_entity(spec.stream), spec.direction)
    if looked is not None and looked >= today:
        return
    if looked is not None or _loaded_before(ctx, spec):  # else this run reads every record already
        counts["ended"] = 0
        for rows in source.ended_between(spec, looked, today, where=where):
            done = staging.staged([row[0] for row in rows]) if rows else set()
            staged = staging.put_extracted([row for row in rows if row[0] not in done])
            counts["ended"] += staged
            counts["extracted"] = counts.get("extracted", 0) + staged
        log.info("%s/%s: %d record(s) whose %s passed since %s%s", ctx.integration, spec.stream, counts["ended"],
                 spec.source.ends_field, looked or "ever", " (dry run: counted only)" if ctx.dry_run else "")
    counts["ended_until"] = int(today.timestamp())


def commit(ctx: Any, extract_counts: dict[str, Any]) -> None:
    """After a load (never a dry run's): the look at end dates is done up to ``ended_until``."""
    if (until := extract_counts.get("ended_until")) is not None:
        ctx.watermarks.advance(mark_entity(ctx.spec.stream), ctx.spec.direction,
                               datetime.fromtimestamp(int(until), UTC), ctx.run_id)


def _loaded_before(ctx: Any, spec: Any) -> bool:
    return (ctx.cursors.get(spec.stream, spec.direction) is not None
            or ctx.watermarks.get(spec.stream, spec.direction) is not None)
