"""The one place that turns dates, times and numbers into text for people.

Every template formats through the Jinja filters registered from here (`date`, `datetime`,
`time`, `number`, `percent`), so a page can never show an ISO date, a UTC time or an English
decimal point to a Vietnamese reader by accident:

- dates are dd/mm/yyyy in every locale and times are in Vietnam time: both are written by
  `server.vntime`, the one module that knows the time zone (re-exported here for the filters);
- numbers and percentages follow the page's locale through babel ("1.234", "0,0%" in `vi`).

The outbox list, drawn by the phone, has its one counterpart in pwa/outbox.js (`formatWhen`).
"""
from __future__ import annotations

import datetime as dt
import re

from babel.numbers import format_decimal, format_percent

from server import i18n
from server.vntime import date, datetime, time


def number(value: object, digits: int | None = None) -> str:
    """A number in the page's locale: "1.234" and "2,5" in vi, "1,234" and "2.5" in en."""
    if value is None or value == "":
        return "—"
    if not isinstance(value, (int, float)):
        return str(value)
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=i18n.get_locale())


def percent(value: object, digits: int = 1) -> str:
    """A share (0.25 → "25,0%" in vi) in the page's locale; nothing gives "—"."""
    if value is None or value == "" or not isinstance(value, (int, float)):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=i18n.get_locale())


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def value(raw: object) -> str:
    """A stored value as text, with a date-shaped one (JSON keeps dates as ISO text) written
    as a date: for pages that show data whose fields they do not know (audit, review)."""
    if isinstance(raw, dt.datetime):
        return datetime(raw)
    if isinstance(raw, dt.date):
        return date(raw)
    text = str(raw)
    if _ISO_DAY.fullmatch(text):
        return date(text)
    if _ISO_INSTANT.match(text):
        return datetime(text)
    return text


FILTERS = {"date": date, "datetime": datetime, "time": time, "number": number, "percent": percent}
