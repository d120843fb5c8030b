"""Dialect upserts: ``INSERT … ON CONFLICT`` on Postgres (and on SQLite for the demo)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["upsert"]


def upsert(conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], *,
           conflict: Sequence[str], update: Sequence[str] | None = None) -> int:
    """Insert ``rows``; on a clash of the ``conflict`` columns update ``update`` (or do nothing).

    Args:
        conn: An open connection (the caller owns the transaction).
        table: Target table.
        rows: Homogeneous dicts (same keys).
        conflict: Columns of the unique constraint that decides "same row".
        update: Columns overwritten from the new row; None or empty means DO NOTHING.

    Returns:
        Rows inserted or updated: exact for one row (with DO NOTHING, 0 means "was there"); on
        PostgreSQL exact for many rows too.
    """
    if not rows:
        return 0
    dialect = conn.dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported stores
        raise NotImplementedError(f"no upsert for dialect {dialect!r}")
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(conflict),
                                          set_={col: stmt.excluded[col] for col in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    # One row executes as a single statement, so its row count is exact on every driver.
    if len(rows) == 1:
        return conn.execute(stmt, dict(rows[0])).rowcount
    if dialect == "postgresql":
        # Many rows: with RETURNING, SQLAlchemy sends them as multi-row INSERTs (its
        # "insertmanyvalues", up to 1000 rows a statement) instead of one statement per row. One
        # statement may touch a row once only, so repeated keys are folded first into what
        # applying the rows one by one leaves: the first row, with the later ones' ``update``.
        merged = _fold_repeats(rows, conflict, update)
        return len(conn.execute(stmt.returning(table.c[conflict[0]]), merged).all())
    return conn.execute(stmt, list(rows)).rowcount


def _fold_repeats(rows: Sequence[dict[str, Any]], conflict: Sequence[str],
                  update: Sequence[str] | None) -> list[dict[str, Any]]:
    folded: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[c] for c in conflict)
        first = folded.get(key)
        if first is None:
            folded[key] = dict(row)
        elif update:
            first.update({c: row[c] for c in update})
    return list(folded.values())
