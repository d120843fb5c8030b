"""``search``: active_test, the multi-company record rule, the domain, order, offset and limit."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo.domain import compile_domain
from sandbox.odoo.order import sort_rows

if TYPE_CHECKING:
    from sandbox.odoo.access import Env

__all__ = ["search", "with_active_test"]


def with_active_test(env: Env, model_name: str, domain: list) -> list:
    """Prepend ``('active', '=', True)`` unless the context says ``active_test: False`` or a
    top-level term of the domain already names ``active`` (Odoo's ``_where_calc``)."""
    model = env.registry[model_name]
    if not model.active_name or not env.active_test:
        return domain
    if any(isinstance(term, list | tuple) and term and term[0] == model.active_name for term in domain):
        return domain
    return [(model.active_name, "=", True), *domain]


def search(env: Env, model_name: str, domain: Any = None, offset: Any = 0, limit: Any = None,
           order: Any = None) -> list[int]:
    """Ids matching ``domain`` that the env may see; ``limit`` 0/None means all."""
    model = env.registry[model_name]
    env.check_access_rights(model, "read")
    domain = list(domain) if isinstance(domain, list | tuple) else ([] if domain in (None, False) else domain)
    predicate = compile_domain(env, model, with_active_test(env, model_name, domain) if isinstance(domain, list)
                               else domain)
    rule = env.rule_domain(model)
    allowed = compile_domain(env.sudo(), model, rule) if rule else None
    rows = [row for row in env.store.rows(model_name) if (allowed is None or allowed(row)) and predicate(row)]
    ids = sort_rows(env, model, rows, order or None)
    start = int(offset or 0)
    ids = ids[start:] if start > 0 else ids
    count = int(limit or 0)
    return ids[:count] if count > 0 else ids
