"""The public page's editor: officials edit their commune's page, the province supervisor the
province's. Text and hotline are saved as a draft, shown in a preview exactly as the public
will see them, and published only by an explicit step; planned talks are added and removed
directly (they are facts with a date, not prose). Every write is audited.

Another area's page answers 404, like any record of another commune.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from schema import public as limits
from schema.enums import Topic, choices, label
from schema.public import PageIn, PlannedTalkIn
from server.areas.queries import get_area
from server.i18n import _
from server.public import content, queries
from server.public.view import page_context
from server.vntime import today as vn_today
from server.web import SignedIn, db_id, page

EDITORS = {"roles": ("official", "supervisor")}
NO_STORE = {"Cache-Control": "no-store"}
# How far ahead a talk may be announced: far enough for a school year's plan.
AHEAD_DAYS = 366


async def editable_area(user: SignedIn, code: str) -> dict[str, Any]:
    """The page's area when the user may edit it — their own commune or province — else 404."""
    area = await queries.get_public_area(code)
    if area is None or area["id"] != user.area_id:
        raise NotFoundException()
    return area


def check_page(data: PageIn) -> tuple[dict[str, str], dict[str, Any]]:
    """Every error of the page form at once, and the content to keep when there is none."""
    errors: dict[str, str] = {}
    body_vi = content.normalise(data.body_vi)
    body_en = content.normalise(data.body_en)
    number = data.hotline_number.strip()
    hours = data.hotline_hours.strip()
    too_long = _("At most %(n)s characters.")
    if not body_vi:
        errors["body_vi"] = _("Write the page's text in Vietnamese.")
    elif len(body_vi) > limits.BODY_MAX:
        errors["body_vi"] = too_long % {"n": limits.BODY_MAX}
    if len(body_en) > limits.BODY_MAX:
        errors["body_en"] = too_long % {"n": limits.BODY_MAX}
    if number and not limits.phone_ok(number):
        errors["hotline_number"] = _("Enter a phone number: digits, spaces and dots only.")
    elif hours and not number:
        errors["hotline_number"] = _("Enter the hotline's number, or leave both fields empty.")
    if len(hours) > limits.HOURS_MAX:
        errors["hotline_hours"] = too_long % {"n": limits.HOURS_MAX}
    for field, value in (("body_vi", body_vi), ("body_en", body_en), ("hotline_hours", hours)):
        if field not in errors and not limits.text_ok(value):
            errors[field] = _("Remove the invisible control characters from this text.")
    kept = {"body_vi": content.stored_body(body_vi, "vi"),
            "body_en": content.stored_body(body_en, "en"),
            "hotline_number": number, "hotline_hours": hours}
    return errors, kept


def check_talk(data: PlannedTalkIn, today: dt.date) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    day: dt.date | None = None
    try:
        day = dt.date.fromisoformat(data.date.strip()) if data.date.strip() else None
    except ValueError:
        errors["date"] = _("Enter a date.")
    if day is None and "date" not in errors:
        errors["date"] = _("This field is required.")
    elif day is not None and day < today:
        errors["date"] = _("An announced talk is still to come: choose today or a later day.")
    elif day is not None and day > today + dt.timedelta(days=AHEAD_DAYS):
        errors["date"] = _("Announce talks at most a year ahead.")
    start = data.start_time.strip()
    if start and not limits.time_ok(start):
        errors["start_time"] = _("Enter a time as hours:minutes, e.g. 08:00.")
    place = data.place.strip()
    if not place:
        errors["place"] = _("This field is required.")
    elif len(place) > limits.PLACE_MAX:
        errors["place"] = _("At most %(n)s characters.") % {"n": limits.PLACE_MAX}
    elif not limits.text_ok(place):
        errors["place"] = _("Remove the invisible control characters from this text.")
    if data.topic not in {str(t.value) for t in Topic}:
        errors["topic"] = _("Choose one of the options.")
    return errors, {"date": day, "start_time": start, "place": place, "topic": data.topic}


