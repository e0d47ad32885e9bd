"""Report pages: choose an area and a period, the report on screen (with SVG charts), the
printable A4 page, the XLSX export, finalised versions and their comparison, and — for a
commune official — the entries behind a figure.

Officials report on their commune (with names: overdue people, volunteers); supervisors on any
area at or below their own, numbers only. Another area answers 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from server import fmt
from server.counselling.report import counselling_report_context
from server.i18n import _
from server.reports import finals as snapshots
from server.reports import labels, queries
from server.reports.build import build_report, compare, numbers_only, with_defaults
from server.reports.document import build_document, prose_differences, prose_of
from server.reports.periods import (
    KINDS,
    Period,
    opening_periods,
    parse_period,
    report_query,
    reporting_year,
)
from server.reports.svg import bar_chart
from server.reports.xlsx import workbook_bytes
from server.training.report import training_report_context
from server.vntime import local_date, today
from server.web import SignedIn, db_id, page

REPORTERS = {"roles": ("official", "supervisor")}
OFFICIAL = {"roles": ("official",)}


class PeriodIn(msgspec.Struct):
    area: str = ""
    kind: str = "year"
    year: str = ""
    month: str = ""
    quarter: str = ""
    start: str = ""
    end: str = ""


def _form(params: Mapping[str, str]) -> PeriodIn:
    return PeriodIn(**{f: str(params.get(f) or "") for f in PeriodIn.__struct_fields__})


def _area_id(raw: str) -> int | None:
    return db_id(raw)


def vn_date(value: Any) -> str:
    """An ISO date (as kept in a report's JSON) written the Vietnamese way: 31/03/2026."""
    day = queries.as_date(value) if value else None
    return fmt.date(day, empty="")


def vn_time(value: Any) -> str:
    """A stored UTC time shown in Vietnam's time: 24/11/2026 16:05."""
    return fmt.datetime(value, empty="") if isinstance(value, dt.datetime) else str(value or "")


def _chart(group: str, counter: dict[str, int]) -> Any:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return bar_chart([(labels.code_label(group, k), v) for k, v in items],
                     title=labels.figure_label(group))


def _context(user: SignedIn, report: dict[str, Any], period: Period,
             **extra: Any) -> dict[str, Any]:
    detail = user.role == "official" and report["area"]["level"] == "commune"
    report = with_defaults(report)
    if not detail:
        report = numbers_only(report)
    area_id = report["area"]["id"]
    query = report_query(area_id, period)

    def entries_link(kind: str, *, pending: bool = False, by: str = "", value: Any = None) -> str:
        # The report's own query encoded once, each link's few parameters after it (the same
        # text as report_query(…, **q): a commune's page has some 60 links).
        if not detail:
            return ""
        q = {"entries": kind}
        if pending:
            q["pending"] = "1"
        if by:
            q.update(by=by, value="" if value is None else str(value))
        return f"/reports/entries?{query}&{urlencode(q)}"

    return {"report": report, "period": period, "period_label": period.label(),
            "detail": detail, "figure_label": labels.figure_label,
            "code_label": labels.code_label, "chart": _chart, "entries_link": entries_link,
            "query": query, "kinds": KINDS, "vn_date": vn_date,
            "vn_time": vn_time,
            # The training and counselling sections are their modules' own partials.
            **training_report_context(report["totals"]["training"]),
            **counselling_report_context(report["totals"]["counselling"]), **extra}


async def empty_reason(area: dict[str, Any] | None, period: Period) -> str:
    """Why the report of an area and period would be a page of zeros, or "" when something in
    it is approved: nothing recorded yet, or entries still waiting for review."""
    if area is None:
        return ""
    ids = [int(c["id"]) for c in await queries.list_communes(area)]
    states = await queries.count_entry_states(ids, period)
    if states.get("approved"):
        return ""
    waiting = states.get("submitted", 0) + states.get("returned", 0)
    if waiting:
        return _("No entry of this period has been approved yet: %(n)s are waiting for "
                 "review.") % {"n": waiting}
    return _("Nothing recorded in this period yet.")


async def _openings(area: dict[str, Any] | None, area_id: int,
                    day: dt.date) -> list[dict[str, Any]]:
    """The periods the page opens on, each with its link, due date and — when nothing of it is
    approved yet — why its report would be empty (instead of a page of zeros)."""
    found = []
    for opening in opening_periods(day):
        found.append({"period": opening.period, "due": opening.due,
                      "empty": await empty_reason(area, opening.period),
                      "in_progress": opening.period.start <= day <= opening.period.end,
                      "query": report_query(area_id, opening.period)})
    return found


async def _chooser(request: Request, user: SignedIn, form: PeriodIn,
                   errors: dict[str, str], status: int = 200) -> Template:
    areas = await queries.list_report_areas(user)
    area_id = _area_id(form.area) or user.area_id
    area = next((a for a in areas if a["id"] == area_id), None)
    day = today()
    openings = await _openings(area, area_id, day)
    if not any(getattr(form, f) for f in PeriodIn.__struct_fields__ if f != "area"):
        # A bare /reports: the form starts on the report due next, not on a past period.
        first = openings[0]["period"]
        form = msgspec.structs.replace(form, kind=first.kind, year=str(first.year))
    finals = await snapshots.list_final_reports(area_id) if area else []
    response = page(request, "reports/index.html", form=form, errors=errors, areas=areas,
                    openings=openings, finals=finals, kinds=KINDS,
                    this_year=reporting_year(day))
    response.status_code = status
    return response


async def _resolve(user: SignedIn, form: PeriodIn) -> \
        tuple[dict[str, Any] | None, Period | None, dict[str, str]]:
    period, errors = parse_period(msgspec.structs.asdict(form))
    area = await queries.get_area_for(user, _area_id(form.area))
    return area, period, errors


@get("/reports", name="reports", include_in_schema=False, opt=REPORTERS)
async def reports_index(request: Request, user: SignedIn) -> Template:
    return await _chooser(request, user, _form(request.query_params), {})


@get("/reports/view", name="report-view", include_in_schema=False, opt=REPORTERS)
async def report_view(request: Request, user: SignedIn) -> Template:
    form = _form(request.query_params)
    area, period, errors = await _resolve(user, form)
    if errors or area is None or period is None:
        return await _chooser(request, user, form, errors, status=422)
    report = await build_report(area, period, detail=user.role == "official")
    finals = await snapshots.list_final_reports(area["id"], period)
    # An approved visit, talk or referral in the report already says it is not empty: the
    # count of the period's entries by state is read only for a report without them.
    activity = report["totals"]["activity"]
    empty = "" if any(activity[k] for k in ("visits", "talks", "referrals")) \
        else await empty_reason(area, period)
    return page(request, "reports/view.html", finals=finals, form=form,
                empty=empty, **_context(user, report, period))


@get("/reports/print", name="report-print", include_in_schema=False, opt=REPORTERS)
async def report_print(request: Request, user: SignedIn) -> Template:
    form = _form(request.query_params)
    area, period, errors = await _resolve(user, form)
    if errors or area is None or period is None:
        return await _chooser(request, user, form, errors, status=422)
    report = await build_report(area, period, detail=user.role == "official")
    prose = prose_of(await snapshots.get_draft(area["id"], period))
    return page(request, "reports/print.html", final=None,
                doc=build_document(report, prose, today()), **_context(user, report, period))


def _xlsx_response(report: dict[str, Any], name: str) -> Response:
    return Response(
        workbook_bytes(report), media_type="application/vnd.openxmlformats-officedocument."
        "spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"',
                 "Cache-Control": "no-store"})


