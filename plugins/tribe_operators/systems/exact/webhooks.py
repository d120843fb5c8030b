"""Exact Online's webhooks: what Exact posts to ``/tribe-sync/webhooks/exact``, and subscribing.

Exact posts compact JSON ``{"Content":{"Topic","ClientId","Division","Action","Key",
"ExactOnlineEndpoint","EventCreatedOn"},"HashCode":"…"}``; HashCode is the upper-case hex
HMAC-SHA256 of the *raw* text between ``{"Content":`` and ``,"HashCode":`` with the app's webhook
secret (the connection's extra ``webhook_secret``). About a second after a subscription is
created Exact posts an empty body, which must be answered 200 or the subscription is dropped
(shared/reference/exact-online-research.md §0.8, §2.8). An event only says *that* a record
changed: it starts ``exact_to_tribe``, whose streams read on from their sync cursors, and only
the streams whose ``source.webhook_types`` name the event's topic (``Accounts``, ``Contacts``,
``Items``); the hourly poll reads the rest.

Payments: Exact has no topic for receivables; ``FinancialTransactions`` (cdata's
WebhookSubscriptions topics, pionect.nl; research §2.5) is the topic of the entries that settle
or reopen one — a bank or cash entry, a reversal. Its event starts ``exact_payments_to_tribe``
for the division (not the relations import), which reads the receivables changed since its
watermark; a Delete too (an entry removed can reopen a receivable). Which entries Exact announces
on it is not documented [INFER]: the hourly run stays, and a division where Exact refuses the
topic is reported "not offered" and keeps the hourly run alone.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from tribe_operators.exceptions import ApiClientError, TribeSyncError
from tribe_operators.systems.exact.odata import results
from tribe_operators.webhooks.inbound import InboundEvent, InvalidEvent, Subscription

__all__ = ["IMPORT_DAG", "PAYMENTS_DAG", "TOPICS", "ExactWebhooks", "hash_code"]

IMPORT_DAG = "exact_to_tribe"
PAYMENTS_DAG = "exact_payments_to_tribe"
# Topics subscribed, in this order. Contacts is not confirmed as a topic (research §8.11), nor what
# FinancialTransactions carries: where Exact refuses one, the poll reads it and subscribing still
# succeeds.
TOPICS = ("Accounts", "Contacts", "Items", "FinancialTransactions")
UNCONFIRMED_TOPICS = frozenset({"Contacts", "FinancialTransactions"})
# The DAG a topic's event starts (any action: a removed entry can reopen a receivable); the others
# start the relations import.
TOPIC_DAGS = {"FinancialTransactions": PAYMENTS_DAG}
ACTIONS = frozenset({"Create", "Update", "Delete"})
SUBSCRIPTIONS = "webhooks/WebhookSubscriptions"
_HEAD, _TAIL = b'{"Content":', b',"HashCode":'
# Event ids are derived from the signed content: a redelivery carries the same text, so the same id.
_EVENT_NAMESPACE = uuid.UUID("6f1d3c2a-52a4-4b8e-9e0c-0e7a1c5d2b41")


def hash_code(secret: str, content: bytes) -> str:
    """The HashCode Exact puts on ``content`` (the raw Content text) with ``secret``."""
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest().upper()


def _split(body: bytes) -> tuple[bytes, str] | None:
    """(raw Content text, HashCode) of a body in Exact's shape; None for anything else."""
    body = body.strip()
    cut = body.rfind(_TAIL)  # HashCode comes last; the Content text may contain anything
    if not body.startswith(_HEAD) or cut < 0:
        return None
    try:
        given = json.loads(b"{" + body[cut + 1:])["HashCode"]
    except (ValueError, TypeError, KeyError):
        return None
    return (body[len(_HEAD):cut], given) if isinstance(given, str) else None


