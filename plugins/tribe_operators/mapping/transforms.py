"""Named field transforms. A mapping file refers to them by name; each is a pure function.

Signature: ``fn(value, ctx, record, **args) -> value``. A transform that cannot accept its
input raises ``RecordError(None, reason)``; the engine adds the field and record id.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.eu import vat as eu_vat
from stdnum.no import orgnr

from tribe_operators.exceptions import OutOfScope, RecordError
from tribe_operators.mapping.names import split_person_name
from tribe_operators.mapping.settings import settings_variable, variable_patch_text
from tribe_operators.mapping.text import CONTROL, undo_mojibake, visible
from tribe_operators.mapping.urls import WebsiteError, website

__all__ = ["TRANSFORMS", "MapContext", "bad_value", "text"]


@dataclass
class MapContext:
    """What transforms may consult besides the record: lookup tables, settings, links.

    ``links(entity, tribe_id)`` returns the external id bound to a Tribe record, and
    ``internal(entity, external_id)`` the Tribe id bound to an external record (or None).
    """

    lookups: dict[str, dict[str, str]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    links: Callable[[str, str], str | None] | None = None
    internal: Callable[[str, str], str | None] | None = None
    scope: str = "default"  # the legal entity / division being written (an invoice's)
    integration: str | None = None  # whose settings these are: errors name the file and Variable to fix


def bad_value(reason: str) -> RecordError:
    return RecordError(None, reason)


def text(value: Any, ctx: MapContext, record: dict[str, Any], *, max_length: int | None = None,
         collapse: bool = False) -> str | None:
    """Trimmed text, None when empty; refuse what the target cannot hold. ``collapse``: runs of
    spaces become one (a name joined from parts, "{FirstName} {MiddleName} {LastName}")."""
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise bad_value(f"expected text, got {type(value).__name__}")
    result = visible(unicodedata.normalize("NFC", str(value)))
    if "\ufffd" in result or CONTROL.search(result):
        raise bad_value(f"contains unreadable characters (bad encoding?): {result[:40]!r}")
    if (fixed := undo_mojibake(result)) is not None:
        raise bad_value(f"looks double-encoded (UTF-8 read as Windows-1252): {result[:40]!r} is probably {fixed[:40]!r}")
    if collapse:
        result = " ".join(result.split())
    if max_length is not None and len(result) > max_length:
        raise bad_value(f"is {len(result)} characters long; the target allows {max_length}")
    return result or None




def number_text(value: Any, ctx: MapContext, record: dict[str, Any]) -> str | None:
    """An account number as text (``10001`` → ``"10001"``); refuses fractions and negatives."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit():
        raise bad_value(f"{value!r} is not a whole, positive number")
    return str(int(value))


def email(value: Any, ctx: MapContext, record: dict[str, Any]) -> str | None:
    """A syntactically valid e-mail address (no DNS lookups: runs must be deterministic)."""
    raw = text(value, ctx, record, max_length=254)
    if raw is None:
        return None
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise bad_value(f"{raw!r} is not a valid e-mail address ({exc})") from exc


def phone(value: Any, ctx: MapContext, record: dict[str, Any], *, country_field: str | None = None,
          default_region: str = "NO") -> str | None:
    """International format when the number parses; the trimmed original otherwise."""
    raw = text(value, ctx, record, max_length=40)
    if raw is None:
        return None
    if not any(ch.isdigit() for ch in raw):
        raise bad_value(f"{raw!r} contains no digits")
    region = (_path(record, country_field) if country_field else None) or default_region
    try:
        parsed = phonenumbers.parse(raw, str(region).strip().upper())
    except phonenumbers.NumberParseException:
        return raw
    if not phonenumbers.is_valid_number(parsed):
        return raw
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def url(value: Any, ctx: MapContext, record: dict[str, Any]) -> str | None:
    """A website: http(s) URLs kept, unambiguous slips repaired, the rest refused (``urls``)."""
    raw = text(value, ctx, record, max_length=255)
    if raw is None:
        return None
    try:
        return website(raw)
    except WebsiteError as exc:
        raise bad_value(str(exc)) from exc


