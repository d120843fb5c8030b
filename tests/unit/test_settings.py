"""Settings are typed: a key nobody declares or a value of the wrong kind fails at once, naming
the key and where it came from; what is read is the validated dict."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tribe_operators.exceptions import MappingConfigError
from tribe_operators.mapping.settings import load_settings, stream_enabled

ROOT = Path(__file__).resolve().parents[2]


def _folder(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch, integration: str = "poweroffice") -> None:
    (tmp_path / integration).mkdir()
    (tmp_path / integration / "settings.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("TRIBE_SYNC_MAPPINGS", str(tmp_path))


def test_the_shipped_settings_are_valid():
    settings = load_settings("poweroffice")
    assert settings["invoice_mode"] in {"draft", "booked"}
    assert settings["conflicts"]["accounting_leads"]


@pytest.mark.parametrize(("text", "key"), [
    ("invoice_mode: Bokked\n", "invoice_mode"),
    ("load_concurrency: 0\n", "load_concurrency"),
    ("overlap_secs: 60\n", "overlap_secs"),  # a misspelt key is not silently ignored
    ("conflicts: {defualt: tribe}\n", "conflicts.defualt"),
    ("enabled_streams: customers\n", "enabled_streams"),
    ("default_ledger_account: lots\n", "default_ledger_account"),
    ("scopes: {be: {conn: poweroffice_be}}\n", "scopes.be.conn"),
    ("invoice_scope: {field: LegalEntity.Code, map: {BE: belgium}}\n", "invoice_scope.map.BE"),
    ("invoice_scope: {default: oslo}\n", "invoice_scope.default"),
])
def test_a_wrong_key_or_value_fails_naming_the_key(tmp_path, monkeypatch, text, key):
    _folder(tmp_path, text, monkeypatch)
    with pytest.raises(MappingConfigError, match=rf"settings of poweroffice .*settings.yaml\): {key}: "):
        load_settings("poweroffice")


def test_invoice_mode_is_read_in_any_case(tmp_path, monkeypatch):
    _folder(tmp_path, "invoice_mode: Booked\n", monkeypatch)
    assert load_settings("poweroffice")["invoice_mode"] == "booked"  # was: drafts, silently


def test_the_variable_overrides_and_is_validated_too(tmp_path, monkeypatch):
    _folder(tmp_path, "overlap_seconds: 120\n", monkeypatch)
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({"overlap_seconds": 60}))
    assert load_settings("poweroffice")["overlap_seconds"] == 60
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({"invoice_mode": 3}))
    with pytest.raises(MappingConfigError, match=r"\+ Variable tribe_sync_poweroffice_settings\): invoice_mode"):
        load_settings("poweroffice")


def test_an_integration_without_a_system_model_takes_the_core_keys_only(tmp_path, monkeypatch):
    _folder(tmp_path, "invoice_mode: draft\n", monkeypatch, integration="acme")
    with pytest.raises(MappingConfigError, match="invoice_mode: Extra inputs are not permitted"):
        load_settings("acme")


def test_enabled_streams_covers_invoices_and_payments(tmp_path, monkeypatch):
    _folder(tmp_path, "enabled_streams: [customers]\n", monkeypatch)
    settings = load_settings("poweroffice")
    assert stream_enabled(settings, "customers") and not stream_enabled(settings, "invoices")
    assert not stream_enabled(settings, "payments")


def test_odoos_shipped_settings_are_valid_and_per_legal_entity():
    settings = load_settings("odoo")
    assert set(settings["vat_map"]) <= set(settings["scopes"]) and settings["shared_relations"] is True
    assert settings["partner_numbering"] in {"tribe", "odoo"}


@pytest.mark.parametrize(("text", "key"), [
    ("partner_numbering: sequence\n", "partner_numbering"),
    ("vat_map: {nl: {HIGH: '21%'}}\n", "vat_map.nl"),  # a map for a legal entity no scope is
    ("ledger_map: {default: 8000}\n", "ledger_map.default"),  # one map per legal entity, not a code
])
def test_odoos_wrong_keys_fail_naming_the_key(tmp_path, monkeypatch, text, key):
    _folder(tmp_path, text, monkeypatch, integration="odoo")
    with pytest.raises(MappingConfigError, match=rf"settings of odoo .*: {key}"):
        load_settings("odoo")


def test_one_legal_entity_ignores_the_invoices_own_choice(tmp_path, monkeypatch):
    from tribe_operators.sync.invoices import invoice_scope

    text = ("scopes: {default: {key: '1'}, be: {key: '2'}}\n"
            "invoice_scope: {field: LegalEntity.Code, map: {BE: be}}\n")
    _folder(tmp_path, text + "use_multiple_legal_entities: false\n", monkeypatch, integration="odoo")
    assert invoice_scope(load_settings("odoo"), {"LegalEntity": {"Code": "BE"}}) == "default"
    (tmp_path / "odoo" / "settings.yaml").write_text(text + "use_multiple_legal_entities: true\n", encoding="utf-8")
    assert invoice_scope(load_settings("odoo"), {"LegalEntity": {"Code": "BE"}}) == "be"