class ExactWebhooks:
    """``System.webhooks`` of Exact Online (``webhooks.inbound.InboundWebhooks``)."""

    def is_validation(self, body: bytes) -> bool:
        # Empty (what Exact sends); "{}" too, as some proxies turn an empty POST into one.
        return body.strip() in (b"", b"{}")

    def verify(self, secrets: list[str], body: bytes) -> bool:
        split = _split(body)
        if split is None:
            return False
        content, given = split
        given_bytes = given.strip().upper().encode("ascii", errors="replace")
        matched = False
        for secret in secrets:  # all of them: the time taken does not tell which almost matched
            matched |= hmac.compare_digest(hash_code(secret, content).encode("ascii"), given_bytes)
        return matched

    def parse(self, body: bytes) -> InboundEvent:
        split = _split(body)
        try:
            content = json.loads(split[0]) if split else None
        except ValueError as exc:
            raise InvalidEvent("Content is not JSON") from exc
        if split is None or not isinstance(content, dict):
            raise InvalidEvent('body must be {"Content":{…},"HashCode":"…"}')
        topic, action = _text(content, "Topic"), _text(content, "Action")
        if action not in ACTIONS:
            raise InvalidEvent(f"Content.Action must be one of {', '.join(sorted(ACTIONS))}")
        division, key = _division(content), _guid(content, "Key")
        event_id = str(uuid.uuid5(_EVENT_NAMESPACE, split[0].decode("utf-8", errors="replace")))
        event = InboundEvent(event_id=event_id, entity_type=topic, entity_id=key, scope_key=str(division),
                             conf={"division": division, "topic": topic, "action": action})
        if topic not in TOPICS:
            return replace(event, ignored=f"topic {topic} is not synced")
        if topic in TOPIC_DAGS:
            return replace(event, dag_ids=(TOPIC_DAGS[topic],))
        if action == "Delete":
            # sync/Deleted drops links and never deletes in Tribe; the poll reads it.
            return replace(event, ignored="deletions are read by the poll (sync/Deleted)")
        return replace(event, dag_ids=(IMPORT_DAG,))

    def subscribe(self, hook: Any, url: str, scope_keys: Iterable[str]) -> list[Subscription]:
        """Each topic of ``TOPICS`` in each division, unless a subscription of that topic to
        ``url`` is there already (Exact cannot update one: a changed URL is a new one)."""
        done: list[Subscription] = []
        for key in scope_keys:
            client = hook.client_for(key)
            rows = results(client.request("GET", SUBSCRIPTIONS, params={"$select": "ID,CallbackURL,Topic"}).json())
            existing = {row.get("Topic"): row.get("ID") for row in rows if row.get("CallbackURL") == url}
            for topic in TOPICS:
                if topic in existing:
                    done.append(Subscription(str(key), topic, "kept", str(existing[topic])))
                    continue
                try:
                    created = results(client.request("POST", SUBSCRIPTIONS,
                                                     json={"CallbackURL": url, "Topic": topic}).json())[0]
                except ApiClientError as exc:
                    outcome = "not offered" if exc.status == 400 and topic in UNCONFIRMED_TOPICS else "failed"
                    done.append(Subscription(str(key), topic, outcome, exc.message))
                except TribeSyncError as exc:  # outcome unknown, budget spent: running again is safe
                    done.append(Subscription(str(key), topic, "failed", str(exc)))
                else:
                    done.append(Subscription(str(key), topic, "subscribed", str(created.get("ID"))))
        return done


def _text(content: dict[str, Any], key: str) -> str:
    value = content.get(key)
    if not isinstance(value, str) or not value or len(value) > 60:
        raise InvalidEvent(f"Content.{key} must be a non-empty string of at most 60 characters")
    return value


def _division(content: dict[str, Any]) -> int:
    value = content.get("Division")
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 0 < int(text) < 2**31:
        raise InvalidEvent("Content.Division must be a division number")
    return int(text)


def _guid(content: dict[str, Any], key: str) -> str:
    # A GUID only: it ends up in the replay store and the run's conf.
    try:
        return str(uuid.UUID(_text(content, key)))
    except ValueError as exc:
        raise InvalidEvent(f"Content.{key} must be a GUID") from exc
