"""Changing the register: people, category history, management teams and the commune's visit
frequency. Each function writes its rows and their audit events in one write transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from server.areas.tables import Area, User
from server.audit.queries import record_event
from server.db import write_transaction
from server.people.labels import fold
from server.people.tables import CategoryPeriod, Person, TeamMember
from server.vntime import today

PERSON_FIELDS = ("full_name", "birth_year", "sex", "village", "phone", "address", "notes")
PROGRESS_EVERY = 100  # rows an import writes between two progress reports
CODE_LOCK = 0x0D0A7  # advisory lock namespace for code generation (PostgreSQL)


class TeamError(ValueError):
    """An assignment that cannot be made; the message is shown to the official."""


async def _lock_codes(commune_id: int) -> None:
    if isinstance(Person._meta.db, PostgresEngine):
        await Person.raw("SELECT pg_advisory_xact_lock({}, {})", CODE_LOCK, commune_id)


async def _next_number(commune_id: int) -> tuple[str, int]:
    """The commune's code prefix and the next free number (call inside the transaction)."""
    area = await Area.select(Area.person_prefix, Area.code).where(Area.id == commune_id).first()
    prefix = (area["person_prefix"] or area["code"]) if area else "P"
    rows = await Person.raw(
        "SELECT code FROM person WHERE commune = {} AND code LIKE {} "
        "ORDER BY LENGTH(code) DESC, code DESC LIMIT 1", commune_id, f"{prefix}-%")
    last = 0
    if rows:
        tail = rows[0]["code"].rpartition("-")[2]
        last = int(tail) if tail.isdigit() else 0
    return prefix, last + 1


async def _insert_person(commune_id: int, code: str, fields: dict[str, Any], category: str,
                         start: dt.date, planned_end: dt.date | None) -> int:
    row = await Person.insert(Person(
        commune=commune_id, code=code, search_text=fold(fields["full_name"]),
        category=category, status="active", **fields)).returning(Person.id)
    person_id = int(row[0]["id"])
    await CategoryPeriod.insert(CategoryPeriod(person=person_id, category=category,
                                               start_date=start, planned_end=planned_end))
    return person_id


async def create_person(*, actor_id: int, commune_id: int, fields: dict[str, Any],
                        category: str, start: dt.date, planned_end: dt.date | None,
                        source: str = "form") -> tuple[int, str]:
    """A new person with a generated code and their first category period: (id, code)."""
    async with write_transaction(Person._meta.db):
        await _lock_codes(commune_id)
        prefix, number = await _next_number(commune_id)
        code = f"{prefix}-{number:04d}"
        person_id = await _insert_person(commune_id, code, fields, category, start, planned_end)
        await record_event("person.create", actor_id=actor_id, commune_id=commune_id,
                           subject_type="person", subject_id=person_id, person_id=person_id,
                           detail={"code": code, "category": category, "source": source})
    return person_id, code


async def import_people(*, actor_id: int, commune_id: int, rows: list[dict[str, Any]],
                        progress: Callable[[int], Awaitable[None]] | None = None) -> list[str]:
    """All rows or none: each row has `fields`, `category`, `start`, `planned_end`.
    `progress(n)` is awaited after every `PROGRESS_EVERY` rows written (and the last), so the
    official importing thousands of rows sees how far it has got; the rows are only visible
    to anyone else once all of them are written."""
    codes: list[str] = []
    async with write_transaction(Person._meta.db):
        await _lock_codes(commune_id)
        prefix, number = await _next_number(commune_id)
        for row in rows:
            code = f"{prefix}-{number:04d}"
            number += 1
            person_id = await _insert_person(commune_id, code, row["fields"], row["category"],
                                             row["start"], row["planned_end"])
            await record_event("person.create", actor_id=actor_id, commune_id=commune_id,
                               subject_type="person", subject_id=person_id,
                               person_id=person_id,
                               detail={"code": code, "category": row["category"],
                                       "source": "import"})
            codes.append(code)
            if progress and (len(codes) % PROGRESS_EVERY == 0 or len(codes) == len(rows)):
                await progress(len(codes))
        await record_event("person.import", actor_id=actor_id, commune_id=commune_id,
                           subject_type="commune", subject_id=commune_id,
                           detail={"count": len(codes)})
    return codes


async def update_person(*, actor_id: int, person: dict[str, Any], fields: dict[str, Any]) -> \
        list[str]:
    """Save the changed fields; the audit row names which ones changed (not their values)."""
    changed = [k for k in PERSON_FIELDS if k in fields and fields[k] != person.get(k)]
    if not changed:
        return []
    values: dict[Any, Any] = {getattr(Person, k): fields[k] for k in changed}
    if "full_name" in changed:
        values[Person.search_text] = fold(fields["full_name"])
    values[Person.updated_at] = dt.datetime.now(dt.UTC)
    async with write_transaction(Person._meta.db):
        await Person.update(values).where(Person.id == person["id"])
        await record_event("person.update", actor_id=actor_id, commune_id=person["commune"],
                           subject_type="person", subject_id=person["id"],
                           person_id=person["id"], detail={"fields": changed})
    return changed


async def _close_open_period(person_id: int, end: dt.date, reason: str) -> None:
    await CategoryPeriod.update({CategoryPeriod.actual_end: end,
                                 CategoryPeriod.end_reason: reason}).where(
        (CategoryPeriod.person == person_id) & CategoryPeriod.actual_end.is_null())


