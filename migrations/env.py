"""Alembic environment: run against a passed-in connection, TRIBE_SYNC_DB_URL, or tribe_sync_db."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic import context

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from tribe_operators.store.engine import engine_for  # noqa: E402
from tribe_operators.store.schema import metadata  # noqa: E402

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    url = os.environ.get("TRIBE_SYNC_DB_URL")
    engine = engine_for(url=url) if url else engine_for()
    with engine.begin() as conn:
        _run_with(conn)


def _run_with(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run()
