"""Which DAGs a Tribe entity type starts, and the small conf each run gets.

One event starts the export of every accounting system that is set up (its settings file and a connection it names),
has ``webhooks`` on and, for invoices, the ``invoices`` stream enabled: ``System.exports``
names the DAG per kind.

A webhook only says *that* something changed; the DAG reads what changed itself (the
relations DAG incrementally from its watermark, the invoice DAG just the one invoice). The
relations DAG of a system is started only when the event concerns one of its enabled streams
(the stream's mapping lists a type that covers the event's: ``source.webhook_types``), and its
conf names those streams (``streams``): the run reads them alone, every other stream's tasks
are skipped when the run is created (``trigger``), without starting a task for each. So the conf
stays small: where the run came from and what it reads, for the UI and the logs.
"""
from __future__ import annotations

from typing import Any

from tribe_operators.mapping.spec import covers
from tribe_operators.webhooks.events import WebhookEvent

__all__ = ["conf_for", "covers", "dags_for", "kind_of", "streams_for", "wants"]

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


def streams_for(system_name: str, entity_type: str) -> list[str]:
    """The streams of the system's relations export (Tribe → system) that an event for
    ``entity_type`` concerns and its settings enable, sorted; empty = the event is nothing to it."""
    from tribe_operators.mapping.files import stream_names
    from tribe_operators.mapping.settings import load_settings, stream_enabled
    from tribe_operators.mapping.spec import load_stream

    settings = load_settings(system_name)
    found = []
    for name in stream_names(system_name):
        if name == "invoices" or not stream_enabled(settings, name):
            continue  # invoices have a DAG of their own
        spec = load_stream(system_name, name)
        if spec.direction == "export" and spec.source.system == "tribe" and spec.source.concerns(entity_type):
            found.append(spec.stream)
    return found


def dags_for(entity_type: str, *, systems: Any = None, enabled: Any = wants,
             concerned: Any = streams_for) -> list[str]:
    """The export DAGs to start for ``entity_type``, one per system that wants it (sorted by
    system name) and, for relations, has an enabled stream the event concerns; empty = nobody
    syncs it.

    Args:
        systems: ``{name: System}`` (default: the registry).
        enabled: ``(system, kind) -> bool`` (default: ``wants``, from the settings).
        concerned: ``(system name, entity type) -> streams`` (default: ``streams_for``).
    """
    kind = kind_of(entity_type)
    if kind is None:
        return []
    if systems is None:
        from tribe_operators.registry import systems as registry

        systems = registry()
    return [system.exports[kind] for _, system in sorted(systems.items())
            if enabled(system, kind) and (kind != "relations" or concerned(system.name, entity_type))]


def conf_for(event: WebhookEvent, dag_id: str, *, systems: Any = None) -> dict[str, Any]:
    """The run's conf. Both DAGs accept extra keys (their Params validate only the keys they
    declare); the invoice DAG's ``invoice_ids`` narrows its run to this one invoice, the
    relations DAG's ``streams`` to the streams the event concerns."""
    conf: dict[str, Any] = {"webhook_event_id": event.event_id, "entity_type": event.entity_type,
                            "entity_id": event.entity_id}
    kind = kind_of(event.entity_type)
    if kind == "invoices":
        conf["invoice_ids"] = [event.entity_id]
    elif kind == "relations":
        if systems is None:
            from tribe_operators.registry import systems as registry

            systems = registry()
        owner = next((s for s in systems.values() if s.exports.get("relations") == dag_id), None)
        if owner is not None:
            conf["streams"] = streams_for(owner.name, event.entity_type)
    return conf
