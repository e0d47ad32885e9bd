"""The counselling part of the home page: the counsellor's follow-up to-do list (officials see
their commune's), with the form's button for those who may record contacts."""

from __future__ import annotations

from typing import Any

from schema.enums import Asker, Channel, label
from server.counselling import queries
from server.web import CurrentUser


async def _home(user: CurrentUser) -> dict[str, Any]:
    allowed = await queries.may_record_counselling(user)
    rows = await queries.list_open_follow_ups(user) if allowed else []
    for r in rows:
        r["channel_label"] = label(Channel, r["channel"])
        r["asker_label"] = label(Asker, r["asker"])
    return {"counselling_allowed": allowed, "follow_ups": rows}


home_official = _home
home_volunteer = _home
