"""The party resolver keeps its contacts in temporary tables and works through them a chunk at
a time: the answers must not depend on where the chunks fall (a number shared by the 6th and the
2,401st contact, a record settled on by one and found by another chunks later), nor on the
database — PostgreSQL in production and CI, SQLite embedded — and the tables go with it."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.fixtures.postgres import empty_tables
from tribe_operators.dedupe import Deduper, party_roles
from tribe_operators.dedupe.keys import KeyLookup
from tribe_operators.mapping.spec import load_stream
from tribe_operators.store.engine import migrate
from tribe_operators.store.links import Link, LinkStore
from tribe_operators.systems.tribe.target import TribeTarget

pytestmark = pytest.mark.postgres
N = 2500  # more than one chunk of contacts written (1,000), asked of the target (1,000) and decided (500)
TRIBE = [  # Tribe's organisations as its API answers them
    {"ID": "t-alpha", "DebtorNumber": "100", "ImportId": None, "Name": "Alpha BV"},
    {"ID": "t-beta", "DebtorNumber": "300", "ImportId": "poweroffice:c2200", "Name": "Beta AS"},
    {"ID": "t-delta", "DebtorNumber": "400", "ImportId": None, "Name": "Delta AS"},
    {"ID": "t-gamma", "DebtorNumber": " 0500", "ImportId": None, "Name": "Gamma AS"},
    {"ID": "t-eps1", "DebtorNumber": "600", "ImportId": None, "Name": "Eps AS"},
    {"ID": "t-eps2", "DebtorNumber": "600", "ImportId": None, "Name": "Eps AS"},
]


class _Tribe(TribeTarget):
    """Tribe's own target with ``find`` answered from ``TRIBE`` (the remote side, in memory)."""

    def __init__(self) -> None:
        super().__init__(hook=None)  # type: ignore[arg-type]
        self.asked = 0

    def find(self, spec: Any, fields: list[str], values: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        self.asked += 1
        lookup = KeyLookup(fields, values, spec.key_normalisers(fields))
        for record in TRIBE:
            lookup.add(record)
        return lookup.found


def _customer(i: int) -> dict[str, Any]:
    numbers = {5: 777, 2400: 777, 10: 100, 20: 300, 40: 400, 2300: 400, 1500: 500, 1600: 600}
    sid = f"c{i:04d}"
    fields = {"ImportId": f"poweroffice:{sid}", "Name": "Alpha BV" if i == 10 else f"Customer {i}",
              "DebtorNumber": numbers.get(i, 10_000 + i)}
    return {"source_id": sid, "mapped": {"fields": fields, "update_hash": "h"}}


def _decide(engine: sa.Engine) -> dict[str, tuple[str | None, str | None, str | None]]:
    spec = load_stream("poweroffice", "customers")
    links = LinkStore(engine, "poweroffice")
    links.bind(Link(entity="customer", tribe_id="t-delta", external_id="c0040"))
    rows = [_customer(i) for i in range(N)]
    with Deduper(spec, links, _Tribe(), party_roles(spec)) as deduper:
        deduper.add("suppliers", "c0005", {"CreditorNumber": 9005})  # the same contact, a supplier too
        for row in rows:
            deduper.add("customers", row["source_id"], row["mapped"]["fields"])
        decisions = [d for start in range(0, N, 500) for d in deduper.decide(rows[start:start + 500])]
    return {d.source_id: (d.decision, d.target_id, d.error[1] if d.error else None) for d in decisions}


def _check(got: dict[str, tuple[str | None, str | None, str | None]]) -> None:
    held = {sid: reason for sid, (decision, _, reason) in got.items() if decision is None}
    # a number two contacts share, chunks apart: neither is matched nor created, in every role
    assert "DebtorNumber 777 is also on poweroffice record(s) c2400" in held["c0005"]
    assert "(held back in each of its roles: suppliers, customers)" in held["c0005"]
    assert "DebtorNumber 777 is also on poweroffice record(s) c0005" in held["c2400"]
    # found by number, names alike: matched
    assert got["c0010"][1] == "t-alpha" and got["c0010"][0] in ("update", "link")
    # settled on by its import reference (c2200, tier 1): not c0020's by number (tier 2) — c2200
    # writes its own number 12200 there, so 300 is a stale number: c0020 is created
    assert got["c2200"][:2] == ("update", "t-beta")
    assert got["c0020"][:2] == ("create", None)
    # linked to another contact: never matched; the linked one keeps its link
    assert got["c0040"][:2] == ("update", "t-delta")
    assert "t-delta, which is poweroffice record c0040's (linked as customer)" in held["c2300"]
    # a number typed " 0500" in Tribe is 500, but the names share nothing: held with both
    assert "'Gamma AS'" in held["c1500"] and "'Customer 1500'" in held["c1500"]
    # two Tribe records with one number: merge them first
    assert "matches 2 Relation_Organization records (t-eps1, t-eps2)" in held["c1600"]
    assert set(held) == {"c0005", "c2400", "c2300", "c1500", "c1600"}
    assert all(got[f"c{i:04d}"][:2] == ("create", None) for i in range(N) if f"c{i:04d}" not in held
               and i not in (10, 2200, 40))


def test_answers_do_not_depend_on_chunks_nor_on_the_database(tmp_path, pg_engine):
    lite = sa.create_engine(f"sqlite:///{tmp_path / 'links.db'}")
    migrate(lite)
    empty_tables(pg_engine)
    try:
        on_sqlite, on_postgres = _decide(lite), _decide(pg_engine)
    finally:
        empty_tables(pg_engine)
        lite.dispose()
    _check(on_sqlite)
    assert on_sqlite == on_postgres


def test_the_temporary_tables_go_with_the_deduper(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'links.db'}", poolclass=sa.pool.StaticPool)
    migrate(engine)
    spec = load_stream("poweroffice", "customers")
    with Deduper(spec, LinkStore(engine, "poweroffice"), _Tribe(), party_roles(spec)) as deduper:
        deduper.decide([_customer(i) for i in range(3)])
        with engine.connect() as conn:
            assert len(sa.inspect(conn).get_temp_table_names()) == 4
    with engine.connect() as conn:
        assert sa.inspect(conn).get_temp_table_names() == []
