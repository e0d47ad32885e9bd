"""Review of field entries: the officials' queue, the decisions, the person's recent history,
the version diff and the notifications.

Every decision is one write transaction: an UPDATE guarded by the state it leaves and by the
version the reviewer saw (`... WHERE state = 'submitted' AND version = :seen RETURNING`), so a
race, a double click or a correction that landed meanwhile cannot be decided over, then the
audit row of the change and the author's next update-feed number (server.records.feed_queries).
The database's own CHECK (trigger on SQLite) keeps the state column to the four review states.
Referral follow-up steps (kind `referral_status`) are decided the same way; rejecting one
also recomputes its referral's current follow-up (the only decision that changes it: a step
counts until it is rejected).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from server.areas.tables import Area
from server.audit.queries import record_event
from server.db import write_transaction
from server.errors import DomainError, NotFound
from server.i18n import _
from server.people.tables import Person
from server.records.feed_queries import stamp_changes
from server.records.queries import lock_referral, refresh_follow_up
from server.records.tables import Entry, EntryVersion, ReferralEvent
from server.review.diff import changed_fields, diff_versions, field_label
from server.web import CurrentUser

__all__ = [
    "ReviewRefused", "EntryChanged", "approve_entry", "return_entry", "reject_entry", "reopen_entry",
    "approve_entries", "list_queue", "get_entry_for_review", "list_person_history",
    "get_version_diff", "diff_versions", "notification_count", "list_notifications",
    "list_recent_rejections",
]

# Rejected entries stay in a volunteer's notifications this long; returned ones until fixed.
REJECTED_NOTICE_DAYS = 14
# Rows the queue (and an official's overdue list) shows, oldest first; the page says when
# there are more. Rendering is most of the page's time: 200 rows took ~4x as long as 50, and
# 50 is already more than a phone's screen shows without a long scroll.
QUEUE_LIMIT = 50


class ReviewRefused(DomainError):
    """A decision the rules do not allow; `status` is the HTTP status of a JSON answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class EntryChanged(ReviewRefused):
    """The entry was corrected after the reviewer opened it: nothing was decided."""

    def __init__(self, seen: int, current: int) -> None:
        super().__init__(_("This entry was corrected since you opened it."), 409)
        self.seen = seen
        self.current = current


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def _version(value: Any) -> int | None:
    """The version the reviewer saw, as sent by a form or a client (None if unusable)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= 1_000_000 else None
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) <= 7 and int(text) >= 1 else None


def _seen(value: Any) -> int:
    seen = _version(value)
    if seen is None:
        raise ReviewRefused(_("Open the entry again: the version you reviewed is missing."), 422)
    return seen


# ---------------------------------------------------------------- decisions


async def _explain_refusal(entry_id: uuid.UUID, commune_id: int | None, user_id: int,
                           seen: int) -> ReviewRefused:
    row = await Entry.select(Entry.state, Entry.author, Entry.commune, Entry.version).where(
        Entry.id == entry_id).first()
    if row is None or row["commune"] != commune_id:
        raise NotFound()
    if row["version"] != seen:
        return EntryChanged(seen, row["version"])
    if row["author"] == user_id:
        return ReviewRefused(_("You wrote this entry: another official must review it."), 403)
    messages = {
        "approved": _("This entry is already approved; reopen it first to change it."),
        "returned": _("This entry was returned to its author and waits for their correction."),
        "rejected": _("This entry was rejected; a rejected entry cannot be decided again."),
        "submitted": _("Only an approved entry can be reopened."),
    }
    return ReviewRefused(messages.get(row["state"], _("This entry cannot be changed now.")))


async def _decide(user: CurrentUser, entry_id: Any, *, verb: str, from_state: str,
                  to_state: str, seen_version: Any, comment: str = "") -> dict[str, Any]:
    eid = _uuid(entry_id)
    if eid is None or user.commune_id is None:
        raise NotFound()
    if _version(seen_version) is None:  # another commune's entry stays a 404 all the same
        await get_entry_for_review(user, eid)
    seen = _seen(seen_version)
    now = _now()
    # Rejecting a follow-up step changes its referral's current status: the referral is
    # locked first, in the order every change of a chain of steps takes (records.queries).
    referral = None
    if to_state == "rejected":
        link = await ReferralEvent.select(ReferralEvent.referral).where(
            ReferralEvent.id == eid).first()
        referral = link["referral"] if link else None
    async with write_transaction(Entry._meta.db):
        if referral is not None:
            await lock_referral(referral)
        rows = await Entry.update({
            Entry.state: to_state, Entry.reviewed_by: user.id, Entry.reviewed_at: now,
            Entry.review_comment: comment, Entry.updated_at: now,
        }).where(
            (Entry.id == eid) & (Entry.commune == user.commune_id)
            & (Entry.state == from_state) & (Entry.author != user.id)
            & (Entry.version == seen)
        ).returning(Entry.id, Entry.person, Entry.version, Entry.kind, Entry.author)
        if not rows:
            raise await _explain_refusal(eid, user.commune_id, user.id, seen)
        row = rows[0]
        detail: dict[str, Any] = {"from": from_state, "to": to_state, "version": row["version"],
                                  "kind": row["kind"], "author": row["author"]}
        if comment:
            detail["comment"] = comment
        await record_event(f"entry.{verb}", actor_id=user.id, commune_id=user.commune_id,
                           subject_type="entry", subject_id=str(eid), person_id=row["person"],
                           detail=detail)
        if referral is not None:  # a rejected step does not count (records.queries)
            await refresh_follow_up(referral)
        await stamp_changes([(eid, row["author"])])
    return {"id": eid, "state": to_state, "version": row["version"]}


def _required(text: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ReviewRefused(message, 422)
    if len(text) > 2000:
        raise ReviewRefused(_("At most 2000 characters."), 422)
    return text


async def approve_entry(user: CurrentUser, entry_id: Any, version: Any) -> dict[str, Any]:
    """Approve version `version` of a submitted entry (the one the reviewer saw)."""
    return await _decide(user, entry_id, verb="approve", from_state="submitted",
                         to_state="approved", seen_version=version)


async def return_entry(user: CurrentUser, entry_id: Any, version: Any,
                       comment: str) -> dict[str, Any]:
    text = _required(comment, _("Write what the author should correct."))
    return await _decide(user, entry_id, verb="return", from_state="submitted",
                         to_state="returned", seen_version=version, comment=text)


async def reject_entry(user: CurrentUser, entry_id: Any, version: Any,
                       reason: str) -> dict[str, Any]:
    text = _required(reason, _("Write why the entry is rejected."))
    return await _decide(user, entry_id, verb="reject", from_state="submitted",
                         to_state="rejected", seen_version=version, comment=text)


async def reopen_entry(user: CurrentUser, entry_id: Any, version: Any,
                       reason: str) -> dict[str, Any]:
    """An approved entry goes back to its author as `returned`, with the reason."""
    text = _required(reason, _("Write why the approved entry is reopened."))
    return await _decide(user, entry_id, verb="reopen", from_state="approved",
                         to_state="returned", seen_version=version, comment=text)


def parse_pick(raw: Any) -> tuple[uuid.UUID, int] | None:
    """A ticked entry of the bulk form, `<entry id>:<version seen>`, or None."""
    eid_text, _sep, version_text = str(raw).partition(":")
    eid, version = _uuid(eid_text), _version(version_text)
    return (eid, version) if eid is not None and version is not None else None


async def approve_entries(user: CurrentUser, picks: list[Any]) -> dict[str, Any]:
    """Approve, in one transaction, the ticked entries that are still submitted at the version
    the reviewer saw (each pick `<entry id>:<version>`); report the others with the reason.

    Returns {"approved": [uuid, ...], "skipped": [(pick as given, reason), ...]}.
    """
    approved: list[uuid.UUID] = []
    skipped: list[tuple[str, str]] = []
    wanted: dict[uuid.UUID, tuple[int, str]] = {}
    for raw in picks:
        pick = parse_pick(raw)
        if pick is None:
            skipped.append((str(raw), _("not an entry with the version you saw")))
        elif pick[0] not in wanted:
            wanted[pick[0]] = (pick[1], str(raw))
    if not wanted or user.commune_id is None:
        return {"approved": approved, "skipped": skipped + [(v[1], _("not found"))
                                                             for v in wanted.values()]}
    by_version: dict[int, list[uuid.UUID]] = {}
    for eid, (version, _raw) in wanted.items():
        by_version.setdefault(version, []).append(eid)
    now = _now()
    async with write_transaction(Entry._meta.db):
        rows: list[dict[str, Any]] = []
        # One guarded UPDATE per version seen (a handful), not one OR per entry: SQLite
        # limits the depth of an expression tree.
        for version in sorted(by_version):
            rows += await Entry.update({
                Entry.state: "approved", Entry.reviewed_by: user.id, Entry.reviewed_at: now,
                Entry.review_comment: "", Entry.updated_at: now,
            }).where(
                Entry.id.is_in(by_version[version]) & (Entry.version == version)
                & (Entry.commune == user.commune_id) & (Entry.state == "submitted")
                & (Entry.author != user.id)
            ).returning(Entry.id, Entry.person, Entry.version, Entry.kind, Entry.author)
        for row in rows:
            got = _uuid(row["id"])
            assert got is not None
            approved.append(got)
            await record_event("entry.approve", actor_id=user.id, commune_id=user.commune_id,
                               subject_type="entry", subject_id=str(got),
                               person_id=row["person"],
                               detail={"from": "submitted", "to": "approved", "bulk": True,
                                       "version": row["version"], "kind": row["kind"],
                                       "author": row["author"]})
        await stamp_changes((r["id"], r["author"]) for r in rows)
        done = set(approved)
        rest = [eid for eid in wanted if eid not in done]
        found = {}
        if rest:
            found = {_uuid(r["id"]): r for r in await Entry.select(
                Entry.id, Entry.state, Entry.author, Entry.commune, Entry.version).where(
                Entry.id.is_in(rest))}
    reasons = {"approved": _("already approved"), "returned": _("returned to its author"),
               "rejected": _("rejected")}
    for eid in rest:
        r = found.get(eid)
        given = wanted[eid][1]
        if r is None or r["commune"] != user.commune_id:
            skipped.append((given, _("not found")))
        elif r["version"] != wanted[eid][0]:
            skipped.append((given, _("This entry was corrected since you opened it.")))
        elif r["author"] == user.id:
            skipped.append((given, _("you wrote it")))
        else:
            skipped.append((given, reasons.get(r["state"], r["state"])))
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


_QUEUE = (
    "SELECT e.id, e.kind, e.entry_date, e.received_at, e.version, e.author, e.state, e.met, "
    "e.risk, e.attendees_total, e.service, e.contact_alias, e.ref_status, e.ref_outcome, "
    "p.code AS person_code, p.full_name AS person_name, v.name AS village_name, "
    "a.display_name AS author_name FROM entry e "
    "LEFT JOIN person p ON p.id = e.person LEFT JOIN area v ON v.id = e.village "
    "LEFT JOIN app_user a ON a.id = e.author "
    "WHERE e.commune = {} AND e.state = 'submitted'")


async def list_queue(commune_id: int, *, kind: str | None = None, village: int | None = None,
                     author: int | None = None, since: dt.date | None = None,
                     until: dt.date | None = None, limit: int = QUEUE_LIMIT) -> list[dict]:
    """The commune's submitted entries, oldest received first, with the given filters (raw
    SQL built once: Piccolo's select with three joins cost more than the query)."""
    sql, args = _QUEUE, list[Any]([commune_id])
    for clause, value in (("e.kind = {}", kind or None), ("e.village = {}", village),
                          ("e.author = {}", author), ("e.entry_date >= {}", since),
                          ("e.entry_date <= {}", until)):
        if value is not None:
            sql += f" AND {clause}"
            args.append(value)
    return await Entry.raw(f"{sql} ORDER BY e.received_at LIMIT {int(limit)}", *args)


