"""Which DAG a Tribe entity type starts, and the small conf the run gets.

A webhook only says *that* something changed; the DAG reads what changed itself (the
relations DAG incrementally from its watermark, only in the streams whose mapping lists a type
that covers the event's — ``source.webhook_types`` —, the invoice DAG just the one invoice). So
the conf stays small: where the run came from, for the UI and the logs.
"""
from __future__ import annotations

from typing import Any

from tribe_operators.webhooks.events import WebhookEvent

__all__ = ["INVOICES_DAG", "RELATIONS_DAG", "conf_for", "covers", "dag_for"]

RELATIONS_DAG = "tribe_to_poweroffice"
INVOICES_DAG = "tribe_invoices_to_poweroffice"

# (type, DAG): a type matches itself and its subtypes ("Relationship.Organization" covers
# "Relationship.Organization.CommercialRelationship.Customer"), never a sibling that merely
# shares a prefix ("Product" does not cover "ProductGroup").
ROUTES: tuple[tuple[str, str], ...] = (
    ("Relation.Organization", RELATIONS_DAG),
    ("Relation.Person", RELATIONS_DAG),
    ("Relationship.Organization", RELATIONS_DAG),
    ("Relationship.Person", RELATIONS_DAG),
    ("Product", RELATIONS_DAG),
    ("Activity.Invoice", INVOICES_DAG),
)


def covers(prefix: str, entity_type: str) -> bool:
    """``entity_type`` is ``prefix`` or one of its subtypes (dotted Tribe type names)."""
    return entity_type == prefix or entity_type.startswith(prefix + ".")


def dag_for(entity_type: str) -> str | None:
    """The DAG to start for ``entity_type``; None = not ours to sync."""
    return next((dag_id for prefix, dag_id in ROUTES if covers(prefix, entity_type)), None)


def conf_for(event: WebhookEvent, dag_id: str) -> dict[str, Any]:
    """The run's conf. Both DAGs accept extra keys (their Params validate only the keys they
    declare); the invoice DAG's ``invoice_ids`` narrows its run to this one invoice."""
    conf: dict[str, Any] = {"webhook_event_id": event.event_id, "entity_type": event.entity_type,
                            "entity_id": event.entity_id}
    if dag_id == INVOICES_DAG:
        conf["invoice_ids"] = [event.entity_id]
    return conf
