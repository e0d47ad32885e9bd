"""The report document: the page where the official writes its prose (saved as they type by
htmx, and by the Save button without JavaScript; kept in the database per area and period, so
it follows them across devices), and its DOCX export, live or of a finalised version.

The printable A4 page of the same document is `/reports/print` (routes.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server.i18n import _
from server.reports import finals as snapshots
from server.reports.build import build_report, numbers_only, with_defaults
from server.reports.document import (
    HEADER_LABELS,
    PROSE_LABELS,
    build_document,
    prose_of,
)
from server.reports.docx_export import document_bytes
from server.reports.periods import report_query
from server.reports.routes import (
    REPORTERS,
    _chooser,
    _context,
    _final_period,
    _form,
    _resolve,
)
from server.vntime import local_date, to_vietnam, today
from server.web import SignedIn, page

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _own(user: SignedIn, area: dict[str, Any]) -> None:
    """The document is written by the area's own reporter: a supervisor reads the communes'
    documents below them (print, DOCX) but does not write them."""
    if area["id"] != user.area_id:
        raise NotFoundException()


def _check(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    for field, value in values.items():
        limit = snapshots.DRAFT_LIMITS.get(field, snapshots.PROSE_LIMIT)
        if len(value) > limit:
            errors[field] = _("At most %(n)s characters (now %(have)s).") % {
                "n": limit, "have": len(value)}
    return errors


def _values(form: Any) -> dict[str, str]:
    return {f: str(form.get(f) or "").replace("\r\n", "\n")
            for f in snapshots.DRAFT_FIELDS if f in form}


async def _editor(request: Request, user: SignedIn, area: dict[str, Any], period: Any,
                  draft: dict[str, Any], errors: dict[str, str], status: int = 200,
                  saved: bool = False) -> Template:
    report = await build_report(area, period, detail=False)
    doc = build_document(report, prose_of(draft), today())
    response = page(request, "reports/document.html", draft=prose_of(draft),
                    updated_at=draft.get("updated_at"), updated_by=draft.get("updated_by_name"),
                    errors=errors, saved=saved, doc=doc, prose_labels=PROSE_LABELS,
                    header_labels=HEADER_LABELS, **_context(user, report, period))
    response.headers["Cache-Control"] = "no-store"
    response.status_code = status
    return response


@get("/reports/document", name="report-document", include_in_schema=False, opt=REPORTERS)
async def document_page(request: Request, user: SignedIn) -> Template:
    form = _form(request.query_params)
    area, period, errors = await _resolve(user, form)
    if errors or area is None or period is None:
        return await _chooser(request, user, form, errors, status=422)
    _own(user, area)
    draft = await snapshots.get_draft(area["id"], period)
    return await _editor(request, user, area, period, draft, {},
                         saved=request.query_params.get("saved") == "1")


@post("/reports/document", name="report-document-save", include_in_schema=False,
      opt=REPORTERS)
async def document_save(request: Request, user: SignedIn) -> Template | Redirect:
    raw = await request.form()
    form = _form(raw)
    area, period, errors = await _resolve(user, form)
    if errors or area is None or period is None:
        return await _chooser(request, user, form, errors, status=422)
    _own(user, area)
    values = _values(raw)
    problems = _check(values)
    htmx = request.headers.get("hx-request") == "true" and \
        request.headers.get("hx-boosted") != "true"
    if problems:
        if htmx:
            fragment = page(request, "reports/_draft_status.html", errors=problems,
                            saved_at=None, prose_labels=PROSE_LABELS,
                            header_labels=HEADER_LABELS)
            fragment.status_code = 422
            return fragment
        # Without JavaScript: the page again, with every field as typed and its message.
        return await _editor(request, user, area, period, values, problems, status=422)
    saved_at = await snapshots.save_draft(user, area, period, values)
    if htmx:
        return page(request, "reports/_draft_status.html", errors={},
                    saved_at=to_vietnam(saved_at))
    return Redirect(path="/reports/document?" + report_query(area["id"], period, saved="1"),
                    status_code=303)


def _docx_response(content: bytes, name: str) -> Response:
    return Response(content, media_type=DOCX, headers={
        "Content-Disposition": f'attachment; filename="{name}.docx"',
        "Cache-Control": "no-store"})


@get("/reports/docx", name="report-docx", include_in_schema=False, opt=REPORTERS)
async def report_docx(request: Request, user: SignedIn) -> Response | Template:
    form = _form(request.query_params)
    area, period, errors = await _resolve(user, form)
    if errors or area is None or period is None:
        return await _chooser(request, user, form, errors, status=422)
    # The document sent upward carries numbers only (no overdue names, no volunteer list).
    report = numbers_only(await build_report(area, period, detail=False))
    prose = prose_of(await snapshots.get_draft(area["id"], period))
    doc = build_document(report, prose, today())
    return _docx_response(document_bytes(doc, period_label=period.label(), version=None),
                          f"bao-cao-{period.start}-{period.end}")


@get("/reports/final/{report_id:int}/docx", name="report-final-docx", include_in_schema=False,
     opt=REPORTERS)
async def report_final_docx(user: SignedIn, report_id: FromPath[int]) -> Response:
    row = await snapshots.get_final_report_for(user, report_id)
    signed = row["finalised_at"]
    signed_on = local_date(signed) if isinstance(signed, dt.datetime) \
        else today()
    data = with_defaults(numbers_only(row["data"]))
    doc = build_document(data, prose_of(row["data"].get("document")), signed_on)
    return _docx_response(
        document_bytes(doc, period_label=_final_period(row).label(), version=row["version"]),
        f"bao-cao-{row['period_start']}-{row['period_end']}-v{row['version']}")


route_handlers = [document_page, document_save, report_docx, report_final_docx]
