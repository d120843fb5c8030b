"""Exact Online's named transforms (``transform:`` in its mapping files): what a division's
``invoices`` settings name (the journal; per Tribe VAT group the VAT code and GL account),
checked against that division's own tables (the mapping's lookups, read before the invoice is
mapped). A code the settings lack or the division does not have holds the invoice — naming the
field — before a single request reaches ``salesentry/SalesEntries``: every refusal Exact gives
counts toward blocking the key.
"""
from __future__ import annotations

from typing import Any

from tribe_operators.exceptions import RecordError
from tribe_operators.mapping.settings import settings_variable
from tribe_operators.mapping.transforms import MapContext, bad_value, unmapped_code

__all__ = ["TRANSFORMS"]


def _section(ctx: MapContext) -> dict[str, Any]:
    return (ctx.settings.get("invoices") or {}).get(str(ctx.scope)) or {}


def _missing_in_division(ctx: MapContext, what: str, code: str, setting: str) -> RecordError:
    return bad_value(f"{what} {code!r} (settings '{setting}') does not exist in Exact division of scope "
                     f"{ctx.scope!r}; create it in Exact or change '{setting}' in include/mappings/exact/settings.yaml "
                     f"(or the Variable {settings_variable(ctx.integration or 'exact')})")


def division_journal(value: Any, ctx: MapContext, record: dict[str, Any], *, table: str,
                     journal_type: int | None = None) -> str:
    """The journal code of ``invoices.<scope>.journal``, which the division must have (in
    ``table``: code → journal type) and, when ``journal_type`` is given, of that type (20: sales)."""
    setting = f"invoices.{ctx.scope}.journal"
    code = str(_section(ctx).get("journal") or "").strip()
    if not code:
        raise bad_value(f"no sales journal for scope {ctx.scope!r}: set '{setting}' in "
                        "include/mappings/exact/settings.yaml (the journal's code, e.g. \"70\")")
    kind = ctx.lookups.get(table, {}).get(code)
    if kind is None:
        raise _missing_in_division(ctx, "journal", code, setting)
    if journal_type is not None and str(kind).strip() != str(journal_type):
        raise bad_value(f"journal {code!r} (settings '{setting}') is not a sales journal in Exact (its type is "
                        f"{kind}, a sales journal's is {journal_type}); name a sales journal")
    return code


def division_code(value: Any, ctx: MapContext, record: dict[str, Any], *, setting: str, table: str,
                  what: str, exact_what: str, give: str = "value") -> str | None:
    """A Tribe code (a line's VAT group) → the Exact code ``invoices.<scope>.<setting>`` maps it
    to, which the division must have (in ``table``: code → id); ``give``: ``code`` (Exact
    references a VAT code by its code) or ``value`` (the table's value: a GL account's id)."""
    if value in (None, ""):
        return None
    codes = _section(ctx).get(setting) or {}
    if str(value) not in codes:
        raise unmapped_code(ctx, what, str(value), ["invoices", str(ctx.scope), setting])
    code = str(codes[str(value)]).strip()
    found = ctx.lookups.get(table, {}).get(code)
    if found is None:
        raise _missing_in_division(ctx, f"Exact {exact_what}", code, f"invoices.{ctx.scope}.{setting}.{value}")
    return code if give == "code" else str(found)


TRANSFORMS = {"division_journal": division_journal, "division_code": division_code}
