"""Every table of the link database works on both dialects it runs on: PostgreSQL (production,
tests) and SQLite (the demo's embedded default). Migrated from nothing, each table takes a row
written through the schema the code uses, with its keys numbered by the database."""
from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tribe_operators.store.engine import migrate
from tribe_operators.store.schema import metadata


def _value(column: sa.Column, n: int):  # type: ignore[no-untyped-def]
    """A value of the column's type, different per row ``n``."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 12, 7, 12, n, tzinfo=dt.UTC)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 12, n)
    if isinstance(kind, sa.Numeric):
        return decimal.Decimal(f"{n}.50")
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.Boolean):
        return bool(n % 2)
    if isinstance(kind, sa.JSON):
        return {"n": n}
    if isinstance(kind, sa.LargeBinary):
        return bytes([n])
    if isinstance(kind, sa.String):
        return f"{column.name[:10]}{n}"[: kind.length or 40]
    raise AssertionError(f"{column.table.name}.{column.name}: no sample value for {kind!r}")


def _row(table: sa.Table, n: int) -> dict:
    """Every column the database does not fill itself (autoincrement keys, server defaults)."""
    return {c.name: _value(c, n) for c in table.columns
            if not (c.primary_key and c.autoincrement is True) and c.server_default is None}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'links.db'}")
        yield engine
        engine.dispose()
        return
    from tests.fixtures.postgres import Postgres

    pg_url = request.getfixturevalue("pg_url")
    name = f"{pg_url.database}_schema"
    engine = sa.create_engine(Postgres().create(name))
    yield engine
    engine.dispose()
    Postgres().drop(name)


def test_every_table_takes_rows_with_keys_the_database_numbers(fresh_engine):
    migrate(fresh_engine)
    with fresh_engine.begin() as conn:
        for table in metadata.sorted_tables:
            for n in (1, 2):
                conn.execute(table.insert(), _row(table, n))
    with fresh_engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = conn.execute(sa.select(table)).mappings().all()
            assert len(rows) == 2, table.name
            auto = [c.name for c in table.primary_key.columns if c.autoincrement is True]
            for name in auto:
                assert all(r[name] is not None for r in rows) and rows[0][name] != rows[1][name], f"{table.name}.{name}"


def test_migrations_build_the_schema_the_code_declares(fresh_engine):
    """Alembic's own comparison of the migrated database with ``schema.py``: a column, key or
    type that one has and the other lacks is named (the 0008 BIGINT id on SQLite was one)."""
    migrate(fresh_engine)
    with fresh_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, metadata) if not _alembic_bookkeeping(d)]
    assert differences == []


def _alembic_bookkeeping(diff) -> bool:  # type: ignore[no-untyped-def]
    return diff[0] == "remove_table" and diff[1].name == "alembic_version"
