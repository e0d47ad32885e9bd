"""Review of field entries: the officials' queue, the decisions, the person's recent history,
the version diff and the notifications.

Every decision is one write transaction: an UPDATE guarded by the state it leaves
(`... WHERE state = 'submitted' RETURNING`), so a race or a double click cannot apply it twice,
and the audit row of the change. The database's own CHECK (trigger on SQLite) keeps the state
column to the four review states.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from litestar.exceptions import NotFoundException

from server.areas.tables import Area, User
from server.audit.queries import record_event
from server.db import write_transaction
from server.i18n import _
from server.people.tables import Person
from server.records.tables import Entry, EntryVersion
from server.review.diff import changed_fields, diff_versions, field_label
from server.web import CurrentUser

__all__ = [
    "ReviewRefused", "approve_entry", "return_entry", "reject_entry", "reopen_entry",
    "approve_entries", "list_queue", "get_entry_for_review", "list_person_history",
    "get_version_diff", "diff_versions", "notification_count", "list_notifications",
]

# Rejected entries stay in a volunteer's notifications this long; returned ones until fixed.
REJECTED_NOTICE_DAYS = 14
QUEUE_LIMIT = 200


class ReviewRefused(Exception):
    """A decision the rules do not allow; `status` is the HTTP status of a JSON answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


# ---------------------------------------------------------------- decisions


async def _explain_refusal(entry_id: uuid.UUID, commune_id: int | None, user_id: int,
                           verb: str) -> ReviewRefused:
    row = await Entry.select(Entry.state, Entry.author, Entry.commune).where(
        Entry.id == entry_id).first()
    if row is None or row["commune"] != commune_id:
        raise NotFoundException()
    if row["author"] == user_id:
        return ReviewRefused(_("You wrote this entry: another official must review it."), 403)
    messages = {
        "approved": _("This entry is already approved; reopen it first to change it."),
        "returned": _("This entry was returned to its author and waits for their correction."),
        "rejected": _("This entry was rejected; a rejected entry cannot be decided again."),
        "submitted": _("Only an approved entry can be reopened."),
    }
    del verb
    return ReviewRefused(messages.get(row["state"], _("This entry cannot be changed now.")))


async def _decide(user: CurrentUser, entry_id: Any, *, verb: str, from_state: str,
                  to_state: str, comment: str = "") -> dict[str, Any]:
    eid = _uuid(entry_id)
    if eid is None or user.commune_id is None:
        raise NotFoundException()
    now = _now()
    async with write_transaction(Entry._meta.db):
        rows = await Entry.update({
            Entry.state: to_state, Entry.reviewed_by: user.id, Entry.reviewed_at: now,
            Entry.review_comment: comment, Entry.updated_at: now,
        }).where(
            (Entry.id == eid) & (Entry.commune == user.commune_id)
            & (Entry.state == from_state) & (Entry.author != user.id)
        ).returning(Entry.id, Entry.person, Entry.version, Entry.kind, Entry.author)
        if not rows:
            raise await _explain_refusal(eid, user.commune_id, user.id, verb)
        row = rows[0]
        detail: dict[str, Any] = {"from": from_state, "to": to_state, "version": row["version"],
                                  "kind": row["kind"], "author": row["author"]}
        if comment:
            detail["comment"] = comment
        await record_event(f"entry.{verb}", actor_id=user.id, commune_id=user.commune_id,
                           subject_type="entry", subject_id=str(eid), person_id=row["person"],
                           detail=detail)
    return {"id": eid, "state": to_state, "version": row["version"]}


