"""``airflow backfill create`` over two days on a running Airflow equals one manual run with the
same window as Params — and imports nothing changed outside that window.

The DAG is ``poweroffice_initial_import`` (the PowerOffice → Tribe pipeline on daily data
intervals). PowerOffice records are stamped three days ago, in each of the two days of the
window, minutes either side of its edges, and today. The backfill (two runs, one per day) and
the manual run each start from the same empty Tribe tenant and link database; what Tribe then
holds and what the link database binds must be identical.
"""
from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(600)]

DAG_ID = "poweroffice_initial_import"
VOLATILE = {"ID", "CreationDate", "LastMutationDate"}
LINK_VOLATILE = {"id", "synced_at", "tribe_modified_at", "tribe_hash"}


def seed_poweroffice(po: Any, stamps: dict[str, datetime]) -> dict[str, dict[str, list[Any]]]:
    """Customers, suppliers, individual customers, contact persons, a product group and
    products, each with ``LastChangedDateTimeOffset`` = the stamp of its label.

    Returns:
        ``{label: {kind: [PowerOffice ids]}}``.
    """
    from sandbox.poweroffice.seed import valid_orgnr

    rng = random.Random(11)
    planted: dict[str, dict[str, list[Any]]] = {}
    group = po.insert_product_group(Code="LIVE", Name="Live test group", ProductType="Service",
                                    UnitOfMeasureCode="HUR", StandardSalesAccountId=po.account_by_no(3000)["Id"],
                                    LastChangedDateTimeOffset=stamps["day1"] - timedelta(hours=6))
    for index, (label, stamp) in enumerate(stamps.items()):
        tag = label.replace("_", " ").title()
        address = {"AddressLine1": f"Storgata {index + 1}", "ZipCode": "0155", "City": "Oslo", "CountryCode": "NO"}
        slug = label.replace("_", "")
        customer = po.insert_customer(Name=f"{tag} Kunde AS", OrganizationNumber=valid_orgnr(rng),
                                      EmailAddress=f"post@{slug}-kunde.no", MailAddress=address,
                                      LastChangedDateTimeOffset=stamp)
        supplier = po.insert_supplier(Name=f"{tag} Leverandør AS", OrganizationNumber=valid_orgnr(rng),
                                      EmailAddress=f"post@{slug}-leverandor.no", MailAddress=address,
                                      LastChangedDateTimeOffset=stamp)
        person = po.insert_customer(IsPerson=True, FirstName="Kari", LastName=f"{tag} Nordmann",
                                    Name=f"Kari {tag} Nordmann", EmailAddress=f"kari@{slug}.no",
                                    MailAddress=address, LastChangedDateTimeOffset=stamp)
        contact = po.insert_contact_person(customer["Id"], FirstName="Ola", LastName=f"{tag} Hansen",
                                           EmailAddress=f"ola@{slug}-kunde.no", LastChangedDateTimeOffset=stamp)
        product = po.insert_product(Code=f"LIVE-{index}", Name=f"{tag} konsulenttime", ProductType="Service",
                                    UnitOfMeasureCode="HUR", ProductGroupId=group["Id"], UnitPrice=1000.0 + index,
                                    StandardSalesAccountId=po.account_by_no(3000)["Id"],
                                    LastChangedDateTimeOffset=stamp)
        planted[label] = {"customers": [customer["Id"], person["Id"]], "suppliers": [supplier["Id"]],
                          "contacts": [f"{customer['Id']}/{contact['Id']}"], "products": [product["Id"]]}
    return planted



def tribe_labels(tribe: Any, baseline_ids: set[str]) -> dict[str, str]:
    """A label per Tribe record that does not depend on the ID Tribe happened to generate:
    the ID itself for the tenant's reference data (stable across resets), else the
    ``ImportId``, else entity set + display name."""
    labels = {}
    for es in tribe.snapshot():
        for rec in tribe.all(es):
            if rec["ID"] in baseline_ids:
                labels[rec["ID"]] = rec["ID"]
            elif rec.get("ImportId"):
                labels[rec["ID"]] = f"import:{rec['ImportId']}"
            else:
                labels[rec["ID"]] = f"{es}:{rec.get('_Name')}"
    return labels


def snapshot(live: Any, baseline_ids: set[str]) -> dict[str, list[str]]:
    """What Tribe holds and what the link database binds and quarantines, with every Tribe ID
    replaced by its label and every timestamp of *this* run dropped — comparable across runs."""
    labels = tribe_labels(live.sims.tribe, baseline_ids)

    def norm(value: Any) -> Any:
        return labels.get(value, value) if isinstance(value, str) else value

    tribe = [json.dumps({"set": es, **{k: norm(v) for k, v in rec.items() if k not in VOLATILE}},
                        sort_keys=True, default=str)
             for es in live.sims.tribe.snapshot() for rec in live.sims.tribe.all(es)]
    # tribe_hash is the hash of the mapped record, Tribe IDs of its references included (a
    # product's group, a contact's organisation): generated anew by each import, so left out;
    # the records themselves are compared above.
    links = [json.dumps({k: norm(v) for k, v in row.items() if k not in LINK_VOLATILE}, sort_keys=True, default=str)
             for row in live.link.rows("id_link")]
    quarantine = [json.dumps({k: row[k] for k in ("system", "stream", "record_id", "field", "reason")},
                             sort_keys=True, default=str)
                  for row in live.link.rows("quarantine") if row.get("resolved_at") is None]
    return {"tribe": sorted(tribe), "links": sorted(links), "quarantine": sorted(quarantine)}


