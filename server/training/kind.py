"""The `training` kind as `server.records` sees it: registered with the one write path
(`server.records.kinds`) when this package is imported, and its form's page context."""

from __future__ import annotations

from typing import Any

from server.i18n import _
from server.records import listing_queries
from server.records.kinds import ExtraKind, register
from server.training import queries
from server.web import CurrentUser


async def training_context(user: CurrentUser, values: dict[str, Any]) -> dict[str, Any]:
    """`values["shell"]`: the blank form the phone caches — its participant list is filled on
    the phone from the names it keeps (see outbox.js), so the page itself holds none."""
    orgs = await listing_queries.list_organisations()
    users = [] if values.get("shell") else await queries.list_commune_users(
        user.commune_id or 0)
    return {"title": _("New training session"), "action": "/training",
            "submit_label": _("Save training session"),
            "notice": _("Tick the commune's users who took part; count everyone else below."),
            "options": {"organisation": [(o["id"], o["name"]) for o in orgs],
                        "users": [(u["id"], u["name"]) for u in users]}}


SPEC = ExtraKind(
    may_record=queries.may_record_training, check=queries.check_training,
    normalise=queries.normalise_training, columns=queries.training_columns,
    store=queries.store_training, names=queries.training_names, context=training_context)
register("training", SPEC)
