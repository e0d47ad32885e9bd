"""Counselling contacts' database work: who may record them (officials and the commune's
hotline counsellors), the checks `submit_record` asks of the kind, the contact's own rows,
the follow-up to-do list and its closing (audited), and the counsellors setting.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from piccolo.columns import Column

from schema.enums import Service, label
from server.areas.tables import User
from server.audit.queries import record_event
from server.counselling.tables import CounsellingContact, Counsellor
from server.db import write_transaction
from server.errors import NotFound
from server.i18n import _
from server.records.tables import Entry
from server.vntime import now as vn_now
from server.vntime import today as vn_today
from server.web import CurrentUser


class NotYours(NotFound):
    """The contact does not exist for this user (another commune, not theirs): a 404."""


# ---------------------------------------------------------------- who may record


async def may_record_counselling(user: CurrentUser) -> bool:
    """Officials of a commune always; a volunteer only while the commune lists them as one of
    its hotline counsellors."""
    if user.commune_id is None:
        return False
    if user.role == "official":
        return True
    # Written out, as training's may_record_training: asked on every home page.
    return user.role == "volunteer" and bool(await Counsellor.raw(
        'SELECT 1 AS x FROM counsellor WHERE "user" = {} AND commune = {} LIMIT 1',
        user.id, user.commune_id))


async def list_counsellors(commune_id: int) -> list[dict[str, Any]]:
    """The users who answer the commune's hotline (for the public page too: names only)."""
    return await Counsellor.select(Counsellor.user.id.as_alias("id"),
                                   Counsellor.user.display_name.as_alias("name")).where(
        (Counsellor.commune == commune_id) & (Counsellor.user.active == True)  # noqa: E712
    ).order_by(Counsellor.user.display_name)


async def list_staff(commune_id: int) -> list[dict[str, Any]]:
    return await User.select(User.id, User.display_name.as_alias("name"), User.role).where(
        (User.area == commune_id) & User.role.is_in(["official", "volunteer"])
        & (User.active == True)).order_by(User.display_name)  # noqa: E712


async def set_counsellors(user: CurrentUser, user_ids: list[int]) -> list[int]:
    """Replace the commune's hotline counsellors (its own active officials and volunteers
    only), audited with the ids added and removed."""
    commune = user.commune_id or 0
    valid = {r["id"] for r in await User.select(User.id).where(
        (User.area == commune) & User.role.is_in(["official", "volunteer"])
        & (User.active == True) & User.id.is_in(list(user_ids) or [0]))}  # noqa: E712
    async with write_transaction(Counsellor._meta.db):
        before = {r["user"] for r in await Counsellor.select(Counsellor.user).where(
            Counsellor.commune == commune)}
        await Counsellor.delete().where(Counsellor.commune == commune)
        for uid in sorted(valid):
            await Counsellor.insert(Counsellor(commune=commune, user=uid))
        await record_event("counselling.counsellors", actor_id=user.id, commune_id=commune,
                           subject_type="area", subject_id=commune,
                           detail={"added": sorted(valid - before),
                                   "removed": sorted(before - valid)})
    return sorted(valid)


# ---------------------------------------------------------------- the kind's checks and rows


async def check_counselling(user: CurrentUser, typed: dict[str, Any],
                            errors: dict[str, str]) -> None:
    day, time = typed.get("date"), typed.get("time")
    if "date" not in errors and isinstance(day, dt.date):
        now = vn_now()
        if day > vn_today():
            errors["date"] = _("The date cannot be in the future.")
        elif day == now.date() and isinstance(time, str) and "time" not in errors \
                and time > (now + dt.timedelta(minutes=5)).strftime("%H:%M"):
            errors["time"] = _("The time cannot be in the future.")
    if str(typed.get("asker") or "") == "anonymous" and typed.get("person"):
        errors["person"] = _("An anonymous caller is not linked to anyone: leave this empty.")
    actions = [str(a) for a in typed.get("actions") or []]
    referral = typed.get("referral")
    if referral is not None and "referral" not in errors:
        ok = await Entry.exists().where(
            (Entry.id == referral) & (Entry.kind == "referral")
            & (Entry.commune == (user.commune_id or 0)))
        if not ok:
            errors["referral"] = _("Choose a referral from the list.")
        elif "actions" not in errors and "referral" not in actions:
            errors["actions"] = _("A linked referral means “Referral to a service” was done.")
    if typed.get("follow_up") is True and not typed.get("follow_up_note") \
            and "follow_up_note" not in errors:
        errors["follow_up_note"] = _("Say what needs following up.")


def normalise_counselling(data: dict[str, Any]) -> dict[str, Any]:
    data["topics"] = sorted(set(data["topics"]))
    data["actions"] = sorted(set(data["actions"]))
    if data.get("asker") == "anonymous":
        data["person"] = None  # never an identity for an anonymous caller
    if not data.get("follow_up"):
        data["follow_up_note"] = ""
    return data


def counselling_columns(data: dict[str, Any], person: dict[str, Any] | None) -> dict[str, Any]:
    return {"person": data.get("person"), "village": person["village"] if person else None}


async def store_counselling(user: CurrentUser, entry_id: uuid.UUID,
                            data: dict[str, Any]) -> None:
    """Write this version's details (inside the entry's transaction); a follow-up already
    closed stays closed (closing is an action of its own, not part of the content)."""
    del user
    fields: dict[str, Any] = {
        "contact_time": data["time"], "channel": data["channel"], "asker": data["asker"],
        "topics": json.dumps(data["topics"]), "actions": json.dumps(data["actions"]),
        "referral": uuid.UUID(data["referral"]) if data.get("referral") else None,
        "follow_up": bool(data.get("follow_up")),
        "follow_up_note": data.get("follow_up_note", ""),
    }
    values: dict[Column | str, Any] = {getattr(CounsellingContact, k): v
                                       for k, v in fields.items()}
    rows = await CounsellingContact.update(values).where(
        CounsellingContact.entry == entry_id).returning(CounsellingContact.id)
    if not rows:
        await CounsellingContact.insert(CounsellingContact(entry=entry_id, **fields))