def import_ids(planted: dict[str, dict[str, list[Any]]], labels: list[str]) -> set[str]:
    """The ``ImportId`` Tribe records of these seed labels get (customers, persons, contacts, products)."""
    out = set()
    for label in labels:
        kinds = planted[label]
        out |= {f"poweroffice:{i}" for i in kinds["customers"]}
        out |= {f"poweroffice:contact:{i}" for i in kinds["contacts"]}
        out |= {f"poweroffice:product:{i}" for i in kinds["products"]}
    return out


def test_backfill_over_two_days_equals_a_manual_run_over_the_same_window(live):
    api = live.airflow.api
    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=2), today  # the window: two whole days, (start, end]
    stamps = {
        "before": start - timedelta(hours=12),          # the day before the window
        "edge_before": start - timedelta(minutes=2),    # inside any "minus 5-minute overlap" slack: still out
        "day1": start + timedelta(hours=12),
        "day2": start + timedelta(days=1, hours=12),
        "edge_end": end - timedelta(minutes=2),         # the window's last minutes: in
        "today": max(now - timedelta(seconds=5), end + timedelta(seconds=1)),  # after the window
    }
    inside, outside = ["day1", "day2", "edge_end"], ["before", "edge_before", "today"]
    planted = seed_poweroffice(live.sims.po, stamps)
    baseline = {rec["ID"] for es in live.sims.tribe.snapshot() for rec in live.sims.tribe.all(es)}
    api.wait_for_dags([DAG_ID])

    # --- the backfill: the CLI the operators use, with the components' environment ----------
    live.airflow.cli("backfill", "create", "--dag-id", DAG_ID, "--from-date", start.isoformat(),
                     "--to-date", (end - timedelta(days=1)).isoformat(), "--max-active-runs", "1")
    (backfill,) = api.backfills(DAG_ID)
    api.set_paused(DAG_ID, False)  # the DAG ships paused; its runs (backfill ones too) need it on
    runs = api.wait_for_backfill(DAG_ID, backfill["id"], timeout=300)
    assert [(r["data_interval_start"], r["data_interval_end"]) for r in runs] == [
        (_z(start), _z(start + timedelta(days=1))), (_z(start + timedelta(days=1)), _z(end))]
    for run in runs:
        api.require_success(DAG_ID, run)
    # Each backfill run read exactly its own day: no "everything so far" on the first one.
    windows = {(row["run_id"], row["window_start"], row["window_end"])
               for row in live.link.rows("sync_run") if row["step"] == "extract"}
    assert windows == {(runs[0]["dag_run_id"], start, start + timedelta(days=1)),
                       (runs[1]["dag_run_id"], start + timedelta(days=1), end)}, windows
    by_backfill = snapshot(live, baseline)

    # --- the same window as one manual run, from the same starting point ------------------
    live.sims.tribe.reset()
    live.link.reset()
    conf = {"from_date": start.isoformat(), "to_date": end.isoformat()}
    manual = api.trigger(DAG_ID, conf=conf)
    api.wait_for_success(DAG_ID, manual["dag_run_id"])
    by_manual = snapshot(live, baseline)

    assert by_backfill == by_manual, difference(by_backfill, by_manual)
    assert by_manual["tribe"] and by_manual["links"]
    imported = {r.get("ImportId") for es in live.sims.tribe.snapshot() for r in live.sims.tribe.all(es)}
    assert import_ids(planted, inside) <= imported, "a record changed inside the window was not imported"
    assert not import_ids(planted, outside) & imported, "a record changed outside the window was imported"
    names = {r["Name"] for r in live.sims.tribe.all("Relation_Organization")}
    assert {f"{t} Leverandør AS" for t in ("Day1", "Day2", "Edge End")} <= names
    assert not {f"{t} Leverandør AS" for t in ("Before", "Edge Before", "Today")} & names
    assert live.link.rows("quarantine") == []
    # (A second run over the same window writes nothing: test_poweroffice_import_dag checks it
    # with dag.test(); not repeated here, where every run costs a live run's minute.)


def difference(left: dict[str, list[str]], right: dict[str, list[str]]) -> str:
    """Readable: what only the backfill has, what only the manual run has."""
    lines = []
    for key in left:
        only_left = sorted(set(left[key]) - set(right[key]))
        only_right = sorted(set(right[key]) - set(left[key]))
        lines += [f"{key}: only after the backfill: {x}" for x in only_left]
        lines += [f"{key}: only after the manual run: {x}" for x in only_right]
    return "\n".join(lines)


def _z(moment: datetime) -> str:
    """How the REST API renders a UTC datetime."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
