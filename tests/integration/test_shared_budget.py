"""One rate budget for every process: two processes calling Tribe with the same client id
share it through Redis and never exceed the simulator's window; with each process pacing on
its own (today's in-process limiter) the same two processes meet 429s.

The processes are separate Python interpreters (as two Celery workers are), each building its
own ``TribeCrmHook`` from the same connection; the Tribe simulator counts every request it
receives per client in its sliding window and answers 429 beyond the limit.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.common import ServerThread
from tests.fixtures.simulators import connection_env

ROOT = Path(__file__).resolve().parents[2]


# per process: 60 calls at 10/s together take ~6 s. A 5 s window: the budget keeps 2 % of it
# (100 ms) as margin, so a request delayed on a loaded 2-core CI machine still lands inside.
LIMIT, WINDOW_S, CALLS = 50, 5.0, 30

WORKER = """
import sys, time
sys.path[:0] = [{root!r}, {plugins!r}]
from tribe_operators.systems.tribe.hook import TribeCrmHook
hook = TribeCrmHook()
started = time.monotonic()
statuses = []
for _ in range({calls}):
    statuses.append(hook.client.request("GET", "Datastore_Country", params={{"$top": 1}}).status_code)
print(time.monotonic() - started, statuses.count(200))
"""




def _two_workers(tribe_url: str, **extra: object) -> tuple[list[float], int]:
    env = {**os.environ, **connection_env(tribe_url, "http://127.0.0.1:9", tribe_extra={
        "rate_limit": LIMIT, "rate_window_s": WINDOW_S, "max_attempts": 10, **extra})}
    script = WORKER.format(root=str(ROOT), plugins=str(ROOT / "plugins"), calls=CALLS)
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120)[0].strip().splitlines()[-1].split() for p in procs]  # last line: ours
    assert all(p.returncode == 0 for p in procs)
    return [float(seconds) for seconds, _ in results], sum(int(ok) for _, ok in results)


def _tribe(limit: int, window_s: float):
    from sandbox.tribe import TribeState, create_app

    state = TribeState()
    state.set_rate_limit(limit, window_s)
    return state, ServerThread(create_app(state))


def test_two_processes_sharing_one_budget_never_exceed_the_vendors_window(redis_store):
    state, server = _tribe(LIMIT, WINDOW_S)
    with server:
        seconds, ok = _two_workers(server.url, rate_limit_store=redis_store)
    counters = state.counters()
    assert ok == 2 * CALLS
    assert counters["rate_limited"] == 0, counters  # the simulator's own window was never over its limit
    # …and the budget was used, not wasted: both together near the allowed 10/s.
    rate = counters["total"] / max(seconds)
    print(f"\nshared budget: {counters['total']} requests in {max(seconds):.1f} s = {rate:.1f}/s "
          f"(allowed {LIMIT / WINDOW_S:.1f}/s), 429s {counters['rate_limited']}")
    assert rate >= 0.7 * LIMIT / WINDOW_S


def test_each_process_pacing_alone_meets_429s(redis_store):
    """The same two processes with today's in-process pacing: each believes it owns the budget."""
    state, server = _tribe(LIMIT, WINDOW_S)
    with server:
        _, ok = _two_workers(server.url)
    assert ok == 2 * CALLS  # the hook's retries still get everything through…
    assert state.counters()["rate_limited"] > 0, state.counters()  # …but only after the vendor said no
    print(f"\neach pacing alone: 429s {state.counters()['rate_limited']}")


def test_every_window_is_kept_across_processes(redis_store):
    from tribe_operators.http.budget import SharedBudget

    # Exact Online's shape: a minutely and a daily window, checked together (here 5 / 2 s and 8 / 60 s).
    windows = [(5, 2.0), (8, 60.0)]
    budget = SharedBudget(redis_store, "exact:app:division", windows, safety=0.0)
    other = SharedBudget(redis_store, "exact:app:division", windows, safety=0.0)  # another worker's
    started = time.monotonic()
    for _ in range(5):
        budget.acquire()
    assert time.monotonic() - started < 0.5  # the first window's five go at once…
    other.acquire()  # …the sixth waits for it to roll over, whoever sends it
    assert time.monotonic() - started >= 1.9
    other.acquire()
    other.acquire()  # eight: the long window is full now
    time.sleep(2.2)  # the short window empty again for sure (a loaded machine sends 6-8 late)
    assert budget._put() > 50  # the ninth would wait for the long window, not the short one
    assert budget.allowed_rate == pytest.approx(8 / 60.0)