async def _editor(request: Request, area: dict[str, Any], *, form: PageIn | None = None,
                  errors: dict[str, str] | None = None, talk_form: PlannedTalkIn | None = None,
                  talk_errors: dict[str, str] | None = None, status: int = 200) -> Template:
    draft = await queries.get_draft_page(area["id"])
    if form is None:
        form = PageIn(body_vi=draft["body_vi"] or content.standard_text("vi"),
                      body_en=draft["body_en"] or content.standard_text("en"),
                      hotline_number=draft["hotline_number"],
                      hotline_hours=draft["hotline_hours"])
    talks = [{**t, "topic_label": label(Topic, t["topic"]),
              "date_text": t["talk_date"].strftime("%d/%m/%Y")}
             for t in await queries.list_planned_talks(area["id"], vn_today())]
    response = page(request, "public/edit.html", area=area, form=form, errors=errors or {},
                    talk_form=talk_form or PlannedTalkIn(), talk_errors=talk_errors or {},
                    talks=talks, topics=choices(Topic), draft=draft, limits=limits,
                    today=vn_today().isoformat(),
                    published_flash=request.query_params.get("published") == "1")
    response.status_code = status
    response.headers.update(NO_STORE)
    return response


@get("/public", name="public-mine", include_in_schema=False, opt=EDITORS)
async def my_page(user: SignedIn) -> Redirect:
    area = await get_area(user.area_id)
    if area is None or area["level"] not in queries.PAGE_LEVELS:
        raise NotFoundException()
    return Redirect(path=f"/public/{area['code']}/edit", headers=NO_STORE)


@get("/public/{code:str}/edit", name="public-edit", include_in_schema=False, opt=EDITORS)
async def edit_page(request: Request, user: SignedIn, code: FromPath[str]) -> Template:
    return await _editor(request, await editable_area(user, code))


@post("/public/{code:str}/draft", name="public-draft", include_in_schema=False, opt=EDITORS)
async def save_draft(request: Request, user: SignedIn, code: FromPath[str],
                     data: URLEncodedBody[PageIn]) -> Response:
    area = await editable_area(user, code)
    errors, kept = check_page(data)
    if errors:
        return await _editor(request, area, form=data, errors=errors, status=422)
    await queries.save_draft(user.id, area["id"], kept)
    return Redirect(path=f"/public/{area['code']}/preview", status_code=303, headers=NO_STORE)


@get("/public/{code:str}/preview", name="public-preview", include_in_schema=False,
     opt=EDITORS)
async def preview(request: Request, user: SignedIn, code: FromPath[str]) -> Template:
    """The draft exactly as the public page will show it, with the publish button on top."""
    area = await editable_area(user, code)
    draft = await queries.get_draft_page(area["id"])
    context = await page_context(area, draft)
    return Template(template_name="public/page.html", headers=NO_STORE,
                    context={**context, "preview": True, "pending": draft["pending"],
                             "request": request})


@post("/public/{code:str}/publish", name="public-publish", include_in_schema=False,
      opt=EDITORS)
async def publish(user: SignedIn, code: FromPath[str]) -> Redirect:
    area = await editable_area(user, code)
    done = await queries.publish_draft(user.id, area["id"])
    return Redirect(path=f"/public/{area['code']}/edit" + ("?published=1" if done else ""),
                    status_code=303, headers=NO_STORE)


@post("/public/{code:str}/discard", name="public-discard", include_in_schema=False,
      opt=EDITORS)
async def discard(user: SignedIn, code: FromPath[str]) -> Redirect:
    area = await editable_area(user, code)
    await queries.discard_draft(user.id, area["id"])
    return Redirect(path=f"/public/{area['code']}/edit", status_code=303, headers=NO_STORE)


@post("/public/{code:str}/talks", name="public-talk-add", include_in_schema=False,
      opt=EDITORS)
async def add_talk(request: Request, user: SignedIn, code: FromPath[str],
                   data: URLEncodedBody[PlannedTalkIn]) -> Response:
    area = await editable_area(user, code)
    errors, talk = check_talk(data, vn_today())
    if errors:
        return await _editor(request, area, talk_form=data, talk_errors=errors, status=422)
    await queries.add_planned_talk(user.id, area["id"], talk)
    return Redirect(path=f"/public/{area['code']}/edit#talks", status_code=303, headers=NO_STORE)


@post("/public/{code:str}/talks/{talk_id:str}/remove", name="public-talk-remove",
      include_in_schema=False, opt=EDITORS)
async def remove_talk(user: SignedIn, code: FromPath[str], talk_id: FromPath[str]) -> Redirect:
    area = await editable_area(user, code)
    tid = db_id(talk_id)
    if tid is None or not await queries.remove_planned_talk(user.id, area["id"], tid):
        raise NotFoundException()
    return Redirect(path=f"/public/{area['code']}/edit#talks", status_code=303, headers=NO_STORE)


route_handlers = [my_page, edit_page, save_draft, preview, publish, discard, add_talk,
                  remove_talk]
