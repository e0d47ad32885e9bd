"""The privacy area's database work: who is past their retention period, anonymising one
person in one audited transaction, and reading everything held about one person.

Anonymising removes what identifies a person — name, phone, address, the free-text notes of
the register and of their entries (and of every stored version of those entries, and of their
referral steps), and their name in the overdue lists of finalised reports — and keeps what the
reports count: category history, sex, birth year, village, dates, states, coded answers. So
every aggregate, and every finalised report's figures, stay the same. The person keeps their
code (e.g. HK-0042), which names nobody outside the commune's own register.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from server.audit.queries import record_event
from server.audit.tables import AuditEvent
from server.db import write_transaction
from server.people.tables import CategoryPeriod, Person, TeamMember
from server.privacy.tables import Anonymisation
from server.records.tables import Entry, EntryVersion, ReferralEvent
from server.reports.tables import FinalReport

# Free text of an entry, as columns and as keys of the stored versions' data.
ENTRY_TEXT = ("notes", "health", "work", "family", "next_step", "reason", "review_comment")
VERSION_TEXT = ("notes", "health", "work", "family", "next_step", "reason", "contact_alias")


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


async def list_due_for_anonymisation(cutoff: dt.date) -> list[dict[str, Any]]:
    """People whose support ended before `cutoff` and who are not anonymised yet.

    Support ended on the last end date of their category periods; a person with an open
    period (support going on) is never due, whatever their status says.
    """
    ended = await Person.select(Person.id, Person.commune, Person.code).where(
        (Person.status == "ended")
        & Person.id.not_in(Anonymisation.select(Anonymisation.person))
        & Person.id.not_in(CategoryPeriod.select(CategoryPeriod.person).where(
            CategoryPeriod.actual_end.is_null()))).order_by(Person.id)
    if not ended:
        return []
    ends: dict[int, dt.date] = {}
    for row in await CategoryPeriod.select(CategoryPeriod.person, CategoryPeriod.actual_end).where(
            CategoryPeriod.person.is_in([p["id"] for p in ended])):
        end = _date(row["actual_end"])
        ends[row["person"]] = max(end, ends.get(row["person"], end))
    due = []
    for p in ended:
        last = ends.get(p["id"])
        if last is not None and last < cutoff:
            due.append({**p, "support_ended": last})
    return due


def _scrub(data: Any) -> tuple[str, bool]:
    value = json.loads(data) if isinstance(data, str) else dict(data or {})
    changed = False
    for key in VERSION_TEXT:
        if value.get(key):
            value[key] = ""
            changed = True
    return json.dumps(value, ensure_ascii=False), changed


async def anonymise_person(person_id: int, support_ended: dt.date) -> int:
    """Remove what identifies one person; returns how many of their entries were scrubbed.

    One write transaction with its audit row: either all of it happened, or none.
    """
    async with write_transaction(Person._meta.db):
        person = await Person.select(Person.id, Person.commune).where(
            Person.id == person_id).first()
        if person is None or await Anonymisation.exists().where(
                Anonymisation.person == person_id):
            return 0
        await Person.update({
            Person.full_name: "", Person.search_text: "", Person.phone: "",
            Person.address: "", Person.notes: "",
            Person.updated_at: dt.datetime.now(dt.UTC)}).where(Person.id == person_id)
        entries = await Entry.select(Entry.id).where(Entry.person == person_id)
        ids = [e["id"] for e in entries]
        if ids:
            await Entry.update({getattr(Entry, c): "" for c in ENTRY_TEXT}).where(
                Entry.id.is_in(ids))
            for v in await EntryVersion.select(EntryVersion.id, EntryVersion.data).where(
                    EntryVersion.entry.is_in(ids)):
                data, changed = _scrub(v["data"])
                if changed:
                    await EntryVersion.update({EntryVersion.data: data}).where(
                        EntryVersion.id == v["id"])
            await ReferralEvent.update({ReferralEvent.note: ""}).where(
                ReferralEvent.referral.is_in(ids))
        for report in await FinalReport.select(FinalReport.id, FinalReport.data).where(
                FinalReport.area == person["commune"]):
            data = json.loads(report["data"]) if isinstance(report["data"], str) \
                else report["data"]
            hit = [o for o in data.get("overdue") or [] if o.get("id") == person_id]
            for o in hit:
                o["name"] = ""
            if hit:
                await FinalReport.update({FinalReport.data: json.dumps(data, ensure_ascii=False)}
                                         ).where(FinalReport.id == report["id"])
        await Anonymisation.insert(Anonymisation(person=person_id, support_ended=support_ended,
                                                 entries=len(ids)))
        await record_event("person.anonymise", actor_id=None, commune_id=person["commune"],
                           subject_type="person", subject_id=person_id, person_id=person_id,
                           detail={"support_ended": support_ended.isoformat(),
                                   "entries": len(ids)})
    return len(ids)


async def get_anonymisation(person_id: int) -> dict[str, Any] | None:
    return await Anonymisation.select().where(Anonymisation.person == person_id).first()


# ---------------------------------------------------------------- the person's data


async def list_person_entries(person_id: int) -> list[dict[str, Any]]:
    """Every visit and referral about the person, newest first, with their author's name."""
    return await Entry.select(
        *Entry.all_columns(), Entry.author.display_name.as_alias("author_name"),
        Entry.provider.name.as_alias("provider_name"),
    ).where(Entry.person == person_id).order_by(Entry.entry_date, ascending=False)


async def list_referral_steps(entry_ids: list[Any]) -> list[dict[str, Any]]:
    if not entry_ids:
        return []
    return await ReferralEvent.select(
        *ReferralEvent.all_columns(), ReferralEvent.author.display_name.as_alias("author_name"),
    ).where(ReferralEvent.referral.is_in(entry_ids)).order_by(ReferralEvent.event_date)


async def list_team_history(person_id: int) -> list[dict[str, Any]]:
    return await TeamMember.select(
        *TeamMember.all_columns(), TeamMember.user.display_name.as_alias("user_name"),
    ).where(TeamMember.person == person_id).order_by(TeamMember.start_date)


async def record_export(*, actor_id: int, commune_id: int, person_id: int) -> None:
    await record_event("person.export", actor_id=actor_id, commune_id=commune_id,
                       subject_type="person", subject_id=person_id, person_id=person_id)


async def count_audit_rows(action: str, person_id: int) -> int:
    return await AuditEvent.count().where(
        (AuditEvent.action == action) & (AuditEvent.person_id == person_id))
