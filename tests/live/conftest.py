"""Fixtures for the live tests: one live stack (simulators, link database, a real Airflow on the
CeleryExecutor with two workers) for all of them; each test starts from empty simulators and an
empty link database.

Without PostgreSQL or Redis (the broker) the live tests skip locally and **fail** in CI
(``CI=true``), like every Postgres test. A failing live test's report carries the tail of every Airflow component's log.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fixtures.postgres import PostgresUnavailable, postgres_required
from tests.live.airflow_components import BrokerUnavailable
from tests.live.harness import LiveStack

_TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="package")
def live_stack() -> Iterator[LiveStack]:
    """Simulators + link database + api-server, scheduler, dag-processor and triggerer: started once for
    all live tests, stopped right after the last (not at the end of the whole session, so an
    idle Airflow never competes with the rest of the suite for CPU)."""
    stack = LiveStack()
    try:
        stack.start()
    except PostgresUnavailable as exc:
        stack.stop()
        postgres_required(str(exc))
    except BrokerUnavailable as exc:  # Redis: the Celery broker
        stack.stop()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI: {exc}", pytrace=False)
        pytest.skip(str(exc))
    except BaseException:
        stack.stop()
        raise
    _TIMINGS.update(stack.timings)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def live(live_stack: LiveStack) -> LiveStack:
    """The shared stack with the simulators back to reference data and the link database empty."""
    live_stack.reset()
    return live_stack


@pytest.fixture
def exact(live: LiveStack) -> LiveStack:
    """``live`` with the Exact app authorized (the reset emptied its token chain): one CLI call."""
    live.authorize_exact()
    return live


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    stack = getattr(item, "funcargs", {}).get("live_stack")
    if report.failed and isinstance(stack, LiveStack) and stack.airflow is not None:
        report.sections.append(("live Airflow: component logs (tail)", stack.airflow.diagnostics(lines=60)))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _TIMINGS:
        shown = ", ".join(f"{k} {v:.1f} s" for k, v in _TIMINGS.items())
        terminalreporter.write_line(f"live Airflow stack: {shown}")