@get("/reports/xlsx", name="report-xlsx", include_in_schema=False, opt=REPORTERS)
async def report_xlsx(request: Request, user: SignedIn) -> Response | Template:
    form = _form(request.query_params)
    area, period, errors = await _resolve(user, form)
    if errors or area is None or period is None:
        return await _chooser(request, user, form, errors, status=422)
    report = await build_report(area, period, detail=user.role == "official")
    if user.role != "official":
        report = numbers_only(report)
    return _xlsx_response(report, f"report-{period.start}-{period.end}")


@post("/reports/finalise", name="report-finalise", include_in_schema=False, opt=REPORTERS)
async def report_finalise(request: Request, user: SignedIn,
                          data: URLEncodedBody[PeriodIn]) -> Redirect | Template:
    area, period, errors = await _resolve(user, data)
    if errors or area is None or period is None:
        return await _chooser(request, user, data, errors, status=422)
    report = await build_report(area, period, detail=user.role == "official")
    # The official's words are frozen with the figures they comment on.
    report["document"] = prose_of(await snapshots.get_draft(area["id"], period))
    saved = await snapshots.finalise_report(user, area, period, report)
    return Redirect(path=f"/reports/final/{saved['id']}", status_code=303)


def _final_period(row: dict[str, Any]) -> Period:
    p = row["data"].get("period", {})
    return Period(row["period_kind"], row["period_start"], row["period_end"],
                  year=p.get("year"), month=p.get("month"), quarter=p.get("quarter"))


