"""Which DAG a Tribe entity type starts, and the small conf the run gets.

A webhook only says *that* something changed; the DAG reads what changed itself (the
relations DAG incrementally from its watermark, only in the streams whose mapping lists a type
that covers the event's — ``source.webhook_types`` —, the invoice DAG just the one invoice). So
the conf stays small: where the run came from, for the UI and the logs.
"""
from __future__ import annotations

from typing import Any

from tribe_operators.webhooks.events import WebhookEvent

__all__ = ["conf_for", "covers", "dag_for", "kind_of"]

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


def covers(prefix: str, entity_type: str) -> bool:
    """``entity_type`` is ``prefix`` or one of its subtypes (dotted Tribe type names)."""
    return entity_type == prefix or entity_type.startswith(prefix + ".")


def kind_of(entity_type: str) -> str | None:
    """``relations`` or ``invoices``: which export ``entity_type`` concerns; None = not synced."""
    return next((kind for prefix, kind in ROUTES if covers(prefix, entity_type)), None)


def dag_for(entity_type: str) -> str | None:
    """The DAG to start for ``entity_type`` (``System.exports`` of the system that exports
    that kind); None = not ours to sync. One system exports today: starting the export of each
    enabled system from one event is the next step."""
    kind = kind_of(entity_type)
    from tribe_operators.systems.registry import systems

    dags = [s.exports[kind] for _, s in sorted(systems().items()) if kind in s.exports]
    return dags[0] if dags else None


def conf_for(event: WebhookEvent, dag_id: str) -> dict[str, Any]:
    """The run's conf. Both DAGs accept extra keys (their Params validate only the keys they
    declare); the invoice DAG's ``invoice_ids`` narrows its run to this one invoice."""
    conf: dict[str, Any] = {"webhook_event_id": event.event_id, "entity_type": event.entity_type,
                            "entity_id": event.entity_id}
    if kind_of(event.entity_type) == "invoices":
        conf["invoice_ids"] = [event.entity_id]
    return conf
