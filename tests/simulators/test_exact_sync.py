"""The Exact simulator's Sync API (Timestamp order, ties across a page boundary, sync/Deleted) and
bulk endpoints."""
from __future__ import annotations


from sandbox.exact.seed import NL

SELECT = {"$select": "Timestamp,ID,Name"}


def _read_all(exact, token, path, params):
    rows, pages, url = [], 0, path
    while url:
        body = exact.get(url, token, params=params if url == path else None).json()["d"]
        rows += body["results"]
        pages += 1
        url = body.get("__next")
    return rows, pages


def test_sync_needs_select_and_pages_in_timestamp_order(exact, token):
    refused = exact.get("sync/CRM/Accounts", token)
    assert refused.status_code == 400 and "$select" in refused.json()["error"]["message"]["value"]
    body = exact.get("sync/CRM/Accounts", token, params={**SELECT, "$filter": "Timestamp gt 1L"}).json()["d"]
    stamps = [r["Timestamp"] for r in body["results"]]
    assert stamps == sorted(stamps) and len(stamps) == len(exact.state.store.table(NL, "crm/Accounts"))
    assert "__next" not in body  # 1,000 a page: one page here
    later = exact.get("sync/CRM/Accounts", token, params={**SELECT, "$filter": f"Timestamp gt {stamps[-1]}L"})
    assert later.json()["d"]["results"] == []


def test_a_change_comes_back_with_a_higher_timestamp(exact, token):
    body = exact.get("sync/CRM/Accounts", token, params=SELECT).json()["d"]["results"]
    cursor = max(r["Timestamp"] for r in body)
    changed = body[0]
    exact.call("PUT", f"crm/Accounts(guid'{changed['ID']}')", token, json={"Phone": "+31 20 123 4567"})
    delta = exact.get("sync/CRM/Accounts", token, params={**SELECT, "$filter": f"Timestamp gt {cursor}L"})
    assert [r["ID"] for r in delta.json()["d"]["results"]] == [changed["ID"]]


def test_rows_sharing_a_timestamp_straddle_a_page_boundary_and_server_paging_keeps_them_all(exact, token):
    rows = exact.get("sync/CRM/Accounts", token, params=SELECT).json()["d"]["results"]
    stamps = [r["Timestamp"] for r in rows]
    tie = max(set(stamps), key=stamps.count)
    assert stamps.count(tie) >= 4  # the seed's bulk edit
    exact.state.options.bulk_page_size = stamps.index(tie) + 2  # the boundary falls inside the tie
    all_rows, pages = _read_all(exact, token, "sync/CRM/Accounts", SELECT)
    assert pages >= 2 and sorted(r["ID"] for r in all_rows) == sorted(r["ID"] for r in rows)
    first = exact.get("sync/CRM/Accounts", token, params=SELECT).json()["d"]
    assert first["results"][-1]["Timestamp"] == tie
    # A client that keeps max(Timestamp) of the first page and asks 'gt' again loses the rest of the tie.
    naive = exact.get("sync/CRM/Accounts", token, params={**SELECT, "$filter": f"Timestamp gt {tie}L"})
    tied_after_page_one = [r for r in all_rows[len(first["results"]):] if r["Timestamp"] == tie]
    assert tied_after_page_one and naive.json()["d"]["results"] == []


def test_deleted_records_show_in_sync_deleted_with_their_entity_type(exact, token):
    before = exact.get("sync/Deleted", token, params={"$select": "Timestamp"}).json()["d"]["results"]
    item = next(r for r in exact.state.store.table(NL, "logistics/Items").values())
    contact = next(r for r in exact.state.store.table(NL, "crm/Contacts").values())
    assert exact.call("DELETE", f"logistics/Items(guid'{item['ID']}')", token).status_code == 204
    assert exact.call("DELETE", f"crm/Contacts(guid'{contact['ID']}')", token).status_code == 204
    after = exact.get("sync/Deleted", token, params={"$select": "Timestamp,EntityKey,EntityType",
                                                     "$filter": "EntityType eq 9"}).json()["d"]["results"]
    assert before == [] and [(r["EntityKey"], r["EntityType"]) for r in after] == [(item["ID"], 9)]
    contacts = exact.get("sync/Deleted", token, params={"$select": "EntityKey", "$filter": "EntityType eq 5"})
    assert [r["EntityKey"] for r in contacts.json()["d"]["results"]] == [contact["ID"]]


def test_contacts_and_items_have_sync_twins(exact, token):
    for path, table in (("sync/CRM/Contacts", "crm/Contacts"), ("sync/Logistics/Items", "logistics/Items")):
        rows = exact.get(path, token, params={"$select": "Timestamp,ID"}).json()["d"]["results"]
        assert len(rows) == len(exact.state.store.table(NL, table)), path


def test_bulk_pages_are_1000_rows_and_need_select(exact, token):
    for n in range(1100 - len(exact.state.store.table(NL, "crm/Accounts"))):
        exact.state.insert(NL, "crm/Accounts", {"Name": f"Bulk {n:04d}"})
    assert exact.get("bulk/CRM/Accounts", token, params={"$filter": "Blocked eq false"}).status_code == 400
    first = exact.get("bulk/CRM/Accounts", token, params={"$filter": "Name ne ''", "$select": "ID,Name"}).json()["d"]
    assert len(first["results"]) == 1000 and "$skiptoken=guid'" in first["__next"]
    second = exact.get(first["__next"], token).json()["d"]
    assert len(second["results"]) == 100 and "__next" not in second
