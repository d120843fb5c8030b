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
def test_every_listed_type_is_one_the_receiver_starts_the_relations_dag_for(stream, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT", '{"conn_type": "poweroffice_go", "host": "https://x"}')
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
    monkeypatch.delenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT", raising=False)
    assert not wants(systems["odoo"], "relations")  # not set up: no settings file
    assert not wants(systems["poweroffice"], "relations")  # not connected: no connection
    monkeypatch.setenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT", '{"conn_type": "poweroffice_go", "host": "https://x"}')
    assert wants(systems["poweroffice"], "relations")
    assert not wants(systems["poweroffice"], "invoices")  # invoices is not an enabled stream
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", '{"webhooks": false}')
    assert not wants(systems["poweroffice"], "relations")


# --- Exact Online's webhooks: an event's topic is the type the import streams list -------------

EXACT_IMPORT_STREAMS = ("customers", "suppliers", "contacts", "products")


def exact_event(topic: str, action: str = "Update", division: int = 100001) -> tuple[str, bytes]:
    """(secret, body) as Exact's simulator signs it (``sandbox.exact.webhooks``, its own code)."""
    import json
    import uuid

    from sandbox.exact.webhooks import hash_code

    raw = json.dumps({"Topic": topic, "ClientId": str(uuid.uuid4()), "Division": division, "Action": action,
                      "Key": str(uuid.uuid4()), "ExactOnlineEndpoint": "https://start.exactonline.nl/api/v1/x",
                      "EventCreatedOn": "2026-12-07T09:00:00.000"}, separators=(",", ":"))
    secret = "exact-webhook-secret"
    return secret, ('{"Content":' + raw + ',"HashCode":"' + hash_code(secret, raw) + '"}').encode()


def test_an_exact_event_runs_only_the_streams_that_list_its_topic():
    from tribe_operators.systems.exact.webhooks import ExactWebhooks

    secret, body = exact_event("Items")
    part = ExactWebhooks()
    assert part.verify([secret], body) and not part.verify(["another"], body)
    event = part.parse(body)
    assert (event.entity_type, event.dag_ids, event.scope_key) == ("Items", ("exact_to_tribe",), "100001")
    # The conf's entity_type (the ExtractOperator's test) against streams as the mappings should list them.
    customers = load_stream("exact", "customers").source
    assert not customers.model_copy(update={"webhook_types": ["Accounts", "Contacts"]}).concerns(event.entity_type)
    assert customers.model_copy(update={"webhook_types": ["Items"]}).concerns(event.entity_type)


def test_the_same_exact_event_has_the_same_id_and_another_one_another():
    from tribe_operators.systems.exact.webhooks import ExactWebhooks

    part = ExactWebhooks()
    _, body = exact_event("Accounts")
    _, other = exact_event("Accounts")
    assert part.parse(body).event_id == part.parse(body).event_id != part.parse(other).event_id


@pytest.mark.parametrize("stream", EXACT_IMPORT_STREAMS)
def test_every_exact_type_listed_is_a_topic_that_starts_the_import(stream):
    from tribe_operators.systems.exact.webhooks import IMPORT_DAG, TOPICS, ExactWebhooks

    types = load_stream("exact", stream).source.webhook_types
    assert types, f"{stream} names no Exact topic: a webhook run would read it for any event"
    for topic in types:
        assert topic in TOPICS, f"{stream}: {topic} is not a topic we subscribe to ({', '.join(TOPICS)})"
        assert ExactWebhooks().parse(exact_event(topic)[1]).dag_ids == (IMPORT_DAG,)


@pytest.mark.parametrize("action", ["Create", "Update", "Delete"])
def test_a_financial_transactions_event_starts_the_payments_run_not_the_import(action):
    """A bank or cash entry (a payment, its reversal) or one removed: the payments run reads the
    receivables; the relations import has nothing to do with it."""
    from tribe_operators.systems.exact.webhooks import PAYMENTS_DAG, TOPICS, ExactWebhooks

    assert "FinancialTransactions" in TOPICS
    _, body = exact_event("FinancialTransactions", action)
    event = ExactWebhooks().parse(body)
    assert (event.dag_ids, event.entity_type, event.ignored) == ((PAYMENTS_DAG,), "FinancialTransactions", "")
    assert PAYMENTS_DAG == "exact_payments_to_tribe"
