"""An unchanged third-party client against the Exact simulator: ``exactonline`` (ossobv, pinned),
over HTTPS with a throwaway CA that it trusts through SSL_CERT_FILE.

It speaks HTTPS only and verifies certificates (``http://`` raises BadProtocol), asserts Exact's
strict envelopes (only ``d``; in ``d`` only ``results``/``__next``; empty PUT/DELETE bodies),
reads the rate-limit headers (resets in epoch ms), refreshes 30 s before expiry or after a 401,
and follows ``SalesEntryLines.__deferred.uri``.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from exactonline.api import ExactApi
from exactonline.http import BadProtocol, HTTPError
from exactonline.storage.base import ExactOnlineConfig, MissingSetting

from sandbox.exact.clients import REDIRECT_URI, ExactServer
from sandbox.exact.seed import NL, NL_OLD


class MemoryStorage(ExactOnlineConfig):
    """The client's pluggable storage (get/set per section and option), in a dict."""

    def __init__(self, values: dict[tuple[str, str], str]) -> None:
        self.values = dict(values)

    def get(self, section, option):
        try:
            return self.values[(section, option)]
        except KeyError:
            raise MissingSetting(option) from None

    def set(self, section, option, value):
        self.values[(section, option)] = value


@pytest.fixture(scope="module")
def server():
    with ExactServer(tls=True) as exact:
        yield exact


@pytest.fixture
def exact(server, monkeypatch):
    server.state.reset()
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca.ca_file))  # read by ssl.create_default_context()
    return server


def _api(exact, base: str | None = None) -> ExactApi:
    base = base or exact.url
    storage = MemoryStorage({
        ("server", "auth_url"): f"{base}/api/oauth2/auth", ("server", "rest_url"): f"{base}/api",
        ("server", "token_url"): f"{base}/api/oauth2/token", ("application", "base_url"): REDIRECT_URI,
        ("application", "client_id"): exact.state.client_id,
        ("application", "client_secret"): exact.state.client_secret})
    return ExactApi(storage=storage)


def _authorized(exact) -> ExactApi:
    api = _api(exact)
    page = exact.http.get(api.create_auth_request_url(), allow_redirects=False, verify=exact.verify)
    assert page.status_code == 302
    api.request_token(parse_qs(urlsplit(page.headers["Location"]).query)["code"][0])  # the client's own exchange
    return api


def _requests(exact, key: str) -> int:
    return exact.state.counters()["requests"].get(key, 0)


def test_it_pages_150_accounts_in_three_calls(exact):
    for n in range(150 - len(exact.state.store.table(NL_OLD, "crm/Accounts"))):
        exact.state.insert(NL_OLD, "crm/Accounts", {"Name": f"Relatie {n:03d}"})
    api = _authorized(exact)
    divisions, current = api.get_divisions()
    assert current == NL and NL_OLD in divisions
    api.set_division(NL_OLD)  # probes crm/Accounts with a Name filter ('+' as a space)
    before = _requests(exact, "GET crm/accounts")
    relations = api.relations.filter(filter="Modified ge datetime'2000-01-01'")
    assert len(relations) == 150 and len({r["ID"] for r in relations}) == 150
    assert set(relations[0]) == {"__metadata", "ID", "Code", "Name"} and len(relations[0]["Code"]) == 18
    assert _requests(exact, "GET crm/accounts") - before == 3  # 60 + 60 + 30


def test_it_reads_a_sales_entry_with_its_deferred_lines_and_the_receivables_list(exact):
    api = _authorized(exact)
    api.set_division(NL)
    entry = api.invoices.get(invoice_number="TRIBE-2026001")
    assert isinstance(entry["SalesEntryLines"], list) and len(entry["SalesEntryLines"]) == 2
    assert {line["EntryID"] for line in entry["SalesEntryLines"]} == {entry["EntryID"]}
    open_items = api.receivables.filter(relation_id=entry["Customer"])
    assert [r["YourRef"] for r in open_items] == ["TRIBE-2026001"]
    everything = api.receivables.all()
    assert "TRIBE-2026000" not in {r["YourRef"] for r in everything}  # the seed's paid entry is not open


def test_it_survives_a_token_expiry(exact):
    api = _authorized(exact)
    api.set_division(NL)
    issued = exact.state.counters()["tokens_issued"]
    exact.state.advance(601)  # the server's clock: the access token is dead, the client does not know
    assert api.vatcodes.all()  # 401 -> the client refreshes (>= 570 s: allowed) and retries
    counters = exact.state.counters()
    assert counters["expired_token_used"] == 1 and counters["tokens_issued"] == issued + 1
    assert counters["too_early"] == 0 and counters["old_refresh_token_used"] == 0
    exact.state.advance(575)
    api.storage.set_access_expiry(0)  # now the client itself sees the expiry coming
    assert api.vatcodes.all()
    assert exact.state.counters()["tokens_issued"] == issued + 2 and exact.state.counters()["expired_token_used"] == 1


def test_its_unfiltered_relations_all_is_refused_with_the_mandatory_filter_400(exact):
    api = _authorized(exact)
    api.set_division(NL)
    with pytest.raises(HTTPError) as caught:
        api.relations.all()
    assert caught.value.code == 400
    assert b"This endpoint has mandatory filtering applied" in caught.value.response


def test_it_refuses_plain_http(exact):
    with ExactServer(exact.state) as plain:
        with pytest.raises(BadProtocol):
            _api(exact, plain.url).request_token("XTzM!code")
