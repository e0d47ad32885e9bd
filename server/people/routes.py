"""The people register for officials (list, person page, create/edit/close, category history,
management team, audit trail) and the person page a volunteer sees for their own caseload.

Person pages are `Cache-Control: no-store`, and every view is written to the audit log.
Supervisors (above the commune) have no person pages at all: 403 by role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from schema.people import CategoryIn, CloseIn, PersonIn, TeamIn
from server.areas.queries import list_villages
from server.fmt import date
from server.i18n import _
from server.people import change_queries, queries
from server.people.forms import check_category, check_close, check_person
from server.people.labels import (
    CATEGORIES,
    END_REASONS,
    SEXES,
    category_label,
    end_reason_label,
    sex_label,
)
from server.rowtext import once
from server.vntime import today
from server.web import SignedIn, db_id, page

OFFICIAL = {"roles": ("official",)}
FIELD_USERS = {"roles": ("official", "volunteer")}


def private(response: Template, status: int = 200) -> Template:
    """Person data: never kept by any cache, the browser's included."""
    response.headers["Cache-Control"] = "no-store"
    response.status_code = status
    return response


def vocab() -> dict[str, Any]:
    return {"categories": CATEGORIES, "end_reasons": END_REASONS, "sexes": SEXES,
            "sex_label": sex_label, "category_label": category_label,
            "end_reason_label": end_reason_label, "today": today()}


async def _commune(user: SignedIn) -> int:
    # Officials always belong to a commune; a misconfigured account sees nobody.
    if user.commune_id is None:
        raise NotFoundException()
    return user.commune_id


# ---------------------------------------------------------------- the register


