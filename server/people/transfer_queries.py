"""Moving a person to another commune: one identity and one history, two communes' consent.

An official of the person's commune starts the transfer, naming the receiving commune and
the first day there; an official of the receiving commune accepts it (or either side cancels
it). On acceptance the person becomes the receiving commune's — with a code of its own, no
village yet and a team of its own to assign — while the category history stays as it is and
the visits stay with the commune that made them. Reports read accepted transfers to give each
commune the person's time with it (server/reports/register.py).

Each state change is one guarded UPDATE (`WHERE state = 'started'`) with its audit rows in the
same transaction; the database keeps one waiting transfer per person and the states valid.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from server.areas.tables import Area
from server.audit.queries import record_event
from server.db import write_transaction
from server.people.change_queries import _lock_codes, _next_number
from server.people.tables import CategoryPeriod, Person, PersonTransfer, TeamMember


class TransferError(ValueError):
    """A transfer that cannot be made or decided; the code names the reason."""


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


async def list_destination_communes(commune_id: int) -> list[dict[str, Any]]:
    return await Area.select(Area.id, Area.name).where(
        (Area.level == "commune") & (Area.id != commune_id)).order_by(Area.name)


async def get_open_transfer(person_id: int) -> dict[str, Any] | None:
    row = await PersonTransfer.select(
        *PersonTransfer.all_columns(),
        PersonTransfer.to_commune.name.as_alias("to_name"),
        PersonTransfer.from_commune.name.as_alias("from_name"),
    ).where((PersonTransfer.person == person_id)
            & (PersonTransfer.state == "started")).first()
    if row is not None:
        row["moved_on"] = _as_date(row["moved_on"])
    return row


async def earliest_move_day(person_id: int) -> dt.date | None:
    """A move cannot predate the person's history, nor their last move."""
    first = await CategoryPeriod.select(CategoryPeriod.start_date).where(
        CategoryPeriod.person == person_id).order_by(CategoryPeriod.start_date).first()
    last = await PersonTransfer.select(PersonTransfer.moved_on).where(
        (PersonTransfer.person == person_id) & (PersonTransfer.state == "accepted")).order_by(
        PersonTransfer.moved_on, ascending=False).first()
    days = [d for d in (_as_date(first["start_date"]) if first else None,
                        _as_date(last["moved_on"]) if last else None) if d]
    return max(days) if days else None


async def start_transfer(*, actor_id: int, person: dict[str, Any], to_commune: int,
                         moved_on: dt.date, note: str) -> int:
    """The first commune's official starts a transfer; refused when one is already waiting
    (also by the database, for two officials pressing at once)."""
    if await get_open_transfer(person["id"]) is not None:
        raise TransferError("open")
    async with write_transaction(PersonTransfer._meta.db):
        row = await PersonTransfer.insert(PersonTransfer(
            person=person["id"], from_commune=person["commune"], to_commune=to_commune,
            moved_on=moved_on, state="started", note=note, started_by=actor_id,
            old_code=person["code"])).returning(PersonTransfer.id)
        transfer_id = int(row[0]["id"])
        for commune in (person["commune"], to_commune):
            await record_event("person.transfer_started", actor_id=actor_id,
                               commune_id=commune, subject_type="person_transfer",
                               subject_id=transfer_id, person_id=person["id"],
                               detail={"from": person["commune"], "to": to_commune,
                                       "moved_on": moved_on.isoformat()})
    return transfer_id


