"""Webhooks *from* a system (``POST /<system>``): a system's part checks and reads the call, the
core keeps the rest — secrets, scopes, settings, the replay store and the runs.

A system that sends webhooks names a part in its registry entry (``System.webhooks``), a class
built without arguments that has the ``InboundWebhooks`` methods. The part knows the sender's
wire format (its handshake, its signature, its body) and which of its DAGs an event concerns; it
never touches Airflow or the database. The receiver here answers as the Tribe route does:
200 validated / triggered / duplicate, 202 ignored, 400, 401, 404 (no such sender), 503 (not
configured, or a run could not start: the sender redelivers).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tribe_operators.store.webhook_events import WebhookEvents
from tribe_operators.webhooks.dispatch import Answer, Dispatcher
from tribe_operators.webhooks.events import InvalidEvent
from tribe_operators.webhooks.secret import SecretNotConfigured, webhook_secrets
from tribe_operators.webhooks.trigger import StartRun

__all__ = ["InboundEvent", "InboundWebhooks", "InvalidEvent", "Subscription", "SystemReceiver", "connections_of",
           "scope_named"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundEvent:
    """One change a system reported, as the core needs it.

    Args:
        event_id: Canonical UUID text, the same on every redelivery (the dedupe key and run id).
        entity_type: What the import streams' ``source.webhook_types`` name (Exact: the topic).
        entity_id: The changed record's id (logs and the replay store; never read by a run).
        scope_key: The settings scope's ``key`` it belongs to (an Exact division), or None.
        dag_ids: The DAGs to start; empty = ignored, ``ignored`` says why.
        conf: Extra keys for the run's conf: small facts, never the payload.
    """

    event_id: str
    entity_type: str
    entity_id: str
    scope_key: str | None
    dag_ids: tuple[str, ...] = ()
    conf: dict[str, Any] = field(default_factory=dict)
    ignored: str = ""


@dataclass(frozen=True)
class Subscription:
    """What subscribing one topic of one scope came to: ``subscribed``, ``kept`` (it was there),
    ``not offered`` (the system does not have that topic) or ``failed``."""

    scope_key: str
    topic: str
    outcome: str
    detail: str = ""


class InboundWebhooks(Protocol):
    """A system's webhook part (``System.webhooks``)."""

    def is_validation(self, body: bytes) -> bool:
        """The sender's handshake (nothing to verify or start): answered 200."""
        ...

    def verify(self, secrets: list[str], body: bytes) -> bool:
        """Signed with one of ``secrets``; every candidate compared in constant time."""
        ...

    def parse(self, body: bytes) -> InboundEvent:
        """The verified body as an event. Raises ``InvalidEvent`` (→ 400)."""
        ...

    def subscribe(self, hook: Any, url: str, scope_keys: Iterable[str]) -> list[Subscription]:
        """Subscribe ``url`` in each scope, keeping what is already there (idempotent)."""
        ...


def scope_named(settings: dict[str, Any], key: str | None) -> str | None:
    """The name of the settings scope whose ``key`` is ``key`` (None: none serves it)."""
    return next((name for name, scope in sorted(settings["scopes"].items())
                 if key is not None and str(scope.get("key")) == str(key)), None)


def connections_of(system: Any, settings: dict[str, Any] | None) -> list[str]:
    """The connections the system's scopes use (each its own, else the system's default)."""
    scopes = (settings or {}).get("scopes") or {"default": {}}
    return sorted({scope.get("conn_id") or system.default_conn_id for scope in scopes.values()})


def _settings(system: Any) -> dict[str, Any] | None:
    from tribe_operators.mapping.settings import is_configured, load_settings

    return load_settings(system.name) if is_configured(system.name) else None


def _all_systems() -> dict[str, Any]:
    from tribe_operators.registry import systems

    return systems()


class SystemReceiver:
    """The request logic of ``POST /<system>``, free of HTTP details.

    Args:
        events: Returns the replay store.
        start_run: Starts a DAG run.
        systems: ``{name: System}`` (default: the registry).
    """

    def __init__(self, *, events: Callable[[], WebhookEvents], start_run: StartRun,
                 systems: Callable[[], dict[str, Any]] = _all_systems) -> None:
        self.events, self.start_run, self.systems = events, start_run, systems

    def handle(self, name: str, body: bytes) -> Answer:
        system = self.systems().get(name)
        if system is None or getattr(system, "webhooks", None) is None:
            return 404, {"detail": f"no webhooks are received from {name[:40]!r}"}
        part: InboundWebhooks = system.part("webhooks")()
        if part.is_validation(body):
            # Carries nothing: answered before any secret is read, so subscribing works first time.
            log.info("%s webhook: validation request answered", system.title)
            return 200, {"status": "validated"}
        settings = _settings(system)
        secrets: list[str] = []
        for conn_id in connections_of(system, settings):
            try:
                secrets += webhook_secrets(conn_id)
            except SecretNotConfigured as exc:
                log.error("%s webhook: %s", system.title, exc)
        if not secrets:
            return 503, {"detail": "webhook receiver is not configured"}
        if not part.verify(secrets, body):
            log.warning("%s webhook refused: missing or invalid signature", system.title)  # never the value
            return 401, {"detail": "missing or invalid signature"}
        try:
            event = part.parse(body)
        except InvalidEvent as exc:
            log.warning("%s webhook refused: %s", system.title, exc)
            return 400, {"detail": str(exc)}
        return self._accept(system, settings, event)

    def _accept(self, system: Any, settings: dict[str, Any] | None, event: InboundEvent) -> Answer:
        dispatch = Dispatcher(system.title, self.events(), self.start_run)
        scope = scope_named(settings, event.scope_key) if settings else None
        if settings is None or not settings["webhooks"]:
            return dispatch.ignore(event, f"{system.title} is not set up to take webhooks (settings: webhooks)")
        if scope is None:
            return dispatch.ignore(event, f"{event.scope_key} is not a scope of the {system.name} settings")
        if not event.dag_ids:
            return dispatch.ignore(event, event.ignored or f"{event.entity_type} is not synced")
        conf = {**event.conf, "webhook_event_id": event.event_id, "entity_type": event.entity_type,
                "entity_id": event.entity_id, "scope": scope}
        return dispatch.start(event, event.dag_ids, lambda _dag_id: conf)