async def change_category(*, actor_id: int, person: dict[str, Any], category: str,
                          start: dt.date, planned_end: dt.date | None,
                          previous_reason: str) -> None:
    """Close the open period (if any) on `start` and open a new one; the person is active."""
    async with write_transaction(Person._meta.db):
        await _close_open_period(person["id"], start, previous_reason)
        await CategoryPeriod.insert(CategoryPeriod(person=person["id"], category=category,
                                                   start_date=start, planned_end=planned_end))
        await Person.update({Person.category: category, Person.status: "active",
                             Person.updated_at: dt.datetime.now(dt.UTC)}).where(
            Person.id == person["id"])
        await record_event("person.category", actor_id=actor_id, commune_id=person["commune"],
                           subject_type="person", subject_id=person["id"],
                           person_id=person["id"],
                           detail={"from": person["category"], "to": category,
                                   "start": start.isoformat(),
                                   "planned_end": planned_end.isoformat() if planned_end
                                   else None, "previous_reason": previous_reason})


async def close_person(*, actor_id: int, person: dict[str, Any], end: dt.date,
                       reason: str) -> None:
    """End the person's support: the open period ends, and so does their team."""
    async with write_transaction(Person._meta.db):
        await _close_open_period(person["id"], end, reason)
        await TeamMember.update({TeamMember.end_date: end}).where(
            (TeamMember.person == person["id"]) & TeamMember.end_date.is_null())
        await Person.update({Person.status: "ended",
                             Person.updated_at: dt.datetime.now(dt.UTC)}).where(
            Person.id == person["id"])
        await record_event("person.close", actor_id=actor_id, commune_id=person["commune"],
                           subject_type="person", subject_id=person["id"],
                           person_id=person["id"],
                           detail={"end": end.isoformat(), "reason": reason})


async def assign_member(*, actor_id: int, person: dict[str, Any], user_id: int,
                        role: str, start: dt.date | None = None) -> None:
    """Put a user of the same commune on the person's team; a new primary demotes the old."""
    commune_id = person["commune"]
    member = await User.select(User.id, User.role, User.active).where(
        (User.id == user_id) & (User.area == commune_id)).first()
    if member is None or not member["active"] or member["role"] not in ("volunteer",
                                                                         "official"):
        raise TeamError("not_in_commune")
    now = start or today()
    async with write_transaction(Person._meta.db):
        current = await TeamMember.select().where(
            (TeamMember.person == person["id"]) & TeamMember.end_date.is_null())
        mine = [t for t in current if t["user"] == user_id]
        if mine and (mine[0]["role"] == role or role == "member"):
            raise TeamError("already")
        for t in mine:
            await TeamMember.update({TeamMember.end_date: now}).where(TeamMember.id == t["id"])
        if role == "primary":
            for t in current:
                if t["role"] == "primary" and t["user"] != user_id:
                    # The old primary stays on the team as a member, from today.
                    await TeamMember.update({TeamMember.end_date: now}).where(
                        TeamMember.id == t["id"])
                    await TeamMember.insert(TeamMember(person=person["id"], user=t["user"],
                                                       role="member", start_date=now,
                                                       assigned_by=actor_id))
        await TeamMember.insert(TeamMember(person=person["id"], user=user_id, role=role,
                                           start_date=now, assigned_by=actor_id))
        await record_event("team.assign", actor_id=actor_id, commune_id=commune_id,
                           subject_type="person", subject_id=person["id"],
                           person_id=person["id"], detail={"user_id": user_id, "role": role})


async def unassign_member(*, actor_id: int, person: dict[str, Any], member_id: int) -> bool:
    """End one current team membership (by its row id); False when there is none."""
    row = await TeamMember.select().where(
        (TeamMember.id == member_id) & (TeamMember.person == person["id"])
        & TeamMember.end_date.is_null()).first()
    if row is None:
        return False
    async with write_transaction(Person._meta.db):
        await TeamMember.update({TeamMember.end_date: today()}).where(TeamMember.id == member_id)
        await record_event("team.unassign", actor_id=actor_id, commune_id=person["commune"],
                           subject_type="person", subject_id=person["id"],
                           person_id=person["id"],
                           detail={"user_id": row["user"], "role": row["role"]})
    return True


async def record_view(*, actor_id: int, person: dict[str, Any], what: str = "person.view") \
        -> None:
    await record_event(what, actor_id=actor_id, commune_id=person["commune"],
                       subject_type="person", subject_id=person["id"], person_id=person["id"])


async def set_visit_frequency(*, actor_id: int, commune_id: int, days: int) -> None:
    async with write_transaction(Area._meta.db):
        old = await Area.select(Area.visit_frequency_days).where(Area.id == commune_id).first()
        await Area.update({Area.visit_frequency_days: days}).where(Area.id == commune_id)
        await record_event("area.settings", actor_id=actor_id, commune_id=commune_id,
                           subject_type="area", subject_id=commune_id,
                           detail={"visit_frequency_days": [
                               old["visit_frequency_days"] if old else None, days]})


async def record_export(*, actor_id: int, commune_id: int, count: int) -> None:
    await record_event("person.export", actor_id=actor_id, commune_id=commune_id,
                       subject_type="commune", subject_id=commune_id, detail={"count": count})
