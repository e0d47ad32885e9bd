"""Sign-in with passkeys only: enrolment from an invitation link, discoverable-credential
sign-in, sign-out, and the language switch."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import msgspec
from litestar import Request, Response, get, post
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from server.auth import queries
from server.auth.store import SharedRateLimitMiddleware, renew_session
from server.i18n import N_, _
from server.settings import settings
from server.web import current_user, page

# Sign-in ceremonies are rate limited per client address, counted in the database: all app
# processes together allow this many.
SIGNIN_LIMIT = RateLimitConfig(rate_limit=("minute", settings.signin_rate_limit),
                               middleware_class=SharedRateLimitMiddleware)
LIMITED = [SIGNIN_LIMIT.middleware]


class RegisterOptionsIn(msgspec.Struct):
    token: str


class RegisterVerifyIn(msgspec.Struct):
    token: str
    credential: dict[str, Any]


class LoginVerifyIn(msgspec.Struct):
    credential: dict[str, Any]


def _fail(message: str, status: int = 400) -> Response:
    return Response({"ok": False, "detail": message}, status_code=status)


def _client_challenge(credential: dict[str, Any]) -> str | None:
    """The challenge the browser signed, read from clientDataJSON (verified again below)."""
    try:
        client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        return str(client_data["challenge"])
    except (KeyError, TypeError, ValueError):
        return None


# The session keeps the one challenge it asked for last: a challenge is answered only from
# the browser that asked for it, and asking again withdraws the previous one.
PENDING = "passkey_challenge"


async def _ask(request: Request, challenge: bytes, purpose: str, user_id: int | None) -> None:
    text = bytes_to_base64url(challenge)
    previous = request.session.get(PENDING)
    if isinstance(previous, dict) and isinstance(previous.get("challenge"), str):
        await queries.withdraw_challenge(previous["challenge"])
    await queries.store_challenge(text, purpose, user_id)
    request.set_session({**request.session, PENDING: {"challenge": text, "purpose": purpose}})


async def _answer(request: Request, credential: dict[str, Any],
                  purpose: str) -> tuple[str, dict[str, Any]] | None:
    """The challenge the browser signed and its row, if this session asked for it and it was
    not answered before; the session's pending challenge is used up either way."""
    pending = request.session.get(PENDING)
    request.set_session({k: v for k, v in request.session.items() if k != PENDING})
    challenge = _client_challenge(credential)
    if not challenge or not isinstance(pending, dict) or pending.get("purpose") != purpose \
            or pending.get("challenge") != challenge:
        return None
    stored = await queries.consume_challenge(challenge, purpose)
    return (challenge, stored) if stored is not None else None


async def _sign_in(request: Request, user: dict[str, Any]) -> None:
    await renew_session(request)
    request.clear_session()
    request.set_session({"user": {
        "id": user["id"], "role": user["role"], "name": user["display_name"],
        "area_id": user["area"], "area_name": user["area_name"],
        "area_level": user["area_level"],
    }})


INVITE_PROBLEMS = {
    "unknown": N_("This enrolment link is not valid. Ask your commune official for a new one."),
    "used": N_("This enrolment link has already been used. Sign in with your passkey, or ask "
               "your commune official for a new link."),
    "expired": N_("This enrolment link has expired. Ask your commune official for a new one."),
}


def invite_problem(state: str) -> str:
    return _(INVITE_PROBLEMS[state])


@get("/enrol/{token:str}", name="enrol", include_in_schema=False)
async def enrol_page(request: Request, token: FromPath[str]) -> Template:
    state, user = await queries.find_invitation(token)
    problem = invite_problem(state) if state != "ok" else None
    response = page(request, "auth/enrol.html", token=token, invited=user, problem=problem)
    response.status_code = 200 if state == "ok" else 410 if state != "unknown" else 404
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@post("/auth/passkey/register/options", name="register-options", middleware=LIMITED)
async def register_options(request: Request, data: JSONBody[RegisterOptionsIn]) -> Response:
    state, user = await queries.find_invitation(data.token)
    if user is None:
        return _fail(invite_problem(state), 410 if state != "unknown" else 404)
    existing = await queries.list_credential_ids(user["id"])
    options = generate_registration_options(
        rp_id=settings.rp_id, rp_name=settings.rp_name,
        user_name=user["display_name"], user_display_name=user["display_name"],
        user_id=user["handle"],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c))
                             for c in existing],
    )
    await _ask(request, options.challenge, "register", user["id"])
    return Response(content=options_to_json(options), media_type="application/json")


