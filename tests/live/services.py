"""What the live Airflow runs against: the vendor simulators (in this process, reached over
HTTP) and a link database of its own on PostgreSQL."""
from __future__ import annotations

import json
import os
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

import requests
import sqlalchemy as sa

from tests.fixtures.postgres import Postgres, airflow_conn_uri, empty_tables
from tests.live.traffic import AccessLog

__all__ = ["LinkDatabase", "Simulators"]


# --------------------------------------------------------------------------------------------
# Link database
# --------------------------------------------------------------------------------------------
class LinkDatabase:
    """The package's link database on its own PostgreSQL database, migrated to head."""

    def __init__(self, postgres: Postgres, name: str | None = None) -> None:
        self.postgres = postgres
        self.name = name or f"tribe_sync_live_{os.getpid()}"
        self.url: sa.URL | None = None
        self._engine: sa.Engine | None = None

    def create(self) -> LinkDatabase:
        from tribe_operators.store.engine import migrate

        self.url = self.postgres.create(self.name)
        migrate(self.engine)
        return self

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            assert self.url is not None, "create() first"
            self._engine = sa.create_engine(self.url, pool_pre_ping=True)
        return self._engine

    def connection_env(self, conn_id: str = "tribe_sync_db") -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` for the components (URI form, as tests/fixtures/database.py)."""
        assert self.url is not None, "create() first"
        return {f"AIRFLOW_CONN_{conn_id.upper()}": airflow_conn_uri(self.url)}

    def reset(self) -> None:
        """Empty every table (links, ledger, watermarks, staging, quarantine, runs…)."""
        empty_tables(self.engine)

    def rows(self, table: str, *, order_by: Sequence[str] = ()) -> list[dict[str, Any]]:
        from tribe_operators.store.schema import metadata

        tbl = metadata.tables[table]
        query = sa.select(tbl).order_by(*(tbl.c[c] for c in order_by))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self.url is not None:
            self.postgres.drop(self.name)
            self.url = None


# --------------------------------------------------------------------------------------------
# Simulators
# --------------------------------------------------------------------------------------------
class Simulators:
    """Tribe CRM, PowerOffice Go, Odoo and Exact Online simulators on free ports of this process,
    empty but for their reference data (as a fresh tenant / client / database has; Exact's is its
    seeded demo divisions, as its ``reset`` restores them)."""

    def __init__(self, *, tribe_extra: dict | None = None, po_extra: dict | None = None) -> None:
        from sandbox.common import ServerThread
        from sandbox.exact.clients import ExactServer
        from sandbox.odoo import OdooState
        from sandbox.odoo import create_app as odoo_app
        from sandbox.poweroffice import PowerOfficeState
        from sandbox.poweroffice import create_app as po_app
        from sandbox.tribe import TribeState
        from sandbox.tribe import create_app as tribe_app

        self.tribe = TribeState()
        self.po = PowerOfficeState()
        self.odoo = OdooState()
        # Each call the live Airflow makes is noted with its time (tests.live.traffic).
        self.traffic = {"tribe": AccessLog(tribe_app(self.tribe)), "po": AccessLog(po_app(self.po)),
                        "odoo": AccessLog(odoo_app(self.odoo))}
        self._servers = [ServerThread(self.traffic[name]) for name in ("tribe", "po", "odoo")]
        self.exact_server = ExactServer()
        self.exact = self.exact_server.state
        # An app of this stack's own: our budgets and error guards count per client id in the
        # shared Redis store, so an earlier stack's refusals (the Contacts topic) never hold ours.
        self.exact.client_id = str(uuid.uuid4())
        self.exact.webhook_secret = "exact-whsec-" + secrets.token_hex(16)
        self._extra = {"tribe_extra": tribe_extra, "po_extra": po_extra}
        self._started: list[Any] = []

    @property
    def tribe_url(self) -> str:
        return self._servers[0].url

    @property
    def po_url(self) -> str:
        return self._servers[1].url

    @property
    def odoo_url(self) -> str:
        return self._servers[2].url

    @property
    def exact_url(self) -> str:
        return self.exact_server.url

    def start(self) -> Simulators:
        for server in self._servers:
            server.start()
            self._started.append(server)
        self.exact_server.__enter__()  # also tells the state its public URL (webhook endpoints)
        self._started.append(_Exiting(self.exact_server))
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    def connection_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_TRIBE_DEFAULT`` / ``…_POWEROFFICE_DEFAULT`` / ``…_ODOO_DEFAULT`` /
        ``…_EXACT_DEFAULT`` for the components. Exact's carries the app's webhook secret (the
        receiver verifies HashCode with it); its token chain is not in it but in the link
        database, after a person's consent (:meth:`exact_consent`, ``oauth authorize``)."""
        from sandbox.exact.clients import REDIRECT_URI
        from sandbox.exact.seed import NL
        from tests.fixtures.simulators import connection_env, odoo_connection_env

        exact = {"conn_type": "exact_online", "host": self.exact_url, "login": self.exact.client_id,
                 "password": self.exact.client_secret,
                 "extra": {"division": NL, "redirect_uri": REDIRECT_URI, "webhook_secret": self.exact.webhook_secret}}
        return {**connection_env(self.tribe_url, self.po_url, **self._extra),
                **odoo_connection_env(self.odoo_url, self.odoo.db),
                "AIRFLOW_CONN_EXACT_DEFAULT": json.dumps(exact)}

    def exact_consent(self) -> str:
        """What a person does for ``oauth authorize``: open the consent page (the simulator's test
        mode consents at once) and copy the address the browser is sent to, code and all."""
        from sandbox.exact.clients import REDIRECT_URI

        answer = requests.get(f"{self.exact_url}/api/oauth2/auth", allow_redirects=False, timeout=10, params={
            "client_id": self.exact.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code"})
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]

    def reset(self) -> None:
        """All back to reference data only: no records, faults, counters or recorded traffic;
        Exact also without tokens or webhook subscriptions (a consent is needed again).
        (Back-date a seeded record with its own stamp: ``LastChangedDateTimeOffset=…``.)"""
        self.tribe.reset()
        self.po.reset()
        self.odoo.reset()
        self.exact.reset()
        for log in self.traffic.values():
            log.clear()


class _Exiting:
    """``stop()`` for a simulator started as a context manager."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def stop(self) -> None:
        self.server.__exit__(None, None, None)
