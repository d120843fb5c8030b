"""``webhooks/WebhookSubscriptions`` and the calls Exact makes to a subscriber's callback.

About a second after a subscription is created Exact POSTs an *empty* body (content-length 0) to
the callback, which must answer 200 (HOOKDECK, live; picqer#438). Then each change of a topic's
records is POSTed as compact JSON ``{"Content":{…},"HashCode":"…"}`` where HashCode is the
HMAC-SHA256 of the raw text between ``{"Content":`` and ``,"HashCode":`` with the app's webhook
secret, in upper-case hex (research §0.8). One queue and thread per subscription keeps its calls
in order. PUT is refused ("You're not allowed to Update()", dotnet-client PR #63).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import requests

from sandbox.exact.entities import EntitySpec
from sandbox.exact.errors import NO_UPDATE, ExactError
from sandbox.exact.rules import Ctx, Rules, mandatory

if TYPE_CHECKING:
    from sandbox.exact.state import ExactState

__all__ = ["TOPICS", "SubscriptionRules", "WebhookHub", "hash_code"]

# Topics Exact offers (cdata/pionect lists); events are sent for those the simulator stores.
TOPICS = {"Accounts", "Items", "SalesEntries", "Documents", "StockPositions", "SalesOrders", "SalesInvoices",
          "FinancialTransactions", "GoodsDeliveries"}


def hash_code(secret: str, content_raw: str) -> str:
    return hmac.new(secret.encode(), content_raw.encode(), hashlib.sha256).hexdigest().upper()


class WebhookHub:
    def __init__(self, state: ExactState) -> None:
        self.state = state
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.verify: bool | str = True  # requests' verify= for https callbacks (a test CA's path)
        self._queues: dict[str, queue.Queue] = {}
        self._lock = threading.Lock()

    # --- subscriptions -------------------------------------------------------------------------
    def subscribe(self, division: int, client_id: str, topic: str, callback: str) -> dict[str, Any]:
        row = {"ID": str(uuid.uuid4()), "CallbackURL": callback, "ClientID": client_id, "Division": division,
               "Topic": topic, "IsInstant": False, "Description": f"{topic} ({division})",
               "UserID": self.state.user["UserID"], "Creator": self.state.user["UserID"],
               "CreatorFullName": self.state.user["FullName"], "Created": self.state.wall_now()}
        inbox: queue.Queue = queue.Queue()
        with self._lock:
            self.subscriptions[row["ID"]] = row
            self._queues[row["ID"]] = inbox
        inbox.put(("validation", None))
        threading.Thread(target=self._worker, args=(row, inbox), daemon=True,
                         name=f"exact-webhook:{row['ID'][:8]}").start()
        return row

    def unsubscribe(self, subscription_id: str) -> bool:
        with self._lock:
            row = self.subscriptions.pop(subscription_id, None)
            inbox = self._queues.pop(subscription_id, None)
        if inbox is not None:
            inbox.put(None)
        return row is not None

    def rows(self, division: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.subscriptions.values() if r["Division"] == division]

    def clear(self) -> None:
        for sid in list(self.subscriptions):
            self.unsubscribe(sid)
        with self._lock:
            self.deliveries.clear()

    # --- events ----------------------------------------------------------------------------------
    def on_change(self, division: int, spec: EntitySpec, action: str, record: dict[str, Any]) -> None:
        if spec.topic is None or spec.kind != "standard":
            return
        self.notify(division, spec.topic, action, record[spec.key], spec.path)

    def notify(self, division: int, topic: str, action: str, key: str, path: str) -> None:
        """Queue one event of ``topic`` for each subscription of the division. A topic whose
        records are not one entity set (``FinancialTransactions``: the entries that change a
        receivable, see ``bankentry.py``) is sent by the rules that book those entries."""
        with self._lock:
            targets = [(r, self._queues[r["ID"]]) for r in self.subscriptions.values()
                       if r["Division"] == division and r["Topic"] == topic]
        for row, inbox in targets:
            content = {"Topic": topic, "ClientId": row["ClientID"], "Division": division, "Action": action,
                       "Key": key, "ExactOnlineEndpoint": f"{self.state.base_url}/api/v1/{division}/{path}"
                                                          f"(guid'{key}')",
                       "EventCreatedOn": self.state.wall_now().isoformat(timespec="milliseconds")}
            inbox.put(("event", content))

    def body(self, content: dict[str, Any]) -> bytes:
        raw = json.dumps(content, separators=(",", ":"))
        return ('{"Content":' + raw + ',"HashCode":"' + hash_code(self.state.webhook_secret, raw) + '"}').encode()

    def _worker(self, row: dict[str, Any], inbox: queue.Queue) -> None:
        session = requests.Session()
        while True:
            item = inbox.get()
            if item is None:
                return
            kind, content = item
            if kind == "validation":
                time.sleep(self.state.options.webhook_validation_delay_s)
                ok = self._post(session, row, kind, b"", None)
                if not ok and self.state.options.webhook_drop_unvalidated:  # [INFER]
                    self.unsubscribe(row["ID"])
                    return
            else:
                self._post(session, row, kind, self.body(content), content)

    def _post(self, session: requests.Session, row: dict[str, Any], kind: str, body: bytes,
              content: dict[str, Any] | None) -> bool:
        entry = {"subscription": row["ID"], "kind": kind, "topic": row["Topic"], "status": None, "attempts": 0,
                 "delivered": None, "error": None, "action": (content or {}).get("Action"),
                 "key": (content or {}).get("Key"), "body": body,
                 # Wall-clock time (not the simulated clock) of the last attempt's POST and of its
                 # answer: what a test measures webhook latency from.
                 "sent_at": None, "answered_at": None}
        with self._lock:
            self.deliveries.append(entry)
        headers = {"Content-Type": "application/json"} if body else {}
        attempts = max(1, self.state.options.webhook_attempts)
        for attempt in range(1, attempts + 1):
            status, error = None, None
            with self._lock:
                entry["sent_at"] = time.time()
            try:
                status = session.post(row["CallbackURL"], data=body, headers=headers, timeout=5,
                                      verify=self.verify).status_code
            except requests.RequestException as exc:
                error = f"{type(exc).__name__}: {exc}"
            ok = status == 200 if kind == "validation" else status is not None and 200 <= status < 300
            with self._lock:
                entry.update(status=status, attempts=attempt, error=None if ok else error, answered_at=time.time())
                if ok or attempt == attempts:
                    entry["delivered"] = ok
            if ok:
                return True
            if attempt < attempts:
                time.sleep(0.2 * 2 ** (attempt - 1))
        return False

    def pending(self) -> int:
        with self._lock:
            queued = sum(q.qsize() for q in self._queues.values())
            return queued + sum(1 for d in self.deliveries if d["delivered"] is None)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def summary(self) -> dict[str, int]:
        with self._lock:
            done = [d for d in self.deliveries if d["delivered"] is not None]
            return {"subscriptions": len(self.subscriptions),
                    "validations": sum(1 for d in done if d["kind"] == "validation"),
                    "events_delivered": sum(1 for d in done if d["kind"] == "event" and d["delivered"]),
                    "events_failed": sum(1 for d in done if d["kind"] == "event" and not d["delivered"])}


class SubscriptionRules(Rules):
    def rows(self, ctx: Ctx, spec: EntitySpec) -> list[dict[str, Any]]:
        return ctx.state.webhooks.rows(ctx.division)

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)
        mandatory(values, "CallbackURL", "Topic")
        if values["Topic"] not in TOPICS:
            raise ExactError(400, f"Ongeldige waarde voor Topic: {values['Topic']}")  # [INFER]
        url = values["CallbackURL"]
        if not url.startswith(("http://", "https://")) or (
                ctx.state.options.webhook_require_https and not url.startswith("https://")):
            raise ExactError(400, "CallbackURL must be an https URL.")  # [INFER] the wording
        client_id = ctx.client_id or ctx.state.client_id
        return ctx.state.webhooks.subscribe(ctx.division, client_id, values["Topic"], url)

    def update(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any], body: dict[str, Any]) -> None:
        raise ExactError(400, NO_UPDATE)

    def delete(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any]) -> None:
        ctx.state.webhooks.unsubscribe(row["ID"])
