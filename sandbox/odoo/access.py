"""``Env``: who calls, with which context, at which transaction time; and the access rules.

Multi-company as in Odoo's ``Environment.companies``: ``allowed_company_ids`` in the context
lists the companies (the first is the current one) and must be a subset of the user's; without
it every company of the user is allowed. Records of other companies are invisible to search
and raise AccessError when read or written by id (the multi-company record rules).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.odoo.errors import AccessError, MissingError

if TYPE_CHECKING:
    from sandbox.odoo.registry import ModelDef
    from sandbox.odoo.state import OdooState

__all__ = ["Env", "check_records", "naive_utc"]

SUPERUSER_ID = 1
_OPERATION_VERBS = {"read": "read", "write": "modify", "create": "create", "unlink": "delete"}


def naive_utc(moment: datetime) -> datetime:
    """Odoo stores datetimes as naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Env:
    """One call's environment. ``now`` is fixed for the call: Odoo's ``cr.now()`` is the
    transaction start, so every row a call writes gets the same ``write_date``."""

    def __init__(self, state: OdooState, uid: int, context: dict[str, Any] | None = None, *,
                 now: datetime | None = None, su: bool = False) -> None:
        self.state = state
        self.store = state.store
        self.registry = state.registry
        self.profile = state.profile
        self.uid = uid
        self.su = su or uid == SUPERUSER_ID
        self.context: dict[str, Any] = dict(context or {})
        self.now = now or naive_utc(state.clock.now())
        self.user = self.store.get("res.users", uid) or {}
        user_companies = list(self.user.get("company_ids") or [])
        allowed = self.context.get("allowed_company_ids")
        if allowed:
            if not isinstance(allowed, list) or not all(isinstance(c, int) and not isinstance(c, bool)
                                                        for c in allowed):
                raise ValueError(f"allowed_company_ids must be a list of company ids, not {allowed!r}")
            if not self.su and set(allowed) - set(user_companies):
                raise AccessError("Access to unauthorized or invalid companies.")
            self.companies = list(allowed)
            self.company = allowed[0]
        else:
            self.companies = user_companies or [1]
            self.company = self.user.get("company_id") or self.companies[0]

    def with_context(self, context: dict[str, Any] | None = None, **overrides: Any) -> Env:
        """A copy with ``context`` replaced (when given) and then updated by ``overrides``."""
        merged = dict(self.context if context is None else context)
        merged.update(overrides)
        return Env(self.state, self.uid, merged, now=self.now, su=self.su)

    def sudo(self) -> Env:
        return Env(self.state, self.uid, self.context, now=self.now, su=True)

    @property
    def active_test(self) -> bool:
        return bool(self.context.get("active_test", True))

    def model(self, name: str) -> ModelDef:
        return self.registry[name]

    def today(self) -> str:
        """``fields.Date.context_today`` (the simulator's users all live in UTC)."""
        return self.now.strftime("%Y-%m-%d")

    # ---- access ----------------------------------------------------------------------------
    def rule_domain(self, model: ModelDef) -> list | None:
        """The multi-company record rule of ``model`` for this env (None: no restriction)."""
        if self.su:
            return None
        if model.name == "res.company":
            return [("id", "in", list(self.user.get("company_ids") or []))]
        if not model.company_field:
            return None
        leaf = (model.company_field, "in", list(self.companies))
        return ["|", (model.company_field, "=", False), leaf] if model.company_shared else [leaf]

    def check_access_rights(self, model: ModelDef, operation: str) -> None:
        """Model-level access (ACLs): a read-only user may not create, write or delete."""
        if self.su or operation == "read" or not self.user.get("_readonly"):
            return
        verb = _OPERATION_VERBS.get(operation, operation)
        raise AccessError(f"You are not allowed to {verb} '{model.description}' ({model.name}) records.\n\n"
                          f"This operation is allowed for the following groups:\n\t- Administration/Settings\n\n"
                          f"Contact your administrator to request access if necessary.")


def check_records(env: Env, model: ModelDef, ids: list[int], operation: str) -> None:
    """MissingError for ids that do not exist, AccessError for rows the record rules hide."""
    from sandbox.odoo.domain import compile_domain
    from sandbox.odoo.reading import display_name

    missing = [rid for rid in ids if not env.store.exists(model.name, rid)]
    if missing:
        shown = ", ".join(str(i) for i in missing[:6])
        raise MissingError(f"Record does not exist or has been deleted.\n"
                           f"(Record: {model.name}({shown},), User: {env.uid})")
    rule = env.rule_domain(model)
    if not rule:
        return
    allowed = compile_domain(env.sudo(), model, rule)
    forbidden = [rid for rid in ids if not allowed(env.store.get(model.name, rid))]
    if forbidden:
        names = "\n".join(f"- {model.description}, {display_name(env.sudo(), model, env.store.get(model.name, rid))} "
                          f"({model.name}: {rid})" for rid in forbidden[:6])
        user = env.user.get("login") or "?"
        verb = _OPERATION_VERBS.get(operation, operation)
        # [INFER] wording: the record-rule error of Odoo 16/17, multi-company note included.
        raise AccessError(f"Due to security restrictions, you are not allowed to {verb} these "
                          f"'{model.description}' ({model.name}) records:\n{names}\n\n"
                          f"User: {user} (id={env.uid})\n\n"
                          f"Note: this might be a multi-company issue. Switching company may help "
                          f"(allowed_company_ids in the context).")
