"""Reach the link database through the Airflow connection ``tribe_sync_db``.

Postgres in production; a SQLite file is allowed for the embedded demo only.
"""
from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa

__all__ = ["DEFAULT_CONN_ID", "dispose_all", "engine_for", "migrate", "url_for_connection"]

DEFAULT_CONN_ID = "tribe_sync_db"
MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"
_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()


def url_for_connection(conn_id: str = DEFAULT_CONN_ID) -> sa.URL:
    """Build a SQLAlchemy URL from an Airflow connection (postgres or sqlite)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    if conn.conn_type == "sqlite":
        path = conn.host or conn.schema or ":memory:"
        return sa.make_url(f"sqlite:///{path}")
    if conn.conn_type not in {"postgres", "postgresql"}:
        raise ValueError(f"connection {conn_id!r}: link database must be postgres or sqlite, not {conn.conn_type!r}")
    return sa.URL.create("postgresql+psycopg2", username=conn.login or None, password=conn.password or None,
                         host=conn.host or "localhost", port=conn.port or None, database=conn.schema or "postgres")


def engine_for(conn_id: str = DEFAULT_CONN_ID, *, url: str | sa.URL | None = None) -> sa.Engine:
    """One pooled engine per database per process."""
    target = sa.make_url(url) if url is not None else url_for_connection(conn_id)
    key = target.render_as_string(hide_password=False)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if target.get_backend_name() == "sqlite":
                engine = sa.create_engine(target, connect_args={"timeout": 30})
                sa.event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = sa.create_engine(target, pool_pre_ping=True, pool_size=5, max_overflow=5)
            _engines[key] = engine
        return engine


def dispose_all() -> None:
    """Close every pooled connection (tests drop their database afterwards)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: sa.Engine, revision: str = "head") -> None:
    """``alembic upgrade head`` on this engine (a no-op when already there)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
