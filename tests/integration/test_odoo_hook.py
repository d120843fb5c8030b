"""``OdooHook`` against the Odoo simulator over HTTP: partners read and written through JSON-2
and JSON-RPC on each server version, reads paged by id, creates in batches, Odoo's errors typed,
reads retried after a 5xx while a create is not repeated, serialization failures retried."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.odoo.clients import OdooServer
from sandbox.odoo.state import ADMIN_LOGIN, DEFAULT_API_KEY
from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, AuthError


@pytest.fixture(params=[(17, "auto", "jsonrpc"), (18, "auto", "jsonrpc"), (19, "auto", "json2"),
                        (19, "jsonrpc", "jsonrpc")], ids=["17-auto", "18-auto", "19-auto", "19-jsonrpc"])
def odoo(request, monkeypatch) -> Iterator[tuple[Any, Any]]:
    version, protocol, expected = request.param
    with OdooServer(version=version) as server:
        monkeypatch.setenv("AIRFLOW_CONN_ODOO_DEFAULT", json.dumps({
            "conn_type": "odoo", "host": server.url, "login": ADMIN_LOGIN, "password": DEFAULT_API_KEY,
            "extra": {"database": server.db, "protocol": protocol, "rate_per_second": 1000, "page_size": 3,
                      "max_attempts": 4}}))
        hook = _hook()
        assert hook.protocol == expected  # JSON-2 from 19 on, unless the connection says otherwise
        yield server, hook


def _hook() -> Any:
    from functools import partial

    from tenacity import wait_none

    from tribe_operators.http.retry import build_retrying
    from tribe_operators.systems.odoo.hook import OdooHook

    hook = OdooHook()
    hook.connection_info  # noqa: B018 - parse before patching the policy
    for client in (hook.client, hook._rpc):  # the retries happen as configured; no waiting
        client.retrying = partial(build_retrying, wait=wait_none(), max_attempts=4)
    return hook


def test_partners_are_written_and_read_back_in_pages(odoo):
    server, hook = odoo
    ids = hook.create("res.partner", [{"name": f"Bakkerij {i}", "is_company": True, "ref": f"D{i}"} for i in range(7)])
    assert len(ids) == 7
    hook.write("res.partner", ids[:1], {"ref": "D-renamed"})
    pages = list(hook.search_read_all("res.partner", [["name", "=like", "Bakkerij %"]], ["name", "ref"]))
    assert [len(p) for p in pages] == [3, 3, 1]  # page_size 3, by id
    rows = {r["id"]: r for page in pages for r in page}
    assert set(rows) == set(ids) and rows[ids[0]]["ref"] == "D-renamed"
    assert ("mobile" in hook.fields("res.partner")) == (server.state.version < 19)
    ok, message = hook.test_connection()
    assert ok, message


def test_odoos_errors_arrive_typed(odoo):
    _, hook = odoo
    with pytest.raises(ApiClientError) as raised:
        hook.call("res.partner", "search_read", [["no_such_field", "=", 1]], fields=["name"])
    assert 400 <= raised.value.status < 500
    with pytest.raises(ApiClientError, match="Odoo"):
        hook.write("res.partner", [999_999], {"name": "gone"})


def test_a_wrong_key_is_refused_at_once(odoo, monkeypatch):
    server, _ = odoo
    conn = json.loads(os.environ["AIRFLOW_CONN_ODOO_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_ODOO_DEFAULT", json.dumps({**conn, "password": "wrong"}))
    with pytest.raises((AuthError, ApiClientError)):
        _hook().call("res.partner", "search_count", [])


def test_a_read_meeting_5xx_is_retried_and_a_create_is_not_repeated(odoo):
    server, hook = odoo
    hook.call("res.partner", "search_count", [])  # version and login known before the faults
    server.state.faults.update({"error_5xx": 0.5, "seed": 3})
    assert hook.call("res.partner", "search_count", []) >= 0
    assert server.state.faults.injected.get("error_5xx", 0) > 0
    server.state.faults.update({"error_5xx": 1.0})
    before = sum(hook.client.calls.values()) + sum(hook._rpc.calls.values())
    with pytest.raises(AmbiguousWriteError):
        hook.create("res.partner", [{"name": "Once AS"}])
    assert sum(hook.client.calls.values()) + sum(hook._rpc.calls.values()) == before + 1
    server.state.faults.clear()


def test_a_serialization_failure_is_retried_and_writes_once(odoo):
    """Odoo reports it once its transaction was rolled back: nothing happened, so even a write
    (not idempotent) is sent again — and lands once."""
    server, hook = odoo
    (pid,) = hook.create("res.partner", [{"name": "Retry BV"}])
    server.state.faults.update({"serialization_failure": 0.5, "paths": ["res.partner.write"], "seed": 1})
    for n in range(6):
        hook.write("res.partner", [pid], {"ref": f"R{n}"})
    failed = server.state.faults.injected.get("serialization_failure", 0)
    server.state.faults.clear()
    assert failed > 0  # some writes failed once, and each went through on its retry
    (row,) = hook.call("res.partner", "read", [pid], fields=["ref"])
    assert row["ref"] == "R5"
