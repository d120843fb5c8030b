"""A real browser for the live tests: Debian's Chromium driven by Playwright (browsers cannot be
downloaded here: it is launched by its executable path), logged in to the live Airflow through
its own login form. Screenshots go to ``.artefacts/browser/`` (``TRIBE_SYNC_ARTEFACTS``), kept
as the run's artefacts.

Without Chromium the browser tests skip locally and fail in CI (``.ci/run`` installs it).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live.airflow_components import ROOT

__all__ = ["ARTEFACTS", "browser", "chromium_path", "logged_in", "shoot"]

ARTEFACTS = Path(os.environ.get("TRIBE_SYNC_ARTEFACTS", ROOT / ".artefacts")) / "browser"


def chromium_path() -> str | None:
    return os.environ.get("TRIBE_SYNC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: required in CI", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def logged_in(browser: Any, airflow: Any) -> Any:
    """A page of a fresh browser context, logged in as the stack's admin through Airflow's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{airflow.base_url}/auth/login?next=/")
    page.fill("input[name=username]", airflow.username)
    page.fill("input[name=password]", airflow.password)
    page.click("button[type=submit]")
    # The form posts, then the UI redirects to / : wait until that is done, or the test's next
    # navigation is interrupted by it.
    page.wait_for_url(lambda url: "/auth/" not in url)
    page.wait_for_load_state("networkidle")
    return page


def shoot(page: Any, name: str, *, full_page: bool = True) -> Path:
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
