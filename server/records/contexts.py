"""What each record form needs besides its fields: title, action, pick lists and defaults.

`CONTEXTS[kind](user, values)` gives the page context; `defaults(kind, user, params)` the
values a new form opens with (today's date in Vietnam, the next visit from the commune's
frequency, the volunteer's own organisation).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from schema.enums import Service as ServiceEnum
from schema.enums import label
from server.i18n import _
from server.records import listing_queries
from server.vntime import today as vn_today
from server.web import CurrentUser, db_id


async def _people(user: CurrentUser,
                  values: dict[str, Any]) -> list[tuple[int, str, dict[str, str]]]:
    """The person picker: id, name, and what skip logic reads of the person (its category)."""
    if values.get("shell"):
        return []  # the cached blank form holds no names (filled on the phone)
    q = str(values.get("q") or "")[:60]
    rows = await listing_queries.list_caseload_for_picker(user, q)
    chosen = db_id(values.get("person"))
    if chosen and q and all(r["id"] != chosen for r in rows):
        rows = [r for r in await listing_queries.list_caseload_for_picker(user) if r["id"] == chosen] \
            + rows
    return [(r["id"], f"{r['full_name']} · {r['code']}"
             + (f" · {r['village_name']}" if r.get("village_name") else ""),
             {"category": r.get("category") or ""}) for r in rows]


async def visit_context(user: CurrentUser, values: dict[str, Any]) -> dict[str, Any]:
    return {"title": _("New visit"), "action": "/visits", "submit_label": _("Save visit"),
            "person_filter": not values.get("shell"), "q": str(values.get("q") or "")[:60],
            "options": {"person": await _people(user, values)}}


async def talk_context(user: CurrentUser, values: dict[str, Any]) -> dict[str, Any]:
    villages = await listing_queries.list_villages(user.commune_id or 0)
    orgs = await listing_queries.list_organisations()
    return {"title": _("New talk"), "action": "/talks", "submit_label": _("Save talk"),
            "options": {"village": [(v["id"], v["name"] + (" ★" if v["hotspot"] else ""))
                                    for v in villages],
                        "organisation": [(o["id"], o["name"]) for o in orgs]}}


async def referral_context(user: CurrentUser, values: dict[str, Any]) -> dict[str, Any]:
    providers = await listing_queries.list_providers(user.commune_id or 0)
    return {"title": _("New referral"), "action": "/referrals",
            "submit_label": _("Save referral"), "person_filter": not values.get("shell"),
            "q": str(values.get("q") or "")[:60],
            "options": {"person": await _people(user, values),
                        "provider": [(p["id"], f"{p['name']} · "
                                      f"{label(ServiceEnum, p['service'])}")
                                     for p in providers]}}


CONTEXTS = {"visit": visit_context, "talk": talk_context, "referral": referral_context}


async def defaults(kind: str, user: CurrentUser, params: dict[str, Any]) -> dict[str, Any]:
    today = vn_today()
    values: dict[str, Any] = {"date": today.isoformat()}
    if kind == "visit":
        freq = await listing_queries.get_visit_frequency(user.commune_id or 0)
        values["next_visit_date"] = (today + dt.timedelta(days=freq)).isoformat()
    if kind == "talk":
        org = await listing_queries.get_user_organisation(user.id)
        if org:
            values["organisation"] = str(org)
    if kind in ("visit", "referral") and db_id(params.get("person")):
        values["person"] = str(params["person"])
    return values
