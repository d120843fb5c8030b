"""Which target record is each external contact? Answered once per contact, from all its roles.

A contact can have several roles, each its own stream: a PowerOffice contact that is both
customer and supplier is ``Customers/{Id}`` and ``Suppliers/{Id}`` (one ``Id``), and in Tribe it
is one organisation with two relationships. Streams that are roles of one contact say so in
their mapping (``party: [customers, suppliers]``). The question "which Tribe organisation is
this contact?" has one answer per contact, worked out from the keys of every role read in the
run (and the links of the others) before any role writes:

1. a link of any role (the contact's id, bound earlier) is the answer, the stream's own first;
2. otherwise the match keys, tier by tier — tier *n* is the *n*-th ``match`` key of each role's
   ``dedupe`` list (import reference, then debtor / creditor number). The first tier whose keys
   find anything decides, and only when each of them found one record and all the same one;
3. a record already linked, in any role, to another contact is never matched; nor is a record
   that two contacts of this run both match, nor a key value two contacts share.

Whatever cannot be decided safely holds the contact back in every role with one reason that
names the records involved; nothing of it is written, so nothing is guessed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.keys import key_tuple
from tribe_operators.exceptions import MappingConfigError

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec
    from tribe_operators.store.links import Link, LinkStore

__all__ = ["PartyResolver", "Resolution", "party_roles"]


@dataclass(frozen=True)
class Resolution:
    """One contact's answer. Neither a target nor ``held``: nothing matched, create it."""

    target_id: str | None = None
    via: str | None = None  # "link:customer", "match:DebtorNumber"
    stream: str | None = None  # the role whose key matched (a match only)
    record: dict[str, Any] | None = None  # the matched record as the target holds it (a match only)
    link: Link | None = None  # the binding (a link only)
    held: tuple[str | None, str] | None = None  # (field, reason)


@dataclass(frozen=True)
class _Hit:
    stream: str
    fields: tuple[str, ...]
    value: tuple[Any, ...]
    records: list[dict[str, Any]]

    @property
    def label(self) -> str:
        return f"{'+'.join(self.fields)} {'/'.join(map(str, self.value))}"


def party_roles(spec: StreamSpec) -> list[StreamSpec]:
    """The streams that are roles of the same contacts as ``spec`` (itself included)."""
    if not spec.party:
        return [spec]
    from tribe_operators.mapping.spec import load_stream

    roles = [spec if name == spec.stream else load_stream(spec.integration, name) for name in spec.party]
    for role in roles:
        if (role.party, role.direction, role.target.entity_set) != (spec.party, spec.direction, spec.target.entity_set):
            raise MappingConfigError(
                f"{spec.integration}/{role.stream}: a role of party {spec.party} must declare the same party, "
                f"direction ({spec.direction}) and target set ({spec.target.entity_set})")
    return roles


