"""The body Tribe posts, validated into a ``WebhookEvent``, and the replay window.

``{"webhookId": "…", "payload": {"type": "EntityUpdateMutation", "entityType":
"Relation.Organization", "entityId": "<guid>", "eventId": "<uuid>", "timestamp": "<ISO 8601>"}}``;
relationships carry ``relationshipId`` instead of ``entityId``.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tribe_operators.timeutil import parse_timestamp

__all__ = ["InvalidEvent", "WebhookEvent", "is_fresh", "parse_event"]


class InvalidEvent(ValueError):
    """The body is not a Tribe webhook call (the message says what is wrong; → 400)."""


@dataclass(frozen=True)
class WebhookEvent:
    webhook_id: str
    mutation: str  # EntityUpdateMutation, RelationshipCreationMutation, …
    entity_type: str  # Relation.Organization, Activity.Invoice, …
    entity_id: str  # entityId, or relationshipId for relationships
    event_id: str  # canonical UUID text: it becomes part of the DAG run id
    timestamp: datetime  # aware UTC

    @property
    def is_deletion(self) -> bool:
        return self.mutation.endswith("DeletionMutation")


def parse_event(body: bytes) -> WebhookEvent:
    """Validate the raw (already signature-checked) body.

    Raises:
        InvalidEvent: Not JSON, not the shape above, or ids that are not GUIDs.
    """
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise InvalidEvent("body is not JSON") from exc
    payload = doc.get("payload") if isinstance(doc, dict) else None
    if not isinstance(payload, dict):
        raise InvalidEvent("body must be an object with an object 'payload'")
    webhook_id = doc.get("webhookId")
    if not isinstance(webhook_id, str) or not webhook_id:
        raise InvalidEvent("'webhookId' must be a non-empty string")
    mutation, entity_type = _text(payload, "type"), _text(payload, "entityType")
    if not mutation.endswith("Mutation"):
        raise InvalidEvent(f"payload.type {mutation[:60]!r} is not a Tribe mutation")
    id_key = "relationshipId" if "relationshipId" in payload else "entityId"
    return WebhookEvent(webhook_id=webhook_id, mutation=mutation, entity_type=entity_type,
                        entity_id=_guid(payload, id_key), event_id=_guid(payload, "eventId"),
                        timestamp=_timestamp(payload))


def is_fresh(event: WebhookEvent, now: datetime, tolerance: timedelta) -> bool:
    """Within ``tolerance`` of ``now``: older is a replay; far in the future is a wrong clock."""
    return abs(now - event.timestamp) <= tolerance


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value or len(value) > 120:
        raise InvalidEvent(f"payload.{key} must be a non-empty string of at most 120 characters")
    return value


def _guid(payload: dict[str, Any], key: str) -> str:
    # GUIDs only: the event id ends up in a DAG run id, the entity id in an OData filter.
    text = _text(payload, key)
    try:
        return str(uuid.UUID(text))
    except ValueError as exc:
        raise InvalidEvent(f"payload.{key} must be a GUID") from exc


def _timestamp(payload: dict[str, Any]) -> datetime:
    text = _text(payload, "timestamp")
    try:
        moment = parse_timestamp(text)
    except ValueError as exc:
        raise InvalidEvent("payload.timestamp must be an ISO 8601 date-time") from exc
    assert moment is not None  # _text refused the empty string
    return moment
