"""A person's right to see their data: `/people/{id}/data`, everything the commune holds about
one person on one printable A4 page (register data, category history, team, visits and
referrals with their steps, and who read or changed the record and when), with a link to
correct it through the register's edit form. Officials of the person's commune only; every
export is audited; never cached.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.response import Template

from schema.enums import RefOutcome, RefStatus, label
from server.people.labels import category_label, end_reason_label, sex_label
from server.people.queries import get_person_for, list_periods, list_person_audit
from server.privacy import queries
from server.records.listing import entry_data
from server.review.diff import KIND_FIELDS, field_label, kind_label, show_value, state_label
from server.vntime import to_vietnam
from server.vntime import today as vn_today
from server.web import SignedIn


def _local(moment: Any) -> Any:
    return to_vietnam(moment) if isinstance(moment, dt.datetime) else moment


@get("/people/{person_id:int}/data", name="person-data", include_in_schema=False,
     opt={"roles": ("official",)})
async def person_data(request: Request, user: SignedIn, person_id: int) -> Template:
    person = await get_person_for(user, person_id)  # 404 outside the official's commune
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
    response = Template(template_name="privacy/person_data.html", context={
        "person": person, "periods": await list_periods(person_id),
        "team": await queries.list_team_history(person_id), "entries": entries,
        "events": events, "anonymised": await queries.get_anonymisation(person_id),
        "printed_on": vn_today(), "sex_label": sex_label, "category_label": category_label,
        "end_reason_label": end_reason_label, "request": request})
    response.headers["Cache-Control"] = "no-store"
    return response


route_handlers = [person_data]
