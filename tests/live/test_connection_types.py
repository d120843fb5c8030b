"""On a running Airflow: the four connection types with their form fields, as the UI's connection
form reads them (``GET /ui/connections/hook_meta``), the provider in ``GET /api/v2/providers``,
and the API pools of ``include/pools.json``.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.live.harness import POOLS_FILE

pytestmark = [pytest.mark.live, pytest.mark.postgres]

CLIENT = {"page_size", "timeout", "max_attempts", "rate_limit_store", "rate_limit_store_password"}  # every API client's
EXPECTED = {
    "tribe_crm": ("Tribe CRM", {"scope", "token_url", "webhook_secret", "rate_limit", "rate_window_s", *CLIENT},
                  {"host": "Base URL", "login": "Client ID", "password": "Client secret"}),
    "poweroffice_go": ("PowerOffice Go", {"subscription_api_key", "api_path", "token_path", "rate_per_second", *CLIENT},
                       {"host": "Base URL", "login": "Application key", "password": "Client key"}),
    "odoo": ("Odoo", {"database", "protocol", "rate_per_second", *CLIENT},
             {"host": "URL", "login": "Username", "password": "API key"}),
    "exact_online": ("Exact Online", {"division", "redirect_uri", "refresh_token", "webhook_secret", "timezone",
                                      "calls_per_minute", "calls_per_day", *CLIENT},
                     {"host": "Base URL (region)", "login": "Client ID", "password": "Client secret"}),
}


def test_the_four_connection_types_and_their_fields_are_listed(live: Any) -> None:
    types = {meta["connection_type"]: meta for meta in live.airflow.api.hook_meta()}
    for conn_type, (hook_name, extras, labels) in EXPECTED.items():
        meta = types.get(conn_type)
        assert meta is not None, f"{conn_type} missing from hook_meta ({sorted(types)})"
        assert meta["hook_name"] == hook_name
        assert meta["hook_class_name"].startswith("tribe_operators.systems.")  # each system's own package
        assert set(meta["extra_fields"]) == extras, conn_type
        standard = meta["standard_fields"]
        assert {name: standard[name]["title"] for name in labels} == labels, conn_type
        assert standard["port"]["hidden"] and standard["url_schema"]["hidden"], conn_type
    secrets = {name for meta in types.values() if meta["connection_type"] in EXPECTED
               for name, spec in (meta["extra_fields"] or {}).items() if spec["schema"].get("format") == "password"}
    assert secrets == {"subscription_api_key", "refresh_token", "webhook_secret", "rate_limit_store_password"}
    division = types["exact_online"]["extra_fields"]["division"]["schema"]
    assert division["type"] == ["integer", "null"]  # optional: each scope of the settings names its division


@pytest.mark.parametrize("conn_id", ["tribe_default", "poweroffice_default", "odoo_default"])
def test_the_test_button_talks_to_the_api(live: Any, conn_id: str) -> None:
    """The connection form's Test button (``[core] test_connection`` on, as in the compose file):
    the API server runs the hook's test_connection against the (simulated) vendor API."""
    conn = json.loads(live.sims.connection_env()[f"AIRFLOW_CONN_{conn_id.upper()}"])
    body = {"connection_id": conn_id, **{k: v for k, v in conn.items() if k != "extra"},
            "extra": json.dumps(conn.get("extra") or {})}
    answer = live.airflow.api.request("POST", "connections/test", json=body)
    assert answer["status"] is True, answer
    wrong = live.airflow.api.request("POST", "connections/test", json={**body, "password": "not-the-secret"})
    assert wrong["status"] is False, wrong  # a real check: a wrong secret fails


def test_the_package_is_a_registered_provider(live: Any) -> None:
    providers = live.airflow.api.get("providers", limit=100)["providers"]
    ours = [p for p in providers if p["package_name"] == "tribe-sync"]
    assert ours and ours[0]["version"] == "0.1.0", [p["package_name"] for p in providers]


def test_setup_created_the_api_pools(live: Any) -> None:
    wanted = json.loads(POOLS_FILE.read_text())
    pools = live.airflow.api.pools()
    for name, spec in wanted.items():
        assert name in pools, sorted(pools)
        assert pools[name]["slots"] == spec["slots"], name
