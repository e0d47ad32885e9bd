"""The JSON API of the field records: the same write path as the forms, every field error at
once (422 `{"errors": {field: message}}`), and the request bodies documented in OpenAPI from
the very Structs in `schema/` (their msgspec JSON Schema, inlined)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody

from schema.records import MAX_VERSION, ErrorsOut, SubmitResult
from server.i18n import _
from server.parse import parse_datetime, request_json
from server.records.queries import submit_record
from server.web import CurrentUser

STATUS = {"stored": 201, "unchanged": 200, "conflict": 409, "invalid": 422}
RESPONSES = {
    200: ResponseSpec(data_container=SubmitResult, description="Already stored: the same "
                      "record again (its original receipt)"),
    409: ResponseSpec(data_container=SubmitResult, description="Conflict: other content "
                      "under this id and version, or a stale or locked version"),
    422: ResponseSpec(data_container=ErrorsOut, description="Invalid: every field's error"),
    404: ResponseSpec(data_container=None, description="Not yours to record (or unknown)"),
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline(defs[ref.rsplit("/", 1)[1]], defs)
            rest = {k: _inline(v, defs) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def body_schema(cls: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema of a request body with every `$ref` resolved in place."""
    schema = msgspec.json.schema(cls)
    return _inline(schema, schema.get("$defs", {}))


def submit_operation(cls: type[msgspec.Struct]) -> type[Operation]:
    """An Operation whose request body is the Struct's own JSON Schema (the handler reads the
    body itself, to report every field error rather than msgspec's first)."""

    @dataclass
    class SubmitOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={"application/json": OpenAPIMediaType(
                    schema=body_schema(cls))},  # type: ignore[arg-type]
                required=True, description=cls.__doc__ or cls.__name__)

    return SubmitOperation


def _envelope(body: dict[str, Any]) -> tuple[dict[str, str], uuid.UUID | None, int,
                                             dt.datetime]:
    errors: dict[str, str] = {}
    record_id = None
    try:
        record_id = uuid.UUID(str(body.get("id")))
    except (ValueError, TypeError):
        errors["id"] = _("This value is not valid.")
    version = body.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) \
            or not 1 <= version <= MAX_VERSION:
        errors["version"] = _("This value is not valid.")
        version = 1
    recorded_at = dt.datetime.now(dt.UTC)
    raw = body.get("recorded_at")
    if raw is not None:
        parsed = parse_datetime(raw)
        if parsed is None:
            errors["recorded_at"] = _("Enter a valid date and time.")
        else:
            recorded_at = parsed
    if not isinstance(body.get("data"), dict):
        errors["data"] = _("The record is not valid.")
    return errors, record_id, version, recorded_at


async def api_submit(request: Request, user: CurrentUser, kind: str,
                     referral: uuid.UUID | None = None) -> Response[Any]:
    try:
        body = await request_json(request)
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        return Response({"errors": {"_": _("The request is not valid JSON.")}},
                        status_code=422)
    errors, record_id, version, recorded_at = _envelope(body)
    if errors or record_id is None:
        return Response({"errors": errors}, status_code=422)
    data = dict(body["data"])
    if referral is not None:
        data["referral"] = str(referral)
    result = await submit_record(user, kind, record_id, version, recorded_at, data)
    if result.outcome == "forbidden":
        raise NotFoundException()
    if result.outcome == "invalid":
        return Response({"errors": result.errors}, status_code=422)
    return Response(msgspec.to_builtins(result), status_code=STATUS[result.outcome])
