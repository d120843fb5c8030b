"""Which streams a webhook-started run reads: each Tribe → PowerOffice stream names the entity
types that concern it (``source.webhook_types`` in its mapping file)."""
from __future__ import annotations

import pytest

from tribe_operators.mapping.spec import load_stream
from tribe_operators.webhooks.routing import dags_for

EXPORT_STREAMS = ("tribe_customers", "tribe_suppliers", "tribe_contacts", "tribe_persons", "tribe_product_groups",
                  "tribe_products")


def streams_for(entity_type: str) -> set[str]:
    return {s for s in EXPORT_STREAMS if load_stream("poweroffice", s).source.concerns(entity_type)}


@pytest.mark.parametrize(("entity_type", "expected"), [
    ("Relationship.Organization.CommercialRelationship.Customer", {"tribe_customers"}),
    ("Relationship.Organization.Supplier", {"tribe_suppliers"}),
    # A supertype may be any of its kinds.
    ("Relationship.Organization", {"tribe_customers", "tribe_suppliers"}),
    ("Relation.Organization", {"tribe_customers", "tribe_suppliers"}),
    # A contact is exported under its organisation's PowerOffice link: the organisation
    # streams run first in the same run, as in a scheduled one (a contact of a not yet linked
    # organisation is out of scope, and its watermark would move on).
    ("Relation.Person", {"tribe_customers", "tribe_suppliers", "tribe_contacts", "tribe_persons"}),
    ("Relationship.Person.Contact.Employee", {"tribe_customers", "tribe_suppliers", "tribe_contacts"}),
    ("Relationship.Person.CommercialRelationship.Customer", {"tribe_persons"}),
    ("Product", {"tribe_product_groups", "tribe_products"}),
])
def test_a_webhook_run_reads_only_the_streams_its_event_concerns(entity_type, expected):
    assert streams_for(entity_type) == expected


def test_a_sibling_that_shares_a_prefix_is_not_a_subtype():
    assert streams_for("ProductGroup") == set()
    assert streams_for("Relation.OrganizationX") == set()


@pytest.mark.parametrize("stream", EXPORT_STREAMS)
def test_every_listed_type_is_one_the_receiver_starts_the_relations_dag_for(stream):
    types = load_stream("poweroffice", stream).source.webhook_types
    assert types, f"{stream} lists no webhook_types: every webhook run would read it"
    assert all("tribe_to_poweroffice" in dags_for(t) for t in types), {t: dags_for(t) for t in types}


def test_a_stream_without_webhook_types_is_read_by_every_webhook_run():
    customers = load_stream("poweroffice", "customers")  # PowerOffice → Tribe: no Tribe webhooks
    assert customers.source.webhook_types == [] and customers.source.concerns("Product")


def _systems():
    from tribe_operators.registry import System

    return {name: System(name=name, title=name, hook=".hook:H", default_conn_id=f"{name}_default",
                         exports={"relations": f"tribe_to_{name}", "invoices": f"tribe_invoices_to_{name}"})
            for name in ("odoo", "poweroffice")}


def test_one_event_starts_the_export_of_every_system_that_wants_it():
    systems = _systems()
    assert dags_for("Activity.Invoice", systems=systems, enabled=lambda s, kind: True) == [
        "tribe_invoices_to_odoo", "tribe_invoices_to_poweroffice"]
    assert dags_for("Relation.Person", systems=systems, enabled=lambda s, kind: s.name == "odoo") == ["tribe_to_odoo"]
    assert dags_for("Datastore.Unit", systems=systems, enabled=lambda s, kind: True) == []


def test_a_system_takes_webhooks_as_its_settings_say(tmp_path, monkeypatch):
    from tribe_operators.webhooks.routing import wants

    systems = _systems()
    (tmp_path / "poweroffice").mkdir()
    (tmp_path / "poweroffice" / "settings.yaml").write_text("enabled_streams: [customers]\n", encoding="utf-8")
    monkeypatch.setenv("TRIBE_SYNC_MAPPINGS", str(tmp_path))
    assert not wants(systems["odoo"], "relations")  # not set up: no settings file
    assert wants(systems["poweroffice"], "relations")
    assert not wants(systems["poweroffice"], "invoices")  # invoices is not an enabled stream
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", '{"webhooks": false}')
    assert not wants(systems["poweroffice"], "relations")
