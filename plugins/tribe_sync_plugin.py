"""Airflow plugin ``tribe_sync``: what tribe-sync adds to Airflow itself.

* Tribe's webhook receiver inside Airflow's API server, at ``/tribe-sync/webhooks``
  (Tribe calls ``https://<airflow-host>/tribe-sync/webhooks/tribe``);
* the **tribe-sync page** at ``/tribe-sync/`` (in the UI's navigation as "Tribe sync"): runs and
  counts over time, open quarantine grouped by reason with Retry now / Dismiss / map it / link
  anyway, the export ledger, watermarks and where each setting comes from, behind Airflow's
  own login;
* the cron timetables whose schedule names its timezone in the DAG list
  (``tribe_operators.timetables``): registered here, so a serialized DAG can be rebuilt;
* a listener that writes each sync run's note ("⚠ 7 quarantined · 238 created · 24 updated").

Loading this plugin (every Airflow component does) builds nothing: each app is created on its
first request, in the API server only.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from tribe_operators.provider import PortlessConnectionTest
from tribe_operators.reports import note_listener
from tribe_operators.timetables import LocalCronIntervals, LocalCronTrigger
from tribe_operators.webhooks.lazy import LazyApp

URL_PREFIX = "/tribe-sync/webhooks"
PAGE_PREFIX = "/tribe-sync"


class TribeSyncPlugin(AirflowPlugin):
    name = "tribe_sync"
    # Keys as airflow.api_fastapi.app.init_plugins reads them: app, url_prefix, name. Mounted in
    # this order: /tribe-sync/webhooks is matched before the page's /tribe-sync.
    fastapi_apps = [
        {"app": LazyApp("tribe_operators.webhooks.app:create_app"), "url_prefix": URL_PREFIX,
         "name": "Tribe webhooks"},
        {"app": LazyApp("tribe_operators.ui.app:create_app"), "url_prefix": PAGE_PREFIX, "name": "Tribe sync page"},
    ]
    # The nav entry opens the page at its one address, /tribe-sync/. Not as an embedded view
    # (url_route): Airflow 3.3 mirrors an embedded page's own path into the address bar after
    # /plugin/<url_route>, which made /plugin/tribe-sync/tribe-sync/… — two addresses, one
    # repeating itself. Same origin, so Airflow's login cookie authenticates the page.
    external_views = [
        {"name": "Tribe sync", "href": f"{PAGE_PREFIX}/", "destination": "nav",
         "icon": f"{PAGE_PREFIX}/static/icon.svg"},
    ]
    timetables = [LocalCronIntervals, LocalCronTrigger]
    listeners = [note_listener]
    # The connections list's Test button of a saved connection without a port (all of ours): Airflow
    # 3.3.2 answers it 400 without this (PortlessConnectionTest says why).
    fastapi_root_middlewares = [{"middleware": PortlessConnectionTest, "name": "Test button: port 0 is no port"}]
