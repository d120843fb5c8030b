"""Typed schema of a stream's YAML file, validated at load time (fail before a run, not during).

A stream file says where records come from, where they go, how they are matched and how
each field is mapped. See ``include/mappings/README.md`` for the vocabulary.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tribe_operators.exceptions import MappingConfigError
from tribe_operators.mapping.files import mappings_root

__all__ = ["DedupeKey", "FieldMap", "StreamSpec", "covers", "load_stream", "mappings_root"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RelationTypeSpec(_Strict):
    """The stream reads the records whose ``field`` holds a code the settings' ``relation_types``
    give for ``relationship`` (Exact Online's account ``Status`` C = Customer)."""

    field: str
    relationship: str


class SourceSpec(_Strict):
    system: str
    resource: str
    id_field: str = "Id"
    # A record only addressable under its parent (``/ContactPersons/{ContactId}/{Id}``): its
    # source id is this template, e.g. "{ContactId}/{Id}", which is also its path for a GET.
    id_template: str | None = None
    modified_field: str
    changed_since_param: str | None = None  # server-side "modified after" filter, if the API has one
    # A sync endpoint's ordering field (Exact's ``Timestamp``, an Int64): the stream reads on from
    # the cursor its last load committed instead of a time window (``protocols.CursorSource``).
    cursor_field: str | None = None
    # A date the record ends on (an item's ``EndDate``): when that day passes nothing in the
    # source changes, so once a day the stream also reads the records whose date passed since it
    # last looked (``sync.ended``, ``protocols.EndingSource``); the mapping marks them ended.
    ends_field: str | None = None
    unwrap: str | None = None  # read through a relationship set, sync the record under this navigation
    # Navigations whose own change counts as a change of the record: a contact is changed when
    # its person's name is (Tribe stamps the person, not the contact relationship).
    changed_via: list[str] = Field(default_factory=list)
    # What the stream is: ``{field: value}`` equalities, or a list of conditions (mapping.filters)
    # such as ``{field: customer_rank, op: gt, value: 0}``.
    where: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    # Source field → the API's list parameter that filters on it (PowerOffice ``customerNos``):
    # an eq / in condition on that field is sent, not checked here.
    filters: dict[str, str] = Field(default_factory=dict)
    relation_type: RelationTypeSpec | None = None
    # Tribe webhook entity types that concern this stream. A run a webhook started reads only
    # the streams its event concerns (the 5-minute poll reads the rest). Empty: every such run.
    webhook_types: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way_to_related(self) -> SourceSpec:
        if self.unwrap and self.changed_via:
            raise ValueError("source.changed_via is for a record read directly, not through unwrap")
        return self

    def concerns(self, entity_type: str) -> bool:
        """Whether a webhook event for ``entity_type`` may change what this stream reads: one
        type covers the other (an event for ``Relationship.Organization`` may be any kind)."""
        return not self.webhook_types or any(covers(t, entity_type) or covers(entity_type, t)
                                             for t in self.webhook_types)

    def record_id(self, record: dict[str, Any]) -> str:
        """The id a record is staged, linked and re-read (``GET resource/<id>``) by."""
        if self.id_template:
            return self.id_template.format_map(record)
        return str(record[self.id_field])


class RelationshipSpec(_Strict):
    entity_set: str
    child: Literal["Organization", "Person"]
    fields: dict[str, Any] = Field(default_factory=dict)


class TargetSpec(_Strict):
    system: str
    entity_set: str
    link_entity: str
    relationship: RelationshipSpec | None = None
    filters: dict[str, str] = Field(default_factory=dict)  # target field → the API's list filter for it
    write_back: dict[str, str] = Field(default_factory=dict)  # after a create: target field → source field
    number: str | None = None  # the target field holding the record's accounting number (kept on its link)
    # A field each create writes with a value unique to its source record, which the system keeps
    # unique and can filter on (PowerOffice's ExternalImportReference "tribe:{ID}"): a create whose
    # answer or link was lost is found by it before any match key (sync/load/reconcile.py).
    reference: str | None = None
    # A record addressed under its parent (PowerOffice contact persons): it is created with
    # ``POST <entity_set>/<value of create_under>`` (that field is not sent in the body) and its
    # id is ``id_template`` over the created record, e.g. "{ContactId}/{Id}".
    create_under: str | None = None
    id_template: str | None = None

    def record_id(self, record: dict[str, Any], id_key: str) -> str:
        """The id a target record is linked, fetched and updated by."""
        if self.id_template:
            return self.id_template.format_map(record)
        return str(record[id_key])


class DedupeKey(_Strict):
    """One match key: an existing link, or equality of mapped target field(s)."""

    link: str | None = None  # link entity whose binding of the same external id counts as a match
    match: list[str] | None = None  # target fields (dotted into a nested record) that must all be equal
    normalise: dict[str, str] = Field(default_factory=dict)  # field → a normaliser of dedupe.keys
    # Target fields holding the name: a match by this key (a number two sequences can share) whose
    # name shares nothing meaningful with the target's is held for a person (dedupe/names.py).
    confirm_name: list[str] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DedupeKey:
        if (self.link is None) == (self.match is None):
            raise ValueError("a dedupe key has exactly one of 'link' or 'match'")
        from tribe_operators.dedupe.keys import NORMALISERS

        if unknown := set(self.normalise) - set(self.match or ()):
            raise ValueError(f"normalise names field(s) {sorted(unknown)} that are not in match")
        if bad := {n for n in self.normalise.values() if n not in NORMALISERS}:
            raise ValueError(f"unknown normaliser(s) {sorted(bad)}; known: {sorted(NORMALISERS)}")
        return self

    def normalisers(self) -> tuple[str, ...]:
        return tuple(self.normalise.get(f, "text") for f in self.match or ())


class Step(_Strict):
    """One transform of a ``pipe``."""

    transform: str
    args: dict[str, Any] = Field(default_factory=dict)


class FieldMap(_Strict):
    target: str
    source: str | None = None  # dotted path into the source record; None with template/value
    template: str | None = None  # str.format over the source record, e.g. "poweroffice:{Id}"
    value: Any = None
    transform: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    pipe: list[Step] = Field(default_factory=list)  # several transforms, applied in order
    spread: bool = False  # the transform returns {field: value}: merge it instead of one target
    required: bool = False
    only_create: bool = False  # written on create, never on update, left out of the content hash
    # A floor, not a value: written on create, and on update only where the target holds less (Odoo's
    # customer_rank, which Odoo counts up with each posted invoice: a partner linked in a second role
    # gets that role's rank, never loses a higher one). Left out of the content hash.
    at_least: bool = False
    check_only: bool = False  # validated (may quarantine), never written: e.g. "is this VAT code mapped?"
    match_only: bool = False  # used by dedupe keys, never written (the other side's number leads)
    # match_only while the settings hold these values: ``{partner_numbering: odoo}`` (Odoo numbers
    # new partners itself, and its number leads; otherwise Tribe's number is written).
    match_only_if: dict[str, Any] = Field(default_factory=dict)

    def is_match_only(self, settings: dict[str, Any]) -> bool:
        return self.match_only or bool(self.match_only_if) and all(
            settings.get(k) == v for k, v in self.match_only_if.items())

    @model_validator(mode="after")
    def _has_input(self) -> FieldMap:
        if self.source is None and self.template is None and self.value is None:
            raise ValueError(f"field {self.target!r} needs one of source, template or value")
        if self.transform and self.pipe:
            raise ValueError(f"field {self.target!r}: use transform or pipe, not both")
        return self

    def steps(self) -> list[Step]:
        return [Step(transform=self.transform, args=self.args)] if self.transform else list(self.pipe)


class ChildSpec(_Strict):
    """A list inside a record mapped element by element (invoice lines)."""

    source: str
    target: str
    required: bool = False  # at least one element
    fields: list[FieldMap]


class LookupSpec(_Strict):
    """A code → id table read once per run from a system (countries, units, VAT groups)."""

    system: str
    entity_set: str
    key: str = "Code"
    value: str | None = None  # which field the table returns (default: the record's id)


class StreamSpec(_Strict):
    stream: str
    integration: str
    direction: Literal["import", "export"]
    description: str = ""
    source: SourceSpec
    target: TargetSpec
    dedupe: list[DedupeKey]
    lookups: dict[str, LookupSpec] = Field(default_factory=dict)
    fields: list[FieldMap]
    children: list[ChildSpec] = Field(default_factory=list)
    # The stream of the opposite direction over the same link entity: after a write we hash the
    # written record through *its* mapping, so the write is not echoed back (content hash per side).
    counterpart: str | None = None
    # The streams that are roles of one external contact, this one included (customers and
    # suppliers: one PowerOffice Id, one Tribe organisation). Their records are resolved
    # together: all roles' links and keys decide which target record a contact is (dedupe.party).
    party: list[str] = Field(default_factory=list)

    def key_normalisers(self, fields: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """The normalisers of the match key made of ``fields`` (``text`` for each by default)."""
        key = next((k for k in self.dedupe if k.match == list(fields)), None)
        return key.normalisers() if key is not None else ("text",) * len(fields)

    @model_validator(mode="after")
    def _consistent(self) -> StreamSpec:
        if self.party and self.stream not in self.party:
            raise ValueError(f"party {self.party} must name this stream ({self.stream}) too")
        targets = [f.target for f in self.fields]
        dupes = {t for t in targets if targets.count(t) > 1}
        if dupes:
            raise ValueError(f"target field(s) mapped twice: {sorted(dupes)}")
        for key in self.dedupe:
            for name in key.match or []:
                if name.split("/")[0] not in targets:
                    raise ValueError(f"dedupe key uses {name!r}, which no field maps")
        if self.target.number and self.target.number not in targets:
            raise ValueError(f"target.number names {self.target.number!r}, which no field maps")
        if self.target.create_under and self.target.create_under not in targets:
            raise ValueError(f"target.create_under names {self.target.create_under!r}, which no field maps")
        return self


def covers(prefix: str, entity_type: str) -> bool:
    """``entity_type`` is ``prefix`` or one of its subtypes (dotted Tribe type names)."""
    return entity_type == prefix or entity_type.startswith(prefix + ".")


@cache
def load_stream(integration: str, stream: str, root: str | None = None) -> StreamSpec:
    """Load and validate ``<root>/<integration>/<stream>.yaml``."""
    path = Path(root or mappings_root()) / integration / f"{stream}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise MappingConfigError(f"no mapping file {path}") from exc
    except yaml.YAMLError as exc:
        raise MappingConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        spec = StreamSpec.model_validate(raw)
    except ValidationError as exc:
        raise MappingConfigError(f"{path}: {exc}") from exc
    if spec.integration != integration or spec.stream != stream:
        raise MappingConfigError(f"{path}: declares {spec.integration}/{spec.stream}, expected {integration}/{stream}")
    from tribe_operators.mapping.catalogue import known_transforms  # the names must exist

    known = known_transforms()

    every = [*spec.fields, *(f for child in spec.children for f in child.fields)]
    unknown = {st.transform for f in every for st in f.steps() if st.transform not in known}
    if unknown:
        raise MappingConfigError(f"{path}: unknown transform(s) {sorted(unknown)}; known: {sorted(known)}")
    return spec
