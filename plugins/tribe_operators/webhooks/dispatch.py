"""From a verified, parsed event to DAG runs, once each: what every sender's route shares.

Each (event, DAG) is claimed in the replay store (``tribe_operators.store.webhook_events``)
before its run is started, and the run id is derived from the event id, so a redelivery starts
nothing twice even if the store were lost (Airflow refuses a second run with the same id).
An event that starts nothing is recorded too, so its redelivery is answered as a duplicate.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tribe_operators.store.webhook_events import WebhookEvents
from tribe_operators.webhooks.trigger import RunAlreadyExists, StartRun, run_id_for

__all__ = ["Answer", "Dispatcher", "Event"]

log = logging.getLogger(__name__)

Answer = tuple[int, dict[str, Any]]


class Event(Protocol):
    """What the replay store and the logs need of any sender's event."""

    @property
    def event_id(self) -> str: ...  # canonical UUID text, the same on every redelivery
    @property
    def entity_type(self) -> str: ...
    @property
    def entity_id(self) -> str: ...


class Dispatcher:
    """Starts, ignores or recognises one event's runs; answers as the receiver replies.

    Args:
        sender: Who sent it, for the logs ("Tribe", "Exact Online").
        store: The replay store.
        start_run: Starts a DAG run (``trigger.trigger_dag_run``).
    """

    def __init__(self, sender: str, store: WebhookEvents, start_run: StartRun) -> None:
        self.sender, self.store, self.start_run = sender, store, start_run

    def ignore(self, event: Event, reason: str) -> Answer:
        """202: nothing to start; recorded, so a redelivery is a duplicate."""
        if not self.store.claim(event.event_id, event.entity_type, event.entity_id, None):
            return self.duplicate(event.event_id)
        self.store.finish(event.event_id, None, "ignored")
        log.info("%s webhook event %s ignored: %s", self.sender, event.event_id, reason)
        return 202, {"status": "ignored", "event_id": event.event_id, "reason": reason}

    def start(self, event: Event, dag_ids: Sequence[str], conf_for: Callable[[str], dict[str, Any]]) -> Answer:
        """200 with one run per DAG (``runs``); 503 when one could not start (the sender redelivers,
        and only the failed ones are claimed again)."""
        runs = [self._start(event, dag_id, conf_for) for dag_id in dag_ids]
        if any(r["status"] == "failed" for r in runs):
            failed = ", ".join(r["dag_id"] for r in runs if r["status"] == "failed")
            return 503, {"detail": f"could not start {failed}; deliver again later", "runs": runs}
        status = "duplicate" if all(r["status"] == "duplicate" for r in runs) else "triggered"
        return 200, {"status": status, "event_id": event.event_id, "runs": runs}

    def duplicate(self, event_id: str) -> Answer:
        log.info("%s webhook event %s is a duplicate; nothing started", self.sender, event_id)
        runs = [{"dag_id": k.dag_id, "dag_run_id": k.dag_run_id, "status": k.status}
                for k in self.store.deliveries(event_id) if k.dag_id]
        return 200, {"status": "duplicate", "event_id": event_id, "runs": runs}

    def _start(self, event: Event, dag_id: str, conf_for: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        """Start one DAG's run for the event, unless this event already started it."""
        run_id = run_id_for(event.event_id)
        if not self.store.claim(event.event_id, event.entity_type, event.entity_id, dag_id):
            known = self.store.get(event.event_id, dag_id)
            log.info("%s webhook event %s: %s already started", self.sender, event.event_id, dag_id)
            return {"dag_id": dag_id, "dag_run_id": known.dag_run_id if known else None, "status": "duplicate"}
        try:
            started = self.start_run(dag_id, run_id, conf_for(dag_id))
        except RunAlreadyExists:
            self.store.finish(event.event_id, dag_id, "duplicate", run_id)
            return {"dag_id": dag_id, "dag_run_id": run_id, "status": "duplicate"}
        except Exception:
            log.exception("%s webhook event %s: could not start %s", self.sender, event.event_id, dag_id)
            self.store.finish(event.event_id, dag_id, "failed")
            return {"dag_id": dag_id, "dag_run_id": None, "status": "failed"}
        self.store.finish(event.event_id, dag_id, "triggered", started)
        log.info("%s webhook event %s (%s %s) started %s run %s", self.sender, event.event_id, event.entity_type,
                 event.entity_id, dag_id, started)
        return {"dag_id": dag_id, "dag_run_id": started, "status": "triggered"}
