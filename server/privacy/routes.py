"""A person's right to see their data: `/people/{id}/data`, everything the commune holds about
one person on one printable A4 page (register data, category history, team, visits and
referrals with their steps, and who read or changed the record and when), with a link to
correct it through the register's edit form. Officials of the person's commune only; every
export is audited; never cached.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from schema.enums import RefOutcome, RefStatus, label
from server.i18n import N_, _
from server.people.labels import category_label, end_reason_label, sex_label
from server.people.queries import get_person_for, list_periods, list_person_audit
from server.privacy import queries
from server.records.listing_queries import entry_data
from server.records.validation import vn_today
from server.review.diff import KIND_FIELDS, field_label, kind_label, show_value, state_label
from server.web import SignedIn

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# This area's audit actions, which the register's trail does not name.
ACTIONS = {"person.export": N_("Printed everything held about the person"),
           "person.anonymise": N_("Anonymised: the retention period had passed")}


def _local(moment: Any) -> Any:
    return moment.astimezone(VN) if getattr(moment, "tzinfo", None) else moment


@get("/people/{person_id:int}/data", name="person-data", include_in_schema=False,
     opt={"roles": ("official",)})
async def person_data(request: Request, user: SignedIn, person_id: FromPath[int]) -> Template:
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
    for ev in events:
        if ev["action"] in ACTIONS:
            ev["label"] = _(ACTIONS[ev["action"]])
    response = Template(template_name="privacy/person_data.html", context={
        "person": person, "periods": await list_periods(person_id),
        "team": await queries.list_team_history(person_id), "entries": entries,
        "events": events, "anonymised": await queries.get_anonymisation(person_id),
        "printed_on": vn_today(), "sex_label": sex_label, "category_label": category_label,
        "end_reason_label": end_reason_label, "request": request})
    response.headers["Cache-Control"] = "no-store"
    return response


route_handlers = [person_data]
