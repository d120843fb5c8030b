"""``PowerOfficeHook``: PowerOffice Go v2 as plain dicts.

Connection: host = API host (``https://goapi.poweroffice.net``), login = application key,
password = client key. Extras: ``subscription_api_key`` (required), ``api_path`` (``/v2``),
``token_path`` (``/OAuth/Token``), ``rate_per_second`` (10), ``page_size``, ``timeout``,
``max_attempts``. The extra's old name ``subscription_key`` is still read until 0.2.0, with a
deprecation warning (``connection.py``'s ``renamed-fields``).
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property, partial
from typing import Any

import requests

from tribe_operators.exceptions import AuthError, FatalError
from tribe_operators.hooks.base import VendorHook
from tribe_operators.http.auth import ClientCredentialsAuth, mask
from tribe_operators.http.budget import store_url
from tribe_operators.http.client import ApiClient
from tribe_operators.http.pacing import shared_limiter
from tribe_operators.http.pagination import PageNumberPaginator
from tribe_operators.http.retry import build_retrying
from tribe_operators.provider import field_label
from tribe_operators.store.tokens import shared_token_store

__all__ = ["PowerOfficeHook"]

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"


def _problem(response: requests.Response) -> str:
    """The message of an RFC 7807 body (PowerOffice sends lowercase keys; accept both)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        lowered = {str(k).lower(): v for k, v in body.items()}
        parts = [str(lowered[k]) for k in ("title", "detail", "message") if lowered.get(k)]
        return " — ".join(parts) or str(body)[:500]
    return str(body)[:500]


class PowerOfficeHook(VendorHook):
    """Read and write PowerOffice Go v2 resources."""

    conn_name_attr = "poweroffice_conn_id"
    default_conn_name = "poweroffice_default"
    conn_type = "poweroffice_go"
    hook_name = "PowerOffice Go"

    def __init__(self, poweroffice_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(poweroffice_conn_id, **kwargs)

    def _build_client(self, info: dict[str, Any]) -> ApiClient:
        extra = info["extra"]
        key = extra.get("subscription_api_key")
        if not key:
            raise FatalError(f"connection {self.conn_id!r}: extra 'subscription_api_key' is required")
        mask(key)  # its name is not on Airflow's sensitive list
        headers = {SUBSCRIPTION_HEADER: key}
        timeout = float(extra["timeout"])
        # The limit is per subscription key, whatever client keys share it; the token call counts.
        limiter = shared_limiter(f"poweroffice:{key}", float(extra["rate_per_second"]), 1.0,
                                 store=store_url(extra))
        auth = ClientCredentialsAuth(
            info["base"] + extra["token_path"], info["login"], info["password"],
            style="basic", extra_headers=headers, session=requests.Session(), timeout=timeout, limiter=limiter,
            store=partial(shared_token_store, self.conn_id),  # one token for every task process
        )
        return ApiClient(
            info["base"] + extra["api_path"], auth, limiter=limiter,
            error_message=_problem, headers=headers, timeout=timeout,
            retrying=partial(build_retrying, max_attempts=int(extra["max_attempts"])),
        )

    def test_connection(self) -> tuple[bool, str]:
        """The Test button: a token for the keys, a refusal named by the form's labels (PowerOffice's
        own words say which key)."""
        try:
            self.client.auth.token()
        except AuthError as exc:
            keys = [field_label(self.conn_type, name) for name in ("login", "password", "subscription_api_key")]
            return False, f"{self.hook_name} refused the {', '.join(keys[:-1])} or {keys[-1]}: {exc}"
        except Exception as exc:  # noqa: BLE001 - the UI wants a message, not a traceback
            return False, str(exc)
        done = f"token obtained for application key {self.connection_info['login']!r}"
        return True, "; ".join([done, *(f"deprecated: {d}" for d in self.deprecations)])

    @cached_property
    def page_size(self) -> int:
        return int(self.connection_info["extra"]["page_size"])

    def iter_pages(self, resource: str, params: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of a list endpoint (204 and short pages end it)."""
        yield from self.client.pages(resource, PageNumberPaginator(self.page_size), params)

    def iter_records(self, resource: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages(resource, params):
            yield from page

    def codes(self, resource: str, key: str, value: str | None = None) -> dict[str, str]:
        """``{key: Id}`` (or ``{key: value}``) of a small list (payment terms by CreditDays…)."""
        value = value or "Id"
        return {str(r[key]): str(r[value]) for r in self.iter_records(resource) if r.get(key) is not None}

    def get(self, resource: str, entity_id: Any) -> dict[str, Any]:
        return self.client.request("GET", f"{resource}/{entity_id}").json()

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.client.request("POST", resource, json=body).json()

    def patch(self, resource: str, entity_id: Any, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply ``{field: value}`` as RFC 6902 ``replace`` operations."""
        ops = [{"op": "replace", "path": f"/{field}", "value": value} for field, value in changes.items()]
        return self.client.request("PATCH", f"{resource}/{entity_id}", json=ops,
                                   headers={"Content-Type": "application/json-patch+json"}).json()

    def delete(self, resource: str, entity_id: Any) -> None:
        self.client.request("DELETE", f"{resource}/{entity_id}")
