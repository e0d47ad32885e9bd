"""Passkeys in real Chromium with a virtual authenticator: enrol, sign out, sign in, replay."""

from __future__ import annotations

import json

import pytest

from tests.browser import enrol

pytestmark = pytest.mark.browser


def test_enrol_sign_out_sign_in_and_replay_refused(phone, live_server):
    page = phone
    enrol(page, live_server, "Lê Thị Hoa")
    assert "Lê Thị Hoa" in page.inner_text("header")
    assert "Xã Hoằng Kim" in page.inner_text("header")
    creds = page.authenticator["cdp"].send(
        "WebAuthn.getCredentials", {"authenticatorId": page.authenticator["id"]})["credentials"]
    assert len(creds) == 1 and creds[0]["isResidentCredential"]

    # The enrolment link is single-use.
    rows = live_server.sql("SELECT COUNT(*) FROM invitation WHERE used_at IS NOT NULL")
    assert rows[0][0] >= 1

    page.click("#sign-out-form button")
    page.wait_for_url("**/signin?signed_out=1")
    assert page.goto(f"{live_server.url}/users").url.startswith(f"{live_server.url}/signin")

    # Sign in again, capturing the assertion the browser sends.
    captured: dict[str, str] = {}

    def keep(request):
        if request.url.startswith(f"{live_server.url}/auth/passkey/login/verify"):
            captured["body"] = request.post_data or ""

    page.on("request", keep)
    page.goto(f"{live_server.url}/signin")
    page.click("#passkey-signin")
    page.wait_for_url(f"{live_server.url}/")
    assert "Lê Thị Hoa" in page.inner_text("header")
    assert captured["body"]

    # Replaying the captured assertion is refused: its challenge was single-use.
    replay = page.evaluate(
        """async (body) => {
            const t = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const r = await fetch('/auth/passkey/login/verify', {method: 'POST', body,
              headers: {'Content-Type': 'application/json', 'x-csrftoken': t}});
            return {status: r.status, body: await r.json()};
        }""", captured["body"])
    assert replay["status"] == 401
    assert replay["body"]["ok"] is False
    assert json.loads(captured["body"])["credential"]["id"]

    # The counter was stored and grew.
    counts = live_server.sql("SELECT sign_count FROM credential")
    assert counts and counts[0][0] >= 1


def test_used_enrolment_link_shows_a_clear_page(phone, live_server):
    link = live_server.enrol_link("Trần Thị Cúc")
    phone.goto(link)
    phone.click("#passkey-enrol")
    phone.wait_for_url(f"{live_server.url}/")
    response = phone.goto(link)
    assert response.status == 410
    assert "đã được dùng" in phone.inner_text("main")



# Which conversion passkey.js used: the browser's own JSON methods, wrapped so that each call is
# reported to the test, or — with them removed, as on the older WebViews of cheap phones — its
# own base64url fallback. Both scripts run before any page script, on every page.
COUNT_NATIVE = """
    for (const [owner, name] of [[PublicKeyCredential, 'parseCreationOptionsFromJSON'],
                                 [PublicKeyCredential, 'parseRequestOptionsFromJSON'],
                                 [PublicKeyCredential.prototype, 'toJSON']]) {
      const original = owner[name];
      owner[name] = function (...args) { window.noteNative(name);
                                         return original.apply(this, args); };
    }
"""
REMOVE_NATIVE = """
    delete PublicKeyCredential.parseCreationOptionsFromJSON;
    delete PublicKeyCredential.parseRequestOptionsFromJSON;
    delete PublicKeyCredential.prototype.toJSON;
"""


def _enrol_sign_out_sign_in(page, live_server, name):
    page.goto(live_server.enrol_link(name))
    page.click("#passkey-enrol")
    page.wait_for_url(f"{live_server.url}/", timeout=15000)
    assert name in page.inner_text("header")
    page.click("#sign-out-form button")
    page.wait_for_url("**/signin?signed_out=1")
    page.goto(f"{live_server.url}/signin")
    page.click("#passkey-signin")
    page.wait_for_url(f"{live_server.url}/", timeout=15000)
    assert name in page.inner_text("header")


def test_passkeys_use_the_browsers_own_json_methods(phone, live_server):
    calls: list[str] = []

    def note(name: str) -> None:
        calls.append(name)

    phone.expose_function("noteNative", note)
    phone.context.add_init_script(COUNT_NATIVE)
    _enrol_sign_out_sign_in(phone, live_server, "Phạm Văn Dũng")
    assert calls == ["parseCreationOptionsFromJSON", "toJSON",
                     "parseRequestOptionsFromJSON", "toJSON"]


def test_passkeys_work_without_the_json_methods(phone, live_server):
    """The fallback: enrolment and sign-in where the browser lacks the JSON methods."""
    phone.context.add_init_script(REMOVE_NATIVE)
    phone.goto(f"{live_server.url}/signin")
    assert phone.evaluate("[typeof PublicKeyCredential.parseCreationOptionsFromJSON, "
                          "typeof PublicKeyCredential.parseRequestOptionsFromJSON, "
                          "typeof PublicKeyCredential.prototype.toJSON]") == ["undefined"] * 3
    before = live_server.sql("SELECT COUNT(*) FROM credential")[0][0]
    _enrol_sign_out_sign_in(phone, live_server, "Phạm Văn Dũng")
    rows = live_server.sql("SELECT sign_count FROM credential ORDER BY id")
    assert len(rows) == before + 1
    assert rows[-1][0] >= 1  # the sign-in's assertion was verified and its counter stored
