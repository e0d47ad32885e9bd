"""Counselling contacts: the list with the follow-up to-do list and the commune's hotline
counsellors (a setting officials keep), the form (full page, or the blank shell the phone
caches), closing a follow-up, and the JSON API."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from schema.enums import Asker, Channel, State, label
from schema.records import CounsellingSubmit, SubmitResult
from server.counselling import queries
from server.counselling.kind import counselling_context
from server.i18n import _
from server.records.api import RESPONSES, api_submit, submit_operation
from server.records.forms_web import blank_form, handle_post
from server.vntime import now as vn_now
from server.vntime import today as vn_today
from server.web import BLANK_FORM, CurrentUser, SignedIn, db_id, page

WRITERS = {"roles": ("volunteer", "official")}
OFFICIAL = {"roles": ("official",)}


async def _allowed(user: CurrentUser) -> None:
    if not await queries.may_record_counselling(user):
        raise PermissionDeniedException(
            _("Your commune has not named you as a counsellor."))


def _labelled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r["channel_label"] = label(Channel, r["channel"])
        r["asker_label"] = label(Asker, r["asker"])
        r["state_label"] = label(State, r["state"])
    return rows


@get("/counselling", name="counselling", include_in_schema=False, opt=WRITERS)
async def counselling_list(request: Request, user: SignedIn, saved: FromQuery[str] = "") -> Template:
    await _allowed(user)
    commune = user.commune_id or 0
    context: dict[str, Any] = {
        "contacts": _labelled(await queries.list_contacts(commune)) if user.is_official
        else [],
        "follow_ups": _labelled(await queries.list_open_follow_ups(user)),
        "saved": saved == "1"}
    if user.is_official:
        chosen = {c["id"] for c in await queries.list_counsellors(commune)}
        context["staff"] = [{**u, "chosen": u["id"] in chosen}
                            for u in await queries.list_staff(commune)]
    response = page(request, "counselling/list.html", **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@post("/counselling/counsellors", name="counselling-counsellors", include_in_schema=False,
      opt=OFFICIAL)
async def counselling_counsellors(request: Request, user: SignedIn) -> Redirect:
    form = await request.form()
    ids = [i for i in (db_id(v) for v in form.getall("user", [])) if i]
    await queries.set_counsellors(user, ids)
    return Redirect(path="/counselling?saved=1", status_code=303)


@post("/counselling/{entry_id:str}/close", name="counselling-close",
      include_in_schema=False, opt=WRITERS)
async def close_follow_up(request: Request, user: SignedIn, entry_id: FromPath[str]) -> Redirect:
    """Close a contact's follow-up (an action, audited); back to where it was clicked."""
    try:
        eid = uuid.UUID(entry_id)
    except ValueError:
        raise NotFoundException() from None
    form = await request.form()
    note = form.get("note")
    await queries.close_follow_up(user, eid, (note if isinstance(note, str) else "").strip()[:500])
    back = form.get("next")
    return Redirect(path=back if back in ("/", "/counselling") else "/counselling",
                    status_code=303)


@get("/counselling/new", name="counselling-new", include_in_schema=False,
     opt={**WRITERS, **BLANK_FORM})
async def new_counselling(request: Request, user: SignedIn, person: FromQuery[str] = "",
                          shell: FromQuery[str] = "") -> Response:
    """`?shell=1` is the blank form the service worker caches (no names in it)."""
    await _allowed(user)
    now = vn_now()
    values: dict[str, Any] = {"date": vn_today().isoformat(),
                              "time": "" if shell else now.strftime("%H:%M")}
    if db_id(person):
        values["person"] = person
    context = await counselling_context(user, {**values, "shell": shell})
    return blank_form(request, "counselling", values, context)


@post("/counselling", name="counselling-save", include_in_schema=False, opt=WRITERS)
async def save_counselling(request: Request, user: SignedIn) -> Response:
    return await handle_post(request, user, "counselling", counselling_context)


@post("/api/v1/counselling", name="api-counselling", opt=WRITERS, tags=["records"],
      operation_class=submit_operation(CounsellingSubmit), responses=RESPONSES,
      status_code=201, summary="Record or correct a counselling contact")
async def api_counselling(request: Request, user: SignedIn) -> Response[SubmitResult]:
    return await api_submit(request, user, "counselling")


route_handlers = [counselling_list, counselling_counsellors, close_follow_up, new_counselling,
                  save_counselling, api_counselling]
