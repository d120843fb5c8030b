"""Fixed means green, in a real browser on the live Airflow (Celery, two workers): an invoice
PowerOffice refuses fails its task and its run; its run's note carries the ⚠ and so does its
summary task instance (what the grid marks); once fixed at the source, Retry now on the tribe-sync
page clears that task in that run, which turns green in Airflow's runs list — the invoice exported
once, by that run."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.live.browser import browser, logged_in, shoot  # noqa: F401 - the fixture
from tests.live.harness import wait_until
from tests.live.test_clear_mapped_invoice import DAG_ID, TASK_ID, orders_by_reference, seed_invoices

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(480)]


def summary_note(api: Any, run_id: str) -> str | None:
    return next(ti for ti in api.task_instances(DAG_ID, run_id) if ti["task_id"] == "summary").get("note")


def runs_list_state(page: Any, base_url: str, run_id: str) -> str:
    """The state Airflow's runs list shows in the row of ``run_id``."""
    page.goto(f"{base_url}/dags/{DAG_ID}/runs")
    row = page.get_by_role("row").filter(has_text=run_id)
    row.wait_for()
    return row.inner_text()


def test_retry_now_on_a_failed_invoice_turns_its_own_run_green(live, browser):  # noqa: F811
    api, po = live.airflow.api, live.sims.po
    seeded = seed_invoices(live)
    good, bad = seeded["good"], seeded["bad"]
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)
    try:
        earlier = {r["dag_run_id"] for r in api.runs(DAG_ID)}  # the live stack is shared: other tests' runs
        run_id = api.trigger(DAG_ID, conf={})["dag_run_id"]
        first = api.wait_for_run(DAG_ID, run_id, timeout=180)
        assert first["state"] == "failed", api.run_report(DAG_ID, run_id)
        failed = [ti for ti in api.task_instances(DAG_ID, run_id)
                  if ti["task_id"] == TASK_ID and ti["state"] == "failed"]
        (index,) = [ti["map_index"] for ti in failed]
        # Its reason heads its log, one line; its run's note and its summary's carry the ⚠.
        log = api.task_log(DAG_ID, run_id, TASK_ID, 1, index)
        assert f"invoice {bad['Number']} NOT exported: PowerOffice Go refused the invoice" in log
        assert log.count("Traceback (most recent call last)") <= 1, log
        note = api.run(DAG_ID, run_id)["note"]
        assert note.startswith("⚠ 1 quarantined · 1 failed") and summary_note(api, run_id) == note

        page = logged_in(browser, live.airflow)
        assert "Failed" in runs_list_state(page, live.airflow.base_url, run_id)
        shoot(page, "fixed-means-green-runs-list-red")

        # Fixed at the source; Retry now on the page.
        po.insert_product(Code="LIVE-NEW", Name="Workshop", ProductType="Service", UnitOfMeasureCode="EA",
                          UnitPrice=9500.0, StandardSalesAccountId=seeded["account"])
        page.goto(f"{live.airflow.base_url}/tribe-sync/?integration=poweroffice")
        page.locator("#quarantine").wait_for()
        for toggle in page.locator("button[data-toggle]").all():  # records grouped by reason: shown
            toggle.click()
        with page.expect_response(lambda r: r.url.endswith("/retry")) as answered:
            page.locator(f"tr[data-record='{bad['ID']}']").get_by_role("button", name="Retry now").click()
        answer = answered.value.json()
        assert (answer["how"], answer["run_id"]) == ("cleared in its run", run_id), answer

        def green() -> dict[str, Any] | None:
            run = api.run(DAG_ID, run_id)
            return run if run["state"] == "success" else None

        wait_until(green, timeout=180, interval=2.0, what="the cleared run to turn green",
                   diagnostics=lambda: api.run_report(DAG_ID, run_id))
        assert "Success" in runs_list_state(page, live.airflow.base_url, run_id)
        shoot(page, "fixed-means-green-runs-list-green")
        after = {(ti["task_id"], ti["map_index"]): ti for ti in api.task_instances(DAG_ID, run_id)}
        assert after[(TASK_ID, index)]["state"] == "success" and after[(TASK_ID, index)]["try_number"] == 2
        assert not api.run(DAG_ID, run_id)["note"].startswith("⚠") and summary_note(api, run_id) is None
        refs = [f"tribe:{i['ID']}" for i in [*good, bad]]
        assert orders_by_reference(po) == Counter(refs)  # every invoice once, the fixed one by its own run
        assert [r["dag_run_id"] for r in api.runs(DAG_ID) if r["dag_run_id"] not in {run_id, *earlier}
                and r["run_type"] == "manual"] == []  # no new run
    finally:
        api.set_paused(DAG_ID, True)
        api.forget_runs(DAG_ID)
