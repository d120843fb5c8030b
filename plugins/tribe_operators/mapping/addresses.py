"""Addresses between Tribe and an accounting system, whatever shape the system keeps them in.

Tribe's ``Address`` splits the street line (street, house number, suffix); the accounting
systems keep lines: a nested block (PowerOffice's ``MailAddress``) or flat fields on the
record (Odoo's ``street`` / ``zip`` / ``city`` / ``country_id``). Which fields hold which line
is the mapping's ``keys``, so a new system adds data, not code.

A street line is read (``split_street``) as, in order:

* a post-office box ("Postbus 100", "Postboks 123", "Postfach 12"): the whole line is the street,
  the number is the box's and no house number;
* street, number, addition — the first number (left to right) that is followed only by an addition
  is the house number, so digits in a street's name stay in it ("Straße des 17. Juni 135",
  "1e Jacob van Campenstraat 10"). An addition is a Belgian box ("16 bus 3", "16 boîte 3",
  "5 bte 2", "16 b. 3"), letters or digits typed against the number or after ``-`` / ``/``
  ("12a", "12-a", "12/A", "123-2", "12-II") or, after a space, a single letter, a roman numeral,
  a known word ("bis", "hs") or a Norwegian flat number ("H0201"). Other words after a space are
  the street's ("Avenue 2 Mai 10"), and so are digits ("Route 66 12");
* number first ("12 rue de la Paix", "221B Baker Street").

Nothing is dropped but the separators: what is not the number is the street or the suffix, and a
line that fits none of these stays whole as the street.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from tribe_operators.mapping.transforms import MapContext, bad_value, text

__all__ = ["ADDRESS_TRANSFORMS", "SUFFIX_MAX", "addition_key", "address", "address_block", "house_number_key",
           "house_number_text", "split_street"]

LINES = ("line1", "line2", "zip", "city", "country")
# [INFER] Tribe documents no length for HouseNumberSuffix; 10 holds "boîte 1234" and every Dutch
# addition. A longer one is not an addition: the line stays whole rather than be cut.
SUFFIX_MAX = 10

# Lines that are a post-office box (NL, NO/DK, DE, SE, NL freepost, FR, English), never a house.
_PO_BOX = re.compile(r"(?:postbus|postboks|postfach|postfack|antwoordnummer|pb|bp|b\.\s?p|p\.?\s?o\.?\s?box"
                     r"|box|bo[iî]te\s+postale)\.?\s*\d", re.IGNORECASE)
_BOX = r"(?:bus|bo[iî]te|bte|bt|b\.)"  # Belgian box words: "bus" (nl), "boîte"/"bte" (fr), "b."
# Words read as an addition after a space; any other word after the number is the street's.
_WORDS = r"bis|ter|quater|hs|huis|bg|bov|boven|ben|beneden|rd|zw"
_ADDITIONS = (
    # "16 bus 3", "16, boîte 3", "5A bte 2": the box keeps its word, as written
    re.compile(rf"\s*(?:(?P<letter>[^\W\d_])\s*)?[,-]?\s*(?P<box>{_BOX}\s*[^\W_]{{1,4}})\s*", re.IGNORECASE),
    re.compile(r"(?P<add>[^\W\d_][^\W_]{0,5})\s*"),  # typed against the number: "12a", "12bis", "12A1"
    re.compile(r"\s*[-/]\s*(?P<add>[^\W_]{1,6})\s*"),  # "123-2", "12/A", "12-II"
    # after a space: "12 A", "12 III", "12 bis", "12 hs", Norway's flat number "12 H0201"
    re.compile(rf"\s+(?P<add>[^\W\d_]|(?i:[ivx]{{2,4}}|{_WORDS})|[HULK]\d{{4}})\s*"),
)
_NUMBER = re.compile(r"\d+")
_NUMBER_FIRST = re.compile(r"\s*(?P<number>\d{1,6})(?:(?P<letter>[A-Z])|\s*(?P<word>(?i:bis|ter|quater)))?"
                           r"(?:\s*,\s*|\s+)(?P<street>[^\W\d_].*)", re.DOTALL)


def _addition(rest: str) -> str | None:
    """What follows a house number as its suffix: ``""`` for nothing, None if it is not one."""
    if not rest.strip():
        return ""
    for pattern in _ADDITIONS:
        if found := pattern.fullmatch(rest):
            if "box" not in pattern.groupindex:
                return found["add"]
            box = " ".join(found["box"].split())
            return f"{found['letter']} {box}" if found["letter"] else box
    return None


def _has_letter(value: str) -> bool:
    return any(ch.isalpha() for ch in value)


def split_street(line: str) -> tuple[str, int | None, str | None]:
    """A street line → ``(street, number, suffix)`` (the rules are in the module's docstring).

    ``"Storgata 12B"`` → ``("Storgata", 12, "B")``; ``"Wetstraat 16 bus 3"`` → ``("Wetstraat", 16,
    "bus 3")``; ``"12 rue de la Paix"`` → ``("rue de la Paix", 12, None)``; ``"Postbus 100"`` →
    ``("Postbus 100", None, None)``.
    """
    line = line.strip()
    if _PO_BOX.match(line):
        return line, None, None
    for found in _NUMBER.finditer(line):
        before, digits = line[:found.start()], found[0]
        # "H0201", "A1": digits against a letter are a code, not a house number
        if len(digits) > 6 or not before or before[-1].isalnum():
            continue
        street = before.strip().rstrip(",").strip()
        suffix = _addition(line[found.end():])
        if suffix is None or not _has_letter(street):
            continue
        if len(suffix) > SUFFIX_MAX:
            break
        return street, int(digits), suffix or None
    if found := _NUMBER_FIRST.fullmatch(line):  # "12 rue de la Paix", "12bis rue …", "221B Baker Street"
        suffix = found["letter"] or found["word"]
        return found["street"].strip(), int(found["number"]), suffix
    return line, None, None


def house_number_text(number: Any, suffix: str | None) -> str:
    """Number and suffix as one text that ``split_street`` reads back: ``12A``, ``123-2``,
    ``5A bte 2``, ``16 bus 3``, ``12 bis``, ``12 II``."""
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    digits = "" if number in (None, "") else str(number)
    suffix = (suffix or "").strip()
    if not suffix or not digits:
        return digits or suffix
    first = suffix.split()[0]
    if suffix[0].isdigit():
        return f"{digits}-{suffix}"  # "1232" would be another number
    if suffix[0] in "-/" or (len(first) == 1 and first.isalpha()):
        return digits + suffix  # "12A", "5A bte 2", as Tribe shows it
    if _addition(f" {suffix}") is not None or " " in suffix:
        return f"{digits} {suffix}"
    return digits + suffix  # "12A1": read back as typed against the number


# Box words and separators do not count when two addresses are compared: "16 bus 3" = "16/3".
_KEY_BOX = re.compile(rf"(?<![^\W\d_]){_BOX}\s*(?=[^\W_])", re.IGNORECASE)
_KEY_NUMBER = re.compile(r"\s*(\d{1,6})(?!\d)(.*)", re.DOTALL)
_KEY_NOISE = re.compile(r"[\W_]+")


def house_number_key(number: Any, addition: Any = None) -> tuple[int, str] | None:
    """The normal ``(number, addition)`` of a house number, for matching addresses on both sides:
    ``"12 A"``, ``"12a"``, ``"12-a"``, ``"12/A"`` and ``(12, "a")`` are all ``(12, "A")``; no
    addition is ``""`` (``12`` and ``12 A`` are two houses); no number is None. A whole street
    line goes through ``split_street`` first: ``house_number_key(*split_street(line)[1:])``."""
    if number is None or isinstance(number, bool) or (isinstance(number, str) and not number.strip()):
        return None  # an addition alone ("12" typed in the suffix) is no house number
    if isinstance(number, float):
        if not number.is_integer():
            return None
        number = int(number)
    joined = unicodedata.normalize("NFKC", f"{number} {addition or ''}")
    found = _KEY_NUMBER.match(joined)
    if not found:
        return None
    return int(found[1]), addition_key(found[2])


def addition_key(addition: Any) -> str:
    """The normal form of a house-number addition on its own: box words, separators and case do
    not count (``"bus 3"`` = ``"/3"`` = ``"3"``, ``"-a"`` = ``"A"``); none is ``""``."""
    if addition is None or isinstance(addition, bool | dict | list):
        return ""
    text = unicodedata.normalize("NFKC", str(addition))
    return _KEY_NOISE.sub("", _KEY_BOX.sub("", text)).upper()


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
    code = str(part("country") or default_country).strip().upper()  # Exact pads its codes ("NL ")
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
    number = house_number_text(value.get("HouseNumber"), value.get("HouseNumberSuffix"))
    line1 = " ".join(p for p in (value.get("Street") or "", number) if p).strip()
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
