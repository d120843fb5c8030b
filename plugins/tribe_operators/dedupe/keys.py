"""The normal form of a match key: how two typed values are compared when records are matched.

Both sides go through it — the value mapped from the source and the value the target holds —
so ``" 11013"`` typed in Tribe is the PowerOffice customer ``11013``:

* Unicode NFKC (full-width digits, composed accents), invisible format characters (zero-width
  space, BOM, soft hyphen…) dropped, whitespace trimmed and collapsed, case folded:
  ``" Acme  AS"`` and ``"ACME AS"`` are one key.
* A key made only of digits is a number and its leading zeros do not count (``"011013"`` is
  ``11013``): the accounting systems keep these numbers as integers (PowerOffice's ``Number``)
  or as digits padded to a width (Exact Online's account ``Code``), and people type them by
  hand. Anything with a letter keeps every character: ``"K0012"`` is not ``"K12"``.
* What is empty after that is no key at all: it never matches.

A part of a composite key may name its own normaliser in the mapping (``dedupe: - match:
[Name, Postalcode, HouseNumber, HouseNumberSuffix]`` with ``normalise: {Postalcode:
postcode_nl, HouseNumber: house_number, HouseNumberSuffix: addition}``):

* ``postcode_nl`` — a Dutch postcode: ``1234 AB`` = ``1234ab`` = ``1234-ab``;
* ``house_number`` — the number only; letters typed with it (``12-A``, ``12 a``) belong to the
  addition, so ``12-A`` = ``12`` + ``A`` = ``12A``; a value with no number in it (``A``) is no key;
* ``addition`` — case, separators and a Belgian box word do not count (``-A`` = ``a``, ``bus 3`` =
  ``/3`` = ``3``), and *no* addition is a value of its own: ``12`` and ``12 A`` are two
  addresses, never one.

A key with both reads the pair as one house number (``mapping.addresses.house_number_key``), the
same on both sides: the number and addition an accounting system's street line was split into
("Kerkstraat 12 A" → 12, "A") and the ones typed into Tribe's address (12, "a"; or "12a" alone).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tribe_operators.mapping.addresses import addition_key, house_number_key

__all__ = ["NORMALISERS", "KeyLookup", "field_value", "key_needles", "key_tuple", "normal_key"]

_SEPARATORS = re.compile(r"[\s\-/.,]+")
_POSTCODE_NL = re.compile(r"^(\d{4})([a-z]{2})$")


def normal_key(value: Any) -> str | None:
    """The normal form of one key value, or None when there is nothing to match on."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    text = " ".join("".join(ch for ch in text if unicodedata.category(ch) != "Cf").split()).casefold()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return text.lstrip("0") or "0"
    return text


def _postcode_nl(value: Any) -> str | None:
    text = normal_key(value)
    return None if text is None else _SEPARATORS.sub("", text)


def _house_number(value: Any) -> str | None:
    found = house_number_key(value)
    return None if found is None else str(found[0])


def _addition(value: Any) -> str:
    return addition_key(value).casefold()


def _postcode_needle(normal: str) -> str:
    found = _POSTCODE_NL.match(normal)
    return found.group(1) if found else normal  # the digits are in every way of typing it


# name → (normal form, a substring every raw form of that normal form contains — or None when
# there is none to ask the server for — and whether an empty value is a value)
NORMALISERS: dict[str, tuple[Callable[[Any], str | None], Callable[[str], str | None], bool]] = {
    "text": (normal_key, lambda normal: normal, False),
    "postcode_nl": (_postcode_nl, _postcode_needle, False),
    "house_number": (_house_number, lambda normal: None, False),  # often a number field: no substring filter
    "addition": (_addition, lambda normal: None, True),
}


def key_tuple(values: Sequence[Any], normalisers: Sequence[str] | None = None) -> tuple[str, ...] | None:
    """The normal form of a (composite) key; None when a part that must have a value is empty."""
    names = list(normalisers or ()) + ["text"] * (len(values) - len(normalisers or ()))
    pair: dict[int, str] = {}
    if "house_number" in names and "addition" in names:  # "12-A": the letters are the addition's
        n, a = names.index("house_number"), names.index("addition")
        house = house_number_key(values[n], values[a])
        if house is None:
            return None  # no number, no house: an address key without one matches nothing
        pair = {n: str(house[0]), a: house[1].casefold()}
    parts = []
    for index, (name, value) in enumerate(zip(names, values, strict=True)):
        normalise, _, empty_is_value = NORMALISERS[name]
        part = pair[index] if index in pair else normalise(value)
        if part is None or (part == "" and not empty_is_value):
            return None
        parts.append(part)
    return tuple(parts)


def key_needles(normal: tuple[str, ...], normalisers: Sequence[str] | None = None) -> list[str | None]:
    """What to ask a server's substring filter (``contains``) for each part of a normal key:
    a superset of the records whose key has this normal form (None: do not filter on it)."""
    names = list(normalisers or ()) + ["text"] * (len(normal) - len(normalisers or ()))
    return [NORMALISERS[name][1](part) if part else None for name, part in zip(names, normal, strict=True)]


def field_value(record: dict[str, Any] | None, path: str) -> Any:
    """A key field of a record; ``InvoiceAddress/Postalcode`` reads into the nested record."""
    value: Any = record
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class KeyLookup:
    """A target's lookup of ``values`` by ``fields``, in the keys' normal form: what to ask the
    server for (``wanted``: each normal key with the values that have it) and what was found for
    each value, a record counted once per key however often the server returned it.

    A target asks its server for a superset (what *contains* each key) and ``add``s what came
    back; the normal form decides here."""

    def __init__(self, fields: list[str], values: Iterable[tuple[Any, ...]], normalisers: Sequence[str] | None,
                 id_key: str = "ID") -> None:
        self.fields, self.normalisers, self.id_key = fields, normalisers, id_key
        self.wanted: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for value in dict.fromkeys(values):
            if (normal := key_tuple(value, normalisers)) is not None:
                self.wanted.setdefault(normal, []).append(value)
        self.found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        self._seen: set[tuple[tuple[str, ...], str]] = set()

    def add(self, record: dict[str, Any]) -> None:
        normal = key_tuple([field_value(record, f) for f in self.fields], self.normalisers)
        if normal in self.wanted and (normal, str(record[self.id_key])) not in self._seen:
            self._seen.add((normal, str(record[self.id_key])))
            for value in self.wanted[normal]:
                self.found.setdefault(value, []).append(record)
