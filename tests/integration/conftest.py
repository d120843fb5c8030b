"""Fixtures the flow tests share: the Odoo import and export DAGs, parsed once per module; the
Exact Online import DAG and a world of Tribe and a signed-in Exact."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dag_named(dag_id: str) -> Any:
    """One DAG of ``dags/<dag_id>.py``, parsed as the DAG processor parses it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py")).dags[dag_id]


@pytest.fixture(scope="module")
def nightly(airflow_db: Any) -> Any:
    """``odoo_to_tribe``."""
    return dag_named("odoo_to_tribe")


@pytest.fixture(scope="module")
def export(airflow_db: Any) -> Any:
    """``tribe_to_odoo``."""
    return dag_named("tribe_to_odoo")


@pytest.fixture(scope="module")
def exact_import(airflow_db: Any) -> Any:
    return dag_named("exact_to_tribe")


@pytest.fixture
def world(link_db, monkeypatch, request) -> Iterator[Any]:
    """Tribe and a signed-in Exact (division 100001, Exact's own numbers unless a test changes them)."""
    from cryptography.fernet import Fernet

    from sandbox.common import ServerThread
    from sandbox.exact.clients import REDIRECT_URI, ExactServer
    from sandbox.exact.seed import NL
    from sandbox.tribe import TribeState
    from sandbox.tribe import create_app as tribe_app
    from tribe_operators.http.pacing import forget_shared_limiters
    from tests.fixtures.simulators import connection_env
    from tests.integration.test_exact_tokens import browser
    from tribe_operators.systems.exact.authorize import ExactAuthorization
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    forget_shared_limiters()
    tribe = TribeState()
    with ServerThread(tribe_app(tribe)) as t, ExactServer() as exact:
        for key, value in connection_env(t.url, "http://127.0.0.1:9").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps({
            "conn_type": "exact_online", "host": exact.url, "login": exact.state.client_id,
            "password": exact.state.client_secret,
            "extra": {"division": NL, "redirect_uri": REDIRECT_URI, **getattr(request, "param", {})}}))
        flow = ExactAuthorization(ExactOnlineHook())
        flow.complete(browser(flow.url()))
        exact.state.reset_counters()
        yield tribe, exact
    forget_shared_limiters()
