"""``$filter`` parsing for the Tribe simulator: a tokenizer and a recursive-descent parser.

Supported as Tribe documents it: ``eq ne gt ge lt le``, ``and or not``, parentheses,
case-insensitive ``contains/startswith/endswith``, navigation paths (``Phase/Code``), ``null``,
quoted strings (``''`` escapes a quote), numbers, booleans, unquoted ISO datetimes/dates and
unquoted GUIDs. ``in`` and ``has`` are rejected explicitly, as the real API does.
Evaluation lives in ``filter_eval``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sandbox.tribe.errors import bad_request

__all__ = ["Call", "Compare", "Literal", "Logical", "Not", "Path", "parse_datetime", "parse_filter", "tokenize"]

_COMPARISON = {"eq", "ne", "gt", "ge", "lt", "le"}
_ARITHMETIC = {"add", "sub", "mul", "div", "divby", "mod"}
_FUNCTIONS = {"contains", "startswith", "endswith"}

# Ordered: GUIDs before numbers (they may start with digits), datetimes before dates.
# A space before the offset is a '+' that was form-decoded on the way in (``+01:00``).
_TOKEN_PATTERNS = [
    ("GUID", re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])")),
    ("DATETIME", re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\- ]\d{2}:\d{2})")),
    ("NAIVE", re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]*")),
    ("DATE", re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")),
    ("NUMBER", re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])")),
    ("IDENT", re.compile(r"[A-Za-z_][A-Za-z0-9_]*")),
]
_PUNCT = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", "/": "SLASH"}


@dataclass(frozen=True)
class Token:
    kind: str
    value: Any
    pos: int


@dataclass(frozen=True)
class Literal:
    value: Any
    type: str  # string, number, bool, null, datetime, date, guid


@dataclass(frozen=True)
class Path:
    segments: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Logical:
    op: str  # "and" | "or"
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


def parse_datetime(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if text[-6] == " ":  # the decoded '+' of an offset
        text = text[:-6] + "+" + text[-5:]
    return datetime.fromisoformat(text)


def tokenize(text: str) -> list[Token]:
    """Split a filter expression into tokens.

    Raises:
        ODataError: 400 on a character that starts no token or an unterminated string.
    """
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in _PUNCT:
            tokens.append(Token(_PUNCT[char], char, pos))
            pos += 1
            continue
        if char == "'":
            pos = _read_string(text, pos, tokens)
            continue
        for kind, pattern in _TOKEN_PATTERNS:
            match = pattern.match(text, pos)
            if match and kind == "NAIVE":
                raise bad_request(f"Invalid $filter: datetime {match.group()!r} at position {pos} needs a "
                                  "UTC offset or 'Z'", "InvalidFilter")
            if match:
                tokens.append(Token(kind, _token_value(kind, match.group()), pos))
                pos = match.end()
                break
        else:
            raise bad_request(f"Invalid $filter: unexpected character {char!r} at position {pos}", "InvalidFilter")
    tokens.append(Token("EOF", None, len(text)))
    return tokens


def _read_string(text: str, start: int, tokens: list[Token]) -> int:
    chars: list[str] = []
    pos = start + 1
    while pos < len(text):
        if text[pos] == "'":
            if text.startswith("''", pos):  # doubled quote = one literal quote
                chars.append("'")
                pos += 2
                continue
            tokens.append(Token("STRING", "".join(chars), start))
            return pos + 1
        chars.append(text[pos])
        pos += 1
    raise bad_request(f"Invalid $filter: unterminated string literal starting at position {start}", "InvalidFilter")


def _token_value(kind: str, text: str) -> Any:
    if kind == "NUMBER":
        return float(text) if any(c in text for c in ".eE") else int(text)
    if kind == "DATETIME":
        return parse_datetime(text)
    if kind == "DATE":
        return date.fromisoformat(text)
    if kind == "GUID":
        return text.lower()
    return text


class _Parser:
    """Recursive descent: or -> and -> not -> comparison -> primary."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.current.kind == "IDENT" and self.current.value in words

    def expect(self, kind: str, what: str) -> Token:
        if self.current.kind != kind:
            raise self.error(f"expected {what}")
        return self.advance()

    def error(self, message: str) -> Exception:
        token = self.current
        found = "end of expression" if token.kind == "EOF" else repr(str(token.value))
        return bad_request(f"Invalid $filter: {message} at position {token.pos}, found {found}", "InvalidFilter")

    def parse(self) -> Any:
        node = self.parse_or()
        if self.current.kind != "EOF":
            self._reject_unsupported_operator()
            raise self.error("expected 'and', 'or' or end of expression")
        return node

    def parse_or(self) -> Any:
        node = self.parse_and()
        while self.is_word("or"):
            self.advance()
            node = Logical("or", node, self.parse_and())
        return node

    def parse_and(self) -> Any:
        node = self.parse_not()
        while self.is_word("and"):
            self.advance()
            node = Logical("and", node, self.parse_not())
        return node

    def parse_not(self) -> Any:
        if self.is_word("not"):
            self.advance()
            return Not(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> Any:
        left = self.parse_primary()
        if self.is_word(*_COMPARISON):
            op = self.advance().value
            return Compare(op, left, self.parse_primary())
        self._reject_unsupported_operator()
        return left

    def _reject_unsupported_operator(self) -> None:
        if self.is_word("in", "has"):
            raise bad_request(
                f"The '{self.current.value}' operator is not supported by the Tribe API "
                f"(position {self.current.pos}); combine 'eq' comparisons with 'or' instead",
                "UnsupportedOperator")
        if self.is_word(*_ARITHMETIC):
            raise bad_request(f"Arithmetic operator '{self.current.value}' is not supported in $filter",
                              "UnsupportedOperator")

    def parse_primary(self) -> Any:
        token = self.current
        if token.kind == "LPAREN":
            self.advance()
            node = self.parse_or()
            self.expect("RPAREN", "')'")
            return node
        if token.kind in ("STRING", "NUMBER", "DATETIME", "DATE", "GUID"):
            self.advance()
            kind = {"STRING": "string", "NUMBER": "number", "DATETIME": "datetime", "DATE": "date",
                    "GUID": "guid"}[token.kind]
            return Literal(token.value, kind)
        if token.kind == "IDENT":
            if token.value in ("true", "false"):
                self.advance()
                return Literal(token.value == "true", "bool")
            if token.value == "null":
                self.advance()
                return Literal(None, "null")
            if self.tokens[self.index + 1].kind == "LPAREN":
                return self.parse_call()
            return self.parse_path()
        raise self.error("expected a property, literal, function or '('")

    def parse_call(self) -> Call:
        name = self.advance().value
        if name not in _FUNCTIONS:
            raise bad_request(f"Function '{name}' is not supported in $filter; supported functions are "
                              "contains, startswith and endswith", "UnsupportedFunction")
        self.expect("LPAREN", "'('")
        args = [self.parse_or()]
        while self.current.kind == "COMMA":
            self.advance()
            args.append(self.parse_or())
        self.expect("RPAREN", "')'")
        return Call(name, tuple(args))

    def parse_path(self) -> Path:
        segments = [self.advance().value]
        while self.current.kind == "SLASH":
            self.advance()
            if self.is_word("any", "all"):
                raise bad_request("Lambda operators any/all are not supported in $filter", "UnsupportedOperator")
            segments.append(self.expect("IDENT", "a property name after '/'").value)
        return Path(tuple(segments))


def parse_filter(text: str) -> Any:
    """Parse a ``$filter`` expression into an AST (Literal/Path/Compare/Logical/Not/Call)."""
    if not text.strip():
        raise bad_request("Invalid $filter: the expression is empty", "InvalidFilter")
    return _Parser(tokenize(text)).parse()
