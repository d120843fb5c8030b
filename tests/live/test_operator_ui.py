"""What an operator sees and does in a real browser on the live Airflow (Celery, two workers):
a run that quarantined records shows them in its log, its summary and its note, and on the
tribe-sync page, where Retry now re-runs a record and Dismiss stops its retries; a manual
trigger right after a change in PowerOffice imports it; no connection form shows a secret."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from sandbox.scenario import seed_demo
from tests.fixtures.records import poweroffice_change
from tests.live.browser import browser, logged_in, shoot  # noqa: F401 - the fixture
from tests.live.processes import wait_until

pytestmark = [pytest.mark.live, pytest.mark.postgres]
DAG_ID = "poweroffice_to_tribe"


def trigger_now(api: Any) -> dict[str, Any]:
    """What the UI's Trigger button sends (a logical date of now), waited for."""
    run = api.trigger(DAG_ID, logical_date=datetime.now(UTC))
    done = api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=240)
    api.require_success(DAG_ID, done)
    return api.run(DAG_ID, run["dag_run_id"])  # the note is written as the run ends


def quarantine(live: Any) -> dict[str, dict[str, Any]]:
    with live.link.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM quarantine WHERE integration = 'poweroffice'")).mappings().all()
    return {f"{r['stream']}/{r['record_id']}": dict(r) for r in rows}


def test_quarantine_in_log_summary_note_and_page_where_retry_and_dismiss_work(live, browser):  # noqa: F811
    api, po, tribe = live.airflow.api, live.sims.po, live.sims.tribe
    seed_demo(tribe, po, customers=30, suppliers=8, matched=3)
    po.forget_seed()  # the next test's reset: reference data only, not this demo data again
    tribe.forget_seed()
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)
    try:
        first = trigger_now(api)
        run_id = first["dag_run_id"]
        open_rows = {k: r for k, r in quarantine(live).items() if r["resolved_at"] is None}
        assert open_rows
        # The note, flagged; the step's log and the summary name the records.
        assert first["note"].startswith(f"⚠ {len(open_rows)} quarantined · "), first["note"]
        bad_email = next(r for r in open_rows.values() if r["field"] == "EmailAddress")
        map_log = api.task_log(DAG_ID, run_id, "customers.map", 1)
        assert f"quarantined poweroffice/customers {bad_email['record_id']} field EmailAddress" in map_log
        summary_log = api.task_log(DAG_ID, run_id, "summary", 1)
        assert f"{len(open_rows)} record(s) quarantined" in summary_log
        assert all(r["record_id"] in summary_log for r in open_rows.values())

        # A change in PowerOffice a moment ago: Trigger imports it (the window ends at the trigger).
        customer = next(c for c in po.all("customers") if c.get("Name") and not c["IsPerson"]
                        and f"customers/{c['Id']}" not in open_rows)
        poweroffice_change(live.sims.po_url, "PATCH", f"Customers/{customer['Id']}",
                           [{"op": "replace", "path": "/Name", "value": "Omdøpt Akkurat Nå AS"}])
        trigger_now(api)
        assert "Omdøpt Akkurat Nå AS" in {o.get("Name") for o in tribe.all("Relation_Organization")}

        page = logged_in(browser, live.airflow)
        page.goto(f"{live.airflow.base_url}/tribe-sync/")  # its one address (the nav entry links it)
        frame = page
        frame.locator("#quarantine").wait_for()
        for toggle in frame.locator("button[data-toggle]").all():  # records grouped by reason: shown
            toggle.click()
        shown = frame.locator("#quarantine tr[data-quarantine]")
        still_open = {k for k, r in quarantine(live).items() if r["resolved_at"] is None}
        assert shown.count() == len(still_open)
        assert frame.locator("#chart g.run").count() >= 2 and frame.locator("#chart rect.flag").count() >= 1
        shoot(page, "tribe-sync-page")

        # Dismiss: the row goes, the record is closed as dismissed by the user, no longer retried.
        dismissed = next(k for k in still_open if k.startswith("customers/") and k != f"customers/{bad_email['record_id']}")
        row = frame.locator(f"tr[data-record='{dismissed.split('/', 1)[1]}']")
        row.get_by_role("button", name="Dismiss").click()
        row.wait_for(state="detached")
        closed = quarantine(live)[dismissed]
        assert closed["resolved_at"] is not None and closed["dismissed_by"] == live.airflow.username

        # Retry now: fixed at the source without a new change stamp (so only a read by id finds
        # it), the retry run reads it first and it lands; the dismissed one is not tried again.
        po.table("customers")[int(bad_email["record_id"])]["EmailAddress"] = "post@epostfeil.no"
        row = frame.locator(f"tr[data-record='{bad_email['record_id']}']")
        row.get_by_role("button", name="Retry now").click()
        wait_until(lambda: row.get_attribute("data-retried"), timeout=30, what="the retry run to start")
        retry_run = row.get_attribute("data-retried")
        shoot(page, "tribe-sync-retry-started")
        done = api.wait_for_run(DAG_ID, retry_run, timeout=240)
        api.require_success(DAG_ID, done)
        assert done["conf"]["retry_records"] == {"customers": [bad_email["record_id"]]}
        after = quarantine(live)
        assert after[f"customers/{bad_email['record_id']}"]["resolved_at"] is not None, str(after[f"customers/{bad_email['record_id']}"])
        assert after[dismissed]["attempts"] == closed["attempts"]  # dismissed: not retried
        page.reload()
        frame = page
        frame.locator("#quarantine, .muted").first.wait_for()
        assert frame.locator(f"tr[data-record='{bad_email['record_id']}']").count() == 0
        shoot(page, "tribe-sync-after-retry")
        assert api.run(DAG_ID, retry_run)["note"]  # the retry run has its note too
    finally:
        api.set_paused(DAG_ID, True)
        api.forget_runs(DAG_ID)  # the scheduled-run test counts this DAG's runs

    # Without a login there is nothing: the page, its data and its actions are refused.
    anonymous = browser.new_context()
    for path in ("/tribe-sync/", "/tribe-sync/api/poweroffice"):
        assert anonymous.request.get(f"{live.airflow.base_url}{path}").status == 401
    refused = anonymous.request.post(f"{live.airflow.base_url}/tribe-sync/api/quarantine/1/dismiss", data="{}",
                                     headers={"Content-Type": "application/json"})
    assert refused.status == 401
    anonymous.close()


