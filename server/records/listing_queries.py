"""Reading field records: a user's own entries, one entry with its data and follow-up, the
pick lists the forms need (caseload, villages, organisations, providers) and the providers an
official maintains."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from functools import cache
from typing import Any

from server.areas.tables import Area, Organisation, User
from server.audit.queries import record_event
from server.db import write_transaction
from server.errors import NotFound
from server.parse import db_id
from server.people.labels import fold
from server.people.queries import list_caseload
from server.records.kinds import EXTRA
from server.records.tables import Entry, EntryVersion, Provider, ReferralEvent
from server.web import CurrentUser

KINDS = ("visit", "talk", "referral", "referral_status", "training", "counselling")
STATES = ("submitted", "approved", "returned", "rejected")
# Rows of "My entries" per page: a phone screen holds about ten, and a volunteer looks for a
# recent entry; older ones are a "more" link away. (50 rows took ~3x the time of 25 to render.)
PAGE = 25


# Raw SQL, built once: the volunteer home and the entries page run it on every load, and
# Piccolo's joined select costs ~2 ms of Python to build against ~0.3 ms for the query.
# Newest first walks entry_author_date backwards and stops after the page (records
# migration 2026-11-28T13:00).
_MY_ENTRIES = (
    "SELECT e.id, e.kind, e.entry_date, e.state, e.version, e.receipt, e.review_comment, "
    "e.received_at, e.updated_at, e.contact_alias, e.ref_status, p.full_name AS person_name, "
    "p.code AS person_code, v.name AS village_name "
    "FROM entry e {} LEFT JOIN person p ON p.id = e.person LEFT JOIN area v ON v.id = e.village "
    "WHERE e.author = {}")


async def list_my_entries(user: CurrentUser, *, kind: str = "", state: str = "",
                          limit: int = PAGE, offset: int = 0) -> list[dict[str, Any]]:
    """Everything the user recorded, newest first, with the person's or village's name."""
    hint = ""
    if state in STATES and Entry._meta.db.engine_type == "sqlite":
        # SQLite has no statistics and would walk entry_author_date (the order) through all
        # of the author's entries to find a few returned ones; (author, state) finds just
        # them, and sorting a handful is free. PostgreSQL chooses by its statistics.
        hint = "INDEXED BY entry_author_state"
    sql, args = _MY_ENTRIES.replace("{}", hint, 1), list[Any]([user.id])
    if kind in KINDS:
        sql += " AND e.kind = {}"
        args.append(kind)
    if state in STATES:
        sql += " AND e.state = {}"
        args.append(state)
    sql += (" ORDER BY e.entry_date DESC, e.received_at DESC "
            f"LIMIT {int(limit)} OFFSET {int(offset)}")
    return await Entry.raw(sql, *args)


async def get_entry_for(user: CurrentUser, entry_id: uuid.UUID) -> dict[str, Any]:
    """An entry its author or an official of its commune may see, else 404."""
    row = await Entry.select(
        *Entry.all_columns(), Entry.person.full_name.as_alias("person_name"),
        Entry.person.code.as_alias("person_code"), Entry.village.name.as_alias("village_name"),
        Entry.author.display_name.as_alias("author_name"),
        Entry.provider.name.as_alias("provider_name"),
        Entry.organisation.name.as_alias("organisation_name"),
        Entry.reviewed_by.display_name.as_alias("reviewer_name"),
    ).where(Entry.id == entry_id).first()
    if row is None or user.commune_id is None or row["commune"] != user.commune_id:
        raise NotFound()
    if not (row["author"] == user.id or user.role == "official"):
        raise NotFound()
    if row["kind"] in EXTRA:  # their content lives in the version snapshot and own tables
        row["_data"] = {k: v for k, v in (await get_entry_data(row["id"], row["version"]))
                        .items() if k != "kind"}
        row["_names"] = await EXTRA[row["kind"]].names(row["_data"], row["commune"])
    return row


FIELDS = {
    "visit": ("person", "visit_kind", "met", "not_met_reason", "health", "work", "family",
              "drug_signs", "methadone", "support", "risk", "next_step", "next_visit_date",
              "notes"),
    "talk": ("village", "setting", "format", "topics", "organisation", "attendees_total",
             "attendees_women", "attendees_under30", "attendees_students", "materials",
             "notes"),
    "referral": ("person", "contact_alias", "contact_sex", "contact_age_band", "service",
                 "provider", "reason", "urgency", "notes"),
}
# A follow-up step's fields in the schema's names, from the columns that mirror them.
STEP_FIELDS = {"status": "ref_status", "outcome": "ref_outcome", "note": "notes"}


def entry_data(row: dict[str, Any]) -> dict[str, Any]:
    """The entry's current content in the schema's field names (the form's values)."""
    if "_data" in row:
        return dict(row["_data"])
    data: dict[str, Any] = {"date": row["entry_date"].isoformat()}
    if row["kind"] == "referral_status":
        data.update({name: row[col] for name, col in STEP_FIELDS.items()
                     if row.get(col) is not None})
    for name in FIELDS.get(row["kind"], ()):
        value = row.get(name)
        if name in ("support", "topics"):
            try:
                value = json.loads(value) if isinstance(value, str) else list(value or [])
            except ValueError:
                value = []
            value = value if isinstance(value, list) else []
        elif isinstance(value, dt.date):
            value = value.isoformat()
        if value is not None:
            data[name] = value
    return data


async def get_entry_data(entry_id: uuid.UUID, version: int) -> dict[str, Any]:
    """The data of one version as it was submitted (the form's fields)."""
    row = await EntryVersion.select(EntryVersion.data).where(
        (EntryVersion.entry == entry_id) & (EntryVersion.version == version)).first()
    if row is None:
        return {}
    data = row["data"]
    return json.loads(data) if isinstance(data, str) else dict(data)


async def list_steps(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The referral's timeline: the referral itself, then each recorded step in the order it
    was received, with its review state (a rejected step is shown, and does not count)."""
    steps = [{"status": "referred", "outcome": None, "date": entry["entry_date"], "note": "",
              "author_name": entry.get("author_name", ""), "state": entry.get("state"),
              "id": entry["id"]}]
    rows = await Entry.select(
        Entry.id, Entry.ref_status, Entry.ref_outcome, Entry.ref_status_date, Entry.notes,
        Entry.author, Entry.author.display_name.as_alias("author_name"), Entry.state,
        Entry.review_comment, Entry.version, Entry.received_at,
    ).where((Entry.kind == "referral_status") & Entry.id.is_in(
        ReferralEvent.select(ReferralEvent.id).where(ReferralEvent.referral == entry["id"]))
    ).order_by(Entry.received_at)
    for r in rows:
        steps.append({"id": r["id"], "status": r["ref_status"], "outcome": r["ref_outcome"],
                      "date": r["ref_status_date"], "note": r["notes"], "author": r["author"],
                      "author_name": r["author_name"], "state": r["state"],
                      "comment": r["review_comment"], "version": r["version"]})
    return steps


async def get_step_referral(step_id: uuid.UUID) -> uuid.UUID | None:
    """The referral a follow-up step belongs to."""
    row = await ReferralEvent.select(ReferralEvent.referral).where(
        ReferralEvent.id == step_id).first()
    return row["referral"] if row else None


# ---------------------------------------------------------------- pick lists


async def list_villages(commune_id: int) -> list[dict[str, Any]]:
    return await Area.select(Area.id, Area.name, Area.hotspot).where(
        (Area.parent == commune_id) & (Area.level == "village")).order_by(Area.name)


async def list_organisations() -> list[dict[str, Any]]:
    return await Organisation.select(Organisation.id, Organisation.name).order_by(
        Organisation.name)


async def get_user_organisation(user_id: int) -> int | None:
    row = await User.select(User.organisation).where(User.id == user_id).first()
    return row["organisation"] if row else None


async def get_visit_frequency(commune_id: int) -> int:
    row = await Area.select(Area.visit_frequency_days).where(Area.id == commune_id).first()
    return int(row["visit_frequency_days"] or 30) if row else 30


async def list_caseload_for_picker(user: CurrentUser, q: str = "") -> list[dict[str, Any]]:
    """The people the user may record for, filtered by a query typed without diacritics."""
    rows = await list_caseload(user)
    words = fold(q).split()
    if words:
        rows = [r for r in rows if all(w in f"{r['search_text']} {r['code'].lower()}"
                                       for w in words)]
    return rows


async def list_providers(commune_id: int, *, active_only: bool = True) -> list[dict[str, Any]]:
    q = Provider.select().where(Provider.commune == commune_id)
    if active_only:
        q = q.where(Provider.active == True)  # noqa: E712 - Piccolo column comparison
    return await q.order_by(Provider.name)


PROVIDER_DETAILS = ("address", "hours", "phone", "listed")


async def get_provider_for(user: CurrentUser, provider_id: int) -> dict[str, Any]:
    """A provider of the official's own commune, else 404."""
    row = await Provider.select().where(
        (Provider.id == provider_id) & (Provider.commune == (user.commune_id or 0))).first()
    if row is None:
        raise NotFound()
    return row


async def create_provider(user: CurrentUser, name: str, service: str,
                          **details: Any) -> int:
    """A new provider; `details` are the public page's fields (address, hours, phone, listed)."""
    details = {k: v for k, v in details.items() if k in PROVIDER_DETAILS}
    async with write_transaction(Provider._meta.db):
        rows = await Provider.insert(Provider(commune=user.commune_id, name=name,
                                              service=service, active=True, **details)
                                     ).returning(Provider.id)
        pid = int(rows[0]["id"])
        await record_event("provider.create", actor_id=user.id, commune_id=user.commune_id,
                           subject_type="provider", subject_id=pid,
                           detail={"name": name, "service": service, **details})
    return pid


async def update_provider(user: CurrentUser, provider_id: int, name: str, service: str,
                          **details: Any) -> None:
    """Change a provider of the official's commune (404 for another commune's)."""
    details = {k: v for k, v in details.items() if k in PROVIDER_DETAILS}
    async with write_transaction(Provider._meta.db):
        rows = await Provider.update({Provider.name: name, Provider.service: service,
                                      **{getattr(Provider, k): v for k, v in details.items()}}
                                     ).where((Provider.id == provider_id)
                                             & (Provider.commune == user.commune_id)
                                             ).returning(Provider.id)
        if not rows:
            raise NotFound()
        await record_event("provider.update", actor_id=user.id, commune_id=user.commune_id,
                           subject_type="provider", subject_id=provider_id,
                           detail={"name": name, "service": service, **details})


async def set_provider_active(user: CurrentUser, provider_id: int, active: bool) -> None:
    if db_id(provider_id) is None:
        raise NotFound()
    async with write_transaction(Provider._meta.db):
        rows = await Provider.update({Provider.active: active}).where(
            (Provider.id == provider_id) & (Provider.commune == user.commune_id)).returning(
            Provider.id)
        if not rows:
            raise NotFound()
        await record_event("provider.active" if active else "provider.inactive",
                           actor_id=user.id, commune_id=user.commune_id,
                           subject_type="provider", subject_id=provider_id)


# The home's records card in one statement: a one-row table of the two counts the card prints,
# left-joined to the (at most ten) returned entries, so the counts arrive even when nothing is
# returned. Each count is an index range of entry_author_state (author, state); the returned
# rows are _MY_ENTRIES' with its state filter. The outer ORDER BY keeps the list's order (a
# join does not promise its inputs'). Built once per index hint (SQLite's or none).
@cache
def _my_summary_sql(hint: str, limit: int) -> str:
    return (
        "SELECT c.n_submitted, c.n_approved, r.* FROM (SELECT "
        "(SELECT COUNT(*) FROM entry WHERE author = {} AND state = 'submitted') AS n_submitted, "
        "(SELECT COUNT(*) FROM entry WHERE author = {} AND state = 'approved') AS n_approved) c "
        "LEFT JOIN (" + _MY_ENTRIES.replace("{}", hint, 1) + " AND e.state = 'returned' "
        f"ORDER BY e.entry_date DESC, e.received_at DESC LIMIT {int(limit)}) r ON TRUE "
        "ORDER BY r.entry_date DESC, r.received_at DESC")


async def summarise_my_entries(user: CurrentUser, *, returned: int = 10
                               ) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The home's records card: how many of the user's entries wait for review and how many
    are approved, and their newest returned entries (as list_my_entries(state="returned")
    gives them), in one statement."""
    # The same index hint as list_my_entries with a state, for the same reason.
    hint = "INDEXED BY entry_author_state" if Entry._meta.db.engine_type == "sqlite" else ""
    rows = await Entry.raw(_my_summary_sql(hint, returned), user.id, user.id, user.id)
    counts = {"submitted": int(rows[0]["n_submitted"]), "approved": int(rows[0]["n_approved"])}
    entries = [{k: v for k, v in r.items() if k not in ("n_submitted", "n_approved")}
               for r in rows if r["id"] is not None]
    return counts, entries


async def count_commune_entries(commune_id: int, since: dt.date) -> dict[str, int]:
    rows = await Entry.raw(
        "SELECT kind, COUNT(*) AS n FROM entry WHERE commune = {} AND entry_date >= {} "
        "GROUP BY kind", commune_id, since)
    return {r["kind"]: int(r["n"]) for r in rows}