async def list_transfers(commune_id: int) -> dict[str, list[dict[str, Any]]]:
    """Waiting transfers into the commune (with what the receiving official needs to know
    the person) and out of it (code only), and the last decided ones."""
    cols = (*PersonTransfer.all_columns(), PersonTransfer.person.full_name.as_alias("name"),
            PersonTransfer.person.birth_year.as_alias("birth_year"),
            PersonTransfer.person.category.as_alias("category"),
            PersonTransfer.person.commune.as_alias("person_commune"),
            PersonTransfer.from_commune.name.as_alias("from_name"),
            PersonTransfer.to_commune.name.as_alias("to_name"))
    incoming = await PersonTransfer.select(*cols).where(
        (PersonTransfer.to_commune == commune_id) & (PersonTransfer.state == "started")
    ).order_by(PersonTransfer.started_at)
    outgoing = await PersonTransfer.select(*cols).where(
        (PersonTransfer.from_commune == commune_id) & (PersonTransfer.state == "started")
    ).order_by(PersonTransfer.started_at)
    decided = await PersonTransfer.select(*cols).where(
        ((PersonTransfer.to_commune == commune_id) | (PersonTransfer.from_commune == commune_id))
        & (PersonTransfer.state != "started")).order_by(
        PersonTransfer.decided_at, ascending=False).limit(50)
    for r in (*incoming, *outgoing, *decided):
        r["moved_on"] = _as_date(r["moved_on"])
        # Names only of people who are the commune's, or are waiting to become so.
        ours = r["person_commune"] == commune_id or (
            r["state"] == "started" and r["to_commune"] == commune_id)
        if not ours:
            r["name"] = ""
    return {"incoming": incoming, "outgoing": outgoing, "decided": decided}


async def get_transfer_for(commune_id: int, transfer_id: int) -> dict[str, Any] | None:
    """A transfer the commune is a side of (None otherwise: the caller answers 404)."""
    return await PersonTransfer.select().where(
        (PersonTransfer.id == transfer_id)
        & ((PersonTransfer.to_commune == commune_id)
           | (PersonTransfer.from_commune == commune_id))).first()


async def accept_transfer(*, actor_id: int, commune_id: int, transfer_id: int) -> str:
    """The receiving commune's official accepts: the person moves over with a new code, the
    first commune's team ends on the day of the move. Returns the new code."""
    async with write_transaction(PersonTransfer._meta.db):
        row = await PersonTransfer.select().where(
            (PersonTransfer.id == transfer_id) & (PersonTransfer.to_commune == commune_id)
            & (PersonTransfer.state == "started")).first()
        if row is None:
            raise TransferError("decided")
        now = dt.datetime.now(dt.UTC)
        done = await PersonTransfer.update({
            PersonTransfer.state: "accepted", PersonTransfer.decided_by: actor_id,
            PersonTransfer.decided_at: now}).where(
            (PersonTransfer.id == transfer_id) & (PersonTransfer.state == "started")
        ).returning(PersonTransfer.id)
        if not done:
            raise TransferError("decided")
        await _lock_codes(commune_id)
        prefix, number = await _next_number(commune_id)
        code = f"{prefix}-{number:04d}"
        moved_on = _as_date(row["moved_on"])
        await Person.update({Person.commune: commune_id, Person.code: code,
                             Person.village: None, Person.updated_at: now}).where(
            Person.id == row["person"])
        await TeamMember.update({TeamMember.end_date: moved_on}).where(
            (TeamMember.person == row["person"]) & TeamMember.end_date.is_null())
        for commune in (row["from_commune"], commune_id):
            await record_event("person.transfer_accepted", actor_id=actor_id,
                               commune_id=commune, subject_type="person_transfer",
                               subject_id=transfer_id, person_id=row["person"],
                               detail={"from": row["from_commune"], "to": commune_id,
                                       "moved_on": str(moved_on), "code": code})
    return code


async def cancel_transfer(*, actor_id: int, commune_id: int, transfer_id: int) -> None:
    """Either side withdraws or declines a waiting transfer; the person stays where they are."""
    async with write_transaction(PersonTransfer._meta.db):
        row = await PersonTransfer.select().where(
            (PersonTransfer.id == transfer_id) & (PersonTransfer.state == "started")
            & ((PersonTransfer.to_commune == commune_id)
               | (PersonTransfer.from_commune == commune_id))).first()
        if row is None:
            raise TransferError("decided")
        await PersonTransfer.update({
            PersonTransfer.state: "cancelled", PersonTransfer.decided_by: actor_id,
            PersonTransfer.decided_at: dt.datetime.now(dt.UTC)}).where(
            (PersonTransfer.id == transfer_id) & (PersonTransfer.state == "started"))
        for commune in (row["from_commune"], row["to_commune"]):
            await record_event("person.transfer_cancelled", actor_id=actor_id,
                               commune_id=commune, subject_type="person_transfer",
                               subject_id=transfer_id, person_id=row["person"],
                               detail={"from": row["from_commune"], "to": row["to_commune"]})
