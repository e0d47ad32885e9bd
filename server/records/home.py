"""The records' part of the home page: quick actions and the volunteer's returned entries."""

from __future__ import annotations

from typing import Any

from server.records import listing_queries
from server.vntime import today as vn_today
from server.web import CurrentUser


async def home_volunteer(user: CurrentUser) -> dict[str, Any]:
    counts, returned = await listing_queries.summarise_my_entries(user, returned=10)
    return {"records_counts": counts, "records_returned": returned}


async def home_official(user: CurrentUser) -> dict[str, Any]:
    since = vn_today().replace(day=1)
    return {"records_month": await listing_queries.count_commune_entries(user.commune_id or 0, since)}