@get("/people", name="people", include_in_schema=False, opt=OFFICIAL)
async def people_list(request: Request, user: SignedIn) -> Template:
    commune = await _commune(user)
    f = queries.PeopleFilter(**{k: v for k, v in request.query_params.items()
                                if k in queries.PeopleFilter.__struct_fields__})
    choices = await queries.list_register_choices(commune)
    rows, total = await queries.list_people(commune, f, freq=choices["freq"])
    day = once(date)
    for p in rows:
        p["due_day"] = day(p["next_due"]) if p["next_due"] else ""
    pages = max(1, -(-total // queries.PAGE_SIZE))
    params = {k: getattr(f, k) for k in queries.PeopleFilter.__struct_fields__ if k != "page"}

    def page_url(n: int) -> str:
        return "/people?" + urlencode({**params, "page": n})

    return private(page(
        request, "people/list.html", "people/_rows.html", rows=rows, total=total, f=f,
        page_no=f.page_no, pages=pages, page_url=page_url,
        villages=choices["villages"], supporters=choices["supporters"],
        export_url="/people/export.xlsx?" + urlencode(params), **vocab()))


async def _form_context(user: SignedIn) -> dict[str, Any]:
    return {"villages": await list_villages(user.commune_id or 0), **vocab()}


@get("/people/new", name="person-new", include_in_schema=False, opt=OFFICIAL)
async def person_new(request: Request, user: SignedIn) -> Template:
    form = PersonIn(start_date=today().isoformat())
    return private(page(request, "people/form.html", form=form, errors={}, person=None,
                        **await _form_context(user)))


@post("/people", name="person-create", include_in_schema=False, opt=OFFICIAL)
async def person_create(request: Request, user: SignedIn,
                        data: URLEncodedBody[PersonIn]) -> Template | Redirect:
    commune = await _commune(user)
    context = await _form_context(user)
    errors, clean = check_person(data, {v["id"] for v in context["villages"]}, new=True)
    if errors:
        return private(page(request, "people/form.html", form=data, errors=errors, person=None,
                            **context), 422)
    person_id, _code = await change_queries.create_person(
        actor_id=user.id, commune_id=commune, fields=clean["fields"],
        category=clean["category"], start=clean["start"], planned_end=clean["planned_end"])
    return Redirect(path=f"/people/{person_id}?saved=1", status_code=303)


@get("/people/{person_id:int}", name="person", include_in_schema=False, opt=FIELD_USERS)
async def person_page(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
    person, due = await queries.get_person_with_due(user, person_id)
    await change_queries.record_view(actor_id=user.id, person=person)
    context: dict[str, Any] = {
        "person": person, "due": due,
        "periods": await queries.list_periods(person_id),
        "team": await queries.list_team(person_id, person["commune"],
                                        include_ended=user.is_official),
        "saved": request.query_params.get("saved") == "1", **vocab()}
    if user.is_official:
        on_team = {t["user"] for t in context["team"] if t["end_date"] is None}
        context["candidates"] = [u for u in await queries.list_supporters(person["commune"])
                                 if u["id"] not in on_team]
        context["team_error"] = request.query_params.get("team_error", "")
    return private(page(request, "people/detail.html", **context))


@get("/people/{person_id:int}/edit", name="person-edit", include_in_schema=False, opt=OFFICIAL)
async def person_edit(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
    person = await queries.get_person_for(user, person_id)
    form = PersonIn(**{k: str(person[k] or "") for k in change_queries.PERSON_FIELDS})
    return private(page(request, "people/form.html", form=form, errors={}, person=person,
                        **await _form_context(user)))


@post("/people/{person_id:int}/edit", name="person-update", include_in_schema=False,
      opt=OFFICIAL)
async def person_update(request: Request, user: SignedIn, person_id: FromPath[int],
                        data: URLEncodedBody[PersonIn]) -> Template | Redirect:
    person = await queries.get_person_for(user, person_id)
    context = await _form_context(user)
    errors, clean = check_person(data, {v["id"] for v in context["villages"]}, new=False)
    if errors:
        return private(page(request, "people/form.html", form=data, errors=errors,
                            person=person, **context), 422)
    await change_queries.update_person(actor_id=user.id, person=person, fields=clean["fields"])
    return Redirect(path=f"/people/{person_id}?saved=1", status_code=303)


@get("/people/{person_id:int}/category", name="person-category-form", include_in_schema=False,
     opt=OFFICIAL)
async def category_form(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
    person = await queries.get_person_for(user, person_id)
    form = CategoryIn(start_date=today().isoformat())
    return private(page(request, "people/category.html", person=person, form=form, errors={},
                        **vocab()))


@post("/people/{person_id:int}/category", name="person-category", include_in_schema=False,
      opt=OFFICIAL)
async def category_change(request: Request, user: SignedIn, person_id: FromPath[int],
                          data: URLEncodedBody[CategoryIn]) -> Template | Redirect:
    person = await queries.get_person_for(user, person_id)
    current = await queries.get_open_period(person_id)
    open_start = queries._as_date(current["start_date"]) if current else None
    errors, start, planned = check_category(data, open_start)
    if errors or start is None:
        return private(page(request, "people/category.html", person=person, form=data,
                            errors=errors, **vocab()), 422)
    await change_queries.change_category(actor_id=user.id, person=person, category=data.category,
                                  start=start, planned_end=planned,
                                  previous_reason=data.previous_reason)
    return Redirect(path=f"/people/{person_id}?saved=1", status_code=303)


@get("/people/{person_id:int}/close", name="person-close-form", include_in_schema=False,
     opt=OFFICIAL)
async def close_form(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
    person = await queries.get_person_for(user, person_id)
    return private(page(request, "people/close.html", person=person,
                        form=CloseIn(end_date=today().isoformat()), errors={}, **vocab()))


@post("/people/{person_id:int}/close", name="person-close", include_in_schema=False,
      opt=OFFICIAL)
async def close_person(request: Request, user: SignedIn, person_id: FromPath[int],
                       data: URLEncodedBody[CloseIn]) -> Template | Redirect:
    person = await queries.get_person_for(user, person_id)
    current = await queries.get_open_period(person_id)
    open_start = queries._as_date(current["start_date"]) if current else None
    errors, end = check_close(data, open_start)
    if person["status"] == "ended":
        errors["_"] = _("Support for this person has already ended.")
    if errors or end is None:
        return private(page(request, "people/close.html", person=person, form=data,
                            errors=errors, **vocab()), 422)
    await change_queries.close_person(actor_id=user.id, person=person, end=end, reason=data.reason)
    return Redirect(path=f"/people/{person_id}?saved=1", status_code=303)


# ---------------------------------------------------------------- the management team


@post("/people/{person_id:int}/team", name="team-assign", include_in_schema=False,
      opt=OFFICIAL)
async def team_assign(user: SignedIn, person_id: FromPath[int],
                      data: URLEncodedBody[TeamIn]) -> Redirect:
    person = await queries.get_person_for(user, person_id)
    error = ""
    if db_id(data.user_id) is None or data.role not in ("primary", "member"):
        error = "choose"
    elif person["status"] != "active":
        error = "ended"
    else:
        try:
            await change_queries.assign_member(actor_id=user.id, person=person,
                                        user_id=int(data.user_id), role=data.role)
        except change_queries.TeamError as exc:
            error = str(exc)
    suffix = f"?team_error={error}#team" if error else "?saved=1#team"
    return Redirect(path=f"/people/{person_id}{suffix}", status_code=303)


@post("/people/{person_id:int}/team/{member_id:int}/end", name="team-unassign",
      include_in_schema=False, opt=OFFICIAL)
async def team_unassign(user: SignedIn, person_id: FromPath[int], member_id: FromPath[int]) -> Redirect:
    person = await queries.get_person_for(user, person_id)
    if db_id(member_id) is None or not await change_queries.unassign_member(
            actor_id=user.id, person=person, member_id=member_id):
        raise NotFoundException()
    return Redirect(path=f"/people/{person_id}?saved=1#team", status_code=303)


# ---------------------------------------------------------------- the audit trail


@get("/people/{person_id:int}/audit", name="person-audit", include_in_schema=False,
     opt=OFFICIAL)
async def person_audit(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
    person = await queries.get_person_for(user, person_id)
    events = await queries.list_person_audit(person["commune"], person_id)
    return private(page(request, "people/audit.html", person=person, events=events))


route_handlers = [people_list, person_new, person_create, person_page, person_edit, person_update,
                  category_form, category_change, close_form, close_person, team_assign,
                  team_unassign, person_audit]
