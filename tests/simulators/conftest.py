"""Fixtures of the simulator tests. The Exact simulator for its own tests: one server per test module, reset for each test, and
an access token from the whole authorization-code flow. A module that needs more (a fresh clock
minute, TLS) overrides ``exact`` or ``server`` locally."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.exact.clients import ExactServer


@pytest.fixture(scope="module")
def server() -> Iterator[ExactServer]:
    with ExactServer() as exact:
        yield exact


@pytest.fixture
def exact(server: ExactServer) -> ExactServer:
    server.state.reset()
    return server


@pytest.fixture
def token(exact: ExactServer) -> str:
    return exact.authorize_and_exchange()["access_token"]