# The queue form's two choice lists and the commune's overdue setting in one statement (three
# Piccolo selects cost ~1 ms of Python each to build): rows tagged v (village), a (author)
# and o (the setting, in `id`), each list in name order.
_QUEUE_FILTERS = (
    "SELECT 'v' AS part, id, name FROM area WHERE parent = {} AND level = 'village' "
    "UNION ALL SELECT 'a' AS part, id, display_name AS name FROM app_user "
    "WHERE area = {} AND role IN ('volunteer', 'official') "
    "UNION ALL SELECT 'o' AS part, review_overdue_days AS id, '' AS name FROM area "
    "WHERE id = {} ORDER BY part, name")


async def list_queue_filters(commune_id: int) -> dict[str, Any]:
    """The choices of the queue's filter form (villages and the commune's recording users)
    and the instant before which a waiting entry is overdue (`overdue_cutoff`)."""
    rows = await Area.raw(_QUEUE_FILTERS, commune_id, commune_id, commune_id)
    villages = [{"id": r["id"], "name": r["name"]} for r in rows if r["part"] == "v"]
    authors = [{"id": r["id"], "display_name": r["name"]} for r in rows if r["part"] == "a"]
    days = next((r["id"] for r in rows if r["part"] == "o"), None)
    days = int(days) if days is not None and days >= 0 else 3
    return {"villages": villages, "authors": authors,
            "overdue_before": _now() - dt.timedelta(days=days)}


