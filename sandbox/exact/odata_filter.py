"""OData v2 ``$filter`` as Exact (WCF Data Services) reads it: parse, type-check, evaluate.

Literals: ``'text'`` (``''`` escapes a quote), ``guid'…'``, ``datetime'…'`` (a wall time, no zone),
``123L`` (Int64), ``1.5M``/``1.5d``, ``true/false``, ``null``. Operators ``eq ne gt ge lt le and or
not``, parentheses. Functions ``trim substringof startswith endswith tolower toupper length year
month day``. No ``in`` (not OData v2), no navigation paths, no comparing two fields. Strings compare
case-insensitively and without trailing spaces, as SQL Server does [INFER].
Errors are 400s worded like WCF's ("No property 'X' exists in type …", "Syntax error at position n").
"""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any

from sandbox.exact.errors import ExactError
from sandbox.exact.values import parse_datetime

__all__ = ["Node", "evaluate", "parse_filter", "referenced"]

Node = tuple  # ("or"|"and", a, b) | ("not", a) | ("cmp", op, a, b) | ("lit", v, t) | ("prop", name) | ("call", f, args)

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<typed>(?:guid|datetime|datetimeoffset|time|X|binary)'(?:[^']|'')*')
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?)(?![\w.])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<punct>[(),])
""", re.VERBOSE)
_CMP = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"trim": (1, "s"), "tolower": (1, "s"), "toupper": (1, "s"), "length": (1, "i"), "substringof": (2, "b"),
          "startswith": (2, "b"), "endswith": (2, "b"), "year": (1, "i"), "month": (1, "i"), "day": (1, "i")}
_CLR = {"g": "System.Guid", "s": "System.String", "i": "System.Int32", "l": "System.Int64", "f": "System.Double",
        "b": "System.Boolean", "y": "System.Byte", "d": "System.DateTime", "x": "System.Byte[]", "null": "null"}
_NUMERIC = {"i", "l", "f", "y"}


def _syntax(pos: int) -> ExactError:
    return ExactError(400, f"Syntax error at position {pos}.")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _syntax(pos)
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(), pos))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str, fields: dict[str, str], type_name: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.fields = fields
        self.type_name = type_name
        self.end = len(text)

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def word(self, *words: str) -> str | None:
        tok = self.peek()
        if tok and tok[0] == "ident" and tok[1] in words:
            self.i += 1
            return tok[1]
        return None

    def expect(self, value: str) -> None:
        tok = self.peek()
        if not tok or tok[1] != value:
            raise _syntax(tok[2] if tok else self.end)
        self.i += 1

    def parse(self) -> Node:
        node = self.or_()
        if self.peek():
            raise _syntax(self.peek()[2])
        if _type(node) not in {"b", "null"}:
            raise ExactError(400, "Expression of type 'System.Boolean' expected at position 0.")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.word("or"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.word("and"):
            node = ("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.word("not"):
            return ("not", self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        left = self.primary()
        tok = self.peek()
        if tok and tok[0] == "ident" and tok[1] in _CMP:
            self.i += 1
            right = self.primary()
            _check(tok[1], left, right, tok[2])
            return ("cmp", tok[1], left, right)
        if tok and tok[0] == "ident" and tok[1] in {"in", "has", "add", "sub", "mul", "div", "mod"}:
            raise _syntax(tok[2])
        return left

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ExactError(400, f"Expression expected at position {self.end}.")
        kind, text, pos = tok
        self.i += 1
        if text == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "str":
            return ("lit", text[1:-1].replace("''", "'"), "s")
        if kind == "typed":
            return _typed(text, pos)
        if kind == "num":
            return _number(text)
        if kind != "ident":
            raise _syntax(pos)
        if text in {"true", "false"}:
            return ("lit", text == "true", "b")
        if text == "null":
            return ("lit", None, "null")
        nxt = self.peek()
        if nxt and nxt[1] == "(":
            return self.call(text, pos)
        if "/" in text:
            raise ExactError(400, f"Filtering on navigation properties is not supported ('{text}').")  # KB-ODATA
        if text not in self.fields or self.fields[text] == "n":
            raise ExactError(400, f"No property '{text}' exists in type '{self.type_name}' at position {pos}.")
        return ("prop", text, self.fields[text])

    def call(self, name: str, pos: int) -> Node:
        if name not in _FUNCS:
            raise ExactError(400, f"Unknown function '{name}' at position {pos}.")
        self.expect("(")
        args = [self.or_()]
        while self.peek() and self.peek()[1] == ",":
            self.i += 1
            args.append(self.or_())
        self.expect(")")
        if len(args) != _FUNCS[name][0]:
            raise ExactError(400, f"No applicable function found for '{name}' at position {pos}.")
        return ("call", name, args)


def _typed(text: str, pos: int) -> Node:
    prefix, _, rest = text.partition("'")
    body = rest[:-1].replace("''", "'")
    try:
        if prefix == "guid":
            return ("lit", str(uuid.UUID(body)), "g")
        if prefix in {"datetime", "datetimeoffset"}:
            return ("lit", parse_datetime(body), "d")
    except ValueError:
        pass
    raise ExactError(400, f"Unrecognized '{prefix}' literal '{text}' at position {pos}.")


def _number(text: str) -> Node:
    suffix = text[-1].lower() if text[-1].isalpha() else ""
    body = text[:-1] if suffix else text
    if suffix == "l":
        return ("lit", int(body), "l")
    if suffix or "." in body or "e" in body.lower():
        return ("lit", float(body), "f")
    return ("lit", int(body), "i")


def _type(node: Node) -> str:
    kind = node[0]
    if kind in {"or", "and", "not", "cmp"}:
        return "b"
    if kind in {"lit", "prop"}:
        return node[2]
    return _FUNCS[node[1]][1]


def _check(op: str, left: Node, right: Node, pos: int) -> None:
    a, b = _type(left), _type(right)
    if "null" in (a, b) or a == b or (a in _NUMERIC and b in _NUMERIC):
        return
    raise ExactError(400, f"Operator '{op}' incompatible with operand types '{_CLR[a]}' and '{_CLR[b]}' "
                          f"at position {pos}.")


def parse_filter(text: str, fields: dict[str, str], type_name: str) -> Node:
    """Parse and type-check ``$filter`` against an entity's fields (400 on any error)."""
    return _Parser(text, fields, type_name).parse()


