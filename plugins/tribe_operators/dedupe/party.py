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
3. a record that is another contact's — linked to it in any role, or settled on by it in this
   run (at an earlier tier, or in the same tier by keys that point at that record alone) — is
   never matched, and is no candidate: a number on it and on one other organisation points at
   the other. A record two contacts settle on is nobody's match, nor is a key value two
   contacts share.

Whatever cannot be decided safely holds the contact back in every role with one reason that
names the records involved; nothing of it is written, so nothing is guessed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.keys import field_value, key_tuple
from tribe_operators.dedupe.workspace import Workspace
from tribe_operators.exceptions import MappingConfigError

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec
    from tribe_operators.store.links import Link, LinkStore

__all__ = ["PartyResolver", "Resolution", "party_roles"]

_BATCH = 1000  # contacts' roles made known before they are written to the workspace


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

    Contacts, key values and answers live in temporary tables (``workspace``): the shared-key
    check is a ``GROUP BY`` there, the target is asked for the keys a thousand at a time, and
    only the contacts whose keys found a record in a tier are held in memory while that tier is
    settled (what they found decides, together, which record is whose).

    Args:
        own: The stream whose decisions are wanted (its link is tried first).
        roles: Every role of the party, ``own`` included (``party_roles``).
        links: The link store of this integration and scope (its database holds the tables).
        target: The target adapter (``find``, ``id_key``).
    """

    def __init__(self, own: StreamSpec, roles: list[StreamSpec], links: LinkStore, target: Any, *,
                 create_new: set[str] | None = None) -> None:
        self.own = own
        self.roles = {r.stream: r for r in roles}
        self.links = links
        self.target = target
        self.exporting = own.direction == "export"
        entities = [e for r in (own, *roles) for e in (r.target.link_entity, *(k.link for k in r.dedupe if k.link))]
        self.entities = list(dict.fromkeys(entities))
        self.tiers = {r.stream: [tuple(k.match) for k in r.dedupe if k.match] for r in roles}
        self._role = {stream: i for i, stream in enumerate(self.tiers)}
        self._written = {r.stream: {f.target for f in r.fields if not (f.match_only or f.check_only or f.only_create or f.at_least)}
                         for r in roles}  # what an update writes
        self.create_new = create_new or set()  # contacts a person said are nobody's record ("create new")
        self.work = Workspace(links.engine)
        self._added: dict[tuple[str, str], tuple[int, list[tuple[int, tuple[str, ...], tuple[Any, ...]]]]] = {}
        # the tier being settled: the key values of the contacts involved, and the records
        # settled on or in doubt among those its keys found
        self._values: dict[tuple[str, int], tuple[Any, ...]] = {}
        self._claims: dict[str, str] = {}  # target id → the contact resolved to it
        self._disputed: dict[str, str] = {}  # target id → a held contact whose keys found it

    def close(self) -> None:
        """Drop the temporary tables (also done when the resolver is collected)."""
        self.work.close()

    def add(self, stream: str, source_id: str, fields: dict[str, Any]) -> None:
        """Note one role's record of a contact (only its key fields are kept)."""
        keys = []
        for tier, key in enumerate(self.tiers[stream]):
            value = tuple(field_value(fields, f) for f in key)
            if (normal := self._normal(stream, key, value)) is not None:
                keys.append((tier, normal, value))
        self._added[(str(source_id), stream)] = (self._role[stream], keys)
        if len(self._added) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._added:
            self.work.put(self._added)
            self._added = {}

    def roles_of(self, source_id: str) -> list[str]:
        return self.answers([source_id]).get(str(source_id), ([], None))[0]

    def resolve(self) -> bool:
        """Resolve every contact added since the last call (False: there was none)."""
        self._flush()
        low, self.work.resolved = self.work.resolved, self.work.seq
        if low == self.work.seq:
            return False
        self._by_links(low)
        self._shared(low)
        self._by_keys(low)
        return True

    def answers(self, source_ids: list[str]) -> dict[str, tuple[list[str], Resolution | None]]:
        """``{contact: (its roles, its answer — None until it is resolved)}`` of those made known."""
        self._flush()
        return {p: (roles, (answer or Resolution()) if resolved else None)
                for p, (roles, answer, resolved) in self.work.answers(map(str, source_ids)).items()}

    # -- the steps ---------------------------------------------------------------------------
    def _by_links(self, low: int) -> None:
        lookup = self.links.links_by_tribe if self.exporting else self.links.links_by_external
        for todo in self.work.open_contacts(low):
            out: dict[str, Resolution | None] = {}
            for entity in self.entities:
                rest = [p for p in todo if p not in out]
                for p, link in (lookup(entity, rest) if rest else {}).items():
                    target_id = str(link.external_id if self.exporting else link.tribe_id)
                    out[p] = Resolution(target_id, f"link:{entity}", link=link)
            out.update({p: None for p in todo if p not in out and p in self.create_new})
            self.work.settle(out)

    def _shared(self, low: int) -> None:
        """Two contacts with one key value (two customers numbered 10050): which one a target
        record carrying it belongs to cannot be told, so neither is matched nor created."""
        out: dict[str, Resolution] = {}
        for stream, keys in self.tiers.items():
            for tier, fields in enumerate(keys):
                for group in self.work.shared(low, self._role[stream], tier):
                    for p, value in group:
                        others = ", ".join(o for o, _ in group if o != p)
                        out.setdefault(p, self._held(fields[0], (
                            f"{'+'.join(fields)} {'/'.join(map(str, value))} is also on {self.own.source.system} "
                            f"record(s) {others}: two source records share it — fix one of them")))
        self.work.settle(out)  # type: ignore[arg-type]

    def _by_keys(self, low: int) -> None:
        """Tier by tier, in rounds: contacts whose keys point at one record that is nobody's
        settle on it; a record settled on (or linked, or taken at an earlier tier) is that
        contact's, so the others lose it and may be left with one — the next round. What is
        still in doubt when no round settles anything more is held. The answer is the same
        whichever contact comes first, and the same on the next run."""
        for tier in range(max((len(k) for k in self.tiers.values()), default=0)):
            hits: dict[str, list[_Hit]] = defaultdict(list)
            for stream, keys in self.tiers.items():
                if tier >= len(keys):
                    continue
                fields, spec = keys[tier], self.roles[stream]
                if plan := getattr(self.target, "plan_find", None):  # it may read the whole set instead
                    plan(spec, list(fields), self.work.count_open_keys(low, self._role[stream], tier))
                for values in self.work.open_keys(low, self._role[stream], tier):
                    found = self.target.find(spec, list(fields), [v for _, v in values])
                    for p, value in values:
                        if found.get(value):
                            hits[p].append(_Hit(stream, fields, value, found[value]))
                if plan:
                    plan(spec, list(fields), None)
            if not hits:
                continue
            rids = {self._id(r) for party in hits.values() for h in party for r in h.records}
            owners = self._owners(rids)
            self._claims, self._disputed = self.work.marked("claim", rids), self.work.marked("doubt", rids)
            known = {*hits, *(o for o, _ in owners.values()), *self._claims.values()}
            self._values = self.work.values(tier, known)
            claims_before, disputed_before = dict(self._claims), dict(self._disputed)
            out: dict[str, Resolution] = {}
            found_by = dict(hits)
            while hits := self._current(hits, owners):
                verdicts = {p: self._verdict(p, hs, owners) for p, hs in hits.items()}
                singles = {p: v for p, v in verdicts.items() if not isinstance(v, Resolution)}
                if not singles:
                    out.update(verdicts)  # type: ignore[arg-type]  # all held
                    break
                self._settle(singles, out)
                hits = {p: hs for p, hs in hits.items() if p not in singles}
            for p in (p for p in found_by if p in out and out[p].held):  # what a held contact's keys found
                for rid in sorted({self._id(r) for h in found_by[p] for r in h.records}):  # stays in doubt
                    self._disputed.setdefault(rid, p)
            self.work.settle(out)  # type: ignore[arg-type]
            self.work.mark("claim", {r: p for r, p in self._claims.items() if r not in claims_before})
            self.work.mark("doubt", {r: p for r, p in self._disputed.items() if r not in disputed_before})
            self._values, self._claims, self._disputed = {}, {}, {}

    def _current(self, hits: dict[str, list[_Hit]], owners: dict[str, tuple[str, str]]) -> dict[str, list[_Hit]]:
        """Drop what a record will not carry after this run: a record that is another contact's,
        whose own different number that contact writes into the field, is not where this
        contact's number is (a stale or reused number). Holding it back instead would only
        postpone the answer to the next run, after the owner's write."""
        current: dict[str, list[_Hit]] = {}
        for p, party_hits in hits.items():
            kept = []
            for hit in party_hits:
                records = [r for r in hit.records if not self._overwritten(p, hit, self._owner(self._id(r), owners))]
                if records:
                    kept.append(_Hit(hit.stream, hit.fields, hit.value, records))
            if kept:
                current[p] = kept
        return current

    def _overwritten(self, p: str, hit: _Hit, owner: tuple[str, str] | None) -> bool:
        if owner is None or owner[0] == p or not set(hit.fields) <= self._written[hit.stream]:
            return False
        theirs = self._value(owner[0], hit.stream)
        return theirs is not None and (self._normal(hit.stream, hit.fields, theirs)
                                       != self._normal(hit.stream, hit.fields, hit.value))

    def _owners(self, ids: set[str]) -> dict[str, tuple[str, str]]:
        """``{target id: (contact, as what)}`` for records bound by a link (any role)."""
        bound_to = self.links.bulk_to_internal if self.exporting else self.links.bulk_to_external
        owner: dict[str, tuple[str, str]] = {}
        for entity in self.entities:
            for rid, other in (bound_to(entity, ids) if ids else {}).items():
                owner.setdefault(str(rid), (str(other), f"which is {self._named(other)}'s (linked as {entity})"))
        return owner

    def _verdict(self, p: str, hits: list[_Hit], owners: dict[str, tuple[str, str]]) -> Resolution | tuple[str, _Hit]:
        """One contact's hits → the one record they agree on, or why it is held. Records that are
        another contact's (linked, or settled on in this run) are never this contact's; one that
        a held contact's keys found may be either's, so it holds this one too."""
        spec = self.own.target
        kept: list[_Hit] = []
        for hit in hits:
            for rid in (self._id(r) for r in hit.records):
                if (doubt := self._doubt(rid)) and doubt[0] != p:  # whose it is is not known yet
                    return self._held(hit.fields[0], f"{hit.label} matches {spec.entity_set} {rid}, {doubt[1]}")
            theirs = {rid: o for r in hit.records if (o := self._owner(rid := self._id(r), owners)) and o[0] != p}
            if len(theirs) == len(hit.records):
                rid, (_, which) = next(iter(theirs.items()))
                return self._held(hit.fields[0], f"{hit.label} matches {spec.entity_set} {rid}, {which}; "
                                                 "two records share this number")
            kept.append(_Hit(hit.stream, hit.fields, hit.value, [r for r in hit.records if self._id(r) not in theirs]))
        for hit in kept:
            if len(hit.records) > 1:
                ids = ", ".join(sorted(self._id(r) for r in hit.records))
                return self._held(hit.fields[0], f"{hit.label} matches {len(hit.records)} {spec.entity_set} records "
                                                 f"({ids}); merge the duplicates in {spec.system}")
        by_id = {self._id(hit.records[0]): hit for hit in kept}
        if len(by_id) > 1:
            parts = "; ".join(f"{hit.label} is on {rid}" for rid, hit in by_id.items())
            return self._held(kept[0].fields[0], f"the keys of this contact point at different {spec.entity_set} "
                                                 f"records ({parts}); merge them in {spec.system} or correct a number")
        return next(iter(by_id.items()))

    def _doubt(self, rid: str) -> tuple[str, str] | None:
        held = self._disputed.get(rid)
        return (held, f"which {self._named(held)}'s keys find too, and that one is held back: settle it first"
                ) if held else None

    def _owner(self, rid: str, owners: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
        if rid in owners:
            return owners[rid]
        other = self._claims.get(rid)
        return (other, f"which {self._named(other)} is matched to in this run") if other else None

    def _settle(self, verdicts: dict[str, Resolution | tuple[str, _Hit]], out: dict[str, Resolution]) -> None:
        """Contacts of one round that settle on the same record, or on one settled earlier, are
        nobody's match: which one it is cannot be told."""
        claims: dict[str, list[str]] = defaultdict(list)
        for p, verdict in verdicts.items():
            if isinstance(verdict, Resolution):
                out[p] = verdict
            else:
                claims[verdict[0]].append(p)
        for rid, contacts in claims.items():
            earlier = self._claims.get(rid)
            rivals = sorted({*contacts, *([earlier] if earlier else [])})
            for p in contacts:
                hit = verdicts[p][1]  # type: ignore[index]
                if len(rivals) > 1:
                    others = ", ".join(o for o in rivals if o != p)
                    out[p] = self._held(hit.fields[0], (
                        f"{hit.label} matches {self.own.target.entity_set} {rid}, which {self.own.source.system} "
                        f"record(s) {others} match as well; which one it is cannot be told — fix the numbers"))
                else:
                    out[p] = Resolution(rid, f"match:{'+'.join(hit.fields)}", hit.stream, hit.records[0])
                    self._claims[rid] = p

    # -- helpers -----------------------------------------------------------------------------
    def _value(self, p: str, stream: str) -> tuple[Any, ...] | None:
        """A contact's value of the current tier's key in role ``stream`` (None: it has none)."""
        return self._values.get((p, self._role[stream]))

    def _normal(self, stream: str, fields: tuple[str, ...], value: tuple[Any, ...]) -> tuple[str, ...] | None:
        return key_tuple(value, self.roles[stream].key_normalisers(fields))

    def _id(self, record: dict[str, Any]) -> str:
        return self.own.target.record_id(record, self.target.id_key)

    def _named(self, other: str) -> str:
        return f"{self.own.source.system} record {other}"

    @staticmethod
    def _held(field: str | None, reason: str) -> Resolution:
        return Resolution(held=(field, reason))
