"""What the record forms share on the server: reading a posted form into schema-shaped data,
calling the one write path, and answering with a redirect or the form again with every error.

Field names in the HTML equal the schema field names, so the offline outbox can read a form by
name and send the same `data` to the sync API.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from schema.enums import label
from schema.forms import form_fields, form_rules, form_values
from schema.records import INPUTS, MAX_VERSION, SubmitResult
from server.i18n import _
from server.parse import parse_datetime, parse_int
from server.records.queries import submit_record
from server.vntime import today as vn_today
from server.web import CurrentUser, page

ContextFn = Callable[[CurrentUser, dict[str, Any]], Awaitable[dict[str, Any]]]


def envelope(record_id: uuid.UUID | None = None, version: int = 1) -> dict[str, Any]:
    """The hidden fields of a new form: a fresh client UUID, the version, the opening time."""
    return {"id": str(record_id or uuid.uuid4()), "version": version,
            "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


async def read_form(request: Request, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema data, envelope) from a posted form, every value as typed."""
    form = await request.form()
    data: dict[str, Any] = {}
    for f in form_fields(INPUTS[kind]):
        if f.multiple:
            data[f.name] = [v for v in form.getall(f.name, []) if isinstance(v, str)]
        elif f.name in form:
            value = form.get(f.name)
            data[f.name] = value if isinstance(value, str) else ""
    env = {k: form.get(k) if isinstance(form.get(k), str) else "" for k in
           ("id", "version", "recorded_at")}
    return data, env


def parse_envelope(env: dict[str, Any]) -> tuple[uuid.UUID | None, int, dt.datetime]:
    try:
        record_id: uuid.UUID | None = uuid.UUID(str(env.get("id") or ""))
    except ValueError:
        record_id = None
    version = parse_int(env.get("version") or "1", 1, MAX_VERSION) or 0
    # The hidden opening time is a hint for the reviewer: when unreadable, now.
    recorded = parse_datetime(env.get("recorded_at")) or dt.datetime.now(dt.UTC)
    return record_id, version, recorded


def render_form(request: Request, kind: str, *, values: dict[str, Any], env: dict[str, Any],
                errors: dict[str, str], context: dict[str, Any], status: int = 200,
                form_error: str = "") -> Template:
    cls = INPUTS[kind]
    today = vn_today()
    # A blank new form (what the service worker caches): the phone moves its dates to its
    # own today when it is opened later (pwa/validate.js). Never a form with answers in it.
    fresh = status == 200 and not errors and not form_error and str(env.get("version")) == "1"
    response = page(request, "records/form.html", kind=kind, fields=form_fields(cls),
                    values=form_values(cls, values), env=env, errors=errors,
                    form_error=form_error or (_("Please correct the fields marked below.")
                                              if errors else ""),
                    rules=form_rules(cls, today), fresh=fresh, today=today.isoformat(),
                    **context)
    response.status_code = status
    return response


def blank_form(request: Request, kind: str, values: dict[str, Any],
               context: dict[str, Any]) -> Template:
    """A new record's form: a fresh envelope, the kind's defaults, no errors."""
    return render_form(request, kind, values=values, env=envelope(), errors={}, context=context)


def entry_page(record_id: uuid.UUID, data: dict[str, Any]) -> str:
    """Where a saved record is shown: its entry page, with the "saved" notice."""
    return f"/entries/{record_id}?saved=1"


async def handle_post(request: Request, user: CurrentUser, kind: str, context_fn: ContextFn,
                      done_url: Callable[[uuid.UUID, dict[str, Any]], str] = entry_page) -> Response:
    """POST → submit_record → 303 to `done_url`, or the form again (422/409) as typed."""
    data, env = await read_form(request, kind)
    record_id, version, recorded_at = parse_envelope(env)
    if record_id is None:
        env = envelope()
        result = SubmitResult("invalid", errors={"_": _("This form has expired. Send it "
                                                        "again.")})
        record_id = uuid.UUID(env["id"])
    else:
        result = await submit_record(user, kind, record_id, version, recorded_at, data)
    if result.outcome == "forbidden":
        raise NotFoundException()
    if result.outcome in ("stored", "unchanged"):
        return Redirect(path=done_url(record_id, data), status_code=303)
    context = await context_fn(user, data)
    if result.outcome == "conflict":
        return render_form(request, kind, values=data, env=env, errors={}, context=context,
                           status=409, form_error=_("This record was changed elsewhere or can "
                                                    "no longer be corrected. Open it again "
                                                    "from My entries."))
    errors = dict(result.errors)
    general = errors.pop("_", "")
    return render_form(request, kind, values=data, env=env, errors=errors, context=context,
                       status=422, form_error=general)


def display_rows(kind: str, data: dict[str, Any], names: dict[str, str]) -> \
        list[tuple[str, str]]:
    """(label, shown value) for an entry's page, in the form's order."""
    rows = []
    for f in form_fields(INPUTS[kind]):
        value = data.get(f.name)
        if value in (None, "", []):
            continue
        if f.name in names:
            shown = names[f.name]
        elif f.enum is not None and isinstance(value, list):
            shown = ", ".join(label(f.enum, v) for v in value)
        elif f.enum is not None:
            shown = label(f.enum, value)
        elif isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif f.widget == "date":
            shown = dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")
        else:
            shown = str(value)
        rows.append((f.label, shown))
    return rows
