"""Resolve mapped records to existing target records, with the seed's keys in order.

Keys come from the stream's mapping file: existing links first (the foreign ID), then
equality of mapped fields (import reference, debtor/creditor number, or — for Exact —
name + postcode + house number + addition). The first key that finds exactly one record
wins. The decision is stored with the record:

* ``create`` — nothing matched;
* ``update`` — matched, and the content differs from what we last wrote (or from Tribe);
* ``link`` — matched by a key, content already equal: only the binding is written;
* ``skip`` — linked, and the content hash equals the last sync's: nothing to do.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

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
    """Decide create / update / link / skip for a chunk of mapped records.

    Args:
        spec: The stream's mapping (its ``dedupe`` keys and link entity).
        links: The link store of this integration and scope.
        target: The target adapter (``find``, ``differs``).
    """

    def __init__(self, spec: StreamSpec, links: LinkStore, target: Any) -> None:
        self.spec = spec
        self.links = links
        self.target = target
        self.own = spec.target.link_entity
        # Links are stored Tribe ↔ external whatever the direction; sources are read per side.
        self.exporting = spec.direction == "export"

    def decide(self, rows: list[dict[str, Any]]) -> list[Decision]:
        """``rows`` are staging rows with ``source_id`` and ``mapped`` ({fields, update_hash})."""
        pending = {row["source_id"]: row for row in rows}
        decisions: dict[str, Decision] = {}
        claimed: dict[str, str] = {}  # target id → source id, inside this chunk
        for key in self.spec.dedupe:
            if not pending:
                break
            if key.link is not None:
                found = self._by_link(key.link, pending, decisions)
            else:
                found = self._by_match(key.match or [], pending, decisions)
            for source_id, target_id in found.items():
                other = claimed.get(target_id)
                if other is not None and other != source_id:
                    decisions[source_id] = Decision(source_id, None, error=(
                        key.match[0] if key.match else None,
                        f"matches the same {self.spec.target.entity_set} {target_id} as source record {other}; "
                        "two source records share a number — fix one of them"))
                else:
                    claimed[target_id] = source_id
                pending.pop(source_id, None)
        for source_id in pending:
            decisions[source_id] = Decision(source_id, "create")
        return [decisions[row["source_id"]] for row in rows]

    def _by_link(self, entity: str, pending: dict[str, dict[str, Any]], out: dict[str, Decision]) -> dict[str, str]:
        found: dict[str, str] = {}
        lookup = self.links.links_by_tribe if self.exporting else self.links.links_by_external
        for source_id, link in lookup(entity, list(pending)).items():
            row = pending[source_id]
            target_id, last_hash = ((link.external_id, link.external_hash) if self.exporting
                                    else (link.tribe_id, link.tribe_hash))
            unchanged = entity == self.own and last_hash == row["mapped"]["update_hash"]
            out[source_id] = Decision(source_id, "skip" if unchanged else "update", target_id, f"link:{entity}")
            found[source_id] = target_id
        return found

    def _by_match(self, fields: list[str], pending: dict[str, dict[str, Any]], out: dict[str, Decision]) -> dict[str, str]:
        wanted = {sid: tuple(row["mapped"]["fields"].get(f) for f in fields) for sid, row in pending.items()}
        wanted = {sid: v for sid, v in wanted.items() if all(x not in (None, "") for x in v)}
        found: dict[str, str] = {}
        label = "+".join(fields)
        # Two unresolved source records with one key value (two customers numbered 10050): which
        # one the target record belongs to cannot be told, so neither is matched nor created.
        sharing: dict[tuple[Any, ...], list[str]] = {}
        for source_id, value in wanted.items():
            sharing.setdefault(value, []).append(source_id)
        for value, ids in sharing.items():
            for source_id in ids if len(ids) > 1 else []:
                others = ", ".join(i for i in ids if i != source_id)
                out[source_id] = Decision(source_id, None, error=(fields[0], (
                    f"{label} {'/'.join(map(str, value))} is also on {self.spec.source.system} record(s) {others}: "
                    "two source records share it — fix one of them")))
                found[source_id] = f"duplicate:{source_id}"
                del wanted[source_id]
        if not wanted:
            return found
        matches = self.target.find(self.spec, fields, list(wanted.values()))
        key = partial(self.spec.target.record_id, id_key=self.target.id_key)
        candidates = {key(r) for rs in matches.values() for r in rs}
        bound_to = self.links.bulk_to_internal if self.exporting else self.links.bulk_to_external
        already = bound_to(self.own, candidates)  # bound to someone else?
        for source_id, value in wanted.items():
            records = matches.get(value, [])
            if not records:
                continue
            if len(records) > 1:
                ids = ", ".join(sorted(key(r) for r in records))
                out[source_id] = Decision(source_id, None, error=(fields[0], (
                    f"{label} {'/'.join(map(str, value))} matches {len(records)} {self.spec.target.entity_set} "
                    f"records ({ids}); merge the duplicates in Tribe")))
                found[source_id] = f"ambiguous:{source_id}"
                continue
            record = records[0]
            record_id = key(record)
            bound = already.get(record_id)
            if bound is not None and bound != source_id:
                out[source_id] = Decision(source_id, None, error=(fields[0], (
                    f"{label} {'/'.join(map(str, value))} matches {self.spec.target.entity_set} {record_id}, which "
                    f"is already linked to {self.spec.integration} record {bound}; two records share this number")))
                found[source_id] = f"conflict:{source_id}"
                continue
            changed = self.target.differs(record, self._updatable(pending[source_id]))
            out[source_id] = Decision(source_id, "update" if changed else "link", record_id, f"match:{label}")
            found[source_id] = record_id
        return found

    def _updatable(self, row: dict[str, Any]) -> dict[str, Any]:
        skip = {f.target for f in self.spec.fields if f.only_create or f.match_only}
        return {k: v for k, v in row["mapped"]["fields"].items() if k not in skip}
