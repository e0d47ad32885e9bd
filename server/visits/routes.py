"""Supervision visits: the new-visit form and its JSON API. (Entries — the volunteer's list,
an entry's page and corrections — are `server.records.routes`.)"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from schema.records import SubmitResult, VisitSubmit
from server.records.api import RESPONSES, api_submit, submit_operation
from server.records.contexts import defaults, visit_context
from server.records.forms_web import blank_form, handle_post
from server.web import BLANK_FORM, SignedIn

WRITERS = {"roles": ("volunteer", "official")}


@get("/visits/new", name="visit-new", include_in_schema=False,
     opt={**WRITERS, **BLANK_FORM})
async def new_visit(request: Request, user: SignedIn, person: FromQuery[str] = "",
                    q: FromQuery[str] = "", shell: FromQuery[str] = "") -> Response:
    """`?shell=1` is the blank form the service worker caches: no names in it; the phone
    fills the person picker from its own caseload."""
    values = await defaults("visit", user, {"person": person})
    context = await visit_context(user, {**values, "q": q, "shell": shell})
    return blank_form(request, "visit", values, context)


@post("/visits", name="visit-save", include_in_schema=False, opt=WRITERS)
async def save_visit(request: Request, user: SignedIn) -> Response:
    return await handle_post(request, user, "visit", visit_context)


@post("/api/v1/visits", name="api-visit", opt=WRITERS, tags=["records"],
      operation_class=submit_operation(VisitSubmit), responses=RESPONSES, status_code=201,
      summary="Record or correct a visit")
async def api_visit(request: Request, user: SignedIn) -> Response[SubmitResult]:
    return await api_submit(request, user, "visit")


route_handlers = [new_visit, save_visit, api_visit]
