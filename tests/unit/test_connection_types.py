"""The four connection types: registered with Airflow as a provider, declared the way Airflow 3.3
reads them (``conn-fields`` / ``ui-field-behaviour``), and checked by the hooks the same way."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tribe_operators.exceptions import FatalError
from tribe_operators.provider import extra_defaults, connection_types, get_provider_info, required_fields
from tribe_operators.systems.exact.hook import ExactOnlineConnectionInfo, ExactOnlineHook
from tribe_operators.systems.odoo.hook import OdooHook
from tribe_operators.systems.poweroffice.hook import PowerOfficeHook
from tribe_operators.systems.tribe.hook import TribeCrmHook

ROOT = Path(__file__).resolve().parents[2]
HOOKS = {"tribe_crm": TribeCrmHook, "poweroffice_go": PowerOfficeHook, "odoo": OdooHook,
         "exact_online": ExactOnlineHook}

# A fresh interpreter: ProvidersManager is a process-wide singleton that caches what it found.
PROBE = """
import json, warnings
warnings.simplefilter("ignore")
from airflow.providers_manager import ProvidersManager
from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
pm = ProvidersManager()
ui = {m.connection_type: {"hook_name": m.hook_name, "hook_class": m.hook_class_name,
                          "behaviour": m.field_behaviour} for m in pm.iter_connection_type_hook_ui_metadata()}
widgets = {}
for key, w in pm._connection_form_widgets_from_metadata.items():
    widgets.setdefault(key.split("__")[1], {})[w.field_name] = {"sensitive": w.is_sensitive, **w.field}
