"""The officials' review queue and decisions, and everyone's notifications.

Every decision names the version the reviewer saw (`version`, a hidden field of each form; in
the bulk form each ticked box is `<entry id>:<version>`). Decisions answer HTML (redirect with
a notice, or the entry page again with the error and what was typed, 422; 409 with the diff
from the version seen to the current one when the entry was corrected meanwhile) or JSON for
API clients (`Accept: application/json`: 200, or 409/403/422 with a translated `detail`, and
`version` = the current version on a 409 for a corrected entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from server.fmt import date
from server.i18n import N_, _
from server.review import queries
from server.review.diff import (
    KIND_FIELDS,
    KIND_LABELS,
    field_label,
    kind_label,
    show_value,
    state_label,
)
from server.rowtext import once
from server.web import SignedIn, current_user, date_or_none, db_id, int_or_none, page, wants_json

OFFICIAL = {"roles": ("official",)}
DONE = {"approve": N_("Entry approved."), "return": N_("Entry returned to its author."),
        "reject": N_("Entry rejected."), "reopen": N_("Entry reopened and returned to its "
                                                      "author.")}


def labels() -> dict[str, Any]:
    """Template helpers shared by the review pages."""
    return {
        "kind_label": kind_label, "state_label": state_label, "field_label": field_label,
        "show": show_value,
    }


# ---------------------------------------------------------------- the queue


async def _queue_context(request: Request, user: SignedIn) -> dict[str, Any]:
    if user.commune_id is None:  # an official always belongs to a commune
        raise NotFoundException()
    q = request.query_params
    kind = q.get("kind") if q.get("kind") in KIND_LABELS else None
    village, author = db_id(q.get("village")), db_id(q.get("author"))
    since, until = date_or_none(q.get("since")), date_or_none(q.get("until"))
    filters: dict[str, Any] = {"kind": kind or "", "village": village, "author": author,
                               "since": since, "until": until}
    rows = await queries.list_queue(user.commune_id, kind=kind, village=village, author=author,
                                    since=since, until=until)
    choices = await queries.list_queue_filters(user.commune_id)  # with overdue_before
    query = urlencode({k: v for k, v in filters.items() if v not in (None, "")})
    _queue_rows_text(rows, user.id, choices["overdue_before"])
    return {"rows": rows, "filters": filters, "query": query, "limit": queries.QUEUE_LIMIT,
            **choices, **labels()}


def _row_text(rows: Iterable[dict[str, Any]], kind_text: Callable[[Any], str],
              day: Callable[[Any], str], *, waiting: bool = False) -> None:
    """The kind and day of each row of a review list; for an entry waiting for review also who
    sent it and when it came. `kind_text` and `day` are `server.rowtext.once` functions, one per
    request: formatting cells in the template (a `_()` and a filter per cell) was most of a
    list page."""
    by, received = _("by %(name)s"), _("received %(date)s")
    for e in rows:
        e["kind_text"], e["day"] = kind_text(e["kind"]), day(e["entry_date"])
        if waiting:
            e["by_text"] = by % {"name": e["author_name"]}
            e["received_text"] = received % {"date": day(e["received_at"])}


def _queue_rows_text(rows: list[dict[str, Any]], user_id: int, overdue_before: Any) -> None:
    """Each queue row's text, made here once per distinct value (server.rowtext)."""
    _row_text(rows, once(kind_label), once(date), waiting=True)
    status, outcome = once(lambda v: show_value(v, "ref_status")), \
        once(lambda v: show_value(v, "ref_outcome"))
    corrected = _("corrected, version %(v)s")
    for e in rows:
        step = ""
        if e["kind"] == "referral_status":
            step = status(e["ref_status"])
            if e["ref_outcome"]:
                step += f" ({outcome(e['ref_outcome'])})"
        e["step_text"] = step
        e["overdue"] = e["received_at"] < overdue_before
        e["corrected_text"] = corrected % {"v": e["version"]} if e["version"] > 1 else ""
        e["own"] = e["author"] == user_id


