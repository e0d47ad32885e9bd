"""A person's right to see their data, as one use case across areas: the register (people),
the entries and referral steps (records, with the review's labels), the team and audit trail,
and this area's own rows — read for an official of the person's commune, the export audited
first. The routes module only renders what `gather_person_data` returns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from schema.enums import RefOutcome, RefStatus, label
from server.people.queries import get_person_for, list_periods, list_person_audit
from server.privacy import queries
from server.records.listing_queries import entry_data
from server.review.diff import KIND_FIELDS, field_label, kind_label, show_value, state_label
from server.vntime import to_vietnam
from server.web import CurrentUser


def _local(moment: Any) -> Any:
    return to_vietnam(moment) if isinstance(moment, dt.datetime) else moment


async def gather_person_data(user: CurrentUser, person_id: int) -> dict[str, Any]:
    """Everything the commune holds about one person; raises `NotFound` outside the
    official's commune. The export is audited before anything is read."""
    person = await get_person_for(user, person_id)
    await queries.record_export(actor_id=user.id, commune_id=person["commune"],
                                person_id=person_id)
    entries = await queries.list_person_entries(person_id)
    steps = await queries.list_referral_steps([e["id"] for e in entries if e["kind"] == "referral"])
    for e in entries:
        data = entry_data(e)
        e["kind_label"] = kind_label(e["kind"])
        e["state_label"] = state_label(e["state"])
        e["fields"] = [(field_label(f), show_value(data.get(f), f))
                       for f in KIND_FIELDS.get(e["kind"], ()) if data.get(f) not in (None, "", [])]
        e["steps"] = [{**s, "status_label": label(RefStatus, s["status"]),
                       "outcome_label": label(RefOutcome, s["outcome"]) if s["outcome"] else ""}
                      for s in steps if s["referral"] == e["id"]]
        e["received_local"] = _local(e["received_at"])
    events = list(reversed(await list_person_audit(person["commune"], person_id)))
    return {"person": person, "periods": await list_periods(person_id),
            "team": await queries.list_team_history(person_id), "entries": entries,
            "events": events, "anonymised": await queries.get_anonymisation(person_id)}
