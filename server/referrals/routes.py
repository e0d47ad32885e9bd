"""Referrals: the new-referral form, the providers officials maintain, and the JSON API (the
referral's page and its follow-up form live with the entries, `server.records.routes`)."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from schema.enums import Service, choices, label
from schema.records import ReferralStatusSubmit, ReferralSubmit, SubmitResult
from server.i18n import _
from server.records import listing
from server.records.api import RESPONSES, api_submit, submit_operation
from server.records.contexts import defaults, referral_context
from server.records.forms_web import envelope, handle_post, render_form
from server.web import SignedIn, page

WRITERS = {"roles": ("volunteer", "official")}
OFFICIAL = {"roles": ("official",)}


@get("/referrals/new", name="referral-new", include_in_schema=False, opt=WRITERS)
async def new_referral(request: Request, user: SignedIn, person: str = "",
                       q: str = "", shell: str = "") -> Response:
    values = await defaults("referral", user, {"person": person})
    return render_form(request, "referral", values=values, env=envelope(), errors={},
                       context=await referral_context(user, {**values, "q": q, "shell": shell}))


@post("/referrals", name="referral-save", include_in_schema=False, opt=WRITERS)
async def save_referral(request: Request, user: SignedIn) -> Response:
    return await handle_post(request, user, "referral", referral_context,
                             lambda rid, _data: f"/referrals/{rid}?saved=1")


class ProviderIn(msgspec.Struct):
    name: str = ""
    service: str = ""


async def _providers_page(request: Request, user: SignedIn, form: ProviderIn,
                          errors: dict[str, str], status: int = 200) -> Template:
    rows = await listing.list_providers(user.commune_id or 0, active_only=False)
    for r in rows:
        r["service_label"] = label(Service, r["service"])
    response = page(request, "referrals/providers.html", providers=rows, form=form,
                    errors=errors, services=choices(Service))
    response.status_code = status
    return response


@get("/referrals/providers", name="providers", include_in_schema=False, opt=OFFICIAL)
async def providers(request: Request, user: SignedIn) -> Template:
    return await _providers_page(request, user, ProviderIn(), {})


@post("/referrals/providers", name="provider-add", include_in_schema=False, opt=OFFICIAL)
async def add_provider(request: Request, user: SignedIn,
                       data: URLEncodedBody[ProviderIn]) -> Response:
    errors = {}
    name = data.name.strip()
    if not name:
        errors["name"] = _("This field is required.")
    elif len(name) > 120:
        errors["name"] = _("At most %(n)s characters.") % {"n": 120}
    if data.service not in {c for c, _l in choices(Service)}:
        errors["service"] = _("Choose one of the options.")
    if errors:
        return await _providers_page(request, user, data, errors, 422)
    await listing.create_provider(user, name, data.service)
    return Redirect(path="/referrals/providers", status_code=303)


@post("/referrals/providers/{provider_id:int}/active", name="provider-active",
      include_in_schema=False, opt=OFFICIAL)
async def toggle_provider(user: SignedIn, provider_id: int,
                          data: URLEncodedBody[dict[str, str]]) -> Redirect:
    await listing.set_provider_active(user, provider_id, data.get("active") == "1")
    return Redirect(path="/referrals/providers", status_code=303)


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
                              referral_id: uuid.UUID) -> Response[SubmitResult]:
    return await api_submit(request, user, "referral_status", referral=referral_id)


route_handlers = [new_referral, save_referral, providers, add_provider, toggle_provider,
                  api_referral, api_referral_status]
