"""Outreach talks: the new-talk form and its JSON API."""

from __future__ import annotations

from litestar import Request, Response, get, post

from schema.records import SubmitResult, TalkSubmit
from server.records.api import RESPONSES, api_submit, submit_operation
from server.records.contexts import defaults, talk_context
from server.records.forms_web import blank_form, handle_post
from server.web import BLANK_FORM, SignedIn

WRITERS = {"roles": ("volunteer", "official")}


@get("/talks/new", name="talk-new", include_in_schema=False,
     opt={**WRITERS, **BLANK_FORM})
async def new_talk(request: Request, user: SignedIn) -> Response:
    values = await defaults("talk", user, {})
    return blank_form(request, "talk", values, await talk_context(user, values))


@post("/talks", name="talk-save", include_in_schema=False, opt=WRITERS)
async def save_talk(request: Request, user: SignedIn) -> Response:
    return await handle_post(request, user, "talk", talk_context)


@post("/api/v1/talks", name="api-talk", opt=WRITERS, tags=["records"],
      operation_class=submit_operation(TalkSubmit), responses=RESPONSES, status_code=201,
      summary="Record or correct an outreach talk")
async def api_talk(request: Request, user: SignedIn) -> Response[SubmitResult]:
    return await api_submit(request, user, "talk")


route_handlers = [new_talk, save_talk, api_talk]
