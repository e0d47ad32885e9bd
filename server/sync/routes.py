"""The phone's sync API: a batch of records in, one answer per record out; and the feed of
review decisions on the phone's records.

Exactly-once is the record's job: its client UUID is the primary key, so the same record sent
twice answers `unchanged` with the original receipt (see server.records.queries.submit_record).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.response import Template

from server.i18n import _
from server.parse import decode_json, parse_datetime
from server.records.api import submit_operation
from server.sync import queries
from server.web import SignedIn, page

MAX_BATCH = 200
KINDS = ("visit", "talk", "referral", "referral_status")


class SyncRecord(msgspec.Struct):
    id: uuid.UUID
    kind: Literal["visit", "talk", "referral", "referral_status"]
    version: int = msgspec.field(default=1)
    recorded_at: dt.datetime = msgspec.field(default_factory=lambda: dt.datetime.now(dt.UTC))
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class SyncBatch(msgspec.Struct):
    """What the phone sends: its outbox, at most 200 records (the OpenAPI request body)."""

    records: Annotated[list[SyncRecord], msgspec.Meta(max_length=MAX_BATCH)]


class SyncResult(msgspec.Struct, omit_defaults=False):
    id: str
    outcome: str
    state: str | None = None
    receipt: str | None = None
    version: int | None = None
    errors: dict[str, str] = msgspec.field(default_factory=dict)


class SyncAnswer(msgspec.Struct):
    results: list[SyncResult]


def _shape_errors(raw: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(raw, dict):
        return {"_": _("A record must be an object.")}
    try:
        uuid.UUID(str(raw.get("id")))
    except ValueError:
        errors["id"] = _("The record id must be a UUID.")
    if raw.get("kind") not in KINDS:
        errors["kind"] = _("Unknown kind of record.")
    version = raw.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 10_000:
        errors["version"] = _("The version must be a whole number from 1.")
    if not isinstance(raw.get("data", {}), dict):
        errors["data"] = _("The record data must be an object.")
    if "recorded_at" in raw:
        try:
            msgspec.convert(raw["recorded_at"], dt.datetime)
        except msgspec.ValidationError:
            errors["recorded_at"] = _("The device time must be an RFC 3339 date and time.")
    return errors or {"_": _("The record is not valid.")}


@post("/api/v1/sync", name="sync", summary="Send a batch of records from the phone",
      operation_class=submit_operation(SyncBatch))
async def sync(request: Request, user: SignedIn) -> Response[Any]:
    """At most 200 records; the answer has one result per record, in order. One bad record
    does not fail its batch."""
    body = await request.body()
    try:
        payload = decode_json(body)
    except msgspec.DecodeError:
        return Response({"detail": _("The request body is not valid JSON.")}, status_code=400)
    records = payload.get("records") if isinstance(payload, dict) else None
    if not isinstance(records, list):
        return Response({"detail": _("Send an object with a list of records.")}, status_code=400)
    if len(records) > MAX_BATCH:
        return Response({"detail": _("At most %(n)s records per batch.") % {"n": MAX_BATCH}},
                        status_code=413)
    results: list[SyncResult | None] = []
    valid: list[SyncRecord] = []
    for raw in records:
        try:
            valid.append(msgspec.convert(raw, SyncRecord))
            results.append(None)
        except msgspec.ValidationError:
            rid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
            results.append(SyncResult(id=rid, outcome="invalid", errors=_shape_errors(raw)))
    stored = iter(await queries.sync_records(user, valid)) if valid else iter(())
    answer = [r if r is not None else next(stored) for r in results]
    return Response(SyncAnswer(results=answer))


@get("/api/v1/me/updates", name="my-updates", summary="Review decisions on my records")
async def my_updates(user: SignedIn, since: str | None = None) -> Response[Any]:
    """Entries of the signed-in user changed after `since` (an RFC 3339 time from the previous
    answer's `cursor`): their state, version, receipt and the reviewer's comment."""
    when: dt.datetime | None = None
    if since:
        when = parse_datetime(since)
        if when is None:
            return Response({"detail": _("`since` must be an RFC 3339 date and time.")},
                            status_code=400)
    items, cursor = await queries.list_updates_for(user, when)
    return Response({"updates": items, "cursor": cursor})


@get("/app", name="app-shell", include_in_schema=False)
async def app_shell(request: Request, user: SignedIn) -> Template:
    """The offline home: what the service worker shows when a page cannot be fetched."""
    return page(request, "sync/app.html")


@get("/outbox", name="outbox", include_in_schema=False)
async def outbox_page(request: Request, user: SignedIn) -> Template:
    return page(request, "sync/outbox.html")


route_handlers = [sync, my_updates, app_shell, outbox_page]
