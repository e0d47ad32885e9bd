"""The training part of the home page: a link and this year's count for officials, and the
form for the volunteers their commune allows."""

from __future__ import annotations

from typing import Any

from server.training import queries
from server.vntime import today as vn_today
from server.web import CurrentUser


async def home_official(user: CurrentUser) -> dict[str, Any]:
    since = vn_today().replace(month=1, day=1)
    return {"training_year": await queries.count_sessions_since(user.commune_id or 0, since)}


async def home_volunteer(user: CurrentUser) -> dict[str, Any]:
    return {"training_allowed": await queries.may_record_training(user)}
