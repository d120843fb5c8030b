"""``OdooHook`` against what a real Odoo server does with deleted records and bad input: ``read``
leaves deleted ids out (no MissingError), a write to a deleted record is a client error, and
JSON-2's 500 for a Python error is read from its body (a client error, not retried)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from sandbox.odoo.clients import OdooServer
from sandbox.odoo.state import ADMIN_LOGIN, DEFAULT_API_KEY
from tribe_operators.exceptions import ApiClientError, NotFoundError, ServerError


@pytest.fixture(params=[(17, "auto"), (18, "auto"), (19, "auto"), (19, "jsonrpc")],
                ids=["17-jsonrpc", "18-jsonrpc", "19-json2", "19-jsonrpc"])
def odoo(request, monkeypatch) -> Iterator[tuple[OdooServer, Any]]:
    from tenacity import wait_none

    from tribe_operators.http.retry import build_retrying
    from tribe_operators.systems.odoo.hook import OdooHook

    version, protocol = request.param
    with OdooServer(version=version) as server:
        monkeypatch.setenv("AIRFLOW_CONN_ODOO_DEFAULT", json.dumps({
            "conn_type": "odoo", "host": server.url, "login": ADMIN_LOGIN, "password": DEFAULT_API_KEY,
            "extra": {"database": server.db, "protocol": protocol, "rate_per_second": 1000, "max_attempts": 3}}))
        hook = OdooHook()
        hook.connection_info  # noqa: B018 - parse before patching the policy
        for client in (hook.client, hook._rpc):  # retries as configured, without waiting
            client.retrying = partial(build_retrying, wait=wait_none(), max_attempts=3)
        yield server, hook


def test_read_by_id_leaves_deleted_records_out(odoo):
    server, hook = odoo
    kept, gone = hook.create("res.partner", [{"name": "Blijft BV"}, {"name": "Weg BV"}])
    server.execute("res.partner", "unlink", [gone])
    rows = hook.read("res.partner", [gone, kept, kept], ["name"])
    assert rows == {kept: {"id": kept, "name": "Blijft BV"}}  # fewer rows than asked: gone was deleted
    assert hook.read("res.partner", [gone], ["name"]) == {}
    assert hook.read("res.partner", [], ["name"]) == {}
    assert hook.call("res.partner", "read", [gone], ["name"]) == []  # what the server answered


def test_a_write_to_a_deleted_record_is_a_client_error(odoo):
    server, hook = odoo
    [gone] = hook.create("res.partner", [{"name": "Kortstondig"}])
    server.execute("res.partner", "unlink", [gone])
    server.state.reset_counters()
    with pytest.raises(ApiClientError, match="Record does not exist or has been deleted") as caught:
        hook.write("res.partner", [gone], {"name": "x"})
    if hook.protocol == "json2":  # JSON-2 carries Odoo's own status for it
        assert isinstance(caught.value, NotFoundError)
    assert server.state.counters()["calls"]["res.partner.write"] == 1  # not retried


def test_a_python_error_on_the_server_is_a_client_error_not_retried(odoo):
    server, hook = odoo
    server.state.reset_counters()
    with pytest.raises(ApiClientError, match="Invalid field 'no_such_field'") as caught:
        hook.call("res.partner", "search_read", [], fields=["no_such_field"])
    assert not isinstance(caught.value, ServerError)
    # JSON-2 answers it 500 (not a UserError), yet the body says it is bad input: sent once
    assert server.state.counters()["calls"]["res.partner.search_read"] == 1
