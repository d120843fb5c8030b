"""The ID-link store (OCA's binder): which Tribe record is which external record.

Missing links return None, never raise. ``bind`` is an upsert and commits at once — after a
remote create the new id must never be lost. A unique clash (the same Tribe record bound
to another external id) becomes a retryable ``LinkConflictError``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from tribe_operators.exceptions import LinkConflictError
from tribe_operators.store.schema import id_link
from tribe_operators.store.upsert import upsert

__all__ = ["Link", "LinkStore"]

_CHUNK = 500


@dataclass
class Link:
    """One binding between a Tribe record and an external record."""

    entity: str
    tribe_id: str
    external_id: str
    external_number: str | None = None
    tribe_hash: str | None = None
    external_hash: str | None = None
    tribe_modified_at: datetime | None = None
    external_modified_at: datetime | None = None
    synced_at: datetime = field(default_factory=lambda: datetime.now(UTC))


_FIELDS = tuple(Link.__dataclass_fields__)


class LinkStore:
    """Links of one integration and scope (legal entity / division / administration).

    Args:
        engine: The link database.
        integration: A system name from the registry (``tribe_operators.registry``).
        scope: The administration within that integration.
    """

    def __init__(self, engine: sa.Engine, integration: str, scope: str = "default") -> None:
        self.engine = engine
        self.integration = integration
        self.scope = scope

    def _where(self, entity: str) -> sa.ColumnElement[bool]:
        return sa.and_(id_link.c.integration == self.integration, id_link.c.scope == self.scope,
                       id_link.c.entity == entity)

    # -- single ----------------------------------------------------------------------------
    def to_internal(self, entity: str, external_id: str) -> str | None:
        """Tribe id bound to ``external_id``, or None."""
        return self.bulk_to_internal(entity, [external_id]).get(str(external_id))

    def to_external(self, entity: str, tribe_id: str) -> str | None:
        """External id bound to ``tribe_id``, or None."""
        return self.bulk_to_external(entity, [tribe_id]).get(str(tribe_id))

    def bind(self, link: Link) -> None:
        """Create or refresh one binding, committed immediately."""
        self.bulk_bind([link])

    def unbind(self, entity: str, *, tribe_id: str | None = None, external_id: str | None = None) -> bool:
        """Drop a binding (records on both sides stay). Returns whether one existed."""
        if (tribe_id is None) == (external_id is None):
            raise ValueError("unbind needs exactly one of tribe_id or external_id")
        col, value = (id_link.c.tribe_id, tribe_id) if tribe_id is not None else (id_link.c.external_id, external_id)
        with self.engine.begin() as conn:
            result = conn.execute(sa.delete(id_link).where(self._where(entity), col == str(value)))
        return result.rowcount > 0

    # -- bulk ------------------------------------------------------------------------------
    def bulk_to_internal(self, entity: str, external_ids: Iterable[str]) -> dict[str, str]:
        return {k: v.tribe_id for k, v in self.links_by_external(entity, external_ids).items()}

    def bulk_to_external(self, entity: str, tribe_ids: Iterable[str]) -> dict[str, str]:
        ids = [str(i) for i in tribe_ids]
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                rows = conn.execute(sa.select(id_link.c.tribe_id, id_link.c.external_id).where(
                    self._where(entity), id_link.c.tribe_id.in_(ids[start:start + _CHUNK])))
                found.update({r.tribe_id: r.external_id for r in rows})
        return found

    def links_by_external(self, entity: str, external_ids: Iterable[str]) -> dict[str, Link]:
        """Full link rows keyed by external id (for hash and timestamp comparisons)."""
        return self._links_by(entity, "external_id", external_ids)

    def links_by_tribe(self, entity: str, tribe_ids: Iterable[str]) -> dict[str, Link]:
        """Full link rows keyed by Tribe id (the export direction's view)."""
        return self._links_by(entity, "tribe_id", tribe_ids)

    def _links_by(self, entity: str, key: str, values: Iterable[str]) -> dict[str, Link]:
        ids = [str(i) for i in values]
        found: dict[str, Link] = {}
        cols = [id_link.c[name] for name in Link.__dataclass_fields__]
        with self.engine.connect() as conn:
            for start in range(0, len(ids), _CHUNK):
                rows = conn.execute(sa.select(*cols).where(self._where(entity),
                                                           id_link.c[key].in_(ids[start:start + _CHUNK])))
                found.update({getattr(r, key): Link(**r._asdict()) for r in rows})
        return found

    def bulk_bind(self, links: Sequence[Link]) -> None:
        """Upsert many bindings in one transaction (keyed on the external id)."""
        if not links:
            return
        # A flat copy of each link: ``dataclasses.asdict`` deep-copies every value, per link.
        rows = [{**{name: getattr(link, name) for name in _FIELDS}, "integration": self.integration,
                 "scope": self.scope, "tribe_id": str(link.tribe_id), "external_id": str(link.external_id)}
                for link in links]
        update = [c for c in rows[0] if c not in {"integration", "scope", "entity", "external_id"}]
        try:
            with self.engine.begin() as conn:
                upsert(conn, id_link, rows, conflict=["integration", "scope", "entity", "external_id"], update=update)
        except sa.exc.IntegrityError as exc:
            raise LinkConflictError(f"{self.integration}/{self.scope}: a Tribe record in this batch is already "
                                    f"bound to another external record ({exc.orig})") from exc

    def count(self, entity: str | None = None) -> int:
        where = [id_link.c.integration == self.integration, id_link.c.scope == self.scope]
        if entity:
            where.append(id_link.c.entity == entity)
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(id_link).where(*where)).scalar_one()
