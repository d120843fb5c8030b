"""Airflow plugin ``tribe_sync``: Tribe's webhook receiver inside Airflow's API server.

Mounted at ``/tribe-sync/webhooks``, so Tribe calls ``https://<airflow-host>/tribe-sync/webhooks/tribe``.
Loading this plugin (every Airflow component does) builds nothing: the app is created on the
first request, in the API server only.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from tribe_operators.webhooks.lazy import LazyApp

URL_PREFIX = "/tribe-sync/webhooks"


class TribeSyncPlugin(AirflowPlugin):
    name = "tribe_sync"
    # Keys as airflow.api_fastapi.app.init_plugins reads them: app, url_prefix, name.
    fastapi_apps = [
        {"app": LazyApp("tribe_operators.webhooks.app:create_app"), "url_prefix": URL_PREFIX,
         "name": "Tribe webhooks"},
    ]
