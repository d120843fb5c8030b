"""The **Test** button of a saved connection, pressed in a real browser on the live Airflow, for each
connection type, against the simulators.

In Airflow 3.3.2 Test is a button of the connection's row in Admin → Connections (next to Edit
and Delete): it tests the *saved* connection, its secrets as the list shows them (``***``, put
back by the API server). The Add and Edit dialogs have no Test button, so a connection is
tested as saved: here it is saved with a wrong secret first (as the Add dialog saves it: no port,
that field is hidden), Test names what is wrong; then the right secret is typed into the Edit
dialog and saved, and Test succeeds. Before the fix every press answered "Test Connection Failed /
Bad Request" (400: the UI sends ``port: 0`` for a connection without one).
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.live.browser import browser, logged_in, shoot  # noqa: F401 - the fixture

pytestmark = [pytest.mark.live, pytest.mark.postgres]

ENV = {"tribe_crm": "AIRFLOW_CONN_TRIBE_DEFAULT", "poweroffice_go": "AIRFLOW_CONN_POWEROFFICE_DEFAULT",
       "odoo": "AIRFLOW_CONN_ODOO_DEFAULT"}
REFUSED = {"tribe_crm": "Tribe CRM refused the Client ID or Client secret: token request refused (401)",
           "poweroffice_go": "PowerOffice Go refused the Application key, Client key or Subscription key: "
                             "token request refused (400)",
           "odoo": "Odoo refused 'admin' on database"}
SUCCESS = {"tribe_crm": "token obtained for client id 'tribe-sync'",
           "poweroffice_go": "token obtained for application key 'po-app-key'",
           "odoo": "logged in, "}


def save_connection(api: Any, conn_id: str, conn: dict[str, Any], password: str) -> None:
    """Saved as the Add dialog saves it: port and schema left out (hidden), extras as JSON text."""
    api.request("POST", "connections", json={
        "connection_id": conn_id, "conn_type": conn["conn_type"], "host": conn["host"], "login": conn["login"],
        "password": password, "extra": json.dumps(conn.get("extra") or {})})


def press_test(page: Any, conn_id: str) -> dict[str, Any]:
    """Press the row's Test button; the request the UI sent and the API server's answer."""
    button = page.get_by_role("row").filter(has_text=conn_id).get_by_role("button", name="Test Connection")
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test")) as answer:
        button.click()
    response = answer.value
    return {"sent": response.request.post_data_json, "status": response.status, "body": response.json()}


def toast(page: Any, title: str, message: str) -> None:
    """The toast the UI shows for the answer: its title and the hook's message."""
    page.get_by_text(title, exact=True).first.wait_for()
    page.get_by_text(message).first.wait_for()


@pytest.mark.parametrize("conn_type", list(ENV))
def test_test_button_of_a_saved_connection(live, browser, conn_type):  # noqa: F811
    api = live.airflow.api
    conn = json.loads(live.sims.connection_env()[ENV[conn_type]])
    conn_id = f"test_button_{conn_type}"
    save_connection(api, conn_id, conn, "not-the-secret")
    try:
        page = logged_in(browser, live.airflow)
        page.goto(f"{live.airflow.base_url}/connections")
        page.get_by_role("row").filter(has_text=conn_id).wait_for()

        # A wrong secret: the test runs (not a 400) and fails, naming the fields to check.
        wrong = press_test(page, conn_id)
        assert wrong["sent"]["port"] == 0 and wrong["sent"]["password"] == "***", wrong["sent"]  # the UI's body
        assert wrong["status"] == 200, wrong  # was 400 "The host or port to test differs from the stored connection"
        assert wrong["body"]["status"] is False and wrong["body"]["message"].startswith(REFUSED[conn_type]), wrong
        toast(page, "Test Connection Failed", REFUSED[conn_type])
        shoot(page, f"connection-test-{conn_type}-wrong-secret", full_page=False)

        # The right secret typed into the Edit dialog and saved: Test succeeds.
        page.get_by_role("row").filter(has_text=conn_id).get_by_role("button", name="Edit Connection").click()
        dialog = page.get_by_role("dialog")
        assert dialog.get_by_role("button", name="Test Connection").count() == 0  # none in the dialog (3.3.2)
        shown(dialog, "Standard Fields", dialog.locator("input[name='password']")).fill(conn["password"])
        with page.expect_response(lambda r: f"/api/v2/connections/{conn_id}" in r.url
                                  and r.request.method == "PATCH") as saved:
            dialog.get_by_role("button", name="Save").click()
        assert saved.value.status == 200, saved.value.text()
        dialog.wait_for(state="detached")
        right = press_test(page, conn_id)
        assert right["status"] == 200 and right["body"]["status"] is True, right
        assert SUCCESS[conn_type] in right["body"]["message"], right
        toast(page, "Test Connection Successful", SUCCESS[conn_type])
        shoot(page, f"connection-test-{conn_type}-ok", full_page=False)
    finally:
        api.request("DELETE", f"connections/{conn_id}")


def test_exact_online_test_says_to_authorize_first(live, browser):  # noqa: F811
    """Exact Online has no client-credentials grant: before a person's one-time consent Test says
    what to run, without calling Exact (the signed-in case: tests/integration/test_connection_test_button.py)."""
    api = live.airflow.api
    conn = {"conn_type": "exact_online", "host": "https://start.exactonline.nl", "login": "exact-client",
            "extra": {"division": 1}}
    save_connection(api, "test_button_exact_online", conn, "exact-secret")
    try:
        page = logged_in(browser, live.airflow)
        page.goto(f"{live.airflow.base_url}/connections")
        page.get_by_role("row").filter(has_text="test_button_exact_online").wait_for()
        answer = press_test(page, "test_button_exact_online")
        assert answer["status"] == 200, answer
        assert answer["body"]["status"] is False, answer
        assert "authorize the app first (tribe-sync oauth authorize)" in answer["body"]["message"], answer
        toast(page, "Test Connection Failed", "authorize the app first")
        shoot(page, "connection-test-exact_online", full_page=False)
    finally:
        api.request("DELETE", "connections/test_button_exact_online")


def shown(dialog: Any, section: str, field: Any) -> Any:
    """``field`` once its collapsible ``section`` of the form is open. The section's heading
    toggles it, and whether it starts open varies (a click on an open one closed it: CI saw the
    password field stay hidden), so click only while the field is not visible."""
    for _ in range(3):
        if field.is_visible():
            return field
        dialog.get_by_text(section, exact=True).click()
        try:
            field.wait_for(state="visible", timeout=5_000)
            return field
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: toggled shut again, try once more
            continue
    raise AssertionError(f"the {section} section of the form did not open")
