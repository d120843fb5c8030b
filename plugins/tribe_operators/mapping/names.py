"""A person's name → first / middle / last, the way Tribe keeps it.

Tribe's middle-name field holds the particles of a surname ("van der" of "van der Meer"); the
particles of every language we meet are data (``include/mappings/name_particles.yaml``), and so
are the generational suffixes that stay with the last name (``name_suffixes.yaml``: Jr., III…).

* Separate first and last names: particles typed at the end of the first name ("Lotte van 't")
  and at the start of the last name ("van der Meer") both go to the middle name.
* One full name: "Meer, Jan van der" (last name first) is read as such; otherwise the words
  before the first particle are the first name(s) — "Jan Willem van der Meer" is Jan Willem /
  van der / Meer — and without a particle the last word is the last name.
* A generational suffix goes with the last name, wherever it was typed: "Jan Smit Jr.",
  "Jan Smit, Jr.", "Smit Jr., Jan", "Smit, Jan Jr." and first "Jan Jr." / last "Smit" are all
  Jan / Smit Jr.; a last name that is only "Jr." takes the first name's last word ("Jan Smit" /
  "Jr." — what a splitter without suffixes made of "Jan Smit Jr.").
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

__all__ = ["particles", "split_person_name", "suffixes"]

# Apostrophes people (and word processors) type: 't, ’t, ‘t, `t, ´t, ʼt are one particle.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'", "\u02bc": "'"})


def _fold(word: str) -> str:
    return word.translate(_APOSTROPHES).casefold()


@cache
def particles(path: str | None = None) -> tuple[tuple[str, ...], ...]:
    """Every particle as folded words, longest first (``("van", "der")`` before ``("van",)``)."""
    if path is None:
        from tribe_operators.mapping.files import mappings_root

        path = str(mappings_root() / "name_particles.yaml")
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    words = {tuple(_fold(w) for w in str(p).split()) for group in raw.values() for p in group or []}
    return tuple(sorted(words, key=lambda p: (-len(p), p)))


@cache
def suffixes(path: str | None = None) -> frozenset[str]:
    """Every generational suffix, folded (``"jr."``, ``"iii"``)."""
    if path is None:
        from tribe_operators.mapping.files import mappings_root

        path = str(mappings_root() / "name_suffixes.yaml")
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return frozenset(_fold(str(s)) for s in raw.get("suffixes") or [])


def _suffixed(words: list[str], keep: int) -> int:
    """How many words at the end are suffixes, leaving at least ``keep`` words before them."""
    count = 0
    while len(words) - count > keep and _fold(words[-1 - count]) in suffixes():
        count += 1
    return count


def _leading(words: list[str]) -> int:
    """How many words at the start are a particle (at least one word must follow it)."""
    folded = [_fold(w) for w in words]
    return next((len(p) for p in particles() if len(folded) > len(p) and tuple(folded[:len(p)]) == p), 0)


def _trailing(words: list[str]) -> int:
    """How many words at the end are a particle (at least one word must come before it)."""
    folded = [_fold(w) for w in words]
    return next((len(p) for p in particles() if len(folded) > len(p) and tuple(folded[-len(p):]) == p), 0)


def _join(words: list[str]) -> str | None:
    return " ".join(words) or None


def split_person_name(first: str | None, last: str | None,
                      full: str | None = None) -> tuple[str | None, str | None, str | None]:
    """``(first, middle, last)`` from separate names, or from ``full`` when there is no last name."""
    if not last:
        if not full:
            return None, None, None
        first, last = _split_full(full)
    first_words, last_words = (first or "").split(), (last or "").split()
    if last_words:  # "Jan Jr." / "Smit": the suffix is the last name's
        if tail := _suffixed(first_words, keep=1):
            first_words, last_words = first_words[:-tail], last_words + first_words[-tail:]
        if len(first_words) > 1 and _suffixed(last_words, keep=0) == len(last_words):  # "Jan Smit" / "Jr."
            first_words, last_words = first_words[:-1], first_words[-1:] + last_words
    moved = _trailing(first_words)
    lead = _leading(last_words)
    middle = first_words[len(first_words) - moved:] + last_words[:lead]
    return (_join(first_words[:len(first_words) - moved]), _join(middle), _join(last_words[lead:]))


def _split_full(full: str) -> tuple[str | None, str | None]:
    """One full name → (first, last); particles and suffixes are sorted out by the caller."""
    if "," in full:
        last, _, first = (part.strip() for part in full.partition(","))
        after = first.split()
        if not after or _suffixed(after, keep=0) < len(after):  # "Meer, Jan van der": the last name first
            return first, last
        first, last = _split_full(last)  # "Jan Smit, Jr.": the comma only sets the suffix off
        return first, _join([*(last or "").split(), *after])
    words = full.split()
    tail = words[len(words) - _suffixed(words, keep=2):]  # a first and a last name come before "Jr."
    words = words[:len(words) - len(tail)]
    start = next((i for i in range(1, len(words)) if _leading(words[i:])), None)
    if start is None:
        start = max(len(words) - 1, 0)
    return _join(words[:start]), _join(words[start:] + tail)
