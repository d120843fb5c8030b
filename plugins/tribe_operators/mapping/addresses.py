"""Addresses between Tribe and an accounting system, whatever shape the system keeps them in.

Tribe's ``Address`` splits the street line (street, house number, suffix); the accounting
systems keep lines: a nested block (PowerOffice's ``MailAddress``) or flat fields on the
record (Odoo's ``street`` / ``zip`` / ``city`` / ``country_id``). Which fields hold which line
is the mapping's ``keys``, so a new system adds data, not code.
"""
from __future__ import annotations

import re
from typing import Any

from tribe_operators.mapping.transforms import MapContext, bad_value, text

__all__ = ["ADDRESS_TRANSFORMS", "address", "address_block", "split_street"]

LINES = ("line1", "line2", "zip", "city", "country")
_STREET = re.compile(r"^(?P<street>.*?\D)\s*(?P<number>\d{1,6})\s*[-/ ]?\s*(?P<suffix>[A-Za-z0-9]{0,6})$")


def split_street(line: str) -> tuple[str, int | None, str | None]:
    """``"Storgata 12B"`` → ``("Storgata", 12, "B")``; ``"Keizersgracht 123-2"`` → suffix ``"2"``."""
    match = _STREET.match(line.strip())
    if not match:
        return line.strip(), None, None
    return match["street"].strip().rstrip(","), int(match["number"]), match["suffix"] or None


def _keys(keys: dict[str, str]) -> dict[str, str]:
    if unknown := set(keys) - set(LINES):
        raise bad_value(f"address keys {sorted(unknown)} are not among {list(LINES)} (a mapping error)")
    return keys


def address(value: Any, ctx: MapContext, record: dict[str, Any], *, keys: dict[str, str],
            countries: str = "countries", default_country: str = "NO", flat: bool = False) -> dict[str, Any] | None:
    """An accounting address → a Tribe ``Address`` (street, number, suffix, postcode, country).

    ``keys`` names the system's field for each of ``line1 line2 zip city country`` (a country
    code); they are read in the block ``value``, or on the record itself when ``flat``.
    """
    keys = _keys(keys)
    block = record if flat else value
    if not block:
        return None
    if not isinstance(block, dict):
        raise bad_value(f"expected an address object, got {type(block).__name__}")

    def part(line: str) -> Any:
        return block.get(keys[line]) if line in keys else None

    line1 = text(part("line1"), ctx, record, max_length=200)
    street, number, suffix = split_street(line1) if line1 else (None, None, None)
    code = str(part("country") or default_country).upper()
    country_id = ctx.lookups.get(countries, {}).get(code)
    if country_id is None:
        raise bad_value(f"country code {code!r} is not in Tribe's country list; add it in Tribe or fix the address")
    result = {
        "Street": street, "HouseNumber": number, "HouseNumberSuffix": suffix,
        "Extra": text(part("line2"), ctx, record, max_length=200),
        "Postalcode": text(part("zip"), ctx, record, max_length=20),
        "City": text(part("city"), ctx, record, max_length=100),
    }
    return {**result, "Country": {"ID": country_id}} if any(result.values()) else None


def address_block(value: Any, ctx: MapContext, record: dict[str, Any], *, keys: dict[str, str],
                  countries: str | None = None) -> dict[str, Any] | None:
    """A Tribe ``Address`` → the accounting system's lines (street + number + suffix on line 1),
    under the field names ``keys`` gives: a block to nest (PowerOffice's ``MailAddress``) or,
    with ``spread``, fields of the record (Odoo). The country is its code, or the system's id
    for it through the lookup table ``countries``."""
    keys = _keys(keys)
    if not value:
        return None
    if not isinstance(value, dict):
        raise bad_value(f"expected an address object, got {type(value).__name__}")
    number = value.get("HouseNumber")
    number_text = str(int(number)) if isinstance(number, float) and number.is_integer() else (
        str(number) if number not in (None, "") else "")
    line1 = " ".join(p for p in (value.get("Street") or "", number_text + (value.get("HouseNumberSuffix") or ""))
                     if p).strip()
    country = value.get("Country") if isinstance(value.get("Country"), dict) else {}
    code = (country or {}).get("Code") or None
    if code is not None and countries is not None:
        found = ctx.lookups.get(countries, {}).get(str(code).upper())
        if found is None:
            raise bad_value(f"country code {code!r} is not in the accounting system's country list")
        code = int(found) if str(found).isdigit() else found
    lines = {"line1": text(line1, ctx, record, max_length=200),
             "line2": text(value.get("Extra"), ctx, record, max_length=200),
             "zip": text(value.get("Postalcode"), ctx, record, max_length=50),
             "city": text(value.get("City"), ctx, record, max_length=100), "country": code}
    return {name: lines[line] for line, name in keys.items()}


ADDRESS_TRANSFORMS = {"address": address, "address_block": address_block}
