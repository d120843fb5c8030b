"""Webhook receivers that start DAGs "immediately": Tribe's (the export DAGs) and those of a
system that sends its own (its import DAGs; Exact Online's).

Tribe calls ``POST /tribe-sync/webhooks/tribe``, a system ``POST /tribe-sync/webhooks/<name>``
(the plugin ``tribe_sync`` mounts ``create_app()`` in Airflow's API server). One module per concept:

* ``signature`` — ``X-Tribe-Signature`` (HMAC-SHA512, hex, Base64), compared in constant time;
* ``secret``    — the webhook secret(s) from the Airflow connection, read per request, masked;
* ``events``    — the body's shape, parsed and validated, and the freshness check;
* ``routing``   — Tribe entity type → the DAGs to start (every enabled system with a stream the event
  concerns), and the run's small conf (which streams it reads);
* ``trigger``   — starting the run with Airflow's own ``trigger_dag`` (injectable), the other
  streams' tasks skipped as it is created;
* ``dispatch``  — an event's runs, each (event, DAG) claimed once in the replay store (both routes);
* ``inbound``   — a system's route: its part (``System.webhooks``) checks and reads the call, the
  core reads the secrets of its scopes' connections, the scope and the settings;
* ``app``       — the FastAPI app tying them together, with the replay store
  (``tribe_operators.store.webhook_events``).

The plugin file imports only ``lazy``: schedulers, workers and the DAG processor never build
the app; the API server builds it on the first webhook.
"""
from __future__ import annotations
