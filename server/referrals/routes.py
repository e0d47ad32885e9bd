"""Referrals: the new-referral form and the JSON API (the referral's page and its follow-up form
live with the entries, `server.records.routes`; the providers officials maintain, with
`server.referrals.provider_routes`)."""

from __future__ import annotations

import uuid

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from schema.records import ReferralStatusSubmit, ReferralSubmit, SubmitResult
from server.records.api import RESPONSES, api_submit, submit_operation
from server.records.contexts import defaults, referral_context
from server.records.forms_web import blank_form, handle_post
from server.web import BLANK_FORM, SignedIn

WRITERS = {"roles": ("volunteer", "official")}


@get("/referrals/new", name="referral-new", include_in_schema=False,
     opt={**WRITERS, **BLANK_FORM})
async def new_referral(request: Request, user: SignedIn, person: FromQuery[str] = "",
                       q: FromQuery[str] = "", shell: FromQuery[str] = "") -> Response:
    values = await defaults("referral", user, {"person": person})
    context = await referral_context(user, {**values, "q": q, "shell": shell})
    return blank_form(request, "referral", values, context)


@post("/referrals", name="referral-save", include_in_schema=False, opt=WRITERS)
async def save_referral(request: Request, user: SignedIn) -> Response:
    return await handle_post(request, user, "referral", referral_context,
                             lambda rid, _data: f"/referrals/{rid}?saved=1")


@post("/api/v1/referrals", name="api-referral", opt=WRITERS, tags=["records"],
      operation_class=submit_operation(ReferralSubmit), responses=RESPONSES, status_code=201,
      summary="Record or correct a referral")
async def api_referral(request: Request, user: SignedIn) -> Response[SubmitResult]:
    return await api_submit(request, user, "referral")


@post("/api/v1/referrals/{referral_id:uuid}/status", name="api-referral-status", opt=WRITERS,
      tags=["records"], operation_class=submit_operation(ReferralStatusSubmit),
      responses=RESPONSES, status_code=201,
      summary="Record the next step of a referral's follow-up")
async def api_referral_status(request: Request, user: SignedIn,
                              referral_id: FromPath[uuid.UUID]) -> Response[SubmitResult]:
    return await api_submit(request, user, "referral_status", referral=referral_id)


route_handlers = [new_referral, save_referral, api_referral, api_referral_status]