@get("/review", name="review", include_in_schema=False, opt=OFFICIAL)
async def review_queue(request: Request, user: SignedIn, done: FromQuery[str | None] = None,
                       n: FromQuery[str | None] = None) -> Template:
    notice = ""
    if done == "bulk":
        notice = _("Entries approved: %(n)s.") % {"n": int_or_none(n) or 0}
    elif done in DONE:
        notice = _(DONE[done])
    return page(request, "review/queue.html", "review/_queue.html", notice=notice,
                **await _queue_context(request, user))


@post("/review/approve", name="review-bulk-approve", include_in_schema=False, opt=OFFICIAL)
async def bulk_approve(request: Request, user: SignedIn) -> Template | Response:
    """Bulk approval asks once: the first POST answers "Approve N entries?" listing them, and
    only the confirm button (`confirm=1`) approves, so a stray tap approves nothing. The
    `select_all` button re-renders the queue with every box ticked (no script needed; the CSP
    forbids inline ones). API clients (`Accept: application/json`) decide in one request."""
    form = await request.form()
    ids = [str(v) for v in form.getall("ids")] if "ids" in form else []
    if "select_all" in form and not wants_json(request):
        return page(request, "review/queue.html", notice="", select_all=True,
                    **await _queue_context(request, user))
    if ids and form.get("confirm") != "1" and not wants_json(request):
        context = await _queue_context(request, user)
        chosen = set(ids)
        picked = [e for e in context["rows"] if f"{e['id']}:{e['version']}" in chosen]
        known = {f"{e['id']}:{e['version']}" for e in picked}
        return page(request, "review/confirm.html", ids=ids, picked=picked,
                    unknown=[i for i in ids if i not in known], **context)
    result = await queries.approve_entries(user, ids)  # each `<entry id>:<version seen>`
    if wants_json(request):
        return Response({"approved": [str(i) for i in result["approved"]],
                         "skipped": [{"id": i, "reason": r} for i, r in result["skipped"]]},
                        status_code=200)
    notice = _("Entries approved: %(n)s.") % {"n": len(result["approved"])}
    if not ids:
        notice = _("Tick the entries to approve first.")
    return page(request, "review/queue.html", notice=notice, skipped=result["skipped"],
                **await _queue_context(request, user))


# ---------------------------------------------------------------- one entry


async def _entry_context(user: SignedIn, entry_id: Any,
                         seen: int | None = None) -> dict[str, Any]:
    """What the entry page shows; `seen` is the version a refused decision was about, so the
    diff runs from it to the current version."""
    entry = await queries.get_entry_for_review(user, entry_id)
    if user.commune_id is None:  # an official always belongs to a commune
        raise NotFoundException()
    person = history = None
    if entry["person"] is not None:
        person = await queries.get_person_brief(entry["person"], user.commune_id)
        history = await queries.list_person_history(entry["person"], user.commune_id,
                                                    exclude=entry["id"])
    diff = await queries.get_version_diff(entry["id"], entry["version"], seen)
    return {"entry": entry, "person": person, "history": history, "diff": diff,
            "diff_since": seen if seen is not None else entry["version"] - 1,
            "step": await queries.get_step_for_review(entry),
            "fields": KIND_FIELDS.get(entry["kind"], ()), "own": entry["author"] == user.id,
            **labels()}


@get("/review/{entry_id:uuid}", name="review-entry", include_in_schema=False, opt=OFFICIAL)
async def review_entry(request: Request, user: SignedIn, entry_id: FromPath[Any],
                       done: FromQuery[str | None] = None) -> Template:
    context = await _entry_context(user, entry_id)
    await queries.record_entry_view(user, context["entry"])
    response = page(request, "review/entry.html", notice=_(DONE[done]) if done in DONE else "",
                    form_error="", changed=False, comment="", action="", **context)
    response.headers["Cache-Control"] = "no-store"
    return response


class DecisionIn(msgspec.Struct):
    comment: str = ""
    version: str = ""  # the version the reviewer saw; a string so a bad one answers 422 here


