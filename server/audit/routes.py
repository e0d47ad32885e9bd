"""Browsing the audit log: an official sees their commune's rows, newest first, filtered by
person, user, action and date, a page at a time. (The chain itself is checked by
`scripts/verify-audit`.)"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from server import fmt
from server.areas.queries import describe_users, list_users_in_area
from server.audit import labels, queries
from server.people import queries as people_queries
from server.web import SignedIn, date_or_none, db_id, int_or_none, page

PER_PAGE = 50


def action_label(action: str) -> str:
    label = labels.action_label(action)
    return f"{label} ({action})" if label else action


def _detail(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return value
    if not value:
        return ""
    return ", ".join(f"{k}: {fmt.value(v)}" for k, v in sorted(value.items())) if isinstance(
        value, dict) else str(value)


@get("/audit", name="audit", include_in_schema=False, opt={"roles": ("official",)})
async def audit_log(request: Request, user: SignedIn) -> Template:
    if user.commune_id is None:  # an official always belongs to a commune
        raise NotFoundException()
    q = request.query_params
    person_text = (q.get("person") or "").strip()[:40]
    actor = db_id(q.get("user"))
    action = (q.get("action") or "").strip()[:40]
    since, until = date_or_none(q.get("since")), date_or_none(q.get("until"))
    page_no = max(1, min(int_or_none(q.get("page")) or 1, 100000))
    person_id = None
    unknown_person = False
    if person_text:
        person_id = await people_queries.find_person_in_commune(user.commune_id, person_text)
        unknown_person = person_id is None
    rows: list[dict[str, Any]] = []
    if not unknown_person:
        rows = await queries.list_events(
            user.commune_id, person_id=person_id, actor_id=actor, action=action or None,
            since=since, until=until, limit=PER_PAGE + 1, offset=(page_no - 1) * PER_PAGE)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    people = await people_queries.describe_people(
        user.commune_id, [r["person_id"] for r in rows if r["person_id"] is not None])
    actors = await describe_users([r["actor_id"] for r in rows if r["actor_id"]])
    for r in rows:
        r["person"] = people.get(r["person_id"], "") if r["person_id"] is not None else ""
        r["actor"] = actors.get(r["actor_id"], f"#{r['actor_id']}") if r["actor_id"] else "—"
        r["action_label"] = action_label(r["action"])
        r["detail_text"] = _detail(r["detail"])
    filters = {"person": person_text, "user": actor or "", "action": action,
               "since": since.isoformat() if since else "",
               "until": until.isoformat() if until else ""}
    base = {k: v for k, v in filters.items() if v}
    response = page(
        request, "audit/log.html", "audit/_rows.html", rows=rows, filters=filters,
        unknown_person=unknown_person, page_no=page_no,
        prev_url=f"/audit?{urlencode({**base, 'page': page_no - 1})}" if page_no > 1 else "",
        next_url=f"/audit?{urlencode({**base, 'page': page_no + 1})}" if more else "",
        users=await list_users_in_area(user.commune_id),
        actions=await queries.list_event_actions(user.commune_id), action_label=action_label)
    response.headers["Cache-Control"] = "no-store"
    return response


route_handlers = [audit_log]
