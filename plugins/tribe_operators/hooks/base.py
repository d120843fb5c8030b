"""What every vendor hook shares: connection → one cached ``ApiClient``, extras read explicitly."""
from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from tribe_operators import __version__, notices
from tribe_operators.exceptions import FatalError
from tribe_operators.provider import STANDARD_FIELDS, connection_types, extra_defaults, field_label, required_fields
from tribe_operators.provider import renamed_fields as renamed_extras

if TYPE_CHECKING:
    from tribe_operators.http.client import ApiClient

__all__ = ["VendorHook"]


class VendorHook(BaseHook):
    """Base of the vendor hooks. Subclasses implement ``_build_client``.

    Only the extras the connection type declares (its form's fields, ``tribe_operators.provider``)
    are read; anything else in the connection's extra is an error, not a silent HTTP header.
    """

    conn_type = ""  # a connection type declared in tribe_operators.provider (subclasses)
    # Every API client's: where the rate budget shared by all workers lives (http.budget).
    transport_extras = frozenset({"rate_limit_store", "rate_limit_store_password"})

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.deprecations: list[str] = []  # what the connection still says the old way (``_renamed``)

    @cached_property
    def connection_info(self) -> dict[str, Any]:
        """``{base, login, password, extra}`` of the connection, checked against its type's
        declaration in ``tribe_operators.provider`` (what the UI's form requires)."""
        try:
            conn = self.get_connection(self.conn_id)
        except AirflowNotFoundException:
            raise FatalError(f"connection {self.conn_id!r} does not exist: add it (Admin → Connections, type "
                             f"{self.conn_type or 'any'}) or set AIRFLOW_CONN_{self.conn_id.upper()}") from None
        raw = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
        # The UI's form saves a field left empty as null (or ""): not set, so the default applies.
        extra = self._renamed({key: value for key, value in raw.items() if not _blank(value)})
        allowed = set(connection_types().get(self.conn_type, {}).get("conn-fields", {})) | self.transport_extras
        unknown = set(extra) - allowed
        if unknown:
            raise FatalError(f"connection {self.conn_id!r}: unknown extra field(s) {sorted(unknown)}; "
                             f"allowed: {sorted(allowed)}")
        if not conn.host:
            raise FatalError(f"connection {self.conn_id!r} has no host (the API base URL)")
        for name, label in required_fields(self.conn_type).items():
            standard = name in STANDARD_FIELDS
            if _blank(getattr(conn, name, None) if standard else extra.get(name)):
                where = f"field {name!r}" if standard else f"extra {name!r}"
                raise FatalError(f"connection {self.conn_id!r}: {label} ({where}) is required")
        host = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
        if conn.port:
            host = f"{host}:{conn.port}"
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FatalError(f"connection {self.conn_id!r}: host {conn.host!r} is not an http(s) URL")
        # What the form shows as a field's default is what an empty field means.
        return {"base": host.rstrip("/"), "login": conn.login or "", "password": conn.password or "",
                "extra": {**extra_defaults(self.conn_type), **extra}}

    def _renamed(self, extra: dict[str, Any]) -> dict[str, Any]:
        """``extra`` with each extra renamed in a release under its new name: the old one is still
        read until the release its declaration names (``provider.renamed_fields``), with a
        deprecation warning (logged, and in the run's note). Both names with different values is
        an error: which one is meant?"""
        for old, rename in renamed_extras(self.conn_type).items():
            if old not in extra:
                continue
            new, value = rename["to"], extra.pop(old)
            if new in extra and extra[new] != value:
                raise FatalError(f"connection {self.conn_id!r}: extra {old!r} (the old name of {new!r}) and {new!r} "
                                 f"are both set, to different values: keep {new!r} only")
            extra[new] = value
            message = (f"connection {self.conn_id!r}: extra {old!r} is now {new!r} ({field_label(self.conn_type, new)}); "
                       f"rename it in the connection — tribe-sync {__version__} still reads the old name, "
                       f"{rename['until']} will not")
            self.deprecations.append(message)
            notices.deprecated(message)
        return extra

    @cached_property
    def client(self) -> ApiClient:
        """The one session-backed client of this hook instance (built on first use)."""
        return self._build_client(self.connection_info)

    def get_conn(self) -> ApiClient:
        return self.client

    def _build_client(self, info: dict[str, Any]) -> ApiClient:  # pragma: no cover - abstract
        raise NotImplementedError

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.client.auth.token()
        except Exception as exc:  # noqa: BLE001 - the UI wants a message, not a traceback
            return False, str(exc)
        return True, "token obtained"


class FieldsOnlyHook(VendorHook):
    """A connection type whose integration is still to come (Odoo, Exact Online): the fields
    are parsed and checked (:meth:`describe` names what was found), nothing is called yet."""

    def describe(self) -> str:  # pragma: no cover - abstract
        """The checked fields in a few words; raises FatalError naming what is wrong."""
        raise NotImplementedError

    def _build_client(self, info: dict[str, Any]) -> ApiClient:
        raise FatalError(f"tribe-sync has no {self.hook_name} API client yet: the {self.conn_type} connection "
                         "type is defined and checked, the integration is still to come")

    def test_connection(self) -> tuple[bool, str]:
        """Check the fields only: complete and well-formed, or what is not."""
        try:
            found = self.describe()
        except FatalError as exc:
            return False, str(exc)
        return False, (f"fields complete ({found}); not tested against {self.hook_name}: tribe-sync has no "
                       f"{self.hook_name} client yet")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
