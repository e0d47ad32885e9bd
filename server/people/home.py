"""The register's part of the home page: a volunteer's caseload (overdue first) and the
official's counts of people due and overdue for a visit."""

from __future__ import annotations

from typing import Any

from server.fmt import date
from server.people.queries import count_due, list_caseload
from server.rowtext import once
from server.web import CurrentUser


async def home_volunteer(user: CurrentUser) -> dict[str, Any]:
    rows = await list_caseload(user)
    # Each row's two days as text, formatted once per distinct day (server/rowtext.py): the
    # template then only prints them.
    day = once(date)
    for p in rows:
        p["last_day"] = day(p["last_visit"]) if p["last_visit"] else ""
        p["due_day"] = day(p["next_due"]) if p["next_due"] else ""
    return {"caseload": rows}


async def home_official(user: CurrentUser) -> dict[str, Any]:
    if user.commune_id is None:
        return {}
    return {"people_counts": await count_due(user.commune_id)}
