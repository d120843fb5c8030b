"""Where the party resolver keeps its contacts, their key values and their answers: temporary
tables in the link database (PostgreSQL or SQLite), on one connection held for the resolver's
life, so that the resolver's memory does not grow with the contacts of a run (only with those
whose keys find a target record, while their tier is settled: ``party._by_keys``).

* ``contacts`` — one row per contact: the order it was first made known in (``seq``) and its
  roles; ``answers`` — the answer of each contact settled before the end of a ``resolve`` (a
  link, a hold, a match; the rest, still open at the end, are created);
* ``keys`` — one row per contact, role and tier with a value: the key's normal form (compared in
  SQL: a value two contacts share is a window count over it) and the value as typed (asked of the target);
* ``marks`` — target records a contact settled on (``claim``) or a held contact's keys found
  (``doubt``), looked up for the records a tier's keys find.

Values and answers are pickled: they are this process's own objects (a ``find`` result is keyed
by the typed value, whatever its type), written and read by it alone in tables that no other
connection sees and that are dropped with the resolver.
"""
from __future__ import annotations

import pickle
import uuid
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa

__all__ = ["Workspace"]

_IN = 500  # ids per IN (…) list
_SEP = ","  # between a contact's roles (stream names have none)


def _drop(conn: sa.Connection, metadata: sa.MetaData) -> None:
    try:
        conn.rollback()
        metadata.drop_all(conn)
        conn.commit()
    except sa.exc.SQLAlchemyError:  # a broken connection takes its temporary tables with it
        pass
    finally:
        conn.close()


