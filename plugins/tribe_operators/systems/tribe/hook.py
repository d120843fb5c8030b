"""``TribeCrmHook``: Tribe CRM's OData v4 API as plain dicts.

Connection: host = API root (``https://api.tribecrm.nl``), login = client id,
password = client secret. Extras: ``token_url``, ``scope``, ``rate_limit`` / ``rate_window_s``
(1000 per 60 s),
``page_size`` (≤ 100), ``timeout``, ``max_attempts``.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from functools import cached_property, partial
from typing import Any

import requests

from tribe_operators.exceptions import AuthError
from tribe_operators.hooks.base import VendorHook
from tribe_operators.http.auth import ClientCredentialsAuth
from tribe_operators.http.budget import store_url
from tribe_operators.http.client import ApiClient
from tribe_operators.http.pacing import shared_limiter
from tribe_operators.http.pagination import SkipTopPaginator
from tribe_operators.http.retry import build_retrying
from tribe_operators.provider import field_label
from tribe_operators.store.tokens import shared_token_store

__all__ = ["TribeCrmHook", "odata_literal"]

MAX_PAGE = 100
FIND_CHUNK = 40  # values per `or` filter: keeps the URL well under 2 KB (IIS's default query limit)


def odata_literal(value: Any, *, guid: bool = False) -> str:
    """Render a Python value as an OData literal (strings quoted, quotes doubled; GUIDs bare)."""
    if guid:
        return str(uuid.UUID(str(value)))  # validates, and Edm.Guid literals are unquoted
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _odata_error(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"])
    return str(body)[:500]


class TribeCrmHook(VendorHook):
    """Read and write Tribe CRM entity sets."""

    conn_name_attr = "tribe_conn_id"
    default_conn_name = "tribe_default"
    conn_type = "tribe_crm"
    hook_name = "Tribe CRM"

    def __init__(self, tribe_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(tribe_conn_id, **kwargs)

    def _build_client(self, info: dict[str, Any]) -> ApiClient:
        extra = info["extra"]
        timeout = float(extra["timeout"])
        limiter = shared_limiter(f"tribe:{info['base']}:{info['login']}", float(extra["rate_limit"]),
                                 float(extra["rate_window_s"]), store=store_url(extra))
        auth = ClientCredentialsAuth(
            extra.get("token_url") or f"{info['base']}/oauth2/token",
            info["login"], info["password"], style="body", scope=extra.get("scope", "read write"),
            session=requests.Session(), timeout=timeout, limiter=limiter,
            store=partial(shared_token_store, self.conn_id),  # one token for every task process
        )
        return ApiClient(
            f"{info['base']}/v1/odata", auth, limiter=limiter,
            error_message=_odata_error, timeout=timeout,
            retrying=partial(build_retrying, max_attempts=int(extra["max_attempts"])),
        )

    def test_connection(self) -> tuple[bool, str]:
        """The Test button: a token for the client id and secret, a refusal named by the form's labels."""
        try:
            self.client.auth.token()
        except AuthError as exc:
            labels = " or ".join(field_label(self.conn_type, name) for name in ("login", "password"))
            return False, f"{self.hook_name} refused the {labels}: {exc}"
        except Exception as exc:  # noqa: BLE001 - the UI wants a message, not a traceback
            return False, str(exc)
        return True, f"token obtained for client id {self.connection_info['login']!r}"

    @cached_property
    def page_size(self) -> int:
        return min(MAX_PAGE, int(self.connection_info["extra"]["page_size"]))

    # -- reads ---------------------------------------------------------------------------
    def iter_pages(self, entity_set: str, *, filter: str | None = None, select: Iterable[str] | None = None,
                   expand: str | None = None, orderby: str = "ID") -> Iterator[list[dict[str, Any]]]:
        """Yield pages of records; ``orderby`` must be stable for ``$skip`` to be safe."""
        params: dict[str, Any] = {"$orderby": orderby}
        if filter:
            params["$filter"] = filter
        if select:
            params["$select"] = ",".join(select)
        if expand:
            params["$expand"] = expand
        yield from self.client.pages(entity_set, SkipTopPaginator(self.page_size), params,
                                     extract=lambda r: r.json().get("value", []))

    def iter_records(self, entity_set: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages(entity_set, **kwargs):
            yield from page

    def find_by(self, entity_set: str, field: str, values: Iterable[Any], *, select: Iterable[str] | None = None,
                expand: str | None = None, also: str | None = None, chunk: int = FIND_CHUNK) -> list[dict[str, Any]]:
        """Records whose ``field`` equals any of ``values`` (``or`` chains: Tribe has no ``in``)
        and that meet ``also`` (more ``$filter``), if given."""
        found: list[dict[str, Any]] = []
        distinct = list(dict.fromkeys(v for v in values if v not in (None, "")))
        for start in range(0, len(distinct), chunk):
            part = distinct[start:start + chunk]
            is_guid = field == "ID" or field.endswith("/ID")
            expr = " or ".join(f"{field} eq {odata_literal(v, guid=is_guid)}" for v in part)
            expr = f"({expr}) and {also}" if also else expr
            found.extend(self.iter_records(entity_set, filter=expr, select=select, expand=expand))
        return found

    def find_containing(self, entity_set: str, field: str, values: Iterable[str], *, expand: str | None = None,
                        chunk: int = FIND_CHUNK) -> list[dict[str, Any]]:
        """Records whose text ``field`` contains any of ``values``, case-insensitively (Tribe's
        ``contains``): the candidates for a match on a value typed with spaces or zeros around it."""
        found: list[dict[str, Any]] = []
        distinct = list(dict.fromkeys(v for v in values if v not in (None, "")))
        for start in range(0, len(distinct), chunk):
            expr = " or ".join(f"contains({field},{odata_literal(str(v))})" for v in distinct[start:start + chunk])
            found.extend(self.iter_records(entity_set, filter=expr, expand=expand))
        return found

    def find_any_of(self, entity_set: str, groups: list[dict[str, str]], *, expand: str | None = None,
                    chunk: int = FIND_CHUNK) -> list[dict[str, Any]]:
        """Records matching any group of ``{field path: text it contains}`` (all of a group's
        fields, case-insensitively): candidates for composite keys, as many per call as the
        URL allows. A group with no field would match everything, so it is left out."""
        found: list[dict[str, Any]] = []
        distinct = list(dict.fromkeys(tuple(sorted(g.items())) for g in groups if g))
        per_call = max(1, chunk // max((len(g) for g in distinct), default=1))
        for start in range(0, len(distinct), per_call):
            expr = " or ".join("(" + " and ".join(f"contains({f},{odata_literal(str(v))})" for f, v in group) + ")"
                               for group in distinct[start:start + per_call])
            found.extend(self.iter_records(entity_set, filter=expr, expand=expand))
        return found

    def count(self, entity_set: str) -> int:
        """How many records a set holds (one call: ``$count=true&$top=0``)."""
        response = self.client.request("GET", entity_set, params={"$count": "true", "$top": "0"})
        return int(response.json().get("@odata.count", 0))

    def get(self, entity_set: str, entity_id: str, *, expand: str | None = None) -> dict[str, Any]:
        params = {"$expand": expand} if expand else None
        return self.client.request("GET", f"{entity_set}({entity_id})", params=params).json()

    @cached_property
    def identity_relation_id(self) -> str:
        """Our own organisation: the parent ``Relation`` of every customer/supplier relationship."""
        rows = list(self.iter_records("Relationship_Organization_Identity", expand="Relation($select=ID)"))
        ids = {row["Relation"]["ID"] for row in rows if row.get("Relation")}
        if len(ids) != 1:
            raise ValueError(f"expected exactly one identity organisation in Tribe, found {len(ids)}")
        return ids.pop()

    def codes(self, entity_set: str, key: str = "Code", value: str | None = None) -> dict[str, str]:
        """``{Code: ID}`` (or ``{Code: value}``) of a datastore (units, VAT groups, countries…)."""
        value = value or "ID"
        return {str(row[key]): str(row[value]) for row in self.iter_records(entity_set, select=list({"ID", key, value}))
                if row.get(key) is not None}

    # -- writes --------------------------------------------------------------------------
    def create(self, entity_set: str, body: dict[str, Any], *, expand: str | None = None) -> dict[str, Any]:
        """POST a new record; returns it (with ``ID``; ``expand`` adds navigations to the answer)."""
        params = {"$expand": expand} if expand else None
        return self.client.request("POST", entity_set, json=body, params=params).json()

    def update(self, entity_set: str, entity_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Partial update (Tribe's PUT only touches the fields sent)."""
        response = self.client.request("PUT", f"{entity_set}({entity_id})", json=body)
        return response.json() if response.content else {"ID": entity_id}

    def delete(self, entity_set: str, entity_id: str) -> None:
        self.client.request("DELETE", f"{entity_set}({entity_id})")
