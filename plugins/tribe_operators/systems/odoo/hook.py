"""``OdooHook``: the ``odoo`` connection type, read and checked into :class:`OdooConnectionInfo`.

Connection: host = the instance URL (``https://mycompany.odoo.com``), login = the user's login,
password = an API key (Odoo ≥ 14; users with two-factor authentication must use one) or the
password; extra ``database`` (required: a server can host several databases). The form's
fields are declared in ``tribe_operators.provider``.

The Odoo integration (its JSON-2 / XML-RPC client, mappings and DAGs) is not built yet: this
hook defines the connection so it can be added in the UI now, and the future client starts
from :attr:`OdooHook.odoo`. It does not talk to Odoo.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from tribe_operators.hooks.base import FieldsOnlyHook
from tribe_operators.http.auth import mask

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


class OdooHook(FieldsOnlyHook):
    """Connection type ``odoo``: URL, database, username, API key."""

    conn_name_attr = "odoo_conn_id"
    default_conn_name = "odoo_default"
    conn_type = "odoo"
    hook_name = "Odoo"
    known_extras = frozenset({"database"})

    def __init__(self, odoo_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(odoo_conn_id, **kwargs)

    @cached_property
    def odoo(self) -> OdooConnectionInfo:
        """The connection as typed fields; a FatalError names whatever is missing or malformed."""
        info = self.connection_info  # checks the URL, login, password and database
        mask(info["password"])
        return OdooConnectionInfo(url=info["base"], database=str(info["extra"]["database"]).strip(),
                                  username=info["login"].strip(), api_key=info["password"])

    def describe(self) -> str:
        odoo = self.odoo
        return f"{odoo.username} on database {odoo.database!r} at {odoo.url}"
