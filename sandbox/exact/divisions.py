"""Who the user is and which divisions exist: ``current/Me``, ``system/Divisions``,
``hrm/Divisions``, ``system/AllDivisions``; plus the ``sync/Deleted`` log.

``current/Me`` is a *collection* of one (``d.results[0].CurrentDivision``, REF §1.4) and has no
division in its URL, so it spends no budget. ``system/Divisions`` lists the divisions the user can
reach (with ``Current``), ``hrm/Divisions`` and ``system/AllDivisions`` those of the licence
[INFER: the difference between the last two is not documented].
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.exact.entities import EntitySpec
from sandbox.exact.rules import Ctx, Rules

if TYPE_CHECKING:
    from sandbox.exact.state import ExactState

__all__ = ["DeletedRules", "DivisionRules", "me_row"]

ME_FIELDS = {"UserID": "g", "AccountingDivision": "i", "CurrentDivision": "i", "DivisionCustomer": "g",
             "DivisionCustomerCode": "s", "DivisionCustomerName": "s", "Email": "s", "FirstName": "s", "FullName": "s",
             "Language": "s", "LanguageCode": "s", "LastName": "s", "Legislation": "l", "ServerTime": "s",
             "ServerUtcOffset": "f", "UserName": "s"}


def me_row(state: ExactState) -> dict[str, Any]:
    now = state.now()
    wall = state.wall_now()
    division = state.divisions.get(state.current_division) or {}
    return {**{k: state.user.get(k) for k in ME_FIELDS}, "CurrentDivision": state.current_division,
            "AccountingDivision": state.current_division, "DivisionCustomer": division.get("Customer"),
            "DivisionCustomerCode": division.get("CustomerCode"), "DivisionCustomerName": division.get("Description"),
            "Legislation": {"NL": 1, "BE": 2}.get(division.get("Country"), 1),
            "ServerTime": wall.strftime("%Y-%m-%dT%H:%M:%S"),
            "ServerUtcOffset": float(round((wall - now.replace(tzinfo=None)).total_seconds()))}


class DivisionRules(Rules):
    def __init__(self, accessible_only: bool) -> None:
        self.accessible_only = accessible_only

    def rows(self, ctx: Ctx, spec: EntitySpec) -> list[dict[str, Any]]:
        state = ctx.state
        codes = state.user_divisions if self.accessible_only else list(state.divisions)
        return [dict(state.divisions[c], Current=c == state.current_division) for c in codes]


class DeletedRules(Rules):
    def rows(self, ctx: Ctx, spec: EntitySpec) -> list[dict[str, Any]]:
        return [dict(r, _ts=r["Timestamp"]) for r in ctx.state.store.deleted.get(ctx.division, [])]
