"""The public page's card on the home page of officials (their commune's page) and of
supervisors (their province's page)."""

from __future__ import annotations

from typing import Any

from server.areas.queries import get_area
from server.public.queries import PAGE_LEVELS, get_draft_page
from server.web import CurrentUser


async def _card(user: CurrentUser) -> dict[str, Any]:
    area = await get_area(user.area_id)
    if area is None or area["level"] not in PAGE_LEVELS:
        return {}
    draft = await get_draft_page(area["id"])
    return {"public_code": area["code"], "public_draft_pending": draft["pending"]}


async def home_official(user: CurrentUser) -> dict[str, Any]:
    return await _card(user)


async def home_supervisor(user: CurrentUser) -> dict[str, Any]:
    return await _card(user)