def referenced(node: Node) -> set[str]:
    """The properties a filter names (for the mandatory-filter check)."""
    if node[0] == "prop":
        return {node[1]}
    if node[0] in {"or", "and"}:
        return referenced(node[1]) | referenced(node[2])
    if node[0] == "not":
        return referenced(node[1])
    if node[0] == "cmp":
        return referenced(node[2]) | referenced(node[3])
    if node[0] == "call":
        return set().union(*(referenced(a) for a in node[2]))
    return set()


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.rstrip(" ").casefold()
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _compare(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return (a is None and b is None) if op == "eq" else (not (a is None and b is None)) if op == "ne" else False
    a, b = _norm(a), _norm(b)
    try:
        return {"eq": a == b, "ne": a != b, "gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


def evaluate(node: Node, row: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "prop":
        return row.get(node[1])
    if kind == "or":
        return bool(evaluate(node[1], row)) or bool(evaluate(node[2], row))
    if kind == "and":
        return bool(evaluate(node[1], row)) and bool(evaluate(node[2], row))
    if kind == "not":
        return not evaluate(node[1], row)
    if kind == "cmp":
        return _compare(node[1], evaluate(node[2], row), evaluate(node[3], row))
    args = [evaluate(a, row) for a in node[2]]
    return _call(node[1], args)


def _call(name: str, args: list[Any]) -> Any:
    if any(a is None for a in args):
        return None if name not in {"substringof", "startswith", "endswith"} else False
    if name == "trim":
        return str(args[0]).strip()
    if name == "tolower":
        return str(args[0]).lower()
    if name == "toupper":
        return str(args[0]).upper()
    if name == "length":
        return len(str(args[0]))
    if name in {"year", "month", "day"}:
        return getattr(args[0], name)
    if name == "substringof":  # v2 order: substringof(needle, haystack)
        return str(args[0]).casefold() in str(args[1]).casefold()
    if name == "startswith":
        return str(args[0]).casefold().startswith(str(args[1]).casefold())
    return str(args[0]).casefold().endswith(str(args[1]).casefold())