async def counselling_names(data: dict[str, Any], commune_id: int) -> dict[str, str]:
    names: dict[str, str] = {}
    ref = data.get("referral")
    if ref:
        row = await Entry.select(Entry.receipt, Entry.service, Entry.entry_date).where(
            (Entry.id == uuid.UUID(str(ref))) & (Entry.commune == commune_id)).first()
        if row:
            names["referral"] = (f"{label(Service, row['service'])} · "
                                 f"{row['entry_date'].strftime('%d/%m/%Y')} · {row['receipt']}")
    return names


# ---------------------------------------------------------------- lists and the to-do list


async def list_referrals_to_link(user: CurrentUser, limit: int = 30) -> list[dict[str, Any]]:
    """Recent referrals the user made (officials: of the commune) for the form's list."""
    since = vn_today() - dt.timedelta(days=60)
    q = Entry.select(Entry.id, Entry.entry_date, Entry.service, Entry.receipt,
                     Entry.contact_alias, Entry.person.code.as_alias("person_code")).where(
        (Entry.kind == "referral") & (Entry.commune == (user.commune_id or 0))
        & (Entry.entry_date >= since))
    if user.role != "official":
        q = q.where(Entry.author == user.id)
    return await q.order_by(Entry.entry_date, ascending=False).limit(limit)


def _contact_columns() -> list[Any]:
    return [CounsellingContact.entry.id.as_alias("id"),
            CounsellingContact.entry.entry_date.as_alias("entry_date"),
            CounsellingContact.contact_time, CounsellingContact.channel,
            CounsellingContact.asker, CounsellingContact.follow_up,
            CounsellingContact.follow_up_note, CounsellingContact.follow_up_closed_on,
            CounsellingContact.entry.state.as_alias("state"),
            CounsellingContact.entry.author.as_alias("author"),
            CounsellingContact.entry.author.display_name.as_alias(  # type: ignore[union-attr]
            "author_name")]


async def list_contacts(commune_id: int, limit: int = 50) -> list[dict[str, Any]]:
    return await CounsellingContact.select(*_contact_columns()).where(
        CounsellingContact.entry.commune == commune_id).order_by(
        CounsellingContact.entry.entry_date, ascending=False).limit(limit)


# The to-do list, driven from its selective side: the few open follow-ups (the partial index
# counselling_contact_open_follow_up, whose WHERE this repeats word for word, as SQLite needs
# to use it), each one's entry by its key. Piccolo's join put `entry` first on both engines: a
# pass over the commune's ~14,000 entries (31–195 ms on SQLite at province scale) to find a
# handful. CROSS JOIN fixes SQLite's join order (it keeps the written order for it);
# PostgreSQL treats it as an inner join and plans it from its statistics.
_OPEN_FOLLOW_UPS = (
    "SELECT e.id, e.entry_date, c.contact_time, c.channel, c.asker, c.follow_up, "
    "c.follow_up_note, c.follow_up_closed_on, e.state, e.author, u.display_name AS author_name "
    "FROM counselling_contact c CROSS JOIN entry e "
    "LEFT JOIN app_user u ON u.id = e.author "
    "WHERE c.follow_up = true AND c.follow_up_closed_on IS NULL AND e.id = c.entry "
    "AND e.commune = {} AND e.state != 'rejected'")


async def list_open_follow_ups(user: CurrentUser) -> list[dict[str, Any]]:
    """The to-do list: contacts needing follow-up and not closed — the user's own, and for
    officials every one of the commune. Rejected contacts drop out."""
    if user.role == "official":
        return await CounsellingContact.raw(
            _OPEN_FOLLOW_UPS + " ORDER BY e.entry_date LIMIT 100", user.commune_id or 0)
    return await CounsellingContact.raw(
        _OPEN_FOLLOW_UPS + " AND e.author = {} ORDER BY e.entry_date LIMIT 100",
        user.commune_id or 0, user.id)


async def close_follow_up(user: CurrentUser, entry_id: uuid.UUID, note: str) -> None:
    """Close a contact's follow-up: its author or an official of its commune; once only
    (the guarded UPDATE), with its audit row in the same transaction."""
    row = await CounsellingContact.select(
        CounsellingContact.entry.commune.as_alias("commune"),
        CounsellingContact.entry.author.as_alias("author"),
        CounsellingContact.entry.person.as_alias("person")).where(
        CounsellingContact.entry == entry_id).first()
    if row is None or row["commune"] != user.commune_id or not (
            user.role == "official" or row["author"] == user.id):
        raise NotYours()
    today = vn_today()
    async with write_transaction(CounsellingContact._meta.db):
        done = await CounsellingContact.update({
            CounsellingContact.follow_up_closed_on: today,
            CounsellingContact.follow_up_closed_by: user.id,
            CounsellingContact.follow_up_closing_note: note,
        }).where((CounsellingContact.entry == entry_id)
                 & (CounsellingContact.follow_up == True)  # noqa: E712
                 & CounsellingContact.follow_up_closed_on.is_null()).returning(
            CounsellingContact.id)
        if done:
            await record_event("counselling.follow_up_closed", actor_id=user.id,
                               commune_id=user.commune_id, subject_type="entry",
                               subject_id=str(entry_id), person_id=row["person"],
                               detail={"note": bool(note)})
