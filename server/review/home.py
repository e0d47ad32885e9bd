"""The review area's part of the home page: officials see the queue size, volunteers their
recently rejected entries (the records card lists the returned ones)."""

from __future__ import annotations

from typing import Any

from server.review import queries
from server.review.diff import kind_label, state_label
from server.web import CurrentUser


async def home_official(user: CurrentUser) -> dict[str, Any]:
    if user.commune_id is None:
        return {}
    return {"review_waiting": await queries.count_waiting(user.commune_id),
            "review_overdue": await queries.notification_count(user)}


async def home_volunteer(user: CurrentUser) -> dict[str, Any]:
    # Returned entries are listed once, by the records card ("Returned to you for correction",
    # with the link to fix them); this card only adds the rejected ones, which cannot be fixed.
    return {"review_rejected": await queries.list_recent_rejections(user),
            "review_kind_label": kind_label, "review_state_label": state_label}