async def get_entry_for_review(user: CurrentUser, entry_id: Any) -> dict[str, Any]:
    """An entry of the official's commune, with names, or 404."""
    eid = _uuid(entry_id)
    if eid is None or user.commune_id is None:
        raise NotFound()
    row = await Entry.select(*_entry_columns()).where(
        (Entry.id == eid) & (Entry.commune == user.commune_id)).first()
    if row is None:
        raise NotFound()
    return row


async def get_step_for_review(entry: dict[str, Any]) -> dict[str, Any] | None:
    """For a follow-up step: its referral (id, date, service, provider, current follow-up)."""
    if entry["kind"] != "referral_status":
        return None
    link = await ReferralEvent.select(ReferralEvent.referral).where(
        ReferralEvent.id == entry["id"]).first()
    if link is None:
        return None
    return await Entry.select(
        Entry.id, Entry.entry_date, Entry.state, Entry.service, Entry.ref_status,
        Entry.contact_alias, Entry.provider.name.as_alias("provider_name"),
    ).where((Entry.id == link["referral"]) & (Entry.commune == entry["commune"])).first()


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


async def get_version_diff(entry_id: Any, version: int,
                           since: int | None = None) -> list[dict[str, Any]] | None:
    """The changes from version `since` (default `version - 1`) to `version` of an entry, each
    as {field, label, old, new} (None if there is no earlier snapshot to compare with)."""
    since = version - 1 if since is None else since
    if since < 1 or since >= version:
        return None
    rows = await EntryVersion.select(EntryVersion.version, EntryVersion.data).where(
        (EntryVersion.entry == entry_id)
        & EntryVersion.version.is_in([since, version])).order_by(EntryVersion.version)
    data = {r["version"]: _as_dict(r["data"]) for r in rows}
    if since not in data or version not in data:
        return None
    old, new = data[since], data[version]
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
    # The IN lets the (author, state, entry_date) index find them without statistics.
    return (Entry.author == user_id) & Entry.state.is_in(["returned", "rejected"]) & (
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


# Raw SQL, built once: the volunteer home runs it on every load (Piccolo's select with four
# joins costs a few ms of Python to build, the query itself a fraction of one).
_NOTICE = (
    "SELECT e.id, e.kind, e.entry_date, e.state, e.received_at, e.reviewed_at, "
    "e.review_comment, e.version, e.contact_alias, p.code AS person_code, "
    "p.full_name AS person_name, v.name AS village_name, a.display_name AS author_name, "
    "r.display_name AS reviewer_name FROM entry e "
    "LEFT JOIN person p ON p.id = e.person LEFT JOIN area v ON v.id = e.village "
    "LEFT JOIN app_user a ON a.id = e.author LEFT JOIN app_user r ON r.id = e.reviewed_by ")


async def list_notifications(user: CurrentUser) -> dict[str, Any]:
    if user.role == "volunteer":
        rows = await Entry.raw(
            # The IN lets the (author, state, entry_date) index find them without statistics.
            _NOTICE + "WHERE e.author = {} AND e.state IN ('returned', 'rejected') AND "
            "(e.state = 'returned' OR e.reviewed_at >= {}) ORDER BY e.reviewed_at DESC", user.id,
            _now() - dt.timedelta(days=REJECTED_NOTICE_DAYS))
        return {"returned": [r for r in rows if r["state"] == "returned"],
                "rejected": [r for r in rows if r["state"] == "rejected"], "overdue": []}
    if user.role == "official" and user.commune_id is not None:
        days = await _overdue_days(user.commune_id)
        rows = await Entry.raw(
            _NOTICE + "WHERE e.commune = {} AND e.state = 'submitted' AND e.received_at < {} "
            f"ORDER BY e.received_at LIMIT {QUEUE_LIMIT}", user.commune_id,
            _now() - dt.timedelta(days=days))
        return {"returned": [], "rejected": [], "overdue": rows, "overdue_days": days}
    return {"returned": [], "rejected": [], "overdue": []}


async def list_recent_rejections(user: CurrentUser) -> list[dict[str, Any]]:
    """A volunteer's entries rejected in the last REJECTED_NOTICE_DAYS, newest review first:
    the `rejected` list of list_notifications, without reading the returned ones (the home
    page's records card lists those itself)."""
    return await Entry.raw(
        _NOTICE + "WHERE e.author = {} AND e.state = 'rejected' AND e.reviewed_at >= {} "
        "ORDER BY e.reviewed_at DESC", user.id, _now() - dt.timedelta(days=REJECTED_NOTICE_DAYS))


async def count_waiting(commune_id: int) -> int:
    return await Entry.count().where(
        (Entry.commune == commune_id) & (Entry.state == "submitted"))


async def get_person_brief(person_id: int, commune_id: int) -> dict[str, Any] | None:
    return await Person.select(
        Person.id, Person.code, Person.full_name, Person.category, Person.birth_year,
        Person.village.name.as_alias("village_name"),
    ).where((Person.id == person_id) & (Person.commune == commune_id)).first()