def test_the_servers_count_corrects_the_shared_one(redis_store):
    from tribe_operators.http.budget import SharedBudget

    budget = SharedBudget(redis_store, "odoo:https://x.odoo.com", [(10, 60.0)], safety=0.0)
    budget.observe(remaining=4, reset_in_s=30.0)  # the server counted 6 we never sent (another client)
    assert [budget._put() for _ in range(4)] == [0.0] * 4
    assert budget._put() > 0  # 6 + 4 = 10: the window is full for every process
    budget.observe(remaining=0, reset_in_s=1.0)  # none left: everyone holds until the reset
    assert SharedBudget(redis_store, "odoo:https://x.odoo.com", [(10, 60.0)])._redis.pttl(budget._hold) > 0


def test_a_429s_retry_after_holds_every_process(redis_store):
    from tribe_operators.http.budget import SharedBudget

    one = SharedBudget(redis_store, "poweroffice:key", [(100, 1.0)])
    two = SharedBudget(redis_store, "poweroffice:key", [(100, 1.0)])
    one.penalise(1.0)
    started = time.monotonic()
    two.acquire()
    assert time.monotonic() - started >= 0.9
    assert json.dumps(one.windows) == json.dumps([[100, 1.1]])  # the window as paced: 2 % longer, ≥ 0.1 s


def _vendor_conn(conn_type: str, host: str, login: str, password: str, redis_store: str, **extra: object) -> str:
    return json.dumps({"conn_type": conn_type, "host": host, "login": login, "password": password,
                       "extra": {"rate_limit_store": redis_store, "max_attempts": 1, "timeout": 10, **extra}})


def test_two_tribe_client_ids_each_get_their_full_window_at_once(redis_store, monkeypatch):
    """Tribe counts per client id: two accounts on one Redis must not share a window (a key of
    the vendor's name alone would make the second wait for the first's whole window)."""
    from sandbox.tribe import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    limit, window_s = 12, 10.0  # sharing the window would show as a wait of ~10 s
    state, server = _tribe(limit, window_s)
    state.add_client("second-account", "second-secret")
    with server:
        for conn_id, (login, password) in {"tribe_a": (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
                                           "tribe_b": ("second-account", "second-secret")}.items():
            monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", _vendor_conn(
                "tribe_crm", server.url, login, password, redis_store, rate_limit=limit, rate_window_s=window_s))
        hooks = [TribeCrmHook(conn_id) for conn_id in ("tribe_a", "tribe_b")]
        statuses = [[hook.client.request("GET", "Datastore_Country", params={"$top": 1}).status_code
                     for _ in range(limit - 1)]  # the token call takes the window's last slot
                    for hook in hooks]
    assert statuses == [[200] * (limit - 1)] * 2
    assert state.counters()["rate_limited"] == 0, state.counters()
    assert [hook.client.limiter.waited_s for hook in hooks] == [0.0, 0.0]  # neither waited for the other


@pytest.mark.parametrize("vendor", ["poweroffice", "odoo"])
def test_two_accounts_of_one_vendor_keep_their_windows_apart(vendor, redis_store, monkeypatch):
    """PowerOffice counts per subscription key, Odoo per server: a full window of one account
    leaves another's empty, while a second worker on the same account sees it full."""
    from tribe_operators.systems.odoo.hook import OdooHook
    from tribe_operators.systems.poweroffice.hook import PowerOfficeHook

    rate = 5
    if vendor == "poweroffice":
        conns = {f"po_{n}": _vendor_conn("poweroffice_go", "http://127.0.0.1:9", "app", "client", redis_store,
                                         subscription_api_key=f"subscription-{n}", rate_per_second=rate)
                 for n in ("a", "b")}
    else:
        conns = {f"odoo_{n}": _vendor_conn("odoo", f"http://{n}.odoo.invalid", "admin", "api-key", redis_store,
                                           database="db", rate_per_second=rate)
                 for n in ("a", "b")}
    for conn_id, value in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)

    def limiter(conn_id: str):  # the hook's own limiter, built from its connection as a task builds it
        if vendor == "poweroffice":
            return PowerOfficeHook(conn_id).client.limiter
        return OdooHook(conn_id)._rpc.limiter

    from tribe_operators.http.budget import SharedBudget

    one, two = (limiter(conn_id) for conn_id in conns)
    assert isinstance(one, SharedBudget) and isinstance(two, SharedBudget)  # in Redis, not in-process
    assert [one._put() for _ in range(rate)] == [0.0] * rate  # account one's window: full
    assert one._put() > 0
    assert two._put() == 0.0  # account two: its own window, untouched
