"""Which source fields a stream reads: derived from the whole mapping, never listed by hand.

A source that can ask for fields (Odoo's ``read``, Tribe's ``$expand``) asks for what the
stream's mapping needs: each field's ``source`` and template fields, *and what its transforms
read of the record besides their value* — an address taken from flat fields (street, street2,
zip, city, country), the country a phone or VAT number is judged by — plus the record's id,
its change stamp and the fields its conditions test. A transform declares those extra reads
here, as a function of its ``args``; ``tests/unit/test_source_reads.py`` maps every stream
through a record that logs each field read and fails on one the source did not ask for.
"""
from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tribe_operators.mapping.filters import Condition
    from tribe_operators.mapping.spec import FieldMap, StreamSpec

__all__ = ["RECORD_READS", "SPREAD_FIELDS", "field_paths", "source_paths", "target_fields", "top_fields"]


def _country(args: dict[str, Any]) -> list[str]:
    return [args["country_field"]] if args.get("country_field") else []


def _flat_address(args: dict[str, Any]) -> list[str]:
    return list((args.get("keys") or {}).values()) if args.get("flat") else []


def _name_parts(args: dict[str, Any]) -> list[str]:
    return [args.get("first", "FirstName"), args.get("last", "LastName"),
            *(args[name] for name in ("middle", "title") if args.get(name))]


# Transform name → the record paths it reads for these args (besides the value it is given).
# A system's own transform that reads the record says so in a ``record_reads`` attribute of the
# same shape (``sales_account.record_reads = lambda args: [...]``).
RECORD_READS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "address": _flat_address,
    "org_number": _country,
    "person_name": _name_parts,
    "phone": _country,
    "vat_number": _country,
}


# Transform name → the fields it returns for these args, for a field map that ``spread``s them
# over the record: what a target is read back for, to compare with what we would write.
SPREAD_FIELDS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "address_block": lambda args: list((args.get("keys") or {}).values()),
    "person_name": lambda args: ["FirstName", "MiddleName", "LastName", *(["Title"] if args.get("title") else [])],
}


def _reads() -> dict[str, Callable[[dict[str, Any]], list[str]]]:
    from tribe_operators.mapping.catalogue import known_transforms

    declared = {name: fn.record_reads for name, fn in known_transforms().items() if hasattr(fn, "record_reads")}
    return {**RECORD_READS, **declared}


def field_paths(fm: FieldMap) -> list[str]:
    """The (dotted) record paths one field map reads: its source or template fields, and what
    each of its transforms reads of the record."""
    reads = _reads()
    if fm.template is not None:
        paths = [name for _, name, _, _ in string.Formatter().parse(fm.template) if name]
    else:
        paths = [fm.source] if fm.source else []
    for step in fm.steps():
        if step.transform in reads:
            paths.extend(reads[step.transform](step.args))
    return paths


def source_paths(spec: StreamSpec, where: Iterable[Condition] = ()) -> list[str]:
    """Every record path the stream reads, in first-seen order: id, change stamp, id template,
    fields (children's under their list), conditions (the mapping's and ``where``'s)."""
    src = spec.source
    paths = [src.id_field, src.modified_field, *([src.cursor_field] if src.cursor_field else [])]
    if src.id_template:
        paths += [name for _, name, _, _ in string.Formatter().parse(src.id_template) if name]
    if src.relation_type is not None:
        paths.append(src.relation_type.field)
    paths += [p for fm in spec.fields for p in field_paths(fm)]
    for child in spec.children:
        paths += [f"{child.source}.{p}" for fm in child.fields for p in field_paths(fm)]
    paths += _condition_fields(where)
    return list(dict.fromkeys(p for p in paths if p))


def target_fields(spec: StreamSpec) -> list[str]:
    """The target fields a stream writes: a spread field map's own fields, not its name; a
    ``check_only`` field is never written."""
    out: list[str] = []
    for fm in spec.fields:
        if fm.check_only:
            continue
        spread = SPREAD_FIELDS.get(fm.transform or "") if fm.spread else None
        out += spread(fm.args) if spread else [fm.target]
    return list(dict.fromkeys(out))


def _condition_fields(conditions: Iterable[Condition]) -> list[str]:
    out: list[str] = []
    for condition in conditions:
        out += _condition_fields(condition.value) if condition.op == "any_of" else [condition.field]
    return out


def top_fields(paths: Iterable[str]) -> list[str]:
    """The record's own fields of these paths (``parent_id.customer_rank`` → ``parent_id``)."""
    return list(dict.fromkeys(p.split(".")[0] for p in paths))
