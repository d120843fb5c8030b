"""Which DAGs a Tribe entity type starts, and the small conf each run gets.

One event starts the export of every accounting system that is set up (its settings file and a connection it names),
has ``webhooks`` on and, for invoices, the ``invoices`` stream enabled: ``System.exports``
names the DAG per kind.

A webhook only says *that* something changed; the DAG reads what changed itself (the
relations DAG incrementally from its watermark, only in the streams whose mapping lists a type
that covers the event's — ``source.webhook_types`` —, the invoice DAG just the one invoice). So
the conf stays small: where the run came from, for the UI and the logs.
"""
from __future__ import annotations

from typing import Any

from tribe_operators.webhooks.events import WebhookEvent
from tribe_operators.mapping.spec import covers

__all__ = ["conf_for", "covers", "dags_for", "kind_of", "wants"]

# (type, kind of export): a type matches itself and its subtypes ("Relationship.Organization"
# covers "Relationship.Organization.CommercialRelationship.Customer"), never a sibling that
# merely shares a prefix ("Product" does not cover "ProductGroup").
ROUTES: tuple[tuple[str, str], ...] = (
    ("Relation.Organization", "relations"),
    ("Relation.Person", "relations"),
    ("Relationship.Organization", "relations"),
    ("Relationship.Person", "relations"),
    ("Product", "relations"),
    ("Activity.Invoice", "invoices"),
)


def kind_of(entity_type: str) -> str | None:
    """``relations`` or ``invoices``: which export ``entity_type`` concerns; None = not synced."""
    return next((kind for prefix, kind in ROUTES if covers(prefix, entity_type)), None)


def wants(system: Any, kind: str) -> bool:
    """Does this system, as its settings say (file and Variable), take Tribe's ``kind`` events?"""
    from tribe_operators.mapping.settings import is_configured, load_settings, stream_enabled

    if kind not in system.exports or not is_configured(system.name):
        return False
    settings = load_settings(system.name)
    if not settings["webhooks"] or (kind == "invoices" and not stream_enabled(settings, "invoices")):
        return False
    return _connected(system, settings)


def _connected(system: Any, settings: dict[str, Any]) -> bool:
    """Is the system connected here: does a connection its scopes (or its default) name exist?
    Every system ships its settings file, so a settings file alone does not mean a user set the
    system up: without a connection its export could only fail, once per Tribe event."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    names = {(scope or {}).get("conn_id") or system.default_conn_id for scope in (settings.get("scopes") or {}).values()}
    for conn_id in sorted(names or {system.default_conn_id}):
        try:
            BaseHook.get_connection(conn_id)
            return True
        except AirflowNotFoundException:
            continue
    return False


def dags_for(entity_type: str, *, systems: Any = None, enabled: Any = wants) -> list[str]:
    """The export DAGs to start for ``entity_type``, one per system that wants it (sorted by
    system name); empty = nobody syncs it.

    Args:
        systems: ``{name: System}`` (default: the registry).
        enabled: ``(system, kind) -> bool`` (default: ``wants``, from the settings).
    """
    kind = kind_of(entity_type)
    if kind is None:
        return []
    if systems is None:
        from tribe_operators.registry import systems as registry

        systems = registry()
    return [system.exports[kind] for _, system in sorted(systems.items()) if enabled(system, kind)]


def conf_for(event: WebhookEvent, dag_id: str) -> dict[str, Any]:
    """The run's conf. Both DAGs accept extra keys (their Params validate only the keys they
    declare); the invoice DAG's ``invoice_ids`` narrows its run to this one invoice."""
    conf: dict[str, Any] = {"webhook_event_id": event.event_id, "entity_type": event.entity_type,
                            "entity_id": event.entity_id}
    if kind_of(event.entity_type) == "invoices":
        conf["invoice_ids"] = [event.entity_id]
    return conf
