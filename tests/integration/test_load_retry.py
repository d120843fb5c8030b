"""A load attempt that dies between a remote create and binding its link: the task's retry finds
the record by its import reference and links it — it never creates it a second time."""
from __future__ import annotations

import pytest

from tests.fixtures.simulators import connection_env

pytestmark = [pytest.mark.postgres]


def _steps(engine, attempt: int):
    from tribe_operators.mapping.settings import load_settings
    from tribe_operators.mapping.spec import load_stream
    from tribe_operators.sync.context import StepContext

    return StepContext(engine=engine, run_id="retry-1", spec=load_stream("poweroffice", "customers"),
                       settings=load_settings("poweroffice"), attempt=attempt)


def test_a_retry_links_what_the_dead_attempt_created(sims, link_db, monkeypatch):
    from sandbox.common import SlidingWindowLimiter
    from tribe_operators.registry import get_system
    from tribe_operators.store.links import LinkStore
    from tribe_operators.sync.steps import dedupe_step, extract_step, load_step, map_step

    sims.po.limiter = SlidingWindowLimiter(0, 1.0)
    for key, value in connection_env(sims.tribe_url, sims.po_url, po_extra={"rate_per_second": 100_000}).items():
        monkeypatch.setenv(key, value)
    ids = [sims.po.insert_customer(Name=f"Kunde {i} AS", MailAddress={"CountryCode": "NO"})["Id"] for i in range(3)]
    source, target = get_system("poweroffice").adapter("source"), get_system("tribe").adapter("target")
    ctx = _steps(link_db, attempt=1)
    extract_step(ctx, source)
    map_step(ctx, {"tribe": target})
    dedupe_step(ctx, target)

    real_bind, died = LinkStore.bulk_bind, []

    def dies_once(self, links):  # the process dies after Tribe created the first record
        if not died and any(link.entity == "customer" for link in links):
            died.append(links[0].external_id)
            raise RuntimeError("worker lost")
        return real_bind(self, links)

    monkeypatch.setattr(LinkStore, "bulk_bind", dies_once)
    with pytest.raises(RuntimeError, match="worker lost"):
        load_step(ctx, target, source)
    ours = lambda: [o for o in sims.tribe.all("Relation_Organization") if o.get("ImportId")]  # noqa: E731
    assert died and len(ours()) == 3  # all created, one left unbound

    load_step(_steps(link_db, attempt=2), get_system("tribe").adapter("target"), source)
    orgs = ours()
    assert sorted(o["ImportId"] for o in orgs) == sorted(f"poweroffice:{i}" for i in ids)  # none twice
    links = LinkStore(link_db, "poweroffice").bulk_to_internal("customer", [str(i) for i in ids])
    assert set(links.values()) == {o["ID"] for o in orgs}