@get("/reports/final/{report_id:int}", name="report-final", include_in_schema=False,
     opt=REPORTERS)
async def report_final(request: Request, user: SignedIn, report_id: FromPath[int]) -> Template:
    row = await snapshots.get_final_report_for(user, report_id)
    period = _final_period(row)
    finals = await snapshots.list_final_reports(row["area"], period)
    return page(request, "reports/view.html", final=row, finals=finals,
                **_context(user, row["data"], period))


@get("/reports/final/{report_id:int}/print", name="report-final-print",
     include_in_schema=False, opt=REPORTERS)
async def report_final_print(request: Request, user: SignedIn, report_id: FromPath[int]) -> Template:
    row = await snapshots.get_final_report_for(user, report_id)
    signed = row["finalised_at"]
    signed_on = local_date(signed) \
        if isinstance(signed, dt.datetime) else today()
    doc = build_document(with_defaults(row["data"]), prose_of(row["data"].get("document")),
                         signed_on)
    return page(request, "reports/print.html", final=row, doc=doc,
                **_context(user, row["data"], _final_period(row)))


@get("/reports/final/{report_id:int}/xlsx", name="report-final-xlsx", include_in_schema=False,
     opt=REPORTERS)
async def report_final_xlsx(user: SignedIn, report_id: FromPath[int]) -> Response:
    row = await snapshots.get_final_report_for(user, report_id)
    data = row["data"] if user.role == "official" else numbers_only(row["data"])
    return _xlsx_response(data, f"report-{row['period_start']}-{row['period_end']}"
                                f"-v{row['version']}")


@get("/reports/compare", name="report-compare", include_in_schema=False, opt=REPORTERS)
async def report_compare(request: Request, user: SignedIn) -> Template:
    a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
    a_id, b_id = db_id(a), db_id(b)
    if a_id is None or b_id is None:
        raise NotFoundException()
    old = await snapshots.get_final_report_for(user, a_id)
    new = await snapshots.get_final_report_for(user, b_id)
    if old["version"] > new["version"]:
        old, new = new, old
    rows = compare(old["data"], new["data"])
    for r in rows:
        r["label"] = labels.figure_label(r["path"])
    return page(request, "reports/compare.html", old=old, new=new, rows=rows,
                prose_rows=prose_differences(old["data"], new["data"]))


@get("/reports/entries", name="report-entries", include_in_schema=False, opt=OFFICIAL)
async def report_entries(request: Request, user: SignedIn) -> Template:
    params = request.query_params
    form = _form(params)
    area, period, errors = await _resolve(user, form)
    kind = params.get("entries", "")
    if errors or area is None or period is None or kind not in labels.KINDS:
        return await _chooser(request, user, form, errors or {"kind": _("Choose a kind.")},
                              status=422)
    by = params.get("by") or None
    rows = await queries.list_entries_behind(
        area["id"], period, kind=kind, pending=params.get("pending") == "1",
        column=by if by in queries.FILTER_COLUMNS else None, value=params.get("value"))
    return page(request, "reports/entries.html", rows=rows, kind=kind, period=period,
                pending=params.get("pending") == "1", limit=queries.LIST_LIMIT,
                back="/reports/view?" + report_query(area["id"], period),
                kind_label=_(labels.KINDS[kind]), period_label=period.label(),
                state_label=labels.state_label)


route_handlers = [reports_index, report_view, report_print, report_xlsx, report_finalise,
                  report_final, report_final_print, report_final_xlsx, report_compare,
                  report_entries]
