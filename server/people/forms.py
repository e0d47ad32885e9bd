"""The register's form checks: every field's problem at once (msgspec would stop at the first),
and the clean values when there is none. The form types are `schema.people`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schema.people import CategoryIn, CloseIn, PersonIn, SettingsIn
from server import parse
from server.i18n import _
from server.people.labels import CATEGORIES, END_REASONS, SEXES, default_planned_end
from server.vntime import today

MIN_YEAR = 1920


def parse_date(text: str) -> dt.date | None:
    return parse.parse_date(text, parse.DATE_FORMATS)


def check_year(text: str) -> tuple[int | None, str | None]:
    text = text.strip()
    if text.endswith(".0"):  # spreadsheets hand years over as floats
        text = text[:-2]
    if not text:
        return None, _("Enter the year of birth.")
    year = parse.parse_int(text, MIN_YEAR, today().year)
    if year is None:
        return None, _("Enter a year of birth between %(lo)s and %(hi)s.") % {
            "lo": MIN_YEAR, "hi": today().year}
    return year, None


def check_phone(text: str) -> str | None:
    digits = text.replace(" ", "").replace(".", "").replace("+", "")
    if text.strip() and (len(text) > 20 or not (digits.isascii() and digits.isdigit())):
        return _("Enter a phone number with digits only.")
    return None


def check_period(category: str, start_text: str, end_text: str, after_compulsory: bool,
                 errors: dict[str, str]) -> tuple[dt.date | None, dt.date | None]:
    """Category, start and planned end (blank: the category's default)."""
    if category not in CATEGORIES:
        errors["category"] = _("Choose a category.")
    start = parse_date(start_text) if start_text.strip() else None
    if start is None:
        errors["start_date"] = _("Enter the start date (day/month/year).")
    elif start > today():
        errors["start_date"] = _("The start date cannot be in the future.")
    planned: dt.date | None = None
    if end_text.strip():
        planned = parse_date(end_text)
        if planned is None:
            errors["planned_end"] = _("Enter a date (day/month/year), or leave it empty.")
        elif start and planned <= start:
            errors["planned_end"] = _("The planned end must be after the start.")
    elif start and category in CATEGORIES:
        planned = default_planned_end(category, start, after_compulsory)
    return start, planned


def check_person(data: PersonIn, villages: set[int], *, new: bool) -> \
        tuple[dict[str, str], dict[str, Any]]:
    """Every field's error at once, and the clean values when there is none."""
    errors: dict[str, str] = {}
    name = " ".join(data.full_name.split())
    if not name:
        errors["full_name"] = _("Enter the person's full name.")
    elif len(name) > 120:
        errors["full_name"] = _("At most 120 characters.")
    year, year_error = check_year(data.birth_year)
    if year_error:
        errors["birth_year"] = year_error
    if data.sex not in SEXES:
        errors["sex"] = _("Choose the sex.")
    if parse.db_id(data.village) not in villages:
        errors["village"] = _("Choose a village of the commune.")
    phone_error = check_phone(data.phone)
    if phone_error:
        errors["phone"] = phone_error
    if len(data.address) > 200:
        errors["address"] = _("At most 200 characters.")
    if len(data.notes) > 2000:
        errors["notes"] = _("At most 2000 characters.")
    clean: dict[str, Any] = {}
    if new:
        start, planned = check_period(data.category, data.start_date, data.planned_end,
                                      bool(data.after_compulsory), errors)
        clean.update(category=data.category, start=start, planned_end=planned)
    if not errors:
        clean["fields"] = {"full_name": name, "birth_year": year, "sex": data.sex,
                           "village": parse.db_id(data.village), "phone": data.phone.strip(),
                           "address": data.address.strip(), "notes": data.notes.strip()}
    return errors, clean


def check_category(data: CategoryIn, open_start: dt.date | None) -> \
        tuple[dict[str, str], dt.date | None, dt.date | None]:
    errors: dict[str, str] = {}
    start, planned = check_period(data.category, data.start_date, data.planned_end,
                                  bool(data.after_compulsory), errors)
    if start and open_start and start < open_start:
        errors["start_date"] = _("The new category cannot start before the current one.")
    if data.previous_reason not in END_REASONS:
        errors["previous_reason"] = _("Choose why the current category ends.")
    return errors, start, planned


def check_close(data: CloseIn, open_start: dt.date | None) -> tuple[dict[str, str],
                                                                     dt.date | None]:
    errors: dict[str, str] = {}
    end = parse_date(data.end_date) if data.end_date.strip() else None
    if end is None:
        errors["end_date"] = _("Enter the end date (day/month/year).")
    elif end > today():
        errors["end_date"] = _("The end date cannot be in the future.")
    elif open_start and end < open_start:
        errors["end_date"] = _("The end date cannot be before the start of the category.")
    if data.reason not in END_REASONS:
        errors["reason"] = _("Choose a reason.")
    return errors, end


def check_settings(data: SettingsIn) -> tuple[dict[str, str], int | None]:
    days = parse.parse_int(data.visit_frequency_days, 1, 365)
    if days is None:
        return {"visit_frequency_days": _("Enter a number of days from 1 to 365.")}, None
    return {}, days
