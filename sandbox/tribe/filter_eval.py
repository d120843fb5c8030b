"""Evaluate parsed ``$filter`` expressions against stored records, with model type checks."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sandbox.tribe.errors import bad_request
from sandbox.tribe.model import ENTITY_SETS, EntitySet
from sandbox.tribe.odata_filter import Call, Compare, Literal, Logical, Not, Path, parse_datetime, parse_filter

__all__ = ["comparable", "compile_filter", "key_terms", "walk_path"]

Resolver = Callable[[dict, tuple[str, ...]], Any]


def walk_path(set_def: EntitySet, segments: tuple[str, ...]) -> str:
    """Validate a property path against the model and return the final kind.

    A path ending on a single navigation compares by the target's ID (kind ``guid``).

    Raises:
        ODataError: 400 naming the unknown property or the collection navigation.
    """
    current = set_def
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        kind = current.kind(segment)
        if kind and last:
            return kind
        nav = current.navs.get(segment)
        if nav is None:
            raise bad_request(f"Could not find a property named '{segment}' on type '{current.type}'",
                              "UnknownProperty")
        if nav.many:
            raise bad_request(f"Collection navigation '{segment}' cannot be used in a path "
                              "(any/all are not supported)", "UnsupportedOperator")
        if last:
            return "guid"
        current = ENTITY_SETS[nav.target]
    raise AssertionError("unreachable")


_COMPATIBLE = {
    "string": {"string"}, "number": {"number"}, "bool": {"bool"}, "guid": {"guid"},
    "datetime": {"datetime", "date"}, "date": {"date"},
}


def comparable(kind: str | None, value: Any) -> Any:
    """Turn a stored JSON value into something Python can compare for its kind."""
    if value is None or not isinstance(value, str):
        return value
    if kind == "guid":
        return value.lower()
    if kind not in ("datetime", "date"):
        return value
    if kind == "date":
        return date.fromisoformat(value[:10])
    return parse_datetime(value)


def compile_filter(text: str, set_def: EntitySet, resolve: Resolver) -> Callable[[dict], bool]:
    """Parse, type-check and compile ``$filter`` into a predicate over stored records.

    Args:
        text: The raw ``$filter`` value.
        set_def: The entity set being queried (paths are checked against it).
        resolve: ``resolve(record, segments)`` returns the stored value at a path.

    Returns:
        A function ``record -> bool``.
    """
    return _Compiler(set_def, resolve).boolean(parse_filter(text))


def key_terms(text: str, set_def: EntitySet) -> dict[str, list[str]] | None:
    """What a filter pins its records to by key, ``{field: [guid, …]}`` (``ID``, or a single
    navigation as ``Nav`` / ``Nav/ID``), when every record it accepts has one of them: an
    ``eq`` of such a path with a GUID, ``or``-ed with more, ``and``-ed with anything. None when
    it does not pin them. The predicate still decides; this only spares the scan."""
    return _keys(parse_filter(text), set_def)


def _keys(node: Any, set_def: EntitySet) -> dict[str, list[str]] | None:
    if isinstance(node, Logical):
        left, right = _keys(node.left, set_def), _keys(node.right, set_def)
        if node.op == "and":
            return left if left is not None else right
        if left is None or right is None:
            return None
        return {f: left.get(f, []) + right.get(f, []) for f in {*left, *right}}
    if not isinstance(node, Compare) or node.op != "eq":
        return None
    path, literal = (node.left, node.right) if isinstance(node.left, Path) else (node.right, node.left)
    if not isinstance(path, Path) or not isinstance(literal, Literal) or literal.type != "guid":
        return None
    segments = path.segments
    if segments == ("ID",):
        return {"ID": [str(literal.value)]}
    nav = set_def.navs.get(segments[0])
    if nav is None or nav.many or segments[1:] not in ((), ("ID",)):
        return None
    return {segments[0]: [str(literal.value)]}


class _Compiler:
    def __init__(self, set_def: EntitySet, resolve: Resolver) -> None:
        self.set_def = set_def
        self.resolve = resolve

    def boolean(self, node: Any) -> Callable[[dict], bool]:
        if isinstance(node, Logical):
            left, right = self.boolean(node.left), self.boolean(node.right)
            if node.op == "and":
                return lambda r: left(r) and right(r)
            return lambda r: left(r) or right(r)
        if isinstance(node, Not):
            inner = self.boolean(node.operand)
            return lambda r: not inner(r)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Call):
            return self.call(node)
        kind, getter = self.value(node)
        if kind != "bool":
            raise bad_request("Invalid $filter: the expression must evaluate to true or false", "InvalidFilter")
        return lambda r: getter(r) is True

    def value(self, node: Any) -> tuple[str, Callable[[dict], Any]]:
        """Return (kind, getter) for an operand."""
        if isinstance(node, Literal):
            value = node.value
            return node.type, lambda r: value
        if isinstance(node, Path):
            kind = walk_path(self.set_def, node.segments)
            segments, resolve = node.segments, self.resolve
            return kind, lambda r: comparable(kind, resolve(r, segments))
        if isinstance(node, Call):
            return "bool", self.call(node)
        return "bool", self.boolean(node)

    def compare(self, node: Compare) -> Callable[[dict], bool]:
        left_kind, left = self.value(node.left)
        right_kind, right = self.value(node.right)
        _check_types(left_kind, right_kind, node)
        op = node.op
        if {left_kind, right_kind} == {"datetime", "date"}:  # a bare date means midnight UTC
            left, right = _as_datetime(left), _as_datetime(right)
        if op == "eq":
            return lambda r: left(r) == right(r)
        if op == "ne":
            return lambda r: left(r) != right(r)
        check = {"gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
                 "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}[op]

        def ordered(record: dict) -> bool:
            a, b = left(record), right(record)
            return a is not None and b is not None and check(a, b)  # null never orders
        return ordered

    def call(self, node: Call) -> Callable[[dict], bool]:
        if len(node.args) != 2:
            raise bad_request(f"Function '{node.name}' takes exactly 2 arguments", "InvalidFilter")
        kinds_getters = [self.value(arg) for arg in node.args]
        for kind, _ in kinds_getters:
            if kind not in ("string", "null"):
                raise bad_request(f"Function '{node.name}' needs string arguments", "InvalidFilter")
        (_, haystack), (_, needle) = kinds_getters
        test = {"contains": lambda h, n: n in h, "startswith": str.startswith,
                "endswith": str.endswith}[node.name]

        def run(record: dict) -> bool:
            h, n = haystack(record), needle(record)
            return isinstance(h, str) and isinstance(n, str) and test(h.lower(), n.lower())
        return run


def _check_types(left: str, right: str, node: Compare) -> None:
    if "null" in (left, right):
        if node.op not in ("eq", "ne"):
            raise bad_request(f"Invalid $filter: '{node.op}' cannot compare with null", "InvalidFilter")
        return
    if right in _COMPATIBLE.get(left, set()) or left in _COMPATIBLE.get(right, set()):
        return
    hint = "; GUIDs are written without quotes" if "guid" in (left, right) else ""
    hint = hint or ("; dates and datetimes are written without quotes"
                    if {"datetime", "date"} & {left, right} else "")
    raise bad_request(f"Invalid $filter: incompatible types {left} and {right} for '{node.op}'{hint}",
                      "IncompatibleTypes")


def _as_datetime(getter: Callable[[dict], Any]) -> Callable[[dict], Any]:
    def get(record: dict) -> Any:
        value = getter(record)
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        return value
    return get