async def _apply(request: Request, user: SignedIn, entry_id: Any, verb: str,
                 data: DecisionIn) -> Template | Response:
    comment = data.comment
    try:
        if verb == "approve":
            result = await queries.approve_entry(user, entry_id, data.version)
        elif verb == "return":
            result = await queries.return_entry(user, entry_id, data.version, comment)
        elif verb == "reject":
            result = await queries.reject_entry(user, entry_id, data.version, comment)
        else:
            result = await queries.reopen_entry(user, entry_id, data.version, comment)
    except queries.EntryChanged as changed:
        if wants_json(request):
            return Response({"status_code": 409, "detail": changed.message,
                             "version": changed.current, "seen": changed.seen},
                            status_code=409)
        # The decision controls below are for the current version; what was typed stays.
        context = await _entry_context(user, entry_id, seen=changed.seen)
        response = page(request, "review/entry.html", "review/_entry.html", notice="",
                        form_error=changed.message, changed=True, comment=comment,
                        action=verb, **context)
        response.status_code = 409
        response.headers["Cache-Control"] = "no-store"
        return response
    except queries.ReviewRefused as refused:
        if wants_json(request):
            return Response({"status_code": refused.status, "detail": refused.message},
                            status_code=refused.status)
        context = await _entry_context(user, entry_id)
        response = page(request, "review/entry.html", "review/_entry.html", notice="",
                        form_error=refused.message, comment=comment, action=verb, **context)
        response.status_code = 422
        response.headers["Cache-Control"] = "no-store"
        return response
    if wants_json(request):
        return Response({"id": str(result["id"]), "state": result["state"],
                         "version": result["version"]}, status_code=200)
    if verb == "reopen":
        return Redirect(path=f"/review/{result['id']}?done=reopen", status_code=303)
    return Redirect(path=f"/review?done={verb}", status_code=303)


@post("/review/{entry_id:uuid}/approve", name="review-approve", include_in_schema=False,
      opt=OFFICIAL)
async def approve(request: Request, user: SignedIn, entry_id: FromPath[Any],
                  data: URLEncodedBody[DecisionIn]) -> Template | Response:
    return await _apply(request, user, entry_id, "approve", data)


@post("/review/{entry_id:uuid}/return", name="review-return", include_in_schema=False,
      opt=OFFICIAL)
async def return_(request: Request, user: SignedIn, entry_id: FromPath[Any],
                  data: URLEncodedBody[DecisionIn]) -> Template | Response:
    return await _apply(request, user, entry_id, "return", data)


@post("/review/{entry_id:uuid}/reject", name="review-reject", include_in_schema=False,
      opt=OFFICIAL)
async def reject(request: Request, user: SignedIn, entry_id: FromPath[Any],
                 data: URLEncodedBody[DecisionIn]) -> Template | Response:
    return await _apply(request, user, entry_id, "reject", data)


@post("/review/{entry_id:uuid}/reopen", name="review-reopen", include_in_schema=False,
      opt=OFFICIAL)
async def reopen(request: Request, user: SignedIn, entry_id: FromPath[Any],
                 data: URLEncodedBody[DecisionIn]) -> Template | Response:
    return await _apply(request, user, entry_id, "reopen", data)


# ---------------------------------------------------------------- notifications


@get("/notifications", name="notifications", include_in_schema=False)
async def notifications(request: Request, user: SignedIn) -> Template:
    context = await queries.list_notifications(user)
    kind_text, day = once(kind_label), once(date)
    reviewed = (*context["returned"], *context["rejected"])
    _row_text(reviewed, kind_text, day)
    for e in reviewed:
        e["reviewed_day"] = day(e["reviewed_at"]) if e["reviewed_at"] else ""
    _row_text(context["overdue"], kind_text, day, waiting=True)
    response = page(request, "review/notifications.html", **context, **labels())
    response.headers["Cache-Control"] = "no-store"
    return response


@get("/notifications/count", name="notification-count", include_in_schema=False)
async def notification_badge(request: Request) -> Template | Response:
    """The header badge, as a fragment for htmx; 401 (not swapped by htmx) when signed out."""
    user = current_user(request)
    if user is None:
        return Response("", status_code=401, media_type="text/plain")
    count = await queries.notification_count(user)
    return Template(template_name="review/_badge.html", context={"count": count},
                    headers={"Cache-Control": "no-store"})


route_handlers = [review_queue, bulk_approve, review_entry, approve, return_, reject, reopen,
                  notifications, notification_badge]
