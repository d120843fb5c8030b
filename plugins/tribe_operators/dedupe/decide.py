"""Decide create / update / link / skip for a stream's mapped records.

Which target record a record is comes from ``party.PartyResolver`` (links first, then the
mapping file's match keys, for all roles of the contact at once). The decision is stored with
the record:

* ``create`` — nothing matched;
* ``update`` — matched, and the content differs from what we last wrote (or from the target);
* ``link`` — matched by a key, content already equal: only the binding is written;
* ``skip`` — linked, and the content hash equals the last sync's: nothing to do.

A match by a number key that declares ``confirm_name`` is held when the names share nothing
meaningful (``names.NameCheck``, thresholds in the settings' ``number_match``), unless a person
answered "link anyway" for that very record; "create new" makes the contact a record of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.keys import field_value
from tribe_operators.dedupe.names import NameCheck
from tribe_operators.dedupe.party import PartyResolver, Resolution
from tribe_operators.mapping.compare import below_floor

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import DedupeKey, StreamSpec
    from tribe_operators.store.links import LinkStore
    from tribe_operators.store.match_decisions import MatchDecision, MatchDecisions

__all__ = ["Decision", "Deduper"]


@dataclass
class Decision:
    source_id: str
    decision: str | None  # None: quarantined, see ``error``
    target_id: str | None = None
    matched_by: str | None = None
    error: tuple[str | None, str] | None = None  # (field, reason)
    action: dict[str, Any] | None = None  # what a person can do about a hold (quarantine.action)


class Deduper:
    """Decide for the records of one stream.

    Args:
        spec: The stream's mapping (its ``dedupe`` keys and link entity).
        links: The link store of this integration and scope.
        target: The target adapter (``find``, ``differs``).
        roles: All roles of the stream's contacts (``party_roles``); default: the stream alone.
        settings: The integration's settings (``number_match``); default: the checks' defaults.
        decisions: People's answers to held matches by number (``store.match_decisions``).
        held_opposite: Target records the opposite direction holds as undecidable, with its
            reason: never matched by a key here (a link, made earlier, still counts).

    Records of the other roles (and this stream's records that could not be mapped, with the
    key fields they have) are made known with ``add`` before ``decide``: all of them take part.
    """

    def __init__(self, spec: StreamSpec, links: LinkStore, target: Any, roles: list[StreamSpec] | None = None, *,
                 settings: dict[str, Any] | None = None, decisions: MatchDecisions | None = None,
                 held_opposite: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.held_opposite = held_opposite or {}
        self.target = target
        self.answers: dict[str, MatchDecision] = decisions.all(spec.target.entity_set) if decisions else {}
        self.resolver = PartyResolver(spec, roles or [spec], links, target,
                                      create_new={p for p, a in self.answers.items() if a.choice == "create"})
        self._not_updated = {f.target for f in spec.fields if f.only_create or f.match_only or f.at_least}
        self._floors = {f.target for f in spec.fields if f.at_least}
        check = (settings or {}).get("number_match") or {}
        self.names = NameCheck(**{k: check[k] for k in ("min_name_similarity", "min_word_similarity") if k in check}
                               ) if check.get("check_names", True) else None

    def add(self, stream: str, source_id: str, fields: dict[str, Any]) -> None:
        self.resolver.add(stream, source_id, fields)

    def close(self) -> None:
        """Drop the resolver's temporary tables now (else when the deduper is collected)."""
        self.resolver.close()

    def __enter__(self) -> Deduper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decide(self, rows: list[dict[str, Any]]) -> list[Decision]:
        """``rows`` are staging rows with ``source_id`` and ``mapped`` ({fields, update_hash})."""
        ids = [str(row["source_id"]) for row in rows]
        answers = self.resolver.answers(ids)
        for sid, row in zip(ids, rows, strict=True):
            if self.spec.stream not in answers.get(sid, ((), None))[0]:
                self.add(self.spec.stream, sid, row["mapped"]["fields"])
        if self.resolver.resolve():  # contacts made known since: these rows' answers are new
            answers = self.resolver.answers(ids)
        return [self._decision(row, *answers[sid]) for sid, row in zip(ids, rows, strict=True)]

    def _decision(self, row: dict[str, Any], roles: list[str], res: Resolution | None) -> Decision:
        assert res is not None  # resolved by ``decide``
        source_id = str(row["source_id"])
        if res.held is not None:
            field, reason = res.held
            if len(roles) > 1:
                reason += f" (held back in each of its roles: {', '.join(roles)})"
            return Decision(source_id, None, error=(field, reason))
        if res.link is not None:
            last = res.link.external_hash if self.resolver.exporting else res.link.tribe_hash
            unchanged = res.via == f"link:{self.spec.target.link_entity}" and last == row["mapped"]["update_hash"]
            return Decision(source_id, "skip" if unchanged else "update", res.target_id, res.via)
        if res.target_id is not None:
            if (why := self.held_opposite.get(str(res.target_id))) is not None:
                reason = (f"{res.via.removeprefix('match:') if res.via else 'its key'} matches "
                          f"{self.spec.target.entity_set} {res.target_id}, which the other direction holds back: {why}")
                return Decision(source_id, None, error=(None, reason))
            if (held := self._unlike_names(row, res)) is not None:
                return held
            # Found through another role's key: the record was read in that role's shape, so
            # the load step compares it afresh (an update that changes nothing is skipped there).
            changed = (res.stream != self.spec.stream or self.target.differs(res.record, self._updatable(row))
                       or bool(below_floor(self._floor_values(row), res.record or {})))
            return Decision(source_id, "update" if changed else "link", res.target_id, res.via)
        return Decision(source_id, "create")

    def _unlike_names(self, row: dict[str, Any], res: Resolution) -> Decision | None:
        """A match by a number whose names share nothing: held with both names and ids, unless a
        person said "link anyway" to this very record."""
        key = self._confirming_key(res)
        source_id = str(row["source_id"])
        answer = self.answers.get(source_id)
        if self.names is None or key is None or (answer and answer.target_id == res.target_id):
            return None
        fields = key.confirm_name or []
        ours, theirs = _name(row["mapped"]["fields"], fields), _name(res.record or {}, fields)
        if self.names.alike(ours, theirs):
            return None
        whole, best = self.names.similarity(ours, theirs)
        label = f"{'+'.join(key.match or [])} {'/'.join(str(field_value(row['mapped']['fields'], f)) for f in key.match or [])}"
        target = f"{self.spec.target.entity_set} {res.target_id}"
        reason = (f"{label} matches {target} '{theirs}', whose name shares nothing with this record's '{ours}' "
                  f"(similarity {whole:.2f} as a whole, {best:.2f} at best per word; number_match in the settings): "
                  f"numbers of two sequences may have met. Link anyway or create new on the tribe-sync page, or "
                  f"correct the number")
        action = {"kind": "number_match", "key": label, "source_name": ours, "target_id": res.target_id,
                  "target_name": theirs, "entity_set": self.spec.target.entity_set}
        return Decision(source_id, None, error=(key.match[0] if key.match else None, reason), action=action)

    def _confirming_key(self, res: Resolution) -> DedupeKey | None:
        if not res.via or not res.via.startswith("match:") or res.stream not in self.resolver.roles:
            return None
        fields = res.via.removeprefix("match:").split("+")
        return next((k for k in self.resolver.roles[res.stream].dedupe if k.match == fields and k.confirm_name), None)

    def _floor_values(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row["mapped"]["fields"].items() if k in self._floors}

    def _updatable(self, row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row["mapped"]["fields"].items() if k not in self._not_updated}


def _name(record: dict[str, Any], fields: list[str]) -> str:
    return " ".join(str(v) for f in fields if (v := field_value(record, f)) not in (None, "")).strip()
