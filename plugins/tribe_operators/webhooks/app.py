"""The receiver: ``POST /tribe`` checks, de-duplicates and turns a Tribe event into DAG runs,
one per enabled accounting system that syncs its type (``routing.dags_for``); ``POST /<system>``
does the same for a system that sends webhooks of its own (``inbound``: Exact Online's).

Order matters: the signature is checked on the raw bytes before anything is parsed (401), then
the shape (400), then freshness (409) and the replay store (200 "duplicate"), and only then are
runs started, each (event, DAG) claimed on its own (``dispatch``). Answers: 200 started /
duplicate (with ``runs``: DAG, run id and outcome each), 202 ignored, 401, 400, 409, 503 (not
configured, or a run could not be started: Tribe redelivers, the replay store lets that one
through and answers the started ones as duplicates).
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
from tribe_operators.webhooks.dispatch import Answer, Dispatcher
from tribe_operators.webhooks.events import InvalidEvent, WebhookEvent, is_fresh, parse_event
from tribe_operators.webhooks.inbound import SystemReceiver
from tribe_operators.webhooks.routing import conf_for, dags_for
from tribe_operators.webhooks.secret import DEFAULT_CONN_ID, SecretNotConfigured, webhook_secrets
from tribe_operators.webhooks.signature import SIGNATURE_HEADER, verify
from tribe_operators.webhooks.trigger import StartRun, trigger_dag_run

__all__ = ["DEFAULT_TOLERANCE_S", "Receiver", "create_app"]

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE_S = 300.0


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
        route: Entity type → the DAG ids to start (default: ``routing.dags_for``, every enabled system).
        events: Returns the replay store (default: the link database ``tribe_sync_db``).
        now: The current time (aware UTC).
    """

    def __init__(self, *, conn_id: str | None = None, tolerance_s: float | None = None,
                 start_run: StartRun = trigger_dag_run, events: Callable[[], WebhookEvents] = _link_db_events,
                 route: Callable[[str], list[str]] = dags_for,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.conn_id, self.tolerance_s = conn_id, tolerance_s
        self.start_run, self.events, self.route, self.now = start_run, events, route, now

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
        dispatch = Dispatcher("Tribe", store, self.start_run)
        tolerance = self.tolerance_s if self.tolerance_s is not None else float(
            _setting("webhook_tolerance_s", str(DEFAULT_TOLERANCE_S)))
        if not is_fresh(event, self.now(), timedelta(seconds=tolerance)):
            known = store.deliveries(event.event_id)
            if known and all(k.status in FINAL for k in known):
                return dispatch.duplicate(event.event_id)  # a late redelivery: stop its retries
            log.warning("Tribe webhook refused: event %s stamped %s is outside the %g s replay window",
                        event.event_id, event.timestamp.isoformat(), tolerance)
            return 409, {"detail": f"event timestamp is outside the {tolerance:g} s replay window"}

        dag_ids = [] if event.is_deletion else self.route(event.entity_type)
        if not dag_ids:
            reason = "deletions are not synced" if event.is_deletion else f"{event.entity_type} is not synced"
            return dispatch.ignore(event, reason)
        return dispatch.start(event, dag_ids, lambda dag_id: conf_for(event, dag_id))


def create_app(*, systems: Callable[[], dict[str, Any]] | None = None, **options: Any) -> FastAPI:
    """The FastAPI app with ``POST /tribe`` and ``POST /<system>``; ``options`` go to ``Receiver``
    (its replay store and run starter serve both routes); ``systems`` to ``SystemReceiver``."""
    receiver = Receiver(**options)
    inbound = SystemReceiver(events=receiver.events, start_run=receiver.start_run,
                             **({"systems": systems} if systems is not None else {}))
    app = FastAPI(title="tribe-sync webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.receiver = receiver

    async def answer(sender: str, handle: Callable[..., Answer], *args: Any) -> JSONResponse:
        try:
            # Database and connection look-ups block: off the event loop.
            status, content = await run_in_threadpool(handle, *args)
        except Exception:
            log.exception("%s webhook: receiver failed", sender)
            status, content = 503, {"detail": "receiver failed; deliver again later"}
        return JSONResponse(content, status_code=status)

    @app.post("/tribe")
    async def tribe(request: Request) -> JSONResponse:
        body = await request.body()  # the raw bytes: the signature covers exactly these
        return await answer("Tribe", receiver.handle, body, request.headers.get(SIGNATURE_HEADER))

    @app.post("/{system}")  # after /tribe: Tribe is the CRM, not a registered system
    async def from_system(system: str, request: Request) -> JSONResponse:
        return await answer(system[:40], inbound.handle, system, await request.body())

    return app
