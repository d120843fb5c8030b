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


VAR = "AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS"
MAPS = "vat_map: {NO25: '3', NO15: '31', HIGH: '3'}\nunit_map: {PCS: EA, HUR: HUR}\n"


def test_a_variable_map_extends_the_files_key_by_key(tmp_path, monkeypatch):
    """Following a quarantine reason ("add NO12 to vat_map") must not drop the other groups."""
    _folder(tmp_path, MAPS, monkeypatch)
    monkeypatch.setenv(VAR, json.dumps({"vat_map": {"NO12": "31"}}))
    settings = load_settings("poweroffice")
    assert settings["vat_map"] == {"NO25": "3", "NO15": "31", "HIGH": "3", "NO12": "31"}
    assert settings["unit_map"] == {"PCS": "EA", "HUR": "HUR"}


def test_a_variable_null_removes_a_key_and_replace_takes_a_map_whole(tmp_path, monkeypatch):
    _folder(tmp_path, MAPS, monkeypatch)
    monkeypatch.setenv(VAR, json.dumps({"vat_map": {"HIGH": None}, "unit_map": {"DAY": "DAY"}, "$replace": ["unit_map"]}))
    settings = load_settings("poweroffice")
    assert settings["vat_map"] == {"NO25": "3", "NO15": "31"}
    assert settings["unit_map"] == {"DAY": "DAY"}
    monkeypatch.setenv(VAR, json.dumps({"$replace": "unit_map"}))
    with pytest.raises(MappingConfigError, match=r"\$replace must be a list"):
        load_settings("poweroffice")


def test_settings_sources_name_where_each_value_comes_from(tmp_path, monkeypatch):
    from tribe_operators.mapping.settings import settings_sources

    _folder(tmp_path, MAPS, monkeypatch)
    monkeypatch.setenv(VAR, json.dumps({"vat_map": {"NO12": "31"}, "overlap_seconds": 60}))
    sources = {row["path"]: (row["value"], row["source"]) for row in settings_sources("poweroffice")}
    assert sources["vat_map.NO12"] == ("31", "variable") and sources["vat_map.NO25"] == ("3", "file")
    assert sources["overlap_seconds"] == (60, "variable")
    assert sources["load_concurrency"] == (4, "default")
    assert sources["number_match.min_name_similarity"] == (0.7, "default")


def test_an_unmapped_code_names_the_variable_json_that_adds_it(tmp_path, monkeypatch):
    """The reason's JSON, set as the Variable, maps the code and keeps the rest of the map."""
    import re

    from tribe_operators.exceptions import RecordError
    from tribe_operators.mapping.transforms import MapContext, setting_map

    _folder(tmp_path, MAPS, monkeypatch)
    ctx = MapContext(settings=load_settings("poweroffice"), integration="poweroffice")
    with pytest.raises(RecordError) as caught:
        setting_map("NO12", ctx, {}, setting="vat_map", what="Tribe VAT group")
    reason, action = caught.value.reason, caught.value.action
    assert action == {"kind": "unmapped_code", "setting": "vat_map", "code": "NO12", "reverse": False,
                      "variable": "tribe_sync_poweroffice_settings"}
    patch = json.loads(re.search(r"Variable tribe_sync_poweroffice_settings to (\{.*?\}\})", reason).group(1))
    assert patch == {"vat_map": {"NO12": "<code>"}}
    monkeypatch.setenv(VAR, json.dumps({"vat_map": {"NO12": "31"}}))
    ctx = MapContext(settings=load_settings("poweroffice"), integration="poweroffice")
    assert setting_map("NO12", ctx, {}, setting="vat_map", what="Tribe VAT group") == "31"
    assert setting_map("NO25", ctx, {}, setting="vat_map", what="Tribe VAT group") == "3"
