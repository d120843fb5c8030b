"""Decide create / update / link / skip for a stream's mapped records.

Which target record a record is comes from ``party.PartyResolver`` (links first, then the
mapping file's match keys, for all roles of the contact at once). The decision is stored with
the record:

* ``create`` — nothing matched;
* ``update`` — matched, and the content differs from what we last wrote (or from the target);
* ``link`` — matched by a key, content already equal: only the binding is written;
* ``skip`` — linked, and the content hash equals the last sync's: nothing to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.party import PartyResolver, Resolution

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec
    from tribe_operators.store.links import LinkStore

__all__ = ["Decision", "Deduper"]


@dataclass
class Decision:
    source_id: str
    decision: str | None  # None: quarantined, see ``error``
    target_id: str | None = None
    matched_by: str | None = None
    error: tuple[str | None, str] | None = None  # (field, reason)


class Deduper:
    """Decide for the records of one stream.

    Args:
        spec: The stream's mapping (its ``dedupe`` keys and link entity).
        links: The link store of this integration and scope.
        target: The target adapter (``find``, ``differs``).
        roles: All roles of the stream's contacts (``party_roles``); default: the stream alone.

    Records of the other roles (and this stream's records that could not be mapped, with the
    key fields they have) are made known with ``add`` before ``decide``: all of them take part.
    """

    def __init__(self, spec: StreamSpec, links: LinkStore, target: Any, roles: list[StreamSpec] | None = None) -> None:
        self.spec = spec
        self.target = target
        self.resolver = PartyResolver(spec, roles or [spec], links, target)
        self._not_updated = {f.target for f in spec.fields if f.only_create or f.match_only}

    def add(self, stream: str, source_id: str, fields: dict[str, Any]) -> None:
        self.resolver.add(stream, source_id, fields)

    def decide(self, rows: list[dict[str, Any]]) -> list[Decision]:
        """``rows`` are staging rows with ``source_id`` and ``mapped`` ({fields, update_hash})."""
        for row in rows:
            if self.spec.stream not in self.resolver.roles_of(row["source_id"]):
                self.add(self.spec.stream, row["source_id"], row["mapped"]["fields"])
        resolved = self.resolver.resolve()
        return [self._decision(row, resolved[str(row["source_id"])]) for row in rows]

    def _decision(self, row: dict[str, Any], res: Resolution) -> Decision:
        source_id = str(row["source_id"])
        if res.held is not None:
            field, reason = res.held
            roles = self.resolver.roles_of(source_id)
            if len(roles) > 1:
                reason += f" (held back in each of its roles: {', '.join(roles)})"
            return Decision(source_id, None, error=(field, reason))
        if res.link is not None:
            last = res.link.external_hash if self.resolver.exporting else res.link.tribe_hash
            unchanged = res.via == f"link:{self.spec.target.link_entity}" and last == row["mapped"]["update_hash"]
            return Decision(source_id, "skip" if unchanged else "update", res.target_id, res.via)
        if res.target_id is not None:
            # Found through another role's key: the record was read in that role's shape, so
            # the load step compares it afresh (an update that changes nothing is skipped there).
            changed = res.stream != self.spec.stream or self.target.differs(res.record, self._updatable(row))
            return Decision(source_id, "update" if changed else "link", res.target_id, res.via)
        return Decision(source_id, "create")

    def _updatable(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row["mapped"]["fields"].items() if k not in self._not_updated}