class PartyResolver:
    """Resolve contacts (by source id) to target records with the keys of all their roles.

    Args:
        own: The stream whose decisions are wanted (its link is tried first).
        roles: Every role of the party, ``own`` included (``party_roles``).
        links: The link store of this integration and scope.
        target: The target adapter (``find``, ``id_key``).
    """

    def __init__(self, own: StreamSpec, roles: list[StreamSpec], links: LinkStore, target: Any) -> None:
        self.own = own
        self.roles = {r.stream: r for r in roles}
        self.links = links
        self.target = target
        self.exporting = own.direction == "export"
        entities = [e for r in (own, *roles) for e in (r.target.link_entity, *(k.link for k in r.dedupe if k.link))]
        self.entities = list(dict.fromkeys(entities))
        self.tiers = {r.stream: [tuple(k.match) for k in r.dedupe if k.match] for r in roles}
        self.keys: dict[str, dict[str, dict[str, Any]]] = {}  # contact → role → {key field: value}
        self.resolved: dict[str, Resolution] = {}
        self._claims: dict[str, str] = {}  # target id → the contact resolved to it

    def add(self, stream: str, source_id: str, fields: dict[str, Any]) -> None:
        """Note one role's record of a contact (only its key fields are kept)."""
        wanted = {f for key in self.tiers[stream] for f in key}
        self.keys.setdefault(str(source_id), {})[stream] = {f: fields.get(f) for f in wanted}

    def roles_of(self, source_id: str) -> list[str]:
        return list(self.keys.get(str(source_id), {}))

    def resolve(self) -> dict[str, Resolution]:
        """Resolve every contact added since the last call; returns all answers so far."""
        todo = [p for p in self.keys if p not in self.resolved]
        if todo:
            out = self._by_links(todo)
            pending = [p for p in todo if p not in out]
            self._shared(pending, out)
            self._settle(self._by_keys([p for p in pending if p not in out], out), out)
            for p in pending:
                out.setdefault(p, Resolution())
            self.resolved.update(out)
        return self.resolved

    # -- the steps ---------------------------------------------------------------------------
    def _by_links(self, todo: list[str]) -> dict[str, Resolution]:
        out: dict[str, Resolution] = {}
        lookup = self.links.links_by_tribe if self.exporting else self.links.links_by_external
        for entity in self.entities:
            rest = [p for p in todo if p not in out]
            for p, link in (lookup(entity, rest) if rest else {}).items():
                target_id = str(link.external_id if self.exporting else link.tribe_id)
                out[p] = Resolution(target_id, f"link:{entity}", link=link)
                self._claims.setdefault(target_id, p)
        return out

    def _shared(self, pending: list[str], out: dict[str, Resolution]) -> None:
        """Two contacts with one key value (two customers numbered 10050): which one a target
        record carrying it belongs to cannot be told, so neither is matched nor created."""
        for stream, keys in self.tiers.items():
            for fields in keys:
                sharing: dict[tuple[str, ...], list[str]] = defaultdict(list)
                for p in pending:
                    value = self._value(p, stream, fields)
                    if value is not None:
                        sharing[key_tuple(value)].append(p)  # type: ignore[index]
                for group in (g for g in sharing.values() if len(g) > 1):
                    for p in group:
                        value = "/".join(map(str, self._value(p, stream, fields) or ()))
                        others = ", ".join(o for o in group if o != p)
                        out.setdefault(p, self._held(fields[0], (
                            f"{'+'.join(fields)} {value} is also on {self.own.source.system} record(s) {others}: "
                            "two source records share it — fix one of them")))

    def _by_keys(self, pending: list[str], out: dict[str, Resolution]) -> dict[str, tuple[str, _Hit]]:
        """Tier by tier: ``{contact: (target id, the hit)}`` for contacts with one candidate."""
        candidates: dict[str, tuple[str, _Hit]] = {}
        for tier in range(max((len(k) for k in self.tiers.values()), default=0)):
            open_ = [p for p in pending if p not in out and p not in candidates]
            hits: dict[str, list[_Hit]] = defaultdict(list)
            for stream, keys in self.tiers.items():
                if tier >= len(keys) or not open_:
                    continue
                fields = keys[tier]
                values = {p: v for p in open_ if (v := self._value(p, stream, fields)) is not None}
                found = self.target.find(self.roles[stream], list(fields), list(values.values())) if values else {}
                for p, value in values.items():
                    if found.get(value):
                        hits[p].append(_Hit(stream, fields, value, found[value]))
            for p, party_hits in hits.items():
                verdict = self._verdict(party_hits)
                if isinstance(verdict, Resolution):
                    out[p] = verdict
                else:
                    candidates[p] = verdict
        return candidates

    def _verdict(self, hits: list[_Hit]) -> Resolution | tuple[str, _Hit]:
        spec = self.own.target
        for hit in hits:
            if len(hit.records) > 1:
                ids = ", ".join(sorted(self._id(r) for r in hit.records))
                return self._held(hit.fields[0], f"{hit.label} matches {len(hit.records)} {spec.entity_set} records "
                                                 f"({ids}); merge the duplicates in {spec.system}")
        by_id = {self._id(hit.records[0]): hit for hit in hits}
        if len(by_id) > 1:
            parts = "; ".join(f"{hit.label} is on {rid}" for rid, hit in by_id.items())
            return self._held(hits[0].fields[0], f"the keys of this contact point at different {spec.entity_set} "
                                                 f"records ({parts}); merge them in {spec.system} or correct a number")
        return next(iter(by_id.items()))

    def _settle(self, candidates: dict[str, tuple[str, _Hit]], out: dict[str, Resolution]) -> None:
        """A candidate linked to another contact, or wanted by two, is nobody's match."""
        bound_to = self.links.bulk_to_internal if self.exporting else self.links.bulk_to_external
        ids = {rid for rid, _ in candidates.values()}
        owner: dict[str, tuple[str, str]] = {}
        for entity in self.entities:
            for rid, other in (bound_to(entity, ids) if ids else {}).items():
                owner.setdefault(str(rid), (str(other), entity))
        claims: dict[str, list[str]] = defaultdict(list)
        for p, (rid, hit) in candidates.items():
            bound = owner.get(rid)
            if bound is not None and bound[0] != p:
                out[p] = self._held(hit.fields[0], (
                    f"{hit.label} matches {self.own.target.entity_set} {rid}, which is already linked to "
                    f"{self.own.integration} record {bound[0]} (as {bound[1]}); two records share this number"))
            else:
                claims[rid].append(p)
        for rid, contacts in claims.items():
            earlier = self._claims.get(rid)
            rivals = sorted({*contacts, *([earlier] if earlier else [])})
            for p in contacts:
                hit = candidates[p][1]
                if len(rivals) > 1:
                    others = ", ".join(o for o in rivals if o != p)
                    out[p] = self._held(hit.fields[0], (
                        f"{hit.label} matches {self.own.target.entity_set} {rid}, which {self.own.source.system} "
                        f"record(s) {others} match as well; which one it is cannot be told — fix the numbers"))
                else:
                    out[p] = Resolution(rid, f"match:{'+'.join(hit.fields)}", hit.stream, hit.records[0])
                    self._claims[rid] = p

    # -- helpers -----------------------------------------------------------------------------
    def _value(self, p: str, stream: str, fields: tuple[str, ...]) -> tuple[Any, ...] | None:
        row = self.keys[p].get(stream)
        if row is None:
            return None
        value = tuple(row.get(f) for f in fields)
        return value if key_tuple(value) is not None else None

    def _id(self, record: dict[str, Any]) -> str:
        return self.own.target.record_id(record, self.target.id_key)

    @staticmethod
    def _held(field: str | None, reason: str) -> Resolution:
        return Resolution(held=(field, reason))
