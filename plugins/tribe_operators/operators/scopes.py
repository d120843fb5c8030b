"""The scopes (legal entities, divisions) an integration serves, for tasks mapped per scope."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tribe_operators.operators.base import TribeOperator

__all__ = ["ListScopesOperator", "OtherScopesHidden", "other_scopes_hidden"]


class ListScopesOperator(TribeOperator):
    """Return the names of the integration's ``scopes`` (its settings, Variable merged), so a
    stream runs as one mapped task per scope: ``.partial(...).expand(scope=scopes.output)``.
    XCom carries the names only; each mapped task reads its scope's settings itself. A run
    started for one scope (a webhook's ``conf["scope"]``: the division that sent the event)
    serves that scope alone.

    Args:
        integration: Whose settings.
    """

    template_fields: Sequence[str] = ("integration",)

    def __init__(self, *, integration: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration = integration

    def execute(self, context: Any) -> list[str]:
        from tribe_operators.mapping.settings import load_settings

        scopes = sorted(load_settings(self.integration)["scopes"])
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        if conf.get("scope") in scopes:
            self.log.info("a run for scope %s (conf): that scope alone", conf["scope"])
            return [conf["scope"]]
        self.log.info("%s serves %d scope(s): %s", self.integration, len(scopes), ", ".join(scopes))
        return scopes


class OtherScopesHidden:
    """A Tribe target adapter as one scope's dedupe sees it: a record another scope of the
    integration has bound (another division's account) is not there for this scope's keys.

    Each scope's records are their own Tribe records: Exact numbers its accounts per division, so
    a debtor number (and often the name and address: one company, customer of two divisions)
    meets another division's — and one Tribe record fed by two divisions would have its number,
    address and relationships overwritten by each in turn. So a match by number or by name +
    address never lands on a record another scope links; the account is created in its own right.
    Everything but ``find`` is the target's own.

    Args:
        target: The target adapter (Tribe's).
        others: The link stores of the integration's other scopes.
        entities: The link entities whose bindings count (the party's roles: customer, supplier).
    """

    def __init__(self, target: Any, others: list[Any], entities: list[str]) -> None:
        self._target = target
        self._others = others
        self._entities = entities

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def find(self, spec: Any, fields: list[str], values: list[Any]) -> dict[Any, list[dict[str, Any]]]:
        found = self._target.find(spec, fields, values)
        ids = {str(spec.target.record_id(r, self._target.id_key)) for rs in found.values() for r in rs}
        taken = {tid for links in self._others for entity in self._entities
                 for tid in links.bulk_to_external(entity, ids)} if ids else set()
        return {value: [r for r in rs if str(spec.target.record_id(r, self._target.id_key)) not in taken]
                for value, rs in found.items()}


def other_scopes_hidden(target: Any, ctx: Any) -> Any:
    """``target`` for the dedupe of ``ctx``'s stream: as is with one scope (or an export, whose
    target, the accounting system, is per scope already), else ``OtherScopesHidden``."""
    from tribe_operators.dedupe import party_roles
    from tribe_operators.store.links import LinkStore

    others = [s for s in (ctx.settings.get("scopes") or {}) if s != ctx.scope]
    if not others or ctx.spec.direction != "import":
        return target
    roles = party_roles(ctx.spec)
    entities = list(dict.fromkeys([*(r.target.link_entity for r in roles),
                                   *(k.link for r in roles for k in r.dedupe if k.link)]))
    return OtherScopesHidden(target, [LinkStore(ctx.engine, ctx.integration, s) for s in others], entities)
