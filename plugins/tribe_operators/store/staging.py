"""The staging table: records between extract, map, dedupe and load, keyed by run and source id.

XCom carries counts; payloads live here. Steps read and write in chunks so memory stays flat.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.schema import staging
from tribe_operators.store.upsert import upsert

__all__ = ["Staging"]


class Staging:
    """Staged rows of one run of one stream.

    Args:
        engine: The link database.
        run_id: Airflow run id (retries of a task see the same rows).
        integration: e.g. ``poweroffice``.
        stream: e.g. ``customers``.
    """

    def __init__(self, engine: sa.Engine, run_id: str, integration: str, stream: str) -> None:
        self.engine = engine
        self.key = {"run_id": run_id, "integration": integration, "stream": stream}

    def _where(self) -> sa.ColumnElement[bool]:
        return sa.and_(*(staging.c[k] == v for k, v in self.key.items()))

    def clear(self) -> None:
        """Forget this run's rows (a re-run of extract starts clean)."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(staging).where(self._where()))

    def put_extracted(self, records: Iterable[tuple[str, datetime | None, dict[str, Any]]]) -> int:
        """Stage ``(source_id, modified_at, payload)`` rows; a repeated id overwrites."""
        now = datetime.now(UTC)
        rows = [{**self.key, "source_id": str(sid), "source_modified_at": mod, "payload": payload,
                 "status": "extracted", "mapped": None, "match_keys": None, "decision": None,
                 "target_id": None, "error": None, "created_at": now} for sid, mod, payload in records]
        with self.engine.begin() as conn:
            upsert(conn, staging, rows, conflict=list(self.key) + ["source_id"],
                   update=["source_modified_at", "payload", "status", "mapped", "match_keys", "decision",
                           "target_id", "error"])
        return len(rows)

    def iter_rows(self, status: str | Iterable[str], chunk: int = 1000) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of rows in ``status``, ordered by source id, ``chunk`` at a time."""
        statuses = [status] if isinstance(status, str) else list(status)
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = [r._asdict() for r in conn.execute(
                    sa.select(staging).where(self._where(), staging.c.status.in_(statuses),
                                             staging.c.source_id > last)
                    .order_by(staging.c.source_id).limit(chunk))]
            if not rows:
                return
            yield rows
            last = rows[-1]["source_id"]

    def update_rows(self, updates: list[dict[str, Any]]) -> None:
        """Apply per-row changes; each dict has ``source_id`` plus the columns to set."""
        if not updates:
            return
        by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in updates:
            by_cols.setdefault(tuple(sorted(k for k in row if k != "source_id")), []).append(row)
        with self.engine.begin() as conn:
            for cols, rows in by_cols.items():
                stmt = (sa.update(staging).where(self._where(), staging.c.source_id == sa.bindparam("b_source_id"))
                        .values({c: sa.bindparam(f"b_{c}") for c in cols}))
                conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in rows])

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(staging.c.status, sa.func.count()).where(self._where())
                                .group_by(staging.c.status))
            return {status: n for status, n in rows}

    def max_modified(self) -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(staging.c.source_modified_at)).where(self._where())).scalar()
