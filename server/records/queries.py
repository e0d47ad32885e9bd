"""The one write path of field records: `submit_record`, taken by the HTML forms, the JSON API
and the offline sync alike, plus the access checks it rests on.

Idempotency: the client UUID is the entry's key. The same id, version and content answers
"unchanged" with the stored receipt; other content at that version, or a version that is not
current + 1, is a "conflict"; current + 1 by the author of a submitted or returned entry is a
correction. Referral follow-up steps are entries too (kind `referral_status`, keyed the same
way by their UUID, reviewed like the rest): see `_submit_status`.

Every write stamps the entry with the author's next update-feed number in its transaction
(server.records.feed_queries), so the phone learns of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from functools import cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from schema.enums import RefStatus, label
from schema.records import INPUTS, MAX_VERSION, SubmitResult
from server import bulk
from server.areas.tables import Area, Organisation
from server.audit.queries import record_event
from server.db import write_transaction
from server.i18n import _
from server.parse import parse_datetime
from server.people.tables import CategoryPeriod, Person, TeamMember
from server.records.feed_queries import stamp_changes
from server.records.kinds import EXTRA
from server.records.tables import Entry, EntryVersion, Provider, ReferralEvent
from server.records.validation import validate_fields
from server.vntime import today as vn_today
from server.web import CurrentUser

__all__ = ["SubmitResult", "submit_record", "person_for_record", "NEXT_STEPS", "entry_columns",
           "normalise", "unchanged_result", "conflict_result"]

# referred → received → attended → closed; closing early is allowed with the outcomes that
# make sense at that point (nobody "completes" a service they never attended).
NEXT_STEPS: dict[str, dict[str, tuple[str, ...]]] = {
    "referred": {"received": (), "closed": ("declined", "no_show", "cancelled")},
    "received": {"attended": (), "closed": ("declined", "no_show", "cancelled")},
    "attended": {"closed": ("completed", "declined")},
    "closed": {},
}
EDITABLE = ("submitted", "returned")
# What the write path reads of a stored entry to answer a record sent again.
STORED = (Entry.id, Entry.kind, Entry.author, Entry.commune, Entry.version, Entry.state,
          Entry.content_hash, Entry.receipt)
BUILT_IN = ("visit", "talk", "referral", "referral_status")  # others: server.records.kinds
WRITERS = ("volunteer", "official")


def canonical_hash(kind: str, data: dict[str, Any]) -> str:
    """The SHA-256 of a record's normalised content: `json.dumps({"kind": kind, **data},
    sort_keys=True, ensure_ascii=False, separators=(",", ":"))`, which the stored entries'
    `content_hash` was made of — a record sent again is recognised by it, so it never changes.

    A built-in kind whose fields hold no float (`_plain_kind`) is encoded by msgspec instead,
    a tenth of the time: for text, whole numbers, booleans, nulls, lists and objects of them
    its bytes are json.dumps's, key order included (tests/test_sync_batch.py compares them)."""
    record = {"kind": kind, **data}
    if _plain_kind(kind):
        return hashlib.sha256(msgspec.json.encode(record, order="sorted")).hexdigest()
    text = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_PLAIN_TYPES = (mi.StrType, mi.IntType, mi.BoolType, mi.NoneType, mi.DateType, mi.UUIDType)


def _plain(t: mi.Type) -> bool:
    """Whether every value of type `t`, as `msgspec.to_builtins` gives it, is text, a whole
    number, a boolean, null or a list of those (a date and a UUID become text)."""
    if isinstance(t, mi.Metadata):
        return _plain(t.type)
    if isinstance(t, mi.UnionType):
        return all(_plain(u) for u in t.types)
    if isinstance(t, mi.ListType | mi.SetType | mi.FrozenSetType):
        return _plain(t.item_type)
    if isinstance(t, mi.EnumType):
        return all(type(m.value) in (str, int) for m in t.cls)
    if isinstance(t, mi.LiteralType):
        return all(type(v) in (str, int) for v in t.values)
    return isinstance(t, _PLAIN_TYPES)


@cache
def _plain_kind(kind: str) -> bool:
    """A built-in kind whose every field is `_plain` (no float, no free-form value). Kinds of
    the plan modules normalise their data themselves: they keep json.dumps."""
    if kind not in BUILT_IN or kind not in INPUTS:
        return False
    info = mi.type_info(INPUTS[kind])
    return isinstance(info, mi.StructType) and all(_plain(f.type) for f in info.fields)


async def commune_code(commune_id: int) -> str:
    """The start of a receipt: the commune's person prefix, else its code (6 characters)."""
    row = await Area.select(Area.code, Area.person_prefix).where(Area.id == commune_id).first()
    return _receipt_prefix(row["code"], row["person_prefix"]) if row else "X"


def _receipt_prefix(code: str, person_prefix: str | None) -> str:
    return str(person_prefix or code)[:6]


def make_receipt(code: str, record_id: uuid.UUID, version: int) -> str:
    digest = hashlib.sha256(f"{record_id}:{version}".encode()).hexdigest()[:8].upper()
    return f"{code}-{digest}"


# ---------------------------------------------------------------- access


async def person_for_record(user: CurrentUser, person_id: int) -> dict[str, Any] | None:
    """The person if `user` may record for them (with village and register start), else None.

    A volunteer: only while on the person's team; an official: anyone of their commune.
    """
    if user.role not in WRITERS or user.commune_id is None:
        return None
    row = await Person.select(Person.id, Person.village, Person.full_name, Person.code).where(
        (Person.id == person_id) & (Person.commune == user.commune_id)).first()
    if row is None:
        return None
    if user.role == "volunteer" and not await TeamMember.exists().where(
            (TeamMember.person == person_id) & (TeamMember.user == user.id)
            & TeamMember.end_date.is_null()):
        return None
    start = await CategoryPeriod.select(CategoryPeriod.start_date).where(
        CategoryPeriod.person == person_id).order_by(CategoryPeriod.start_date).first()
    row["start_date"] = start["start_date"] if start else None
    return row


async def people_for_records(user: CurrentUser, person_ids: list[int]) -> dict[int, dict[str, Any]]:
    """`person_for_record` for many people in one query: those of `person_ids` the user may
    record for, by id, each with id, village, full_name, code and start_date — and the
    receipt prefix of their commune, `commune_code` (what `commune_code()` reads), which a
    sync batch needs only when it has someone to record for."""
    if user.role not in WRITERS or user.commune_id is None or not person_ids:
        return {}
    ids = sorted(set(person_ids))
    marks = ", ".join("{}" for _ in ids)
    rows = await bulk.run(Person._meta.db,
        "SELECT p.id, p.village, p.full_name, p.code, "
        "(SELECT c.start_date FROM category_period c WHERE c.person = p.id "
        " ORDER BY c.start_date LIMIT 1) AS start_date, "
        "EXISTS (SELECT 1 FROM team_member t WHERE t.person = p.id AND t.\"user\" = {} "
        " AND t.end_date IS NULL) AS on_team, "
        "a.code AS area_code, a.person_prefix AS area_prefix "
        "FROM person p JOIN area a ON a.id = p.commune "
        f"WHERE p.commune = {{}} AND p.id IN ({marks})",
        [user.id, user.commune_id, *ids])
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        if user.role == "volunteer" and not row.pop("on_team"):
            continue
        row.pop("on_team", None)
        row["commune_code"] = _receipt_prefix(row.pop("area_code"), row.pop("area_prefix"))
        # A sub-select loses SQLite's declared column type: the date comes back as text.
        if isinstance(row["start_date"], str):
            row["start_date"] = dt.date.fromisoformat(row["start_date"])
        found[int(row["id"])] = row
    return found


async def _village_in_commune(village_id: int, commune_id: int) -> bool:
    return await Area.exists().where((Area.id == village_id) & (Area.parent == commune_id)
                                     & (Area.level == "village"))


async def may_follow_up(user: CurrentUser, entry: dict[str, Any]) -> bool:
    """Who may record a referral's next step: its author, the person's team, the officials."""
    if user.role not in WRITERS or entry["commune"] != user.commune_id:
        return False
    if user.role == "official" or entry["author"] == user.id:
        return True
    return bool(entry["person"]) and await TeamMember.exists().where(
        (TeamMember.person == entry["person"]) & (TeamMember.user == user.id)
        & TeamMember.end_date.is_null())


# ---------------------------------------------------------------- checks needing the DB


def _date_checks(errors: dict[str, str], typed: dict[str, Any], field: str,
                 not_before: dt.date | None, before_msg: str) -> None:
    day = typed.get(field)
    if field in errors or not isinstance(day, dt.date):
        return
    if day > vn_today():
        errors[field] = _("The date cannot be in the future.")
    elif not_before and day < not_before:
        errors[field] = before_msg % {"date": not_before.strftime("%d/%m/%Y")}


def check_visit(typed: dict[str, Any], errors: dict[str, str],
                person: dict[str, Any] | None) -> None:
    _date_checks(errors, typed, "date", person["start_date"] if person else None,
                 _("The date is before this person entered the register (%(date)s)."))
    # The reason when not met and the next visit's window: schema.records.RULES.


async def _check_talk(user: CurrentUser, typed: dict[str, Any], errors: dict[str, str]) -> None:
    _date_checks(errors, typed, "date", None, "")
    # Parts of the attendees not more than the total: schema.records.RULES.
    org = typed.get("organisation")
    if isinstance(org, int) and not await Organisation.exists().where(Organisation.id == org):
        errors["organisation"] = _("Choose an organisation from the list.")


async def _check_referral(user: CurrentUser, typed: dict[str, Any], errors: dict[str, str],
                          person: dict[str, Any] | None) -> None:
    _date_checks(errors, typed, "date", person["start_date"] if person else None,
                 _("The date is before this person entered the register (%(date)s)."))
    has_contact = bool(typed.get("contact_alias") or typed.get("contact_sex")
                       or typed.get("contact_age_band"))
    if typed.get("person") and has_contact:
        errors.setdefault("contact_alias", _("Choose a person or describe a contact, not both."))
    elif not typed.get("person") and "person" not in errors:
        if not has_contact:
            errors["person"] = _("Choose a person, or describe an unregistered contact below.")
        elif not typed.get("contact_alias"):
            errors.setdefault("contact_alias", _("Give the contact an alias."))
    provider = typed.get("provider")
    if isinstance(provider, int) and not await Provider.exists().where(
            (Provider.id == provider) & (Provider.commune == user.commune_id)
            & (Provider.active == True)):  # noqa: E712 - Piccolo column comparison
        errors["provider"] = _("Choose a provider from the list.")


# ---------------------------------------------------------------- columns


def entry_columns(kind: str, data: dict[str, Any],
                  person: dict[str, Any] | None) -> dict[str, Any]:
    """Entry columns from normalised data (dates as ISO strings, lists as lists): what
    `submit_record` and the sync batch (server.records.batch) write of a record's content."""
    day = dt.date.fromisoformat(data["date"])
    cols: dict[str, Any] = {"entry_date": day, "notes": data.get("notes", "")}
    if kind == "visit":
        cols.update(
            person=data["person"], village=person["village"] if person else None,
            visit_kind=data["visit_kind"], met=data["met"],
            not_met_reason=data["not_met_reason"] if not data["met"] else None,
            health=data["health"], work=data["work"], family=data["family"],
            drug_signs=data["drug_signs"], methadone=data["methadone"],
            support=json.dumps(data["support"]), risk=data["risk"], next_step=data["next_step"],
            next_visit_date=dt.date.fromisoformat(data["next_visit_date"])
            if data.get("next_visit_date") else None)
    elif kind == "talk":
        cols.update(
            village=data["village"], setting=data["setting"], format=data["format"],
            topics=json.dumps(data["topics"]), organisation=data.get("organisation"),
            attendees_total=data["attendees_total"], attendees_women=data["attendees_women"],
            attendees_under30=data["attendees_under30"],
            attendees_students=data["attendees_students"], materials=data["materials"])
    elif kind in EXTRA:
        cols.update(EXTRA[kind].columns(data, person))
    else:
        cols.update(
            person=data.get("person"), village=person["village"] if person else None,
            contact_alias=data.get("contact_alias") or None,
            contact_sex=data.get("contact_sex"), contact_age_band=data.get("contact_age_band"),
            service=data["service"], provider=data.get("provider"), reason=data["reason"],
            urgency=data["urgency"])
    return cols


def normalise(kind: str, obj: msgspec.Struct) -> dict[str, Any]:
    """A checked record as the plain data its content hash and its version are made of: a
    visit's reason "not met" dropped when met, chosen lists sorted and without repeats."""
    data: dict[str, Any] = msgspec.to_builtins(obj)
    if kind == "visit" and data.get("met"):
        data["not_met_reason"] = None
    if kind in ("visit", "talk"):
        key = "support" if kind == "visit" else "topics"
        data[key] = sorted(set(data[key]))
    if kind in EXTRA:
        data = EXTRA[kind].normalise(data)
    return data


# ---------------------------------------------------------------- the write path


async def screen(user: CurrentUser, kind: str, version: Any,
                 recorded_at: Any) -> SubmitResult | dt.datetime:
    """What is refused before the record's fields are read: an unknown kind, a user who may
    not write records, a version out of bounds, an unreadable device time. Else the device
    time, as an aware UTC datetime."""
    if kind not in INPUTS:
        return SubmitResult("invalid", errors={"kind": _("Unknown kind of record.")})
    if user.role not in WRITERS or user.commune_id is None:
        return SubmitResult("forbidden")
    if kind not in BUILT_IN and kind not in EXTRA:  # declared, but its package not loaded
        return SubmitResult("invalid", errors={"kind": _("Unknown kind of record.")})
    if kind in EXTRA and not await EXTRA[kind].may_record(user):
        return SubmitResult("forbidden")
    if not isinstance(version, int) or isinstance(version, bool) \
            or not 1 <= version <= MAX_VERSION:
        return SubmitResult("invalid", errors={"version": _("This value is not valid.")})
    # The device's clock is the phone's word: years 1 or 9999 (±14:00) are refused per record.
    bounded = parse_datetime(recorded_at)
    if bounded is None:
        return SubmitResult("invalid", errors={"recorded_at": _("Enter a valid date and time.")})
    return bounded


def against_stored(user: CurrentUser, kind: str, version: int, content_hash: str | None,
                   existing: dict[str, Any] | None) -> SubmitResult | None:
    """The answer the stored row (or its absence) gives at once: forbidden, conflict,
    unchanged; None when the record may go on (version 1 of a new id, or current + 1 of an
    editable entry of this author)."""
    if existing is not None:
        if existing["author"] != user.id or existing["commune"] != user.commune_id:
            return SubmitResult("forbidden")
        if existing["kind"] != kind:
            return conflict_result(existing)
        if version == existing["version"] and content_hash == existing["content_hash"]:
            return unchanged_result(existing)
        if version != existing["version"] + 1 or existing["state"] not in EDITABLE:
            return conflict_result(existing)
    elif version != 1:
        return SubmitResult("conflict", version=0)
    return None


async def submit_record(user: CurrentUser, kind: str, record_id: uuid.UUID, version: int,
                        recorded_at: dt.datetime, data: dict[str, Any]) -> SubmitResult:
    """Validate and store one record exactly once; see the module docstring for the rules."""
    screened = await screen(user, kind, version, recorded_at)
    if isinstance(screened, SubmitResult):
        return screened
    assert user.commune_id is not None  # screen() answered `forbidden` to a user without one
    recorded_at = screened
    obj, errors, typed = validate_fields(INPUTS[kind], data)
    if kind == "referral_status":
        return await _submit_status(user, record_id, version, recorded_at, obj, errors, typed)

    content_hash = canonical_hash(kind, normalise(kind, obj)) if obj is not None else None
    existing = await Entry.select(*STORED).where(Entry.id == record_id).first()
    if (answer := against_stored(user, kind, version, content_hash, existing)) is not None:
        return answer

    person = None
    person_id = typed.get("person") if "person" not in errors else None
    if person_id:
        person = await person_for_record(user, int(person_id))
        if person is None:
            return SubmitResult("forbidden")
    if kind == "talk" and "village" not in errors and typed.get("village") and \
            not await _village_in_commune(int(typed["village"]), user.commune_id):
        return SubmitResult("forbidden")
    if kind == "visit":
        check_visit(typed, errors, person)
    elif kind == "talk":
        await _check_talk(user, typed, errors)
    elif kind in EXTRA:
        await EXTRA[kind].check(user, typed, errors)
    else:
        await _check_referral(user, typed, errors, person)
    if errors or obj is None or content_hash is None:
        return SubmitResult("invalid", errors=errors)

    normal = normalise(kind, obj)
    cols = entry_columns(kind, normal, person)
    code = await commune_code(user.commune_id)
    receipt = make_receipt(code, record_id, version)
    now = dt.datetime.now(dt.UTC)
    if existing is None:
        return await _insert(user, kind, record_id, recorded_at, normal, cols, content_hash,
                             receipt, now)
    return await _correct(user, kind, existing, version, recorded_at, normal, cols,
                          content_hash, receipt, now)


def unchanged_result(row: dict[str, Any]) -> SubmitResult:
    """The answer to a record sent again as it is stored: `unchanged`, with its receipt."""
    return SubmitResult("unchanged", state=row["state"], receipt=row["receipt"],
                        version=row["version"])


def conflict_result(row: dict[str, Any]) -> SubmitResult:
    """The answer to a record that does not follow the stored row: `conflict`, with the
    stored state and version."""
    return SubmitResult("conflict", state=row["state"], version=row["version"],
                        errors={"version": _("This record was changed elsewhere or can no "
                                             "longer be corrected.")})


async def _reread(record_id: uuid.UUID, user: CurrentUser, version: int,
                  content_hash: str) -> SubmitResult:
    row = await Entry.select(Entry.author, Entry.version, Entry.state, Entry.content_hash,
                             Entry.receipt).where(Entry.id == record_id).first()
    if row is None:  # pragma: no cover - the row that won the race is gone again
        return SubmitResult("conflict", version=0)
    if row["author"] != user.id:
        return SubmitResult("forbidden")
    if row["version"] == version and row["content_hash"] == content_hash:
        return unchanged_result(row)
    return conflict_result(row)


async def _insert(user: CurrentUser, kind: str, record_id: uuid.UUID, recorded_at: dt.datetime,
                  normal: dict[str, Any], cols: dict[str, Any], content_hash: str,
                  receipt: str, now: dt.datetime) -> SubmitResult:
    async with write_transaction(Entry._meta.db):
        if kind == "referral":
            cols.update(ref_status="referred", ref_status_date=cols["entry_date"])
        rows = await Entry.insert(Entry(
            id=record_id, kind=kind, commune=user.commune_id, author=user.id,
            recorded_at=recorded_at, received_at=now, updated_at=now, version=1,
            state="submitted", content_hash=content_hash, receipt=receipt, **cols,
        )).on_conflict(target=Entry.id, action="DO NOTHING").returning(Entry.id)
        if rows:
            await EntryVersion.insert(EntryVersion(entry=record_id, version=1,
                                                   data=json.dumps({"kind": kind, **normal}),
                                                   author=user.id, created_at=now))
            if kind in EXTRA:
                await EXTRA[kind].store(user, record_id, normal)
            await record_event("entry.submit", actor_id=user.id, commune_id=user.commune_id,
                               subject_type="entry", subject_id=str(record_id),
                               person_id=cols.get("person"),
                               detail={"kind": kind, "version": 1, "receipt": receipt})
            await stamp_changes([(record_id, user.id)])
    if not rows:
        return await _reread(record_id, user, 1, content_hash)
    return SubmitResult("stored", state="submitted", receipt=receipt, version=1)


async def _correct(user: CurrentUser, kind: str, existing: dict[str, Any], version: int,
                   recorded_at: dt.datetime, normal: dict[str, Any], cols: dict[str, Any],
                   content_hash: str, receipt: str, now: dt.datetime) -> SubmitResult:
    record_id = existing["id"]
    values = {getattr(Entry, k): v for k, v in cols.items()}
    values.update({Entry.version: version, Entry.state: "submitted", Entry.updated_at: now,
                   Entry.recorded_at: recorded_at, Entry.content_hash: content_hash,
                   Entry.receipt: receipt})
    async with write_transaction(Entry._meta.db):
        rows = await Entry.update(values).where(
            (Entry.id == record_id) & (Entry.version == version - 1)
            & (Entry.author == user.id) & Entry.state.is_in(list(EDITABLE))
        ).returning(Entry.id)
        if rows:
            await EntryVersion.insert(EntryVersion(entry=record_id, version=version,
                                                   data=json.dumps({"kind": kind, **normal}),
                                                   author=user.id, created_at=now))
            if kind in EXTRA:
                await EXTRA[kind].store(user, record_id, normal)
            await record_event("entry.correct", actor_id=user.id, commune_id=user.commune_id,
                               subject_type="entry", subject_id=str(record_id),
                               person_id=cols.get("person"),
                               detail={"kind": kind, "version": version, "receipt": receipt,
                                       "was": existing["state"]})
            await stamp_changes([(record_id, user.id)])
    if not rows:
        return await _reread(record_id, user, version, content_hash)
    return SubmitResult("stored", state="submitted", receipt=receipt, version=version)


# ---------------------------------------------------------------- referral follow-up
#
# A step is an entry of kind `referral_status` (review state, version, receipt, author; its
# status, outcome and date mirrored in ref_status/ref_outcome/ref_status_date so the review
# screens show it like any entry) plus its `referral_event` row (the link to the referral).
# The referral's own ref_status/ref_outcome/ref_status_date are its *current* follow-up:
# the highest step that is not rejected (steps only move forward, so the chain of
# non-rejected steps is ordered by status); a pending step counts for the next step, a
# rejected one does not. Reports count approved steps only (server.reports.queries).

RANK = {"referred": 0, "received": 1, "attended": 2, "closed": 3}


async def list_chain(ref_id: uuid.UUID, *, exclude: uuid.UUID | None = None,
                     states: tuple[str, ...] = ("submitted", "approved", "returned"),
                     ) -> list[dict[str, Any]]:
    """The referral's steps in the given review states (default: all but rejected), in
    order, as {id, status, outcome, date, state}."""
    q = Entry.select(Entry.id, Entry.ref_status, Entry.ref_outcome, Entry.ref_status_date,
                     Entry.state).where(
        (Entry.kind == "referral_status") & Entry.state.is_in(list(states))
        & Entry.id.is_in(ReferralEvent.select(ReferralEvent.id).where(
            ReferralEvent.referral == ref_id)))
    if exclude is not None:
        q = q.where(Entry.id != exclude)
    rows = await q
    chain = [{"id": r["id"], "status": r["ref_status"], "outcome": r["ref_outcome"],
              "date": r["ref_status_date"], "state": r["state"]} for r in rows]
    return sorted(chain, key=lambda s: RANK.get(s["status"], 0))


def _fit_step(chain: list[dict[str, Any]], start: dt.date, typed: dict[str, Any],
              errors: dict[str, str]) -> None:
    """Where a step goes in the chain of the other live steps: after the highest one below
    it (or the referral itself), before the lowest one above it; every error at once."""
    status, outcome = typed.get("status"), typed.get("outcome")
    rank = RANK.get(str(status), 0) if status is not None else None
    lower: dict[str, Any] = {"status": "referred", "date": start}
    upper: dict[str, Any] | None = None
    if rank is not None:
        lower = max((s for s in chain if RANK[s["status"]] < rank),
                    key=lambda s: RANK[s["status"]], default=lower)
        upper = min((s for s in chain if RANK[s["status"]] > rank),
                    key=lambda s: RANK[s["status"]], default=None)
    allowed = NEXT_STEPS.get(lower["status"], {})
    if status is not None and "status" not in errors:
        if rank and any(RANK[s["status"]] == rank for s in chain):
            errors["status"] = _("This referral already has the step “%(step)s”.") % {
                "step": label(RefStatus, status)}
        elif str(status) not in allowed:
            errors["status"] = _("A referral that is “%(now)s” cannot become “%(next)s”.") % {
                "now": label(RefStatus, lower["status"]), "next": label(RefStatus, status)}
        elif upper is not None and upper["status"] not in NEXT_STEPS.get(str(status), {}):
            errors["status"] = _("The later step “%(later)s” cannot follow “%(step)s”.") % {
                "later": label(RefStatus, upper["status"]), "step": label(RefStatus, status)}
        elif str(status) == "closed":
            if outcome is None and "outcome" not in errors:
                errors["outcome"] = _("Choose the outcome.")
            elif outcome is not None and str(outcome) not in allowed["closed"]:
                errors["outcome"] = _("This outcome is not possible at this step.")
        elif outcome is not None:
            errors["outcome"] = _("Only a closed referral has an outcome.")
    _date_checks(errors, typed, "date", lower["date"],
                 _("The date is before the referral's last step (%(date)s)."))
    day = typed.get("date")
    if upper is not None and isinstance(day, dt.date) and "date" not in errors \
            and day > upper["date"]:
        errors["date"] = _("The date is after the referral's next step (%(date)s).") % {
            "date": upper["date"].strftime("%d/%m/%Y")}


async def lock_referral(ref_id: uuid.UUID) -> None:
    """Take the referral's row lock (PostgreSQL; SQLite's write lock already serialises).
    Every transaction that changes a referral's chain of steps takes it first, before any step
    row, so two of them queue instead of deadlocking or both taking the same place."""
    await Entry.update({Entry.ref_status: Entry.ref_status}).where(Entry.id == ref_id)


async def refresh_follow_up(ref_id: uuid.UUID) -> None:
    """Set the referral's current follow-up from its live steps (call in the transaction
    that changed one of them)."""
    ref = await Entry.select(Entry.entry_date).where(Entry.id == ref_id).first()
    if ref is None:  # pragma: no cover - steps always have their referral (foreign key)
        return
    chain = await list_chain(ref_id)
    last = chain[-1] if chain else {"status": "referred", "outcome": None,
                                    "date": ref["entry_date"]}
    await Entry.update({Entry.ref_status: last["status"], Entry.ref_outcome: last["outcome"],
                        Entry.ref_status_date: last["date"]}).where(Entry.id == ref_id)


async def _submit_status(user: CurrentUser, record_id: uuid.UUID, version: int,
                         recorded_at: dt.datetime, obj: msgspec.Struct | None,
                         errors: dict[str, str], typed: dict[str, Any]) -> SubmitResult:
    """Record a follow-up step (version 1) or correct a returned one (version n + 1)."""
    ref_id = typed.get("referral")
    if "referral" in errors or not isinstance(ref_id, uuid.UUID):
        return SubmitResult("invalid", errors=errors or {"referral": _("Unknown referral.")})
    ref = await Entry.select(Entry.id, Entry.kind, Entry.commune, Entry.author, Entry.person,
                             Entry.village, Entry.state, Entry.entry_date).where(
        Entry.id == ref_id).first()
    if ref is None or ref["kind"] != "referral" or not await may_follow_up(user, ref):
        return SubmitResult("forbidden")
    content_hash = canonical_hash("referral_status", msgspec.to_builtins(obj)) \
        if obj is not None else None
    existing = await Entry.select(Entry.id, Entry.kind, Entry.author, Entry.commune,
                                  Entry.version, Entry.state, Entry.content_hash,
                                  Entry.receipt).where(Entry.id == record_id).first()
    if existing is not None:
        if existing["author"] != user.id or existing["commune"] != user.commune_id:
            return SubmitResult("forbidden")
        if existing["kind"] != "referral_status":
            return conflict_result(existing)
        if version == existing["version"] and content_hash == existing["content_hash"]:
            return unchanged_result(existing)
        if version != existing["version"] + 1 or existing["state"] not in EDITABLE:
            return conflict_result(existing)
        if not await ReferralEvent.exists().where((ReferralEvent.id == record_id)
                                                  & (ReferralEvent.referral == ref_id)):
            return conflict_result(existing)
    elif version != 1:
        return SubmitResult("conflict", version=0)
    if ref["state"] == "rejected":
        errors.setdefault("status", _("This referral was rejected: it has no follow-up."))

    code = await commune_code(user.commune_id or 0)
    receipt = make_receipt(code, record_id, version)
    now = dt.datetime.now(dt.UTC)
    async with write_transaction(Entry._meta.db):
        await lock_referral(ref_id)
        _fit_step(await list_chain(ref_id, exclude=record_id), ref["entry_date"], typed,
                  errors)
        if errors or obj is None or content_hash is None:
            return SubmitResult("invalid", errors=errors)
        step = {"status": str(typed["status"]), "outcome": str(typed["outcome"])
                if typed.get("outcome") else None, "date": typed["date"],
                "note": typed.get("note", "")}
        normal = {"kind": "referral_status", **msgspec.to_builtins(obj)}
        cols: dict[Any, Any] = {Entry.entry_date: step["date"], Entry.notes: step["note"],
                Entry.ref_status: step["status"], Entry.ref_outcome: step["outcome"],
                Entry.ref_status_date: step["date"], Entry.recorded_at: recorded_at,
                Entry.updated_at: now, Entry.content_hash: content_hash,
                Entry.receipt: receipt, Entry.version: version, Entry.state: "submitted"}
        if existing is None:
            rows = await Entry.insert(Entry(
                id=record_id, kind="referral_status", commune=user.commune_id,
                village=ref["village"], author=user.id, person=ref["person"],
                received_at=now, **{c._meta.name: v for c, v in cols.items()},
            )).on_conflict(target=Entry.id, action="DO NOTHING").returning(Entry.id)
            if rows:
                await ReferralEvent.insert(ReferralEvent(
                    id=record_id, referral=ref_id, status=step["status"],
                    outcome=step["outcome"], event_date=step["date"], note=step["note"],
                    author=user.id, recorded_at=recorded_at, received_at=now,
                    content_hash=content_hash))
        else:
            rows = await Entry.update(cols).where(
                (Entry.id == record_id) & (Entry.version == version - 1)
                & (Entry.author == user.id) & Entry.state.is_in(list(EDITABLE))
            ).returning(Entry.id)
            if rows:
                await ReferralEvent.update({
                    ReferralEvent.status: step["status"], ReferralEvent.outcome: step["outcome"],
                    ReferralEvent.event_date: step["date"], ReferralEvent.note: step["note"],
                    ReferralEvent.recorded_at: recorded_at,
                    ReferralEvent.content_hash: content_hash,
                }).where(ReferralEvent.id == record_id)
        if rows:
            await EntryVersion.insert(EntryVersion(entry=record_id, version=version,
                                                   data=json.dumps(normal), author=user.id,
                                                   created_at=now))
            await record_event("entry.submit" if existing is None else "entry.correct",
                               actor_id=user.id, commune_id=user.commune_id,
                               subject_type="entry", subject_id=str(record_id),
                               person_id=ref["person"],
                               detail={"kind": "referral_status", "version": version,
                                       "receipt": receipt, "referral": str(ref_id),
                                       "status": step["status"], "outcome": step["outcome"]})
            await refresh_follow_up(ref_id)
            await stamp_changes([(record_id, user.id)])
    if not rows:
        return await _reread(record_id, user, version, content_hash)
    return SubmitResult("stored", state="submitted", receipt=receipt, version=version)
