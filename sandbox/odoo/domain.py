"""Odoo's domain language, evaluated in Python.

Prefix ``&`` ``|`` ``!`` with an implicit ``&`` between terms; leaves ``(field, operator,
value)`` with ``= != < <= > >= =? in, not in, like, not like, ilike, not ilike, =like, =ilike,
child_of, parent_of, any, not any``; dotted paths through relations (``parent_id.name``).
SQL's NULL rules are kept: ``!=`` and the negative operators match empty values, comparisons
with an empty value never do. A malformed domain raises ValueError as the ORM does.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sandbox.odoo.fields import X2MANY, parse_datetime

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.registry import ModelDef

__all__ = ["OPERATORS", "compile_domain", "name_domain", "normalize"]

OPERATORS = ("=", "!=", "<=", "<", ">", ">=", "=?", "=like", "=ilike", "like", "not like", "ilike", "not ilike",
             "in", "not in", "child_of", "parent_of", "any", "not any")
NEGATIVE = {"!=": "=", "not like": "like", "not ilike": "ilike", "not in": "in", "not any": "any"}
Predicate = Callable[[dict[str, Any]], bool]


def normalize(domain: Any) -> list:
    """Explicit prefix form (``[A, B]`` → ``['&', A, B]``); ValueError when malformed."""
    if not isinstance(domain, list | tuple):
        raise ValueError(f"Invalid domain: {domain!r} (a domain is a list of conditions)")
    result: list = []
    expected = 1
    for token in domain:
        if expected == 0:
            result.insert(0, "&")
            expected = 1
        if isinstance(token, list | tuple):
            expected -= 1
            result.append(tuple(token))
        elif token in ("&", "|"):
            expected += 1
            result.append(token)
        elif token == "!":
            result.append(token)
        else:
            raise ValueError(f"Invalid domain term {token!r} in {list(domain)!r}")
    if result and expected != 0:
        raise ValueError(f"Domain {list(domain)!r} is syntactically not correct.")  # [INFER] text
    return result


def compile_domain(env: Env, model: ModelDef, domain: Any) -> Predicate:
    """A predicate over stored rows of ``model``."""
    tokens = normalize(domain)
    if not tokens:
        return lambda row: True
    predicate, end = _build(env, model, tokens, 0)
    return predicate


def _build(env: Env, model: ModelDef, tokens: list, pos: int) -> tuple[Predicate, int]:
    token = tokens[pos]
    if token == "!":
        inner, pos = _build(env, model, tokens, pos + 1)
        return (lambda row: not inner(row)), pos
    if token in ("&", "|"):
        left, pos = _build(env, model, tokens, pos + 1)
        right, pos = _build(env, model, tokens, pos)
        if token == "&":
            return (lambda row: left(row) and right(row)), pos
        return (lambda row: left(row) or right(row)), pos
    return _leaf(env, model, token), pos + 1


def _leaf(env: Env, model: ModelDef, leaf: tuple) -> Predicate:
    if len(leaf) != 3:
        raise ValueError(f"Invalid leaf {leaf!r}")
    left, op, right = leaf
    if leaf == (1, "=", 1) or leaf == (0, "=", 1):  # TRUE_LEAF / FALSE_LEAF
        return (lambda row: True) if left == 1 else (lambda row: False)
    if not isinstance(left, str) or not isinstance(op, str):
        raise ValueError(f"Invalid leaf {leaf!r}")
    op = "!=" if op == "<>" else op.lower()
    if op not in OPERATORS:
        raise ValueError(f"Invalid operator {op!r} in domain term {leaf!r}")
    path = left.split(".")
    f = model.fields.get(path[0])
    if f is None:
        raise ValueError(env.profile.invalid_leaf_field(model.name, path[0], leaf))
    from sandbox.odoo.reading import value

    def current(row: dict[str, Any]) -> Any:
        return value(env, model, row, path[0])

    if len(path) > 1 or op in ("any", "not any"):
        return _through(env, model, f, path, op, right, current, leaf)
    if op in ("child_of", "parent_of"):
        return _hierarchy(env, model, f, op, right, current)
    try:
        if f.type == "many2one" or f.type in X2MANY:
            return _relational(env, f, op, right, current)
        test = _scalar_test(f.type, op, right)
    except TypeError as exc:  # e.g. a list where a number belongs: PostgreSQL refuses the cast
        raise ValueError(f"Invalid value {right!r} in leaf {leaf!r}") from exc
    return lambda row: test(current(row))


def _through(env: Env, model: ModelDef, f: Any, path: list[str], op: str, right: Any,
             current: Callable, leaf: tuple) -> Predicate:
    """``parent_id.name ilike x`` / ``child_ids any [...]``: a sub-search on the comodel."""
    from sandbox.odoo.search import search

    if f.type != "many2one" and f.type not in X2MANY:
        raise ValueError(env.profile.invalid_leaf_field(model.name, ".".join(path), leaf))
    comodel = env.registry[f.relation]
    if op in ("any", "not any"):
        negate, sub = op == "not any", list(right) if isinstance(right, list | tuple) else right
        if len(path) > 1:
            sub = [(".".join(path[1:]), op, right)]
            negate = False
    elif f.type in X2MANY and op in NEGATIVE:
        negate, sub = True, [(".".join(path[1:]), NEGATIVE[op], right)]  # none of them matches
    else:
        negate, sub = False, [(".".join(path[1:]), op, right)]
    ids = set(search(env.with_context(active_test=False), comodel.name, sub))

    def test(row: dict[str, Any]) -> bool:
        linked = current(row)
        hit = (linked in ids) if f.type == "many2one" else any(i in ids for i in linked)
        return hit != negate

    return test


def _ids_of(env: Env, comodel: ModelDef, right: Any) -> set[int]:
    """child_of / parent_of operands: ids, a list of ids, or a name (name search)."""
    from sandbox.odoo.search import search

    if right is False or right is None:
        return set()
    items = right if isinstance(right, list | tuple) else [right]
    ids: set[int] = set()
    for item in items:
        if isinstance(item, str):
            ids.update(search(env, comodel.name, name_domain(comodel, item, "ilike")))
        elif isinstance(item, int) and not isinstance(item, bool):
            ids.add(item)
        else:
            raise ValueError(f"Invalid hierarchy operand {right!r}")
    return ids


def _hierarchy(env: Env, model: ModelDef, f: Any, op: str, right: Any, current: Callable) -> Predicate:
    comodel = model if f.name == "id" else env.registry[f.relation or model.name]
    parent = comodel.parent_name
    if not parent:
        raise ValueError(f"Invalid domain: {comodel.name} has no parent field for {op}")
    seeds = _ids_of(env, comodel, right)
    parent_of = {row["id"]: row.get(parent) for row in env.store.rows(comodel.name)}
    found = set(seeds)
    if op == "child_of":
        frontier = set(seeds)
        while frontier:
            frontier = {rid for rid, up in parent_of.items() if up in frontier and rid not in found}
            found |= frontier
    else:
        for rid in seeds:
            up = parent_of.get(rid)
            while up and up not in found:
                found.add(up)
                up = parent_of.get(up)
    if f.type in X2MANY:
        return lambda row: any(i in found for i in current(row))
    return lambda row: current(row) in found


def name_domain(model: ModelDef, name: str, op: str) -> list:
    """What ``_name_search`` matches: the rec-name fields joined with ``|``."""
    names = list(model.rec_names_search or ((model.rec_name,) if model.rec_name else ("display_name",)))
    leaves: list = [(field_name, op, name) for field_name in names]
    return ["|"] * (len(leaves) - 1) + leaves


def _relational(env: Env, f: Any, op: str, right: Any, current: Callable) -> Predicate:
    from sandbox.odoo.search import search

    many = f.type in X2MANY
    if isinstance(right, str) and op not in ("in", "not in"):
        positive = NEGATIVE.get(op, op)
        ids = set(search(env, f.relation, name_domain(env.registry[f.relation], right, positive)))
        negate = op in NEGATIVE
        if many:
            return lambda row: any(i in ids for i in current(row)) != negate
        return lambda row: (current(row) in ids) != negate
    if not many:
        test = _scalar_test("many2one", op, right)
        return lambda row: test(current(row))
    if right is False or right is None:
        if op in ("=", "in"):
            return lambda row: not current(row)
        return lambda row: bool(current(row))
    wanted = set(right) if isinstance(right, list | tuple) else {right}
    if op in ("=", "in"):
        return lambda row: any(i in wanted for i in current(row))
    if op in ("!=", "not in"):
        return lambda row: not any(i in wanted for i in current(row))
    raise ValueError(f"Invalid operator {op!r} for a {f.type} field")


def _coerce(kind: str, right: Any) -> Any:
    """The right-hand side in the stored form of the field (as PostgreSQL would cast it)."""
    if right is False or right is None:
        return None
    if kind == "date":
        if isinstance(right, date):
            return right.strftime("%Y-%m-%d")
        return parse_datetime(str(right)[:10]).strftime("%Y-%m-%d")
    if kind == "datetime":
        return parse_datetime(right)
    if kind == "integer" or kind == "many2one":
        return int(right)
    if kind in ("float", "monetary"):
        return float(right)
    if kind == "boolean":
        return bool(right)
    return right if isinstance(right, str) else str(right)


def _like(pattern: str, case_insensitive: bool) -> re.Pattern:
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.S | (re.I if case_insensitive else 0))


def _scalar_test(kind: str, op: str, right: Any) -> Callable[[Any], bool]:
    """A test of one stored value (False/None = SQL NULL, except for booleans)."""
    def is_null(v: Any) -> bool:
        return (v is None or v is False) if kind != "boolean" else False

    if op == "=?":
        if right is False or right is None:
            return lambda v: True
        op = "="
    if op in ("like", "not like", "ilike", "not ilike", "=like", "=ilike"):
        text = "" if right is False or right is None else str(right)
        pattern = _like(text if op.startswith("=") else f"%{text}%", "ilike" in op)
        negate = op.startswith("not")
        return lambda v: (not is_null(v) and bool(pattern.fullmatch(str(v)))) != negate
    if op in ("in", "not in"):
        items = list(right) if isinstance(right, list | tuple) else [right]
        with_null = any(i is False or i is None for i in items)
        wanted = {_coerce(kind, i) for i in items if i is not False and i is not None}
        if kind == "boolean":
            wanted = {bool(i) for i in items}
            return (lambda v: bool(v) in wanted) if op == "in" else (lambda v: bool(v) not in wanted)
        def member(v: Any) -> bool:
            return (with_null and is_null(v)) or (not is_null(v) and v in wanted)
        return member if op == "in" else (lambda v: not member(v))
    target = _coerce(kind, right)
    if kind == "boolean":
        target = bool(target)
        if op == "=":
            return lambda v: bool(v) == target
        if op == "!=":
            return lambda v: bool(v) != target
    if op == "=":
        return (lambda v: is_null(v)) if target is None else (lambda v: not is_null(v) and v == target)
    if op == "!=":
        return (lambda v: not is_null(v)) if target is None else (lambda v: is_null(v) or v != target)
    compare = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
               ">=": lambda a, b: a >= b}[op]
    if target is None:
        return lambda v: False
    if isinstance(target, datetime):
        return lambda v: isinstance(v, datetime) and compare(v, target)
    return lambda v: not is_null(v) and compare(v, target)
