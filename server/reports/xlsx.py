"""The report as an XLSX workbook: one sheet per section, numbers written as numbers."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from server.i18n import _
from server.reports.build import with_defaults
from server.reports.labels import ORG_COLUMNS, code_label, figure_label, org_label
from server.reports.queries import as_date

BOLD = Font(bold=True)


def _sheet(wb: Workbook, title: str, header: tuple[str, ...] = ()) -> Worksheet:
    # Excel refuses these characters in a sheet's name (a translation might use one).
    ws = wb.create_sheet(title=re.sub(r"[\\/*?:\[\]]", " ", title)[:31])
    ws.column_dimensions["A"].width = 52
    for col in "BCDEFG":
        ws.column_dimensions[col].width = 14
    if header:
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = BOLD
    return ws


def _figures(ws: Worksheet, report: dict[str, Any], paths: list[str]) -> None:
    totals = report["totals"]
    for path in paths:
        node: Any = totals
        for key in path.split("."):
            node = node.get(key, {}) if isinstance(node, dict) else None
        if isinstance(node, dict):
            ws.append([figure_label(path), sum(node.values())])
            ws.cell(row=ws.max_row, column=1).font = BOLD
            for code, n in sorted(node.items(), key=lambda kv: (-kv[1], kv[0])):
                ws.append([f"    {code_label(path, code)}", n])
        else:
            ws.append([figure_label(path), node])


def workbook_bytes(report: dict[str, Any]) -> bytes:
    report = with_defaults(report)
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = _("Summary")[:31]
    summary.column_dimensions["A"].width = 52
    summary.column_dimensions["B"].width = 24
    period = report["period"]
    summary.append([_("Area"), report["area"]["name"]])
    summary.append([_("From"), as_date(period["start"])])
    summary.append([_("To"), as_date(period["end"])])
    for row in (2, 3):
        summary.cell(row=row, column=2).number_format = "DD/MM/YYYY"
    summary.append([_("Computed at (UTC)"), report["generated_at"]])
    summary.append([])
    summary.append([_("Figure"), _("Value"), _("Target")])
    for cell in summary[summary.max_row]:
        cell.font = BOLD
    # The same targets the page states (seed plans).
    targets = {"rates.coverage": _(">80% (district plan), 100% (commune plan)"),
               "rates.post_rehab": "100%", "rates.hotspots": "100%"}
    for key, value in report["rates"].items():
        summary.append([figure_label(f"rates.{key}"), value, targets.get(f"rates.{key}", "")])
    summary.append([figure_label("referral_attended"), report.get("referral_attended")])
    summary.append([figure_label("referral_median_days"), report.get("referral_median_days")])

    people = _sheet(wb, _("People"), (_("Figure"), _("Number")))
    _figures(people, report, ["people.at_end", "people.new", "people.exited", "people.changed",
                               "people.arrived"])
    coverage = _sheet(wb, _("Coverage"), (_("Figure"), _("Number")))
    _figures(coverage, report, [f"coverage.{k}" for k in report["totals"]["coverage"]])
    referrals = _sheet(wb, _("Referrals"), (_("Figure"), _("Number")))
    _figures(referrals, report, ["referrals.total", "referrals.completed",
                                 "referrals.by_service", "referrals.by_status"])
    referrals.append([figure_label("referral_attended"), report.get("referral_attended")])
    referrals.append([figure_label("referral_median_days"), report.get("referral_median_days")])
    relapses = _sheet(wb, _("Relapses"), (_("Figure"), _("Number")))
    _figures(relapses, report, [f"relapses.{k}" for k in report["totals"]["relapses"]])
    outreach = _sheet(wb, _("Outreach"), (_("Figure"), _("Number")))
    _figures(outreach, report, ["outreach.sessions", "outreach.by_setting", "outreach.by_format",
                                "outreach.attendees.total", "outreach.attendees.women",
                                "outreach.attendees.under30", "outreach.attendees.students",
                                "outreach.villages", "outreach.villages_reached",
                                "outreach.hotspots", "outreach.hotspots_reached"])
    activity = _sheet(wb, _("Activity"), (_("Figure"), _("Number")))
    _figures(activity, report, [f"activity.{k}" for k in report["totals"]["activity"]]
             + [f"pending.{k}" for k in report["totals"]["pending"]])
    if report.get("volunteers"):
        activity.append([])
        activity.append([_("Volunteer"), _("Visits"), _("Talks"), _("Referrals"),
                         _("Waiting for review")])
        for cell in activity[activity.max_row]:
            cell.font = BOLD
        for v in report["volunteers"]:
            activity.append([v["name"], v["visits"], v["talks"], v["referrals"], v["pending"]])
    if report.get("overdue") is not None:
        overdue = _sheet(wb, _("Overdue"), (_("Code"), _("Name"), _("Category"),
                                            _("Last visit"), _("Days")))
        for r in report["overdue"]:
            overdue.append([r["code"], r["name"], code_label("people.at_end", r["category"] or ""),
                            as_date(r["last_visit"]), r["days"]])
            overdue.cell(row=overdue.max_row, column=4).number_format = "DD/MM/YYYY"
    if report.get("by_commune"):
        communes = _sheet(wb, _("Communes"), (
            _("Commune"), _("Registered"), _("Visited"), _("Coverage (%)"), _("Referrals"),
            _("Outreach sessions"), _("Attendees"), _("Training sessions"), _("Staff trained"),
            _("Staff"), _("Share trained (%)"), _("Counselling contacts"),
            _("Contacts that led to a referral")))
        for c in report["by_commune"]:
            f = c["figures"]
            tr, co = f["training"], f["counselling"]
            communes.append([c["name"], f["coverage"]["registered"], f["coverage"]["visited"],
                             c["rates"]["coverage"], f["referrals"]["total"],
                             f["outreach"]["sessions"], f["outreach"]["attendees"]["total"],
                             tr["sessions"], tr["staff_trained"], tr["staff_total"],
                             tr["share_trained"], co["contacts"], co["referrals_made"]])
    # After the sheets older exports had, so their positions stay the same.
    tasks = _sheet(wb, _("Tasks"), (_("Figure"), _("Number")))
    _figures(tasks, report, ["support.any_people", "support.any_visits", "support.people",
                             "support.visits", "methadone.people", "methadone.visits",
                             "dossiers.people", "dossiers.visits", "materials.total",
                             "materials.sessions", "materials.by_format", "topics.sessions",
                             "topics.attendees"])
    orgs = _sheet(wb, _("Organisations"), (_("Organisation"), *(
        _(ORG_COLUMNS[k]) for k in ("visits", "talks", "attendees", "referrals"))))
    for code, o in sorted(report["totals"]["by_org"].items()):
        orgs.append([org_label(code), o.get("visits", 0), o.get("talks", 0),
                     o.get("attendees", 0), o.get("referrals", 0)])
    # Training and counselling contacts (server/training/, server/counselling/), last for the
    # same reason; the share is the area's Σ trained ÷ Σ staff, as on the page.
    training = _sheet(wb, _("Training"), (_("Figure"), _("Number")))
    _figures(training, report, [f"training.{k}" for k in (
        "sessions", "participants", "participants_staff", "participants_other", "staff_total",
        "staff_trained", "share_trained", "target_pct", "by_topic", "by_organisation",
        "pending")])
    counselling = _sheet(wb, _("Counselling"), (_("Figure"), _("Number")))
    _figures(counselling, report, [f"counselling.{k}" for k in (
        "contacts", "by_channel", "by_asker", "by_topic", "by_action", "referrals_made",
        "referrals_linked", "referrals_completed", "follow_up_needed", "follow_up_open",
        "pending")])
    if report.get("by_commune"):
        communes = _sheet(wb, _("Training by commune"), (
            _("Commune"), _("Training sessions"), _("Staff trained"), _("Staff"),
            _("Share trained (%)"), _("Counselling contacts"), _("Referrals")))
        for c in report["by_commune"]:
            tr, co = c["figures"]["training"], c["figures"]["counselling"]
            communes.append([c["name"], tr["sessions"], tr["staff_trained"], tr["staff_total"],
                             tr["share_trained"], co["contacts"], co["referrals_made"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
