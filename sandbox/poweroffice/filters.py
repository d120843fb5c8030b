"""Query-string filters of the v2 list endpoints (named parameters, no OData).

Every filter treats null/whitespace as "not used". Number filters accept ranges
(``"10000-11000, 12000, 13000-"``); id lists accept commas only; timestamp filters are
strictly greater-than.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from starlette.requests import Request

from sandbox.poweroffice.problems import ApiError
from sandbox.poweroffice.timefmt import parse_date, parse_ts

__all__ = ["Query"]

_CAST = "Unable to cast object(s)"
Row = dict[str, Any]


def _ranges(name: str, text: str) -> Callable[[Any], bool]:
    parts: list[tuple[int, int | None]] = []
    for raw in text.split(","):
        piece = raw.strip()
        if not piece:
            continue
        try:
            if piece.endswith("-"):
                parts.append((int(piece[:-1]), None))
            elif "-" in piece[1:]:
                low, high = piece.split("-", 1) if not piece.startswith("-") else (piece, piece)
                parts.append((int(low), int(high)))
            else:
                parts.append((int(piece), int(piece)))
        except ValueError:
            raise ApiError(400, _CAST, f"{name} is not formatted correctly: '{text}'. Use e.g. "
                                        f"\"10000-11000, 12000, 13000-\".") from None

    def match(value: Any) -> bool:
        if value is None:
            return False
        number = int(value)
        return any(low <= number and (high is None or number <= high) for low, high in parts)
    return match


class Query:
    """Case-insensitive view of a request's query string with typed filter helpers.

    ASP.NET binds query keys case-insensitively, so ``pagenumber`` works like ``PageNumber``.
    """

    def __init__(self, request: Request) -> None:
        self._items: dict[str, str] = {}
        for key, value in request.query_params.multi_items():
            self._items.setdefault(key.lower(), value)

    def raw(self, name: str) -> str | None:
        """The stripped value, or None when absent or whitespace."""
        value = self._items.get(name.lower())
        return value.strip() if value is not None and value.strip() else None

    def require(self, name: str) -> str:
        """A mandatory parameter (400 when missing)."""
        value = self.raw(name)
        if value is None:
            raise ApiError(400, "Missing parameter", f"The query parameter '{name}' is required.")
        return value

    def ts(self, name: str) -> datetime | None:
        """A date-time filter value."""
        value = self.raw(name)
        if value is None:
            return None
        try:
            return parse_ts(value)
        except ValueError:
            raise ApiError(400, _CAST, f"{name} '{value}' is not a valid date-time.") from None

    def day(self, name: str, required: bool = False) -> date | None:
        """A date (``yyyy-MM-dd``) parameter."""
        value = self.require(name) if required else self.raw(name)
        if value is None:
            return None
        try:
            return parse_date(value)
        except ValueError:
            raise ApiError(400, _CAST, f"{name} '{value}' is not a valid date.") from None

    def flag(self, name: str) -> bool | None:
        """A boolean parameter."""
        value = self.raw(name)
        if value is None:
            return None
        if value.lower() not in {"true", "false"}:
            raise ApiError(400, _CAST, f"{name} '{value}' is not a valid boolean.")
        return value.lower() == "true"

    def ids(self, name: str) -> set[int] | None:
        """A comma list of positive ids; ranges and negatives are refused as the spec says."""
        value = self.raw(name)
        if value is None:
            return None
        try:
            out = {int(p) for p in value.split(",") if p.strip()}
        except ValueError:
            out = {-1}
        if any(v < 0 for v in out) or "-" in value:
            raise ApiError(400, _CAST, f"{name} contains negative numbers and/or range of numbers. '-' is not "
                                       "allowed, only comma ',' separated single positive numbers are allowed.")
        return out

    def uuids(self, name: str) -> set[str] | None:
        """A comma list of uuids (normalised to lowercase canonical form)."""
        value = self.raw(name)
        if value is None:
            return None
        try:
            return {str(uuid.UUID(p.strip())) for p in value.split(",") if p.strip()}
        except ValueError:
            raise ApiError(400, _CAST, f"{name} contains an invalid uuid: '{value}'.") from None

    def texts(self, name: str) -> set[str] | None:
        """A comma list of strings (codes, names), compared case-insensitively."""
        value = self.raw(name)
        if value is None:
            return None
        return {p.strip().lower() for p in value.split(",") if p.strip()}

    def dimension_codes(self, name: str) -> None:
        """``departmentCodes``/``projectCodes``: nothing here carries one, so only ``-1`` ("none") matches."""
        unknown = sorted(c for c in self.texts(name) or () if c != "-1")
        if unknown:
            raise ApiError(404, "Object(s) not found",
                           f"Could not find {name[:-5]}(s) with code = {', '.join(unknown)}.")

    # --- applying filters to rows -------------------------------------------------------------
    def number_filter(self, rows: Iterable[Row], name: str, field: str) -> list[Row]:
        """Keep rows whose ``field`` matches a range list such as ``"10000-11000, 13000-"``."""
        value = self.raw(name)
        if value is None:
            return list(rows)
        match = _ranges(name, value)
        return [r for r in rows if match(r.get(field))]

    def after(self, rows: Iterable[Row], name: str, field: str) -> list[Row]:
        """Keep rows whose timestamp ``field`` is strictly greater than the parameter."""
        since = self.ts(name)
        if since is None:
            return list(rows)
        return [r for r in rows if r.get(field) is not None and r[field] > since]

    def text_filter(self, rows: Iterable[Row], name: str, field: str) -> list[Row]:
        """Keep rows whose ``field`` is one of a comma list (case-insensitive)."""
        wanted = self.texts(name)
        if wanted is None:
            return list(rows)
        return [r for r in rows if r.get(field) is not None and str(r[field]).lower() in wanted]

    def equals(self, rows: Iterable[Row], name: str, field: str) -> list[Row]:
        """Keep rows whose ``field`` equals the parameter exactly."""
        value = self.raw(name)
        if value is None:
            return list(rows)
        return [r for r in rows if r.get(field) == value]

    def flag_filter(self, rows: Iterable[Row], name: str, field: str) -> list[Row]:
        """Keep rows whose boolean ``field`` equals the parameter."""
        value = self.flag(name)
        if value is None:
            return list(rows)
        return [r for r in rows if bool(r.get(field)) == value]
