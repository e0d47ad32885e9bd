"""What several app processes must share, kept in the database: the session store (and a new
session id at every sign-in), and the sign-in rate limit."""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, CacheObject, RateLimitMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, Receive, Scope, ScopeSession, Send

from server.auth.tables import Session, SignInAttempts

# An ended session keeps its row as a tombstone until it expires: a request that was already
# in flight when the user was signed out everywhere must not write the session back.
ENDED = '{"ended":true}'


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_SESSION_ROW = "SELECT data, expires_at FROM app_session WHERE key = {} LIMIT 1"


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
        # Every signed-in request starts here: one statement written out once, not built by
        # Piccolo's query builder on each request (the same SELECT it built).
        rows = await Session.raw(_SESSION_ROW, key)
        if not rows:
            return None
        row = rows[0]
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


async def end_session(key: str) -> None:
    """End one browser's session at once, leaving a tombstone (see ENDED)."""
    await Session.update({Session.data: ENDED, Session.user: None}).where(Session.key == key)


# Scope keys of a sign-in: the session is written under a new id with this answer.
_RENEW = "_session_renew"
_NEW_ID = "_session_new_id"


async def renew_session(connection: ASGIConnection, key: str = "session") -> None:
    """Sign-in: end the browser's present session id now and give it a new one with this
    answer. Keeping the id would let whoever planted or saw it (session fixation) share the
    signed-in session; tombstoning it stops a request still in flight from writing it back."""
    old = connection.cookies.get(key)
    if old and old != "null":
        await end_session(old)
    connection.scope[_RENEW] = True  # type: ignore[literal-required]


class QuietSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, minus the database write on every response.

    The stock backend stores the session after every request — an empty one for anonymous
    visitors too, and an unchanged one for everybody else — which costs a write per page and,
    on SQLite under load, lock contention. Here a session is written only when it changed, and
    nothing is written or deleted for a visitor who never had one.
    """

    def get_session_id(self, connection: ASGIConnection) -> str:
        # The browser's id is kept only for a live session the store holds. An id it does not
        # hold is never adopted: it may be a tombstone (which nothing may write) or planted.
        if connection.scope.get("_session_loaded") and not connection.scope.get(_RENEW):
            return super().get_session_id(connection)
        if not connection.scope.get(_NEW_ID):
            connection.scope[_NEW_ID] = self.generate_session_id()  # type: ignore[literal-required]
        return str(connection.scope[_NEW_ID])  # type: ignore[literal-required]

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
        if had_cookie and loaded == scope_session and not connection.scope.get(_RENEW):
            return  # unchanged: the browser already holds the cookie, the store the data
        await super().store_in_message(scope_session, message, connection)


@dataclass
class QuietSessionConfig(ServerSideSessionConfig):
    _backend_class = QuietSessionBackend  # type: ignore[assignment]


async def count_attempt(bucket: str, window: int) -> tuple[int, int]:
    """One more attempt in `bucket`'s window (which starts at its first attempt and lasts
    `window` seconds): the attempts so far, with this one, and when the window ends.

    One upsert, so concurrent requests of any number of processes each get their own count
    (a row lock on PostgreSQL, the single writer on SQLite): a read-then-write would let two
    requests both read the same count.
    """
    now = int(time.time())
    rows = await SignInAttempts.raw(
        "INSERT INTO sign_in_attempts (bucket, hits, reset_at) VALUES ({}, 1, {}) "
        "ON CONFLICT (bucket) DO UPDATE SET "
        "hits = CASE WHEN sign_in_attempts.reset_at <= {} THEN 1 "
        "ELSE sign_in_attempts.hits + 1 END, "
        "reset_at = CASE WHEN sign_in_attempts.reset_at <= {} THEN {} "
        "ELSE sign_in_attempts.reset_at END "
        "RETURNING hits, reset_at", bucket, now + window, now, now, now + window)
    hits, reset_at = int(rows[0]["hits"]), int(rows[0]["reset_at"])
    if hits == 1:  # a new window: a good moment to drop the ended ones of every client
        await SignInAttempts.delete().where(SignInAttempts.reset_at < now)
    return hits, reset_at


class SharedRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's rate limit, counted in the database by `count_attempt`.

    The stock middleware reads the history from its store and writes it back under a lock
    that only holds within one process, so with a memory store each process allowed the
    whole limit, and even a shared store could lose counts between processes. Refused
    attempts count too: hammering does not get through sooner.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = scope["litestar_app"].request_class(scope)
        if await self.should_check_request(request=request):
            hits, reset_at = await count_attempt(self.cache_key_from_request(request),
                                                 DURATION_VALUES[self.unit])
            # The header helpers read the count as the length of a history.
            seen = CacheObject(history=[reset_at] * min(hits, self.max_requests),
                               reset=reset_at)
            headers = self.config.set_rate_limit_headers
            if hits > self.max_requests:
                raise TooManyRequestsException(
                    headers=self.create_response_headers(seen) if headers else None)
            if headers:
                send = self.create_send_wrapper(send=send, cache_object=seen)
        await self.app(scope, receive, send)