def vat_number(value: Any, ctx: MapContext, record: dict[str, Any], *, country_field: str | None = None,
               default_country: str = "NO") -> str | None:
    """Organisation number → VAT number: Norwegian ``123456785`` → ``NO123456785MVA``.

    A Norwegian number must pass the mod-11 check; other countries need a valid EU VAT number.
    Odoo's marks for "no Tax ID" (``"/"``, ``"N/A"``…) are no VAT number: None.
    """
    raw = text(value, ctx, record, max_length=40)
    # Only what Odoo documents: "/" (the vat field's help: "use '/' to indicate that the customer
    # has no Tax ID") and, in newer Odoo, "na", "NA", "N/A", "not applicable" (partner_identifiers.
    # is_identifier_void). A lone "-" or "0" is left to quarantine: a typo to show, not to guess.
    if raw is None or raw.casefold() in {"/", "na", "n/a", "not applicable"}:
        return None
    country = str((_path(record, country_field) if country_field else None) or default_country).strip().upper()
    if country == "NO":
        if not orgnr.is_valid(raw):
            raise bad_value(f"{raw!r} is not a valid Norwegian organisation number (9 digits, mod-11 check)")
        return f"NO{orgnr.compact(raw)}MVA"
    if eu_vat.is_valid(raw):
        return eu_vat.compact(raw)
    if eu_vat.is_valid(country + raw):
        return eu_vat.compact(country + raw)
    raise bad_value(f"{raw!r} is not a valid VAT or organisation number for country {country}")


def org_number(value: Any, ctx: MapContext, record: dict[str, Any], *, country_field: str | None = None,
               default_country: str = "NO") -> str | None:
    """A VAT number → an organisation number: ``NO923609016MVA`` → ``923609016``. A Norwegian
    one (``NO…MVA``, or any number when ``country_field`` says NO, the default) must pass
    mod-11, as PowerOffice checks."""
    raw = text(value, ctx, record, max_length=40)
    if raw is None:
        return None
    compact = raw.replace(" ", "").upper()
    country = str(_path(record, country_field) or default_country).upper() if country_field else None
    if compact.startswith("NO") and compact.endswith("MVA"):
        compact, country = compact[2:-3], "NO"
    if country == "NO" and not orgnr.is_valid(compact):
        raise bad_value(f"{raw!r} does not hold a valid Norwegian organisation number (9 digits, mod-11 check)")
    return compact


def whole_number(value: Any, ctx: MapContext, record: dict[str, Any]) -> int | None:
    """Digits → an int (an account number); anything else (Tribe's own "T10046") → None."""
    if value in (None, "") or not str(value).strip().isdigit():
        return None
    return int(str(value).strip())


def lookup(value: Any, ctx: MapContext, record: dict[str, Any], *, table: str, what: str) -> dict[str, str] | None:
    """A code through a lookup table to a navigation reference ``{"ID": …}``."""
    if value in (None, ""):
        return None
    found = ctx.lookups.get(table, {}).get(str(value))
    if found is None:
        raise bad_value(f"{what} {value!r} has no match in {table}; add it to the map in settings")
    return {"ID": found}


def linked(value: Any, ctx: MapContext, record: dict[str, Any], *, entity: str | list[str], what: str,
           as_int: bool = True, unlinked: str = "quarantine") -> Any:
    """A Tribe id → the external id bound to it (a customer on an invoice, a product on a line;
    a contact's organisation, linked as a customer or as a supplier: first link wins).

    ``unlinked: skip`` says an unlinked reference puts the record out of this stream's scope
    (a prospect's contact) instead of in quarantine.
    """
    if value in (None, ""):
        return None
    external = None
    for name in [entity] if isinstance(entity, str) else entity:
        external = ctx.links(name, str(value)) if ctx.links else None
        if external is not None:
            break
    if external is None and unlinked == "skip":
        raise OutOfScope(f"{what} {value} is not linked to the accounting system")
    if external is None:
        raise bad_value(f"{what} {value} is not linked to the accounting system yet; sync it first")
    return int(external) if as_int and str(external).isdigit() else external


