"""The Exact simulator's OAuth rules: codes, the 570 s rule, rotation (grace and strict), 30 days,
200 token calls a day, expired and revoked access tokens."""
from __future__ import annotations

import base64
import re


from sandbox.exact.clients import REDIRECT_URI
from sandbox.exact.options import ExactOptions

DAY = 86_400


def test_the_code_flow_answers_exacts_token_shape_and_a_code_works_once(exact):
    response = exact.http.get(f"{exact.url}/api/oauth2/auth", allow_redirects=False, params={
        "client_id": exact.state.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code", "state": "xyz",
        "force_login": "0"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?") and "state=xyz" in location
    code = exact.authorize()
    assert "!" in code  # real codes carry a '!' that must be URL-decoded

    first = exact.exchange(code)
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["expires_in"] == "600" and body["token_type"] == "bearer"  # a string, not a number
    again = exact.exchange(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_code_lives_three_minutes(exact):
    code = exact.authorize()
    exact.state.advance(181)
    assert exact.exchange(code).status_code == 400


def test_client_credentials_in_the_body_or_as_http_basic(exact):
    basic = base64.b64encode(f"{exact.state.client_id}:{exact.state.client_secret}".encode()).decode()
    response = exact.http.post(f"{exact.url}/api/oauth2/token", headers={"Authorization": f"Basic {basic}"},
                               data={"grant_type": "authorization_code", "code": exact.authorize(),
                                     "redirect_uri": REDIRECT_URI})
    assert response.status_code == 200, response.text
    wrong = exact.token(grant_type="authorization_code", code=exact.authorize(), redirect_uri=REDIRECT_URI,
                        client_secret="nope")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    as_json = exact.http.post(f"{exact.url}/api/oauth2/token", json={"grant_type": "refresh_token"})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"


def test_a_new_access_token_is_refused_before_570_seconds(exact):
    tokens = exact.authorize_and_exchange()
    exact.state.advance(560)
    early = exact.refresh(tokens["refresh_token"])
    assert early.status_code == 400
    assert early.json() == {"error": "access_denied", "error_description": "Rate limit exceeded: access_token not expired"}
    assert early.headers["Reason"] == "TooEarlyToRefreshTokens"
    assert exact.state.counters()["too_early"] == 1
    exact.state.advance(10.5)
    later = exact.refresh(tokens["refresh_token"])
    assert later.status_code == 200
    assert later.json()["refresh_token"] != tokens["refresh_token"]
    assert later.json()["access_token"] != tokens["access_token"]


def test_too_early_may_be_a_401_as_exacts_kb_text_says(exact):
    exact.state.options.too_early_status = 401
    tokens = exact.authorize_and_exchange()
    early = exact.refresh(tokens["refresh_token"])
    assert early.status_code == 401 and early.headers["Reason"] == "TooEarlyToRefreshTokens"


def test_strict_mode_a_replayed_refresh_token_gets_old_refresh_token_used(exact):
    exact.state.options.refresh_mode = "strict"
    tokens = exact.authorize_and_exchange()
    exact.state.advance(571)
    assert exact.refresh(tokens["refresh_token"]).status_code == 200
    replay = exact.refresh(tokens["refresh_token"])
    assert replay.status_code == 401
    assert replay.json() == {"error": "unauthorized_client", "error_description": "Old refresh token used."}
    assert exact.state.counters()["old_refresh_token_used"] == 1


def test_grace_mode_two_refreshes_fork_the_chain_and_the_unused_branch_dies(exact):
    assert exact.state.options.refresh_mode == "grace"  # the default
    tokens = exact.authorize_and_exchange()
    exact.state.advance(571)
    branch_a = exact.refresh(tokens["refresh_token"])
    branch_b = exact.refresh(tokens["refresh_token"])  # "at once": the old token still lives
    assert branch_a.status_code == branch_b.status_code == 200
    a, b = branch_a.json()["refresh_token"], branch_b.json()["refresh_token"]
    assert a != b
    exact.state.advance(571)
    assert exact.refresh(a).status_code == 200  # branch A is used ...
    dead = exact.refresh(b)  # ... so branch B and the common parent die
    assert dead.status_code == 401 and dead.json()["error_description"] == "Old refresh token used."
    assert exact.refresh(tokens["refresh_token"]).status_code == 401


def test_grace_mode_the_previous_token_lives_until_its_successor_is_used(exact):
    tokens = exact.authorize_and_exchange()
    exact.state.advance(571)
    successor = exact.refresh(tokens["refresh_token"]).json()["refresh_token"]
    exact.state.advance(571)
    assert exact.refresh(successor).status_code == 200
    assert exact.refresh(tokens["refresh_token"]).status_code == 401


def test_strict_mode_the_second_of_two_refreshes_at_once_is_refused(exact):
    exact.state.options.refresh_mode = "strict"
    tokens = exact.authorize_and_exchange()
    exact.state.advance(571)
    assert exact.refresh(tokens["refresh_token"]).status_code == 200
    assert exact.refresh(tokens["refresh_token"]).status_code == 401


def test_grant_scoped_570_rule_leaves_no_room_for_a_fork(exact):
    exact.state.options.too_early_scope = "grant"
    tokens = exact.authorize_and_exchange()
    exact.state.advance(571)
    assert exact.refresh(tokens["refresh_token"]).status_code == 200
    second = exact.refresh(tokens["refresh_token"])
    assert second.status_code == 400 and second.headers["Reason"] == "TooEarlyToRefreshTokens"


def test_a_refresh_token_unused_for_30_days_expires(exact):
    tokens = exact.authorize_and_exchange()
    exact.state.advance(29 * DAY)
    kept = exact.refresh(tokens["refresh_token"])
    assert kept.status_code == 200
    exact.state.advance(30 * DAY + 5)
    expired = exact.refresh(kept.json()["refresh_token"])
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_request"
    stamp = r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M"
    assert re.fullmatch(f"The refresh token expired at {stamp} and it is now {stamp}.",
                        expired.json()["error_description"])


def test_token_calls_per_day_are_capped_and_come_back_after_midnight_utc(exact):
    assert ExactOptions().token_calls_per_day == 200
    exact.state.options.token_calls_per_day = 3
    exact.state.options.token_errors_counted = "too_early"
    exact.state.advance_to_next(DAY)
    tokens = exact.authorize_and_exchange()                    # 1
    assert exact.refresh(tokens["refresh_token"]).status_code == 400  # 2: too early, still a call
    assert exact.refresh("Gcp7!unknown").status_code == 400    # 3: unknown token
    refused = exact.refresh(tokens["refresh_token"])           # 4
    assert refused.status_code == 400 and refused.headers["Reason"] == "TooManyTokenRequests"
    assert exact.state.counters()["token_calls"] == 4
    exact.state.advance_to_next(DAY)
    assert exact.refresh(tokens["refresh_token"]).status_code == 200


def test_an_access_token_lives_600_seconds(exact):
    access = exact.authorize_and_exchange()["access_token"]
    assert exact.get("system/Divisions", access).status_code == 200
    exact.state.advance(600)
    expired = exact.get("system/Divisions", access)
    assert expired.status_code == 401
    assert "access token expired" in expired.headers["WWW-Authenticate"]


def test_the_control_api_revokes_the_live_access_token(exact):
    tokens = exact.authorize_and_exchange()
    assert exact.get("system/Divisions", tokens["access_token"]).status_code == 200
    assert exact.http.post(f"{exact.url}/_sandbox/tokens/revoke", json={}).json() == {"revoked": 1}
    refused = exact.get("system/Divisions", tokens["access_token"])
    assert refused.status_code == 401 and "expired" not in refused.headers["WWW-Authenticate"]
    assert exact.state.counters()["revoked_token_used"] == 1
    assert exact.refresh(tokens["refresh_token"]).status_code == 400  # revoked, yet still too early to renew
    exact.state.advance(571)
    fresh = exact.refresh(tokens["refresh_token"]).json()["access_token"]
    assert exact.get("system/Divisions", fresh).status_code == 200


def test_a_new_consent_ends_the_app_users_previous_chain(exact):
    first = exact.authorize_and_exchange()
    exact.authorize_and_exchange()
    exact.state.advance(571)
    assert exact.refresh(first["refresh_token"]).status_code == 401


def test_the_auth_page_can_ask_for_consent(exact):
    exact.state.options.auto_consent = False
    page = exact.http.get(f"{exact.url}/api/oauth2/auth", allow_redirects=False, params={
        "client_id": exact.state.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code"})
    assert page.status_code == 200 and "<form" in page.text
    consent = exact.http.post(f"{exact.url}/api/oauth2/auth", allow_redirects=False, data={
        "client_id": exact.state.client_id, "redirect_uri": REDIRECT_URI, "response_type": "code", "consent": "yes"})
    assert consent.status_code == 302 and "code=" in consent.headers["Location"]
