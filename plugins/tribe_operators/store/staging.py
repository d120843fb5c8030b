"""The staging table: records between extract, map, dedupe and load, keyed by run and source id.

XCom carries counts; payloads live here. Steps read and write in chunks so memory stays flat.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tribe_operators.store.schema import staging
from tribe_operators.store.upsert import upsert

__all__ = ["Staging", "one_reader", "run_matches"]

_UPDATE_BATCH = 1000  # rows per UPDATE … FROM unnest(…) statement


def _as_arrays(dialect: sa.Dialect, cols: tuple[str, ...], rows: list[dict[str, Any]]) -> dict[str, list[Any]] | None:
    """One text array per column (JSON serialised exactly as the column type binds it), or None
    when a value would not travel as text unchanged (then the rows are updated one by one)."""
    arrays: dict[str, list[Any]] = {"u_source_id": [str(r["source_id"]) for r in rows]}
    for name in cols:
        kind = staging.c[name].type
        values = [r.get(name) for r in rows]
        if isinstance(kind, sa.String):
            if not all(v is None or isinstance(v, str) for v in values):
                return None
        elif isinstance(kind, sa.JSON):
            process = kind.dialect_impl(dialect).bind_processor(dialect)
            values = [process(v) for v in values] if process else values
        else:
            return None
        arrays[f"u_{name}"] = values
    return arrays


def _array_update(where: sa.ColumnElement[bool], cols: tuple[str, ...]) -> sa.Update:
    """``UPDATE staging … FROM unnest(:ids, :col1, …)``: many rows in one statement, joined on the
    primary key. Row by row, every UPDATE was a round trip of its own, planned without
    statistics for the run (its run id is new), and could be planned over ``ix_staging_status``,
    scanning the whole run for every row. The rows are also bounded by the smallest and largest
    id of the batch (computed by the database, in its collation): a range on the primary key that
    stays an index condition whatever the planner believes; a chunk read in id order spans just
    itself. The statement text is the same for every batch (compiled once)."""
    names = ("source_id", *cols)
    arrays = [sa.cast(sa.bindparam(f"u_{n}", type_=postgresql.ARRAY(sa.Text)), postgresql.ARRAY(sa.Text))
              for n in names]
    new = sa.func.unnest(*arrays).table_valued(*names).render_derived()
    ids = sa.func.unnest(arrays[0]).table_valued("id").render_derived()
    low, high = (sa.select(fn(ids.c.id)).scalar_subquery() for fn in (sa.func.min, sa.func.max))
    return (sa.update(staging)
            .where(where, staging.c.source_id.between(low, high), staging.c.source_id == new.c.source_id)
            .values({c: new.c[c] if isinstance(staging.c[c].type, sa.String) else sa.cast(new.c[c], staging.c[c].type)
                     for c in cols}))


class Staging:
    """Staged rows of one run of one stream.

    Args:
        engine: The link database.
        run_id: Airflow run id (retries of a task see the same rows).
        integration: The integration (its mapping folder).
        stream: e.g. ``customers``.
        scope: The legal entity / division the rows belong to: one run may stage one stream
            for several scopes without their rows colliding.
    """

    def __init__(self, engine: sa.Engine, run_id: str, integration: str, stream: str, scope: str = "default") -> None:
        self.engine = engine
        self.key = {"run_id": run_id, "integration": integration, "scope": scope, "stream": stream}

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

    def iter_rows(self, status: str | Iterable[str], chunk: int = 1000,
                  columns: Iterable[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of rows in ``status``, ordered by source id, ``chunk`` at a time
        (only ``columns`` of them, when given: the payloads are the bulk of a row)."""
        statuses = [status] if isinstance(status, str) else list(status)
        selected = [staging.c[name] for name in dict.fromkeys(["source_id", *columns])] if columns else [staging]
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = [r._asdict() for r in conn.execute(
                    sa.select(*selected).where(self._where(), staging.c.status.in_(statuses),
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
        by_cols: dict[tuple[str, ...], dict[str, dict[str, Any]]] = {}
        for row in updates:  # a repeated source id: the last change wins, as when applied in order
            by_cols.setdefault(tuple(sorted(k for k in row if k != "source_id")), {})[str(row["source_id"])] = row
        with self.engine.begin() as conn:
            for cols, keyed in by_cols.items():
                rows = list(keyed.values())
                for start in range(0, len(rows), _UPDATE_BATCH):
                    batch = rows[start:start + _UPDATE_BATCH]
                    arrays = (_as_arrays(conn.dialect, cols, batch)
                              if conn.dialect.name == "postgresql" and len(batch) > 1 else None)
                    if arrays is not None:
                        conn.execute(_array_update(self._where(), cols), arrays)
                        continue
                    stmt = (sa.update(staging)
                            .where(self._where(), staging.c.source_id == sa.bindparam("b_source_id"))
                            .values({c: sa.bindparam(f"b_{c}") for c in cols}))
                    conn.execute(stmt, [{f"b_{k}": v for k, v in r.items()} for r in batch])

    def staged(self, source_ids: Iterable[str]) -> set[str]:
        """Which of ``source_ids`` this run has staged for the stream (in any status)."""
        ids = list(dict.fromkeys(map(str, source_ids)))
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _UPDATE_BATCH):
                found.update(conn.execute(sa.select(staging.c.source_id).where(
                    self._where(), staging.c.source_id.in_(ids[start:start + _UPDATE_BATCH]))).scalars())
        return found

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(staging.c.status, sa.func.count()).where(self._where())
                                .group_by(staging.c.status))
            return {status: n for status, n in rows}

    def max_modified(self) -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(staging.c.source_modified_at)).where(self._where())).scalar()


