"""Shared helpers for the PowerOffice simulator tests (a real server per test module).

Import the fixtures into a test module (``from ...test_poweroffice_support import po_fixture,
api_fixture``) to get ``po`` (a module-scoped seeded server) and ``api`` (an authenticated client).
"""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.common import ServerThread
from sandbox.poweroffice import PowerOfficeState, create_app, seed

SUB_KEY = "po-subscription-key"
BASIC = "Basic " + base64.b64encode(b"po-app-key:po-client-key").decode()
PATCH_JSON = {"Content-Type": "application/json-patch+json"}


class Api:
    """A v2 client: subscription key + bearer on every call, paths relative to ``/v2``."""

    def __init__(self, url: str, prefix: str = "") -> None:
        self.url = url
        self.base = f"{url}{prefix}/v2"
        self.session = requests.Session()
        self.session.headers["Ocp-Apim-Subscription-Key"] = SUB_KEY
        self.session.headers["Authorization"] = f"Bearer {fetch_token(url)}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base}/{path}", params=params, timeout=10)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(f"{self.base}/{path}", json=body, timeout=10, **kwargs)

    def patch(self, path: str, ops: list[dict[str, Any]]) -> requests.Response:
        return self.session.patch(f"{self.base}/{path}", data=json.dumps(ops), headers=PATCH_JSON, timeout=10)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(f"{self.base}/{path}", timeout=10)

    def rows(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """A list call that must succeed: 200 -> the array, 204 -> []."""
        response = self.get(path, **params)
        assert response.status_code in (200, 204), response.text
        return response.json() if response.status_code == 200 else []


def fetch_token(url: str, path: str = "/OAuth/Token") -> str:
    response = requests.post(f"{url}{path}", data={"grant_type": "client_credentials"},
                             headers={"Authorization": BASIC, "Ocp-Apim-Subscription-Key": SUB_KEY}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def problem(response: requests.Response, status: int) -> dict[str, Any]:
    """Assert a ProblemDetails error and return its body."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def replace(path: str, value: Any) -> list[dict[str, Any]]:
    return [{"op": "replace", "path": path, "value": value}]


@pytest.fixture(scope="module", name="po")
def po_fixture() -> Iterator[tuple[PowerOfficeState, str, dict[str, Any]]]:
    """A seeded simulator on a real socket; the rate limiter is off unless a test turns it on."""
    state = PowerOfficeState(rate_limit=0)
    created = seed(state, customers=120, suppliers=30, persons=30, products=30, invoices=12, rng_seed=2)
    with ServerThread(create_app(state)) as server:
        yield state, server.url, created


@pytest.fixture(scope="module", name="api")
def api_fixture(po) -> Api:
    return Api(po[1])
