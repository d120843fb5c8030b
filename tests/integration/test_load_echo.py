"""The load step reads each chunk back (the *echo* hashes) while the next chunk is written:
every chunk's links get their hashes, the last one's too, and when Tribe stops answering the
read-backs the step fails with every record it created linked, and its retry creates none twice."""
from __future__ import annotations

import pytest

from tests.fixtures.simulators import connection_env

pytestmark = [pytest.mark.postgres]

N = 450  # three chunks of the load step (200 rows each)
READ_BACK = "Organization/ID eq"  # the echo's filter on Tribe's customer relationships


def _context(engine, attempt: int = 1):
    from tribe_operators.mapping.settings import load_settings
    from tribe_operators.mapping.spec import load_stream
    from tribe_operators.sync.context import StepContext

    return StepContext(engine=engine, run_id="echo-1", spec=load_stream("poweroffice", "customers"),
                       settings=load_settings("poweroffice"), attempt=attempt)


def _prepare(sims, link_db, monkeypatch, **tribe_extra):
    from tribe_operators.registry import get_system
    from tribe_operators.sync.steps import dedupe_step, extract_step, map_step

    env = connection_env(sims.tribe_url, sims.po_url, po_extra={"rate_per_second": 100_000},
                         tribe_extra={"rate_limit": 100_000, "rate_window_s": 1, **tribe_extra})
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ids = [str(sims.po.insert_customer(Name=f"Kunde {i} AS", MailAddress={"CountryCode": "NO"})["Id"])
           for i in range(N)]
    source, target = get_system("poweroffice").adapter("source"), get_system("tribe").adapter("target")
    ctx = _context(link_db)
    extract_step(ctx, source)
    map_step(ctx, {"tribe": target})
    dedupe_step(ctx, target)
    return ids, source, target


def _ours(sims) -> list[dict]:
    return [o for o in sims.tribe.all("Relation_Organization") if str(o.get("ImportId")).startswith("poweroffice:")]


def test_every_chunk_is_read_back_the_last_one_too(sims, link_db, monkeypatch):
    from tribe_operators.store.links import LinkStore
    from tribe_operators.sync.steps import load_step

    ids, source, target = _prepare(sims, link_db, monkeypatch)
    counts = load_step(_context(link_db), target, source)
    assert counts["created"] == N
    links = LinkStore(link_db, "poweroffice").links_by_external("customer", ids)
    assert len(links) == N
    assert all(link.external_hash and link.tribe_modified_at for link in links.values())
    reads = sims.tribe.counters()["calls"]["GET Relationship_Organization_CommercialRelationship_Customer"]
    assert reads >= -(-N // 40)  # read back in pages of 40 ids


@pytest.fixture
def refusing(monkeypatch):
    """Simulators whose Tribe refuses the echo's read-backs (503) once ``refuse["on"]`` is set
    and more than one chunk of organisations exists."""
    from starlette.responses import JSONResponse

    from sandbox.common import ServerThread
    from sandbox.poweroffice import PowerOfficeState
    from sandbox.poweroffice import create_app as po_app
    from sandbox.tribe import TribeState
    from sandbox.tribe import create_app as tribe_app
    from tests.fixtures.simulators import Sims

    tribe, po, refuse = TribeState(), PowerOfficeState(), {"on": True, "refused": 0}
    app = tribe_app(tribe)

    @app.middleware("http")
    async def refuse_read_backs(request, call_next):
        if refuse["on"] and request.method == "GET" and READ_BACK in request.query_params.get("$filter", "") \
                and len(tribe.store.rows("Relationship_Organization_CommercialRelationship_Customer")) > 200:
            refuse["refused"] += 1
            return JSONResponse({"error": {"code": "503", "message": "Service unavailable"}}, status_code=503)
        return await call_next(request)

    with ServerThread(app) as t, ServerThread(po_app(po)) as p:
        yield Sims(tribe, po, t.url, p.url), refuse


def test_read_backs_refused_fail_the_step_but_lose_and_repeat_no_create(refusing, link_db, monkeypatch):
    from tribe_operators.exceptions import ServerError
    from tribe_operators.store.links import LinkStore
    from tribe_operators.sync.steps import load_step

    sims, refuse = refusing
    ids, source, target = _prepare(sims, link_db, monkeypatch, max_attempts=1)
    with pytest.raises(ServerError, match="503"):  # the echo's read-back, retried no more
        load_step(_context(link_db), target, source)
    assert refuse["refused"]
    created = _ours(sims)
    assert 200 < len(created) < N  # the step stopped before the last chunk
    bound = LinkStore(link_db, "poweroffice").bulk_to_internal("customer", ids)
    assert set(bound.values()) == {o["ID"] for o in created}  # every create linked

    refuse["on"] = False
    load_step(_context(link_db, attempt=2), target, source)
    imports = [o["ImportId"] for o in _ours(sims)]
    assert sorted(imports) == sorted(f"poweroffice:{i}" for i in ids)  # each once
