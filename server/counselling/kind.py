"""The `counselling` kind as `server.records` sees it: registered with the one write path
(`server.records.kinds`) when this package is imported, and its form's page context."""

from __future__ import annotations

from typing import Any

from schema.enums import Service, label
from server.counselling import queries
from server.i18n import _
from server.records import listing_queries
from server.records.kinds import ExtraKind, register
from server.web import CurrentUser


async def counselling_context(user: CurrentUser, values: dict[str, Any]) -> dict[str, Any]:
    """`values["shell"]`: the blank form the phone caches — no names, no referral list (the
    person picker is filled on the phone from its caseload)."""
    shell = bool(values.get("shell"))
    people = [] if shell else await listing_queries.list_caseload_for_picker(user)
    referrals = [] if shell else await queries.list_referrals_to_link(user)
    return {
        "title": _("New counselling contact"), "action": "/counselling",
        "submit_label": _("Save counselling contact"),
        "notice": _("Nothing about the caller is stored unless they are a registered person. "
                    "For an anonymous caller leave the person empty, and do not write a name "
                    "or phone number in the notes."),
        "options": {
            "person": [(p["id"], f"{p['full_name']} · {p['code']}") for p in people],
            "referral": [(r["id"], f"{r['entry_date'].strftime('%d/%m/%Y')} · "
                          f"{label(Service, r['service'])} · "
                          f"{r['person_code'] or r['contact_alias'] or ''} · {r['receipt']}")
                         for r in referrals]}}


SPEC = ExtraKind(
    may_record=queries.may_record_counselling, check=queries.check_counselling,
    normalise=queries.normalise_counselling, columns=queries.counselling_columns,
    store=queries.store_counselling, names=queries.counselling_names,
    context=counselling_context)
register("counselling", SPEC)
