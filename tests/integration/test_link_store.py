"""The link store on real PostgreSQL: constraints, upserts, bulk variants, migrations."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tribe_operators.exceptions import LinkConflictError
from tribe_operators.store.engine import migrate
from tribe_operators.store.links import Link, LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.schema import id_link, metadata
from tribe_operators.store.watermarks import Watermarks

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def test_migrations_match_the_tables_and_upgrade_twice_is_a_no_op(link_db):
    migrate(link_db)  # second time: nothing to do, no error
    with link_db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert diff == []
    head = sorted(p.name.split("_")[0] for p in (ROOT / "migrations" / "versions").glob("[0-9]*_*.py"))[-1]
    assert version == head  # the newest migration is applied


def test_bind_and_look_up_both_ways(link_db):
    links = LinkStore(link_db, "poweroffice")
    assert links.to_internal("customer", "1") is None  # missing is None, not an exception
    links.bind(Link("customer", tribe_id="t-1", external_id="1", external_number="10001", tribe_hash="h"))
    assert links.to_internal("customer", "1") == "t-1"
    assert links.to_external("customer", "t-1") == "1"
    assert links.links_by_external("customer", ["1"])["1"].external_number == "10001"


def test_rebind_updates_in_place(link_db):
    links = LinkStore(link_db, "poweroffice")
    links.bind(Link("customer", "t-1", "1", tribe_hash="a"))
    links.bind(Link("customer", "t-1", "1", tribe_hash="b"))
    assert links.count("customer") == 1
    assert links.links_by_external("customer", ["1"])["1"].tribe_hash == "b"


def test_one_tribe_record_cannot_be_bound_to_two_external_records(link_db):
    links = LinkStore(link_db, "poweroffice")
    links.bind(Link("customer", "t-1", "1"))
    with pytest.raises(LinkConflictError):
        links.bind(Link("customer", "t-1", "2"))
    assert links.to_external("customer", "t-1") == "1"


def test_scopes_and_entities_are_separate(link_db):
    a = LinkStore(link_db, "poweroffice", scope="client-a")
    b = LinkStore(link_db, "poweroffice", scope="client-b")
    a.bind(Link("customer", "t-1", "1"))
    b.bind(Link("customer", "t-1", "1"))
    a.bind(Link("supplier", "t-1", "1"))
    with link_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(id_link)).scalar_one() == 3


def test_unbind_keeps_nothing_behind(link_db):
    links = LinkStore(link_db, "poweroffice")
    links.bind(Link("customer", "t-1", "1"))
    assert links.unbind("customer", external_id="1") is True
    assert links.unbind("customer", tribe_id="t-1") is False
    assert links.to_internal("customer", "1") is None


def test_bulk_bind_and_lookup(link_db):
    links = LinkStore(link_db, "poweroffice")
    links.bulk_bind([Link("customer", f"t-{i}", str(i)) for i in range(1200)])
    found = links.bulk_to_internal("customer", [str(i) for i in range(0, 1200, 7)] + ["missing"])
    assert len(found) == len(range(0, 1200, 7)) and found["7"] == "t-7"
    assert links.bulk_to_external("customer", ["t-3", "t-9999"]) == {"t-3": "3"}


def test_watermark_never_moves_back(link_db):
    from datetime import UTC, datetime, timedelta

    marks = Watermarks(link_db, "poweroffice")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    marks.advance("customers", "import", now, "run-1")
    marks.advance("customers", "import", now - timedelta(days=1), "backfill")
    assert marks.get("customers", "import") == now


def test_watermark_never_jumps_a_gap(link_db):
    """A window that started after the watermark (a manual run from a later date, a backfill
    ahead of it) leaves the changes in between unread: the watermark must not pass them."""
    from datetime import UTC, datetime, timedelta

    marks = Watermarks(link_db, "poweroffice")
    day = datetime(2026, 11, 1, tzinfo=UTC)
    marks.advance("customers", "import", day, "run-1", since=None)  # the initial import
    marks.advance("customers", "import", day + timedelta(days=3), "manual", since=day + timedelta(days=2))
    assert marks.get("customers", "import") == day
    marks.advance("customers", "import", day + timedelta(hours=1), "run-2", since=day - timedelta(minutes=5))
    assert marks.get("customers", "import") == day + timedelta(hours=1)  # overlapping: moves on


def test_quarantine_counts_repeat_sightings_and_resolves(link_db):
    q = Quarantine(link_db, "poweroffice")
    row = {"record_id": "7", "field": "Name", "reason": "empty"}
    q.add([row], system="poweroffice", stream="customers", run_id="r1")
    q.add([row], system="poweroffice", stream="customers", run_id="r2")
    (open_row,) = q.open("customers")
    assert open_row["attempts"] == 2 and open_row["run_id"] == "r2"
    assert q.resolve("customers", ["7"]) == 1
    assert q.open() == []


def _ledger_row(scope: str, reference: str) -> dict:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return {"integration": "poweroffice", "scope": scope, "document_type": "invoice", "tribe_id": "inv-1",
            "external_reference": reference, "state": "created", "attempts": 1, "created_at": now, "updated_at": now}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_scope_migration_keeps_the_ledger_and_makes_references_unique_per_scope(dialect, tmp_path, pg_url):
    """0005 on a database made by 0004, with a ledger row in it: the row survives, and one Tribe
    invoice may now go to a second legal entity under the same reference — never twice to one."""
    from tests.fixtures.postgres import Postgres
    from tribe_operators.store.schema import export_ledger

    if dialect == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'links.db'}")
    else:
        engine = sa.create_engine(Postgres().create(f"{pg_url.database}_mig"))
    try:
        migrate(engine, "0004")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO export_ledger (integration, scope, document_type, tribe_id, "
                                 "external_reference, state, attempts, created_at, updated_at) VALUES "
                                 "('poweroffice', 'NO1', 'invoice', 'inv-1', 'tribe:inv-1', 'created', 1, "
                                 "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        migrate(engine)
        with engine.begin() as conn:
            assert conn.execute(sa.select(export_ledger.c.scope)).scalars().all() == ["NO1"]
            conn.execute(export_ledger.insert(), _ledger_row("NO2", "tribe:inv-1"))  # another legal entity
            inspector = sa.inspect(conn)
            assert "scope" in inspector.get_pk_constraint("staging")["constrained_columns"]
            assert "scope" in {c["name"] for c in inspector.get_columns("sync_run")}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(export_ledger.insert(), {**_ledger_row("NO2", "tribe:inv-1"), "tribe_id": "inv-2"})
    finally:
        engine.dispose()
        if dialect == "postgresql":
            Postgres().drop(f"{pg_url.database}_mig")


def test_an_outcome_row_is_written_whatever_the_bad_invoice_holds(link_db):
    """The summary lists every invoice: a bad currency is kept as given, text longer than its
    column is shortened with "…", an amount that is no number is left out — never a failed row."""
    from tribe_operators.store.outcomes import record_outcome, run_outcomes

    record_outcome(link_db, run_id="manual__1", dag_id="d", integration="poweroffice", scope=None, tribe_id="inv-1",
                   status="failed", number="10001", customer="Kunde " * 60, amount="12,50", currency="EURO",
                   external_number="X" * 80, reason="CurrencyCode 'EURO' is not a valid ISO 4217 code")
    record_outcome(link_db, run_id="manual__1", dag_id="d", integration="poweroffice", scope=None, tribe_id="inv-2",
                   status="draft", number="10002", amount="1e40", currency="NOK")
    first, second = run_outcomes(link_db, "manual__1")
    assert first["currency"] == "EURO" and first["amount"] is None and first["status"] == "failed"
    assert len(first["customer"]) == 200 and first["customer"].endswith("…") and first["customer"].startswith("Kunde")
    assert first["external_number"] == "X" * 59 + "…"
    assert second["amount"] is None and second["currency"] == "NOK"
