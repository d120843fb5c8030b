"""Paginators named by mechanism, each with a mandatory stop condition and a loop guard.

A paginator only decides *what to ask next* — the next page's params, or the URL the server
gave for it — and reads a page's rows; the client sends the requests. Pages are yielded
lazily so an import never holds more than one page in memory.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from tribe_operators.exceptions import FatalError

if TYPE_CHECKING:
    import requests

__all__ = ["NextLinkPaginator", "PageNumberPaginator", "Paginator", "PaginationLoopError", "SkipTopPaginator",
           "odata_next_link", "odata_rows"]


class PaginationLoopError(FatalError):
    """The server returned the same page twice, or more pages than the guard allows."""


class Paginator(ABC):
    """Turns (request params, last response) into the next request params, or None to stop.

    Args:
        page_size: Rows asked per page; a shorter page ends the walk (None: the server decides).
        max_pages: Hard stop so a misbehaving server cannot loop us forever.
    """

    def __init__(self, page_size: int | None, *, max_pages: int = 100_000) -> None:
        if (page_size is not None and page_size <= 0) or max_pages <= 0:
            raise ValueError("a paginator needs a positive page_size and max_pages (its stop condition)")
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages = 0
        self._seen: set[str] = set()

    @abstractmethod
    def first(self, params: dict[str, Any]) -> dict[str, Any]:
        """Params of the first page."""

    @abstractmethod
    def next(self, params: dict[str, Any], response: requests.Response,
             rows: list[Any]) -> dict[str, Any] | str | None:
        """Params of the next page, the URL to GET for it as is, or None when this was the last."""

    def rows(self, response: requests.Response) -> list[Any]:
        """A page's rows: its JSON list (none in a 204 or an empty body)."""
        return response.json() if response.status_code != 204 and response.content else []

    def guard(self, rows: list[Any]) -> None:
        """Fail loudly on a repeated page or too many pages."""
        self._pages += 1
        if self._pages > self.max_pages:
            raise PaginationLoopError(f"more than {self.max_pages} pages; refusing to continue")
        if rows:
            fingerprint = json.dumps([rows[0], rows[-1], len(rows)], sort_keys=True, default=str)
            if fingerprint in self._seen:
                raise PaginationLoopError("the server returned the same page twice")
            self._seen.add(fingerprint)


class SkipTopPaginator(Paginator):
    """OData ``$top``/``$skip`` (Tribe CRM: at most 100 rows per page)."""

    def first(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "$top": self.page_size, "$skip": 0}

    def next(self, params: dict[str, Any], response: requests.Response, rows: list[Any]) -> dict[str, Any] | None:
        if len(rows) < self.page_size:
            return None
        return {**params, "$skip": int(params["$skip"]) + len(rows)}


class PageNumberPaginator(Paginator):
    """``PageNumber``/``PageSize`` (PowerOffice Go v2), 1-based.

    Stops on 204, on a short page, or when ``X-Pagination`` says there is no next page.
    """

    def first(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**params, "PageNumber": 1, "PageSize": self.page_size}

    def next(self, params: dict[str, Any], response: requests.Response, rows: list[Any]) -> dict[str, Any] | None:
        if response.status_code == 204 or len(rows) < self.page_size:
            return None
        header = response.headers.get("X-Pagination")
        if header:
            try:
                if not json.loads(header).get("nextPageLink"):
                    return None
            except (ValueError, AttributeError):
                pass  # an unreadable header is no reason to stop early
        return {**params, "PageNumber": int(params["PageNumber"]) + 1}


def _body(response: requests.Response) -> Any:
    return response.json() if response.status_code != 204 and response.content else None


def odata_rows(response: requests.Response) -> list[Any]:
    """An OData page's rows: v2's ``{"d": {"results": [...]}}``, v1's ``{"d": [...]}``, v4's
    ``{"value": [...]}``; ``{"d": {...}}`` without ``results`` is one entity, a page of one."""
    body = _body(response)
    if body is None:
        return []
    inner = body.get("d", body.get("value")) if isinstance(body, dict) else None
    if isinstance(inner, dict):
        return list(inner["results"]) if "results" in inner else [inner]
    if isinstance(inner, list):
        return inner
    raise FatalError(f"GET {response.url}: not an OData page (no 'd' or 'value' in the body)")


def odata_next_link(response: requests.Response) -> str | None:
    """The next page's URL the server gave: v2's ``d.__next``, v4's ``@odata.nextLink``."""
    body = _body(response)
    if not isinstance(body, dict):
        return None
    inner = body.get("d")
    link = inner.get("__next") if isinstance(inner, dict) else body.get("@odata.nextLink", body.get("odata.nextLink"))
    return str(link) if link else None


class NextLinkPaginator(Paginator):
    """Server-driven paging (OData's ``__next``, Exact Online: 60 rows a page, 1,000 on bulk and
    sync endpoints): the first page from params, every next one the URL the server gave, sent
    as is; the walk stops when it gives none. No page size is asked: OData v2 reads ``$top`` as
    the whole result's size, not a page's.

    Loop guard: a next link the walk already followed, or one whose ``$skiptoken`` it already
    passed, raises ``PaginationLoopError``; a link to another host raises too (it would carry
    our token there).

    Args:
        max_pages: Hard stop.
        link: Reads the next page's URL off a response (``odata_next_link``).
        rows: Reads a page's rows (``odata_rows``).
    """

    def __init__(self, *, max_pages: int = 100_000, link: Any = odata_next_link, rows: Any = odata_rows) -> None:
        super().__init__(None, max_pages=max_pages)
        self._link = link
        self._rows = rows
        self._links: set[str] = set()
        self._tokens: set[str] = set()

    def first(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(params)

    def rows(self, response: requests.Response) -> list[Any]:
        return self._rows(response)

    def next(self, params: dict[str, Any] | str, response: requests.Response, rows: list[Any]) -> str | None:
        self._links.add(unquote(response.url))  # a next link back to this very page is a loop too
        link = self._link(response)
        if not link:
            return None
        url = urljoin(response.url, link)
        here, there = urlsplit(response.url), urlsplit(url)
        if (here.scheme, here.netloc) != (there.scheme, there.netloc):
            raise FatalError(f"GET {response.url}: the next page link points to another host ({there.netloc}); "
                             "refusing to send our credentials there")
        if unquote(url) in self._links:
            raise PaginationLoopError(f"the server sent a next link already followed ({url}); refusing to loop")
        for token in parse_qs(there.query).get("$skiptoken", []):
            if token in self._tokens:
                raise PaginationLoopError(f"the server sent $skiptoken={token} twice; refusing to loop")
            self._tokens.add(token)
        self._links.add(unquote(url))
        return url
