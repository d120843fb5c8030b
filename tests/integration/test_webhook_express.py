"""A webhook run's steps in one task (``operators.express``), end to end with dag.test(), the
simulators and real Postgres.

The run is prepared as the receiver prepares it (``webhooks.trigger``): ``conf`` with the
streams the event concerns and ``express``, every step task marked skipped in the session that
created the run. Then the ``express`` task runs those streams' steps in the DAG's order — a
product's group before the product, both roles of an Odoo partner read before either decides
— and a retry keeps the streams an earlier try loaded, does the others again and writes nothing
twice (a create an earlier try made is found by its reference, linked, its number written back).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.chaos import no_retry_wait
from tests.integration.conftest import dag_named
from tribe_operators.store.links import LinkStore
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
CUSTOMER = "Relationship_Organization_CommercialRelationship_Customer"
SUPPLIER = "Relationship_Organization_Supplier"


@pytest.fixture
def as_webhook_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """dag.test() creates its run through ``get_or_create_dagrun``; the run it creates is then
    prepared as the receiver prepares a webhook run, in the same session: the step tasks skipped."""
    from airflow.models import dagrun as dagrun_module

    from tribe_operators.webhooks.trigger import skip_step_tasks

    real = dagrun_module.get_or_create_dagrun

    def prepared(**kwargs: Any) -> Any:
        run = real(**kwargs)
        if (kwargs.get("conf") or {}).get("express"):
            skip_step_tasks(kwargs["session"], kwargs["dag"], run.run_id)
        return run

    monkeypatch.setattr(dagrun_module, "get_or_create_dagrun", prepared)


def webhook_run(dag: Any, entity_type: str, minutes_ahead: int) -> Any:
    """A run of ``dag`` as Tribe's event for ``entity_type`` starts it: the receiver's conf
    (``routing.conf_for``) and the flag its trigger adds."""
    from tests.fixtures.webhooks import event_body
    from tribe_operators.operators.express import EXPRESS_CONF
    from tribe_operators.webhooks.events import parse_event
    from tribe_operators.webhooks.routing import conf_for

    conf = {**conf_for(parse_event(event_body(entity_type)), dag.dag_id), EXPRESS_CONF: True}
    dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=minutes_ahead), run_conf=conf)
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


def states(dagrun: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state).rsplit(".", 1)[-1] for ti in dagrun.get_task_instances()}


def steps_recorded(link_db: Any, dagrun: Any) -> dict[str, dict[str, Any]]:
    return {f"{r['stream']}.{r['step']}": r for r in run_counts(link_db, dagrun.run_id)}


def test_a_product_event_exports_the_group_then_the_product_in_one_task(sims, link_db, as_webhook_runs):
    export = dag_named("tribe_to_poweroffice")
    t = sims.tribe
    unit = next(u for u in t.all("Datastore_Unit") if u["Code"] == "HUR")
    vat = next(v for v in t.all("Datastore_VatGroup") if v["Code"] == "NO25")
    group = t.insert("ProductGroup", {"Name": "Webhook-tjenester", "Code": "WT"})
    product = t.insert("Product", {"Name": "Webhook-kurs", "Code": "WK-1", "SalesPrice": 500.0, "Unit": {"ID": unit["ID"]},
                                   "VatGroup": {"ID": vat["ID"]}, "ProductGroup": {"ID": group["ID"]}})

    dagrun = webhook_run(export, "Product", 20)

    links = LinkStore(link_db, "poweroffice")
    [made] = [p for p in sims.po.all("products") if p["Code"] == "WK-1"]
    assert str(made["Id"]) == links.to_external("product", product["ID"])
    assert str(made["ProductGroupId"]) == links.to_external("product_group", group["ID"])  # the group came first
    found = states(dagrun)
    assert (found["express"], found["summary"]) == ("success", "success"), found
    assert {s for task, s in found.items() if task not in ("express", "summary")} == {"skipped"}, found
    recorded = steps_recorded(link_db, dagrun)
    assert set(recorded) == {f"{s}.{step}" for s in ("tribe_product_groups", "tribe_products")
                             for step in ("extract", "map", "dedupe", "load")}, sorted(recorded)
    assert [recorded[f"{s}.load"]["counts"]["created"] for s in ("tribe_product_groups", "tribe_products")] == [1, 1]
    # The same event again (Tribe redelivers as a new event): read, nothing to write.
    again = steps_recorded(link_db, webhook_run(export, "Product", 40))
    assert {k: (r["counts"].get("created", 0), r["counts"].get("updated", 0))
            for k, r in again.items() if k.endswith(".load")} == {"tribe_product_groups.load": (0, 0),
                                                                  "tribe_products.load": (0, 0)}
    assert len([p for p in sims.po.all("products") if p["Code"] == "WK-1"]) == 1


def test_an_organisation_in_both_roles_becomes_one_odoo_partner_in_one_task(odoo_sims, link_db, as_webhook_runs):
    """The party: both roles read and mapped before either decides; the customers bind the
    partner, the suppliers find it bound (the DAG's order, kept by the one task)."""
    export = dag_named("tribe_to_odoo")
    t = odoo_sims.tribe
    org = t.insert("Relation_Organization", {"Name": "Snelle Beide BV", "DebtorNumber": "10123", "CreditorNumber": "10123"})
    t.insert(CUSTOMER, {"Organization": {"ID": org["ID"]}})
    t.insert(SUPPLIER, {"Organization": {"ID": org["ID"]}})

    dagrun = webhook_run(export, "Relationship.Organization", 20)

    partners = odoo_sims.odoo.call("res.partner", "search_read", [["name", "=", "Snelle Beide BV"]],
                                   ["customer_rank", "supplier_rank"], context={"active_test": False})
    assert len(partners) == 1 and partners[0]["customer_rank"] >= 1 and partners[0]["supplier_rank"] >= 1, partners
    links = LinkStore(link_db, "odoo")
    assert links.to_external("customer", org["ID"]) == links.to_external("supplier", org["ID"]) == str(partners[0]["id"])
    found = states(dagrun)
    assert found["express"] == "success" and found["tribe_customers.dedupe"] == "skipped", found
    recorded = steps_recorded(link_db, dagrun)
    assert {k.split(".")[0] for k in recorded} == {"tribe_customers", "tribe_suppliers"}, sorted(recorded)
    order = sorted(recorded, key=lambda k: recorded[k]["started_at"])
    assert order.index("tribe_suppliers.map") < order.index("tribe_customers.dedupe"), order
    assert order.index("tribe_customers.load") < order.index("tribe_suppliers.dedupe"), order


def test_a_retry_finds_the_customer_the_failed_try_created_and_writes_its_number_back(sims, link_db, as_webhook_runs,
                                                                                    monkeypatch):
    """The try dies after PowerOffice created the customer, before Tribe got PowerOffice's
    number and before the link was bound. The retry reads and decides the stream again; its load
    finds the customer by the reference the create wrote, links it and writes the number back:
    one customer, one POST."""
    from tribe_operators.systems.tribe.source import TribeSource

    export = no_retry_wait(dag_named("tribe_to_poweroffice"))
    org = sims.tribe.insert("Relation_Organization", {"Name": "Snel Herhaald BV", "EmailAddress": "post@herhaald.nl"})
    sims.tribe.insert(CUSTOMER, {"Organization": {"ID": org["ID"]}})
    real, died = TribeSource.write_back, []

    def dies_once(self: TribeSource, spec: Any, source_id: str, changes: Any) -> Any:
        if not died:
            died.append(source_id)
            raise RuntimeError("worker lost")
        return real(self, spec, source_id, changes)

    monkeypatch.setattr(TribeSource, "write_back", dies_once)
    dagrun = webhook_run(export, "Relationship.Organization.CommercialRelationship.Customer", 20)

    assert died == [org["ID"]]
    [customer] = [c for c in sims.po.all("customers") if c.get("ExternalImportReference") == f"tribe:{org['ID']}"]
    assert sims.po.counters()["calls"].get("POST Customers") == 1
    assert LinkStore(link_db, "poweroffice").to_external("customer", org["ID"]) == str(customer["Id"])
    assert sims.tribe.get("Relation_Organization", org["ID"])["DebtorNumber"] == str(customer["Number"])
    [express] = [ti for ti in dagrun.get_task_instances() if ti.task_id == "express"]
    assert express.try_number == 2
    load = steps_recorded(link_db, dagrun)["tribe_customers.load"]["counts"]
    assert (load["created"], load["linked"]) == (0, 1)  # linked, not created again


def test_a_retry_keeps_the_stream_an_earlier_try_loaded(sims, link_db, as_webhook_runs, monkeypatch):
    """Customers and suppliers in one run; the suppliers' try dies after PowerOffice created the
    supplier. The retry keeps the customers as the first try loaded them (not read again, their
    count stays the run's) and does the suppliers again: one POST each."""
    export = no_retry_wait(dag_named("tribe_to_poweroffice"))
    klant = sims.tribe.insert("Relation_Organization", {"Name": "Eerste Klant BV", "EmailAddress": "post@klant.nl"})
    sims.tribe.insert(CUSTOMER, {"Organization": {"ID": klant["ID"]}})
    leverancier = sims.tribe.insert("Relation_Organization", {"Name": "Tweede Leverancier BV"})
    sims.tribe.insert(SUPPLIER, {"Organization": {"ID": leverancier["ID"]}})
    real_bind, died = LinkStore.bulk_bind, []

    def dies_once(self: LinkStore, links: Any) -> Any:
        if not died and any(link.entity == "supplier" for link in links):
            died.append(links[0].tribe_id)
            raise RuntimeError("worker lost")
        return real_bind(self, links)

    monkeypatch.setattr(LinkStore, "bulk_bind", dies_once)
    dagrun = webhook_run(export, "Relationship.Organization", 20)

    assert died == [leverancier["ID"]]
    calls = sims.po.counters()["calls"]
    assert (calls.get("POST Customers"), calls.get("POST Suppliers")) == (1, 1), calls
    links = LinkStore(link_db, "poweroffice")
    assert links.to_external("customer", klant["ID"]) and links.to_external("supplier", leverancier["ID"])
    [express] = [ti for ti in dagrun.get_task_instances() if ti.task_id == "express"]
    assert express.try_number == 2
    recorded, retry_started = steps_recorded(link_db, dagrun), express.start_date.timestamp()
    assert all(recorded[f"tribe_customers.{step}"]["started_at"].timestamp() < retry_started
               for step in ("extract", "map", "dedupe", "load"))
    assert recorded["tribe_customers.load"]["counts"]["created"] == 1  # the run's count, kept
    assert recorded["tribe_suppliers.extract"]["started_at"].timestamp() >= retry_started  # read again
    assert recorded["tribe_suppliers.load"]["counts"]["linked"] == 1


def test_a_scheduled_run_runs_each_step_as_its_task_and_skips_the_express(sims, link_db):
    export = dag_named("tribe_to_poweroffice")
    org = sims.tribe.insert("Relation_Organization", {"Name": "Gewoon Gepland BV", "EmailAddress": "post@gepland.nl"})
    sims.tribe.insert(CUSTOMER, {"Organization": {"ID": org["ID"]}})
    dagrun = export.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))
    assert str(dagrun.state).endswith("success"), dagrun.state
    found = states(dagrun)
    assert found["express"] == "skipped" and found["tribe_customers.load"] == "success", found
    assert LinkStore(link_db, "poweroffice").to_external("customer", org["ID"]) is not None
