"""A Litestar session store kept in the database, so several app processes share sign-ins."""

from __future__ import annotations

import datetime as dt
import json

from litestar.stores.base import Store

from server.auth.tables import Session

# An ended session keeps its row as a tombstone until it expires: a request that was already
# in flight when the user was signed out everywhere must not write the session back.
ENDED = '{"ended":true}'


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DatabaseSessionStore(Store):
    async def set(self, key: str, value: str | bytes,
                  expires_in: int | dt.timedelta | None = None) -> None:
        if isinstance(value, str):
            value = value.encode()
        seconds = expires_in.total_seconds() if isinstance(expires_in, dt.timedelta) \
            else (expires_in or 86400)
        expires = _now() + dt.timedelta(seconds=seconds)
        try:
            user_id = (json.loads(value).get("user") or {}).get("id")
        except (ValueError, AttributeError):
            user_id = None
        text = value.decode()
        updated = await Session.update({Session.data: text, Session.expires_at: expires,
                                        Session.user: user_id}).where(
            (Session.key == key) & (Session.data != ENDED)).returning(Session.id)
        if not updated:
            await Session.insert(Session(key=key, data=text, expires_at=expires, user=user_id)) \
                .on_conflict(target=Session.key, action="DO NOTHING")

    async def get(self, key: str, renew_for: int | dt.timedelta | None = None) -> bytes | None:
        row = await Session.select(Session.data, Session.expires_at).where(
            Session.key == key).first()
        if row is None:
            return None
        if row["expires_at"] <= _now():
            await Session.delete().where(Session.key == key)
            return None
        if row["data"] == ENDED:
            return None
        return row["data"].encode()

    async def delete(self, key: str) -> None:
        await Session.delete().where(Session.key == key)

    async def delete_all(self) -> None:
        await Session.delete(force=True)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await Session.select(Session.expires_at).where(Session.key == key).first()
        if row is None:
            return None
        return int((row["expires_at"] - _now()).total_seconds())


async def end_sessions_of(user_id: int) -> None:
    """Sign a user out everywhere (revoked passkeys, deactivated account)."""
    await Session.update({Session.data: ENDED, Session.user: None}).where(
        Session.user == user_id)


async def forget_session(key: str) -> None:
    """Drop a browser's session row (also a tombstone) before a fresh sign-in on it."""
    await Session.delete().where(Session.key == key)
