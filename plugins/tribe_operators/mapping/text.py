"""What text is made of: invisible characters, control characters, double-encoded UTF-8."""
from __future__ import annotations

import re
import unicodedata

__all__ = ["CONTROL", "undo_mojibake", "visible"]

# Control characters other than tab, newline and carriage return (one regex search, not a loop).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def undo_mojibake(value: str) -> str | None:
    """``"BjÃ¸rn"`` → ``"Bjørn"``: text that an export decoded as Windows-1252 although it was
    UTF-8. Real text almost never re-encodes to valid UTF-8 ("Bjørn" → b"Bj\\xf8rn" does not)."""
    if value.isascii():
        return None
    try:
        fixed = value.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return None
    return fixed if fixed != value else None


# Characters that show nothing: format characters (zero-width space, joiners, BOM, soft hyphen,
# bidi marks) and the blank "letters" some keyboards produce (Hangul fillers, braille blank).
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_ZERO_WIDTH = str.maketrans("", "", "\u200b\u2060\ufeff")  # never content, wherever they are


def _blank(ch: str) -> bool:
    return ch.isspace() or ch in _FILLERS or unicodedata.category(ch) == "Cf"


def visible(value: str) -> str:
    """Trimmed of whitespace and invisible characters at both ends, zero-width spaces dropped
    inside: a name made only of invisible characters is empty."""
    value = value.translate(_ZERO_WIDTH)
    start, end = 0, len(value)
    while start < end and _blank(value[start]):
        start += 1
    while end > start and _blank(value[end - 1]):
        end -= 1
    return value[start:end]