hooks = {t: list(ProvidersManagerTaskRuntime().hooks[t] or ()) for t in %r}
print(json.dumps({"providers": sorted(pm.providers), "ui": ui, "widgets": widgets, "hooks": hooks}))
"""


@pytest.fixture(scope="module")
def registered() -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE % (list(HOOKS),)], capture_output=True, text=True,
                            env=os.environ.copy(), timeout=180, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_providers_manager_finds_the_package_through_its_entry_point(registered):
    assert "tribe-sync" in registered["providers"]


@pytest.mark.parametrize("conn_type", list(HOOKS))
def test_each_type_is_listed_with_its_form(registered, conn_type):
    spec, hook = connection_types()[conn_type], HOOKS[conn_type]
    ui = registered["ui"][conn_type]
    assert ui["hook_name"] == hook.hook_name == spec["hook-name"]
    assert ui["hook_class"] == f"{hook.__module__}.{hook.__name__}"
    assert ui["behaviour"]["relabeling"] == spec["ui-field-behaviour"]["relabeling"]
    assert set(ui["behaviour"]["hidden_fields"]) == {"schema", "port"}
    widgets = registered["widgets"][conn_type]
    assert set(widgets) == set(spec["conn-fields"])
    for name, widget in widgets.items():
        assert widget["schema"]["title"] == spec["conn-fields"][name]["label"]
        assert widget["sensitive"] == (widget["schema"].get("format") == "password"), name
    # The task runtime maps the type to the hook class (Connection.get_hook()).
    class_name, conn_id_attr, package = registered["hooks"][conn_type][:3]
    assert (class_name, conn_id_attr, package) == (f"{hook.__module__}.{hook.__name__}", hook.conn_name_attr,
                                                   "tribe-sync")


def test_provider_info_is_valid_for_airflows_runtime_and_provider_yaml_schemas():
    import airflow
    import jsonschema

    info = get_provider_info()
    base = Path(airflow.__file__).parent
    jsonschema.validate(info, json.loads((base / "provider_info.schema.json").read_text()))
    strict = json.loads((base / "provider.yaml.schema.json").read_text())["properties"]["connection-types"]
    jsonschema.validate(info["connection-types"], strict)  # conn-fields and ui-field-behaviour in full


@pytest.mark.parametrize("conn_type", list(HOOKS))
def test_hooks_agree_with_the_declaration(conn_type):
    hook = HOOKS[conn_type]
    assert hook.conn_type == conn_type
    assert hook.default_conn_name.endswith("_default")
    assert "known_extras" not in hook.__dict__  # the extras a hook reads are the form's fields
    assert "get_connection_form_widgets" not in hook.__dict__  # deprecated in 3.2; the declaration wins


def test_required_fields_come_from_the_form():
    assert required_fields("poweroffice_go") == {"host": "Base URL", "login": "Application key",
                                                 "password": "Client key", "subscription_api_key": "Subscription key"}
    # One token chain per connection: divisions are scopes, the first refresh token comes from
    # 'tribe-sync oauth authorize' into the token store (the extra is a bootstrap only).
    assert set(required_fields("exact_online")) == {"host", "login", "password"}
    assert set(required_fields("tribe_crm")) == {"host", "login", "password"}
    assert required_fields("http") == {}


# -- the hooks parse what the form saves ----------------------------------------------------
def _conn(monkeypatch, conn_id: str, **fields) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


EXACT = {"conn_type": "exact_online", "host": "https://start.exactonline.nl", "login": "client-id",
         "password": "client-secret-x", "extra": {"division": 123456, "refresh_token": "Gcp7!refresh"}}
ODOO = {"conn_type": "odoo", "host": "https://acme.odoo.com", "login": "sync@acme.no", "password": "odoo-key-1",
        "extra": {"database": "acme"}}


def test_exact_connection_is_parsed_into_typed_info(monkeypatch):
    _conn(monkeypatch, "exact_default", **EXACT)
    info = ExactOnlineHook().exact
    assert info == ExactOnlineConnectionInfo(base_url="https://start.exactonline.nl", region="NL",
                                             client_id="client-id", division=123456,
                                             client_secret="client-secret-x", refresh_token="Gcp7!refresh")
    assert info.api_root() == "https://start.exactonline.nl/api/v1/123456"
    assert info.api_root(7) == "https://start.exactonline.nl/api/v1/7"
    assert info.token_url == "https://start.exactonline.nl/api/oauth2/token"
    assert "client-secret-x" not in repr(info) and "Gcp7" not in repr(info)
    from airflow.sdk.log import redact

    assert "Gcp7!refresh" not in str(redact("refresh=Gcp7!refresh"))  # registered with the log masker


@pytest.mark.parametrize(("change", "message"), [
    ({"extra": {"division": "12a", "refresh_token": "t"}}, "Division .* positive whole number"),
    ({"extra": {"division": 0, "refresh_token": "t"}}, "Division .* positive whole number"),
    ({"login": None}, r"Client ID \(field 'login'\) is required"),
    ({"password": ""}, r"Client secret \(field 'password'\) is required"),
    ({"host": "https://start.exactonline.xx"}, "not an Exact Online site"),
    ({"host": "https://start.exactonline.nl/api/v1"}, "not an Exact Online site"),
    ({"host": "ftp://start.exactonline.nl"}, "not an http"),
    ({"extra": {"division": 1, "refresh_token": "t", "client_key": "x"}}, "unknown extra"),
])
def test_exact_connection_errors_name_the_field(monkeypatch, change, message):
    _conn(monkeypatch, "exact_default", **{**EXACT, **change})
    with pytest.raises(FatalError, match=message):
        _ = ExactOnlineHook().exact


def test_exact_accepts_a_simulator_and_a_division_typed_as_text(monkeypatch):
    _conn(monkeypatch, "exact_sim", **{**EXACT, "host": "http://127.0.0.1:8083",
                                       "extra": {"division": " 42 ", "refresh_token": "t"}})
    info = ExactOnlineHook("exact_sim").exact
    assert (info.region, info.division, info.api_root()) == (None, 42, "http://127.0.0.1:8083/api/v1/42")


def test_exact_without_a_default_division_asks_for_one_where_a_division_is_needed(monkeypatch):
    _conn(monkeypatch, "exact_sim", **{**EXACT, "extra": {}})
    info = ExactOnlineHook("exact_sim").exact
    assert info.division is None and info.refresh_token is None
    with pytest.raises(FatalError, match="no Exact division"):
        info.api_root()


def test_odoo_connection_is_parsed_and_checked(monkeypatch):
    _conn(monkeypatch, "odoo_default", **ODOO)
    hook = OdooHook()
    info = hook.odoo
    assert (info.url, info.database, info.username, info.api_key) == ("https://acme.odoo.com", "acme",
                                                                      "sync@acme.no", "odoo-key-1")
    assert info.host == "acme.odoo.com" and "odoo-key-1" not in repr(info)
    # Talking to Odoo is tests/integration/test_odoo_hook.py's (against the simulator).
    _conn(monkeypatch, "odoo_default", **{**ODOO, "extra": {"database": "  "}})
    ok, message = OdooHook().test_connection()
    assert not ok and "Database (extra 'database') is required" in message


def test_fields_left_empty_in_the_form_are_not_set(monkeypatch):
    """The UI saves an untouched optional field as null: the hook's default applies."""
    _conn(monkeypatch, "tribe_form", conn_type="tribe_crm", host="https://api.tribecrm.nl", login="id",
          password="secret", extra={"scope": None, "token_url": "", "webhook_secret": None, "timeout": None})
    # An empty field means the default the form shows, a field without one is not set.
    assert TribeCrmHook("tribe_form").connection_info["extra"] == extra_defaults("tribe_crm")
    assert extra_defaults("tribe_crm") == {"rate_limit": 1000, "rate_window_s": 60, "page_size": 100, "timeout": 60,
                                           "max_attempts": 6}
    _conn(monkeypatch, "tribe_form", conn_type="tribe_crm", host="https://api.tribecrm.nl", password="secret")
    with pytest.raises(FatalError, match=r"Client ID \(field 'login'\) is required"):
        _ = TribeCrmHook("tribe_form").connection_info


@pytest.mark.parametrize("conn_type", list(HOOKS))
def test_every_secret_field_is_masked_in_the_form(conn_type):
    """A secret is never a plain text box: the password field, and every extra holding a key,
    a secret, a token or a URL that may carry a password (Airflow treats those as sensitive)."""
    spec = connection_types()[conn_type]
    assert "password" not in spec["ui-field-behaviour"]["hidden-fields"]
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    secretish = ("secret", "key", "token", "password")
    for name, field in spec["conn-fields"].items():
        if any(word in name for word in secretish) and name not in ("token_url", "token_path"):
            assert field["schema"].get("format") == "password", f"{conn_type}.{name} is shown in clear"
        if field["schema"].get("format") == "password":
            # Airflow masks an extra in API answers (what the form is filled from) by its name only.
            assert should_hide_value_for_key(name), f"{conn_type}.{name}: Airflow would send it in clear"
