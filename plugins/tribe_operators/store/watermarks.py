"""Watermarks: how far each (integration, scope, entity, direction) has been synced.

Advanced only after a load completes, to the end of the window that was read — never to
``now()``, so a backfill or retry replays exactly the same window.
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from tribe_operators.store.schema import watermark
from tribe_operators.store.upsert import upsert

__all__ = ["Cursors", "Watermarks"]


class Watermarks:
    def __init__(self, engine: sa.Engine, integration: str, scope: str = "default") -> None:
        self.engine = engine
        self.integration = integration
        self.scope = scope

    def get(self, entity: str, direction: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(watermark.c.value).where(
                watermark.c.integration == self.integration, watermark.c.scope == self.scope,
                watermark.c.entity == entity, watermark.c.direction == direction)).scalar()
        if value is not None and value.tzinfo is None:  # SQLite drops the zone
            value = value.replace(tzinfo=UTC)
        return value

    def advance(self, entity: str, direction: str, value: datetime, run_id: str,
                since: datetime | None = None) -> None:
        """Move forward to ``value``; never backwards (an old backfill must not rewind it), and
        never over a gap: a window that started after the watermark (a manual run's from_date,
        a backfill ahead of it) left the changes in between unread, so the watermark stays."""
        current = self.get(entity, direction)
        if current is not None and current >= value:
            return
        if current is not None and since is not None and _aware(since) > current:
            return
        with self.engine.begin() as conn:
            upsert(conn, watermark, [{"integration": self.integration, "scope": self.scope, "entity": entity,
                                      "direction": direction, "value": value, "run_id": run_id,
                                      "updated_at": datetime.now(UTC)}],
                   conflict=["integration", "scope", "entity", "direction"], update=["value", "run_id", "updated_at"])


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Cursors:
    """A sync endpoint's position per (integration, scope, entity, direction): an Int64 the
    server orders its changes by (Exact's ``Timestamp``), kept beside the time watermark.
    Monotone: a commit never moves it back, so a resumed run reads on from the last page it
    committed and an old retry cannot make the next run read everything again."""

    def __init__(self, engine: sa.Engine, integration: str, scope: str = "default") -> None:
        self.engine = engine
        self.key = {"integration": integration, "scope": scope}

    def get(self, entity: str, direction: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(watermark.c.cursor).where(
                *(watermark.c[k] == v for k, v in {**self.key, "entity": entity, "direction": direction}.items())
            )).scalar()

    def advance(self, entity: str, direction: str, cursor: int, run_id: str) -> None:
        current = self.get(entity, direction)
        if current is not None and current >= cursor:
            return
        with self.engine.begin() as conn:
            upsert(conn, watermark, [{**self.key, "entity": entity, "direction": direction, "cursor": int(cursor),
                                      "run_id": run_id, "updated_at": datetime.now(UTC)}],
                   conflict=["integration", "scope", "entity", "direction"], update=["cursor", "run_id", "updated_at"])