SECRETS = {"tribe_crm": ({"password": "SECRET-tribe-client-1"},
                         {"webhook_secret": "SECRET-tribe-webhook-2", "rate_limit_store": "redis://redis:6379/1",
                          "rate_limit_store_password": "SECRET-redis-3"}),
           "poweroffice_go": ({"password": "SECRET-po-client-4"}, {"subscription_api_key": "SECRET-po-sub-5"}),
           "odoo": ({"password": "SECRET-odoo-key-6"}, {"database": "acme"}),
           "exact_online": ({"password": "SECRET-exact-7"}, {"division": 1, "refresh_token": "SECRET-exact-rt-8"})}


@pytest.mark.parametrize("conn_type", list(SECRETS))
def test_no_connection_form_shows_a_secret(live, browser, conn_type):  # noqa: F811
    api = live.airflow.api
    standard, extra = SECRETS[conn_type]
    conn_id = f"form_check_{conn_type}"
    api.request("POST", "connections", json={"connection_id": conn_id, "conn_type": conn_type,
                                             "host": "https://example.test", "login": "someone", **standard,
                                             "extra": json.dumps(extra)})
    try:
        page = logged_in(browser, live.airflow)
        page.goto(f"{live.airflow.base_url}/connections")
        page.get_by_role("row").filter(has_text=conn_id).get_by_role("button", name="Edit Connection").click()
        secrets = [v for v in [*standard.values(), *extra.values()] if str(v).startswith("SECRET-")]
        # Each part of the form in turn (one open at a time): no secret in the page, ever.
        for part in ("Extra Fields JSON", "Extra Fields", "Standard Fields"):
            page.get_by_text(part, exact=True).click()
            page.wait_for_timeout(400)
            shoot(page, f"connection-form-{conn_type}-{part.lower().replace(' ', '-')}")
            assert [s for s in secrets if s in page.content()] == [], part
            if part == "Extra Fields":
                for key, value in extra.items():
                    kind = "password" if str(value).startswith("SECRET-") else None
                    field = page.locator(f"input[name='element_{key}']")
                    if kind:
                        assert field.get_attribute("type") == "password", key
        assert page.locator("input[name='password']").get_attribute("type") == "password"
        # The advanced extras are fields with their defaults: what the form is built from.
        meta = {m["connection_type"]: m for m in page.request.get(f"{live.airflow.base_url}/ui/connections/hook_meta").json()}
        fields = meta[conn_type]["extra_fields"]
        if conn_type in ("tribe_crm", "poweroffice_go", "odoo"):
            assert {"page_size", "timeout", "max_attempts", "rate_limit_store"} <= set(fields)
            assert fields["timeout"]["value"] == 60 and fields["max_attempts"]["value"] == 6
        if conn_type == "tribe_crm":
            assert fields["rate_limit"]["value"] == 1000 and fields["webhook_secret"]["schema"]["format"] == "password"
    finally:
        api.request("DELETE", f"connections/{conn_id}")
