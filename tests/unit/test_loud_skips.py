"""The run says loudly, once, which tests did not run for want of a service (tests.fixtures.skips)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]

SKIPPING = """
import pytest

from tests.fixtures.postgres import postgres_required
from tests.fixtures.skips import redis_required
from tests.live.browser import browser  # the live suite's fixture
from tests.simulators.openapi_check import spec_path_or_skip


@pytest.fixture(scope="session")
def pg():
    postgres_required("postgresql+psycopg2://postgres@127.0.0.1:1/postgres is unreachable (refused)")


@pytest.mark.parametrize("n", range(3))
def test_needs_postgres(pg, n):
    pass


def test_needs_redis():
    redis_required("redis://127.0.0.1:1/15 is unreachable: refused")


def test_needs_a_browser(browser):
    pass


def test_needs_the_spec():
    spec_path_or_skip()


def test_skipped_for_another_reason():
    pytest.skip("not on this platform")


def test_runs():
    pass
"""


@pytest.fixture
def here(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), str(ROOT / "plugins")]))  # the run's own process
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # Airflow's and others' plugins: seconds, not needed
    monkeypatch.delenv("POWEROFFICE_OPENAPI_SPEC", raising=False)
    monkeypatch.delenv("TRIBE_SYNC_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(pytester.path))  # no chromium on it
    monkeypatch.setenv("TRIBE_SYNC_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:1/postgres")
    monkeypatch.setenv("TRIBE_SYNC_TEST_REDIS", "redis://127.0.0.1:1/15")
    pytester.makeconftest('pytest_plugins = ["tests.fixtures.skips"]')
    pytester.makepyfile(test_services=SKIPPING)
    return pytester


def test_missing_services_are_named_once_per_run_with_their_counts(here, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = here.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=7)
    out = result.stdout.str()
    assert out.count("tests that did not run here") == 1
    result.stdout.fnmatch_lines([
        "NOT RUN: 3 tests need PostgreSQL on 127.0.0.1:1 (unreachable) — they run in CI",
        "NOT RUN: 1 test needs Redis on 127.0.0.1:1 (unreachable) — it runs in CI",
        "NOT RUN: 1 test needs the PowerOffice OpenAPI file in POWEROFFICE_OPENAPI_SPEC (not set) — it runs in CI",
        "NOT RUN: 1 test needs Chromium for the browser tests (not installed: apt-get install chromium)"
        " — it runs in CI",
    ])
    assert "platform" not in out.split("tests that did not run here", 1)[1]  # other skips are not services


def test_in_ci_they_fail_and_nothing_is_reported_as_not_run(here, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = here.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1, errors=4, failed=2)
    assert "NOT RUN" not in result.stdout.str()