def linked_in_tribe(value: Any, ctx: MapContext, record: dict[str, Any], *, entity: str | list[str],
                    what: str) -> dict[str, str] | None:
    """An external id → a reference to the Tribe record bound to it (a product's group; a
    contact person's organisation, linked as a customer or as a supplier: first link wins)."""
    if value in (None, ""):
        return None
    tribe_id = None
    for name in [entity] if isinstance(entity, str) else entity:
        tribe_id = ctx.internal(name, str(value)) if ctx.internal else None
        if tribe_id is not None:
            break
    if tribe_id is None:
        raise bad_value(f"{what} {value} has not been synced to Tribe yet; it will be on a later run")
    return {"ID": tribe_id}


def code(value: Any, ctx: MapContext, record: dict[str, Any], *, table: str, what: str,
         as_int: bool = True) -> Any:
    """A code through a lookup table to a plain id (payment term days → PowerOffice term id)."""
    if value in (None, ""):
        return None
    key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    found = ctx.lookups.get(table, {}).get(key)
    if found is None:
        raise bad_value(f"{what} {value!r} has no match in {table}")
    return int(found) if as_int and str(found).isdigit() else found


def setting_map(value: Any, ctx: MapContext, record: dict[str, Any], *, setting: str, what: str,
                reverse: bool = False, per_scope: bool = False) -> Any:
    """Through a map in the integration's settings (units, VAT groups); missing = quarantine.

    Maps are written Tribe → accounting; ``reverse`` reads them the other way (the first
    Tribe code that maps to the value wins). ``per_scope``: the setting holds one map per
    legal entity (``vat_map: {nl: {...}, be: {...}}``) and the scope being written picks it.
    """
    if value in (None, ""):
        return None
    maps = ctx.settings.get(setting) or {}
    path = [setting]
    if per_scope:
        maps, path = maps.get(ctx.scope) or {}, [setting, str(ctx.scope)]
    mapping = {str(k): v for k, v in maps.items()}
    if reverse:
        mapping = {str(v): k for k, v in reversed(list(mapping.items()))}
    if str(value) not in mapping:
        raise unmapped_code(ctx, what, str(value), path, reverse=reverse)
    return mapping[str(value)]


def unmapped_code(ctx: MapContext, what: str, code: str, path: list[str], *, reverse: bool = False) -> RecordError:
    """The record is held for one missing key of a settings map: the reason names the exact
    Variable JSON that adds it (merged into the file's map, key by key), and the page's "map it"
    can add it (``action``). Maps are written Tribe → accounting: a ``reverse`` map's missing
    key is the Tribe code that the operator picks."""
    integration = ctx.integration or "<integration>"
    entry = ["<Tribe code>", code] if reverse else [code, "<code>"]
    patch = variable_patch_text(integration, [*path, entry[0]], entry[1])
    setting = ".".join(path)
    reason = (f"{what} {code!r} is not mapped; add it to '{setting}' in include/mappings/{integration}/settings.yaml, "
              f"or set the Variable {settings_variable(integration)} to {patch} (merged into the file's map key by "
              "key; the page's 'map it' does it)")
    action = {"kind": "unmapped_code", "setting": setting, "code": code, "reverse": reverse,
              "variable": settings_variable(integration)}
    return RecordError(None, reason, action=action)


def relation_type(value: Any, ctx: MapContext, record: dict[str, Any], *, relationship: str) -> str:
    """The accounting system's code for a Tribe relationship type (the first of the settings'
    ``relation_types.<relationship>``): what an export stream of that role writes."""
    codes = (ctx.settings.get("relation_types") or {}).get(relationship)
    if not codes:
        raise bad_value(f"relation_types.{relationship} is not in the settings: which code is a {relationship}?")
    return str(codes[0])


