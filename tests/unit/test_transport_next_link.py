"""Paging over a server's next links (OData v2 ``d.__next``, absolute), against a real local
server: every row once, each next link sent as is, and a server that loops is stopped."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tenacity import wait_none

from sandbox.common import ServerThread
from tribe_operators.exceptions import FatalError
from tribe_operators.http.auth import KeyAuth
from tribe_operators.http.client import ApiClient
from tribe_operators.http.pagination import NextLinkPaginator, PaginationLoopError, odata_rows
from tribe_operators.http.retry import build_retrying

ROWS = [{"ID": f"00000000-0000-0000-0000-{n:012d}", "Code": str(n)} for n in range(1, 151)]
PAGE = 60
SEEN: list[dict[str, str]] = []  # the query of every request the server received
LOOPING: Counter[str] = Counter()


def _app() -> FastAPI:
    app = FastAPI()
    base = "/api/v1/123"

    @app.get(base + "/crm/Accounts")
    async def accounts(request: Request) -> JSONResponse:
        query = dict(request.query_params)
        SEEN.append(query)
        after = query.get("$skiptoken", "").removeprefix("guid'").removesuffix("'")
        rest = [r for r in ROWS if r["ID"] > after] if after else ROWS
        page = rest[:PAGE]
        body: dict[str, Any] = {"results": page}
        if len(rest) > PAGE:  # absolute, with the filter carried along, as Exact writes it
            body["__next"] = (f"{request.base_url}api/v1/123/crm/Accounts?$filter={query['$filter']}"
                              f"&$skiptoken=guid'{page[-1]['ID']}'")
        return JSONResponse({"d": body})

    @app.get(base + "/v1/Items")
    async def items() -> JSONResponse:  # OData v1's bare list: one page, no next link
        return JSONResponse({"d": [{"Code": "A"}, {"Code": "B"}]})

    @app.get(base + "/loop/{kind}")
    async def loop(kind: str, request: Request) -> JSONResponse:
        LOOPING[kind] += 1
        n = LOOPING[kind]
        rows = [{"ID": n}]  # a new page every time: only the link gives the loop away
        if kind == "same-link":
            link = f"{request.base_url}api/v1/123/loop/same-link?$skiptoken=guid'x'"
        elif kind == "same-token":  # the same token in a link written differently each time
            link = f"{request.base_url}api/v1/123/loop/same-token?$skiptoken=guid'x'&n={n}"
        else:
            link = f"http://elsewhere.invalid/api/v1/123/loop/{kind}?$skiptoken=guid'{n}'"
        return JSONResponse({"d": {"results": rows, "__next": link}})

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with ServerThread(_app()) as srv:
        yield srv


def _client(server: Any) -> ApiClient:
    SEEN.clear()
    LOOPING.clear()
    return ApiClient(f"{server.url}/api/v1/123", KeyAuth("k"),
                     retrying=lambda: build_retrying(wait=wait_none(), max_attempts=2))


def test_every_row_once_following_absolute_next_links(server):
    client = _client(server)
    pages = list(client.pages("crm/Accounts", NextLinkPaginator(), params={"$filter": "Blocked eq false"}))
    assert [len(p) for p in pages] == [60, 60, 30]
    assert [r["Code"] for p in pages for r in p] == [r["Code"] for r in ROWS]
    # The first from our params, the next two the server's links as is (its filter, its token).
    assert [q.get("$skiptoken") for q in SEEN] == [None, f"guid'{ROWS[59]['ID']}'", f"guid'{ROWS[119]['ID']}'"]
    assert all(q["$filter"] == "Blocked eq false" for q in SEEN)
    assert "$top" not in SEEN[0]  # OData v2 reads $top as the whole result's size, not a page's
    # An absolute next link counts as its endpoint (host, division and query stripped).
    assert client.calls == Counter({"GET crm/Accounts": 3})


def test_a_bare_list_envelope_is_one_page(server):
    client = _client(server)
    assert list(client.pages("v1/Items", NextLinkPaginator())) == [[{"Code": "A"}, {"Code": "B"}]]


@pytest.mark.parametrize("kind,message", [("same-link", "next link already followed"),
                                          ("same-token", r"\$skiptoken=guid'x' twice")])
def test_a_server_that_loops_is_stopped_at_once(server, kind, message):
    client = _client(server)
    walk = client.pages(f"loop/{kind}", NextLinkPaginator(max_pages=50))
    with pytest.raises(PaginationLoopError, match=message):
        list(walk)
    assert LOOPING[kind] == 2  # the first repeat, not the page guard's 50


def test_a_next_link_to_another_host_is_refused(server):
    client = _client(server)
    with pytest.raises(FatalError, match="another host"):
        list(client.pages("loop/elsewhere", NextLinkPaginator()))
    assert LOOPING["elsewhere"] == 1


def test_odata_rows_reads_each_envelope():
    import json

    import requests

    def response(body: Any) -> requests.Response:
        r = requests.Response()
        r.status_code, r._content = 200, json.dumps(body).encode()
        return r

    assert odata_rows(response({"d": {"results": [1, 2], "__next": "x"}})) == [1, 2]
    assert odata_rows(response({"d": [3]})) == [3]
    assert odata_rows(response({"value": [4]})) == [4]
    assert odata_rows(response({"d": {"ID": 5}})) == [{"ID": 5}]  # one entity: a page of one
    with pytest.raises(FatalError, match="not an OData page"):
        odata_rows(response({"error": "x"}))
