"""Webhook subscriptions and signed, ordered, retried asynchronous delivery.

Signature (Tribe docs): HMAC-SHA512 of the raw JSON body with the webhook secret, as a hex
string, then that hex converted to bytes and Base64-encoded. Sent as ``X-Tribe-Signature``.
Each webhook has its own queue and worker thread, so deliveries to one URL stay in order and a
slow receiver does not hold up the others.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = ["SIGNATURE_HEADER", "WebhookRegistry", "sign"]

SIGNATURE_HEADER = "X-Tribe-Signature"
_MUTATION = {"created": "Creation", "updated": "Update", "deleted": "Deletion"}


def sign(secret: str, body: bytes) -> str:
    """Return the signature Tribe puts on a webhook call.

    Args:
        secret: The webhook's secret.
        body: The exact raw request body.

    Returns:
        ``base64(bytes.fromhex(hmac_sha512_hexdigest(secret, body)))``.
    """
    hex_digest = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


@dataclass
class Webhook:
    id: str
    entity_type: str
    url: str
    headers: list[dict[str, str]]
    secret: str
    queue: queue.Queue = field(default_factory=queue.Queue, repr=False)
    active: bool = True

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "entityType": self.entity_type, "webhookUrl": self.url,
                "headers": self.headers, "secret": self.secret}

    def matches(self, type_: str) -> bool:
        return type_ == self.entity_type or type_.startswith(self.entity_type + ".")


class WebhookRegistry:
    """Registered webhooks plus a log of every delivery attempt outcome.

    Args:
        now_iso: Returns the simulated time as ISO text (payload timestamps).
        max_attempts: Attempts per event before it is given up.
        backoff_s: First retry delay; doubles per attempt.
        timeout_s: HTTP timeout per attempt.
    """

    def __init__(self, now_iso: Callable[[], str], max_attempts: int = 4, backoff_s: float = 0.2,
                 timeout_s: float = 5.0) -> None:
        self.now_iso = now_iso
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._hooks: dict[str, Webhook] = {}
        self._deliveries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    # ---- management --------------------------------------------------------------------
    def register(self, entity_type: str, url: str, headers: list[dict[str, str]] | None = None, *,
                 secret: str | None = None) -> dict:
        """Subscribe ``url`` to changes of ``entity_type`` (and its subtypes).

        ``secret``: the signing secret. Tribe generates one per webhook (the default here); a
        test whose receiver was configured before the webhook existed (the live Airflow reads
        ``AIRFLOW_CONN_TRIBE_DEFAULT`` at start) passes the one that receiver knows.
        """
        hook = Webhook(str(uuid.uuid4()), entity_type, url, list(headers or []), secret or secrets.token_hex(32))
        with self._lock:
            self._hooks[hook.id] = hook
        threading.Thread(target=self._worker, args=(hook,), daemon=True, name=f"tribe-webhook:{hook.id[:8]}").start()
        return hook.public()

    def list(self) -> list[dict]:
        with self._lock:
            return [hook.public() for hook in self._hooks.values()]

    def remove(self, webhook_id: str) -> bool:
        with self._lock:
            hook = self._hooks.pop(webhook_id, None)
        if hook is None:
            return False
        hook.active = False
        hook.queue.put(None)  # wakes and ends the worker
        return True

    def clear(self) -> None:
        for hook_id in [h["id"] for h in self.list()]:
            self.remove(hook_id)
        with self._lock:
            self._deliveries.clear()

    def deliveries(self) -> list[dict[str, Any]]:
        """Delivery records: webhookId, eventId, type, entityType, status, attempts, delivered, error."""
        with self._lock:
            return [dict(d) for d in self._deliveries]

    def pending(self) -> int:
        with self._lock:
            return sum(1 for d in self._deliveries if d["delivered"] is None)

    def wait_idle(self, timeout_s: float = 5.0) -> bool:
        """Block until no delivery is in flight (tests); True when idle."""
        deadline = time.monotonic() + timeout_s
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # ---- events ------------------------------------------------------------------------
    def on_change(self, kind: str, record: dict) -> None:
        """Store listener: queue one event per matching webhook (called in mutation order)."""
        type_ = record["_Type"]
        with self._lock:
            hooks = [h for h in self._hooks.values() if h.matches(type_)]
        if not hooks:
            return
        # Relationships use Tribe's Relationship*Mutation events and carry relationshipId.
        is_relationship = type_.startswith("Relationship.")
        prefix = "Relationship" if is_relationship else "Entity"
        id_key = "relationshipId" if is_relationship else "entityId"
        for hook in hooks:
            payload = {"type": f"{prefix}{_MUTATION[kind]}Mutation", "entityType": type_,
                       id_key: record["ID"], "eventId": str(uuid.uuid4()), "timestamp": self.now_iso()}
            entry = {"webhookId": hook.id, "eventId": payload["eventId"], "type": payload["type"],
                     "entityType": type_, "entityId": record["ID"], "status": None, "attempts": 0,
                     "delivered": None, "error": None}
            with self._lock:
                self._deliveries.append(entry)
            hook.queue.put((payload, entry))

    def _worker(self, hook: Webhook) -> None:
        session = requests.Session()  # sessions are not shared between threads
        while True:
            item = hook.queue.get()
            if item is None:
                return
            payload, entry = item
            if not hook.active:
                with self._lock:
                    entry.update(delivered=False, error="webhook deleted before delivery")
                continue
            self._deliver(session, hook, payload, entry)

    def _deliver(self, session: requests.Session, hook: Webhook, payload: dict, entry: dict) -> None:
        body = json.dumps({"webhookId": hook.id, "payload": payload}, separators=(",", ":")).encode()
        headers = {h["name"]: h["value"] for h in hook.headers if "name" in h}
        headers.update({"Content-Type": "application/json", SIGNATURE_HEADER: sign(hook.secret, body)})
        for attempt in range(1, self.max_attempts + 1):
            status, error = None, None
            try:
                response = session.post(hook.url, data=body, headers=headers, timeout=self.timeout_s)
                status = response.status_code
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
            ok = status is not None and 200 <= status < 300
            with self._lock:
                entry.update(status=status, attempts=attempt, error=error if not ok else None)
                if ok or attempt == self.max_attempts or not hook.active:
                    entry["delivered"] = ok
            if ok or not hook.active:
                return
            if attempt < self.max_attempts:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
