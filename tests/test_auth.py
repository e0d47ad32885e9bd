"""Passkey ceremonies, invitations, challenges and sessions, without a browser.

The full ceremony with a real authenticator is in test_passkeys_browser.py; here: every way
the endpoints can be misused answers clearly, never with a 500.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from tests.conftest import run


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
