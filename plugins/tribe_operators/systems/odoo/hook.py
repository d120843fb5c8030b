"""``OdooHook``: Odoo's ORM over the shared transport, by JSON-2 (19+) or JSON-RPC.

Connection: host = the instance URL (``https://mycompany.odoo.com``), login = the user's login,
password = an API key (Odoo ≥ 14; users with two-factor authentication must use one) or the
password; extra ``database`` (required: a server can host several databases). Optional extras:
``protocol`` (``auto``: JSON-2 from 19 on, JSON-RPC below; or ``json2`` / ``jsonrpc``),
``rate_per_second`` (Odoo publishes no limit: 5 unless set), ``page_size`` (500), ``timeout``,
``max_attempts``. The form's fields are the connection type's (``connection.py``).
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any
from urllib.parse import urlsplit

from tribe_operators.exceptions import AuthError, FatalError
from tribe_operators.hooks.base import VendorHook
from tribe_operators.http.auth import BodyCredentials, KeyAuth, mask
from tribe_operators.http.client import ApiClient
from tribe_operators.http.budget import store_url
from tribe_operators.http.pacing import shared_limiter
from tribe_operators.http.retry import build_retrying
from tribe_operators.systems.odoo.rpc import READS, json2_arguments, json2_error, jsonrpc_body, jsonrpc_error

__all__ = ["OdooConnectionInfo", "OdooHook"]


@dataclass(frozen=True)
class OdooConnectionInfo:
    """Where and as whom to call Odoo (the API key is left out of ``repr``)."""

    url: str
    database: str
    username: str
    api_key: str = field(repr=False)

    @property
    def host(self) -> str:
        """The host name (Odoo Online databases are usually named after its first label)."""
        return urlsplit(self.url).hostname or ""


class OdooHook(VendorHook):
    """Connection type ``odoo``: call the ORM (``call``), read in pages (``search_read_all``) or
    by id (``read``: deleted ids are simply absent), create in batches, learn the fields a server
    has (``fields``)."""

    conn_name_attr = "odoo_conn_id"
    default_conn_name = "odoo_default"
    conn_type = "odoo"
    hook_name = "Odoo"

    def __init__(self, odoo_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(odoo_conn_id, **kwargs)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}  # fields_get by model

    @cached_property
    def odoo(self) -> OdooConnectionInfo:
        """The connection as typed fields; a FatalError names whatever is missing or malformed."""
        info = self.connection_info  # checks the URL, login, password and database
        mask(info["password"])
        return OdooConnectionInfo(url=info["base"], database=str(info["extra"]["database"]).strip(),
                                  username=info["login"].strip(), api_key=info["password"])

    def describe(self) -> str:
        odoo = self.odoo
        return f"{odoo.username} on database {odoo.database!r} at {odoo.url} ({self.protocol}, Odoo {self.version})"

    # -- transport --------------------------------------------------------------------------
    def _build_client(self, info: dict[str, Any]) -> ApiClient:
        return self._client(info, json2=self.protocol == "json2")

    def _client(self, info: dict[str, Any], *, json2: bool) -> ApiClient:
        extra = info["extra"]
        odoo = self.odoo
        auth = KeyAuth(odoo.api_key) if json2 else BodyCredentials(odoo.api_key)
        headers = {"X-Odoo-Database": odoo.database} if json2 else {}
        limiter = shared_limiter(f"odoo:{odoo.url}", float(extra["rate_per_second"]), store=store_url(extra))
        return ApiClient(odoo.url, auth, limiter=limiter, headers=headers, timeout=float(extra["timeout"]),
                         body_error=json2_error if json2 else jsonrpc_error,
                         retrying=partial(build_retrying, max_attempts=int(extra["max_attempts"])))

    @cached_property
    def _rpc(self) -> ApiClient:
        """A JSON-RPC client (the version and login are asked over it whatever the protocol)."""
        return self._client(self.connection_info, json2=False)

    def _jsonrpc(self, service: str, method: str, args: list[Any], *, idempotent: bool) -> Any:
        with self._lock:
            call_id = next(self._ids)
        response = self._rpc.request("POST", "/jsonrpc", json=jsonrpc_body(call_id, service, method, args),
                                     idempotent=idempotent)
        return response.json()["result"]

    @cached_property
    def version(self) -> int:
        """The server's major version (``common.version``)."""
        info = self._jsonrpc("common", "version", [], idempotent=True)
        return int(info["server_version_info"][0])

    @cached_property
    def protocol(self) -> str:
        wanted = str(self.connection_info["extra"]["protocol"]).lower()
        if wanted not in {"auto", "json2", "jsonrpc"}:
            raise FatalError(f"connection {self.conn_id!r}: extra 'protocol' must be auto, json2 or jsonrpc")
        return ("json2" if self.version >= 19 else "jsonrpc") if wanted == "auto" else wanted

    @cached_property
    def uid(self) -> int:
        odoo = self.odoo
        uid = self._jsonrpc("common", "login", [odoo.database, odoo.username, odoo.api_key], idempotent=True)
        if not uid:
            raise AuthError(f"Odoo refused {odoo.username!r} on database {odoo.database!r} (login or API key)")
        return int(uid)

    # -- the ORM ----------------------------------------------------------------------------
    def call(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``model.method(*args, **kwargs)`` on the server; reads are retried like GETs."""
        idempotent = method in READS
        if self.protocol == "json2":
            body = json2_arguments(method, args, kwargs)
            return self.client.request("POST", f"/json/2/{model}/{method}", json=body, idempotent=idempotent).json()
        odoo = self.odoo
        return self._jsonrpc("object", "execute_kw", [odoo.database, self.uid, odoo.api_key, model, method,
                                                      list(args), kwargs], idempotent=idempotent)

    @cached_property
    def page_size(self) -> int:
        return int(self.connection_info["extra"]["page_size"])

    def search_read_all(self, model: str, domain: list[Any], fields: list[str], *,
                        context: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Pages of ``search_read`` ordered by id, each after the last id seen: records created
        or archived while we page never shift a page (an offset would)."""
        last = 0
        while True:
            kwargs: dict[str, Any] = {"fields": fields, "limit": self.page_size, "order": "id asc"}
            if context:
                kwargs["context"] = context
            page = self.call(model, "search_read", [*domain, ["id", ">", last]], **kwargs)
            if not page:
                return
            yield page
            if len(page) < self.page_size:
                return
            last = page[-1]["id"]

    def create(self, model: str, vals_list: list[dict[str, Any]], *, context: dict[str, Any] | None = None) -> list[int]:
        """Create several records in one call (in ``context``: an invoice's company); their ids in order."""
        created = self.call(model, "create", vals_list, **({"context": context} if context else {}))
        return [created] if isinstance(created, int) else list(created)

    def write(self, model: str, ids: list[int], vals: dict[str, Any]) -> None:
        self.call(model, "write", ids, vals)

    def read(self, model: str, ids: list[int], fields: list[str], *,
             context: dict[str, Any] | None = None) -> dict[int, dict[str, Any]]:
        """``{id: row}`` of the records that still exist. Odoo's ``read`` raises nothing for a
        deleted id, it leaves it out of the answer (fewer rows than asked): an id absent from
        the result was deleted, and the caller decides what that means."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        if not wanted:
            return {}
        rows = self.call(model, "read", wanted, fields, **({"context": context} if context else {}))
        return {row["id"]: row for row in rows if row.get("id") in wanted}

    def fields(self, model: str) -> dict[str, dict[str, Any]]:
        """``fields_get`` of a model, once per hook: which fields this server has (``mobile``
        is gone in 19)."""
        if model not in self._fields:
            self._fields[model] = self.call(model, "fields_get", attributes=["type", "string", "relation"])
        return self._fields[model]

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read: the UI's Test button."""
        try:
            partners = self.call("res.partner", "search_count", [])
            return True, f"{self.describe()}: logged in, {partners} partner(s) readable"
        except Exception as exc:  # noqa: BLE001 - the UI wants a message, not a traceback
            return False, str(exc)