class Workspace:
    """The temporary tables of one resolver (names unique, so a pooled connection that kept an
    older one never collides). Contacts are numbered as they are made known; those numbered
    after ``resolved`` are the ones the next ``resolve`` takes up."""

    def __init__(self, engine: sa.Engine) -> None:
        token = uuid.uuid4().hex[:12]
        md = sa.MetaData()
        self.contacts = sa.Table(
            f"party_contacts_{token}", md,
            sa.Column("contact", sa.String, primary_key=True),
            sa.Column("seq", sa.Integer, nullable=False),
            sa.Column("roles", sa.Text, nullable=False),  # stream names, comma-separated, in the order made known
            prefixes=["TEMPORARY"])
        sa.Index(f"ix_pc_{token}", self.contacts.c.seq)
        self.answers_ = sa.Table(  # written once per contact settled before the end (inserts: cheaper than updates)
            f"party_answers_{token}", md,
            sa.Column("contact", sa.String, primary_key=True),
            sa.Column("answer", sa.LargeBinary),  # a pickled Resolution; NULL: create
            prefixes=["TEMPORARY"])
        self.keys = sa.Table(
            f"party_keys_{token}", md,
            sa.Column("seq", sa.Integer, nullable=False),
            sa.Column("contact", sa.String, nullable=False),
            sa.Column("role", sa.Integer, nullable=False),
            sa.Column("tier", sa.Integer, nullable=False),
            sa.Column("normal", sa.Text, nullable=False),
            sa.Column("value", sa.LargeBinary, nullable=False),
            prefixes=["TEMPORARY"])
        sa.Index(f"ix_pk_{token}", self.keys.c.role, self.keys.c.tier, self.keys.c.seq)
        sa.Index(f"ix_pkc_{token}", self.keys.c.contact, self.keys.c.role)
        self.marks = sa.Table(
            f"party_marks_{token}", md,
            sa.Column("kind", sa.String(5), primary_key=True),
            sa.Column("rid", sa.String, primary_key=True),
            sa.Column("contact", sa.String, nullable=False),
            prefixes=["TEMPORARY"])
        self.conn = engine.connect()
        md.create_all(self.conn)
        self.conn.commit()
        self.seq = 0  # the last contact's number
        self.resolved = 0  # contacts up to this number are resolved
        self.close = weakref.finalize(self, _drop, self.conn, md)

    # -- writing ------------------------------------------------------------------------------
    def put(self, batch: dict[tuple[str, str], tuple[int, list[tuple[int, tuple[str, ...], tuple[Any, ...]]]]]) -> None:
        """``{(contact, role name): (role, [(tier, normal, value)])}``: a role made known again
        replaces its key values (the contact keeps its place, and its answer once it has one)."""
        c, k = self.contacts.c, self.keys.c
        ids = list(dict.fromkeys(p for p, _ in batch))
        known = {p: (seq, r.split(_SEP)) for p, seq, r in self._select(sa.select(c.contact, c.seq, c.roles), c.contact, ids)}
        roles, seqs = {p: r for p, (_, r) in known.items()}, {p: seq for p, (seq, _) in known.items()}
        new, changed, again = [], [], []
        for p, stream in batch:
            if p not in roles:
                self.seq += 1
                roles[p], seqs[p] = [], self.seq
                new.append(p)
            if stream in roles[p]:
                again.append((p, stream))
            else:
                roles[p].append(stream)
                if p in known:
                    changed.append(p)
        if new:
            self._insert(self.contacts, [(p, seqs[p], _SEP.join(roles[p])) for p in new])
        if changed:
            self.conn.execute(sa.update(self.contacts).where(c.contact == sa.bindparam("p"))
                              .values(roles=sa.bindparam("r")), [{"p": p, "r": _SEP.join(roles[p])} for p in changed])
        for p, stream in again:
            self.conn.execute(sa.delete(self.keys).where(k.contact == p, k.role == batch[(p, stream)][0]))
        self._insert(self.keys, [(seqs[p], p, role, tier, "\x1f".join(normal), pickle.dumps(value))
                                 for (p, _), (role, keys) in batch.items() for tier, normal, value in keys])
        self.conn.commit()

    def settle(self, answers: dict[str, Any]) -> None:
        """Store answers (a Resolution, or None: create): their contacts are no longer open."""
        if answers:
            self._insert(self.answers_, [(p, None if a is None else pickle.dumps(a)) for p, a in answers.items()])
            self.conn.commit()

    def mark(self, kind: str, marks: dict[str, str]) -> None:
        if marks:
            self._insert(self.marks, [(kind, r, p) for r, p in marks.items()])
            self.conn.commit()

    # -- reading: the contacts numbered after ``low`` without an answer ------------------------
    def open_contacts(self, low: int, chunk: int = 1000) -> Iterator[list[str]]:
        """The open contacts in the order they were made known, ``chunk`` at a time."""
        c = self.contacts.c
        while rows := self.conn.execute(sa.select(c.contact, c.seq).where(c.seq > low, self._open(c.contact))
                                        .order_by(c.seq).limit(chunk)).all():
            self.conn.commit()
            low = rows[-1].seq
            yield [r.contact for r in rows]

    def _open(self, contact: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return ~sa.exists().where(self.answers_.c.contact == contact)

    def _open_keys(self, low: int, role: int, tier: int) -> sa.Select:
        k = self.keys.c
        return (sa.select(k.contact, k.seq, k.normal, k.value)
                .where(k.role == role, k.tier == tier, k.seq > low, self._open(k.contact)))

    def open_keys(self, low: int, role: int, tier: int, chunk: int = 1000) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
        """``(contact, value)`` of the open contacts with a value for ``role``'s key ``tier``."""
        k = self.keys.c
        while rows := self.conn.execute(self._open_keys(low, role, tier).order_by(k.seq).limit(chunk)).all():
            self.conn.commit()
            low = rows[-1].seq
            yield [(r.contact, pickle.loads(r.value)) for r in rows]

    def count_open_keys(self, low: int, role: int, tier: int) -> int:
        n = self.conn.execute(sa.select(sa.func.count()).select_from(self._open_keys(low, role, tier).subquery())).scalar_one()
        self.conn.commit()
        return int(n)

    def shared(self, low: int, role: int, tier: int) -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
        """Values of ``role``'s key ``tier`` that two open contacts share: one list of ``(contact,
        value)`` per value, the contacts in the order they were made known."""
        k = self.keys.c
        keyed = self._open_keys(low, role, tier).add_columns(
            sa.func.count().over(partition_by=k.normal).label("n")).subquery()
        rows = self.conn.execute(sa.select(keyed.c.contact, keyed.c.normal, keyed.c.value).where(keyed.c.n > 1)
                                 .order_by(keyed.c.normal, keyed.c.seq)).all()
        self.conn.commit()
        group: list[tuple[str, tuple[Any, ...]]] = []
        for i, row in enumerate(rows):
            group.append((row.contact, pickle.loads(row.value)))
            if i + 1 == len(rows) or rows[i + 1].normal != row.normal:
                yield group
                group = []

    # -- reading by contact or record -----------------------------------------------------------
    def values(self, tier: int, contacts: Iterable[str]) -> dict[tuple[str, int], tuple[Any, ...]]:
        """``{(contact, role): value}`` of key ``tier`` for ``contacts``."""
        k = self.keys.c
        return {(p, role): pickle.loads(v) for p, role, v in
                self._select(sa.select(k.contact, k.role, k.value).where(k.tier == tier), k.contact, list(contacts))}

    def marked(self, kind: str, rids: Iterable[str]) -> dict[str, str]:
        m = self.marks.c
        return dict(self._select(sa.select(m.rid, m.contact).where(m.kind == kind), m.rid, list(rids)))

    def answers(self, contacts: Iterable[str]) -> dict[str, tuple[list[str], Any, bool]]:
        """``{contact: (roles, answer or None, resolved)}`` of the ones made known."""
        c, a = self.contacts.c, self.answers_.c
        query = sa.select(c.contact, c.roles, a.answer, c.seq).outerjoin(self.answers_, a.contact == c.contact)
        return {p: (r.split(_SEP), None if blob is None else pickle.loads(blob), seq <= self.resolved)
                for p, r, blob, seq in self._select(query, c.contact, list(contacts))}

    def _insert(self, table: sa.Table, rows: list[tuple[Any, ...]]) -> None:
        """Rows in the table's column order, straight to the driver: a contact writes three rows,
        and SQLAlchemy's per-row parameter handling cost more than the rest of dedupe."""
        if not rows:
            return
        names = ", ".join(c.name for c in table.columns)
        if not self.conn.in_transaction():
            self.conn.begin()  # so that the caller's commit() commits these rows too
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if self.conn.dialect.driver == "psycopg2":
                from psycopg2.extras import execute_values

                execute_values(cursor, f"INSERT INTO {table.name} ({names}) VALUES %s", rows, page_size=1000)
            elif self.conn.dialect.paramstyle == "qmark":
                cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(table.columns))})",
                                   rows)
            else:
                self.conn.execute(sa.insert(table), [dict(zip(table.columns.keys(), r, strict=True)) for r in rows])
        finally:
            cursor.close()

    def _select(self, query: sa.Select, column: sa.ColumnElement[Any], ids: list[str]) -> list[sa.Row]:
        rows: list[sa.Row] = []
        for start in range(0, len(ids), _IN):
            rows += self.conn.execute(query.where(column.in_(ids[start:start + _IN]))).all()
        self.conn.commit()
        return rows
