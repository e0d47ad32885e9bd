"""The register's part of the home page: a volunteer's caseload (overdue first) and the
official's counts of people due and overdue for a visit."""

from __future__ import annotations

from typing import Any

from server.people.queries import count_due, list_caseload
from server.web import CurrentUser


async def home_volunteer(user: CurrentUser) -> dict[str, Any]:
    return {"caseload": await list_caseload(user)}


async def home_official(user: CurrentUser) -> dict[str, Any]:
    if user.commune_id is None:
        return {}
    return {"people_counts": await count_due(user.commune_id)}
