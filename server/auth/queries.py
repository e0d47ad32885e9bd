"""Invitations, passkey credentials and challenges: all the database work of signing in."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from server.areas.tables import User
from server.audit.queries import record_event
from server.auth.store import end_sessions_of
from server.auth.tables import Challenge, Credential, Invitation
from server.db import write_transaction
from server.settings import settings


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def enrol_url(token: str) -> str:
    return f"{settings.public_origin}/enrol/{token}"


async def create_invitation(user_id: int, created_by: int | None) -> str:
    """A fresh single-use enrolment token (older unused ones of the user are withdrawn)."""
    token = secrets.token_urlsafe(32)
    async with write_transaction(Invitation._meta.db):
        await Invitation.delete().where(
            (Invitation.user == user_id) & Invitation.used_at.is_null())
        await Invitation.insert(Invitation(
            token_hash=hash_token(token), user=user_id, created_by=created_by,
            expires_at=_now() + dt.timedelta(hours=settings.invite_ttl_hours)))
        user = await User.select(User.area).where(User.id == user_id).first()
        await record_event("user.invite", actor_id=created_by,
                           commune_id=user["area"] if user else None,
                           subject_type="user", subject_id=user_id)
    return token


async def find_invitation(token: str) -> tuple[str, dict[str, Any] | None]:
    """('ok', user) for a usable token, else ('unknown' | 'used' | 'expired', None)."""
    row = await Invitation.select(
        Invitation.id, Invitation.used_at, Invitation.expires_at, Invitation.user
    ).where(Invitation.token_hash == hash_token(token)).first()
    if row is None:
        return "unknown", None
    if row["used_at"] is not None:
        return "used", None
    if row["expires_at"] <= _now():
        return "expired", None
    user = await get_user_for_session(row["user"])
    if user is None or not user["active"]:
        return "unknown", None
    return "ok", user


async def get_user_for_session(user_id: int) -> dict[str, Any] | None:
    return await User.select(
        User.id, User.display_name, User.role, User.area, User.active, User.handle,
        User.area.name.as_alias("area_name"), User.area.level.as_alias("area_level"),
    ).where(User.id == user_id).first()


async def list_credential_ids(user_id: int) -> list[str]:
    rows = await Credential.select(Credential.credential_id).where(Credential.user == user_id)
    return [r["credential_id"] for r in rows]


async def store_challenge(challenge: str, purpose: str, user_id: int | None) -> None:
    await Challenge.delete().where(Challenge.expires_at < _now())
    await Challenge.insert(Challenge(
        challenge=challenge, purpose=purpose, user=user_id,
        expires_at=_now() + dt.timedelta(seconds=settings.challenge_ttl_seconds)))


async def withdraw_challenge(challenge: str) -> None:
    """A browser asked for a new challenge: its previous one can no longer be answered."""
    await Challenge.delete().where(Challenge.challenge == challenge)


async def consume_challenge(challenge: str, purpose: str) -> dict[str, Any] | None:
    """Take a challenge out exactly once; None if unknown, used, expired or of another kind."""
    rows = await Challenge.delete().where(
        (Challenge.challenge == challenge) & (Challenge.purpose == purpose)
    ).returning(Challenge.user, Challenge.expires_at)
    if not rows or rows[0]["expires_at"] <= _now():
        return None
    return rows[0]


async def complete_enrolment(token: str, user_id: int, credential_id: str, public_key: bytes,
                             sign_count: int, label: str) -> bool:
    """Use the invitation and store the passkey in one transaction; False if it was used."""
    async with write_transaction(Invitation._meta.db):
        used = await Invitation.update({Invitation.used_at: _now()}).where(
            (Invitation.token_hash == hash_token(token)) & Invitation.used_at.is_null()
            & (Invitation.user == user_id)).returning(Invitation.id)
        if not used:
            return False
        await Credential.insert(Credential(
            user=user_id, credential_id=credential_id, public_key=public_key,
            sign_count=sign_count, label=label[:120], last_used_at=_now()))
        area = await User.select(User.area).where(User.id == user_id).first()
        await record_event("auth.enrol", actor_id=user_id, commune_id=area["area"] if area else None,
                           subject_type="user", subject_id=user_id)
    return True


async def find_credential(credential_id: str) -> dict[str, Any] | None:
    return await Credential.select().where(Credential.credential_id == credential_id).first()


async def record_sign_in(credential_row_id: int, new_sign_count: int, user_id: int,
                         area_id: int) -> bool:
    """Store the new counter; False if another sign-in raced past it (a cloned key)."""
    async with write_transaction(Credential._meta.db):
        updated = await Credential.update({
            Credential.sign_count: new_sign_count, Credential.last_used_at: _now(),
        }).where(
            (Credential.id == credential_row_id)
            & ((Credential.sign_count < new_sign_count) | (Credential.sign_count == 0))
        ).returning(Credential.id)
        if not updated:
            return False
        await record_event("auth.sign_in", actor_id=user_id, commune_id=area_id,
                           subject_type="user", subject_id=user_id)
    return True


async def revoke_passkeys(user_id: int, by: int, commune_id: int) -> int:
    async with write_transaction(Credential._meta.db):
        rows = await Credential.delete().where(Credential.user == user_id).returning(Credential.id)
        await record_event("user.revoke_passkeys", actor_id=by, commune_id=commune_id,
                           subject_type="user", subject_id=user_id, detail={"count": len(rows)})
    await end_sessions_of(user_id)
    return len(rows)


async def count_passkeys(user_ids: list[int]) -> dict[int, int]:
    if not user_ids:
        return {}
    rows = await Credential.select(Credential.user).where(Credential.user.is_in(user_ids))
    counts: dict[int, int] = {}
    for r in rows:
        counts[r["user"]] = counts.get(r["user"], 0) + 1
    return counts
