"""Report periods: the plans' 6-month and annual presets, month, quarter and custom ranges.

The 6-month and annual periods end on cut-off days that are settings (`REPORT_H1_CUTOFF`,
`REPORT_YEAR_CUTOFF`, MM-DD) so that the report is ready before its deadline (seeds: 10 June and
10 December). The reporting year N runs from the day after year N-1's annual cut-off to year N's
annual cut-off; its 6-month period from the same start to the 6-month cut-off of year N.
All dates are Vietnam dates (`Entry.entry_date` is already the local date).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from server.i18n import N_, _
from server.parse import parse_date, parse_int
from server.settings import settings
from server.vntime import today

KINDS: dict[str, str] = {
    "h1": N_("6-month report"),
    "year": N_("Annual report"),
    "month": N_("Month"),
    "quarter": N_("Quarter"),
    "custom": N_("Custom range"),
}
MAX_CUSTOM_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date
    year: int | None = None
    month: int | None = None
    quarter: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def label(self) -> str:
        dates = f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"
        if self.kind == "h1":
            return _("6-month report %(year)s (%(dates)s)") % {"year": self.year, "dates": dates}
        if self.kind == "year":
            return _("Annual report %(year)s (%(dates)s)") % {"year": self.year, "dates": dates}
        if self.kind == "month":
            return _("Month %(month)s/%(year)s") % {"month": self.month, "year": self.year}
        if self.kind == "quarter":
            return _("Quarter %(quarter)s/%(year)s") % {"quarter": self.quarter,
                                                       "year": self.year}
        return dates

    def query(self) -> dict[str, str]:
        """The query-string parameters that name this period."""
        q: dict[str, str] = {"kind": self.kind}
        if self.kind == "custom":
            q.update(start=self.start.isoformat(), end=self.end.isoformat())
        else:
            q["year"] = str(self.year)
        if self.month:
            q["month"] = str(self.month)
        if self.quarter:
            q["quarter"] = str(self.quarter)
        return q

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "year": self.year, "month": self.month, "quarter": self.quarter}


def _cutoff(mmdd: str, year: int) -> dt.date:
    month, day = (int(x) for x in mmdd.split("-"))
    if month == 2 and day == 29 and not calendar.isleap(year):
        day = 28
    return dt.date(year, month, day)


def year_start(year: int, year_cutoff: str | None = None) -> dt.date:
    return _cutoff(year_cutoff or settings.report_year_cutoff, year - 1) + dt.timedelta(days=1)


def annual(year: int, *, year_cutoff: str | None = None) -> Period:
    cut = year_cutoff or settings.report_year_cutoff
    return Period("year", year_start(year, cut), _cutoff(cut, year), year=year)


def six_month(year: int, *, h1_cutoff: str | None = None,
              year_cutoff: str | None = None) -> Period:
    return Period("h1", year_start(year, year_cutoff),
                  _cutoff(h1_cutoff or settings.report_h1_cutoff, year), year=year)


def month(year: int, month_no: int) -> Period:
    last = calendar.monthrange(year, month_no)[1]
    return Period("month", dt.date(year, month_no, 1), dt.date(year, month_no, last), year=year,
                  month=month_no)


def quarter(year: int, quarter_no: int) -> Period:
    first = 3 * (quarter_no - 1) + 1
    last_month = first + 2
    return Period("quarter", dt.date(year, first, 1),
                  dt.date(year, last_month, calendar.monthrange(year, last_month)[1]), year=year,
                  quarter=quarter_no)


def custom(start: dt.date, end: dt.date) -> Period:
    return Period("custom", start, end)


def reporting_year(day: dt.date, *, year_cutoff: str | None = None) -> int:
    """The reporting year a day falls in (after the annual cut-off it is next year's)."""
    cut = year_cutoff or settings.report_year_cutoff
    return day.year + 1 if day > _cutoff(cut, day.year) else day.year


def current_presets(day: dt.date | None = None) -> list[Period]:
    """The 6-month and annual periods an official is working towards now."""
    day = day or today()
    year = reporting_year(day)
    return [six_month(year), annual(year)]


@dataclass(frozen=True)
class Opening:
    """A period the reports page opens on: `due` is the deadline of a 6-month or annual report,
    None for the month in progress."""

    period: Period
    due: dt.date | None


def due_date(period: Period) -> dt.date:
    """A 6-month or annual report is due on the 10th of the month after its cut-off (seeds:
    cut-offs 31 May and 30 November, due 10 June and 10 December)."""
    first_next = (period.end.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first_next.replace(day=10)


def opening_periods(day: dt.date, *, h1_cutoff: str | None = None,
                    year_cutoff: str | None = None) -> list[Opening]:
    """What the reports page offers first on `day` (a Vietnam date, passed in so that tests fix
    it): every 6-month or annual report that has started and is not yet past its due date,
    the one due first first (a period over but not yet due is the one to finish now), then
    the month in progress. A period whose deadline has passed is not offered first."""
    year = reporting_year(day, year_cutoff=year_cutoff)
    found = []
    for y in (year - 1, year, year + 1):
        for period in (six_month(y, h1_cutoff=h1_cutoff, year_cutoff=year_cutoff),
                       annual(y, year_cutoff=year_cutoff)):
            if period.start <= day <= due_date(period):
                found.append(Opening(period, due_date(period)))
    found.sort(key=lambda o: (o.due, o.period.kind != "h1"))
    return [*found, Opening(month(day.year, day.month), None)]


def demo_window(day: dt.date | None = None) -> Period:
    """Where the demo dates what it writes: the 6-month period of the reporting year the
    reports page opens first (`opening_periods`), up to `day` — inside both that year's 6-month
    and annual report, whichever a newcomer opens."""
    day = day or today()
    h1 = six_month(opening_periods(day)[0].period.year or reporting_year(day))
    return Period("custom", h1.start, max(h1.start, min(h1.end, day)))


def demo_day(days_before_end: int, day: dt.date | None = None) -> dt.date:
    """A day `days_before_end` days before the end of `demo_window`, never before its start."""
    window = demo_window(day)
    return max(window.start, window.end - dt.timedelta(days=days_before_end))


def _int(raw: str | None, low: int, high: int) -> int | None:
    return parse_int(raw, low, high)


def _date(raw: str | None) -> dt.date | None:
    return parse_date(raw)


def parse_period(params: Mapping[str, str]) -> tuple[Period | None, dict[str, str]]:
    """A period from query parameters, or every field's error (never an exception)."""
    errors: dict[str, str] = {}
    kind = (params.get("kind") or "year").strip()
    if kind not in KINDS:
        return None, {"kind": _("Choose a kind of period.")}
    if kind == "custom":
        start, end = _date(params.get("start")), _date(params.get("end"))
        if start is None:
            errors["start"] = _("Enter a date (day/month/year).")
        if end is None:
            errors["end"] = _("Enter a date (day/month/year).")
        if start and end:
            if end < start:
                errors["end"] = _("The end must not be before the start.")
            elif (end - start).days > MAX_CUSTOM_DAYS:
                errors["end"] = _("A custom range can be at most three years long.")
        if errors or start is None or end is None:
            return None, errors
        return custom(start, end), {}
    year = _int(params.get("year") or str(reporting_year(today())), 2000, 2100)
    if year is None:
        errors["year"] = _("Enter a year between 2000 and 2100.")
    month_no = quarter_no = None
    if kind == "month":
        month_no = _int(params.get("month"), 1, 12)
        if month_no is None:
            errors["month"] = _("Choose a month.")
    if kind == "quarter":
        quarter_no = _int(params.get("quarter"), 1, 4)
        if quarter_no is None:
            errors["quarter"] = _("Choose a quarter.")
    if errors or year is None:
        return None, errors
    if kind == "h1":
        return six_month(year), {}
    if kind == "year":
        return annual(year), {}
    if kind == "month" and month_no:
        return month(year, month_no), {}
    assert quarter_no is not None
    return quarter(year, quarter_no), {}


def report_query(area_id: int, period: Period, **extra: str) -> str:
    """The query string that opens a report of an area and period (plus `extra`), for links
    from the report pages and the home page's reports card."""
    return urlencode({"area": str(area_id), **period.query(), **extra})
