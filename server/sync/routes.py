"""The phone's sync API: a batch of records in, one answer per record out; and the feed of
review decisions on the phone's records.

Exactly-once is the record's job: its client UUID is the primary key, so the same record sent
twice answers `unchanged` with the original receipt (server.records.batch, the batch write
path, with the rules of server.records.queries.submit_record).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Template

from schema.records import MAX_VERSION, RECORD_KINDS, SyncRecord, SyncResult
from server import ops
from server.i18n import _
from server.parse import request_json
from server.records.api import submit_operation
from server.records.batch import store_batch
from server.sync import queries
from server.web import SHELL, SignedIn, page

MAX_BATCH = 200


class SyncBatch(msgspec.Struct):
    """What the phone sends: its outbox, at most 200 records (the OpenAPI request body)."""

    records: Annotated[list[SyncRecord], msgspec.Meta(max_length=MAX_BATCH)]


class SyncAnswer(msgspec.Struct):
    results: list[SyncResult]


def _shape_errors(raw: Any) -> dict[str, str]:
    """Why a record's envelope does not read as a `SyncRecord`, field by field."""
    errors: dict[str, str] = {}
    if not isinstance(raw, dict):
        return {"_": _("A record must be an object.")}
    try:
        uuid.UUID(str(raw.get("id")))
    except ValueError:
        errors["id"] = _("The record id must be a UUID.")
    if raw.get("kind") not in RECORD_KINDS:
        errors["kind"] = _("Unknown kind of record.")
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) \
            or not 1 <= version <= MAX_VERSION:
        errors["version"] = _("The version must be a whole number from 1.")
    if not isinstance(raw.get("data", {}), dict):
        errors["data"] = _("The record data must be an object.")
    if raw.get("recorded_at") is not None:
        try:
            msgspec.convert(raw["recorded_at"], dt.datetime)
        except msgspec.ValidationError:
            errors["recorded_at"] = _("The device time must be an RFC 3339 date and time.")
    return errors or {"_": _("The record is not valid.")}


def _read(raw: Any) -> SyncRecord | SyncResult:
    """One record's envelope, or the `invalid` answer that says what is wrong with it."""
    try:
        return msgspec.convert(raw, SyncRecord)
    except msgspec.ValidationError:
        rid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        return SyncResult(id=rid, outcome="invalid", errors=_shape_errors(raw))


@post("/api/v1/sync", name="sync", summary="Send a batch of records from the phone",
      status_code=200, operation_class=submit_operation(SyncBatch))
async def sync(request: Request, user: SignedIn) -> Response[Any]:
    """At most 200 records; the answer has one result per record, in order. One bad record
    does not fail its batch. The answer is 200 whatever the outcomes: the request creates
    nothing as a whole, each record has its own outcome (`retry` when the server could not
    store it for a reason that is not the record's)."""
    try:
        payload = await request_json(request)
    except msgspec.DecodeError:
        return Response({"detail": _("The request body is not valid JSON.")}, status_code=400)
    raw = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(raw, list):
        return Response({"detail": _("Send an object with a list of records.")}, status_code=400)
    if len(raw) > MAX_BATCH:
        return Response({"detail": _("At most %(n)s records per batch.") % {"n": MAX_BATCH}},
                        status_code=413)
    # Each record's envelope is read on its own, so one bad envelope answers `invalid` for
    # itself and the others go on; the records write path stores the readable ones.
    read = [_read(r) for r in raw]
    stored = iter(await store_batch(user, [r for r in read if isinstance(r, SyncRecord)]))
    answer = [r if isinstance(r, SyncResult) else next(stored) for r in read]
    ops.observe_sync([r.outcome for r in answer])
    return Response(SyncAnswer(results=answer), status_code=200)


MAX_CURSOR = 2**63 - 1  # change_seq is a BIGINT


@get("/api/v1/me/updates", name="my-updates", summary="Review decisions on my records")
async def my_updates(user: SignedIn, since: FromQuery[str | None] = None) -> Response[Any]:
    """Entries of the signed-in user changed after `since` (the previous answer's `cursor`,
    an integer): id, kind, state, version, receipt, the reviewer's comment, updated_at and the
    change's number `seq`, oldest first. `more` is true when the page was cut: ask again with
    the new cursor. Without `since`: no updates, only the current cursor."""
    cursor: int | None = None
    if since is not None:
        # Stricter than parse.parse_int (no sign, spaces or ".0"): a cursor is only ever
        # what an earlier answer gave.
        if not (since.isascii() and since.isdigit()) or int(since) > MAX_CURSOR:
            return Response({"detail": _("`since` must be the cursor of an earlier answer (a "
                                         "whole number). Ask again without it to start over.")},
                            status_code=400)
        cursor = int(since)
    items, new_cursor, more = await queries.list_updates_for(user, cursor)
    return Response({"updates": items, "cursor": new_cursor, "more": more})


@get("/app", name="app-shell", include_in_schema=False, opt=SHELL)
async def app_shell(request: Request, user: SignedIn) -> Template:
    """The offline home: what the service worker shows when a page cannot be fetched."""
    return page(request, "sync/app.html")


@get("/outbox", name="outbox", include_in_schema=False, opt=SHELL)
async def outbox_page(request: Request, user: SignedIn) -> Template:
    return page(request, "sync/outbox.html")


route_handlers = [sync, my_updates, app_shell, outbox_page]