def number(value: Any, ctx: MapContext, record: dict[str, Any], *, minimum: float | None = None,
           maximum: float | None = None) -> float | None:
    """A number, optionally refusing values below ``minimum`` (negative quantities…) or above
    ``maximum`` (a discount over 100 %)."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_value(f"{value!r} is not a number")
    if minimum is not None and value < minimum:
        raise bad_value(f"{value} is below the allowed minimum {minimum}")
    if maximum is not None and value > maximum:
        raise bad_value(f"{value} is above the allowed maximum {maximum}")
    return float(value)


def amount(value: Any, ctx: MapContext, record: dict[str, Any], *, minimum: float | None = None,
           maximum: float | None = None) -> Decimal | None:
    """Money, a quantity or a percentage as ``Decimal``, read from the number's own digits (a
    price of ``0.1`` stays 0.1, never 0.1000000000000000055…); bounds as for ``number``."""
    checked = number(value, ctx, record, minimum=minimum, maximum=maximum)
    return None if checked is None else Decimal(str(value))


def person_name(value: Any, ctx: MapContext, record: dict[str, Any], *, first: str = "FirstName",
                last: str = "LastName", middle: str | None = None, title: str | None = None,
                titles: dict[str, str] | None = None) -> dict[str, str | None]:
    """First / middle (particles: "van der") / last name, from separate fields or one full name
    (``names.split_person_name``; the particles are data: ``include/mappings/name_particles.yaml``).

    ``"Jan Willem van der Meer"`` → ``{"FirstName": "Jan Willem", "MiddleName": "van der", "LastName": "Meer"}``.
    ``middle``: a field the source keeps the particles in (Exact's ``MiddleName``), put before any
    particles still typed in the first or last name. ``title``: a field whose value becomes
    ``Title``, through ``titles`` when given (a code → the target's title; a code the map lacks —
    a salutation such as Exact's ``DHR`` — leaves the title empty, as does an empty field).
    """
    first_name = text(_path(record, first), ctx, record, max_length=100)
    last_name = text(_path(record, last), ctx, record, max_length=150)
    full = None if last_name else text(value, ctx, record, max_length=250)
    first_name, particles, last_name = split_person_name(first_name, last_name, full)
    if not last_name:
        raise bad_value("has no name to split into first and last name")
    given = text(_path(record, middle), ctx, record, max_length=100) if middle else None
    name: dict[str, str | None] = {"FirstName": first_name,
                                   "MiddleName": " ".join(p for p in (given, particles) if p) or None,
                                   "LastName": last_name}
    if title:
        code = text(_path(record, title), ctx, record, max_length=50)
        if titles is not None and code is not None:
            code = {str(k).casefold(): v for k, v in titles.items()}.get(code.casefold())
        name["Title"] = code
    return name


def _path(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def negate(value: Any, ctx: MapContext, record: dict[str, Any], *, empty: bool | None = None) -> bool | None:
    """A flag turned round: Odoo's ``active`` is Tribe's ``IsFormer`` the other way. ``empty``
    is what an unset flag means (a relationship never made former: ``IsFormer`` false)."""
    if value is None:
        value = empty
    if value is None:
        return None
    if not isinstance(value, bool):
        raise bad_value(f"expected true or false, got {value!r}")
    return not value


TRANSFORMS: dict[str, Callable[..., Any]] = {
    "amount": amount,
    "negate": negate,
    "code": code,
    "linked": linked,
    "linked_in_tribe": linked_in_tribe,
    "number": number,
    "relation_type": relation_type,
    "setting_map": setting_map,
    "email": email,
    "lookup": lookup,
    "number_text": number_text,
    "person_name": person_name,
    "org_number": org_number,
    "phone": phone,
    "whole_number": whole_number,
    "text": text,
    "url": url,
    "vat_number": vat_number,
}

