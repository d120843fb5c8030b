"""Paginators named by mechanism, each with a mandatory stop condition and a loop guard.

A paginator only decides *what to ask next*; the client sends the requests. Pages are
yielded lazily so an import never holds more than one page in memory.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from tribe_operators.exceptions import FatalError

if TYPE_CHECKING:
    import requests

__all__ = ["PageNumberPaginator", "Paginator", "PaginationLoopError", "SkipTopPaginator"]


class PaginationLoopError(FatalError):
    """The server returned the same page twice, or more pages than the guard allows."""


class Paginator(ABC):
    """Turns (request params, last response) into the next request params, or None to stop.

    Args:
        page_size: Rows asked per page; a shorter page ends the walk.
        max_pages: Hard stop so a misbehaving server cannot loop us forever.
    """

    def __init__(self, page_size: int, *, max_pages: int = 100_000) -> None:
        if page_size <= 0 or max_pages <= 0:
            raise ValueError("a paginator needs a positive page_size and max_pages (its stop condition)")
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages = 0
        self._seen: set[str] = set()

    @abstractmethod
    def first(self, params: dict[str, Any]) -> dict[str, Any]:
        """Params of the first page."""

    @abstractmethod
    def next(self, params: dict[str, Any], response: requests.Response, rows: list[Any]) -> dict[str, Any] | None:
        """Params of the next page, or None when this was the last."""

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
