"""Paginators with hand-built responses (no server): stop conditions and loop guards."""
from __future__ import annotations

import json

import pytest
import requests

from tribe_operators.http.pagination import PageNumberPaginator, PaginationLoopError, SkipTopPaginator


def response(status: int = 200, rows: list | None = None, headers: dict | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = b"" if status == 204 else json.dumps(rows or []).encode()
    r.headers.update(headers or {})
    return r


def test_paginator_refuses_to_exist_without_a_stop_condition():
    with pytest.raises(ValueError):
        SkipTopPaginator(0)
    with pytest.raises(ValueError):
        PageNumberPaginator(10, max_pages=0)


def test_skip_top_walks_until_a_short_page():
    p = SkipTopPaginator(2)
    q = p.first({"$filter": "x"})
    assert q == {"$filter": "x", "$top": 2, "$skip": 0}
    q = p.next(q, response(), [1, 2])
    assert q["$skip"] == 2
    assert p.next(q, response(), [3]) is None


@pytest.mark.parametrize("resp,rows,expected_next", [
    (response(204), [], None),
    (response(200, [{"Id": 1}]), [{"Id": 1}], None),  # short page
    (response(200, [{"Id": 1}, {"Id": 2}], {"X-Pagination": json.dumps({"nextPageLink": None})}), [1, 2], None),
    (response(200, [{"Id": 1}, {"Id": 2}], {"X-Pagination": json.dumps({"nextPageLink": "u"})}), [1, 2], 2),
    (response(200, [{"Id": 1}, {"Id": 2}], {"X-Pagination": "not json"}), [1, 2], 2),
])
def test_page_number_stop_conditions(resp, rows, expected_next):
    p = PageNumberPaginator(2)
    q = p.first({})
    nxt = p.next(q, resp, rows)
    assert (nxt["PageNumber"] if nxt else None) == expected_next


def test_repeated_page_is_detected():
    p = PageNumberPaginator(2)
    p.guard([{"Id": 1}, {"Id": 2}])
    with pytest.raises(PaginationLoopError, match="same page twice"):
        p.guard([{"Id": 1}, {"Id": 2}])


def test_max_pages_guard():
    p = SkipTopPaginator(1, max_pages=2)
    p.guard([1])
    p.guard([2])
    with pytest.raises(PaginationLoopError, match="more than 2 pages"):
        p.guard([3])