@post("/auth/passkey/register/verify", name="register-verify", middleware=LIMITED)
async def register_verify(request: Request, data: JSONBody[RegisterVerifyIn]) -> Response:
    state, user = await queries.find_invitation(data.token)
    if user is None:
        return _fail(invite_problem(state), 410 if state != "unknown" else 404)
    answered = await _answer(request, data.credential, "register")
    if answered is None or answered[1]["user"] != user["id"]:
        return _fail(_("This passkey request has expired. Please try again."))
    challenge = answered[0]
    try:
        verified = verify_registration_response(
            credential=parse_registration_credential_json(json.dumps(data.credential)),
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=settings.rp_id, expected_origin=settings.public_origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return _fail(_("The passkey could not be checked. Please try again."))
    ok = await queries.complete_enrolment(
        data.token, user["id"], bytes_to_base64url(verified.credential_id),
        verified.credential_public_key, verified.sign_count,
        label=request.headers.get("user-agent", "")[:120])
    if not ok:
        return _fail(invite_problem("used"), 410)
    await _sign_in(request, user)
    return Response({"ok": True, "redirect": "/"})


@post("/auth/passkey/login/options", name="login-options", middleware=LIMITED)
async def login_options(request: Request) -> Response:
    options = generate_authentication_options(
        rp_id=settings.rp_id, user_verification=UserVerificationRequirement.REQUIRED)
    await _ask(request, options.challenge, "login", None)
    return Response(content=options_to_json(options), media_type="application/json")


@post("/auth/passkey/login/verify", name="login-verify", middleware=LIMITED)
async def login_verify(request: Request, data: JSONBody[LoginVerifyIn]) -> Response:
    refused = _fail(_("This passkey is not known here. Ask your commune official for an "
                      "enrolment link."), 401)
    answered = await _answer(request, data.credential, "login")
    if answered is None:
        return _fail(_("This sign-in request has expired or was already used. Please try "
                       "again."), 401)
    challenge = answered[0]
    try:
        credential = parse_authentication_credential_json(json.dumps(data.credential))
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return refused
    stored = await queries.find_credential(bytes_to_base64url(credential.raw_id))
    if stored is None:
        return refused
    user = await queries.get_user_for_session(stored["user"])
    if user is None or not user["active"]:
        return refused
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=settings.rp_id, expected_origin=settings.public_origin,
            credential_public_key=stored["public_key"],
            credential_current_sign_count=stored["sign_count"],
            require_user_verification=True,
        )
    except WebAuthnException:
        return refused
    if credential.response.user_handle and credential.response.user_handle != user["handle"]:
        return refused
    if not await queries.record_sign_in(stored["id"], verified.new_sign_count, user["id"],
                                        user["area"]):
        return refused
    await _sign_in(request, user)
    next_url = unquote(request.query_params.get("next", "/"))
    return Response({"ok": True, "redirect": next_url if next_url.startswith("/") and
                     not next_url.startswith("//") else "/"})


@get("/signin", name="signin", include_in_schema=False)
async def signin_page(request: Request) -> Template | Redirect:
    if current_user(request) is not None:
        return Redirect(path="/")
    return page(request, "auth/signin.html")


@post("/auth/sign-out", name="sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Redirect:
    """Sign out. The phone's outbox, caseload and cached pages are cleared with
    `Clear-Site-Data` only when the page has checked the outbox first (and asked, if it held
    unsent records): it then sends `wipe=1`. Without it (no JavaScript, or a page that could
    not check) nothing is cleared here: the sign-in page wipes what holds nothing unsent and
    keeps unsent records for their owner, saying so (pwa/outbox.js)."""
    form = await request.form()
    request.clear_session()
    if form.get("wipe") == "1":
        return Redirect(path="/signin?signed_out=1",
                        headers={"Clear-Site-Data": '"cache", "storage"'}, status_code=303)
    return Redirect(path="/signin", status_code=303)


@get("/lang/{code:str}", name="set-language", include_in_schema=False)
async def set_language(request: Request, code: FromPath[str]) -> Redirect:
    back = request.query_params.get("next", "/")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    response = Redirect(path=back)
    if code in ("vi", "en"):
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax",
                            secure=settings.secure_cookies)
    return response


route_handlers = [enrol_page, register_options, register_verify, login_options, login_verify,
                  signin_page, sign_out, set_language]