@contextmanager
def one_reader(engine: sa.Engine, *key: str) -> Iterator[None]:
    """Hold a lock named by ``key`` while staging rows for several streams (the roles of a party
    that read one resource): a second reader of the same run and resource waits, then finds its
    rows staged. A PostgreSQL session lock, taken outside any transaction so that the connection
    is not left idle in one during a long read, and released with the session if a worker dies.
    Other databases run one task at a time: no lock."""
    if engine.dialect.name != "postgresql":
        yield
        return
    name = "staging:" + ":".join(key)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(hashtext(:name))"), {"name": name})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtext(:name))"), {"name": name})
            conn.commit()


def run_matches(engine: sa.Engine, run_id: str, keys: dict[tuple[str, str], set[str]],
                listed: int = 50) -> tuple[dict[tuple[str, str], int], list[dict[str, Any]]]:
    """The records a run wrote or linked through a match by one of ``keys`` (``{(integration,
    stream): {"match:DebtorNumber", …}}``): the count per (stream, key) and the first ``listed``
    of them (stream, source id, key, target id), counted in SQL (an initial import matches many)."""
    loaded = [staging.c.run_id == run_id, staging.c.status == "loaded", staging.c.decision.in_(("update", "link")),
              staging.c.match_keys.is_not(None)]
    key = sa.cast(staging.c.match_keys, sa.Text)  # a JSON string: '"match:DebtorNumber"'
    counts: dict[tuple[str, str], int] = {}
    rows: list[dict[str, Any]] = []
    with engine.connect() as conn:
        for (integration, stream), labels in keys.items():
            where = [*loaded, staging.c.integration == integration, staging.c.stream == stream,
                     sa.or_(*(key == f'"{label}"' for label in labels))]
            for label, n in conn.execute(sa.select(key, sa.func.count()).where(*where).group_by(key)):
                counts[(stream, str(label).strip('"'))] = int(n)
            if len(rows) < listed:
                rows += [r._asdict() for r in conn.execute(
                    sa.select(staging.c.stream, staging.c.source_id, staging.c.match_keys, staging.c.target_id)
                    .where(*where).order_by(staging.c.source_id).limit(listed - len(rows)))]
    return counts, rows
