"""The receiver: ``POST /tribe`` checks, de-duplicates and turns a Tribe event into a DAG run.

Order matters: the signature is checked on the raw bytes before anything is parsed (401), then
the shape (400), then freshness (409) and the replay store (200 "duplicate"), and only then is a
run started. Answers: 200 started / duplicate, 202 ignored, 401, 400, 409, 503 (not configured,
or the run could not be started: Tribe redelivers, and the replay store lets that retry through).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tribe_operators.store.webhook_events import FINAL, WebhookEvents
from tribe_operators.webhooks.events import InvalidEvent, WebhookEvent, is_fresh, parse_event
from tribe_operators.webhooks.routing import conf_for, dag_for
from tribe_operators.webhooks.secret import DEFAULT_CONN_ID, SecretNotConfigured, webhook_secrets
from tribe_operators.webhooks.signature import SIGNATURE_HEADER, verify
from tribe_operators.webhooks.trigger import RunAlreadyExists, StartRun, run_id_for, trigger_dag_run

__all__ = ["DEFAULT_TOLERANCE_S", "Receiver", "create_app"]

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE_S = 300.0
Answer = tuple[int, dict[str, Any]]


def _link_db_events() -> WebhookEvents:
    from tribe_operators.store import engine

    return WebhookEvents(engine.engine_for(engine.DEFAULT_CONN_ID))  # one pooled engine per process


def _setting(key: str, fallback: str) -> str:
    """``[tribe_sync] <key>`` of the Airflow config (``AIRFLOW__TRIBE_SYNC__<KEY>``), read per request."""
    from airflow.configuration import conf

    return conf.get("tribe_sync", key, fallback=fallback)


class Receiver:
    """The request logic, free of HTTP details (``handle`` returns status and JSON body).

    Args:
        conn_id: Connection holding ``webhook_secret``; None = ``[tribe_sync] webhook_conn_id``
            or ``tribe_default``.
        tolerance_s: Replay window in seconds; None = ``[tribe_sync] webhook_tolerance_s`` or 300.
        start_run: Starts a DAG run (default: Airflow's ``trigger_dag`` on the metadata DB).
        events: Returns the replay store (default: the link database ``tribe_sync_db``).
        now: The current time (aware UTC).
    """

    def __init__(self, *, conn_id: str | None = None, tolerance_s: float | None = None,
                 start_run: StartRun = trigger_dag_run, events: Callable[[], WebhookEvents] = _link_db_events,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.conn_id, self.tolerance_s = conn_id, tolerance_s
        self.start_run, self.events, self.now = start_run, events, now

    def handle(self, body: bytes, signature: str | None) -> Answer:
        conn_id = self.conn_id or _setting("webhook_conn_id", DEFAULT_CONN_ID)
        try:
            secrets = webhook_secrets(conn_id)
        except SecretNotConfigured as exc:
            log.error("Tribe webhook refused, receiver not configured: %s", exc)
            return 503, {"detail": "webhook receiver is not configured"}
        if not verify(secrets, body, signature):
            # Neither the header nor the secret is logged: a signature is a replayable credential.
            log.warning("Tribe webhook refused: %s %s", "invalid" if signature else "missing", SIGNATURE_HEADER)
            return 401, {"detail": f"missing or invalid {SIGNATURE_HEADER}"}
        try:
            event = parse_event(body)
        except InvalidEvent as exc:
            log.warning("Tribe webhook refused: %s", exc)
            return 400, {"detail": str(exc)}
        return self._accept(event)

    def _accept(self, event: WebhookEvent) -> Answer:
        store = self.events()
        tolerance = self.tolerance_s if self.tolerance_s is not None else float(
            _setting("webhook_tolerance_s", str(DEFAULT_TOLERANCE_S)))
        if not is_fresh(event, self.now(), timedelta(seconds=tolerance)):
            known = store.get(event.event_id)
            if known is not None and known.status in FINAL:
                return self._duplicate(event.event_id, known.dag_run_id)  # a late redelivery: stop its retries
            log.warning("Tribe webhook refused: event %s stamped %s is outside the %g s replay window",
                        event.event_id, event.timestamp.isoformat(), tolerance)
            return 409, {"detail": f"event timestamp is outside the {tolerance:g} s replay window"}

        dag_id = None if event.is_deletion else dag_for(event.entity_type)
        if not store.claim(event.event_id, event.entity_type, event.entity_id, dag_id):
            known = store.get(event.event_id)
            return self._duplicate(event.event_id, known.dag_run_id if known else None)
        if dag_id is None:
            store.finish(event.event_id, "ignored")
            reason = "deletions are not synced" if event.is_deletion else f"{event.entity_type} is not synced"
            log.info("Tribe webhook event %s ignored: %s", event.event_id, reason)
            return 202, {"status": "ignored", "event_id": event.event_id, "reason": reason}

        run_id = run_id_for(event.event_id)
        try:
            started = self.start_run(dag_id, run_id, conf_for(event, dag_id))
        except RunAlreadyExists:
            store.finish(event.event_id, "duplicate", run_id)
            return self._duplicate(event.event_id, run_id)
        except Exception:
            # Failed, not final: Tribe's redelivery may claim the event again.
            log.exception("Tribe webhook event %s: could not start %s", event.event_id, dag_id)
            store.finish(event.event_id, "failed")
            return 503, {"detail": f"could not start {dag_id}; deliver again later"}
        store.finish(event.event_id, "triggered", started)
        log.info("Tribe webhook event %s (%s %s %s) started %s run %s", event.event_id, event.mutation,
                 event.entity_type, event.entity_id, dag_id, started)
        return 200, {"status": "triggered", "event_id": event.event_id, "dag_id": dag_id, "dag_run_id": started}

    @staticmethod
    def _duplicate(event_id: str, run_id: str | None) -> Answer:
        log.info("Tribe webhook event %s is a duplicate; nothing started", event_id)
        return 200, {"status": "duplicate", "event_id": event_id, "dag_run_id": run_id}


def create_app(**options: Any) -> FastAPI:
    """The FastAPI app with ``POST /tribe``; ``options`` go to ``Receiver``."""
    receiver = Receiver(**options)
    app = FastAPI(title="tribe-sync webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.receiver = receiver

    @app.post("/tribe")
    async def tribe(request: Request) -> JSONResponse:
        body = await request.body()  # the raw bytes: the signature covers exactly these
        try:
            # Database and connection look-ups block: off the event loop.
            status, content = await run_in_threadpool(receiver.handle, body, request.headers.get(SIGNATURE_HEADER))
        except Exception:
            log.exception("Tribe webhook: receiver failed")
            status, content = 503, {"detail": "receiver failed; deliver again later"}
        return JSONResponse(content, status_code=status)

    return app
