"""Do two organisation or person names share anything meaningful?

Asked of a record matched by *number* only (a debtor number, an Odoo ``ref``): Tribe numbers its
own relations too, so a number from the accounting system can meet an unrelated organisation's
(PowerOffice's new customer 10066 against a Tribe organisation numbered 10066 months earlier).
A match whose names share nothing is held for a person to decide instead of renaming the target.

Names are compared after folding case and accents, dropping punctuation, legal forms, generic
company words (``include/mappings/name_noise.yaml``) and name particles (``name_particles.yaml``).
Two measures of RapidFuzz, each with its threshold in the settings (``number_match``):
the names as word sets (``token_set_ratio``: "Fjord Consulting" is in "Fjord Consulting Oslo")
and the best pair of words (``ratio``: "Konsulting" against "Consulting", a typo or a rename that
kept one word). Either reaching its threshold makes the names alike.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz

__all__ = ["NameCheck", "meaningful_words"]

_PUNCTUATION = re.compile(r"[^\w\s/]+|_")
_MIN_WORD = 2  # "AB" is a legal form and dropped; a name of one letter says nothing


@cache
def _noise(path: str | None = None) -> frozenset[str]:
    from tribe_operators.mapping.names import particles
    from tribe_operators.mapping.spec import mappings_root

    raw = yaml.safe_load(Path(path or mappings_root() / "name_noise.yaml").read_text(encoding="utf-8")) or {}
    words = {w for group in (raw.get("legal_forms") or {}).values() for w in group or []}
    words |= set(raw.get("generic_words") or [])
    words |= {w for particle in particles() for w in particle}
    return frozenset(_fold(str(w)) for w in words)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ø", "o").replace("æ", "ae")


def meaningful_words(name: str | None) -> list[str]:
    """The words of ``name`` that tell one organisation from another, folded."""
    text = _PUNCTUATION.sub(" ", _fold(name or "").replace("-", " "))
    noise = _noise()
    return [w for w in text.split() if w not in noise and len(w) >= _MIN_WORD]


@dataclass(frozen=True)
class NameCheck:
    """The thresholds (0–1) of ``settings.number_match``."""

    min_name_similarity: float = 0.7
    min_word_similarity: float = 0.8

    def similarity(self, a: str | None, b: str | None) -> tuple[float, float]:
        """(the names as word sets, the best pair of words), each 0–1."""
        wa, wb = meaningful_words(a), meaningful_words(b)
        if not wa or not wb:
            return 0.0, 0.0
        whole = fuzz.token_set_ratio(" ".join(wa), " ".join(wb)) / 100
        best = max(fuzz.ratio(x, y) for x in wa for y in wb) / 100
        return whole, best

    def alike(self, a: str | None, b: str | None) -> bool:
        """True unless both names have meaningful words and they share nothing. A name made only
        of legal forms or particles ("AS") cannot tell: it is not held for that."""
        if not meaningful_words(a) or not meaningful_words(b):
            return True
        whole, best = self.similarity(a, b)
        return whole >= self.min_name_similarity or best >= self.min_word_similarity
