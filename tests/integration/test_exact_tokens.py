"""Exact Online's token chain through the real hook, against the Exact simulator and real Postgres:
the one-time authorization (the CLI), workers racing over renewals, clocks that differ, a
revoked token, a chain idle for 30 days. Exact counts every refused request toward blocking
the app's key, so "it worked in the end" is not enough: the simulator's counters must show
that nothing was refused on the way."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from sandbox.exact.clients import REDIRECT_URI, ExactServer
from sandbox.exact.seed import NL
from tribe_operators import cli
from tribe_operators.exceptions import AuthError
from tribe_operators.store.tokens import TokenStore

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exact_conn(monkeypatch):
    """The simulator behind the Airflow connection exact_default (no refresh token in it)."""

    def connect(server: ExactServer) -> None:
        conn = {"conn_type": "exact_online", "host": server.url, "login": server.state.client_id,
                "password": server.state.client_secret, "extra": {"division": NL, "redirect_uri": REDIRECT_URI}}
        monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps(conn))

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    return connect


def browser(url: str) -> str:
    """What a person does: open the URL, consent (the simulator's test mode consents at once),
    and copy the address the browser is sent to."""
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def authorize(link_db, monkeypatch) -> tuple[str, str]:
    """Run ``oauth authorize`` as a person would: (what it printed, the address pasted)."""
    out, landed = io.StringIO(), []

    def paste(prompt: str) -> str:
        url = next(line.strip() for line in out.getvalue().splitlines() if "/api/oauth2/auth?" in line)
        landed.append(browser(url))
        return landed[0]

    monkeypatch.setattr("builtins.input", paste)
    assert cli.main(["--db-url", db_url(link_db), "oauth", "authorize", "--conn", "exact_default"],
                    out=out) == 0, out.getvalue()
    return out.getvalue(), landed[0]


def chain(link_db, server: ExactServer) -> TokenStore:
    """The token chain of the simulator's app (keyed by instance and client id, not connection)."""
    return TokenStore(link_db, f"{server.url}|{server.state.client_id}", "oauth")


def db_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_authorize_stores_the_first_token_encrypted_lists_divisions_and_a_code_works_once(
        link_db, exact_conn, monkeypatch):
    with ExactServer() as server:
        exact_conn(server)
        printed, landed = authorize(link_db, monkeypatch)
        assert "authorized" in printed and f"division {NL}:" in printed, printed
        stored = chain(link_db, server).read()
        assert stored is not None and stored.issued_at is not None and stored.calls_today == 1
        raw = link_db.connect().exec_driver_sql("SELECT refresh_token, access_token FROM oauth_token").one()
        assert stored.refresh_token not in raw[0] and stored.access_token not in raw[1]  # encrypted
        assert "AIRFLOW_CONN_EXACT_DEFAULT" in os.environ and stored.refresh_token not in os.environ[
            "AIRFLOW_CONN_EXACT_DEFAULT"]  # never written to the connection
        # The same address pasted again: the code was used; a clear refusal, nothing stored over.
        out = io.StringIO()
        rc = cli.main(["--db-url", db_url(link_db), "oauth", "authorize", "--conn", "exact_default",
                       "--callback-url", landed], out=out)
        assert rc == 1 and "the code was refused" in out.getvalue() and "works once" in out.getvalue(), out.getvalue()
        assert chain(link_db, server).read().refresh_token == stored.refresh_token
        assert server.state.counters()["tokens"]["code_reused"] == 1


@pytest.mark.parametrize("mode", ["grace", "strict"])
def test_three_processes_of_eight_threads_renew_once_per_expiry_and_never_replay(link_db, exact_conn, monkeypatch,
                                                                                 mode):
    """Lifetimes scaled 1:100 (600/570 s → 6/5.7 s), real clocks, real processes and threads."""
    with ExactServer(refresh_mode=mode, access_ttl_s=6, refresh_min_age_s=5.7) as server:
        exact_conn(server)
        authorize(link_db, monkeypatch)
        server.state.reset_counters()
        started = time.monotonic()
        seconds = 19.0  # the first token's life and three expiries after it
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
        workers = [subprocess.Popen([sys.executable, "-m", "tests.fixtures.exact_token_worker", str(seconds), "8"],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for _ in range(3)]
        results = [w.communicate(timeout=120) for w in workers]
        lasted = time.monotonic() - started
        counters = server.state.counters()
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    assert all(r["errors"] == {} for r in reports), reports
    assert sum(r["calls"]["ok"] for r in reports) > 300
    assert counters["old_refresh_token_used"] == 0 and counters["too_early"] == 0, counters["tokens"]
    # One renewal per expiry (every 5.8 s of the time the workers ran), whatever the workers: none refused.
    assert 3 <= counters["token_calls"] <= lasted / 5.75 + 1, (lasted, counters["tokens"])
    assert counters["tokens_issued"] == counters["token_calls"], counters["tokens"]
    assert counters["expired_token_used"] == 0 and counters["statuses"].get("401", 0) == 0, counters
    stored = chain(link_db, server).read()
    logs = "".join(out + err for out, err in results)
    assert stored.refresh_token not in logs and stored.access_token not in logs


class SimulatedTime:
    """Our side's clock and sleep on the simulator's timeline: ``behind`` seconds behind it."""

    def __init__(self, server: ExactServer, behind: float) -> None:
        self.server, self.behind = server, behind

    def now(self):
        return self.server.state.now() - timedelta(seconds=self.behind)

    def sleep(self, seconds: float) -> None:
        self.server.state.advance(seconds)


def restamp(link_db, server: ExactServer, clock: SimulatedTime) -> None:
    """The first token was stamped by the database's clock: put it on the simulated timeline."""
    with chain(link_db, server).renewing() as (current, save, _):
        save(current.refresh_token, current.access_token, clock.now() + timedelta(seconds=600), issued_at=clock.now())


def hook_on(server: ExactServer, clock: SimulatedTime):
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    hook = ExactOnlineHook("exact_default")
    hook.auth.now, hook.auth._sleep = clock.now, clock.sleep
    return hook


@pytest.mark.parametrize("behind", [5.0, -5.0])
def test_clocks_five_seconds_apart_never_make_a_renewal_early(link_db, exact_conn, monkeypatch, behind):
    """Two simulated hours of calls, a minute apart, with our clock 5 s behind (and ahead of) Exact's."""
    with ExactServer() as server:
        exact_conn(server)
        authorize(link_db, monkeypatch)
        clock = SimulatedTime(server, behind)
        restamp(link_db, server, clock)
        server.state.reset_counters()
        hook = hook_on(server, clock)
        for _ in range(120):
            hook.me()
            server.state.advance(60)
        counters = server.state.counters()
    assert counters["too_early"] <= 2 and counters["old_refresh_token_used"] == 0, counters["tokens"]
    assert 11 <= counters["token_calls"] <= 14, counters["tokens"]  # one per ~580 s
    assert counters["statuses"].get("401", 0) == 0, counters["statuses"]


def test_a_revoked_access_token_is_sent_once_then_waited_out(link_db, exact_conn, monkeypatch):
    with ExactServer() as server:
        exact_conn(server)
        authorize(link_db, monkeypatch)
        clock = SimulatedTime(server, 0)
        restamp(link_db, server, clock)
        hook = hook_on(server, clock)
        hook.me()
        server.state.advance(200)
        server.state.tokens.revoke()
        other = hook_on(server, clock)  # another task process, same chain
        hook.me()  # 401 once, then waits until Exact allows a new token, and goes on
        other.me()
        counters = server.state.counters()
    assert counters["revoked_token_used"] == 1, counters["tokens"]
    assert counters["too_early"] == 0 and counters["token_calls"] == 2, counters["tokens"]  # code + one renewal


def test_a_chain_idle_for_thirty_days_says_authorize_again(link_db, exact_conn, monkeypatch):
    with ExactServer() as server:
        exact_conn(server)
        authorize(link_db, monkeypatch)
        clock = SimulatedTime(server, 0)
        restamp(link_db, server, clock)
        server.state.advance(31 * 86400)
        with pytest.raises(AuthError, match="authorize the app again"):
            hook_on(server, clock).me()
        assert server.state.counters()["token_calls"] <= 2
