"""Airflow plugin ``tribe_sync``: what tribe-sync adds to Airflow itself.

* Tribe's webhook receiver inside Airflow's API server, at ``/tribe-sync/webhooks``
  (Tribe calls ``https://<airflow-host>/tribe-sync/webhooks/tribe``);
* the **tribe-sync page** (``/tribe-sync/ui/``, in the UI's navigation as "Tribe sync"): runs and
  counts over time, open quarantine with Retry now / Dismiss, the export ledger, watermarks and
  the effective settings, behind Airflow's own login;
* a listener that writes each sync run's note ("⚠ 7 quarantined · 238 created · 24 updated").

Loading this plugin (every Airflow component does) builds nothing: each app is created on its
first request, in the API server only.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from tribe_operators.reports import note_listener
from tribe_operators.webhooks.lazy import LazyApp

URL_PREFIX = "/tribe-sync/webhooks"
UI_PREFIX = "/tribe-sync/ui"


class TribeSyncPlugin(AirflowPlugin):
    name = "tribe_sync"
    # Keys as airflow.api_fastapi.app.init_plugins reads them: app, url_prefix, name.
    fastapi_apps = [
        {"app": LazyApp("tribe_operators.webhooks.app:create_app"), "url_prefix": URL_PREFIX,
         "name": "Tribe webhooks"},
        {"app": LazyApp("tribe_operators.ui.app:create_app"), "url_prefix": UI_PREFIX, "name": "Tribe sync page"},
    ]
    # The page inside Airflow's UI (an iframe under the nav entry): same origin, so Airflow's
    # session cookie goes along and the page's app authenticates the user with Airflow's own check.
    external_views = [
        {"name": "Tribe sync", "href": f"{UI_PREFIX}/", "destination": "nav", "url_route": "tribe-sync",
         "icon": f"{UI_PREFIX}/static/icon.svg"},
    ]
    listeners = [note_listener]
