"""Training sessions' database work: who may record them, the checks `submit_record` asks of
the kind, the session's own rows, the commune's users (the participant list) and the list of
volunteers allowed to record training.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from server.areas.tables import Organisation, User
from server.audit.queries import record_event
from server.db import write_transaction
from server.i18n import _
from server.records.tables import Entry
from server.training.tables import TrainingParticipant, TrainingRecorder, TrainingSession
from server.vntime import today as vn_today
from server.web import CurrentUser

STAFF_ROLES = ("official", "volunteer")


# ---------------------------------------------------------------- who may record


async def may_record_training(user: CurrentUser) -> bool:
    """Officials of a commune always; a volunteer only while their commune lists them."""
    if user.commune_id is None:
        return False
    if user.role == "official":
        return True
    # Written out: every volunteer home asks this, and Piccolo's exists() costs more Python to
    # build than the statement costs to run. ("user" is quoted: a reserved word in PostgreSQL.)
    return user.role == "volunteer" and bool(await TrainingRecorder.raw(
        'SELECT 1 AS x FROM training_recorder WHERE "user" = {} AND commune = {} LIMIT 1',
        user.id, user.commune_id))


async def list_recorders(commune_id: int) -> list[int]:
    rows = await TrainingRecorder.select(TrainingRecorder.user).where(
        TrainingRecorder.commune == commune_id)
    return [int(r["user"]) for r in rows]


async def set_recorders(user: CurrentUser, user_ids: list[int]) -> list[int]:
    """Replace the commune's allowed volunteers (only its own active volunteers count);
    audited with the ids added and removed."""
    commune = user.commune_id or 0
    valid = {r["id"] for r in await User.select(User.id).where(
        (User.area == commune) & (User.role == "volunteer") & (User.active == True)  # noqa: E712
        & User.id.is_in(list(user_ids) or [0]))}
    async with write_transaction(TrainingRecorder._meta.db):
        before = set(await list_recorders(commune))
        await TrainingRecorder.delete().where(TrainingRecorder.commune == commune)
        for uid in sorted(valid):
            await TrainingRecorder.insert(TrainingRecorder(commune=commune, user=uid))
        await record_event("training.recorders", actor_id=user.id, commune_id=commune,
                           subject_type="area", subject_id=commune,
                           detail={"added": sorted(valid - before),
                                   "removed": sorted(before - valid)})
    return sorted(valid)


# ---------------------------------------------------------------- the commune's users


async def list_commune_users(commune_id: int) -> list[dict[str, Any]]:
    """Active officials and volunteers of the commune: id and display name only."""
    return await User.select(User.id, User.display_name.as_alias("name")).where(
        (User.area == commune_id) & User.role.is_in(list(STAFF_ROLES))
        & (User.active == True)).order_by(User.display_name)  # noqa: E712


async def list_volunteers(commune_id: int) -> list[dict[str, Any]]:
    return await User.select(User.id, User.display_name.as_alias("name")).where(
        (User.area == commune_id) & (User.role == "volunteer")
        & (User.active == True)).order_by(User.display_name)  # noqa: E712


async def list_user_names(user_ids: list[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await User.select(User.id, User.display_name).where(User.id.is_in(user_ids))
    return {int(r["id"]): r["display_name"] for r in rows}


async def get_organisation_name(org_id: int) -> str:
    row = await Organisation.select(Organisation.name).where(Organisation.id == org_id).first()
    return str(row["name"]) if row else ""


# ---------------------------------------------------------------- the kind's checks and rows


async def check_training(user: CurrentUser, typed: dict[str, Any],
                         errors: dict[str, str]) -> None:
    day = typed.get("date")
    if "date" not in errors and isinstance(day, dt.date) and day > vn_today():
        errors["date"] = _("The date cannot be in the future.")
    org = typed.get("organisation")
    if isinstance(org, int) and "organisation" not in errors and \
            not await Organisation.exists().where(Organisation.id == org):
        errors["organisation"] = _("Choose an organisation from the list.")
    people = typed.get("participants")
    if isinstance(people, list) and people and "participants" not in errors:
        ids = sorted(set(people))
        found = await User.count().where(
            User.id.is_in(ids) & (User.area == (user.commune_id or 0))
            & User.role.is_in(list(STAFF_ROLES)))
        if found != len(ids):
            errors["participants"] = _("Choose participants from your commune's users.")


def normalise_training(data: dict[str, Any]) -> dict[str, Any]:
    data["topics"] = sorted(set(data["topics"]))
    data["participants"] = sorted(set(data["participants"]))
    return data


def training_columns(data: dict[str, Any], person: dict[str, Any] | None) -> dict[str, Any]:
    del person  # a session is about staff, never a person supported
    return {"organisation": data.get("organisation")}


async def store_training(user: CurrentUser, entry_id: uuid.UUID, data: dict[str, Any]) -> None:
    """Rewrite the session's rows from this version (inside the entry's transaction)."""
    del user
    await TrainingParticipant.delete().where(TrainingParticipant.entry == entry_id)
    await TrainingSession.delete().where(TrainingSession.entry == entry_id)
    await TrainingSession.insert(TrainingSession(
        entry=entry_id, title=data["title"], topics=json.dumps(data["topics"]),
        organisation=data.get("organisation"), trainer=data.get("trainer", ""),
        place=data.get("place", ""), others_count=data.get("others_count", 0)))
    for uid in data["participants"]:
        await TrainingParticipant.insert(TrainingParticipant(entry=entry_id, user=uid))


async def training_names(data: dict[str, Any], commune_id: int) -> dict[str, str]:
    del commune_id
    names: dict[str, str] = {}
    people = [int(p) for p in data.get("participants") or []]
    if people:
        known = await list_user_names(people)
        names["participants"] = ", ".join(known.get(p, f"#{p}") for p in people)
    if data.get("organisation"):
        names["organisation"] = await get_organisation_name(int(data["organisation"]))
    return names


# ---------------------------------------------------------------- lists


async def list_sessions(commune_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The commune's sessions, newest first, with their participant count."""
    rows = await TrainingSession.select(
        TrainingSession.entry.id.as_alias("id"), TrainingSession.title,
        TrainingSession.others_count, TrainingSession.entry.entry_date.as_alias("entry_date"),
        TrainingSession.entry.state.as_alias("state"),
        TrainingSession.entry.author.display_name.as_alias(  # type: ignore[union-attr]
            "author_name"),
    ).where(TrainingSession.entry.commune == commune_id).order_by(
        TrainingSession.entry.entry_date, ascending=False).limit(limit)
    ids = [r["id"] for r in rows]
    counts: dict[Any, int] = {}
    if ids:
        for p in await TrainingParticipant.select(TrainingParticipant.entry).where(
                TrainingParticipant.entry.is_in(ids)):
            counts[p["entry"]] = counts.get(p["entry"], 0) + 1
    for r in rows:
        r["participants"] = counts.get(r["id"], 0)
    return rows


async def count_sessions_since(commune_id: int, since: dt.date) -> int:
    return await Entry.count().where((Entry.commune == commune_id) & (Entry.kind == "training")
                                     & (Entry.entry_date >= since))
