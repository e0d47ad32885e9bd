"""The reports card on the home page: the 6-month and annual reports being worked towards,
and the last finalised one."""

from __future__ import annotations

from typing import Any

from server.reports.finals import list_final_reports
from server.reports.periods import current_presets, report_query
from server.web import CurrentUser


async def _home(user: CurrentUser) -> dict[str, Any]:
    presets = [(p, report_query(user.area_id, p)) for p in current_presets()]
    finals = await list_final_reports(user.area_id)
    return {"report_presets": presets, "report_last_final": finals[0] if finals else None}


async def home_official(user: CurrentUser) -> dict[str, Any]:
    return await _home(user)


async def home_supervisor(user: CurrentUser) -> dict[str, Any]:
    return await _home(user)
