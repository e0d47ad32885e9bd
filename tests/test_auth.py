"""Passkey ceremonies, invitations, challenges and sessions, without a browser.

The full ceremony with a real authenticator is in test_passkeys_browser.py; here: every way
the endpoints can be misused answers clearly, never with a 500.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from litestar.testing import TestClient

from tests.conftest import run, with_csrf
from tests.soft_authenticator import SoftPasskey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _invite(user_id: int) -> str:
    from server.auth.queries import create_invitation

    return run(create_invitation(user_id, None))


def test_register_options_follow_the_w3c_json_shape(world, client):
    token = _invite(world["bob"])
    r = client.post("/auth/passkey/register/options", json={"token": token})
    assert r.status_code == 201, r.text
    opts = r.json()
    assert opts["rp"]["id"] == "localhost"
    assert opts["authenticatorSelection"]["residentKey"] == "required"
    assert opts["authenticatorSelection"]["userVerification"] == "required"
    assert opts["user"]["name"] == "Nguyễn Văn Bình"
    assert len(base64.urlsafe_b64decode(opts["user"]["id"] + "==")) == 32  # random handle


def test_bad_tokens_get_clear_answers(world, client):
    from server.auth.tables import Invitation

    assert client.post("/auth/passkey/register/options",
                       json={"token": "nope"}).status_code == 404
    token = _invite(world["bob"])
    run(Invitation.update({Invitation.expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(
        hours=1)}).where(Invitation.user == world["bob"]))
    r = client.post("/auth/passkey/register/options", json={"token": token})
    assert r.status_code == 410 and "hết hạn" in r.json()["detail"]
    page = client.get(f"/enrol/{token}")
    assert page.status_code == 410 and "hết hạn" in page.text


def test_a_new_invitation_withdraws_the_old_one(world, client):
    old = _invite(world["bob"])
    new = _invite(world["bob"])
    assert client.get(f"/enrol/{old}").status_code == 404
    assert client.get(f"/enrol/{new}").status_code == 200


def test_register_verify_with_garbage_is_refused(world, client):
    token = _invite(world["bob"])
    client.post("/auth/passkey/register/options", json={"token": token})
    for credential in ({}, {"response": {"clientDataJSON": "!!"}}, {"id": 1, "response": []}):
        r = client.post("/auth/passkey/register/verify",
                        json={"token": token, "credential": credential})
        assert r.status_code == 400, (credential, r.text)
        assert r.json()["ok"] is False


def test_register_verify_with_a_foreign_challenge_is_refused(world, client):
    token = _invite(world["bob"])
    client.post("/auth/passkey/register/options", json={"token": token})
    client_data = _b64(json.dumps({"type": "webauthn.create", "challenge": _b64(b"x" * 32),
                                   "origin": "http://localhost:8000"}).encode())
    r = client.post("/auth/passkey/register/verify", json={
        "token": token, "credential": {"id": "AA", "rawId": "AA", "type": "public-key",
                                       "response": {"clientDataJSON": client_data,
                                                    "attestationObject": "AA"}}})
    assert r.status_code == 400


def test_login_options_are_discoverable_and_single_use(client):
    from server.auth.queries import consume_challenge

    opts = client.post("/auth/passkey/login/options").json()
    assert "allowCredentials" not in opts or opts["allowCredentials"] == []
    assert opts["userVerification"] == "required"
    assert run(consume_challenge(opts["challenge"], "login")) is not None
    assert run(consume_challenge(opts["challenge"], "login")) is None


def test_expired_challenges_are_refused(client):
    from server.auth.queries import consume_challenge
    from server.auth.tables import Challenge

    opts = client.post("/auth/passkey/login/options").json()
    run(Challenge.update({Challenge.expires_at: dt.datetime.now(dt.UTC)}).where(
        Challenge.challenge == opts["challenge"]))
    assert run(consume_challenge(opts["challenge"], "login")) is None


def test_login_verify_with_garbage_or_unknown_credential_is_401(client):
    assert client.post("/auth/passkey/login/verify", json={"credential": {}}).status_code == 401
    opts = client.post("/auth/passkey/login/options").json()
    client_data = _b64(json.dumps({"type": "webauthn.get", "challenge": opts["challenge"],
                                   "origin": "http://localhost:8000"}).encode())
    r = client.post("/auth/passkey/login/verify", json={"credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {"clientDataJSON": client_data, "authenticatorData": "AAAA",
                     "signature": "AAAA", "userHandle": "AAAA"}}})
    assert r.status_code == 401 and r.json()["ok"] is False
    assert client.post("/auth/passkey/login/verify", content=b"not json",
                       headers={"content-type": "application/json"}).status_code == 400


def test_sign_in_is_rate_limited(client):
    from server.settings import settings

    codes = [client.post("/auth/passkey/login/options").status_code
             for _ in range(settings.signin_rate_limit + 1)]
    assert codes[-1] == 429


def test_sessions_live_in_the_database_and_end_on_revoke(world, as_user):
    from server.auth.queries import revoke_passkeys
    from server.auth.tables import Session

    bob = as_user(world["bob"])
    assert bob.get("/").status_code == 200
    assert run(Session.count().where(Session.user == world["bob"])) == 1
    key = run(Session.select(Session.key).where(Session.user == world["bob"]).first())["key"]
    run(revoke_passkeys(world["bob"], world["alice"], world["A"]))
    assert run(Session.count().where(Session.user == world["bob"])) == 0
    r = bob.get("/", follow_redirects=False)
    assert r.status_code in (302, 303)
    # A request that was in flight when the sessions ended cannot write one back.
    from server.auth.store import DatabaseSessionStore

    run(DatabaseSessionStore().set(key, json.dumps({"user": {"id": world["bob"]}}), 3600))
    assert bob.get("/", follow_redirects=False).status_code in (302, 303)


def test_an_expired_session_signs_nobody_in_and_is_removed(world, as_user):
    """The session row's expiry is read with the row (one statement a request): past it, the
    browser is anonymous again and the row is gone."""
    from server.auth.tables import Session

    bob = as_user(world["bob"])
    assert bob.get("/").status_code == 200
    key = run(Session.select(Session.key).where(Session.user == world["bob"]).first())["key"]
    run(Session.update({Session.expires_at: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)})
        .where(Session.key == key))
    assert bob.get("/").status_code == 200  # not yet expired: still signed in
    run(Session.update({Session.expires_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)})
        .where(Session.key == key))
    r = bob.get("/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/signin"
    assert run(Session.count().where(Session.key == key)) == 0
    api = bob.get("/api/v1/me/caseload")
    assert api.status_code == 401


def test_sign_out_clears_the_session_and_the_phone(world, as_user):
    bob = as_user(world["bob"])
    # `wipe=1`: the page has read the outbox and the user chose (see tests/test_sync.py).
    r = bob.post("/auth/sign-out", data={"wipe": "1"}, follow_redirects=False)
    assert r.status_code == 303
    assert "storage" in r.headers["clear-site-data"]
    assert bob.get("/", follow_redirects=False).status_code in (302, 303)


def test_official_revokes_a_users_passkeys(world, as_user):
    from server.auth.tables import Credential

    run(Credential.insert(Credential(user=world["bob"], credential_id="abc",
                                     public_key=b"k", sign_count=0)))
    r = as_user(world["alice"]).post(f"/users/{world['bob']}/revoke", follow_redirects=False)
    assert r.status_code == 303
    assert run(Credential.count().where(Credential.user == world["bob"])) == 0


# ---------------------------------------------------------------- real passkeys, several browsers


def _browser(app) -> TestClient:
    """Another browser: its own cookie jar, a CSRF token, nobody signed in."""
    return with_csrf(TestClient(app, base_url="http://localhost:8000"))


def _enrol(client, user_id: int) -> SoftPasskey:
    token = _invite(user_id)
    key = SoftPasskey()
    opts = client.post("/auth/passkey/register/options", json={"token": token}).json()
    r = client.post("/auth/passkey/register/verify",
                    json={"token": token, "credential": key.register(opts)})
    assert r.status_code == 201 and r.json()["ok"] is True, r.text
    return key


def _login(client, key: SoftPasskey, opts: dict | None = None):
    opts = opts or client.post("/auth/passkey/login/options").json()
    return client.post("/auth/passkey/login/verify", json={"credential": key.assert_(opts)})


def _is_anonymous_with(app, session_key: str) -> bool:
    """Replay a session cookie in a fresh browser: pages send it to sign-in, the API says 401."""
    replay = TestClient(app, base_url="http://localhost:8000")
    replay.cookies.set("session", session_key)
    page = replay.get("/", follow_redirects=False)
    api = replay.get("/api/v1/me/updates")
    if page.status_code == 302 and page.headers["location"].startswith("/signin"):
        assert api.status_code == 401
        return True
    assert page.status_code == 200 and api.status_code == 200
    return False


def test_enrolment_then_sign_in_with_a_real_passkey(world, app):
    browser = _browser(app)
    key = _enrol(browser, world["bob"])
    assert "Nguyễn Văn Bình" in browser.get("/").text  # enrolment signs in
    phone = _browser(app)
    r = _login(phone, key)
    assert r.status_code == 201 and r.json() == {"ok": True, "redirect": "/"}
    assert "Nguyễn Văn Bình" in phone.get("/").text


def test_enrolment_gives_a_new_session_id_and_a_planted_one_stays_anonymous(world, app):
    browser = _browser(app)
    # Where the browser keeps the app's cookies, so the app's own cookie replaces it.
    browser.cookies.set("session", "planted-by-someone-else", domain="localhost.local")
    _enrol(browser, world["bob"])
    key = browser.cookies.get("session")
    assert key and key != "planted-by-someone-else"
    assert not _is_anonymous_with(app, key)
    assert _is_anonymous_with(app, "planted-by-someone-else")


def test_signing_in_again_gives_a_new_session_id_and_ends_the_old_one(world, app):
    from server.auth.store import ENDED
    from server.auth.tables import Session

    browser = _browser(app)
    key = _enrol(browser, world["bob"])
    before = browser.cookies.get("session")
    assert before and not _is_anonymous_with(app, before)
    r = _login(browser, key)  # already signed in, signs in again
    assert r.status_code == 201
    after = browser.cookies.get("session")
    assert after and after != before
    assert _is_anonymous_with(app, before)
    assert not _is_anonymous_with(app, after)
    # The old row is a tombstone: a request still in flight cannot write it back.
    assert run(Session.select(Session.data).where(Session.key == before).first()) == \
        {"data": ENDED}


def test_a_challenge_is_answered_only_in_the_browser_that_asked(world, app):
    key = _enrol(_browser(app), world["bob"])
    a, b = _browser(app), _browser(app)
    opts = a.post("/auth/passkey/login/options").json()
    stolen = _login(b, key, opts)
    assert stolen.status_code == 401 and stolen.json()["ok"] is False
    assert b.get("/", follow_redirects=False).status_code == 302
    # The browser that asked can still answer it (the other one could not even use it up).
    assert _login(a, key, opts).status_code == 201


def test_asking_again_withdraws_the_previous_challenge(world, app):
    from server.auth.tables import Challenge

    key = _enrol(_browser(app), world["bob"])
    browser = _browser(app)
    first = browser.post("/auth/passkey/login/options").json()
    browser.post("/auth/passkey/login/options")
    assert not run(Challenge.exists().where(Challenge.challenge == first["challenge"]))
    r = _login(browser, key, first)
    assert r.status_code == 401 and r.json()["ok"] is False
    assert browser.get("/", follow_redirects=False).status_code == 302
    assert _login(browser, key).status_code == 201


def test_a_registration_challenge_is_bound_to_its_browser_too(world, app):
    token = _invite(world["bob"])
    a, b = _browser(app), _browser(app)
    opts = a.post("/auth/passkey/register/options", json={"token": token}).json()
    r = b.post("/auth/passkey/register/verify",
               json={"token": token, "credential": SoftPasskey().register(opts)})
    assert r.status_code == 400 and r.json()["ok"] is False
    r = a.post("/auth/passkey/register/verify",
               json={"token": token, "credential": SoftPasskey().register(opts)})
    assert r.status_code == 201


def test_a_replayed_assertion_is_refused(world, app):
    key = _enrol(_browser(app), world["bob"])
    browser = _browser(app)
    opts = browser.post("/auth/passkey/login/options").json()
    answer = key.assert_(opts)
    assert browser.post("/auth/passkey/login/verify",
                        json={"credential": answer}).status_code == 201
    replay = browser.post("/auth/passkey/login/verify", json={"credential": answer})
    assert replay.status_code == 401 and replay.json()["ok"] is False


# ---------------------------------------------------------------- one rate limit for all processes


def test_the_sign_in_rate_limit_is_shared_by_app_processes(fresh_db):
    """Two app instances (as two worker processes would be) over one database allow the
    limit together, not each."""
    from concurrent.futures import ThreadPoolExecutor

    from server.app import create_app
    from server.settings import settings

    limit = settings.signin_rate_limit
    workers = [with_csrf(TestClient(create_app(), base_url="http://localhost:8000"))
               for _ in range(2)]

    def ask(n: int) -> int:
        return workers[n % 2].post("/auth/passkey/login/options").status_code

    with ThreadPoolExecutor(4) as pool:  # concurrent, as requests to two processes are
        codes = list(pool.map(ask, range(limit + 10)))
    assert codes.count(201) == limit
    assert codes.count(429) == 10
    assert workers[0].post("/auth/passkey/login/options").status_code == 429


def test_attempts_are_counted_atomically_under_concurrency(fresh_db):
    """Many concurrent counts of one client each get their own number: no count is lost
    (a read-then-write would hand two requests the same one)."""
    import asyncio

    from server.auth.store import count_attempt

    async def burst() -> list[int]:
        return [hits for hits, _reset in await asyncio.gather(
            *(count_attempt("SharedRateLimitMiddleware::203.0.113.9", 60) for _ in range(40)))]

    assert sorted(run(burst())) == list(range(1, 41))


def test_a_browser_whose_session_was_ended_can_sign_in_again(world, app):
    """Its cookie names a tombstone, which nothing may write: the sign-in (and the challenge
    it asks for first) goes to a new session id."""
    from server.auth.store import end_sessions_of

    browser = _browser(app)
    key = _enrol(browser, world["bob"])
    ended = browser.cookies.get("session")
    run(end_sessions_of(world["bob"]))
    assert browser.get("/", follow_redirects=False).status_code == 302
    r = _login(browser, key)
    assert r.status_code == 201, r.text
    assert browser.cookies.get("session") != ended
    assert "Nguyễn Văn Bình" in browser.get("/").text