def _required(text: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ReviewRefused(message, 422)
    if len(text) > 2000:
        raise ReviewRefused(_("At most 2000 characters."), 422)
    return text


async def approve_entry(user: CurrentUser, entry_id: Any) -> dict[str, Any]:
    return await _decide(user, entry_id, verb="approve", from_state="submitted",
                         to_state="approved")


async def return_entry(user: CurrentUser, entry_id: Any, comment: str) -> dict[str, Any]:
    text = _required(comment, _("Write what the author should correct."))
    return await _decide(user, entry_id, verb="return", from_state="submitted",
                         to_state="returned", comment=text)


async def reject_entry(user: CurrentUser, entry_id: Any, reason: str) -> dict[str, Any]:
    text = _required(reason, _("Write why the entry is rejected."))
    return await _decide(user, entry_id, verb="reject", from_state="submitted",
                         to_state="rejected", comment=text)


async def reopen_entry(user: CurrentUser, entry_id: Any, reason: str) -> dict[str, Any]:
    """An approved entry goes back to its author as `returned`, with the reason."""
    text = _required(reason, _("Write why the approved entry is reopened."))
    return await _decide(user, entry_id, verb="reopen", from_state="approved",
                         to_state="returned", comment=text)


async def approve_entries(user: CurrentUser, entry_ids: list[Any]) -> dict[str, Any]:
    """Approve the submitted ones among `entry_ids` in one transaction; report the others.

    Returns {"approved": [uuid, ...], "skipped": [(entry id as given, reason), ...]}.
    """
    approved: list[uuid.UUID] = []
    skipped: list[tuple[str, str]] = []
    wanted: dict[uuid.UUID, str] = {}
    for raw in entry_ids:
        eid = _uuid(raw)
        if eid is None:
            skipped.append((str(raw), _("not an entry")))
        elif eid not in wanted:
            wanted[eid] = str(raw)
    if not wanted or user.commune_id is None:
        return {"approved": approved, "skipped": skipped + [(v, _("not found"))
                                                             for v in wanted.values()]}
    now = _now()
    async with write_transaction(Entry._meta.db):
        rows = await Entry.update({
            Entry.state: "approved", Entry.reviewed_by: user.id, Entry.reviewed_at: now,
            Entry.review_comment: "", Entry.updated_at: now,
        }).where(
            Entry.id.is_in(list(wanted)) & (Entry.commune == user.commune_id)
            & (Entry.state == "submitted") & (Entry.author != user.id)
        ).returning(Entry.id, Entry.person, Entry.version, Entry.kind, Entry.author)
        for row in rows:
            eid = _uuid(row["id"])
            assert eid is not None
            approved.append(eid)
            await record_event("entry.approve", actor_id=user.id, commune_id=user.commune_id,
                               subject_type="entry", subject_id=str(eid),
                               person_id=row["person"],
                               detail={"from": "submitted", "to": "approved", "bulk": True,
                                       "version": row["version"], "kind": row["kind"],
                                       "author": row["author"]})
        rest = [eid for eid in wanted if eid not in set(approved)]
        found = {}
        if rest:
            found = {_uuid(r["id"]): r for r in await Entry.select(
                Entry.id, Entry.state, Entry.author, Entry.commune).where(Entry.id.is_in(rest))}
    reasons = {"approved": _("already approved"), "returned": _("returned to its author"),
               "rejected": _("rejected")}
    for eid in rest:
        r = found.get(eid)
        if r is None or r["commune"] != user.commune_id:
            skipped.append((wanted[eid], _("not found")))
        elif r["author"] == user.id:
            skipped.append((wanted[eid], _("you wrote it")))
        else:
            skipped.append((wanted[eid], reasons.get(r["state"], r["state"])))
    return {"approved": approved, "skipped": skipped}


# ---------------------------------------------------------------- the queue and one entry


def _entry_columns() -> list[Any]:
    return [
        *Entry.all_columns(),
        Entry.person.code.as_alias("person_code"),
        Entry.person.full_name.as_alias("person_name"),
        Entry.person.category.as_alias("person_category"),
        Entry.village.name.as_alias("village_name"),
        Entry.author.display_name.as_alias("author_name"),
        Entry.reviewed_by.display_name.as_alias("reviewer_name"),
        Entry.organisation.name.as_alias("organisation_name"),
        Entry.provider.name.as_alias("provider_name"),
    ]


async def list_queue(commune_id: int, *, kind: str | None = None, village: int | None = None,
                     author: int | None = None, since: dt.date | None = None,
                     until: dt.date | None = None, limit: int = QUEUE_LIMIT) -> list[dict]:
    """The commune's submitted entries, oldest received first, with the given filters."""
    q = Entry.select(
        Entry.id, Entry.kind, Entry.entry_date, Entry.received_at, Entry.version,
        Entry.author, Entry.state, Entry.met, Entry.risk, Entry.attendees_total,
        Entry.service, Entry.contact_alias,
        Entry.person.code.as_alias("person_code"),
        Entry.person.full_name.as_alias("person_name"),
        Entry.village.name.as_alias("village_name"),
        Entry.author.display_name.as_alias("author_name"),
    ).where((Entry.commune == commune_id) & (Entry.state == "submitted"))
    if kind:
        q = q.where(Entry.kind == kind)
    if village is not None:
        q = q.where(Entry.village == village)
    if author is not None:
        q = q.where(Entry.author == author)
    if since is not None:
        q = q.where(Entry.entry_date >= since)
    if until is not None:
        q = q.where(Entry.entry_date <= until)
    return await q.order_by(Entry.received_at).limit(limit)


async def list_queue_filters(commune_id: int) -> dict[str, list[dict[str, Any]]]:
    """The choices of the queue's filter form: villages and the commune's recording users."""
    villages = await Area.select(Area.id, Area.name).where(
        (Area.parent == commune_id) & (Area.level == "village")).order_by(Area.name)
    authors = await User.select(User.id, User.display_name).where(
        (User.area == commune_id) & User.role.is_in(["volunteer", "official"])).order_by(
        User.display_name)
    return {"villages": villages, "authors": authors}


async def get_entry_for_review(user: CurrentUser, entry_id: Any) -> dict[str, Any]:
    """An entry of the official's commune, with names, or 404."""
    eid = _uuid(entry_id)
    if eid is None or user.commune_id is None:
        raise NotFoundException()
    row = await Entry.select(*_entry_columns()).where(
        (Entry.id == eid) & (Entry.commune == user.commune_id)).first()
    if row is None:
        raise NotFoundException()
    return row


async def record_entry_view(user: CurrentUser, entry: dict[str, Any]) -> None:
    """Opening an entry shows a person's data: the read is audited like a person page."""
    if entry.get("person") is None:
        return
    async with write_transaction(Entry._meta.db):
        await record_event("entry.view", actor_id=user.id, commune_id=user.commune_id,
                           subject_type="entry", subject_id=str(entry["id"]),
                           person_id=entry["person"])


async def list_person_history(person_id: int, commune_id: int, *,
                              exclude: Any = None, visits: int = 5) -> dict[str, list[dict]]:
    """What the reviewer needs to judge an entry: the person's last visits (any state but
    rejected) and their open referrals."""
    base = (Entry.person == person_id) & (Entry.commune == commune_id) & (
        Entry.state != "rejected")
    if exclude is not None:
        base = base & (Entry.id != exclude)
    last = await Entry.select(
        Entry.id, Entry.entry_date, Entry.state, Entry.visit_kind, Entry.met, Entry.drug_signs,
        Entry.risk, Entry.next_step, Entry.author.display_name.as_alias("author_name"),
    ).where(base & (Entry.kind == "visit")).order_by(
        Entry.entry_date, ascending=False).limit(visits)
    referrals = await Entry.select(
        Entry.id, Entry.entry_date, Entry.state, Entry.service, Entry.ref_status,
        Entry.ref_status_date, Entry.provider.name.as_alias("provider_name"),
    ).where(base & (Entry.kind == "referral") & (
        Entry.ref_status.is_null() | (Entry.ref_status != "closed"))).order_by(
        Entry.entry_date, ascending=False)
    return {"visits": last, "referrals": referrals}


async def get_version_diff(entry_id: Any, version: int) -> list[dict[str, Any]] | None:
    """The changes from version `version - 1` to `version` of an entry, each as {field, label,
    old, new} (None if there is no earlier snapshot to compare with)."""
    if version <= 1:
        return None
    rows = await EntryVersion.select(EntryVersion.version, EntryVersion.data).where(
        (EntryVersion.entry == entry_id)
        & EntryVersion.version.is_in([version - 1, version])).order_by(EntryVersion.version)
    data = {r["version"]: _as_dict(r["data"]) for r in rows}
    if version - 1 not in data or version not in data:
        return None
    old, new = data[version - 1], data[version]
    return [{"field": f, "label": field_label(f), "old": old.get(f), "new": new.get(f)}
            for f in changed_fields(old, new)]


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- notifications


async def _overdue_days(commune_id: int) -> int:
    row = await Area.select(Area.review_overdue_days).where(Area.id == commune_id).first()
    days = row["review_overdue_days"] if row else None
    return int(days) if days is not None and days >= 0 else 3


def _volunteer_where(user_id: int) -> Any:
    cutoff = _now() - dt.timedelta(days=REJECTED_NOTICE_DAYS)
    return (Entry.author == user_id) & (
        (Entry.state == "returned")
        | ((Entry.state == "rejected") & (Entry.reviewed_at >= cutoff)))


async def overdue_cutoff(commune_id: int) -> dt.datetime:
    """Entries received before this instant are overdue for review in the commune."""
    return _now() - dt.timedelta(days=await _overdue_days(commune_id))


async def _official_where(commune_id: int) -> Any:
    cutoff = await overdue_cutoff(commune_id)
    return (Entry.commune == commune_id) & (Entry.state == "submitted") & (
        Entry.received_at < cutoff)


async def notification_count(user: CurrentUser) -> int:
    """The number in the header: a volunteer's returned (and recently rejected) entries; an
    official's entries waiting longer than the commune's overdue setting."""
    if user.role == "volunteer":
        return await Entry.count().where(_volunteer_where(user.id))
    if user.role == "official" and user.commune_id is not None:
        return await Entry.count().where(await _official_where(user.commune_id))
    return 0


async def list_notifications(user: CurrentUser) -> dict[str, Any]:
    columns = [
        Entry.id, Entry.kind, Entry.entry_date, Entry.state, Entry.received_at,
        Entry.reviewed_at, Entry.review_comment, Entry.version, Entry.contact_alias,
        Entry.person.code.as_alias("person_code"),
        Entry.person.full_name.as_alias("person_name"),
        Entry.village.name.as_alias("village_name"),
        Entry.author.display_name.as_alias("author_name"),
        Entry.reviewed_by.display_name.as_alias("reviewer_name"),
    ]
    if user.role == "volunteer":
        rows = await Entry.select(*columns).where(_volunteer_where(user.id)).order_by(
            Entry.reviewed_at, ascending=False)
        return {"returned": [r for r in rows if r["state"] == "returned"],
                "rejected": [r for r in rows if r["state"] == "rejected"], "overdue": []}
    if user.role == "official" and user.commune_id is not None:
        days = await _overdue_days(user.commune_id)
        rows = await Entry.select(*columns).where(
            await _official_where(user.commune_id)).order_by(Entry.received_at).limit(
            QUEUE_LIMIT)
        return {"returned": [], "rejected": [], "overdue": rows, "overdue_days": days}
    return {"returned": [], "rejected": [], "overdue": []}


async def count_waiting(commune_id: int) -> int:
    return await Entry.count().where(
        (Entry.commune == commune_id) & (Entry.state == "submitted"))


async def get_person_brief(person_id: int, commune_id: int) -> dict[str, Any] | None:
    return await Person.select(
        Person.id, Person.code, Person.full_name, Person.category, Person.birth_year,
        Person.village.name.as_alias("village_name"),
    ).where((Person.id == person_id) & (Person.commune == commune_id)).first()
