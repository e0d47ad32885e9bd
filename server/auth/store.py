"""A Litestar session store kept in the database, so several app processes share sign-ins."""

from __future__ import annotations

import copy
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession

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


class QuietSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, minus the database write on every response.

    The stock backend stores the session after every request — an empty one for anonymous
    visitors too, and an unchanged one for everybody else — which costs a write per page and,
    on SQLite under load, lock contention. Here a session is written only when it changed, and
    nothing is written or deleted for a visitor who never had one.
    """

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope["_session_loaded"] = copy.deepcopy(data)  # type: ignore[typeddict-unknown-key]
        return data

    async def store_in_message(self, scope_session: ScopeSession, message: Message,
                               connection: ASGIConnection) -> None:
        cookie = connection.cookies.get(self.config.key)
        had_cookie = bool(cookie) and cookie != "null"
        loaded = connection.scope.get("_session_loaded")
        if scope_session is Empty or not scope_session:
            if had_cookie and (scope_session is Empty or loaded):
                await super().store_in_message(Empty, message, connection)  # signed out
            return
        if had_cookie and loaded == scope_session:
            return  # unchanged: the browser already holds the cookie, the store the data
        await super().store_in_message(scope_session, message, connection)


@dataclass
class QuietSessionConfig(ServerSideSessionConfig):
    _backend_class = QuietSessionBackend  # type: ignore[assignment]
