"""The register's import (XLSX/CSV → preview → all-or-nothing), its XLSX export, the commune's
visit-frequency setting, and the volunteer's caseload as JSON for the phone."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import URLEncodedBody
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Stream, Template

from schema.people import SettingsIn
from server.areas.queries import get_area, list_villages
from server.i18n import _
from server.parse import JSONError, decode_json
from server.people import change_queries, queries
from server.people.forms import check_settings
from server.people.importer import (
    COLUMNS,
    MAX_ROWS,
    ImportFileError,
    check_rows,
    export_xlsx,
    read_rows,
)
from server.vntime import today
from server.web import SignedIn, current_user, page

log = logging.getLogger(__name__)
OFFICIAL = {"roles": ("official",)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _private(response: Template, status: int = 200) -> Template:
    response.headers["Cache-Control"] = "no-store"
    response.status_code = status
    return response


# ---------------------------------------------------------------- settings


@get("/people/settings", name="people-settings", include_in_schema=False, opt=OFFICIAL)
async def settings_form(request: Request, user: SignedIn) -> Template:
    freq = await queries.get_visit_frequency(user.commune_id or 0)
    return page(request, "people/settings.html", form=SettingsIn(str(freq)), errors={})


@post("/people/settings", name="people-settings-save", include_in_schema=False, opt=OFFICIAL)
async def settings_save(request: Request, user: SignedIn,
                        data: URLEncodedBody[SettingsIn]) -> Template | Redirect:
    errors, days = check_settings(data)
    if errors or days is None or user.commune_id is None:
        response = page(request, "people/settings.html", form=data, errors=errors)
        response.status_code = 422
        return response
    await change_queries.set_visit_frequency(actor_id=user.id, commune_id=user.commune_id, days=days)
    return Redirect(path="/people", status_code=303)


# ---------------------------------------------------------------- import


async def _villages(user: SignedIn) -> dict[int, str]:
    return {v["id"]: v["name"] for v in await list_villages(user.commune_id or 0)}


def _preview(request: Request, checked: list[dict[str, Any]] | None, error: str = "",
             status: int = 200) -> Template:
    problems = sum(1 for c in checked or [] if c["problems"])
    payload = json.dumps([c["raw"] for c in checked or []], ensure_ascii=False)
    return _private(page(request, "people/import.html", checked=checked, error=error,
                         problems=problems, payload=payload), status)


@get("/people/import", name="people-import", include_in_schema=False, opt=OFFICIAL)
async def import_form(request: Request, user: SignedIn) -> Template:
    return _preview(request, None)


@post("/people/import", name="people-import-preview", include_in_schema=False, opt=OFFICIAL)
async def import_preview(request: Request, user: SignedIn) -> Template:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _preview(request, None, _err("choose"), 422)
    content = await upload.read()
    try:
        rows = read_rows(upload.filename, content)
    except ImportFileError as exc:
        return _preview(request, None, str(exc), 422)
    checked = await check_rows(user.commune_id or 0, rows, await _villages(user))
    return _preview(request, checked)


class ConfirmIn(msgspec.Struct):
    rows: str = ""


# Where the streamed answer's progress lines go (see people/import_running.html).
PROGRESS_MARK = "<!-- import progress -->"
# Imports still writing after their page was closed: held so the task is not collected.
_RUNNING: set[asyncio.Task[list[str]]] = set()


def _render(request: Request, template: str, **context: Any) -> str:
    engine = cast(JinjaTemplateEngine, request.app.template_engine)
    response = Template(template_name=template,
                        context={"user": current_user(request), **context})
    return engine.get_template(template).render(**response.create_template_context(request))


async def _write_with_progress(request: Request, user: SignedIn,
                               rows: list[dict[str, Any]]) -> AsyncIterator[str]:
    """The confirmation's answer, streamed: the page, then a progress line every
    `PROGRESS_EVERY` rows written, then the outcome. Plain HTML that a browser shows as it
    arrives, so an official importing thousands of rows on a slow link sees how far it has got,
    with or without JavaScript. The rows are written in one transaction by a task of its own:
    closing the page does not stop it, and it still writes all of them or none."""
    total = len(rows)
    head, tail = _render(request, "people/import_running.html", total=total).split(PROGRESS_MARK)
    yield head
    reports: asyncio.Queue[int | None] = asyncio.Queue()

    async def write() -> list[str]:
        try:
            return await change_queries.import_people(actor_id=user.id,
                                                      commune_id=user.commune_id or 0,
                                                      rows=rows, progress=reports.put)
        finally:
            reports.put_nowait(None)

    job = asyncio.create_task(write())
    _RUNNING.add(job)
    job.add_done_callback(_RUNNING.discard)
    while (written := await reports.get()) is not None:
        yield _render(request, "people/_import_step.html", written=written, total=total)
    try:
        codes = await job
    except Exception:  # the database failed: say so; the transaction wrote nothing
        log.exception("people import failed")
        yield _render(request, "people/_import_done.html", imported=0, failed=True)
    else:
        yield _render(request, "people/_import_done.html", imported=len(codes), failed=False)
    yield tail


@post("/people/import/confirm", name="people-import-confirm", include_in_schema=False,
      opt=OFFICIAL)
async def import_confirm(request: Request, user: SignedIn,
                         data: URLEncodedBody[ConfirmIn]) -> Template | Stream:
    try:
        raw = decode_json(data.rows)
    except JSONError:
        raw = None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ROWS or not all(
            isinstance(r, dict) for r in raw):
        return _preview(request, None, _err("choose"), 422)
    rows = [{c: str(r.get(c, ""))[:300] for c in COLUMNS} for r in raw]
    checked = await check_rows(user.commune_id or 0, rows, await _villages(user))
    if any(c["problems"] for c in checked) or user.commune_id is None:
        return _preview(request, checked, _err("problems"), 422)
    return Stream(_write_with_progress(request, user, [c["write"] for c in checked]),
                  media_type="text/html; charset=utf-8", status_code=200,
                  # (no-store comes from the app's policy.) A proxy must pass each line on as it
                  # comes, not hold the answer until the end: nginx reads this header.
                  headers={"X-Accel-Buffering": "no"})


def _err(kind: str) -> str:
    if kind == "choose":
        return _("Choose an Excel (.xlsx) or CSV file to upload.")
    return _("Nothing was imported: fix the rows with problems in the file and upload it "
             "again.")


# ---------------------------------------------------------------- export


@get("/people/export.xlsx", name="people-export", include_in_schema=False, opt=OFFICIAL)
async def export(request: Request, user: SignedIn) -> Response:
    commune = user.commune_id or 0
    f = queries.PeopleFilter(**{k: v for k, v in request.query_params.items()
                                if k in queries.PeopleFilter.__struct_fields__ and k != "page"})
    rows, _total = await queries.list_people(commune, f, limit=100000, with_count=False)
    await change_queries.record_export(actor_id=user.id, commune_id=commune, count=len(rows))
    area = await get_area(commune)
    code = area["code"] if area else "register"
    return Response(content=export_xlsx(rows, code), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="register-{code}-{today()}.xlsx"',
        "Cache-Control": "no-store"})


# ---------------------------------------------------------------- the phone's caseload


class CaseloadItem(msgspec.Struct):
    """Minimal fields only: what the phone keeps offline for the person picker."""

    id: int
    code: str
    display_name: str
    village: str
    category: str
    due_date: str | None


@get("/api/v1/me/caseload", name="api-caseload", opt={"roles": ("volunteer", "official")},
     tags=["people"])
async def api_caseload(user: SignedIn) -> Response[dict[str, Any]]:
    """The signed-in user's caseload, overdue first."""
    rows = await queries.list_caseload(user)
    items = [CaseloadItem(id=r["id"], code=r["code"], display_name=r["full_name"],
                          village=r["village_name"] or "", category=r["category"],
                          due_date=r["next_due"].isoformat() if r["next_due"] else None)
             for r in rows]
    return Response({"people": msgspec.to_builtins(items)},
                    headers={"Cache-Control": "no-store"})


route_handlers = [settings_form, settings_save, import_form, import_preview, import_confirm,
                  export, api_caseload]
