"""Client-credentials tokens shared through the encrypted token store (``http.auth`` +
``store.tokens``), against the real PowerOffice and Tribe simulators over HTTP, on the link
database (PostgreSQL, and the embedded SQLite where it matters).

Each task process builds its own hook; without the store each fetched a token of its own. A
fresh hook here is what a fresh task process has (no token in memory); the race test starts
real OS processes."""
from __future__ import annotations

import json
import multiprocessing

import pytest
import sqlalchemy as sa

from tests.fixtures.shared_token_worker import call_once
from tribe_operators.store.schema import oauth_token
from tribe_operators.systems.poweroffice.hook import PowerOfficeHook
from tribe_operators.systems.tribe.hook import TribeCrmHook


@pytest.fixture
def fernet(monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())


@pytest.fixture
def sqlite_link_db(tmp_path, monkeypatch):
    """The embedded default: a SQLite file, migrated, as connection ``tribe_sync_db``."""
    from tribe_operators.store.engine import engine_for, migrate

    path = tmp_path / "links.db"
    engine = engine_for(url=f"sqlite:///{path}")
    migrate(engine)
    monkeypatch.setenv("AIRFLOW_CONN_TRIBE_SYNC_DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return engine


def _issued(sims, system):
    return (sims.po if system == "poweroffice" else sims.tribe).counters()["tokens_issued"]


def _race(system, processes=2):
    """``processes`` task processes of one connection, asking at the same moment."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=call_once, args=(system, barrier, results)) for _ in range(processes)]
    for proc in procs:
        proc.start()
    answers = [results.get(timeout=180) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    assert not [a for a in answers if "error" in a], answers
    return answers


@pytest.mark.parametrize(("system", "backend"), [("poweroffice", "link_db"), ("tribe", "sqlite_link_db")])
def test_processes_of_one_connection_asking_at_once_fetch_one_token(sims, fernet, system, backend, request):
    request.getfixturevalue(backend)
    answers = _race(system)
    assert _issued(sims, system) == 1
    assert sum(a["fetched"] for a in answers) == 1 and sum(a["shared"] for a in answers) == len(answers) - 1
    assert len({a["token"] for a in answers}) == 1  # all used the one token


def _po_call(hook):
    return list(hook.iter_records("Customers"))


def test_a_refused_stored_token_is_replaced_once_and_the_next_process_uses_the_new_one(sims, link_db, fernet):
    first = PowerOfficeHook()
    _po_call(first)
    sims.po.tokens.clear()  # the server forgets every token (revoked): the stored one is refused
    second = PowerOfficeHook()
    _po_call(second)  # the stored token → 401 → marked refused → one new token
    assert sims.po.counters()["unauthorized"] == 1
    assert (second.client.auth.tokens_shared, second.client.auth.tokens_fetched) == (1, 1)
    third = PowerOfficeHook()
    _po_call(third)
    assert third.client.auth.tokens_fetched == 0
    # The first process still holds the refused token: its 401 marks that token only, and it
    # takes the one the second stored instead of fetching again.
    _po_call(first)
    assert (first.client.auth.tokens_fetched, first.client.auth.tokens_shared) == (1, 1)
    assert sims.po.counters()["tokens_issued"] == 2
    assert sims.po.counters()["unauthorized"] == 2


def test_an_expired_stored_token_is_renewed_by_one_fetch_before_any_401(sims, link_db, fernet):
    def hook():
        made = TribeCrmHook()
        made.client.auth.clock = sims.tribe.clock.now  # one clock for both sides, moved below
        return made

    hook().count("Relation_Organization")
    sims.tribe.clock.advance(3600 - 30)  # inside the renewal margin (60 s) of the 1-hour token
    later = [hook() for _ in range(3)]
    for made in later:
        made.count("Relation_Organization")
    assert sims.tribe.counters()["tokens_issued"] == 2
    # One fetched, the others took its token; none took the old one (it would have been refused).
    assert [(m.client.auth.tokens_fetched, m.client.auth.tokens_shared) for m in later] == [(1, 0), (0, 1), (0, 1)]


def test_the_stored_token_is_encrypted_at_rest(sims, link_db, fernet):
    hook = PowerOfficeHook()
    _po_call(hook)
    token = hook.client.auth.token()
    with link_db.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(oauth_token))]
    assert len(rows) == 1
    raw = json.dumps(rows, default=str)
    assert token not in raw and token[:24] not in raw
    assert "po-client-key" not in raw  # the row's key digests the credentials
    assert rows[0]["conn_id"].startswith("poweroffice_default|")
    from tribe_operators.store.tokens import CLIENT_CREDENTIALS, TokenStore

    store = TokenStore(link_db, rows[0]["conn_id"], CLIENT_CREDENTIALS)
    assert store.read().access_token == token  # the same Fernet key reads it back


def test_a_row_the_fernet_key_cannot_read_is_replaced_not_an_error(sims, link_db, monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    _po_call(PowerOfficeHook())
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())  # the old key dropped
    again = PowerOfficeHook()
    _po_call(again)
    assert again.client.auth.tokens_fetched == 1
    third = PowerOfficeHook()
    _po_call(third)
    assert third.client.auth.tokens_fetched == 0 and sims.po.counters()["tokens_issued"] == 2


def test_other_credentials_on_the_same_connection_never_get_the_stored_token(sims, link_db, fernet, monkeypatch):
    from tests.fixtures.simulators import connection_env

    _po_call(PowerOfficeHook())
    sims.po.client_key = "po-client-key-2"  # another PowerOffice client behind the same connection name
    env = connection_env(sims.tribe_url, sims.po_url)["AIRFLOW_CONN_POWEROFFICE_DEFAULT"]
    monkeypatch.setenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT", env.replace('"po-client-key"', '"po-client-key-2"'))
    other = PowerOfficeHook()
    _po_call(other)
    assert (other.client.auth.tokens_fetched, other.client.auth.tokens_shared) == (1, 0)
