"""The nightly Odoo import on a running Airflow: a manual run of ``odoo_to_tribe`` (Trigger, with
a logical date of now: its data interval ends last night at 02:00, Amsterdam time) brings the
partners into Tribe, linked — also one changed after last night: Trigger means "sync now"."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID = "odoo_to_tribe"


def _last_night() -> datetime:
    """The last 02:00 in Amsterdam: the end of a manual run's data interval."""
    now = datetime.now(ZoneInfo("Europe/Amsterdam"))
    night = now.replace(hour=2, minute=0, second=0, microsecond=0)
    return (night if night <= now else night - timedelta(days=1)).astimezone(UTC)


def test_a_run_of_the_nightly_odoo_import_brings_odoos_partners_into_tribe(live):
    api, odoo, tribe = live.airflow.api, live.sims.odoo, live.sims.tribe
    night = _last_night()
    inside = [odoo.insert("res.partner", {"name": f"Nachtklant {i} BV", "is_company": True, "customer_rank": 1,
                                          "ref": f"N-{i}", "email": f"info@nachtklant{i}.nl", "country_id": 1})
              for i in range(3)]
    contact = odoo.insert("res.partner", {"name": "Anne de Vries", "parent_id": inside[0], "type": "contact"})
    later = odoo.insert("res.partner", {"name": "Vanochtend BV", "is_company": True, "customer_rank": 1})
    for partner in [*inside, contact]:
        odoo.backdate("res.partner", partner, night - timedelta(hours=5))
    odoo.backdate("res.partner", later, night + timedelta(minutes=1))
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)
    try:
        # Its data interval ends last night at 02:00; a manual run reads on up to its trigger.
        run = api.trigger(DAG_ID, conf={}, logical_date=datetime.now(UTC))
        done = api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=300)
    finally:
        api.set_paused(DAG_ID, True)
    assert done["state"] == "success", api.task_instances(DAG_ID, run["dag_run_id"])
    names = {o["Name"] for o in tribe.all("Relation_Organization")}
    assert {f"Nachtklant {i} BV" for i in range(3)} <= names and "Vanochtend BV" in names
    links = {r["external_id"]: r for r in live.link.rows("id_link") if r["entity"] == "customer"}
    assert {str(p) for p in [*inside, later]} <= set(links)
    window = {r["window_end"] for r in live.link.rows("sync_run") if r["step"] == "extract"}
    assert all(end > night + timedelta(minutes=1) for end in window), window
    assert any(c.get("ImportId") == f"odoo:contact:{contact}" for c in tribe.all("Relationship_Person_Contact_Standard"))
